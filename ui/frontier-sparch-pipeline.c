/* frontier-sparch-pipeline.c: see frontier-sparch-pipeline.h. */
#include <math.h>

#include <adwaita.h>

#include "fr-report.h"
#include "frontier-sparch-draw.h"
#include "frontier-sparch-pipeline.h"

struct _FrontierSparchPipeline {
  GtkWidget parent_instance;

  const FrSparchResult *result; /* borrowed */
  const FrSparchTrace *trace;   /* result->trace */
  double frame;
  char *placeholder;

  /* Schedule tree layout, computed once per result. */
  int64_t n_nodes;
  float *node_x;                /* 0..1 */
  int32_t *node_depth;
  int32_t max_depth;
  int64_t *child_start;         /* n_nodes + 1 */
  int64_t *children;            /* child node indices, grouped by parent */
  int64_t *round_node;          /* n_rounds: node of the round's output, -1 if not stored */
};

G_DEFINE_FINAL_TYPE(FrontierSparchPipeline, frontier_sparch_pipeline, GTK_TYPE_WIDGET)

/* ---- schedule layout ---- */

static void
clear_layout(FrontierSparchPipeline *self)
{
  g_clear_pointer(&self->node_x, g_free);
  g_clear_pointer(&self->node_depth, g_free);
  g_clear_pointer(&self->child_start, g_free);
  g_clear_pointer(&self->children, g_free);
  g_clear_pointer(&self->round_node, g_free);
  self->n_nodes = 0;
  self->max_depth = 0;
}

static void
build_layout(FrontierSparchPipeline *self)
{
  clear_layout(self);
  const FrSparchTrace *t = self->trace;
  if (t == NULL || t->n_nodes <= 0 || t->nodes == NULL)
    return;
  int64_t n = t->n_nodes;
  self->n_nodes = n;
  self->node_x = g_new0(float, n);
  self->node_depth = g_new0(int32_t, n);
  self->child_start = g_new0(int64_t, n + 1);
  self->children = g_new0(int64_t, MAX(n, 1));
  int64_t n_rounds = self->result->n_rounds;
  self->round_node = g_new(int64_t, MAX(n_rounds, 1));
  for (int64_t r = 0; r < n_rounds; r++)
    self->round_node[r] = -1;

  for (int64_t i = 0; i < n; i++) {
    int32_t p = t->nodes[i].parent;
    if (p >= 0 && p < n && p != i)
      self->child_start[p + 1]++;
    int32_t r = t->nodes[i].round;
    if (r >= 0 && r < n_rounds)
      self->round_node[r] = i;
  }
  for (int64_t i = 0; i < n; i++)
    self->child_start[i + 1] += self->child_start[i];
  g_autofree int64_t *fill = g_memdup2(self->child_start, n * sizeof(int64_t));
  for (int64_t i = 0; i < n; i++) {
    int32_t p = t->nodes[i].parent;
    if (p >= 0 && p < n && p != i)
      self->children[fill[p]++] = i;
  }

  /* Depth-first from every root (parent -1, or a parent outside the stored nodes), children in
   * execution order; leaves (and internal nodes whose inputs were all folded) take the next slot. */
  g_autofree int64_t *stack = g_new(int64_t, 2 * n + 2);
  g_autofree uint8_t *visited = g_new0(uint8_t, n);
  int64_t slots = 0;
  for (int64_t root = n - 1; root >= 0; root--) {
    int32_t p = t->nodes[root].parent;
    if (p >= 0 && p < n && p != root)
      continue;
    int64_t sp = 0;
    stack[sp++] = root;
    self->node_depth[root] = 0;
    while (sp > 0) {
      int64_t v = stack[--sp];
      if (v < 0) { /* post-order: place an internal node over its children */
        v = -v - 1;
        int64_t c0 = self->children[self->child_start[v]], c1 = self->children[self->child_start[v + 1] - 1];
        self->node_x[v] = (self->node_x[c0] + self->node_x[c1]) / 2;
        continue;
      }
      if (visited[v])
        continue;
      visited[v] = 1;
      self->max_depth = MAX(self->max_depth, self->node_depth[v]);
      int64_t cs = self->child_start[v], ce = self->child_start[v + 1];
      if (cs == ce) {
        self->node_x[v] = (float)slots++;
        continue;
      }
      stack[sp++] = -v - 1;
      for (int64_t k = ce - 1; k >= cs && sp < 2 * n + 1; k--) {
        int64_t c = self->children[k];
        if (visited[c])
          continue;
        self->node_depth[c] = self->node_depth[v] + 1;
        stack[sp++] = c;
      }
    }
  }
  /* Unreached nodes (a malformed or cycle-capped trace) go to the right, at depth 0. */
  for (int64_t i = 0; i < n; i++)
    if (!visited[i])
      self->node_x[i] = (float)slots++;
  for (int64_t i = 0; i < n; i++)
    self->node_x[i] = slots > 1 ? (self->node_x[i] + 0.5f) / (float)slots : 0.5f;
}

