/* frontier-demo-draw.c: everything the demo draws: the layout, the three squares with their labels and
 * numbers, the thumbnails and status, the budget text and the front chart. Text is the built-in 5x7
 * font at an integer scale chosen from the window size. */
#include "frontier-demo-app.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- colours ---- */
static const SDL_Color C_BG = { 24, 25, 30, 255 }, C_TEXT = { 232, 232, 236, 255 },
                       C_DIM = { 150, 155, 165, 255 }, C_TEACHER = { 120, 175, 255, 255 },
                       C_STUDENT = { 255, 180, 90, 255 }, C_PAPER = { 250, 249, 245, 255 },
                       C_INK = { 28, 30, 40, 255 }, C_GRID = { 70, 74, 86, 255 }, C_WARN = { 255, 120, 110, 255 };

void demo_upload_gray(SDL_Texture *t, const guint8 *gray, int w, int h) {
  Uint32 *px = g_new(Uint32, w * h);
  for (int i = 0; i < w * h; i++) px[i] = 0xff000000u | (Uint32)gray[i] << 16 | (Uint32)gray[i] << 8 | gray[i];
  SDL_UpdateTexture(t, NULL, px, w * (int)sizeof(Uint32));
  g_free(px);
}

void demo_upload_canvas(App *a) {
  Uint32 *px = g_new(Uint32, CANVAS * CANVAS);
  for (int i = 0; i < CANVAS * CANVAS; i++) {
    int v = a->ink[i];
    Uint32 r = (C_PAPER.r * (255 - v) + C_INK.r * v) / 255, g = (C_PAPER.g * (255 - v) + C_INK.g * v) / 255,
           b = (C_PAPER.b * (255 - v) + C_INK.b * v) / 255;
    px[i] = 0xff000000u | r << 16 | g << 8 | b;
  }
  SDL_UpdateTexture(a->canvas_tex, NULL, px, CANVAS * (int)sizeof(Uint32));
  g_free(px);
}

/* ---- rendering helpers ---- */

static void set_color(App *a, SDL_Color c) { SDL_SetRenderDrawColor(a->ren, c.r, c.g, c.b, c.a); }

static void fill(App *a, const SDL_Rect *r, SDL_Color c) {
  set_color(a, c);
  SDL_RenderFillRect(a->ren, r);
}

static int text(App *a, int x, int y, int scale, SDL_Color c, const char *fmt, ...) G_GNUC_PRINTF(6, 7);
static int text(App *a, int x, int y, int scale, SDL_Color c, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  g_vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return demo_font_draw(a->font, x, y, scale, c, buf);
}

/* Right-aligned at x. */
static void text_right(App *a, int x, int y, int scale, SDL_Color c, const char *s) {
  demo_font_draw(a->font, x - demo_font_width(s, scale), y, scale, c, s);
}

static void text_center(App *a, const SDL_Rect *r, int scale, SDL_Color c, const char *s) {
  demo_font_draw(a->font, r->x + (r->w - demo_font_width(s, scale)) / 2, r->y + (r->h - DEMO_GLYPH_H * scale) / 2,
                 scale, c, s);
}

static void frame_rect(App *a, const SDL_Rect *r, SDL_Color c, int width) {
  set_color(a, c);
  for (int i = 0; i < width; i++) {
    SDL_Rect o = { r->x - 1 - i, r->y - 1 - i, r->w + 2 + 2 * i, r->h + 2 + 2 * i };
    SDL_RenderDrawRect(a->ren, &o);
  }
}

/* ---- layout ---- */

/* Three equal squares in a row (sketch | original | compressed), a title bar above, a label above and
 * two rows of numbers below each square, and a band at the bottom: thumbnails and status (left), the
 * budget and the front chart (right). The text scale follows the squares' width, so that a label of
 * about 34 characters fits one square, from a small window to full screen. */
