/* fr-sparch-json.c: JSON serialisation of simulation results and of the ablation (json-glib). */
#include "fr-sparch-private.h"

#include <json-glib/json-glib.h>

static void add_int(JsonBuilder *jb, const char *k, int64_t v) {
  json_builder_set_member_name(jb, k);
  json_builder_add_int_value(jb, v);
}
static void add_dbl(JsonBuilder *jb, const char *k, double v) {
  json_builder_set_member_name(jb, k);
  json_builder_add_double_value(jb, v);
}
static void add_bool(JsonBuilder *jb, const char *k, gboolean v) {
  json_builder_set_member_name(jb, k);
  json_builder_add_boolean_value(jb, v);
}
static void add_str(JsonBuilder *jb, const char *k, const char *v) {
  json_builder_set_member_name(jb, k);
  json_builder_add_string_value(jb, v);
}

static void build_config(JsonBuilder *jb, const FrSparchConfig *c) {
  json_builder_begin_object(jb);
  add_str(jb, "arch", fr_sparch_arch_name(c->arch));
  add_int(jb, "element_bytes", c->element_bytes);
  add_dbl(jb, "clock_hz", c->clock_hz);
  add_dbl(jb, "bandwidth_bytes_per_s", c->bandwidth_bytes_per_s);
  add_int(jb, "merge_ways", c->merge_ways);
  add_int(jb, "merger_width", c->merger_width);
  add_int(jb, "multipliers", c->multipliers);
  add_bool(jb, "condense", c->condense);
  add_bool(jb, "huffman", c->huffman);
  add_str(jb, "prefetch", fr_sparch_prefetch_name(c->prefetch));
  add_int(jb, "prefetch_buffer_bytes", c->prefetch_buffer_bytes);
  add_int(jb, "prefetch_line_bytes", c->prefetch_line_bytes);
  add_int(jb, "lookahead", c->lookahead);
  add_int(jb, "os_pes", c->os_pes);
  add_dbl(jb, "os_clock_hz", c->os_clock_hz);
  add_int(jb, "os_channels", c->os_channels);
  add_dbl(jb, "os_channel_bytes_per_s", c->os_channel_bytes_per_s);
  add_bool(jb, "keep_product", c->keep_product);
  add_bool(jb, "trace", c->trace);
  add_int(jb, "trace_max_samples", c->trace_max_samples);
  add_int(jb, "trace_fifo_depth", c->trace_fifo_depth);
  json_builder_end_object(jb);
}