/* ---- frames ---- */

gint64
frontier_sparch_pipeline_get_n_frames(FrontierSparchPipeline *self)
{
  g_return_val_if_fail(FRONTIER_IS_SPARCH_PIPELINE(self), 0);
  if (self->trace == NULL)
    return 0;
  if (self->trace->n_fifo > 0)
    return self->trace->n_fifo;
  return self->result->n_rounds;
}

/* The frame's sample index, round, cycle and fraction to the next sample. */
static gboolean
frame_state(FrontierSparchPipeline *self, int64_t *sample, int64_t *round, double *cycle, double *frac)
{
  gint64 n = frontier_sparch_pipeline_get_n_frames(self);
  if (n <= 0)
    return FALSE;
  double f = CLAMP(self->frame, 0, (double)(n - 1));
  int64_t i = (int64_t)floor(f);
  *sample = i;
  *frac = f - i;
  const FrSparchTrace *t = self->trace;
  if (t->n_fifo > 0) {
    *round = CLAMP(t->fifo_round[i], 0, MAX(self->result->n_rounds - 1, 0));
    double c0 = (double)t->fifo_cycle[i];
    double c1 = i + 1 < t->n_fifo ? (double)t->fifo_cycle[i + 1] : c0;
    *cycle = c0 + (c1 - c0) * *frac;
  } else {
    *round = i;
    *cycle = self->result->n_rounds > 0 ? (double)self->result->rounds[i].start_cycle : 0;
  }
  return self->result->n_rounds > 0;
}

static double
fifo_fill(FrontierSparchPipeline *self, int64_t i, double frac, int layer)
{
  const FrSparchTrace *t = self->trace;
  if (t->n_fifo <= 0 || t->fifo_fill == NULL || layer >= t->n_layers)
    return 0;
  double a = t->fifo_fill[i * t->n_layers + layer];
  if (i + 1 < t->n_fifo && t->fifo_round[i + 1] == t->fifo_round[i])
    a += (t->fifo_fill[(i + 1) * t->n_layers + layer] - a) * frac;
  return CLAMP(a, 0, 1);
}

char *
frontier_sparch_pipeline_describe_frame(FrontierSparchPipeline *self)
{
  g_return_val_if_fail(FRONTIER_IS_SPARCH_PIPELINE(self), NULL);
  int64_t i, r;
  double cycle, frac;
  if (self->trace == NULL || !frame_state(self, &i, &r, &cycle, &frac))
    return NULL;
  const FrSparchRound *round = &self->result->rounds[r];
  return g_strdup_printf("Round %s of %s · cycle %s · %s-bound%s", frontier_sparch_draw_grp(r + 1),
                         frontier_sparch_draw_grp(self->result->n_rounds),
                         frontier_sparch_draw_grp((gint64)llround(cycle)), fr_sparch_bound_name(round->bound),
                         round->final ? " · writes C" : "");
}

/* ---- drawing helpers ---- */

typedef struct {
  cairo_t *cr;
  PangoLayout *normal, *small, *bold;
  FrontierSparchPalette pal;
} Ctx;

/* Draws text with its anchor at (x, y): xalign 0 left, 0.5 centre, 1 right; y is the top. Returns the
 * text's height. */
static double
text(Ctx *c, PangoLayout *layout, const char *s, double x, double y, double xalign, const GdkRGBA *color,
     double alpha, double max_w)
{
  pango_layout_set_text(layout, s, -1);
  pango_layout_set_width(layout, max_w > 0 ? (int)(max_w * PANGO_SCALE) : -1);
  pango_layout_set_ellipsize(layout, max_w > 0 ? PANGO_ELLIPSIZE_END : PANGO_ELLIPSIZE_NONE);
  int w, h;
  pango_layout_get_pixel_size(layout, &w, &h);
  frontier_sparch_draw_set_rgba(c->cr, color, alpha);
  cairo_move_to(c->cr, x - w * xalign, y);
  pango_cairo_show_layout(c->cr, layout);
  return h;
}