void demo_layout(App *a) {
  int w, h;
  SDL_GetRendererOutputSize(a->ren, &w, &h);
  Layout *l = &a->lay;
  int side_w = (w - 4 * MAX(8, w / 100)) / 3;
  l->ts = CLAMP(MIN(side_w / (34 * DEMO_ADVANCE), h / 300), 1, 4);
  l->line = DEMO_LINE * l->ts;
  l->pad = MAX(8, l->line * 2 / 3);
  int title_h = DEMO_LINE * (l->ts + 1) + 2 * l->pad;
  int above = l->line + l->pad / 2, below = l->pad / 2 + 2 * l->line + l->pad, band_min = 10 * l->line;
  int gap = 2 * l->pad; /* between the squares, so the numbers under neighbours do not run together */
  int side = MIN((w - 2 * l->pad - 2 * gap) / 3, h - title_h - above - below - band_min - l->pad);
  side = MAX(side, 64);
  int x0 = (w - 3 * side - 2 * gap) / 2;
  l->label_y = title_h;
  int y = title_h + above;
  l->canvas = (SDL_Rect){ x0, y, side, side };
  l->teacher = (SDL_Rect){ x0 + side + gap, y, side, side };
  l->student = (SDL_Rect){ x0 + 2 * (side + gap), y, side, side };
  l->info_y = y + side + l->pad / 2;
  int band_y = y + side + below;
  int band_h = MAX(3 * l->line, h - band_y - l->pad);
  l->help = (SDL_Rect){ x0, band_y, side, band_h };
  l->chart = (SDL_Rect){ l->teacher.x, band_y, 2 * side + gap, band_h };
}

/* Draws s at (x, y), shortened with "..." when wider than max_w; returns the x after it. */
static int text_fit(App *a, int x, int y, int scale, SDL_Color c, int max_w, const char *s) {
  int max_chars = (max_w / scale + 1) / DEMO_ADVANCE;
  if ((int)strlen(s) <= max_chars) return demo_font_draw(a->font, x, y, scale, c, s);
  if (max_chars < 4) return x;
  char buf[256];
  g_snprintf(buf, MIN((int)sizeof buf - 3, max_chars - 2), "%s", s);
  g_strlcat(buf, "...", sizeof buf);
  return demo_font_draw(a->font, x, y, scale, c, buf);
}

/* A row under a square: left text and right-aligned text. */
static void info_row(App *a, const SDL_Rect *r, int row, SDL_Color lc, const char *left, SDL_Color rc,
                     const char *right) {
  const Layout *l = &a->lay;
  int y = l->info_y + row * l->line;
  int rw = demo_font_width(right, l->ts);
  text_fit(a, r->x, y, l->ts, lc, r->w - rw - DEMO_ADVANCE * l->ts, left);
  text_right(a, r->x + r->w, y, l->ts, rc, right);
}

/* ---- panels ---- */

static void draw_title(App *a) {
  const Layout *l = &a->lay;
  int s = l->ts + 1, right = l->student.x + l->student.w;
  char fps[32];
  if (a->fps > 0) g_snprintf(fps, sizeof fps, "%.0f FPS", a->fps);
  else g_strlcpy(fps, "-- FPS", sizeof fps);
  int fx = right - demo_font_width(fps, s);
  int x = text(a, l->canvas.x, l->pad, s, C_TEXT, "GAN Compression");
  x += 2 * DEMO_ADVANCE * l->ts;
  text_fit(a, x, l->pad + (s - l->ts) * DEMO_GLYPH_H, l->ts, C_DIM, fx - x - 2 * DEMO_ADVANCE * l->ts,
           "original vs compressed generator, live on this CPU");
  demo_font_draw(a->font, fx, l->pad, s, C_TEXT, fps);
}

static void draw_brush_outline(App *a) {
  float r = a->brush * a->lay.canvas.w / CANVAS * (a->pen == 2 ? 3 : 1);
  set_color(a, (SDL_Color){ 200, 60, 60, 255 });
  for (int i = 0; i < 48; i++) {
    double t = i * 2 * G_PI / 48;
    SDL_RenderDrawPoint(a->ren, a->mouse_x + (int)lround(r * cos(t)), a->mouse_y + (int)lround(r * sin(t)));
  }
}

static void draw_canvas_panel(App *a) {
  const Layout *l = &a->lay;
  const SDL_Rect *c = &l->canvas;
  text_fit(a, c->x, l->label_y, l->ts, C_TEXT, c->w, "Sketch (left button draws, right erases)");
  frame_rect(a, c, C_GRID, 1);
  SDL_RenderCopy(a->ren, a->canvas_tex, NULL, c);
  if (a->strokes == 0) {
    SDL_Rect hint = { c->x, c->y + c->h / 2 - l->line, c->w, l->line };
    text_center(a, &hint, l->ts, C_DIM, "Draw an item's outline here");
    hint.y += l->line;
    text_center(a, &hint, l->ts, C_DIM, "or press T for a test sketch");
  }
  if (demo_in_rect(c, a->mouse_x, a->mouse_y)) draw_brush_outline(a);
  char brush[48];
  g_snprintf(brush, sizeof brush, "brush %.1f: [ ] or wheel", a->brush);
  info_row(a, c, 0, C_DIM, "C clear  T test sketch", C_DIM, "Ctrl+Z undo");
  info_row(a, c, 1, C_DIM, "", C_DIM, brush);
}

