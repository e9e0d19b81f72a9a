/* fr-lsra-data.c: a parallel TSV encoded with the joint BPE, token batches and padded batches
 * (fr-lsra-data.h). */
#include "fr-lsra-data.h"
#include "fr-pool.h"
#include "fr-rng.h"

#include <stdlib.h>
#include <string.h>

struct FrLsraData {
  GArray *ids;      /* int32: source then target of pair 0, then pair 1, ... */
  GArray *off;      /* int64, 2n + 1: pair i's source is [off[2i], off[2i+1]), its target [off[2i+1], off[2i+2]) */
  FrLsraDataStats stats;
};

typedef struct {
  const char *en, *de;
  int en_len, de_len;
} Line;

#define BLOCK 512   /* lines encoded by one task */

typedef struct {
  GArray *ids;      /* the block's ids, source then target per line */
  int *slen, *tlen; /* per line */
} Block;

typedef struct {
  const FrLsraBpe *bpe;
  const Line *lines;
  int first, n;      /* lines [first, first + n) of this wave */
  Block *blocks;
} EncodeCtx;

static void encode_blocks(void *data, int64_t begin, int64_t end) {
  EncodeCtx *c = data;
  for (int64_t k = begin; k < end; k++) {
    Block *b = &c->blocks[k];
    int lo = c->first + (int)k * BLOCK, hi = MIN(lo + BLOCK, c->first + c->n);
    b->ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
    b->slen = g_new(int, hi - lo);
    b->tlen = g_new(int, hi - lo);
    for (int i = lo; i < hi; i++) {
      const Line *l = &c->lines[i];
      GArray *s = fr_lsra_bpe_encode(c->bpe, l->en, l->en_len);
      GArray *t = fr_lsra_bpe_encode(c->bpe, l->de, l->de_len);
      b->slen[i - lo] = (int)s->len;
      b->tlen[i - lo] = (int)t->len;
      g_array_append_vals(b->ids, s->data, s->len);
      g_array_append_vals(b->ids, t->data, t->len);
      g_array_unref(s);
      g_array_unref(t);
    }
  }
}

static gboolean split_lines(const char *text, gsize len, const char *name, GArray *lines, gint64 *n_lines,
                            GError **error) {
  const char *p = text, *end = text + len;
  gint64 lineno = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    lineno++;
    const char *q = e;
    if (q > p && q[-1] == '\r') q--;
    gboolean blank = TRUE;
    for (const char *r = p; r < q && blank; r++)
      if (*r != ' ' && *r != '\t') blank = FALSE;
    if (!blank) {
      const char *tab = memchr(p, '\t', (size_t)(q - p));
      if (!tab || memchr(tab + 1, '\t', (size_t)(q - tab - 1))) {
        g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID,
                    "%s: line %" G_GINT64_FORMAT ": expected English<TAB>German (%s TAB)", name, lineno,
                    tab ? "more than one" : "no");
        return FALSE;
      }
      if (q - p > G_MAXINT / 2) {
        g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "%s: line %" G_GINT64_FORMAT " is too long", name,
                    lineno);
        return FALSE;
      }
      Line l = { p, tab + 1, (int)(tab - p), (int)(q - tab - 1) };
      g_array_append_val(lines, l);
    }
    p = nl ? nl + 1 : end;
  }
  *n_lines = lines->len;
  return TRUE;
}

FrLsraData *fr_lsra_data_from_text(const FrLsraBpe *bpe, const char *text, gsize len, const char *name, int limit,
                                   GError **error) {
  gint64 t0 = g_get_monotonic_time();
  GArray *lines = g_array_new(FALSE, FALSE, sizeof(Line));
  FrLsraData *d = g_new0(FrLsraData, 1);
  d->ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  d->off = g_array_new(FALSE, FALSE, sizeof(gint64));
  gint64 zero = 0;
  g_array_append_val(d->off, zero);
  if (!split_lines(text, len, name, lines, &d->stats.lines, error)) {
    g_array_unref(lines);
    fr_lsra_data_free(d);
    return NULL;
  }
  const int n_lines = (int)lines->len;
  /* waves of lines, so that a small limit does not encode the whole file */
  int wave = limit > 0 ? MAX(4 * BLOCK, limit + limit / 4) : MAX(n_lines, 1);
  const int max_len = FR_LSRA_MAX_TOKENS - 1;
  for (int first = 0; first < n_lines && !(limit > 0 && d->stats.kept >= limit); first += wave) {
    EncodeCtx c = { bpe, (const Line *)(void *)lines->data, first, MIN(wave, n_lines - first), NULL };
    int n_blocks = (c.n + BLOCK - 1) / BLOCK;
    c.blocks = g_new0(Block, n_blocks);
    fr_parallel_for(n_blocks, 1, encode_blocks, &c);
    for (int k = 0; k < n_blocks; k++) {
      Block *b = &c.blocks[k];
      const int32_t *ids = (const int32_t *)(void *)b->ids->data;
      int m = MIN(BLOCK, c.n - k * BLOCK);
      for (int i = 0; i < m; i++) {
        int sl = b->slen[i], tl = b->tlen[i];
        const int32_t *pair = ids;
        ids += sl + tl;
        if (limit > 0 && d->stats.kept >= limit) break;
        if (sl == 0 || tl == 0) {
          d->stats.empty++;
          continue;
        }
        if (sl > max_len || tl > max_len) {
          d->stats.too_long++;
          continue;
        }
        g_array_append_vals(d->ids, pair, (guint)(sl + tl));
        gint64 o = g_array_index(d->off, gint64, d->off->len - 1);
        gint64 os = o + sl, ot = os + tl;
        g_array_append_val(d->off, os);
        g_array_append_val(d->off, ot);
        d->stats.kept++;
        d->stats.src_tokens += sl;
        d->stats.tgt_tokens += tl;
      }
      g_array_unref(b->ids);
      g_free(b->slen);
      g_free(b->tlen);
    }
    g_free(c.blocks);
  }
  g_array_unref(lines);
  d->stats.seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
  if (d->stats.kept == 0) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID,
                "%s: no usable sentence pairs (%" G_GINT64_FORMAT " lines, %" G_GINT64_FORMAT " with an empty side, %"
                G_GINT64_FORMAT " longer than %d tokens)",
                name, d->stats.lines, d->stats.empty, d->stats.too_long, max_len);
    fr_lsra_data_free(d);
    return NULL;
  }
  return d;
}

