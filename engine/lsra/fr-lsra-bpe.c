/* fr-lsra-bpe.c: the BPE model: its piece tables, encoding and decoding.
 *
 * Encoding is sentencepiece's: a word starts as its characters, and the adjacent pair whose
 * concatenation is a piece with the lowest id (the earliest merge) is merged, leftmost first, until
 * no pair is a piece. The pair table holds every split of every piece, not just the one that made
 * it while learning, because sentencepiece looks pieces up by their text. A heap keeps a very long
 * word at O(n log n). */
#include "fr-lsra-bpe-private.h"

#include <string.h>

G_DEFINE_QUARK(fr-lsra-bpe-error-quark, fr_lsra_bpe_error)

static const char *const special_names[FR_LSRA_BPE_N_SPECIAL] = { "<pad>", "<unk>", "<s>", "</s>" };

void fr_lsra_bpe_config_init(FrLsraBpeConfig *cfg) {
  cfg->vocab_size = 8000;
  cfg->character_coverage = 0.9995;
  cfg->max_piece_length = 16;
  cfg->split_by_script = TRUE;
  cfg->max_sentence_bytes = 4192;
}

void fr_lsra_bpe_free(FrLsraBpe *bpe) {
  if (!bpe) return;
  g_ptr_array_unref(bpe->pieces);
  g_hash_table_destroy(bpe->ids);
  fr_lsra_u64map_clear(&bpe->merges);
  g_free(bpe);
}

int fr_lsra_bpe_vocab_size(const FrLsraBpe *bpe) { return (int)bpe->pieces->len; }
int fr_lsra_bpe_n_merges(const FrLsraBpe *bpe) { return bpe->n_merges; }
const FrLsraBpeConfig *fr_lsra_bpe_config(const FrLsraBpe *bpe) { return &bpe->cfg; }

const char *fr_lsra_bpe_piece(const FrLsraBpe *bpe, int id) {
  return id >= 0 && id < (int)bpe->pieces->len ? bpe->pieces->pdata[id] : NULL;
}

int fr_lsra_bpe_piece_to_id(const FrLsraBpe *bpe, const char *piece) {
  int v = GPOINTER_TO_INT(g_hash_table_lookup(bpe->ids, piece));
  return v ? v - 1 : FR_LSRA_BPE_UNK;
}

/* The id of the piece s[0..n), or -1. Pieces are at most 256 characters, so 1 KiB holds any. */
static int lookup_n(const FrLsraBpe *bpe, const char *s, gsize n) {
  char key[4 * 256 + 1];
  if (n >= sizeof key) return -1;
  memcpy(key, s, n);
  key[n] = '\0';
  return GPOINTER_TO_INT(g_hash_table_lookup(bpe->ids, key)) - 1;
}

