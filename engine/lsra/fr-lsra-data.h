/* fr-lsra-data.h: a parallel corpus as training data for the translation models (fr-lsra-model.h).
 *
 * A TSV file holds one pair a line, English<TAB>German. Both sides are encoded with the joint BPE
 * (fr-lsra-bpe.h); pairs with an empty side, or with more than FR_LSRA_MAX_TOKENS - 1 tokens on
 * either side (the models append </s>), are dropped and counted. The ids of all kept pairs live in
 * one int32 buffer with offsets.
 *
 * Batching follows fairseq's token batches: pairs sorted by length (source, then target, ties broken
 * by a seeded random order), cut in that order into batches whose padded size max(B * S, B * T) stays
 * within max_tokens (S, T: the longest source and target of the batch, </s> included). The batches
 * are made once per seed; every epoch visits all of them in an order shuffled from (seed, epoch), so
 * (seed, epoch, index) alone determines the batch of a training step, which makes resuming exact. */
#pragma once
#include "fr-lsra-bpe.h"
#include "fr-lsra-model.h"

G_BEGIN_DECLS

typedef struct {
  gint64 lines;         /* non-blank lines read */
  gint64 kept;          /* pairs kept */
  gint64 empty;         /* dropped: a side encodes to no tokens */
  gint64 too_long;      /* dropped: a side has more than FR_LSRA_MAX_TOKENS - 1 tokens */
  gint64 src_tokens, tgt_tokens;   /* of the kept pairs, without </s> */
  double seconds;       /* reading and encoding */
} FrLsraDataStats;

typedef struct FrLsraData FrLsraData;

/* Reads a TSV (English<TAB>German, no header; a trailing \r is ignored, blank lines are skipped) and
 * encodes it on the engine's thread pool (the result does not depend on the thread count). limit > 0
 * keeps only the first `limit` pairs that pass the filters. A non-blank line without exactly one TAB
 * is an error naming the file and line (FR_LSRA_ERROR_INVALID), and so is a file with no pair left. */
FrLsraData *fr_lsra_data_load(const FrLsraBpe *bpe, const char *path, int limit, GError **error);
/* The same from text in memory; name is used in error messages. */
FrLsraData *fr_lsra_data_from_text(const FrLsraBpe *bpe, const char *text, gsize len, const char *name, int limit,
                                   GError **error);
void fr_lsra_data_free(FrLsraData *d);

int fr_lsra_data_len(const FrLsraData *d);
const FrLsraDataStats *fr_lsra_data_stats(const FrLsraData *d);
/* The source / target ids of pair i, without </s>; *len receives their number (>= 1). */
const int32_t *fr_lsra_data_src(const FrLsraData *d, int i, int *len);
const int32_t *fr_lsra_data_tgt(const FrLsraData *d, int i, int *len);
/* A 64-bit fingerprint of every kept id and pair boundary (FNV-1a), for run ids. */
guint64 fr_lsra_data_fingerprint(const FrLsraData *d);

/* ---- batches ---- */

typedef struct FrLsraBatches FrLsraBatches;

/* max_tokens >= FR_LSRA_MAX_TOKENS, so that every pair fits a batch of its own. */
FrLsraBatches *fr_lsra_batches_new(const FrLsraData *d, int max_tokens, guint64 seed, GError **error);
void fr_lsra_batches_free(FrLsraBatches *b);
int fr_lsra_batches_len(const FrLsraBatches *b);
/* The pairs of batch k (in length order) and their number. */
const int *fr_lsra_batches_get(const FrLsraBatches *b, int k, int *n);
/* The batch visited at position index (0 <= index < len) of epoch `epoch`; a permutation of all batches
 * for each epoch, drawn from (seed, epoch). Not thread-safe (the last epoch's order is cached). */
int fr_lsra_batches_at(FrLsraBatches *b, gint64 epoch, int index);

/* A padded batch of the given pairs in one allocation (free with fr_lsra_batch_free): src = source +
 * </s>, tgt_in = </s> + target, tgt_out = target + </s>, 0 after. */
FrLsraBatch *fr_lsra_batch_new(const FrLsraData *d, const int *pairs, int n);
void fr_lsra_batch_free(FrLsraBatch *b);
/* Target tokens (</s> included) and source tokens of a batch, without padding. */
gint64 fr_lsra_batch_tgt_tokens(const FrLsraBatch *b);
gint64 fr_lsra_batch_src_tokens(const FrLsraBatch *b);

G_END_DECLS