static void build_result(JsonBuilder *jb, const FrSparchResult *r) {
  json_builder_begin_object(jb);
  add_str(jb, "arch", fr_sparch_arch_name(r->config.arch));
  add_int(jb, "nnz", r->nnz_c);
  add_int(jb, "multiplies", r->multiplies);
  add_dbl(jb, "seconds", r->seconds);
  add_int(jb, "cycles", r->cycles);
  add_dbl(jb, "gflops", r->gflops);
  add_int(jb, "partial_matrices", r->partial_matrices);
  add_int(jb, "rounds", r->n_rounds);
  add_int(jb, "a_read", r->a_read);
  add_int(jb, "b_read", r->b_read);
  add_int(jb, "partial_write", r->partial_write);
  add_int(jb, "partial_read", r->partial_read);
  add_int(jb, "c_write", r->c_write);
  add_int(jb, "total", r->total);
  add_int(jb, "prefetch_requests", r->prefetch_requests);
  add_int(jb, "prefetch_hits", r->prefetch_hits);
  add_int(jb, "prefetch_misses", r->prefetch_misses);
  add_dbl(jb, "host_seconds", r->host_seconds);
  json_builder_set_member_name(jb, "config");
  build_config(jb, &r->config);
  if (r->n_rounds <= 10000) {
    json_builder_set_member_name(jb, "round_records");
    json_builder_begin_array(jb);
    for (int64_t i = 0; i < r->n_rounds; i++) {
      const FrSparchRound *d = &r->rounds[i];
      json_builder_begin_object(jb);
      add_int(jb, "inputs", d->inputs);
      add_int(jb, "leaf_inputs", d->leaf_inputs);
      add_bool(jb, "final", d->final);
      add_int(jb, "multiplies", d->multiplies);
      add_int(jb, "elements_in", d->elements_in);
      add_int(jb, "elements_out", d->elements_out);
      json_builder_set_member_name(jb, "layer_in");
      json_builder_begin_array(jb);
      for (int l = 0; l < d->n_layers && l < FR_SPARCH_MAX_LAYERS; l++) json_builder_add_int_value(jb, d->layer_in[l]);
      json_builder_end_array(jb);
      add_int(jb, "a_read", d->a_read);
      add_int(jb, "b_read", d->b_read);
      add_int(jb, "partial_read", d->partial_read);
      add_int(jb, "partial_write", d->partial_write);
      add_int(jb, "c_write", d->c_write);
      add_int(jb, "bytes", d->bytes);
      add_int(jb, "multiply_cycles", d->multiply_cycles);
      add_int(jb, "merge_cycles", d->merge_cycles);
      add_int(jb, "dram_cycles", d->dram_cycles);
      add_int(jb, "cycles", d->cycles);
      add_str(jb, "bound", fr_sparch_bound_name(d->bound));
      add_int(jb, "start_cycle", d->start_cycle);
      json_builder_end_object(jb);
    }
    json_builder_end_array(jb);
  }
  json_builder_end_object(jb);
}

static char *to_string(JsonBuilder *jb, gboolean pretty) {
  JsonNode *root = json_builder_get_root(jb);
  JsonGenerator *gen = json_generator_new();
  json_generator_set_pretty(gen, pretty);
  json_generator_set_root(gen, root);
  char *s = json_generator_to_data(gen, NULL);
  g_object_unref(gen);
  json_node_unref(root);
  g_object_unref(jb);
  return s;
}

char *fr_sparch_result_to_json(const FrSparchResult *r, gboolean pretty) {
  g_return_val_if_fail(r != NULL, NULL);
  JsonBuilder *jb = json_builder_new();
  build_result(jb, r);
  return to_string(jb, pretty);
}

char *fr_sparch_ablation_to_json(const FrSparchAblation *ab, gboolean pretty) {
  g_return_val_if_fail(ab != NULL, NULL);
  JsonBuilder *jb = json_builder_new();
  json_builder_begin_object(jb);
  json_builder_set_member_name(jb, "steps");
  json_builder_begin_array(jb);
  for (int i = 0; i < ab->n_steps; i++) {
    const FrSparchAblationStep *st = &ab->steps[i];
    json_builder_begin_object(jb);
    add_str(jb, "label", st->label);
    json_builder_set_member_name(jb, "result");
    build_result(jb, st->result);
    if (i > 0 && st->result->total > 0)
      add_dbl(jb, "factor_vs_previous", (double)ab->steps[i - 1].result->total / (double)st->result->total);
    if (st->result->total > 0)
      add_dbl(jb, "factor_vs_outerspace", (double)ab->steps[0].result->total / (double)st->result->total);
    json_builder_end_object(jb);
  }
  json_builder_end_array(jb);
  json_builder_set_member_name(jb, "paper");
  json_builder_begin_object(jb);
  add_dbl(jb, "condense", FR_SPARCH_PAPER_CONDENSE_FACTOR);
  add_dbl(jb, "huffman", FR_SPARCH_PAPER_HUFFMAN_FACTOR);
  add_dbl(jb, "prefetch", FR_SPARCH_PAPER_PREFETCH_FACTOR);
  add_dbl(jb, "overall", FR_SPARCH_PAPER_OVERALL_FACTOR);
  json_builder_end_object(jb);
  json_builder_end_object(jb);
  return to_string(jb, pretty);
}