static void format_ms(double ms, char *buf, size_t len) {
  if (ms < 0) g_strlcpy(buf, "-- ms", len);
  else g_snprintf(buf, len, ms < 10 ? "%.2f ms" : "%.1f ms", ms);
}

/* One output square: its label above, the generated item (or why there is none) inside. */
static void draw_output(App *a, const SDL_Rect *r, SDL_Texture *tex, SDL_Color accent, const char *label,
                        const char *model) {
  const Layout *l = &a->lay;
  int x = text(a, r->x, l->label_y, l->ts, accent, "%s", label);
  x += DEMO_ADVANCE * l->ts;
  text_fit(a, x, l->label_y, l->ts, C_TEXT, r->x + r->w - x, model);
  fill(a, r, (SDL_Color){ 0, 0, 0, 255 });
  frame_rect(a, r, accent, MAX(1, l->ts / 2));
  if (a->strokes > 0 && a->have_res) SDL_RenderCopy(a->ren, tex, NULL, r);
  else text_center(a, r, l->ts, C_DIM, a->strokes > 0 ? "synthesising..." : "waiting for a sketch");
}

static void format_fid(double fid, char *buf, size_t len) {
  if (fid >= 0) g_snprintf(buf, len, "FID-like %.1f", fid);
  else g_strlcpy(buf, "FID-like n/a", len);
}

/* Under each output: measured latency and true MACs, then quality and the size that matters. */
static void draw_outputs(App *a) {
  const DemoCandidate *c = demo_selected(a);
  const SDL_Rect *t = &a->lay.teacher, *s = &a->lay.student;
  char buf[64], ms[32], macs[32], fid[32];
  g_snprintf(buf, sizeof buf, "ResNet teacher, ngf %d", fr_gan_generator_max(a->teacher)->ch[0]);
  draw_output(a, t, a->teacher_tex, C_TEACHER, "Original", buf);
  draw_output(a, s, a->student_tex, C_STUDENT, "Compressed", c->name);

  format_ms(demo_latency_median(&a->lat_teacher), ms, sizeof ms);
  demo_format_count(a->teacher_cost.macs, macs, sizeof macs);
  g_strlcat(macs, " MACs", sizeof macs);
  info_row(a, t, 0, C_TEXT, ms, C_TEXT, macs);
  format_fid(a->front->teacher_fid, fid, sizeof fid);
  demo_format_count(a->teacher_cost.params, buf, sizeof buf);
  g_strlcat(buf, " params", sizeof buf);
  info_row(a, t, 1, C_DIM, fid, C_DIM, buf);

  format_ms(demo_latency_median(&a->lat_student), ms, sizeof ms);
  demo_format_count(c->cost.macs, macs, sizeof macs);
  g_strlcat(macs, " MACs", sizeof macs);
  info_row(a, s, 0, C_TEXT, ms, C_TEXT, macs);
  format_fid(c->fid_like, fid, sizeof fid);
  g_snprintf(buf, sizeof buf, "%.1fx fewer MACs", a->teacher_cost.macs / c->cost.macs);
  info_row(a, s, 1, C_DIM, fid, C_STUDENT, buf);
}

/* Thumbnails of what the model sees (the 32x32 sketch) and, for a test sketch, the real item; the
 * status line at the bottom. */
static void draw_help(App *a) {
  const Layout *l = &a->lay;
  const SDL_Rect *h = &l->help;
  int th = MIN(h->h - 4 * l->line, (h->w - l->pad) / 2); /* label above, class below, status */
  if (th >= 24) {
    SDL_Rect in = { h->x, h->y + l->line, th, th }, real = { h->x + th + l->pad, h->y + l->line, th, th };
    text_fit(a, in.x, h->y, l->ts, C_DIM, th + l->pad, "Model input");
    frame_rect(a, &in, C_GRID, 1);
    SDL_RenderCopy(a->ren, a->input_tex, NULL, &in);
    if (a->from_test && a->test.data) {
      text_fit(a, real.x, h->y, l->ts, C_DIM, h->x + h->w - real.x, "Real item");
      frame_rect(a, &real, C_GRID, 1);
      SDL_RenderCopy(a->ren, a->real_tex, NULL, &real);
      text_fit(a, real.x, real.y + real.h + l->pad / 2, l->ts, C_DIM, h->x + h->w - real.x,
               fr_fmnist_class_names[a->test.data->labels[a->test_index]]);
    }
  }
  int y = h->y + h->h - l->line;
  if (g_get_monotonic_time() < a->status_until)
    text_fit(a, h->x, y, l->ts, a->status_warn ? C_WARN : C_TEXT, h->w, a->status);
  else if (a->strokes > 0 && demo_synth_busy(a->synth))
    text(a, h->x, y, l->ts, C_DIM, "synthesising...");
}