static void
rounded_rect(cairo_t *cr, double x, double y, double w, double h, double r)
{
  r = MIN(r, MIN(w, h) / 2);
  cairo_new_sub_path(cr);
  cairo_arc(cr, x + w - r, y + r, r, -G_PI / 2, 0);
  cairo_arc(cr, x + w - r, y + h - r, r, 0, G_PI / 2);
  cairo_arc(cr, x + r, y + h - r, r, G_PI / 2, G_PI);
  cairo_arc(cr, x + r, y + r, r, G_PI, 3 * G_PI / 2);
  cairo_close_path(cr);
}

static void
arrow(Ctx *c, double x0, double y0, double x1, double y1, const GdkRGBA *color, double alpha)
{
  cairo_t *cr = c->cr;
  frontier_sparch_draw_set_rgba(cr, color, alpha);
  cairo_set_line_width(cr, 1.5);
  cairo_move_to(cr, x0, y0);
  cairo_line_to(cr, x1 - 5, y1);
  cairo_stroke(cr);
  cairo_move_to(cr, x1, y1);
  cairo_line_to(cr, x1 - 7, y1 - 4);
  cairo_line_to(cr, x1 - 7, y1 + 4);
  cairo_close_path(cr);
  cairo_fill(cr);
}

static char *
si(double v)
{
  return fr_report_format_si(v, "");
}

/* ---- dataflow panel ---- */