FrLsraBpe *fr_lsra_bpe_new_from_pieces(const FrLsraBpeConfig *cfg, GPtrArray *pieces, int *bad, GError **error) {
  FrLsraBpe *bpe = g_new0(FrLsraBpe, 1);
  bpe->cfg = *cfg;
  bpe->pieces = pieces;
  g_ptr_array_set_free_func(pieces, g_free);
  bpe->ids = g_hash_table_new(g_str_hash, g_str_equal);
  fr_lsra_u64map_init(&bpe->merges);
  *bad = -1;
  int n = (int)pieces->len;
  if (n < FR_LSRA_BPE_N_SPECIAL) {
    g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE, "%d pieces: the 4 specials are missing", n);
    goto fail;
  }
  for (int id = 0; id < FR_LSRA_BPE_N_SPECIAL; id++) {
    if (strcmp(pieces->pdata[id], special_names[id]) != 0) {
      g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE, "piece %d must be %s", id, special_names[id]);
      *bad = id;
      goto fail;
    }
  }
  for (int id = FR_LSRA_BPE_N_SPECIAL; id < n; id++) {
    const char *p = pieces->pdata[id];
    glong nc = 0;
    gunichar *chars = g_utf8_validate(p, -1, NULL) ? g_utf8_to_ucs4_fast(p, -1, &nc) : NULL;
    gboolean ok = chars && fr_lsra_bpe_piece_allowed(cfg, chars, (int)nc);
    g_free(chars);
    if (!ok || g_hash_table_contains(bpe->ids, p)) {
      g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE, "piece %d is %s", id,
                  ok ? "a duplicate" : "not allowed (bad UTF-8, whitespace, marker inside, too long or mixed scripts)");
      *bad = id;
      goto fail;
    }
    g_hash_table_insert(bpe->ids, (gpointer)p, GINT_TO_POINTER(id + 1));
    if (nc > 1) bpe->n_merges++;
  }
  /* every split of every piece into two pieces; one of them must use earlier pieces or characters,
   * as learning made it */
  for (int id = FR_LSRA_BPE_N_SPECIAL; id < n; id++) {
    const char *p = pieces->pdata[id];
    if (!*g_utf8_next_char(p)) continue; /* a character */
    gboolean formed = FALSE;
    gsize len = strlen(p);
    for (const char *q = g_utf8_next_char(p); *q; q = g_utf8_next_char(q)) {
      int a = lookup_n(bpe, p, (gsize)(q - p)), b = lookup_n(bpe, q, len - (gsize)(q - p));
      if (a < 0 || b < 0) continue;
      fr_lsra_u64map_set(&bpe->merges, fr_lsra_pair_key(a, b), id);
      gboolean a_early = a < id || !*g_utf8_next_char((const char *)pieces->pdata[a]);
      gboolean b_early = b < id || !*g_utf8_next_char((const char *)pieces->pdata[b]);
      formed = formed || (a_early && b_early);
    }
    if (!formed) {
      g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_PARSE,
                  "piece %d cannot be made from two earlier pieces or characters", id);
      *bad = id;
      goto fail;
    }
  }
  return bpe;
fail:
  fr_lsra_bpe_free(bpe);
  return NULL;
}

/* ---- encoding ------------------------------------------------------------------------------- */

typedef struct {
  gint32 rank, left, right;
} Cand;

typedef struct {
  const FrLsraBpe *bpe;
  GArray *out;
  GArray *ids, *prev, *next; /* gint32 scratch, per word */
  GArray *heap;              /* Cand */
} Encoder;

static gboolean cand_before(const Cand *x, const Cand *y) {
  return x->rank < y->rank || (x->rank == y->rank && x->left < y->left);
}

static void heap_push(GArray *h, Cand c) {
  g_array_append_val(h, c);
  Cand *a = (Cand *)(void *)h->data;
  for (guint i = h->len - 1; i > 0;) {
    guint p = (i - 1) / 2;
    if (!cand_before(&a[i], &a[p])) break;
    Cand t = a[i];
    a[i] = a[p];
    a[p] = t;
    i = p;
  }
}

static Cand heap_pop(GArray *h) {
  Cand *a = (Cand *)(void *)h->data, top = a[0];
  a[0] = a[h->len - 1];
  g_array_set_size(h, h->len - 1);
  for (guint i = 0, n = h->len;;) {
    guint l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && cand_before(&a[l], &a[m])) m = l;
    if (r < n && cand_before(&a[r], &a[m])) m = r;
    if (m == i) break;
    Cand t = a[i];
    a[i] = a[m];
    a[m] = t;
    i = m;
  }
  return top;
}

static gint32 merged_id(const FrLsraBpe *bpe, gint32 a, gint32 b) {
  if (a < FR_LSRA_BPE_N_SPECIAL || b < FR_LSRA_BPE_N_SPECIAL) return -1; /* <unk> and dead slots */
  return fr_lsra_u64map_get(&bpe->merges, fr_lsra_pair_key(a, b));
}

static void maybe_push(Encoder *e, gint32 left, gint32 right) {
  if (left < 0 || right < 0) return;
  gint32 *ids = (gint32 *)(void *)e->ids->data;
  gint32 m = merged_id(e->bpe, ids[left], ids[right]);
  if (m >= 0) heap_push(e->heap, (Cand){ m, left, right });
}

static void emit(Encoder *e, gint32 id) {
  /* a run of unknown characters is one <unk>, as in sentencepiece */
  if (id == FR_LSRA_BPE_UNK && e->out->len && g_array_index(e->out, gint32, e->out->len - 1) == FR_LSRA_BPE_UNK) return;
  g_array_append_val(e->out, id);
}