/* ---- the front chart: MACs (log) against FID-like, the selected budget ringed ---- */

typedef struct {
  SDL_Rect plot;
  double lx0, lx1, y0, y1;  /* log10 MACs and FID-like ranges */
  gboolean has_fid;
} Chart;

static void chart_setup(const App *a, Chart *c) {
  const Layout *l = &a->lay;
  const DemoFront *f = a->front;
  int top = l->chart.y + 3 * l->line + l->pad / 2, left = l->chart.x + 6 * DEMO_ADVANCE * l->ts;
  c->plot = (SDL_Rect){ left, top, l->chart.x + l->chart.w - left - l->pad, l->chart.y + l->chart.h - top - 3 * l->line };
  double m0 = a->teacher_cost.macs, m1 = m0, y0 = G_MAXDOUBLE, y1 = -G_MAXDOUBLE;
  if (f->teacher_fid >= 0) y0 = y1 = f->teacher_fid;
  for (int i = 0; i < f->n_cand; i++) {
    m0 = MIN(m0, f->cand[i].cost.macs);
    m1 = MAX(m1, f->cand[i].cost.macs);
    if (f->cand[i].fid_like >= 0) {
      y0 = MIN(y0, f->cand[i].fid_like);
      y1 = MAX(y1, f->cand[i].fid_like);
    }
  }
  c->has_fid = y0 <= y1;
  if (!c->has_fid) y0 = 0, y1 = 1;
  double ly = MAX(y1 - y0, 1e-6) * 0.08;
  c->lx0 = log10(m0) - 0.05;
  c->lx1 = log10(m1) + 0.05;
  c->y0 = y0 - ly;
  c->y1 = y1 + ly;
}

static int chart_x(const Chart *c, double macs) {
  return c->plot.x + (int)lround((log10(macs) - c->lx0) / (c->lx1 - c->lx0) * c->plot.w);
}

/* Lower FID-like (better) is lower on screen, as in the usual "cost vs error" plots. */
static int chart_y(const Chart *c, double fid) {
  if (!c->has_fid || fid < 0) return c->plot.y + c->plot.h / 2;
  return c->plot.y + c->plot.h - (int)lround((fid - c->y0) / (c->y1 - c->y0) * c->plot.h);
}

static void dot(App *a, int x, int y, int r, SDL_Color col) {
  SDL_Rect d = { x - r, y - r, 2 * r + 1, 2 * r + 1 };
  fill(a, &d, col);
}

static void draw_chart_axes(App *a, const Chart *c) {
  const Layout *l = &a->lay;
  frame_rect(a, &c->plot, C_GRID, 1);
  char lo[32], hi[32];
  demo_format_count(pow(10, c->lx0 + 0.05), lo, sizeof lo);
  demo_format_count(pow(10, c->lx1 - 0.05), hi, sizeof hi);
  int ty = c->plot.y + c->plot.h + l->pad / 2;
  text(a, chart_x(c, pow(10, c->lx0 + 0.05)), ty, l->ts, C_DIM, "%s", lo);
  text_right(a, chart_x(c, pow(10, c->lx1 - 0.05)), ty, l->ts, C_DIM, hi);
  const char *xl = "MACs per image (log scale)";
  text(a, c->plot.x + (c->plot.w - demo_font_width(xl, l->ts)) / 2, ty, l->ts, C_DIM, "%s", xl);
  text_right(a, c->plot.x + c->plot.w - l->pad / 2, c->plot.y + l->pad / 2, l->ts, C_DIM,
             c->has_fid ? "FID-like, lower is better" : "quality unknown");
  if (c->has_fid) {
    char v[32];
    g_snprintf(v, sizeof v, "%.1f", c->y1);
    text_right(a, c->plot.x - l->pad / 2, c->plot.y, l->ts, C_DIM, v);
    g_snprintf(v, sizeof v, "%.1f", c->y0);
    text_right(a, c->plot.x - l->pad / 2, c->plot.y + c->plot.h - DEMO_GLYPH_H * l->ts, l->ts, C_DIM, v);
  }
}