static void
draw_dataflow(FrontierSparchPipeline *self, Ctx *c, double x0, double y0, double w, double h, int64_t sample,
              int64_t r, double frac)
{
  cairo_t *cr = c->cr;
  const FrSparchResult *res = self->result;
  const FrSparchTrace *t = self->trace;
  const FrSparchRound *round = &res->rounds[r];
  const FrSparchConfig *cfg = &res->config;
  FrontierSparchPalette *p = &c->pal;

  double col_in = w * 0.2, col_mul = w * 0.15, col_out = w * 0.14;
  double col_tree = w - col_in - col_mul - col_out;
  double xin = x0, xmul = xin + col_in, xtree = xmul + col_mul, xout = xtree + col_tree;
  double head = 52;
  double top = y0 + head, bottom = y0 + h;

  /* Column headings. */
  text(c, c->bold, "Inputs", xin + 4, y0, 0, &p->fg, 0.9, col_in - 8);
  text(c, c->bold, "Multipliers", xmul + col_mul / 2, y0, 0.5, &p->fg, 0.9, col_mul - 4);
  g_autofree char *mul_head = g_strdup_printf("%d a cycle", MAX(1, cfg->multipliers));
  text(c, c->small, mul_head, xmul + col_mul / 2, y0 + 18, 0.5, &p->fg, 0.6, col_mul - 4);
  g_autofree char *tree_title = g_strdup_printf("%d-way merge tree", cfg->merge_ways);
  text(c, c->bold, tree_title, xtree + col_tree / 2, y0, 0.5, &p->fg, 0.9, col_tree - 4);
  g_autofree char *tree_sub =
    g_strdup_printf("%s inputs this round · FIFO fill per layer below", frontier_sparch_draw_grp(round->inputs));
  text(c, c->small, tree_sub, xtree + col_tree / 2, y0 + 18, 0.5, &p->fg, 0.6, col_tree - 4);
  text(c, c->bold, "Output", xout + col_out / 2, y0, 0.5, &p->fg, 0.9, col_out - 4);

  /* Inputs: the round's partial matrices (from the multipliers) and intermediates (from DRAM). */
  int64_t node = self->round_node != NULL ? self->round_node[r] : -1;
  int64_t n_leaf = round->leaf_inputs, n_inter = round->inputs - round->leaf_inputs;
  g_autofree char *in_sub =
    g_strdup_printf("%s %s", frontier_sparch_draw_grp(n_leaf), cfg->condense ? "condensed columns" : "columns of A");
  text(c, c->small, in_sub, xin + 4, y0 + 18, 0, &p->accent, 1.0, col_in - 8);
  g_autofree char *in_sub2 = g_strdup_printf("%s from DRAM", frontier_sparch_draw_grp(n_inter));
  text(c, c->small, in_sub2, xin + 4, y0 + 32, 0, &p->dram, 1.0, col_in - 8);
  double row_h = 7;
  int max_rows = (int)MAX(1, (bottom - top - 16) / row_h);
  int64_t shown = 0, total_in = round->inputs;
  double bar_w = col_in - 24;
  double max_log = 1;
  if (node >= 0) {
    for (int64_t k = self->child_start[node]; k < self->child_start[node + 1]; k++)
      max_log = MAX(max_log, sqrt((double)t->nodes[self->children[k]].size));
  }
  double leaf_y_sum = 0, inter_y_sum = 0;
  int64_t leaf_drawn = 0, inter_drawn = 0;
  for (int64_t k = 0; k < MIN(total_in, (int64_t)max_rows); k++) {
    gboolean is_leaf = k < n_leaf;
    double len = bar_w * 0.6;
    if (node >= 0) {
      /* The stored children: leaves first in the list order, then intermediates. */
      int64_t cs = self->child_start[node], ce = self->child_start[node + 1];
      if (cs + k < ce) {
        const FrSparchScheduleNode *ch = &t->nodes[self->children[cs + k]];
        is_leaf = ch->round < 0;
        len = MAX(3, bar_w * sqrt((double)ch->size) / max_log);
      }
    }
    double yy = top + 4 + k * row_h;
    frontier_sparch_draw_set_rgba(cr, is_leaf ? &p->accent : &p->dram, 0.85);
    cairo_rectangle(cr, xin + 4, yy, len, row_h - 2.5);
    cairo_fill(cr);
    if (is_leaf) {
      leaf_y_sum += yy;
      leaf_drawn++;
    } else {
      inter_y_sum += yy;
      inter_drawn++;
    }
    shown++;
  }
  if (total_in > shown) {
    g_autofree char *more = g_strdup_printf("+ %s more", frontier_sparch_draw_grp(total_in - shown));
    text(c, c->small, more, xin + 4, top + 4 + shown * row_h, 0, &p->fg, 0.6, col_in - 8);
  }

  /* Multiplier array: a grid of cells, the busy share lit (shifting while playing). */
  int m = MAX(1, cfg->multipliers);
  int side = (int)ceil(sqrt((double)m));
  double cell = MIN((col_mul - 24) / side, (bottom - top - 60) / side);
  cell = CLAMP(cell, 4, 22);
  double gx = xmul + (col_mul - side * cell) / 2, gy = top + 8;
  double busy = round->cycles > 0 ? (double)round->multiply_cycles / round->cycles : 0;
  int lit = (int)lround(CLAMP(busy, 0, 1) * m);
  int shift = (int)(self->frame * 2) % m;
  for (int k = 0; k < m; k++) {
    int gxk = k % side, gyk = k / side;
    gboolean on = ((k + shift) % m) < lit;
    frontier_sparch_draw_set_rgba(cr, on ? &p->active : &p->fg, on ? 0.9 : 0.12);
    rounded_rect(cr, gx + gxk * cell + 1, gy + gyk * cell + 1, cell - 2, cell - 2, 2);
    cairo_fill(cr);
  }
  double grid_bottom = gy + side * cell;
  g_autofree char *mul_text = g_strdup_printf("%.0f %% busy", 100 * CLAMP(busy, 0, 1));
  text(c, c->small, mul_text, xmul + col_mul / 2, grid_bottom + 4, 0.5, &p->fg, 0.75, col_mul - 4);
  g_autofree char *mults = si((double)round->multiplies);
  g_autofree char *mul_text2 = g_strdup_printf("%s products", mults);
  text(c, c->small, mul_text2, xmul + col_mul / 2, grid_bottom + 19, 0.5, &p->fg, 0.6, col_mul - 4);

  /* Arrows: leaves → multipliers, multipliers → tree, DRAM intermediates → tree. */
  double mid_mul = gy + side * cell / 2;
  if (leaf_drawn > 0)
    arrow(c, xin + col_in - 16, leaf_y_sum / leaf_drawn, gx - 4, mid_mul, &p->accent, 0.6);

  /* Merge tree: layers left to right, mergers as boxes filled to their layer's FIFO level. */
  int L = t->n_layers > 0 ? t->n_layers : fr_sparch_config_layers(cfg);
  L = CLAMP(L, 1, FR_SPARCH_MAX_LAYERS);
  double tree_h = (bottom - top) * 0.62, gauge_top = top + tree_h + 8, gauge_h = bottom - gauge_top - 34;
  double lw = col_tree / L;
  double prev_y[4096];
  int prev_n = 0;
  double root_y = top + tree_h / 2, root_x = xtree + col_tree / 2;
  for (int l = 0; l < L; l++) {
    int n_merg = MAX(1, cfg->merge_ways >> (l + 1));
    double cx = xtree + (l + 0.5) * lw;
    double slot = tree_h / n_merg;
    double bh = CLAMP(slot * 0.7, 2, 22), bw = CLAMP(lw * 0.45, 6, 30);
    double fill = fifo_fill(self, sample, frac, l);
    double cur_y[4096];
    int cur_n = MIN(n_merg, 4096);
    for (int k = 0; k < cur_n; k++) {
      double cy = top + (k + 0.5) * slot;
      cur_y[k] = cy;
      /* Edges from the two children of the previous layer. */
      if (l > 0) {
        frontier_sparch_draw_set_rgba(cr, &p->fg, 0.22);
        cairo_set_line_width(cr, 1);
        for (int e = 0; e < 2; e++) {
          int child = 2 * k + e;
          if (child < prev_n) {
            cairo_move_to(cr, cx - lw + bw / 2, prev_y[child]);
            cairo_line_to(cr, cx - bw / 2, cy);
          }
        }
        cairo_stroke(cr);
      } else if (leaf_drawn > 0 || inter_drawn > 0) {
        frontier_sparch_draw_set_rgba(cr, &p->fg, 0.1);
        cairo_set_line_width(cr, 1);
        cairo_move_to(cr, xtree, cy);
        cairo_line_to(cr, cx - bw / 2, cy);
        cairo_stroke(cr);
      }
      frontier_sparch_draw_set_rgba(cr, &p->fg, 0.12);
      rounded_rect(cr, cx - bw / 2, cy - bh / 2, bw, bh, MIN(3, bh / 3));
      cairo_fill(cr);
      if (fill > 0) {
        frontier_sparch_draw_set_rgba(cr, &p->accent, 0.9);
        cairo_save(cr);
        rounded_rect(cr, cx - bw / 2, cy - bh / 2, bw, bh, MIN(3, bh / 3));
        cairo_clip(cr);
        cairo_rectangle(cr, cx - bw / 2, cy - bh / 2, bw * fill, bh);
        cairo_fill(cr);
        cairo_restore(cr);
      }
    }
    memcpy(prev_y, cur_y, cur_n * sizeof(double));
    prev_n = cur_n;
    if (l == L - 1) {
      root_y = cur_y[0];
      root_x = cx + bw / 2;
    }

    /* The layer's FIFO gauge. */
    double gw = CLAMP(lw * 0.4, 8, 26);
    double gx0 = cx - gw / 2;
    frontier_sparch_draw_set_rgba(cr, &p->fg, 0.1);
    rounded_rect(cr, gx0, gauge_top, gw, MAX(gauge_h, 4), 3);
    cairo_fill(cr);
    frontier_sparch_draw_set_rgba(cr, &p->accent, 0.9);
    double fh = MAX(gauge_h, 4) * fill;
    cairo_rectangle(cr, gx0, gauge_top + MAX(gauge_h, 4) - fh, gw, fh);
    cairo_fill(cr);
    g_autofree char *lab = g_strdup_printf("L%d %.0f%%", l + 1, 100 * fill);
    text(c, c->small, lab, cx, gauge_top + MAX(gauge_h, 4) + 2, 0.5, &p->fg, 0.75, lw);
    g_autofree char *el = si((double)(l < round->n_layers ? round->layer_in[l] : 0));
    text(c, c->small, el, cx, gauge_top + MAX(gauge_h, 4) + 16, 0.5, &p->fg, 0.5, lw);
  }
  if (inter_drawn > 0)
    arrow(c, xin + col_in - 16, inter_y_sum / inter_drawn, xtree + 2, top + tree_h * 0.85, &p->dram, 0.6);
  arrow(c, xmul + col_mul - 6, mid_mul, xtree + 2, top + tree_h / 2, &p->accent, 0.6);

  /* Output. */
  double ob_w = col_out - 12, ob_h = 62;
  double obx = xout + 6, oby = root_y - ob_h / 2;
  arrow(c, root_x + 2, root_y, obx - 2, root_y, round->final ? &p->hit : &p->dram, 0.8);
  frontier_sparch_draw_set_rgba(cr, round->final ? &p->hit : &p->dram, 0.18);
  rounded_rect(cr, obx, oby, ob_w, ob_h, 6);
  cairo_fill(cr);
  g_autofree char *out_n = si((double)round->elements_out);
  text(c, c->bold, round->final ? "C" : "Partial", obx + ob_w / 2, oby + 6, 0.5, &p->fg, 0.9, ob_w);
  g_autofree char *out_t = g_strdup_printf("%s elements", out_n);
  text(c, c->small, out_t, obx + ob_w / 2, oby + 25, 0.5, &p->fg, 0.75, ob_w - 4);
  text(c, c->small, "to DRAM", obx + ob_w / 2, oby + 40, 0.5, &p->fg, 0.6, ob_w - 4);
}

