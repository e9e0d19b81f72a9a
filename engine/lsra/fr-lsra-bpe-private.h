/* fr-lsra-bpe-private.h: what the BPE files share: the model's tables, the trainer's word table, the
 * text rules (normalisation, words, which pieces are allowed) and the one constructor from a piece
 * list. */
#pragma once
#include "fr-lsra-bpe.h"
#include "fr-lsra-u64map.h"

#define FR_LSRA_BPE_MARKER 0x2581u           /* ▁ */
#define FR_LSRA_BPE_MARKER_UTF8 "\xe2\x96\x81"

struct _FrLsraBpe {
  FrLsraBpeConfig cfg;
  GPtrArray *pieces;      /* char *, indexed by id; the specials first */
  GHashTable *ids;        /* piece -> id + 1, specials left out (they are not text) */
  FrLsraU64Map merges;    /* (left id, right id) -> id of the piece left+right, for every split */
  int n_merges;
};

/* What learning starts from: the distinct words of everything added, with their counts. */
struct _FrLsraBpeTrainer {
  FrLsraBpeConfig cfg;
  GHashTable *word_index; /* word (NFC, no marker) -> index + 1 into words/counts */
  GPtrArray *words;
  GArray *counts;         /* gint64 */
  GString *key;
  gint64 sentences, skipped, n_words;
  gint64 count_us;
};

/* Builds the model from its pieces (taking them; the specials first) and checks them: valid,
 * distinct, allowed by cfg, each multi-character piece made of two earlier pieces or characters.
 * On error, *bad is the index of the first bad piece. */
FrLsraBpe *fr_lsra_bpe_new_from_pieces(const FrLsraBpeConfig *cfg, GPtrArray *pieces, int *bad, GError **error);

/* NFC of text (invalid UTF-8 replaced first); ASCII passes through without a copy being normalised. */
char *fr_lsra_bpe_normalize(const char *text, gssize len);
/* Calls f on each word of normalised text: runs between whitespace (what Python's str.split()
 * splits on, and the marker itself, which cannot be told from a space once decoded). */
typedef void (*FrLsraBpeWordFunc)(const char *word, gsize len, gpointer data);
void fr_lsra_bpe_for_each_word(const char *normalized, FrLsraBpeWordFunc f, gpointer data);
/* Whether chars[0..n) may be a piece under cfg (sentencepiece's rules for split_by_whitespace). */
gboolean fr_lsra_bpe_piece_allowed(const FrLsraBpeConfig *cfg, const gunichar *chars, int n);