static void draw_chart_points(App *a, const Chart *c) {
  const DemoFront *f = a->front;
  int r = MAX(2, 2 * a->lay.ts);
  for (int i = 0; i < f->n_cand; i++)
    if (!f->cand[i].on_front)
      dot(a, chart_x(c, f->cand[i].cost.macs), chart_y(c, f->cand[i].fid_like), r / 2, C_GRID);
  SDL_Point *pts = g_new(SDL_Point, f->n_front);
  for (int k = 0; k < f->n_front; k++) {
    const DemoCandidate *d = &f->cand[f->front[k]];
    pts[k] = (SDL_Point){ chart_x(c, d->cost.macs), chart_y(c, d->fid_like) };
  }
  set_color(a, (SDL_Color){ C_STUDENT.r, C_STUDENT.g, C_STUDENT.b, 140 });
  SDL_RenderDrawLines(a->ren, pts, f->n_front);
  for (int k = 0; k < f->n_front; k++) dot(a, pts[k].x, pts[k].y, r, C_STUDENT);
  SDL_Rect ring = { pts[a->sel].x - 3 * r, pts[a->sel].y - 3 * r, 6 * r + 1, 6 * r + 1 };
  frame_rect(a, &ring, C_TEXT, MAX(1, r / 2));
  g_free(pts);
  int tx = chart_x(c, a->teacher_cost.macs), ty = chart_y(c, f->teacher_fid);
  dot(a, tx, ty, r, C_TEACHER);
  text_right(a, tx - 2 * r, ty - DEMO_GLYPH_H * a->lay.ts / 2, a->lay.ts, C_TEACHER, "teacher");
}

static void draw_budget(App *a) {
  const Layout *l = &a->lay;
  const DemoFront *f = a->front;
  const DemoCandidate *c = demo_selected(a);
  int x = l->chart.x, y = l->chart.y, w = l->chart.w;
  char buf[256], m[32], p[32], tm[32], sm[32];
  x = text(a, x, y, l->ts, C_TEXT, "Budget %d of %d", a->sel + 1, f->n_front);
  if (f->from_file) g_snprintf(buf, sizeof buf, "  Pareto front of %d searched sub-generators", f->n_cand);
  else g_strlcpy(buf, "  uniform widths (no gan/front.json)", sizeof buf);
  text_fit(a, x, y, l->ts, C_DIM, l->chart.x + w - x, buf);
  demo_format_count(c->cost.macs, m, sizeof m);
  demo_format_count(c->cost.params, p, sizeof p);
  g_snprintf(buf, sizeof buf, "%s: %s MACs, %.1fx fewer than the teacher, %s params", c->name, m,
             a->teacher_cost.macs / c->cost.macs, p);
  text_fit(a, l->chart.x, y + l->line, l->ts, C_STUDENT, w, buf);
  /* measured speed next to the MACs ratio: on a CPU the two differ, which is worth seeing */
  double t = demo_latency_median(&a->lat_teacher), s = demo_latency_median(&a->lat_student);
  format_ms(t, tm, sizeof tm);
  format_ms(s, sm, sizeof sm);
  if (t > 0 && s > 0)
    g_snprintf(buf, sizeof buf, "Measured: teacher %s, student %s: %.1fx %s", tm, sm, s < t ? t / s : s / t,
               s < t ? "faster" : "slower");
  else g_snprintf(buf, sizeof buf, "Measured: teacher %s, student %s", tm, sm);
  text_fit(a, l->chart.x, y + 2 * l->line, l->ts, C_TEXT, w, buf);
  Chart ch;
  chart_setup(a, &ch);
  draw_chart_axes(a, &ch);
  draw_chart_points(a, &ch);
  text_fit(a, l->chart.x, l->chart.y + l->chart.h - l->line, l->ts, C_DIM, w,
           "Left/Right 1-9 click: budget  A auto demo  S smooth  F11 full screen  Esc quit");
}

int demo_chart_pick(const App *a, int x) {
  Chart c;
  chart_setup(a, &c);
  int best = a->sel, best_d = G_MAXINT;
  for (int k = 0; k < a->front->n_front; k++) {
    int d = abs(chart_x(&c, a->front->cand[a->front->front[k]].cost.macs) - x);
    if (d < best_d) best = k, best_d = d;
  }
  return best;
}

void demo_render(App *a) {
  set_color(a, C_BG);
  SDL_RenderClear(a->ren);
  draw_title(a);
  draw_canvas_panel(a);
  draw_outputs(a);
  draw_help(a);
  draw_budget(a);
}