/* ---- schedule panel ---- */

static void
draw_schedule(FrontierSparchPipeline *self, Ctx *c, double x0, double y0, double w, double h, int64_t cur_round)
{
  cairo_t *cr = c->cr;
  const FrSparchTrace *t = self->trace;
  FrontierSparchPalette *p = &c->pal;
  g_autofree char *title = g_strdup_printf("%s schedule · %s rounds",
                                           self->result->config.huffman ? "Huffman" : "Index-order",
                                           frontier_sparch_draw_grp(self->result->n_rounds));
  text(c, c->bold, title, x0, y0, 0, &p->fg, 0.9, w);
  double top = y0 + 26, bottom = y0 + h - 6;
  if (self->n_nodes == 0) {
    text(c, c->small, "No schedule in the trace", x0, top + 8, 0, &p->fg, 0.6, w);
    return;
  }
  double dy = self->max_depth > 0 ? (bottom - top) / self->max_depth : 0;
  /* Edges. */
  cairo_set_line_width(cr, 1);
  for (int64_t i = 0; i < self->n_nodes; i++) {
    int32_t par = t->nodes[i].parent;
    if (par < 0 || par >= self->n_nodes)
      continue;
    int32_t pr = t->nodes[par].round;
    double a = pr < cur_round ? 0.45 : pr == cur_round ? 0.95 : 0.15;
    /* Fans of many leaves would merge into solid wedges: thin them out. */
    if (t->nodes[i].round < 0) {
      int64_t fan = self->child_start[par + 1] - self->child_start[par];
      a *= CLAMP(6.0 / MAX(fan, 1), 0.15, 1.0);
    }
    const GdkRGBA *col = pr == cur_round ? &p->active : pr < cur_round ? &p->accent : &p->fg;
    frontier_sparch_draw_set_rgba(cr, col, a);
    cairo_set_line_width(cr, pr == cur_round ? 1.6 : 1);
    cairo_move_to(cr, x0 + self->node_x[i] * w, top + self->node_depth[i] * dy);
    cairo_line_to(cr, x0 + self->node_x[par] * w, top + self->node_depth[par] * dy);
    cairo_stroke(cr);
  }
  /* Nodes: internal ones sized by log(size). */
  double max_log = 1;
  for (int64_t i = 0; i < self->n_nodes; i++)
    max_log = MAX(max_log, log1p((double)t->nodes[i].size));
  for (int64_t i = 0; i < self->n_nodes; i++) {
    const FrSparchScheduleNode *nd = &t->nodes[i];
    double x = x0 + self->node_x[i] * w, y = top + self->node_depth[i] * dy;
    if (nd->round < 0) {
      int32_t pr = nd->parent >= 0 && nd->parent < self->n_nodes ? t->nodes[nd->parent].round : G_MAXINT32;
      const GdkRGBA *col = pr <= cur_round ? &p->accent : &p->fg;
      frontier_sparch_draw_set_rgba(cr, col, pr <= cur_round ? 0.8 : 0.15);
      cairo_arc(cr, x, y, pr <= cur_round ? 1.6 : 1.2, 0, 2 * G_PI);
      cairo_fill(cr);
      continue;
    }
    double rad = 2.5 + 4.5 * log1p((double)nd->size) / max_log;
    const GdkRGBA *col = nd->round == cur_round ? &p->active : nd->round < cur_round ? &p->accent : &p->fg;
    frontier_sparch_draw_set_rgba(cr, col, nd->round <= cur_round ? 1.0 : 0.35);
    cairo_arc(cr, x, y, rad, 0, 2 * G_PI);
    if (nd->round <= cur_round)
      cairo_fill(cr);
    else {
      cairo_set_line_width(cr, 1.2);
      cairo_stroke(cr);
    }
    if (nd->round == cur_round) {
      frontier_sparch_draw_set_rgba(cr, &p->active, 0.4);
      cairo_set_line_width(cr, 2);
      cairo_arc(cr, x, y, rad + 3.5, 0, 2 * G_PI);
      cairo_stroke(cr);
    }
  }
}

