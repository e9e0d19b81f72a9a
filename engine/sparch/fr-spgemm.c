/* fr-spgemm.c: multi-threaded Gustavson SpGEMM, C = A·B, with no symbolic pass.
 *
 * Outline (docs/PERFORMANCE.md, "Sparse matrix multiply", has the measurements behind each choice):
 *
 * 1. Row analysis (parallel): for each row i of C, f(i) = the multiplies it needs and a bound on its
 *    nonzeros, ub(i) = min(f(i), hi - lo + 1) where [lo, hi] is the span of the B rows it touches.
 * 2. Partition (serial, O(nrows)): consecutive rows are cut into parts of about equal work (multiplies
 *    plus a per-row cost), at least PARTS_PER_SLOT per thread for balance, and no part may need more
 *    than TEMP_CAP output entries by its bound, so that its output fits a cache-resident buffer.
 * 3. Numeric (parallel, dynamic): each thread takes the next part, computes its rows into its own
 *    small buffer, then learns where the part goes in C from the part before it (a chained scan: the
 *    parts are taken in order, so that one is done or nearly), publishes its own end for the next, and
 *    copies the buffer out. So there is no symbolic pass: C's arrays are reserved at the bound (virtual
 *    memory, never touched beyond what is written; transparent huge pages asked for) and shrunk at the
 *    end. When even the bound would exceed the memory limit, an exact counting pass runs first.
 *
 * Each row picks its accumulator by its multiplies f and the span [lo, hi] of its columns:
 *   - one entry in A's row: a scaled copy of B's row (already sorted);
 *   - dense, span <= DENSE_RATIO * f: acc[j] += a*b, one load and one store a multiply (acc itself
 *     marks the touched columns: see EMPTY_BITS); the sorted output comes from scanning acc over
 *     [lo, hi], 16 columns a step with AVX-512 compress (AVX2 / plain C on other CPUs);
 *   - coarse, span <= COARSE_RATIO * f: the same plus a byte per 8 columns; the scan visits only
 *     the touched groups of 8 (rows of medium density, like most of email-Enron's);
 *   - list, sparser rows: the same acc, plus a branch-free list of new columns, sorted by a rank sort
 *     (up to 64, vectorised), a bucket sort, or insertion (up to 8);
 *   - hash: open addressing sized to the row's bound, when there are more than DENSE_MAX_COLS columns
 *     (dense arrays per thread would be too big).
 * Each part is first written to a thread buffer and copied out, unless its place in C is known when it
 * starts (always so with one thread): then it is written straight into C.
 * Every path sums in the same order (A's row, then B's row, from 0.0), so results are identical. */
#include "fr-spgemm.h"

#include "fr-pool.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FR_HAVE_X86_SCAN 1
#endif

#define ROW_BLOCK 512               /* rows per work item of the analysis pass */
#define TEMP_CAP ((int64_t)1 << 14) /* output entries a part may need by its bound (192 KiB buffer) */
#define PARTS_PER_SLOT 16           /* at least this many parts per thread when there is enough work */
#define MIN_PART_COST 8192          /* ... but parts of at least this much work */
#define ROW_COST 16                 /* per-row overhead in multiply units, for balancing */
#define DENSE_RATIO 2               /* scan all of acc when the span <= DENSE_RATIO * multiplies */
#define COARSE_RATIO 128            /* coarse flags when the span <= COARSE_RATIO * multiplies */
#define ACC_BLOCK 512               /* columns of the dense accumulator filled at a time */
#define DENSE_MAX_COLS ((int64_t)1 << 22) /* beyond this many columns: hash accumulators only */

#define SMALL_SORT 32               /* bucket sizes that the insertion pass handles */
#define RANK_SORT 64                /* rank sort up to this many entries */
#define PAD 64                      /* slack entries after every buffer (branch-free appends) */
#define NBUF 4                      /* part buffers per thread (parts computed ahead of their place) */
#define PF_FAR 32                   /* prefetch distances, in A entries */
#define PF_NEAR 12
#define SERIAL_WORK 65536           /* below this many multiplies + rows, one thread */

static int64_t memory_limit = 0;

void
fr_spgemm_set_memory_limit(int64_t bytes)
{
  __atomic_store_n(&memory_limit, MAX(bytes, 0), __ATOMIC_RELAXED);
}

int64_t
fr_spgemm_get_memory_limit(void)
{
  int64_t v = __atomic_load_n(&memory_limit, __ATOMIC_RELAXED);
  if (v > 0)
    return v;
  static int64_t half_ram = 0; /* computed once (a system call) */
  int64_t h = __atomic_load_n(&half_ram, __ATOMIC_RELAXED);
  if (h == 0) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    h = pages > 0 && page > 0 ? (int64_t)pages * (int64_t)page / 2 : (int64_t)8 << 30;
    __atomic_store_n(&half_ram, h, __ATOMIC_RELAXED);
  }
  return h;
}

static inline int64_t
sat_add(int64_t x, int64_t y)
{
  int64_t r;
  return __builtin_add_overflow(x, y, &r) ? INT64_MAX : r;
}

static inline int64_t
sat_mul(int64_t x, int64_t y)
{
  int64_t r;
  return __builtin_mul_overflow(x, y, &r) ? INT64_MAX : r;
}

static double
now_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the dense accumulator and its scans -------------------------------------------------------- */

/* acc[] rests at -0.0 (EMPTY) and every update is acc[j] = acc[j] + (a * b + 0.0). Adding +0.0 turns a
 * -0.0 product into +0.0 and changes nothing else, so a touched entry can never hold -0.0 again (in
 * round-to-nearest x + y is -0.0 only when both are), and the sums are bit for bit those of a plain
 * 0.0 + a*b + ... So acc itself records which columns were touched: no flag array, one store per
 * multiply. The scans below find the touched entries of [lo, hi] in column order, emit them and put
 * EMPTY back. acc is 64-byte aligned and readable (EMPTY) up to 16 entries past the last column. */
#define EMPTY_BITS 0x8000000000000000ull

static inline gboolean
is_empty(double x)
{
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  return b == EMPTY_BITS;
}

typedef int64_t (*ScanFn)(double *acc, int64_t lo, int64_t hi, int32_t *oc, double *ov);

static int64_t
scan_generic(double *acc, int64_t lo, int64_t hi, int32_t *oc, double *ov)
{
  int64_t n = 0;
  for (int64_t j = lo; j <= hi; j++) {
    double x = acc[j];
    if (is_empty(x))
      continue;
    oc[n] = (int32_t)j;
    ov[n] = x;
    acc[j] = -0.0;
    n++;
  }
  return n;
}

#ifdef FR_HAVE_X86_SCAN
/* 16 columns a step: two compares, then the touched columns and values are compressed in registers
 * and stored whole (oc/ov have PAD entries of slack), with no per-entry branch. */
