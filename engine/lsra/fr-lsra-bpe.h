/* fr-lsra-bpe.h: byte-pair encoding in the sentencepiece style, for the Lite Transformer's joint
 * English–German vocabulary.
 *
 * Text is NFC-normalised and split on whitespace; every word gets the marker "▁" (U+2581) in front,
 * so decoding needs no detokeniser. Pieces never cross a word boundary, hold "▁" only as their first
 * character, are at most max_piece_length characters long and (split_by_script) never mix Unicode
 * scripts, so "Haus." is "▁Haus" + "." and digits stay apart from letters.
 *
 * Ids: 0 <pad>, 1 <unk>, 2 <s>, 3 </s>, then the learned pieces in merge order (an earlier merge has
 * the lower id and is applied first), then the single characters, most frequent first. <pad> is 0
 * so zeroed buffers are padding; the layout is spm_train's with --pad_id=0 --unk_id=1 --bos_id=2
 * --eos_id=3, so ids compare one to one with sentencepiece's. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

enum { FR_LSRA_BPE_PAD = 0, FR_LSRA_BPE_UNK = 1, FR_LSRA_BPE_BOS = 2, FR_LSRA_BPE_EOS = 3, FR_LSRA_BPE_N_SPECIAL = 4 };

#define FR_LSRA_BPE_ERROR (fr_lsra_bpe_error_quark())
GQuark fr_lsra_bpe_error_quark(void);
typedef enum {
  FR_LSRA_BPE_ERROR_PARSE, /* a malformed model file (message names the line) */
  FR_LSRA_BPE_ERROR_IO,
  FR_LSRA_BPE_ERROR_INVALID, /* bad settings, no text to learn from, an id out of range */
} FrLsraBpeError;

typedef struct {
  int vocab_size;            /* specials, merges and characters together (default 8000) */
  double character_coverage; /* characters kept, most frequent first, until this share of all
                              * character occurrences is covered; the rest become <unk> (0.9995) */
  int max_piece_length;      /* in characters (16) */
  gboolean split_by_script;  /* no piece mixes Unicode scripts (TRUE) */
  int max_sentence_bytes;    /* longer training sentences are skipped, as spm_train does (4192) */
} FrLsraBpeConfig;

void fr_lsra_bpe_config_init(FrLsraBpeConfig *cfg);

typedef struct _FrLsraBpe FrLsraBpe;

/* ---- learning ------------------------------------------------------------------------------- */

typedef struct _FrLsraBpeTrainer FrLsraBpeTrainer;

typedef struct {
  gint64 sentences, skipped_sentences, words, unique_words;
  int chars_seen, chars_kept; /* distinct characters; kept ones are in the vocabulary */
  double coverage;            /* share of character occurrences the kept ones cover */
  int merges;                 /* learned pieces (fewer than asked when the text runs out of pairs) */
  double count_seconds, merge_seconds; /* word counting (add_*) and learning (learn) */
} FrLsraBpeLearnStats;

typedef void (*FrLsraBpeProgress)(double fraction, gpointer user_data);

FrLsraBpeTrainer *fr_lsra_bpe_trainer_new(const FrLsraBpeConfig *cfg);
void fr_lsra_bpe_trainer_free(FrLsraBpeTrainer *t);
/* One sentence (len -1: NUL-terminated). */
void fr_lsra_bpe_trainer_add_text(FrLsraBpeTrainer *t, const char *text, gssize len);
/* Every tab-separated field of every line: both sides of a parallel TSV, or a plain text file. */
gboolean fr_lsra_bpe_trainer_add_file(FrLsraBpeTrainer *t, const char *path, GError **error);
/* Learns the vocabulary from what was added. progress (may be NULL) is called every 100 merges. */
FrLsraBpe *fr_lsra_bpe_trainer_learn(FrLsraBpeTrainer *t, FrLsraBpeProgress progress, gpointer user_data,
                                     FrLsraBpeLearnStats *stats, GError **error);

/* ---- model ---------------------------------------------------------------------------------- */

void fr_lsra_bpe_free(FrLsraBpe *bpe);
int fr_lsra_bpe_vocab_size(const FrLsraBpe *bpe);
/* Number of learned (multi-character) pieces. */
int fr_lsra_bpe_n_merges(const FrLsraBpe *bpe);
const FrLsraBpeConfig *fr_lsra_bpe_config(const FrLsraBpe *bpe);
/* The piece of an id ("<pad>" … for the specials), NULL when out of range. */
const char *fr_lsra_bpe_piece(const FrLsraBpe *bpe, int id);
/* The id of a piece, <unk> when it is not in the vocabulary. */
int fr_lsra_bpe_piece_to_id(const FrLsraBpe *bpe, const char *piece);

/* text -> ids (gint32). Merges are applied greedily, lowest id first, leftmost on ties (as
 * sentencepiece's BPE does); characters outside the vocabulary become <unk>, a run of them one
 * <unk>. No <s> or </s> is added. Invalid UTF-8 is replaced (U+FFFD) first. */
GArray *fr_lsra_bpe_encode(const FrLsraBpe *bpe, const char *text, gssize len);
/* ids -> text: pieces joined, "▁" back to spaces, the first one dropped; <pad>, <s>, </s> give
 * nothing and <unk> gives "⁇" (U+2047). NULL with FR_LSRA_BPE_ERROR_INVALID for an id out of range.
 * decode(encode(t)) == t for NFC text with single spaces between words, none at either end, and
 * only characters in the vocabulary. */
char *fr_lsra_bpe_decode(const FrLsraBpe *bpe, const gint32 *ids, gsize n, GError **error);

/* The text form as written by fr_lsra_bpe_save. */
char *fr_lsra_bpe_to_string(const FrLsraBpe *bpe, gsize *len);
gboolean fr_lsra_bpe_save(const FrLsraBpe *bpe, const char *path, GError **error);
/* Parses and validates a model (every multi-character piece must be made of two earlier pieces or
 * characters); NULL with FR_LSRA_BPE_ERROR_PARSE and the line number otherwise. */
FrLsraBpe *fr_lsra_bpe_from_data(const char *data, gsize len, GError **error);
FrLsraBpe *fr_lsra_bpe_load(const char *path, GError **error);

G_END_DECLS
