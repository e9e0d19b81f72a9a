/* fr-lsra-bpe-learn.c: learning BPE merges from a word-frequency table, sentencepiece's way.
 *
 * Sentences are counted into distinct words (with the marker), characters are kept by frequency up
 * to the coverage (the rest are <unk> and never merge), and then the most frequent adjacent pair of
 * symbols is merged into a new piece, again and again, until the vocabulary is full. Ties go to the
 * shorter piece, then to the smaller string (byte order), as spm_train breaks them.
 *
 * Speed comes from never rescanning the corpus: each pair keeps its count (summed word frequency)
 * and the list of words it occurs in, and a merge only rewrites those words, subtracting their old
 * pairs and adding their new ones. The best pair comes from a max-heap with lazy deletion: a merge
 * can only lower the count of a pair that already existed (every new adjacency involves the new
 * symbol, so new pairs are pushed after each merge), so an entry whose count is out of date is
 * pushed back with its current count, and the first up-to-date entry popped is the true maximum.
 * spm_train instead rescans a set of "active" candidates (its top 5 %, refreshed every 100 merges),
 * which misses a pair outside the set once the pairs inside fall below it; see docs/LSRA.md. */
#include "fr-lsra-bpe-private.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  guint32 *v;
  guint32 len, cap;
} U32Vec;

typedef struct {
  gint32 a, b;   /* symbols */
  gint32 len;    /* characters of a+b */
  gboolean valid, dead;
  guint32 stamp; /* the merge step that last listed it as new */
  gint64 count;  /* occurrences, weighted by word frequency */
  U32Vec where;  /* words it occurs in (may repeat, may be stale) */
} Pair;

typedef struct {
  char *text;
  gunichar *chars;
  gint32 n;
} Sym;

typedef struct {
  gint64 count;
  gint32 pair;
} Entry;

typedef struct {
  const FrLsraBpeConfig *cfg;
  GArray *syms; /* Sym */
  GHashTable *sym_ids; /* text -> id + 1 */
  GArray *pairs; /* Pair */
  FrLsraU64Map pair_ids;
  gint32 *wsym;   /* every word's symbols, at woff[w], wlen[w] of them; -1 is <unk> */
  gsize *woff;
  gint32 *wlen;
  gint64 *wfreq;
  guint32 *wstamp;
  guint32 n_words;
  GArray *heap; /* Entry */
  gunichar *tmp;
} Learner;

static void vec_push(U32Vec *v, guint32 x) {
  if (v->len && v->v[v->len - 1] == x) return;
  if (v->len == v->cap) {
    v->cap = v->cap ? 2 * v->cap : 4;
    v->v = g_renew(guint32, v->v, v->cap);
  }
  v->v[v->len++] = x;
}

#define PAIR(L, i) (&g_array_index((L)->pairs, Pair, (i)))
#define SYM(L, i) (&g_array_index((L)->syms, Sym, (i)))

static gint32 add_sym(Learner *L, char *text, gunichar *chars, gint32 n) {
  Sym s = { text, chars, n };
  g_array_append_val(L->syms, s);
  gint32 id = (gint32)L->syms->len - 1;
  g_hash_table_insert(L->sym_ids, text, GINT_TO_POINTER(id + 1));
  return id;
}

static gint32 get_pair(Learner *L, gint32 a, gint32 b) {
  uint64_t key = fr_lsra_pair_key(a, b);
  gint32 i = fr_lsra_u64map_get(&L->pair_ids, key);
  if (i >= 0) return i;
  const Sym *sa = SYM(L, a), *sb = SYM(L, b);
  Pair p = { .a = a, .b = b, .len = sa->n + sb->n, .stamp = G_MAXUINT32 };
  if (p.len <= L->cfg->max_piece_length) {
    memcpy(L->tmp, sa->chars, (gsize)sa->n * sizeof(gunichar));
    memcpy(L->tmp + sa->n, sb->chars, (gsize)sb->n * sizeof(gunichar));
    p.valid = fr_lsra_bpe_piece_allowed(L->cfg, L->tmp, p.len);
  }
  g_array_append_val(L->pairs, p);
  i = (gint32)L->pairs->len - 1;
  fr_lsra_u64map_set(&L->pair_ids, key, i);
  return i;
}