__attribute__((target("avx512f,avx512bw,popcnt"))) static int64_t
scan_avx512(double *acc, int64_t lo, int64_t hi, int32_t *oc, double *ov)
{
  int64_t n = 0;
  const __m512i empty = _mm512_set1_epi64((long long)EMPTY_BITS);
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int64_t j0 = lo & ~(int64_t)15; j0 <= hi; j0 += 16) {
    __m512i v0 = _mm512_load_si512((const void *)(acc + j0));
    __m512i v1 = _mm512_load_si512((const void *)(acc + j0 + 8));
    __mmask8 m0 = _mm512_cmpneq_epi64_mask(v0, empty), m1 = _mm512_cmpneq_epi64_mask(v1, empty);
    if (!(m0 | m1))
      continue;
    _mm512_store_si512((void *)(acc + j0), empty);
    _mm512_store_si512((void *)(acc + j0 + 8), empty);
    __mmask16 m = (__mmask16)(m0 | ((unsigned)m1 << 8));
    __m512i cols = _mm512_add_epi32(iota, _mm512_set1_epi32((int)j0));
    _mm512_storeu_si512((void *)(oc + n), _mm512_maskz_compress_epi32(m, cols));
    int c0 = __builtin_popcount(m0);
    _mm512_storeu_si512((void *)(ov + n), _mm512_maskz_compress_epi64(m0, v0));
    _mm512_storeu_si512((void *)(ov + n + c0), _mm512_maskz_compress_epi64(m1, v1));
    n += c0 + __builtin_popcount(m1);
  }
  return n;
}

__attribute__((target("avx2,bmi,bmi2"))) static int64_t
scan_avx2(double *acc, int64_t lo, int64_t hi, int32_t *oc, double *ov)
{
  int64_t n = 0;
  const __m256i empty = _mm256_set1_epi64x((long long)EMPTY_BITS);
  for (int64_t j0 = lo & ~(int64_t)7; j0 <= hi; j0 += 8) {
    __m256i v0 = _mm256_load_si256((const __m256i *)(acc + j0));
    __m256i v1 = _mm256_load_si256((const __m256i *)(acc + j0 + 4));
    unsigned m = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(v0, empty))) |
                 ((unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(v1, empty))) << 4);
    m = ~m & 0xff;
    if (!m)
      continue;
    do {
      int64_t j = j0 + (int64_t)_tzcnt_u32(m);
      oc[n] = (int32_t)j;
      ov[n] = acc[j];
      n++;
      m = _blsr_u32(m);
    } while (m);
    _mm256_store_si256((__m256i *)(acc + j0), empty);
    _mm256_store_si256((__m256i *)(acc + j0 + 4), empty);
  }
  return n;
}
#endif

/* Coarse flags: one byte per 8 columns (cflag[j >> 3] = 1), 64 of them tested at a time, so that
 * the scan visits only the 8-column groups that were touched (one 64-byte line of acc each). For rows of medium density, where
 * scanning all of acc over [lo, hi] would cost more than one more (L1-resident) byte store per
 * multiply. cflag is 64-byte aligned, zero between rows, readable up to 64 bytes past the last group. */
typedef int64_t (*CoarseScanFn)(uint8_t *cflag, double *acc, int64_t lo, int64_t hi, int32_t *oc, double *ov);

static int64_t
coarse_scan_generic(uint8_t *cflag, double *acc, int64_t lo, int64_t hi, int32_t *oc, double *ov)
{
  int64_t n = 0;
  for (int64_t g = lo >> 3; g <= hi >> 3; g++) {
    if (!cflag[g])
      continue;
    cflag[g] = 0;
    n += scan_generic(acc, g << 3, (g << 3) + 7, oc + n, ov + n);
  }
  return n;
}

#ifdef FR_HAVE_X86_SCAN
__attribute__((target("avx512f,avx512bw,avx512vl,bmi,bmi2,popcnt"))) static int64_t
coarse_scan_avx512(uint8_t *cflag, double *acc, int64_t lo, int64_t hi, int32_t *oc, double *ov)
{
  int64_t n = 0;
  const __m512i empty = _mm512_set1_epi64((long long)EMPTY_BITS);
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m512i zero = _mm512_setzero_si512();
  for (int64_t g0 = (lo >> 3) & ~(int64_t)63; g0 <= hi >> 3; g0 += 64) {
    __m512i f = _mm512_load_si512((const void *)(cflag + g0));
    uint64_t gm = _mm512_test_epi8_mask(f, f);
    if (!gm)
      continue;
    _mm512_store_si512((void *)(cflag + g0), zero);
    do {
      int64_t j0 = (g0 + (int64_t)_tzcnt_u64(gm)) << 3;
      gm = _blsr_u64(gm);
      __m512i v = _mm512_load_si512((const void *)(acc + j0));
      __mmask8 m = _mm512_cmpneq_epi64_mask(v, empty);
      _mm512_store_si512((void *)(acc + j0), empty);
      __m256i cols = _mm256_add_epi32(iota, _mm256_set1_epi32((int)j0));
      _mm256_storeu_si256((__m256i *)(oc + n), _mm256_maskz_compress_epi32(m, cols));
      _mm512_storeu_si512((void *)(ov + n), _mm512_maskz_compress_epi64(m, v));
      n += __builtin_popcount(m);
    } while (gm);
  }
  return n;
}

__attribute__((target("avx2,bmi,bmi2"))) static int64_t
coarse_scan_avx2(uint8_t *cflag, double *acc, int64_t lo, int64_t hi, int32_t *oc, double *ov)
{
  int64_t n = 0;
  const __m256i empty = _mm256_set1_epi64x((long long)EMPTY_BITS);
  const __m256i zero = _mm256_setzero_si256();
  for (int64_t g0 = (lo >> 3) & ~(int64_t)31; g0 <= hi >> 3; g0 += 32) {
    __m256i f = _mm256_load_si256((const __m256i *)(cflag + g0));
    uint32_t gm = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(f, zero));
    if (!gm)
      continue;
    _mm256_store_si256((__m256i *)(cflag + g0), zero);
    do {
      int64_t j0 = (g0 + (int64_t)_tzcnt_u32(gm)) << 3;
      gm = _blsr_u32(gm);
      unsigned m = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(
                       _mm256_cmpeq_epi64(_mm256_load_si256((const __m256i *)(acc + j0)), empty))) |
                   ((unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(
                        _mm256_cmpeq_epi64(_mm256_load_si256((const __m256i *)(acc + j0 + 4)), empty)))
                    << 4);
      m = ~m & 0xff;
      while (m) {
        int64_t j = j0 + (int64_t)_tzcnt_u32(m);
        oc[n] = (int32_t)j;
        ov[n] = acc[j];
        acc[j] = -0.0;
        n++;
        m = _blsr_u32(m);
      }
    } while (gm);
  }
  return n;
}
#endif

static CoarseScanFn
pick_coarse(int level)
{
#ifdef FR_HAVE_X86_SCAN
  if (level >= 2)
    return coarse_scan_avx512;
  if (level >= 1)
    return coarse_scan_avx2;
#endif
  return coarse_scan_generic;
}

static int isa_override = FR_SPGEMM_ISA_AUTO;
static int isa_level(void);

