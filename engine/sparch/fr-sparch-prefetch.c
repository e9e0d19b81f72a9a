/* fr-sparch-prefetch.c: the row prefetcher. B lives in DRAM as CSR; its element array is cut into
 * lines of prefetch_line_bytes. A request for row k touches the lines covering that row's elements;
 * a line found in the buffer is a hit, otherwise it is fetched (a miss: line_bytes of B read) and
 * replaces a victim chosen by the policy:
 *   MIN: among resident lines, first those whose next use lies beyond the look-ahead window (oldest
 *        last use first), then the one whose next use is farthest (Belady within the window);
 *   LRU: the least recently used;
 *   NONE: no buffer; every request streams the row's bytes (misses count the lines it spans).
 * Both policies run on an indexed max-heap keyed by eviction priority: O(accesses * log(lines)). */
#include "fr-sparch-private.h"

#include <string.h>

#define NEVER INT64_MAX
#define OLD_BASE ((int64_t)1 << 62)  /* keys above this are "not used within the window" */

typedef struct {
  int32_t *heap;    /* line ids */
  int32_t *pos;     /* per line: index in heap, -1 if not resident */
  int64_t *key;     /* per line */
  int32_t n, cap;
} LineHeap;

static inline void lh_set(LineHeap *h, int32_t i, int32_t line) {
  h->heap[i] = line;
  h->pos[line] = i;
}

static void lh_up(LineHeap *h, int32_t i) {
  int32_t line = h->heap[i];
  int64_t k = h->key[line];
  while (i > 0) {
    int32_t p = (i - 1) / 2;
    if (h->key[h->heap[p]] >= k) break;
    lh_set(h, i, h->heap[p]);
    i = p;
  }
  lh_set(h, i, line);
}

static void lh_down(LineHeap *h, int32_t i) {
  int32_t line = h->heap[i];
  int64_t k = h->key[line];
  for (;;) {
    int32_t c = 2 * i + 1;
    if (c >= h->n) break;
    if (c + 1 < h->n && h->key[h->heap[c + 1]] > h->key[h->heap[c]]) c++;
    if (h->key[h->heap[c]] <= k) break;
    lh_set(h, i, h->heap[c]);
    i = c;
  }
  lh_set(h, i, line);
}

static void lh_update(LineHeap *h, int32_t line, int64_t key) {
  int64_t old = h->key[line];
  h->key[line] = key;
  if (key > old) lh_up(h, h->pos[line]);
  else lh_down(h, h->pos[line]);
}

static int32_t lh_pop(LineHeap *h) {
  int32_t top = h->heap[0];
  h->pos[top] = -1;
  h->n--;
  if (h->n > 0) {
    lh_set(h, 0, h->heap[h->n]);
    lh_down(h, 0);
  }
  return top;
}

static void lh_push(LineHeap *h, int32_t line, int64_t key) {
  h->key[line] = key;
  lh_set(h, h->n++, line);
  lh_up(h, h->n - 1);
}