/* Compares the strings x1 x2 and y1 y2 byte by byte (std::string's order). */
static int cmp_concat(const char *x1, const char *x2, const char *y1, const char *y2) {
  const unsigned char *p = (const unsigned char *)x1, *q = (const unsigned char *)y1;
  gboolean p2 = FALSE, q2 = FALSE;
  for (;;) {
    if (!*p && !p2) { p = (const unsigned char *)x2; p2 = TRUE; continue; }
    if (!*q && !q2) { q = (const unsigned char *)y2; q2 = TRUE; continue; }
    if (*p != *q || !*p) return (int)*p - (int)*q;
    p++;
    q++;
  }
}

/* Heap order: higher count, then shorter piece, then smaller string, then smaller ids (two pairs
 * can spell the same string: "aa"+"a" and "a"+"aa"). */
static gboolean entry_before(const Learner *L, const Entry *x, const Entry *y) {
  if (x->count != y->count) return x->count > y->count;
  const Pair *px = PAIR(L, x->pair), *py = PAIR(L, y->pair);
  if (px->len != py->len) return px->len < py->len;
  int c = cmp_concat(SYM(L, px->a)->text, SYM(L, px->b)->text, SYM(L, py->a)->text, SYM(L, py->b)->text);
  if (c) return c < 0;
  return px->a != py->a ? px->a < py->a : px->b < py->b;
}

static void push(Learner *L, gint32 pair) {
  Entry e = { PAIR(L, pair)->count, pair };
  g_array_append_val(L->heap, e);
  Entry *h = (Entry *)(void *)L->heap->data;
  for (guint i = L->heap->len - 1; i > 0;) {
    guint up = (i - 1) / 2;
    if (!entry_before(L, &h[i], &h[up])) break;
    Entry t = h[i];
    h[i] = h[up];
    h[up] = t;
    i = up;
  }
}

static Entry pop(Learner *L) {
  Entry *h = (Entry *)(void *)L->heap->data, top = h[0];
  h[0] = h[L->heap->len - 1];
  g_array_set_size(L->heap, L->heap->len - 1);
  for (guint i = 0, n = L->heap->len;;) {
    guint l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && entry_before(L, &h[l], &h[m])) m = l;
    if (r < n && entry_before(L, &h[r], &h[m])) m = r;
    if (m == i) break;
    Entry t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
  return top;
}

/* Adds (sign +1) or removes (-1) the pairs of word w; with new_sym >= 0, pairs that contain it are
 * new: they list w and go into *fresh once per step. */
static void count_pairs(Learner *L, guint32 w, gint64 sign, gint32 new_sym, guint32 step, GArray *fresh) {
  const gint32 *s = L->wsym + L->woff[w];
  gint32 n = L->wlen[w];
  gboolean overlap = FALSE;
  for (gint32 i = 0; i + 1 < n; i++) {
    if (s[i] < 0 || s[i + 1] < 0) continue;
    /* "AAA" holds one "AA" that can merge, not two: the second of two overlapping equal pairs is
     * not counted (and in "AAAA" the third is), as spm_train 0.1.97 counts */
    if (overlap) {
      overlap = FALSE;
      continue;
    }
    overlap = s[i] == s[i + 1] && i + 2 < n && s[i + 2] == s[i];
    gint32 pi = sign > 0 ? get_pair(L, s[i], s[i + 1]) : fr_lsra_u64map_get(&L->pair_ids, fr_lsra_pair_key(s[i], s[i + 1]));
    Pair *p = PAIR(L, pi);
    if (!p->valid) continue;
    p->count += sign * L->wfreq[w];
    if (new_sym >= 0 && (s[i] == new_sym || s[i + 1] == new_sym)) {
      vec_push(&p->where, w);
      if (p->stamp != step) {
        p->stamp = step;
        g_array_append_val(fresh, pi);
      }
    }
  }
}