FrLsraData *fr_lsra_data_load(const FrLsraBpe *bpe, const char *path, int limit, GError **error) {
  char *text = NULL;
  gsize len = 0;
  GError *e = NULL;
  if (!g_file_get_contents(path, &text, &len, &e)) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_IO, "%s", e->message);
    g_error_free(e);
    return NULL;
  }
  FrLsraData *d = fr_lsra_data_from_text(bpe, text, len, path, limit, error);
  g_free(text);
  return d;
}

void fr_lsra_data_free(FrLsraData *d) {
  if (!d) return;
  g_array_unref(d->ids);
  g_array_unref(d->off);
  g_free(d);
}

int fr_lsra_data_len(const FrLsraData *d) { return (int)(d->off->len / 2); }
const FrLsraDataStats *fr_lsra_data_stats(const FrLsraData *d) { return &d->stats; }

static const int32_t *span(const FrLsraData *d, int k, int *len) {
  gint64 a = g_array_index(d->off, gint64, k), b = g_array_index(d->off, gint64, k + 1);
  *len = (int)(b - a);
  return (const int32_t *)(void *)d->ids->data + a;
}

const int32_t *fr_lsra_data_src(const FrLsraData *d, int i, int *len) { return span(d, 2 * i, len); }
const int32_t *fr_lsra_data_tgt(const FrLsraData *d, int i, int *len) { return span(d, 2 * i + 1, len); }