FrSpgemmIsa
fr_spgemm_set_isa(FrSpgemmIsa isa)
{
  __atomic_store_n(&isa_override, (int)isa, __ATOMIC_RELAXED);
  return (FrSpgemmIsa)isa_level();
}

/* The widest vector code to use: the CPU's, or less if fr_spgemm_set_isa asked. */
static int
isa_level(void)
{
  int level = FR_SPGEMM_ISA_GENERIC;
#ifdef FR_HAVE_X86_SCAN
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2"))
    level = FR_SPGEMM_ISA_AVX2;
  if (level == FR_SPGEMM_ISA_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("popcnt"))
    level = FR_SPGEMM_ISA_AVX512;
#endif
  int want = __atomic_load_n(&isa_override, __ATOMIC_RELAXED);
  return want >= 0 ? MIN(level, want) : level;
}

static ScanFn
pick_scan(int level)
{
#ifdef FR_HAVE_X86_SCAN
  if (level >= 2)
    return scan_avx512;
  if (level >= 1)
    return scan_avx2;
#endif
  return scan_generic;
}

/* ---- sorts -------------------------------------------------------------------------------------- */

static inline void
insertion_sort_i32(int32_t *a, int64_t n)
{
  for (int64_t q = 1; q < n; q++) {
    int32_t x = a[q];
    int64_t r = q;
    while (r > 0 && a[r - 1] > x) {
      a[r] = a[r - 1];
      r--;
    }
    a[r] = x;
  }
}

/* Rank sort of n <= RANK_SORT distinct keys from `in` to `out` (not the same array): each key's place
 * is the number of smaller keys. n^2 comparisons, but branch-free and vectorised (16 a step with
 * AVX-512), which beats the other sorts on the 10..64-entry rows of sparse graphs. The optional
 * values follow their keys. */
typedef void (*RankFn)(const int32_t *in, const double *vin, int32_t *out, double *vout, int64_t n);

static void
rank_sort_generic(const int32_t *in, const double *vin, int32_t *out, double *vout, int64_t n)
{
  for (int64_t q = 0; q < n; q++) {
    int32_t x = in[q];
    int32_t r = 0;
    for (int64_t t = 0; t < n; t++)
      r += in[t] < x;
    out[r] = x;
    if (vin)
      vout[r] = vin[q];
  }
}

#ifdef FR_HAVE_X86_SCAN
__attribute__((target("avx512f,avx512bw,popcnt"))) static void
rank_sort_avx512(const int32_t *in, const double *vin, int32_t *out, double *vout, int64_t n)
{
  /* keys in up to RANK_SORT / 16 registers; lanes past n hold INT32_MAX, never smaller */
  __m512i k[RANK_SORT / 16];
  int nr = (int)((n + 15) / 16);
  for (int v = 0; v < nr; v++) {
    int64_t left = n - 16 * v;
    __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
    k[v] = _mm512_mask_loadu_epi32(_mm512_set1_epi32(G_MAXINT32), m, in + 16 * v);
  }
  for (int64_t q = 0; q < n; q++) {
    __m512i x = _mm512_set1_epi32(in[q]);
    int r = 0;
    for (int v = 0; v < nr; v++)
      r += __builtin_popcount(_mm512_cmplt_epi32_mask(k[v], x));
    out[r] = in[q];
    if (vin)
      vout[r] = vin[q];
  }
}
#endif

static RankFn
pick_rank(int level)
{
#ifdef FR_HAVE_X86_SCAN
  if (level >= 2)
    return rank_sort_avx512;
#endif
  return rank_sort_generic;
}

/* Bucket sort of n distinct keys in [lo, lo + 2^bits) from a into tmp: about n/2 buckets by the top
 * bits, a counting pass, then one insertion pass over the whole array, which only moves keys within
 * their bucket (few moves, few mispredicted branches). A bucket of more than SMALL_SORT keys
 * (clustered columns) is sorted recursively on its remaining bits instead. Result in tmp. */
static void
bucket_sort_i32(int32_t *a, int32_t *tmp, int64_t n, int32_t lo, int bits)
{
  int lb = 63 - __builtin_clzll((uint64_t)n); /* 2^lb <= n */
  lb = MIN(lb, 11);
  lb = MIN(lb, bits);
  int shift = bits - lb;
  int nb = 1 << lb;
  uint32_t start[2048 + 1];
  memset(start, 0, (size_t)(nb + 1) * sizeof(uint32_t));
  for (int64_t q = 0; q < n; q++)
    start[((uint32_t)(a[q] - lo) >> shift) + 1]++;
  uint32_t biggest = 0;
  for (int d = 0; d < nb; d++) {
    biggest = MAX(biggest, start[d + 1]);
    start[d + 1] += start[d];
  }
  for (int64_t q = 0; q < n; q++) {
    int32_t x = a[q];
    tmp[start[(uint32_t)(x - lo) >> shift]++] = x;
  }
  /* start[d] is now the end of bucket d */
  if (biggest <= SMALL_SORT || shift == 0) {
    for (int64_t q = 1; q < n; q++) {
      int32_t x = tmp[q];
      int64_t r = q;
      while (r > 0 && tmp[r - 1] > x) {
        tmp[r] = tmp[r - 1];
        r--;
      }
      tmp[r] = x;
    }
    return;
  }
  for (int d = 0; d < nb; d++) {
    uint32_t s0 = d ? start[d - 1] : 0, m = start[d] - s0;
    if (m > SMALL_SORT) {
      bucket_sort_i32(tmp + s0, a + s0, m, lo + (int32_t)((uint32_t)d << shift), shift);
      memcpy(tmp + s0, a + s0, m * sizeof(int32_t)); /* the recursion leaves its result in a */
    } else if (m > 1) {
      insertion_sort_i32(tmp + s0, m);
    }
  }
}

/* Sorts the n distinct keys of a (all in [lo, hi]); the result is in a or tmp: returns which. */
static inline int32_t *
sort_cols(RankFn rank, int32_t *a, int32_t *tmp, int64_t n, int32_t lo, int32_t hi)
{
  if (n <= 8) {
    insertion_sort_i32(a, n);
    return a;
  }
  if (n <= RANK_SORT) {
    rank(a, NULL, tmp, NULL, n);
    return tmp;
  }
  uint32_t span = (uint32_t)(hi - lo);
  int bits = span ? 32 - __builtin_clz(span) : 0;
  bucket_sort_i32(a, tmp, n, lo, bits);
  return tmp;
}