/* Replaces a b by s in every word that holds the pair, updating the pair counts. */
static void apply_merge(Learner *L, gint32 pair_index, gint32 s, guint32 step, GArray *fresh) {
  Pair *p = PAIR(L, pair_index);
  gint32 a = p->a, b = p->b;
  U32Vec where = p->where; /* pairs may move while new ones are added; this list does not */
  memset(&p->where, 0, sizeof p->where);
  for (guint32 k = 0; k < where.len; k++) {
    guint32 w = where.v[k];
    if (L->wstamp[w] == step) continue;
    L->wstamp[w] = step;
    gint32 *seq = L->wsym + L->woff[w], n = L->wlen[w];
    gboolean found = FALSE;
    for (gint32 i = 0; i + 1 < n && !found; i++) found = seq[i] == a && seq[i + 1] == b;
    if (!found) continue; /* a stale entry: an earlier merge took the pair away */
    count_pairs(L, w, -1, -1, step, fresh);
    gint32 j = 0;
    for (gint32 i = 0; i < n;) {
      if (i + 1 < n && seq[i] == a && seq[i + 1] == b) {
        seq[j++] = s;
        i += 2;
      } else {
        seq[j++] = seq[i++];
      }
    }
    L->wlen[w] = j;
    count_pairs(L, w, +1, s, step, fresh);
  }
  g_free(where.v);
}

typedef struct {
  gunichar c;
  gint64 count;
} CharCount;

static int cmp_char_count(const void *x, const void *y) {
  const CharCount *a = x, *b = y;
  if (a->count != b->count) return a->count > b->count ? -1 : 1;
  return a->c < b->c ? -1 : a->c > b->c;
}

static void add_char(GHashTable *index, GArray *cc, gunichar c, gint64 f) {
  guint i = GPOINTER_TO_UINT(g_hash_table_lookup(index, GUINT_TO_POINTER(c)));
  if (!i) {
    CharCount z = { c, 0 };
    g_array_append_val(cc, z);
    i = cc->len;
    g_hash_table_insert(index, GUINT_TO_POINTER(c), GUINT_TO_POINTER(i));
  }
  g_array_index(cc, CharCount, i - 1).count += f;
}

/* Characters by frequency (the marker once per word), and those kept for the coverage. */
static CharCount *count_chars(FrLsraBpeTrainer *t, int *n_chars, int *n_kept, double *coverage) {
  GHashTable *index = g_hash_table_new(NULL, NULL);
  GArray *cc = g_array_new(FALSE, FALSE, sizeof(CharCount));
  gint64 total = 0;
  for (guint w = 0; w < t->words->len; w++) {
    gint64 f = g_array_index(t->counts, gint64, w);
    add_char(index, cc, FR_LSRA_BPE_MARKER, f);
    total += f;
    for (const char *p = t->words->pdata[w]; *p; p = g_utf8_next_char(p)) {
      add_char(index, cc, g_utf8_get_char(p), f);
      total += f;
    }
  }
  g_hash_table_destroy(index);
  qsort(cc->data, cc->len, sizeof(CharCount), cmp_char_count);
  /* spm_train's rule, in its float arithmetic: keep characters while the share covered so far is
   * below the coverage */
  gint64 acc = 0;
  int kept = 0;
  for (guint i = 0; i < cc->len; i++) {
    float cov = (float)(1.0 * (double)acc / (double)total);
    if (cov >= (float)t->cfg.character_coverage) break;
    acc += g_array_index(cc, CharCount, i).count;
    kept++;
  }
  *n_chars = (int)cc->len;
  *n_kept = kept;
  *coverage = total ? (double)acc / (double)total : 0;
  return (CharCount *)(void *)g_array_free(cc, FALSE);
}