guint64 fr_lsra_data_fingerprint(const FrLsraData *d) {
  guint64 h = 1469598103934665603ull;
  const guint8 *p = (const guint8 *)d->ids->data;
  for (gsize i = 0; i < (gsize)d->ids->len * sizeof(int32_t); i++) h = (h ^ p[i]) * 1099511628211ull;
  p = (const guint8 *)d->off->data;
  for (gsize i = 0; i < (gsize)d->off->len * sizeof(gint64); i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* ---- batches ---- */

struct FrLsraBatches {
  int n_batches;
  int *pairs;       /* all pair indices in length order */
  int *start;       /* n_batches + 1: batch k is pairs[start[k] .. start[k+1]) */
  guint64 seed;
  gint64 order_epoch;
  int *order;       /* the cached epoch's permutation */
};

typedef struct { int s, t, rnd, idx; } Key;

static int key_cmp(const void *a, const void *b) {
  const Key *x = a, *y = b;
  if (x->s != y->s) return x->s < y->s ? -1 : 1;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return x->rnd < y->rnd ? -1 : x->rnd > y->rnd;
}

FrLsraBatches *fr_lsra_batches_new(const FrLsraData *d, int max_tokens, guint64 seed, GError **error) {
  if (max_tokens < FR_LSRA_MAX_TOKENS || max_tokens > (1 << 24)) {
    g_set_error(error, FR_LSRA_ERROR, FR_LSRA_ERROR_INVALID, "max tokens per batch must be %d..%d, not %d",
                FR_LSRA_MAX_TOKENS, 1 << 24, max_tokens);
    return NULL;
  }
  const int n = fr_lsra_data_len(d);
  /* the random tie-break: a permutation drawn from the seed */
  int *rnd = g_new(int, n);
  for (int i = 0; i < n; i++) rnd[i] = i;
  FrRng rng;
  fr_rng_seed(&rng, seed * 0x9E3779B97F4A7C15ull + 0x5851F42D4C957F2Dull);
  fr_rng_shuffle_int(&rng, rnd, n);
  Key *keys = g_new(Key, n);
  for (int i = 0; i < n; i++) {
    int sl, tl;
    fr_lsra_data_src(d, i, &sl);
    fr_lsra_data_tgt(d, i, &tl);
    keys[i] = (Key){ sl + 1, tl + 1, rnd[i], i };
  }
  g_free(rnd);
  qsort(keys, (size_t)n, sizeof(Key), key_cmp);
  FrLsraBatches *b = g_new0(FrLsraBatches, 1);
  b->pairs = g_new(int, n);
  GArray *start = g_array_new(FALSE, FALSE, sizeof(int));
  int zero = 0, len = 0, count = 0;
  g_array_append_val(start, zero);
  for (int i = 0; i < n; i++) {
    b->pairs[i] = keys[i].idx;
    int need = MAX(keys[i].s, keys[i].t);
    int longest = MAX(len, need);
    if (count > 0 && (gint64)(count + 1) * longest > max_tokens) {
      g_array_append_val(start, i);
      count = 0;
      longest = need;
    }
    len = longest;
    count++;
  }
  g_array_append_val(start, n);
  g_free(keys);
  b->n_batches = (int)start->len - 1;
  b->start = (int *)(void *)g_array_free(start, FALSE);
  b->seed = seed;
  b->order_epoch = -1;
  b->order = g_new(int, b->n_batches);
  return b;
}

void fr_lsra_batches_free(FrLsraBatches *b) {
  if (!b) return;
  g_free(b->pairs);
  g_free(b->start);
  g_free(b->order);
  g_free(b);
}

int fr_lsra_batches_len(const FrLsraBatches *b) { return b->n_batches; }

const int *fr_lsra_batches_get(const FrLsraBatches *b, int k, int *n) {
  g_return_val_if_fail(k >= 0 && k < b->n_batches, NULL);
  *n = b->start[k + 1] - b->start[k];
  return b->pairs + b->start[k];
}

int fr_lsra_batches_at(FrLsraBatches *b, gint64 epoch, int index) {
  g_return_val_if_fail(index >= 0 && index < b->n_batches && epoch >= 0, 0);
  if (epoch != b->order_epoch) {
    FrRng rng;
    fr_rng_seed(&rng, (b->seed + 1) * 0xD1B54A32D192ED03ull ^ ((guint64)epoch * 0x8CB92BA72F3D8DD7ull + 1));
    for (int i = 0; i < b->n_batches; i++) b->order[i] = i;
    fr_rng_shuffle_int(&rng, b->order, b->n_batches);
    b->order_epoch = epoch;
  }
  return b->order[index];
}

/* ---- padded batches ---- */

FrLsraBatch *fr_lsra_batch_new(const FrLsraData *d, const int *pairs, int n) {
  g_return_val_if_fail(n > 0, NULL);
  int S = 0, T = 0;
  for (int i = 0; i < n; i++) {
    int sl, tl;
    fr_lsra_data_src(d, pairs[i], &sl);
    fr_lsra_data_tgt(d, pairs[i], &tl);
    S = MAX(S, sl + 1);
    T = MAX(T, tl + 1);
  }
  size_t head = (sizeof(FrLsraBatch) + 15) & ~(size_t)15;
  size_t ints = (size_t)n * S + (size_t)n + 2 * (size_t)n * T;
  char *mem = g_malloc0(head + ints * sizeof(int32_t));
  FrLsraBatch *b = (FrLsraBatch *)(void *)mem;
  int32_t *src = (int32_t *)(void *)(mem + head), *src_len = src + (size_t)n * S, *tgt_in = src_len + n,
          *tgt_out = tgt_in + (size_t)n * T;
  for (int i = 0; i < n; i++) {
    int sl, tl;
    const int32_t *s = fr_lsra_data_src(d, pairs[i], &sl), *t = fr_lsra_data_tgt(d, pairs[i], &tl);
    int32_t *sr = src + (size_t)i * S, *ti = tgt_in + (size_t)i * T, *to = tgt_out + (size_t)i * T;
    memcpy(sr, s, sizeof(int32_t) * (size_t)sl);
    sr[sl] = FR_LSRA_BPE_EOS;
    src_len[i] = sl + 1;
    ti[0] = FR_LSRA_BPE_EOS;
    memcpy(ti + 1, t, sizeof(int32_t) * (size_t)tl);
    memcpy(to, t, sizeof(int32_t) * (size_t)tl);
    to[tl] = FR_LSRA_BPE_EOS;
  }
  *b = (FrLsraBatch){ .B = n, .S = S, .T = T, .src = src, .src_len = src_len, .tgt_in = tgt_in, .tgt_out = tgt_out };
  return b;
}

void fr_lsra_batch_free(FrLsraBatch *b) { g_free(b); }

gint64 fr_lsra_batch_tgt_tokens(const FrLsraBatch *b) {
  gint64 n = 0;
  for (gint64 i = 0; i < (gint64)b->B * b->T; i++) n += b->tgt_out[i] != FR_LSRA_BPE_PAD;
  return n;
}

gint64 fr_lsra_batch_src_tokens(const FrLsraBatch *b) {
  gint64 n = 0;
  for (int i = 0; i < b->B; i++) n += b->src_len[i];
  return n;
}