static void encode_word(const char *word, gsize len, gpointer data) {
  Encoder *e = data;
  g_array_set_size(e->ids, 0);
  gint32 id = lookup_n(e->bpe, FR_LSRA_BPE_MARKER_UTF8, 3);
  id = id < 0 ? FR_LSRA_BPE_UNK : id;
  g_array_append_val(e->ids, id);
  for (const char *p = word; p < word + len; p = g_utf8_next_char(p)) {
    id = lookup_n(e->bpe, p, (gsize)(g_utf8_next_char(p) - p));
    id = id < 0 ? FR_LSRA_BPE_UNK : id;
    g_array_append_val(e->ids, id);
  }
  gint32 n = (gint32)e->ids->len;
  g_array_set_size(e->prev, (guint)n);
  g_array_set_size(e->next, (guint)n);
  gint32 *ids = (gint32 *)(void *)e->ids->data, *prev = (gint32 *)(void *)e->prev->data,
         *next = (gint32 *)(void *)e->next->data;
  for (gint32 i = 0; i < n; i++) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  g_array_set_size(e->heap, 0);
  for (gint32 i = 0; i + 1 < n; i++) maybe_push(e, i, i + 1);
  while (e->heap->len) {
    Cand c = heap_pop(e->heap);
    /* stale when either side has been merged away or changed since the candidate was pushed */
    if (next[c.left] != c.right || ids[c.right] < 0 || merged_id(e->bpe, ids[c.left], ids[c.right]) != c.rank) continue;
    ids[c.left] = c.rank;
    ids[c.right] = -1;
    next[c.left] = next[c.right];
    if (next[c.left] >= 0) prev[next[c.left]] = c.left;
    maybe_push(e, prev[c.left], c.left);
    maybe_push(e, c.left, next[c.left]);
  }
  for (gint32 i = 0; i >= 0; i = next[i]) emit(e, ids[i]);
}

GArray *fr_lsra_bpe_encode(const FrLsraBpe *bpe, const char *text, gssize len) {
  Encoder e = {
    .bpe = bpe,
    .out = g_array_new(FALSE, FALSE, sizeof(gint32)),
    .ids = g_array_new(FALSE, FALSE, sizeof(gint32)),
    .prev = g_array_new(FALSE, FALSE, sizeof(gint32)),
    .next = g_array_new(FALSE, FALSE, sizeof(gint32)),
    .heap = g_array_new(FALSE, FALSE, sizeof(Cand)),
  };
  char *norm = fr_lsra_bpe_normalize(text ? text : "", text ? len : 0);
  if (norm) fr_lsra_bpe_for_each_word(norm, encode_word, &e);
  g_free(norm);
  g_array_unref(e.ids);
  g_array_unref(e.prev);
  g_array_unref(e.next);
  g_array_unref(e.heap);
  return e.out;
}

/* ---- decoding ------------------------------------------------------------------------------- */

char *fr_lsra_bpe_decode(const FrLsraBpe *bpe, const gint32 *ids, gsize n, GError **error) {
  GString *s = g_string_new(NULL);
  for (gsize i = 0; i < n; i++) {
    gint32 id = ids[i];
    if (id < 0 || id >= (gint32)bpe->pieces->len) {
      g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_INVALID, "id %d at position %" G_GSIZE_FORMAT
                  " is outside the vocabulary (0..%u)", id, i, bpe->pieces->len - 1);
      g_string_free(s, TRUE);
      return NULL;
    }
    if (id == FR_LSRA_BPE_UNK) {
      g_string_append(s, "\xe2\x81\x87"); /* ⁇, what sentencepiece shows for <unk> */
      continue;
    }
    if (id < FR_LSRA_BPE_N_SPECIAL) continue;
    const char *p = bpe->pieces->pdata[id];
    if (g_str_has_prefix(p, FR_LSRA_BPE_MARKER_UTF8)) {
      g_string_append_c(s, ' ');
      p += 3;
    }
    g_string_append(s, p);
  }
  if (s->str[0] == ' ') g_string_erase(s, 0, 1); /* the first word's marker was not a space */
  return g_string_free(s, FALSE);
}