/* LSD radix sort of pairs (column, value), 8 bits a pass, for the hash accumulator's long rows. */
static void
sort_pairs(int32_t *k, double *v, int32_t *tk, double *tv, int64_t n, int32_t lo, int32_t hi)
{
  uint32_t span = (uint32_t)(hi - lo);
  int bits = span ? 32 - __builtin_clz(span) : 0;
  int32_t *sk = k, *dk = tk;
  double *sv = v, *dv = tv;
  for (int shift = 0; shift < bits; shift += 8) {
    uint32_t count[256] = { 0 };
    for (int64_t q = 0; q < n; q++)
      count[((uint32_t)(sk[q] - lo) >> shift) & 255]++;
    uint32_t sum = 0;
    for (int d = 0; d < 256; d++) {
      uint32_t c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (int64_t q = 0; q < n; q++) {
      uint32_t p = count[((uint32_t)(sk[q] - lo) >> shift) & 255]++;
      dk[p] = sk[q];
      dv[p] = sv[q];
    }
    int32_t *t = sk;
    sk = dk;
    dk = t;
    double *u = sv;
    sv = dv;
    dv = u;
  }
  if (sk != k) {
    memcpy(k, sk, (size_t)n * sizeof(int32_t));
    memcpy(v, sv, (size_t)n * sizeof(double));
  }
}

/* ---- the product -------------------------------------------------------------------------------- */

typedef struct {
  const FrCsr *a, *b;
  int64_t nrows, ncols;
  int nslots;
  gboolean dense_ok;
  ScanFn scan;
  CoarseScanFn coarse;
  RankFn rank;
  int64_t *rflops;     /* per row: multiplies */
  int64_t *crowptr;    /* C's row pointers: the bound per row, then part-local ends, then final */
  int64_t next_item;    /* atomic work counter (row blocks or parts) */
  int64_t nblocks;
  /* parts */
  int64_t nparts;
  int64_t *part_row;   /* nparts + 1 */
  int64_t *prefix;     /* nparts: end of part p in C, -1 until known */
  int64_t temp_cap;    /* entries in each thread's part buffer */
  int64_t max_row_ub;
  int64_t hash_cap;    /* slots of each thread's hash table (0: none) */
  int64_t *slot_lower; /* per thread of pass 1: a lower bound on its rows' nonzeros */
  int64_t counted;     /* atomic: nonzeros counted by the exact pass so far */
  int64_t max_entries; /* nonzeros the memory limit allows */
  int32_t *ccol;
  double *cval;
  gint failed;         /* a thread could not get its scratch memory */
} Spgemm;

typedef struct {
  double *acc;     /* nblocks * ACC_BLOCK entries, EMPTY between rows once filled (ensure_filled) */
  uint8_t *filled; /* per ACC_BLOCK columns: acc is EMPTY there (filled on first use) */
  uint8_t *cflag;  /* per 8 columns, + 64: 0 between rows (see CoarseScanFn) */
  int64_t nfilled, nblocks;
  int32_t *hkey;   /* hash_cap, all -1 between rows */
  double *hval;
  int32_t *aux;    /* max_row_ub + PAD: sort scratch, hash slot list */
  double *auxv;
  int32_t *tcol[NBUF]; /* temp_cap + PAD each: parts' outputs waiting to be copied to C */
  double *tval[NBUF];
} Scratch;

static void
scratch_free(Scratch *s)
{
  free(s->acc);
  free(s->cflag);
  g_free(s->filled);
  g_free(s->hkey);
  g_free(s->hval);
  g_free(s->aux);
  g_free(s->auxv);
  for (int q = 0; q < NBUF; q++) {
    g_free(s->tcol[q]);
    g_free(s->tval[q]);
  }
  memset(s, 0, sizeof *s);
}

static gboolean
scratch_init(const Spgemm *g, Scratch *s, int nbuf)
{
  memset(s, 0, sizeof *s);
  if (g->dense_ok) {
    /* filled lazily, block by block, so that a call that touches few columns pays for few */
    s->nblocks = (g->ncols + 16 + ACC_BLOCK - 1) / ACC_BLOCK;
    if (posix_memalign((void **)&s->acc, 64, (size_t)s->nblocks * ACC_BLOCK * sizeof(double)) != 0)
      s->acc = NULL;
    s->filled = g_try_malloc0((size_t)s->nblocks);
    size_t ng = (size_t)(g->ncols / 8 + 1 + 64);
    if (posix_memalign((void **)&s->cflag, 64, ng) != 0)
      s->cflag = NULL;
    else
      memset(s->cflag, 0, ng);
    if (!s->acc || !s->filled || !s->cflag)
      goto fail;
  }
  if (g->hash_cap > 0) {
    s->hkey = g_try_malloc((size_t)g->hash_cap * sizeof(int32_t));
    s->hval = g_try_malloc((size_t)g->hash_cap * sizeof(double));
    if (!s->hkey || !s->hval)
      goto fail;
    memset(s->hkey, 0xff, (size_t)g->hash_cap * sizeof(int32_t));
  }
  s->aux = g_try_malloc((size_t)(g->max_row_ub + PAD) * sizeof(int32_t));
  for (int q = 0; q < nbuf; q++) {
    s->tcol[q] = g_try_malloc((size_t)(g->temp_cap + PAD) * sizeof(int32_t));
    s->tval[q] = g_try_malloc((size_t)(g->temp_cap + PAD) * sizeof(double));
    if (!s->tcol[q] || !s->tval[q])
      goto fail;
  }
  s->auxv = g_try_malloc((size_t)(g->max_row_ub + PAD) * sizeof(double));
  if (!s->aux || !s->auxv)
    goto fail;
  return TRUE;
fail:
  scratch_free(s);
  return FALSE;
}

/* acc[] is EMPTY over the columns [lo, hi] */
static inline void
ensure_filled(Scratch *s, int64_t lo, int64_t hi)
{
  if (s->nfilled == s->nblocks)
    return;
  for (int64_t blk = lo / ACC_BLOCK, end = (hi + 16) / ACC_BLOCK; blk <= end && blk < s->nblocks; blk++) {
    if (s->filled[blk])
      continue;
    double *p = s->acc + blk * ACC_BLOCK;
    for (int q = 0; q < ACC_BLOCK; q++)
      p[q] = -0.0;
    s->filled[blk] = 1;
    s->nfilled++;
  }
}

/* acc[j] += av * b over one row of B (see EMPTY_BITS for the + 0.0). Its columns are distinct, so four
 * loads can go before four stores; bounds and pointers are locals. */
static inline void
dense_accumulate(const int32_t *restrict bc, const double *restrict bv, int64_t len, double av,
                 double *restrict acc)
{
  int64_t q = 0;
  for (; q + 4 <= len; q += 4) {
    int32_t j0 = bc[q], j1 = bc[q + 1], j2 = bc[q + 2], j3 = bc[q + 3];
    double x0 = av * bv[q] + 0.0, x1 = av * bv[q + 1] + 0.0, x2 = av * bv[q + 2] + 0.0, x3 = av * bv[q + 3] + 0.0;
    double s0 = acc[j0], s1 = acc[j1], s2 = acc[j2], s3 = acc[j3];
    acc[j0] = s0 + x0;
    acc[j1] = s1 + x1;
    acc[j2] = s2 + x2;
    acc[j3] = s3 + x3;
  }
  for (; q < len; q++) {
    int32_t j = bc[q];
    acc[j] = acc[j] + (av * bv[q] + 0.0);
  }
}

/* The same, also flagging each column's group of 8 (coarse mode). */
static inline void
coarse_accumulate(const int32_t *restrict bc, const double *restrict bv, int64_t len, double av,
                  double *restrict acc, uint8_t *restrict cflag)
{
  int64_t q = 0;
  for (; q + 4 <= len; q += 4) {
    int32_t j0 = bc[q], j1 = bc[q + 1], j2 = bc[q + 2], j3 = bc[q + 3];
    double x0 = av * bv[q] + 0.0, x1 = av * bv[q + 1] + 0.0, x2 = av * bv[q + 2] + 0.0, x3 = av * bv[q + 3] + 0.0;
    double s0 = acc[j0], s1 = acc[j1], s2 = acc[j2], s3 = acc[j3];
    acc[j0] = s0 + x0;
    acc[j1] = s1 + x1;
    acc[j2] = s2 + x2;
    acc[j3] = s3 + x3;
    cflag[j0 >> 3] = 1;
    cflag[j1 >> 3] = 1;
    cflag[j2 >> 3] = 1;
    cflag[j3 >> 3] = 1;
  }
  for (; q < len; q++) {
    int32_t j = bc[q];
    acc[j] = acc[j] + (av * bv[q] + 0.0);
    cflag[j >> 3] = 1;
  }
}

/* The same, also appending each column seen for the first time (its entry was EMPTY) to list,
 * branch-free: the slot is always written, the count only advances for a new column. */
static inline int64_t
list_accumulate(const int32_t *restrict bc, const double *restrict bv, int64_t len, double av,
                double *restrict acc, int32_t *restrict list, int64_t n)
{
  for (int64_t q = 0; q < len; q++) {
    int32_t j = bc[q];
    double s = acc[j];
    list[n] = j;
    n += is_empty(s);
    acc[j] = s + (av * bv[q] + 0.0);
  }
  return n;
}

/* Hash accumulator: open addressing in a table of at least twice the row's bound, a power of two;
 * the entries then sorted with their values. For products with too many columns for dense arrays.
 * (Tried for short rows over a wide span too, to keep the table in L1: branch mispredictions made it
 * slower than the list path on p2p-Gnutella31.) */
static int64_t
hash_row(const Spgemm *g, Scratch *s, int64_t pa0, int64_t pa1, int64_t f, int32_t lo, int32_t hi,
         int32_t *restrict oc, double *restrict ov)
{
  const int64_t *restrict brp = g->b->rowptr;
  const int32_t *restrict bcol = g->b->col;
  const double *restrict bval = g->b->val;
  const int32_t *restrict acol = g->a->col;
  const double *restrict aval = g->a->val;
  int64_t ub = MIN(f, (int64_t)hi - lo + 1), n = 0;
  int lg = 4;
  while (((int64_t)1 << lg) < 2 * ub)
    lg++;
  uint32_t mask = (uint32_t)(((int64_t)1 << lg) - 1);
  int shift = 32 - lg;
  int32_t *restrict hkey = s->hkey;
  double *restrict hval = s->hval;
  int32_t *slots = s->aux;
  for (int64_t pa = pa0; pa < pa1; pa++) {
    int32_t k = acol[pa];
    double av = aval[pa];
    int64_t pb1 = brp[k + 1];
    for (int64_t pb = brp[k]; pb < pb1; pb++) {
      int32_t j = bcol[pb];
      uint32_t h = ((uint32_t)j * 0x9E3779B1u) >> shift;
      for (;;) {
        int32_t key = hkey[h];
        if (key == j) {
          hval[h] += av * bval[pb];
          break;
        }
        if (key < 0) {
          hkey[h] = j;
          hval[h] = 0.0 + av * bval[pb];
          slots[n++] = (int32_t)h; /* read back as uint32_t */
          break;
        }
        h = (h + 1) & mask;
      }
    }
  }
  int32_t *restrict tk = s->aux; /* the same array as slots: entry q is read before it is written */
  double *restrict tv = s->auxv;
  for (int64_t q = 0; q < n; q++) {
    uint32_t h = (uint32_t)slots[q];
    tk[q] = hkey[h];
    tv[q] = hval[h];
    hkey[h] = -1;
  }
  if (n <= RANK_SORT) {
    g->rank(tk, tv, oc, ov, n);
  } else {
    memcpy(oc, tk, (size_t)n * sizeof(int32_t));
    memcpy(ov, tv, (size_t)n * sizeof(double));
    sort_pairs(oc, ov, tk, tv, n, lo, hi);
  }
  return n;
}

/* Row i of C into oc/ov (room for its bound + PAD); returns its nonzeros. */
static inline int64_t
compute_row(const Spgemm *g, Scratch *s, int64_t i, int32_t *restrict oc, double *restrict ov)
{
  const int64_t *restrict brp = g->b->rowptr;
  const int32_t *restrict bcol = g->b->col;
  const double *restrict bval = g->b->val;
  const int32_t *restrict acol = g->a->col;
  const double *restrict aval = g->a->val;
  int64_t pa0 = g->a->rowptr[i], pa1 = g->a->rowptr[i + 1];
  if (pa0 == pa1)
    return 0;
  if (pa1 - pa0 == 1) {
    int32_t k = acol[pa0];
    double av = aval[pa0];
    int64_t pb0 = brp[k], len = brp[k + 1] - pb0;
    for (int64_t q = 0; q < len; q++) {
      oc[q] = bcol[pb0 + q];
      ov[q] = 0.0 + av * bval[pb0 + q];
    }
    return len;
  }
  /* the multiplies and the column span */
  int64_t f = 0;
  int32_t lo = G_MAXINT32, hi = -1;
  for (int64_t pa = pa0; pa < pa1; pa++) {
    int32_t k = acol[pa];
    int64_t pb0 = brp[k], pb1 = brp[k + 1];
    if (pb0 < pb1) {
      f += pb1 - pb0;
      lo = MIN(lo, bcol[pb0]);
      hi = MAX(hi, bcol[pb1 - 1]);
    }
  }
  if (f == 0)
    return 0;
  int64_t span = (int64_t)hi - lo + 1;
  int64_t n = 0;
  if (g->dense_ok) {
    double *restrict acc = s->acc;
    ensure_filled(s, lo, hi);
    if (span <= DENSE_RATIO * f) {
      for (int64_t pa = pa0; pa < pa1; pa++) {
        int32_t k = acol[pa];
        int64_t pb0 = brp[k];
        dense_accumulate(bcol + pb0, bval + pb0, brp[k + 1] - pb0, aval[pa], acc);
      }
      return g->scan(acc, lo, hi, oc, ov);
    }
    if (span <= COARSE_RATIO * f) {
      for (int64_t pa = pa0; pa < pa1; pa++) {
        int32_t k = acol[pa];
        int64_t pb0 = brp[k];
        coarse_accumulate(bcol + pb0, bval + pb0, brp[k + 1] - pb0, aval[pa], acc, s->cflag);
      }
      return g->coarse(s->cflag, acc, lo, hi, oc, ov);
    }
    for (int64_t pa = pa0; pa < pa1; pa++) {
      int32_t k = acol[pa];
      int64_t pb0 = brp[k];
      n = list_accumulate(bcol + pb0, bval + pb0, brp[k + 1] - pb0, aval[pa], acc, oc, n);
    }
    const int32_t *sorted = sort_cols(g->rank, oc, s->aux, n, lo, hi);
    for (int64_t q = 0; q < n; q++) {
      int32_t j = sorted[q];
      oc[q] = j;
      ov[q] = acc[j];
      acc[j] = -0.0;
    }
    return n;
  }
  return hash_row(g, s, pa0, pa1, f, lo, hi, oc, ov);
}

typedef void (*SlotFn)(Spgemm *g, int slot);
typedef struct {
  Spgemm *g;
  SlotFn fn;
} SlotCall;

static void
slots_cb(void *ctx, int64_t begin, int64_t end)
{
  SlotCall *sc = ctx;
  for (int64_t s = begin; s < end; s++)
    sc->fn(sc->g, (int)s);
}

static void
run_slots(Spgemm *g, int nslots, SlotFn fn)
{
  g->next_item = 0;
  if (nslots <= 1) {
    fn(g, 0);
    return;
  }
  SlotCall sc = { g, fn };
  fr_parallel_for(nslots, 1, slots_cb, &sc);
}

/* Pass 1: multiplies and bound per row (the bound goes to crowptr[i + 1]). */
static void
analyse_slot(Spgemm *g, int slot)
{
  const FrCsr *A = g->a, *B = g->b;
  const int64_t *arp = A->rowptr, *brp = B->rowptr;
  const int32_t *acol = A->col, *bcol = B->col;
  int64_t lower = 0; /* a lower bound on nnz(C): each row has at least its longest B row */
  const int64_t last = MAX(A->nnz - 1, 0);
  for (;;) {
    int64_t blk = __atomic_fetch_add(&g->next_item, 1, __ATOMIC_RELAXED);
    if (blk >= g->nblocks)
      break;
    int64_t r0 = blk * ROW_BLOCK, r1 = MIN(r0 + ROW_BLOCK, g->nrows);
    for (int64_t i = r0; i < r1; i++) {
      int64_t f = 0, longest = 0;
      int32_t lo = G_MAXINT32, hi = -1;
      for (int64_t pa = arp[i]; pa < arp[i + 1]; pa++) {
        int32_t k = acol[pa];
        __builtin_prefetch(&brp[acol[MIN(pa + PF_FAR, last)]]);
        int64_t pb0 = brp[k], pb1 = brp[k + 1];
        if (pb0 < pb1) {
          f += pb1 - pb0;
          longest = MAX(longest, pb1 - pb0);
          lo = MIN(lo, bcol[pb0]);
          hi = MAX(hi, bcol[pb1 - 1]);
        }
      }
      g->rflops[i] = f;
      g->crowptr[i + 1] = f ? MIN(f, (int64_t)hi - lo + 1) : 0;
      lower = sat_add(lower, longest);
    }
  }
  g->slot_lower[slot] = lower;
}

/* Optional pass 2 (when the bound is too big to reserve): exact counts into crowptr[i + 1]. */
static void
count_slot(Spgemm *g, int slot)
{
  Scratch s;
  if (!scratch_init(g, &s, 1)) {
    g_atomic_int_set(&g->failed, 1);
    return;
  }
  for (;;) {
    int64_t blk = __atomic_fetch_add(&g->next_item, 1, __ATOMIC_RELAXED);
    if (blk >= g->nblocks)
      break;
    int64_t r0 = blk * ROW_BLOCK, r1 = MIN(r0 + ROW_BLOCK, g->nrows), sum = 0;
    for (int64_t i = r0; i < r1; i++) {
      int64_t n = compute_row(g, &s, i, s.tcol[0], s.tval[0]);
      g->crowptr[i + 1] = n;
      sum += n;
      if ((i & 63) == 63 && __atomic_load_n(&g->counted, __ATOMIC_RELAXED) + sum > g->max_entries)
        break; /* over the limit whatever the rest holds: stop everyone */
    }
    if (__atomic_add_fetch(&g->counted, sum, __ATOMIC_RELAXED) > g->max_entries)
      __atomic_store_n(&g->next_item, g->nblocks, __ATOMIC_RELAXED);
  }
  scratch_free(&s);
}

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static int64_t
wait_prefix(Spgemm *g, int64_t p)
{
  int spins = 0;
  for (;;) {
    int64_t v = __atomic_load_n(&g->prefix[p], __ATOMIC_ACQUIRE);
    if (v >= 0)
      return v;
    if (++spins < 2000)
      cpu_relax();
    else
      sched_yield(); /* the part's thread may have been preempted */
  }
}

/* Pass 3: parts in order; each part's rows into one of the thread's NBUF buffers, then out to C once
 * the part before it is placed. A part that cannot be placed yet waits in its buffer while the thread
 * computes the next one; the thread only spins when all its buffers are waiting. */
typedef struct {
  int64_t part, n;
  int buf;
} Pending;

static gboolean
flush_oldest(Spgemm *g, Scratch *s, Pending *q, gboolean wait)
{
  int64_t p = q->part, off = 0;
  if (p > 0) {
    off = __atomic_load_n(&g->prefix[p - 1], __ATOMIC_ACQUIRE);
    if (off < 0) {
      if (!wait)
        return FALSE;
      off = wait_prefix(g, p - 1);
    }
  }
  __atomic_store_n(&g->prefix[p], off + q->n, __ATOMIC_RELEASE);
  memcpy(g->ccol + off, s->tcol[q->buf], (size_t)q->n * sizeof(int32_t));
  memcpy(g->cval + off, s->tval[q->buf], (size_t)q->n * sizeof(double));
  for (int64_t i = g->part_row[p], r1 = g->part_row[p + 1]; i < r1; i++)
    g->crowptr[i + 1] += off;
  return TRUE;
}

static void
numeric_slot(Spgemm *g, int slot)
{
  Scratch s;
  int nbuf = g->nslots > 1 ? NBUF : 0; /* one thread: every part goes straight into C */
  if (!scratch_init(g, &s, nbuf)) {
    g_atomic_int_set(&g->failed, 1);
    return;
  }
  Pending pend[NBUF];
  int head = 0, npend = 0; /* FIFO of parts waiting for their place */
  const int64_t *arp = g->a->rowptr, *brp = g->b->rowptr;
  const int32_t *acol = g->a->col;
  const int64_t nnz_a = g->a->nnz;
  for (;;) {
    while (npend > 0 && flush_oldest(g, &s, &pend[head], npend == nbuf)) {
      head = (head + 1) % nbuf;
      npend--;
    }
    int64_t p = __atomic_fetch_add(&g->next_item, 1, __ATOMIC_RELAXED);
    if (p >= g->nparts)
      break;
    /* where the part goes, if the part before it is placed already (always so with one thread):
     * then straight into C, else into a buffer */
    int64_t off = -1;
    if (npend == 0)
      off = p > 0 ? __atomic_load_n(&g->prefix[p - 1], __ATOMIC_ACQUIRE) : 0;
    if (off < 0 && nbuf == 0)
      off = wait_prefix(g, p - 1);
    int buf = off >= 0 ? 0 : (head + npend) % nbuf;
    int32_t *tcol = off >= 0 ? g->ccol + off : s.tcol[buf];
    double *tval = off >= 0 ? g->cval + off : s.tval[buf];
    int64_t base = off >= 0 ? off : 0;
    int64_t r0 = g->part_row[p], r1 = g->part_row[p + 1];
    int64_t pos = 0;
    /* software prefetch along A's entries: B's row pointer PF_FAR entries ahead, the start of B's
     * row PF_NEAR ahead (its pointer is in cache by then). Hides the latency of short, scattered B
     * rows (p2p-Gnutella31: 2.4 entries a row); free where rows are long. */
    int64_t pf_far = arp[r0], pf_near = arp[r0];
    for (int64_t i = r0; i < r1; i++) {
      int64_t e = MIN(arp[i + 1] + PF_FAR, nnz_a);
      for (; pf_far < e; pf_far++)
        __builtin_prefetch(&brp[acol[pf_far]]);
      e = MIN(arp[i + 1] + PF_NEAR, nnz_a);
      for (; pf_near < e; pf_near++) {
        int64_t sb = brp[acol[pf_near]];
        __builtin_prefetch(&g->b->col[sb]);
        __builtin_prefetch(&g->b->val[sb]);
      }
      pos += compute_row(g, &s, i, tcol + pos, tval + pos);
      g->crowptr[i + 1] = base + pos;
    }
    if (off >= 0) {
      __atomic_store_n(&g->prefix[p], off + pos, __ATOMIC_RELEASE);
      continue;
    }
    pend[buf] = (Pending){ p, pos, buf };
    npend++;
  }
  while (npend > 0) {
    flush_oldest(g, &s, &pend[head], TRUE);
    head = (head + 1) % nbuf;
    npend--;
  }
  scratch_free(&s);
}

/* Output arrays: big ones 2 MiB aligned with transparent huge pages requested (one fault per 2 MiB
 * instead of per 4 KiB), plain malloc otherwise; both kinds go back with free()/realloc(). */
static void *
alloc_output(size_t bytes)
{
  const size_t huge = (size_t)2 << 20;
  if (bytes >= 2 * huge) {
    void *p = NULL;
    if (posix_memalign(&p, huge, bytes) != 0)
      return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, bytes & ~(huge - 1), MADV_HUGEPAGE);
#endif
    return p;
  }
  return g_try_malloc(MAX(bytes, 16));
}

