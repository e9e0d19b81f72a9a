/* fr-sparch-huffman.c: merge schedules. The naive order merges partial matrices in index order in
 * groups of `ways`; the Huffman scheduler is a `ways`-ary Huffman tree over the matrices' sizes. */
#include "fr-sparch-private.h"

/* ---- naive order ---- */

typedef struct {
  int64_t *items;
  int64_t n;
} Level;

static void emit_round(FrSpNaive *s, GArray *offs, GArray *items, const int64_t *in, int64_t n) {
  g_array_append_vals(items, in, (guint)n);
  int64_t end = items->len;
  g_array_append_val(offs, end);
  s->n_rounds++;
}

void fr_sp_naive_build(FrSpNaive *s, int64_t n_leaves, int ways) {
  s->n_rounds = 0;
  GArray *offs = g_array_new(FALSE, FALSE, sizeof(int64_t));
  GArray *items = g_array_new(FALSE, FALSE, sizeof(int64_t));
  int64_t zero = 0;
  g_array_append_val(offs, zero);
  if (n_leaves == 1) {
    emit_round(s, offs, items, &zero, 1);
  } else if (n_leaves > 1) {
    /* levels[l] holds the pending items of level l; a full level is merged at once (depth first), so
     * the grouping equals level-by-level grouping in index order */
    int max_levels = 2;
    for (int64_t x = n_leaves; x > 1; x = (x + ways - 1) / ways) max_levels++;
    Level *lv = g_new0(Level, max_levels);
    for (int l = 0; l < max_levels; l++) lv[l].items = g_new(int64_t, ways);
    for (int64_t leaf = 0; leaf < n_leaves; leaf++) {
      lv[0].items[lv[0].n++] = leaf;
      for (int l = 0; lv[l].n == ways; l++) {
        emit_round(s, offs, items, lv[l].items, ways);
        lv[l].n = 0;
        lv[l + 1].items[lv[l + 1].n++] = -1 - (s->n_rounds - 1);
      }
    }
    /* flush: a partial group of >= 2 is merged, a group of one passes up */
    for (int l = 0; l < max_levels - 1; l++) {
      gboolean above = FALSE;
      for (int u = l + 1; u < max_levels; u++)
        if (lv[u].n) above = TRUE;
      if (lv[l].n == 0) continue;
      if (lv[l].n == 1 && !above) break; /* the result */
      if (lv[l].n == 1) {
        lv[l + 1].items[lv[l + 1].n++] = lv[l].items[0];
      } else {
        emit_round(s, offs, items, lv[l].items, lv[l].n);
        lv[l + 1].items[lv[l + 1].n++] = -1 - (s->n_rounds - 1);
      }
      lv[l].n = 0;
      for (int u = l + 1; u < max_levels - 1 && lv[u].n == ways; u++) {
        emit_round(s, offs, items, lv[u].items, ways);
        lv[u].n = 0;
        lv[u + 1].items[lv[u + 1].n++] = -1 - (s->n_rounds - 1);
      }
    }
    for (int l = 0; l < max_levels; l++) g_free(lv[l].items);
    g_free(lv);
  }
  s->offsets = (int64_t *)g_array_free(offs, FALSE);
  s->items = (int64_t *)g_array_free(items, FALSE);
}

void fr_sp_naive_clear(FrSpNaive *s) {
  g_free(s->offsets);
  g_free(s->items);
  s->offsets = s->items = NULL;
  s->n_rounds = 0;
}

int64_t fr_sp_naive_rounds(int64_t n, int ways) {
  FrSpNaive s;
  fr_sp_naive_build(&s, n, ways);
  int64_t r = s.n_rounds;
  fr_sp_naive_clear(&s);
  return r;
}

/* ---- Huffman ---- */

int64_t fr_sp_huffman_first(int64_t n, int ways) {
  if (n <= ways) return n;
  return (n - 2) % (ways - 1) + 2;
}

int64_t fr_sp_huffman_rounds(int64_t n, int ways) {
  if (n <= 0) return 0;
  if (n <= ways) return 1;
  int64_t first = fr_sp_huffman_first(n, ways);
  return 1 + (n - first) / (ways - 1);
}

static inline gboolean item_less(FrSpItem a, FrSpItem b) {
  return a.size < b.size || (a.size == b.size && a.id < b.id);
}

void fr_sp_heap_init(FrSpHeap *h, int64_t cap) {
  h->cap = cap > 0 ? cap : 1;
  h->n = 0;
  h->heap = g_new(FrSpItem, h->cap);
}

void fr_sp_heap_push(FrSpHeap *h, FrSpItem it) {
  if (h->n == h->cap) {
    h->cap *= 2;
    h->heap = g_renew(FrSpItem, h->heap, h->cap);
  }
  int64_t i = h->n++;
  while (i > 0) {
    int64_t p = (i - 1) / 2;
    if (!item_less(it, h->heap[p])) break;
    h->heap[i] = h->heap[p];
    i = p;
  }
  h->heap[i] = it;
}

FrSpItem fr_sp_heap_pop(FrSpHeap *h) {
  FrSpItem top = h->heap[0];
  FrSpItem last = h->heap[--h->n];
  int64_t i = 0;
  for (;;) {
    int64_t c = 2 * i + 1;
    if (c >= h->n) break;
    if (c + 1 < h->n && item_less(h->heap[c + 1], h->heap[c])) c++;
    if (!item_less(h->heap[c], last)) break;
    h->heap[i] = h->heap[c];
    i = c;
  }
  if (h->n > 0) h->heap[i] = last;
  return top;
}

void fr_sp_heap_clear(FrSpHeap *h) {
  g_free(h->heap);
  h->heap = NULL;
  h->n = h->cap = 0;
}