/* ---- prefetch panel ---- */

static void
draw_prefetch(FrontierSparchPipeline *self, Ctx *c, double x0, double y0, double w, double h, double cycle)
{
  cairo_t *cr = c->cr;
  const FrSparchTrace *t = self->trace;
  const FrSparchResult *res = self->result;
  FrontierSparchPalette *p = &c->pal;
  int64_t lines = res->prefetch_hits + res->prefetch_misses;
  g_autofree char *title = NULL;
  if (res->config.prefetch == FR_SPARCH_PREFETCH_NONE)
    title = g_strdup("Row prefetcher · off");
  else
    title = g_strdup_printf("Row prefetcher (%s) · %.1f %% hits", res->config.prefetch == FR_SPARCH_PREFETCH_MIN ? "MIN" : "LRU",
                            lines > 0 ? 100.0 * res->prefetch_hits / lines : 0);
  text(c, c->bold, title, x0, y0, 0, &p->fg, 0.9, w);
  double top = y0 + 26, bottom = y0 + h - 22;
  if (t->n_bins <= 0 || t->bin_hits == NULL || t->bin_misses == NULL) {
    text(c, c->small, "No prefetch samples in the trace", x0, top + 8, 0, &p->fg, 0.6, w);
    return;
  }
  double ph = MAX(bottom - top, 10);
  /* The current bin: the last whose first request came at or before the cycle. */
  int64_t cur = -1;
  if (t->bin_cycle != NULL) {
    int64_t lo = 0, hi = t->n_bins - 1;
    while (lo <= hi) {
      int64_t mid = (lo + hi) / 2;
      if ((double)t->bin_cycle[mid] <= cycle) {
        cur = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
  }
  /* One column per pixel run of bins: hits from the bottom, misses above (share of the bin's lines). */
  int64_t n = t->n_bins;
  int cols = (int)MAX(1, MIN((double)n, w));
  double cw = w / cols;
  for (int k = 0; k < cols; k++) {
    int64_t b0 = (int64_t)k * n / cols, b1 = MAX(b0 + 1, (int64_t)(k + 1) * n / cols);
    double hits = 0, misses = 0;
    for (int64_t b = b0; b < b1; b++) {
      hits += t->bin_hits[b];
      misses += t->bin_misses[b];
    }
    double tot = hits + misses;
    if (tot <= 0)
      continue;
    double alpha = cur >= 0 && b0 > cur ? 0.3 : 0.9;
    double hh = ph * hits / tot;
    frontier_sparch_draw_set_rgba(cr, &p->hit, alpha);
    cairo_rectangle(cr, x0 + k * cw, top + ph - hh, MAX(cw - (cw > 3 ? 1 : 0), 0.8), hh);
    cairo_fill(cr);
    frontier_sparch_draw_set_rgba(cr, &p->miss, alpha);
    cairo_rectangle(cr, x0 + k * cw, top, MAX(cw - (cw > 3 ? 1 : 0), 0.8), ph - hh);
    cairo_fill(cr);
  }
  if (cur >= 0) {
    double cx = x0 + (cur + 0.5) * w / n;
    frontier_sparch_draw_set_rgba(cr, &p->fg, 0.9);
    cairo_set_line_width(cr, 2);
    cairo_move_to(cr, cx, top - 3);
    cairo_line_to(cr, cx, top + ph + 3);
    cairo_stroke(cr);
  }
  /* Legend under the plot. */
  double ly = top + ph + 4;
  frontier_sparch_draw_set_rgba(cr, &p->hit, 1);
  cairo_rectangle(cr, x0, ly + 4, 9, 9);
  cairo_fill(cr);
  double lw = text(c, c->small, "hits", x0 + 13, ly, 0, &p->fg, 0.75, 0);
  (void)lw;
  frontier_sparch_draw_set_rgba(cr, &p->miss, 1);
  cairo_rectangle(cr, x0 + 56, ly + 4, 9, 9);
  cairo_fill(cr);
  text(c, c->small, "misses (per request bin, share of lines)", x0 + 69, ly, 0, &p->fg, 0.75, w - 69);
}

static void
frontier_sparch_pipeline_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
  FrontierSparchPipeline *self = FRONTIER_SPARCH_PIPELINE(widget);
  int width = gtk_widget_get_width(widget), height = gtk_widget_get_height(widget);
  if (width < 40 || height < 40)
    return;
  Ctx c = { 0 };
  frontier_sparch_draw_get_palette(widget, &c.pal);

  int64_t sample, r;
  double cycle, frac;
  if (self->trace == NULL || !frame_state(self, &sample, &r, &cycle, &frac)) {
    frontier_sparch_draw_placeholder(widget, snapshot, self->placeholder, 24);
    return;
  }

  c.cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, width, height));
  c.normal = gtk_widget_create_pango_layout(widget, NULL);
  c.small = gtk_widget_create_pango_layout(widget, NULL);
  c.bold = gtk_widget_create_pango_layout(widget, NULL);
  const PangoFontDescription *base = pango_context_get_font_description(gtk_widget_get_pango_context(widget));
  PangoFontDescription *small = pango_font_description_copy(base);
  pango_font_description_set_size(small, (int)(pango_font_description_get_size(base) * 0.82));
  pango_layout_set_font_description(c.small, small);
  PangoFontDescription *bold = pango_font_description_copy(base);
  pango_font_description_set_weight(bold, PANGO_WEIGHT_BOLD);
  pango_font_description_set_size(bold, (int)(pango_font_description_get_size(base) * 0.92));
  pango_layout_set_font_description(c.bold, bold);
  pango_font_description_free(small);
  pango_font_description_free(bold);

  double pad = 16;
  double top_h = MAX(200, (height - 2 * pad) * 0.56);
  draw_dataflow(self, &c, pad, pad, width - 2 * pad, top_h, sample, r, frac);
  double by = pad + top_h + 18;
  double bh = height - by - pad;
  frontier_sparch_draw_set_rgba(c.cr, &c.pal.fg, 0.12);
  cairo_set_line_width(c.cr, 1);
  cairo_move_to(c.cr, pad, by - 9.5);
  cairo_line_to(c.cr, width - pad, by - 9.5);
  cairo_stroke(c.cr);
  double sw = (width - 3 * pad) * 0.55;
  if (bh > 60) {
    draw_schedule(self, &c, pad, by, sw, bh, r);
    draw_prefetch(self, &c, 2 * pad + sw, by, width - 3 * pad - sw, bh, cycle);
  }

  g_object_unref(c.normal);
  g_object_unref(c.small);
  g_object_unref(c.bold);
  cairo_destroy(c.cr);
}