FrCsr *
fr_spgemm(const FrCsr *a, const FrCsr *b, int threads, FrSpgemmStats *stats, GError **error)
{
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  double t0 = now_seconds();
  if (!a || !b) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_INVALID, "fr_spgemm: NULL matrix");
    return NULL;
  }
  if (a->ncols != b->nrows) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_SHAPE,
                "cannot multiply %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT " by %" G_GINT64_FORMAT
                " x %" G_GINT64_FORMAT,
                a->nrows, a->ncols, b->nrows, b->ncols);
    return NULL;
  }
  int pool = fr_pool_get_threads();
  int want = threads > 0 ? threads : pool;
  Spgemm g = { 0 };
  g.a = a;
  g.b = b;
  g.nrows = a->nrows;
  g.ncols = b->ncols;
  g.dense_ok = g.ncols <= DENSE_MAX_COLS;
  int level = isa_level();
  g.scan = pick_scan(level);
  g.coarse = pick_coarse(level);
  g.rank = pick_rank(level);
  int64_t limit = fr_spgemm_get_memory_limit();
  int64_t rowptr_bytes = sat_mul(g.nrows + 1, sizeof(int64_t));
  FrCsr *c = NULL;

  if (rowptr_bytes > limit) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE,
                "the product's %" G_GINT64_FORMAT " rows exceed the memory limit of %" G_GINT64_FORMAT " bytes",
                g.nrows, limit);
    return NULL;
  }
  c = g_new0(FrCsr, 1);
  c->nrows = g.nrows;
  c->ncols = g.ncols;
  c->rowptr = g_try_malloc((size_t)(g.nrows + 1) * sizeof(int64_t));
  g.rflops = g_try_malloc((size_t)MAX(g.nrows, 1) * sizeof(int64_t));
  if (!c->rowptr || !g.rflops) {
    g_free(g.rflops);
    fr_csr_free(c);
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE, "out of memory for %" G_GINT64_FORMAT " rows",
                g.nrows);
    return NULL;
  }
  c->rowptr[0] = 0;
  g.crowptr = c->rowptr;

  /* pass 1 */
  g.nblocks = (g.nrows + ROW_BLOCK - 1) / ROW_BLOCK;
  int64_t scan_work = a->nnz + g.nrows;
  g.nslots = scan_work < SERIAL_WORK ? 1 : (int)MIN((int64_t)want, g.nblocks);
  g.slot_lower = g_new0(int64_t, MAX(g.nslots, 1));
  run_slots(&g, g.nslots, analyse_slot);
  int64_t lower = 0;
  for (int q = 0; q < g.nslots; q++)
    lower = sat_add(lower, g.slot_lower[q]);
  g_free(g.slot_lower);
  g.slot_lower = NULL;
  g.max_entries = (limit - rowptr_bytes) / 12;
  if (lower > g.max_entries) {
    g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE,
                "the product would have at least %" G_GINT64_FORMAT " nonzeros, beyond the memory limit of %"
                G_GINT64_FORMAT " bytes",
                lower, limit);
    goto fail;
  }

  int64_t total_flops = 0, total_ub = 0, total_cost = 0;
  for (int64_t i = 0; i < g.nrows; i++) {
    int64_t f = g.rflops[i];
    total_flops = sat_add(total_flops, f);
    total_ub = sat_add(total_ub, g.crowptr[i + 1]);
    g.max_row_ub = MAX(g.max_row_ub, g.crowptr[i + 1]);
    total_cost = sat_add(total_cost, sat_add(f, a->rowptr[i + 1] - a->rowptr[i] + ROW_COST));
  }
  int nslots = total_cost < SERIAL_WORK ? 1 : want;
  /* scratch sizes follow the bound (rows size their hash tables by it, even after an exact count) */
  g.temp_cap = MAX(TEMP_CAP, g.max_row_ub);
  if (!g.dense_ok) {
    int lg = 4;
    while (((int64_t)1 << lg) < 2 * g.max_row_ub)
      lg++;
    g.hash_cap = (int64_t)1 << lg;
  }

  /* the reservation at the bound, or an exact count first */
  int64_t reserve = total_ub;
  if (sat_add(sat_mul(total_ub, 12), rowptr_bytes) > limit) {
    g.nslots = MIN(nslots, (int)MAX(g.nblocks, 1));
    run_slots(&g, g.nslots, count_slot);
    if (g.failed)
      goto oom;
    reserve = 0;
    for (int64_t i = 0; i < g.nrows; i++)
      reserve = sat_add(reserve, g.crowptr[i + 1]);
    if (g.counted > g.max_entries || sat_add(sat_mul(reserve, 12), rowptr_bytes) > limit) {
      reserve = MAX(reserve, g.counted);
      g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE,
                  "the product would have %s%" G_GINT64_FORMAT " nonzeros, beyond the memory limit of %" G_GINT64_FORMAT
                  " bytes",
                  g.counted > g.max_entries ? "more than " : "", reserve, limit);
      goto fail;
    }
  }

  /* partition */
  {
    int64_t target = nslots > 1 ? MAX(total_cost / ((int64_t)nslots * PARTS_PER_SLOT), MIN_PART_COST) : INT64_MAX;
    int64_t cap = 64;
    g.part_row = g_try_malloc((size_t)(cap + 1) * sizeof(int64_t));
    if (!g.part_row)
      goto oom;
    g.nparts = 0;
    int64_t cur_cost = 0, cur_ub = 0;
    g.part_row[0] = 0;
    for (int64_t i = 0; i < g.nrows; i++) {
      int64_t ub = g.crowptr[i + 1];
      int64_t cost = g.rflops[i] + (a->rowptr[i + 1] - a->rowptr[i]) + ROW_COST;
      if (i > g.part_row[g.nparts] && (cur_ub + ub > g.temp_cap || cur_cost >= target)) {
        if (g.nparts + 1 >= cap) {
          cap *= 2;
          int64_t *n = g_try_realloc(g.part_row, (size_t)(cap + 1) * sizeof(int64_t));
          if (!n)
            goto oom;
          g.part_row = n;
        }
        g.part_row[++g.nparts] = i;
        cur_cost = cur_ub = 0;
      }
      cur_cost += cost;
      cur_ub += ub;
    }
    if (g.nrows > 0)
      g.part_row[++g.nparts] = g.nrows;
  }
  g.prefix = g_try_malloc((size_t)MAX(g.nparts, 1) * sizeof(int64_t));
  /* + PAD: rows written straight into C may run PAD entries past their end (before the next part) */
  c->col = alloc_output((size_t)(reserve + PAD) * sizeof(int32_t));
  c->val = alloc_output((size_t)(reserve + PAD) * sizeof(double));
  if (!g.prefix || !c->col || !c->val)
    goto oom;
  for (int64_t p = 0; p < g.nparts; p++)
    g.prefix[p] = -1;
  g.ccol = c->col;
  g.cval = c->val;

  g.nslots = (int)MIN((int64_t)nslots, MAX(g.nparts, 1));
  if (g.nparts > 0)
    run_slots(&g, g.nslots, numeric_slot);
  if (g.nparts > 0 && __atomic_load_n(&g.prefix[g.nparts - 1], __ATOMIC_ACQUIRE) < 0)
    goto oom; /* no thread got its scratch memory */
  c->nnz = g.nparts > 0 ? g.prefix[g.nparts - 1] : 0;
  if (c->nnz < reserve) { /* give back the unused reservation (mremap for big blocks) */
    int32_t *nc = g_try_realloc(c->col, (size_t)MAX(c->nnz, 4) * sizeof(int32_t));
    double *nv = g_try_realloc(c->val, (size_t)MAX(c->nnz, 2) * sizeof(double));
    if (nc)
      c->col = nc;
    if (nv)
      c->val = nv;
  }
  g_free(g.rflops);
  g_free(g.part_row);
  g_free(g.prefix);
  if (stats) {
    stats->multiplies = total_flops;
    stats->nnz = c->nnz;
    stats->threads = MIN(nslots, pool);
    stats->seconds = now_seconds() - t0;
  }
  return c;

