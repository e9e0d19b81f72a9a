/* fr-apq-specjson.h: specs in APQ's own JSON form, so architectures move between APQ's repository
 * and Frontier both ways.
 *
 * APQ's search writes its result (exps/NAME/arch, read by test.py) as a two-element array:
 *   [info, q_info]
 *   info   = {"wid": null, "ks": [n_blocks ints], "e": [n_blocks floats], "d": [n_stages ints], "r": [224]}
 *   q_info = {"pw_w_bits_setting": [n_blocks ints], "pw_a_bits_setting": ..., "dw_w_bits_setting": ...,
 *             "dw_a_bits_setting": ...}
 * "e" is the expand ratio mid/cin as a float (APQ keys its one-hot table by k/cin in Python floats),
 * so e.g. 104 mid channels after 24 inputs is 4.333333333333333.
 *
 * Read also: one flat object with all of it (APQ's in-memory spec dict, and the "spec" of
 * apq_testvectors.json, whose bit lists are named pw_w_bits etc. and which may also carry
 * "mid_channels", checked against "e"); q_info null or absent means a full-precision spec.
 *
 * Depth: APQ draws d in 2..4 for every stage, including the last one that has a single block, where
 * any d >= 1 means "the block is on". Reading clamps such a depth to the stage's size; writing gives
 * such a stage the largest depth option (4 for imagenet-bitfusion), which APQ reads the same way.
 *
 * Reading is strict: lengths, types, unknown keys, an "e" that is no mid channel option (within
 * float rounding: |e*cin - mid| <= 1e-6*mid), a depth out of range, "r" other than the space's input
 * size, and every rule of fr_apq_spec_validate (kernel 7 with 4-bit dw activations on BitFusion) are
 * each a GError (FR_APQ_ERROR_PARSE or FR_APQ_ERROR_INVALID_SPEC) saying which field and block. */
#pragma once
#include <glib.h>
#include <json-glib/json-glib.h>
#include "fr-apq-space.h"

G_BEGIN_DECLS

/* [info, q_info] for a quantized spec; [info, null] for a full-precision one. */
JsonNode *fr_apq_spec_to_apq_json(const FrApqSpace *s, const FrApqSpec *spec);
char *fr_apq_spec_to_apq_json_string(const FrApqSpace *s, const FrApqSpec *spec, gboolean pretty);
gboolean fr_apq_spec_from_apq_json(const FrApqSpace *s, JsonNode *node, FrApqSpec *out, GError **error);
gboolean fr_apq_spec_from_apq_json_string(const FrApqSpace *s, const char *text, FrApqSpec *out, GError **error);

gboolean fr_apq_spec_save_apq_json(const FrApqSpace *s, const FrApqSpec *spec, const char *path, GError **error);
gboolean fr_apq_spec_load_apq_json(const FrApqSpace *s, const char *path, FrApqSpec *out, GError **error);

/* Either form a user may paste: APQ JSON (text starting with '[' or '{') or the compact text form of
 * fr_apq_spec_from_string ("ks=...;mid=...;d=..."). */
gboolean fr_apq_spec_parse_any(const FrApqSpace *s, const char *text, FrApqSpec *out, GError **error);

G_END_DECLS