static void
frontier_sparch_pipeline_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                                 int *natural, int *minimum_baseline, int *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = 480;
    *natural = 900;
  } else {
    *minimum = 420;
    *natural = 560;
  }
}

static void
restyle_cb(FrontierSparchPipeline *self)
{
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void
frontier_sparch_pipeline_dispose(GObject *object)
{
  FrontierSparchPipeline *self = FRONTIER_SPARCH_PIPELINE(object);
  g_signal_handlers_disconnect_by_data(adw_style_manager_get_default(), self);
  G_OBJECT_CLASS(frontier_sparch_pipeline_parent_class)->dispose(object);
}

static void
frontier_sparch_pipeline_finalize(GObject *object)
{
  FrontierSparchPipeline *self = FRONTIER_SPARCH_PIPELINE(object);
  clear_layout(self);
  g_free(self->placeholder);
  G_OBJECT_CLASS(frontier_sparch_pipeline_parent_class)->finalize(object);
}

static void
frontier_sparch_pipeline_class_init(FrontierSparchPipelineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = frontier_sparch_pipeline_dispose;
  object_class->finalize = frontier_sparch_pipeline_finalize;
  widget_class->snapshot = frontier_sparch_pipeline_snapshot;
  widget_class->measure = frontier_sparch_pipeline_measure;
  gtk_widget_class_set_css_name(widget_class, "sparchpipeline");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
frontier_sparch_pipeline_init(FrontierSparchPipeline *self)
{
  g_signal_connect_swapped(adw_style_manager_get_default(), "notify::dark", G_CALLBACK(restyle_cb), self);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, "Pipeline", -1);
}

GtkWidget *
frontier_sparch_pipeline_new(void)
{
  return g_object_new(FRONTIER_TYPE_SPARCH_PIPELINE, NULL);
}

static void
update_description(FrontierSparchPipeline *self)
{
  g_autofree char *desc = frontier_sparch_pipeline_describe_frame(self);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                 desc != NULL ? desc : (self->placeholder != NULL ? self->placeholder : ""), -1);
}