static int cmp_words(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* The words as symbol sequences (sorted, so the result cannot depend on hash order). */
static void build_words(Learner *L, FrLsraBpeTrainer *t, GHashTable *char_sym) {
  guint n = t->words->len;
  guint32 *order = g_new(guint32, n);
  char **sorted = g_new(char *, n);
  for (guint i = 0; i < n; i++) sorted[i] = t->words->pdata[i];
  qsort(sorted, n, sizeof *sorted, cmp_words);
  gsize total = 0;
  for (guint i = 0; i < n; i++) {
    order[i] = GPOINTER_TO_UINT(g_hash_table_lookup(t->word_index, sorted[i])) - 1;
    total += 1 + (gsize)g_utf8_strlen(sorted[i], -1);
  }
  L->n_words = n;
  L->wsym = g_new(gint32, MAX(total, 1));
  L->woff = g_new(gsize, MAX(n, 1));
  L->wlen = g_new(gint32, MAX(n, 1));
  L->wfreq = g_new(gint64, MAX(n, 1));
  L->wstamp = g_new(guint32, MAX(n, 1));
  gsize off = 0;
  for (guint w = 0; w < n; w++) {
    L->woff[w] = off;
    L->wfreq[w] = g_array_index(t->counts, gint64, order[w]);
    L->wstamp[w] = G_MAXUINT32;
    L->wsym[off++] = GPOINTER_TO_INT(g_hash_table_lookup(char_sym, GUINT_TO_POINTER(FR_LSRA_BPE_MARKER))) - 1;
    for (const char *p = sorted[w]; *p; p = g_utf8_next_char(p))
      L->wsym[off++] = GPOINTER_TO_INT(g_hash_table_lookup(char_sym, GUINT_TO_POINTER(g_utf8_get_char(p)))) - 1;
    L->wlen[w] = (gint32)(off - L->woff[w]);
  }
  g_free(order);
  g_free(sorted);
}

static void learner_free(Learner *L) {
  for (guint i = 0; i < L->syms->len; i++) g_free(SYM(L, i)->chars); /* texts belong to sym_ids */
  g_array_unref(L->syms);
  g_hash_table_destroy(L->sym_ids);
  for (guint i = 0; i < L->pairs->len; i++) g_free(PAIR(L, i)->where.v);
  g_array_unref(L->pairs);
  fr_lsra_u64map_clear(&L->pair_ids);
  g_free(L->wsym);
  g_free(L->woff);
  g_free(L->wlen);
  g_free(L->wfreq);
  g_free(L->wstamp);
  g_array_unref(L->heap);
  g_free(L->tmp);
}

FrLsraBpe *fr_lsra_bpe_trainer_learn(FrLsraBpeTrainer *t, FrLsraBpeProgress progress, gpointer user_data,
                                     FrLsraBpeLearnStats *stats, GError **error) {
  gint64 t0 = g_get_monotonic_time();
  const FrLsraBpeConfig *cfg = &t->cfg;
  if (cfg->max_piece_length < 1 || cfg->max_piece_length > 256 || !(cfg->character_coverage > 0) ||
      cfg->character_coverage > 1 || cfg->vocab_size <= FR_LSRA_BPE_N_SPECIAL) {
    g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_INVALID,
                "bad settings: vocab_size %d, character_coverage %g, max_piece_length %d", cfg->vocab_size,
                cfg->character_coverage, cfg->max_piece_length);
    return NULL;
  }
  if (t->n_words == 0) {
    g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_INVALID, "no words to learn from");
    return NULL;
  }
  int n_chars, n_kept;
  double coverage;
  CharCount *chars = count_chars(t, &n_chars, &n_kept, &coverage);
  int target = cfg->vocab_size - FR_LSRA_BPE_N_SPECIAL - n_kept;
  if (target < 0) {
    g_set_error(error, FR_LSRA_BPE_ERROR, FR_LSRA_BPE_ERROR_INVALID,
                "vocab_size %d cannot hold the 4 specials and the %d characters kept for coverage %g", cfg->vocab_size,
                n_kept, cfg->character_coverage);
    g_free(chars);
    return NULL;
  }

  Learner L = {
    .cfg = cfg,
    .syms = g_array_new(FALSE, FALSE, sizeof(Sym)),
    .sym_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
    .pairs = g_array_new(FALSE, FALSE, sizeof(Pair)),
    .heap = g_array_new(FALSE, FALSE, sizeof(Entry)),
    .tmp = g_new(gunichar, 2 * (gsize)cfg->max_piece_length + 2),
  };
  fr_lsra_u64map_init(&L.pair_ids);
  GHashTable *char_sym = g_hash_table_new(NULL, NULL);
  for (int i = 0; i < n_kept; i++) {
    char buf[8] = { 0 };
    g_unichar_to_utf8(chars[i].c, buf);
    gunichar *c1 = g_new(gunichar, 1);
    c1[0] = chars[i].c;
    gint32 id = add_sym(&L, g_strdup(buf), c1, 1);
    g_hash_table_insert(char_sym, GUINT_TO_POINTER(chars[i].c), GINT_TO_POINTER(id + 1));
  }
  build_words(&L, t, char_sym);
  g_hash_table_destroy(char_sym);

  /* every adjacent pair once, then the heap */
  GArray *fresh = g_array_new(FALSE, FALSE, sizeof(gint32));
  for (guint32 w = 0; w < L.n_words; w++) count_pairs(&L, w, +1, -1, 0, fresh);
  for (guint i = 0; i < L.pairs->len; i++)
    if (PAIR(&L, i)->valid && PAIR(&L, i)->count > 0) push(&L, (gint32)i);
  for (guint32 w = 0; w < L.n_words; w++) {
    const gint32 *s = L.wsym + L.woff[w];
    for (gint32 i = 0; i + 1 < L.wlen[w]; i++) {
      if (s[i] < 0 || s[i + 1] < 0) continue;
      Pair *p = PAIR(&L, fr_lsra_u64map_get(&L.pair_ids, fr_lsra_pair_key(s[i], s[i + 1])));
      if (p->valid) vec_push(&p->where, w);
    }
  }

  GPtrArray *pieces = g_ptr_array_new_with_free_func(g_free);
  static const char *const specials[] = { "<pad>", "<unk>", "<s>", "</s>" };
  for (int i = 0; i < FR_LSRA_BPE_N_SPECIAL; i++) g_ptr_array_add(pieces, g_strdup(specials[i]));
  guint32 step = 0;
  int merges = 0;
  while (merges < target && L.heap->len) {
    Entry e = pop(&L);
    Pair *p = PAIR(&L, e.pair);
    if (p->dead) continue;
    if (e.count != p->count) { /* out of date: its count only went down */
      if (p->count > 0) push(&L, e.pair);
      continue;
    }
    const Sym *sa = SYM(&L, p->a), *sb = SYM(&L, p->b);
    char *text = g_strconcat(sa->text, sb->text, NULL);
    if (g_hash_table_contains(L.sym_ids, text)) {
      /* the same string by another split ("aa"+"a" after "a"+"aa"): spm_train drops the pair
       * without merging, and so does this, so the two agree on what follows */
      p->dead = TRUE;
      g_free(text);
      continue;
    }
    gunichar *c = g_new(gunichar, (gsize)p->len);
    memcpy(c, sa->chars, (gsize)sa->n * sizeof(gunichar));
    memcpy(c + sa->n, sb->chars, (gsize)sb->n * sizeof(gunichar));
    gint32 s = add_sym(&L, text, c, p->len);
    g_ptr_array_add(pieces, g_strdup(text));
    merges++;
    step++;
    g_array_set_size(fresh, 0);
    apply_merge(&L, e.pair, s, step, fresh);
    PAIR(&L, e.pair)->dead = TRUE;
    for (guint i = 0; i < fresh->len; i++) {
      gint32 pi = g_array_index(fresh, gint32, i);
      if (PAIR(&L, pi)->count > 0) push(&L, pi);
    }
    if (progress && merges % 100 == 0) progress((double)merges / target, user_data);
  }
  if (progress) progress(1.0, user_data);
  g_array_unref(fresh);
  for (int i = 0; i < n_kept; i++) g_ptr_array_add(pieces, g_strdup(SYM(&L, i)->text));

  if (stats) {
    memset(stats, 0, sizeof *stats);
    stats->sentences = t->sentences;
    stats->skipped_sentences = t->skipped;
    stats->words = t->n_words;
    stats->unique_words = t->words->len;
    stats->chars_seen = n_chars;
    stats->chars_kept = n_kept;
    stats->coverage = coverage;
    stats->merges = merges;
    stats->count_seconds = (double)t->count_us / 1e6;
    stats->merge_seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
  }
  learner_free(&L);
  g_free(chars);
  FrLsraBpeConfig model_cfg = *cfg;
  model_cfg.vocab_size = (int)pieces->len;
  int bad;
  return fr_lsra_bpe_new_from_pieces(&model_cfg, pieces, &bad, error);
}
