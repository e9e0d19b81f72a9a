/* fr-model-io.h: a model's named tensors (trainable parameters and buffers such as batch-norm running
 * statistics) and their safetensors files, with the architecture in the file's JSON metadata. */
#pragma once
#include "fr-tensor.h"

G_BEGIN_DECLS

typedef struct FrParamSet FrParamSet;

FrParamSet *fr_param_set_new(void);
void fr_param_set_free(FrParamSet *s);
/* Adds a zero tensor; buffers (trainable FALSE) get no gradient and no optimiser state. */
FrTensor *fr_param_set_add(FrParamSet *s, const char *name, int ndim, const int64_t *shape, gboolean trainable);
int fr_param_set_len(const FrParamSet *s);
FrTensor *fr_param_set_nth(const FrParamSet *s, int i);
FrTensor *fr_param_set_get(const FrParamSet *s, const char *name);
/* Trainable tensors in order, for the optimiser; the array belongs to the set. */
FrTensor **fr_param_set_trainable(FrParamSet *s, int *n);
size_t fr_param_set_count(const FrParamSet *s, gboolean trainable_only);

/* Writes every tensor as F32 plus metadata (NULL-terminated key, value pairs), atomically. */
gboolean fr_param_set_save(const FrParamSet *s, const char *path, const char *const *metadata, GError **error);
/* Reads every tensor of the set from path, checking names and shapes; on error the set is unchanged.
 * When metadata_out is not NULL it receives a new hash table of the file's metadata. */
gboolean fr_param_set_load(FrParamSet *s, const char *path, GHashTable **metadata_out, GError **error);

G_END_DECLS

G_BEGIN_DECLS
/* Finds a shipped data file (e.g. "classifier/classifier.safetensors"): $FR_DATA_DIR, then the
 * installed data folder, then the source tree's data/. Returns a new path, or NULL. */
char *fr_data_find(const char *relpath);
/* Where a shipped file would be written when training anew: $FR_DATA_DIR or the source tree's data/. */
char *fr_data_default_output(const char *relpath);
G_END_DECLS