void fr_sp_prefetch_run(const FrCsr *b, const FrSparchConfig *cfg, const int32_t *requests, int64_t n_requests,
                        const int64_t *round_start, int64_t n_rounds, int64_t *round_b_read, FrSparchTrace *trace,
                        FrSpPrefetchOut *out) {
  memset(out, 0, sizeof *out);
  const int64_t e = cfg->element_bytes, L = cfg->prefetch_line_bytes;
  /* round of each request, via round_start */
  int64_t r = 0;
  #define ROUND_OF(q) /* advances r monotonically */ \
    while (r + 1 < n_rounds && round_start[r + 1] <= (q)) r++
  int64_t bin_req = trace ? trace->bin_requests : 0;

  if (cfg->prefetch == FR_SPARCH_PREFETCH_NONE) {
    for (int64_t q = 0; q < n_requests; q++) {
      ROUND_OF(q);
      int64_t k = requests[q];
      int64_t s = b->rowptr[k], t = b->rowptr[k + 1];
      if (t == s) continue;
      int64_t bytes = (t - s) * e;
      int64_t lines = (t * e - 1) / L - (s * e) / L + 1;
      out->misses += lines;
      out->b_read += bytes;
      round_b_read[r] += bytes;
      if (trace && bin_req) trace->bin_misses[q / bin_req] += lines;
    }
    return;
  }

  /* request q touches lines lo(q) .. hi(q); its accesses are numbered from req_first[q] */
  #define LINE_LO(q) ((b->rowptr[requests[q]] * e) / L)
  #define LINE_HI(q) ((b->rowptr[requests[q] + 1] * e - 1) / L)
  #define ROW_EMPTY(q) (b->rowptr[requests[q] + 1] == b->rowptr[requests[q]])
  int64_t n_lines = (b->nnz * e + L - 1) / L + 1;
  int64_t *req_first = g_new(int64_t, n_requests + 1);
  int64_t n_acc = 0;
  for (int64_t q = 0; q < n_requests; q++) {
    req_first[q] = n_acc;
    if (!ROW_EMPTY(q)) n_acc += LINE_HI(q) - LINE_LO(q) + 1;
  }
  req_first[n_requests] = n_acc;

  gboolean use_min = cfg->prefetch == FR_SPARCH_PREFETCH_MIN;
  /* distance (in requests) to the next use of the same line; UINT32_MAX: none, or too far to matter */
  uint32_t *next_d = NULL;
  if (use_min) {
    next_d = g_new(uint32_t, n_acc > 0 ? n_acc : 1);
    int64_t *last = g_new(int64_t, n_lines);
    for (int64_t l = 0; l < n_lines; l++) last[l] = NEVER;
    for (int64_t q = n_requests - 1; q >= 0; q--) {
      if (ROW_EMPTY(q)) continue;
      int64_t lo = LINE_LO(q), hi = LINE_HI(q);
      for (int64_t l = lo; l <= hi; l++) {
        int64_t nx = last[l];
        next_d[req_first[q] + (l - lo)] = (nx == NEVER || nx - q >= UINT32_MAX) ? UINT32_MAX : (uint32_t)(nx - q);
        last[l] = q;
      }
    }
    g_free(last);
  }

  LineHeap h;
  int64_t cap = cfg->prefetch_buffer_bytes / L;
  if (cap < 1) cap = 1;
  if (cap > n_lines) cap = n_lines;
  h.cap = (int32_t)cap;
  h.n = 0;
  h.heap = g_new(int32_t, h.cap);
  h.pos = g_new(int32_t, n_lines);
  memset(h.pos, 0xff, (size_t)n_lines * sizeof(int32_t));
  h.key = g_new0(int64_t, n_lines);
  int64_t *pending = use_min ? g_new(int64_t, n_lines) : NULL; /* request of the resident line's next use */
  const int64_t W = cfg->lookahead;

  r = 0;
  for (int64_t q = 0; q < n_requests; q++) {
    ROUND_OF(q);
    /* lines whose next use is request q + W come into view now */
    if (use_min && W > 0 && q + W < n_requests && !ROW_EMPTY(q + W)) {
      int64_t lo = LINE_LO(q + W), hi = LINE_HI(q + W);
      for (int64_t l = lo; l <= hi; l++)
        if (h.pos[l] >= 0 && pending[l] == q + W) lh_update(&h, (int32_t)l, q + W);
    }
    if (ROW_EMPTY(q)) continue;
    int64_t hits = 0, misses = 0, lo = LINE_LO(q), hi = LINE_HI(q);
    for (int64_t l = lo; l <= hi; l++) {
      int32_t line = (int32_t)l;
      int64_t key;
      if (use_min) {
        uint32_t d = next_d[req_first[q] + (l - lo)];
        int64_t nx = d == UINT32_MAX ? NEVER : q + d;
        key = (nx != NEVER && (int64_t)d <= W) ? nx : OLD_BASE + (n_requests - q);
        pending[line] = nx;
      } else {
        key = OLD_BASE + (n_requests - q);
      }
      if (h.pos[line] >= 0) {
        hits++;
        lh_update(&h, line, key);
      } else {
        misses++;
        if (h.n == h.cap) lh_pop(&h);
        lh_push(&h, line, key);
      }
    }
    out->hits += hits;
    out->misses += misses;
    round_b_read[r] += misses * L;
    if (trace && bin_req) {
      trace->bin_hits[q / bin_req] += hits;
      trace->bin_misses[q / bin_req] += misses;
    }
  }
  out->b_read = out->misses * L;
  #undef ROUND_OF
  g_free(h.heap);
  g_free(h.pos);
  g_free(h.key);
  g_free(pending);
  g_free(next_d);
  g_free(req_first);
  #undef LINE_LO
  #undef LINE_HI
  #undef ROW_EMPTY
}