oom:
  g_set_error(error, FR_SPARSE_ERROR, FR_SPARSE_ERROR_TOO_LARGE,
              "out of memory multiplying %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT " by %" G_GINT64_FORMAT
              " x %" G_GINT64_FORMAT,
              a->nrows, a->ncols, b->nrows, b->ncols);
fail:
  g_free(g.rflops);
  g_free(g.part_row);
  g_free(g.prefix);
  fr_csr_free(c);
  return NULL;
}

/* ---- reference and counting --------------------------------------------------------------------- */

static int
cmp_i32(const void *x, const void *y)
{
  int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
  return (a > b) - (a < b);
}

FrCsr *
fr_spgemm_reference(const FrCsr *a, const FrCsr *b)
{
  g_return_val_if_fail(a != NULL && b != NULL, NULL);
  if (a->ncols != b->nrows)
    return NULL;
  int64_t nrows = a->nrows, ncols = b->ncols;
  double *acc = g_new0(double, MAX(ncols, 1));
  gboolean *seen = g_new0(gboolean, MAX(ncols, 1));
  int32_t *list = g_new(int32_t, MAX(ncols, 1));
  GArray *cols = g_array_new(FALSE, FALSE, sizeof(int32_t));
  GArray *vals = g_array_new(FALSE, FALSE, sizeof(double));
  int64_t *rowptr = g_new0(int64_t, nrows + 1);
  for (int64_t i = 0; i < nrows; i++) {
    int64_t n = 0;
    for (int64_t pa = a->rowptr[i]; pa < a->rowptr[i + 1]; pa++) {
      int32_t k = a->col[pa];
      for (int64_t pb = b->rowptr[k]; pb < b->rowptr[k + 1]; pb++) {
        int32_t j = b->col[pb];
        if (!seen[j]) {
          seen[j] = TRUE;
          list[n++] = j;
        }
        acc[j] += a->val[pa] * b->val[pb];
      }
    }
    qsort(list, (size_t)n, sizeof(int32_t), cmp_i32);
    for (int64_t q = 0; q < n; q++) {
      int32_t j = list[q];
      g_array_append_val(cols, j);
      g_array_append_val(vals, acc[j]);
      acc[j] = 0.0;
      seen[j] = FALSE;
    }
    rowptr[i + 1] = rowptr[i] + n;
  }
  FrCsr *c = fr_csr_new(nrows, ncols, rowptr[nrows], NULL);
  g_assert(c != NULL);
  memcpy(c->rowptr, rowptr, (size_t)(nrows + 1) * sizeof(int64_t));
  if (c->nnz > 0) {
    memcpy(c->col, cols->data, (size_t)c->nnz * sizeof(int32_t));
    memcpy(c->val, vals->data, (size_t)c->nnz * sizeof(double));
  }
  g_free(acc);
  g_free(seen);
  g_free(list);
  g_free(rowptr);
  g_array_free(cols, TRUE);
  g_array_free(vals, TRUE);
  return c;
}

int64_t
fr_spgemm_count_multiplies(const FrCsr *a, const FrCsr *b)
{
  g_return_val_if_fail(a != NULL && b != NULL, -1);
  if (a->ncols != b->nrows)
    return -1;
  int64_t *colcount = g_new0(int64_t, MAX(a->ncols, 1));
  for (int64_t p = 0; p < a->nnz; p++)
    colcount[a->col[p]]++;
  int64_t total = 0;
  for (int64_t k = 0; k < a->ncols; k++)
    total = sat_add(total, sat_mul(colcount[k], b->rowptr[k + 1] - b->rowptr[k]));
  g_free(colcount);
  return total;
}