void
frontier_sparch_pipeline_set_result(FrontierSparchPipeline *self, const FrSparchResult *result)
{
  g_return_if_fail(FRONTIER_IS_SPARCH_PIPELINE(self));
  self->result = result;
  self->trace = result != NULL ? result->trace : NULL;
  self->frame = 0;
  build_layout(self);
  update_description(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

void
frontier_sparch_pipeline_set_frame(FrontierSparchPipeline *self, double frame)
{
  g_return_if_fail(FRONTIER_IS_SPARCH_PIPELINE(self));
  gint64 n = frontier_sparch_pipeline_get_n_frames(self);
  frame = n > 0 ? CLAMP(frame, 0, (double)(n - 1)) : 0;
  if (frame == self->frame)
    return;
  int64_t old = (int64_t)self->frame;
  self->frame = frame;
  if ((int64_t)frame != old)
    update_description(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}

double
frontier_sparch_pipeline_get_frame(FrontierSparchPipeline *self)
{
  g_return_val_if_fail(FRONTIER_IS_SPARCH_PIPELINE(self), 0);
  return self->frame;
}

void
frontier_sparch_pipeline_set_placeholder(FrontierSparchPipeline *self, const char *text)
{
  g_return_if_fail(FRONTIER_IS_SPARCH_PIPELINE(self));
  g_free(self->placeholder);
  self->placeholder = g_strdup(text);
  update_description(self);
  gtk_widget_queue_draw(GTK_WIDGET(self));
}
