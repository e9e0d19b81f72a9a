/* frontier-demo: GAN Compression live, full window. Draw a sketch on the left; the original (ResNet
 * teacher) and the compressed (once-for-all student at the chosen budget) generators turn it into a
 * Fashion-MNIST item on the right, side by side, with measured latency and true MACs.
 *
 * Start-up loads the two generators and the front and opens the window, nothing more; the
 * Fashion-MNIST test images behind 'T' load on a thread after the first frame. Synthesis runs on a
 * worker thread (frontier-demo-synth.c) and only when the sketch or the budget changed. */
#include "frontier-demo-app.h"
#include "fr-model-io.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define AUTO_PERIOD_US (1500 * 1000)      /* --auto: a new test sketch every 1.5 s */
#define SETTLE_MS 60000                   /* scripted runs wait at most this long for the last results */

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static double ms_since(gint64 t0) { return (g_get_monotonic_time() - t0) / 1000.0; }

static void latency_add(LatencyRing *r, double ms) {
  r->v[r->next] = ms;
  r->next = (r->next + 1) % LAT_WINDOW;
  if (r->n < LAT_WINDOW) r->n++;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of the recent runs: one run is noisy on a busy machine, the median is what a user feels. */
double demo_latency_median(const LatencyRing *r) {
  if (r->n == 0) return -1;
  double v[LAT_WINDOW];
  memcpy(v, r->v, sizeof(double) * r->n);
  qsort(v, r->n, sizeof *v, cmp_double);
  return r->n % 2 ? v[r->n / 2] : 0.5 * (v[r->n / 2 - 1] + v[r->n / 2]);
}

static void set_status(App *a, gboolean warn, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void set_status(App *a, gboolean warn, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  g_vsnprintf(a->status, sizeof a->status, fmt, ap);
  va_end(ap);
  a->status_warn = warn;
  a->status_until = g_get_monotonic_time() + 4 * G_USEC_PER_SEC;
  if (a->opt.verbose || warn) fprintf(stderr, "frontier-demo: %s\n", a->status);
}

const DemoCandidate *demo_selected(const App *a) { return &a->front->cand[a->front->front[a->sel]]; }

/* ---- options ---- */

static int parse_options(Options *o, int *argc, char ***argv) {
  GOptionEntry entries[] = {
    { "fullscreen", 'f', 0, G_OPTION_ARG_NONE, &o->fullscreen, "Start full screen (F11 toggles)", NULL },
    { "budget", 'b', 0, G_OPTION_ARG_INT, &o->budget, "Start at the Nth budget of the front, 1 = fewest MACs", "N" },
    { "sketch", 's', 0, G_OPTION_ARG_STRING, &o->sketch, "Start with a sketch: test (Fashion-MNIST test image 0) or test:N", "test[:N]" },
    { "auto", 'a', 0, G_OPTION_ARG_NONE, &o->auto_demo, "Show a new test sketch every 1.5 s (A toggles)", NULL },
    { "frames", 'n', 0, G_OPTION_ARG_INT, &o->frames, "Quit after N frames (the last one waits for the synthesis)", "N" },
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, &o->screenshot, "Save the final frame as a BMP image", "FILE" },
    { "teacher", 0, 0, G_OPTION_ARG_FILENAME, &o->teacher, "Teacher generator (default: the shipped gan/teacher.safetensors)", "PATH" },
    { "supernet", 0, 0, G_OPTION_ARG_FILENAME, &o->supernet, "Once-for-all student (default: the shipped gan/supernet.safetensors)", "PATH" },
    { "front", 0, 0, G_OPTION_ARG_FILENAME, &o->front, "Search results to take the budgets from (default: the shipped gan/front.json)", "PATH" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &o->verbose, "Print the time to first frame, each synthesis and a summary", NULL },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new("- GAN Compression live: original vs compressed generator");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "Draw with the left mouse button, erase with the right. Keys: Left/Right or 1-9 budget, C clear,\n"
    "T test sketch (Shift+T previous), A auto demo, Ctrl+Z undo, [ ] brush size, S smooth/pixels,\n"
    "F11 full screen, Esc quit.\n\n"
    "Models: gan/teacher.safetensors, gan/supernet.safetensors and gan/front.json, looked up in\n"
    "$FR_DATA_DIR, the installed data folder, then the source tree's data/.\n"
    "Exit status: 0 done, 1 failed (e.g. a missing model), 2 bad usage.");
  GError *error = NULL;
  gboolean ok = g_option_context_parse(ctx, argc, argv, &error);
  g_option_context_free(ctx);
  if (!ok) {
    fprintf(stderr, "frontier-demo: %s (see --help)\n", error->message);
    g_error_free(error);
    return EXIT_USAGE;
  }
  if (*argc > 1) {
    fprintf(stderr, "frontier-demo: unexpected argument '%s' (see --help)\n", (*argv)[1]);
    return EXIT_USAGE;
  }
  if (o->frames < 0 || o->budget < 0) {
    fprintf(stderr, "frontier-demo: --frames and --budget take a number >= 0\n");
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

/* "test" -> 0, "test:N" -> N; -1 when malformed. */
static int parse_test_sketch(const char *s) {
  if (strcmp(s, "test") == 0) return 0;
  if (!g_str_has_prefix(s, "test:")) return -1;
  char *end = NULL;
  gint64 v = g_ascii_strtoll(s + 5, &end, 10);
  return end && end != s + 5 && *end == '\0' && v >= 0 && v < G_MAXINT ? (int)v : -1;
}

/* ---- models ---- */

/* The file of a model: the one given on the command line, else the shipped one. When there is none,
 * prints where it looked and the frontier-cli command that makes it (make_cmd + " -o PATH"). */
static char *find_model(const char *given, const char *rel, const char *what, const char *make_cmd) {
  if (given) {
    if (g_file_test(given, G_FILE_TEST_IS_REGULAR)) return g_strdup(given);
    fprintf(stderr, "frontier-demo: the %s %s does not exist.\nMake it with:\n  %s -o %s\n", what, given, make_cmd,
            given);
    return NULL;
  }
  char *path = fr_data_find(rel);
  if (path) return path;
  char *out = fr_data_default_output(rel);
  const char *env = g_getenv("FR_DATA_DIR");
  fprintf(stderr, "frontier-demo: the %s, %s, was not found (looked in %s%s%sthe installed data folder and the "
          "source tree's data/).\nMake it with:\n  %s -o %s\n", what, rel, env && *env ? "$FR_DATA_DIR = " : "",
          env && *env ? env : "", env && *env ? ", " : "", make_cmd, out);
  g_free(out);
  return NULL;
}

/* Loads a generator that must be of the given kind; a corrupt file or the wrong kind is reported with
 * the command that makes it anew. */
static FrGanGenerator *load_generator(const char *given, const char *rel, FrGanKind kind, const char *what,
                                      const char *make_cmd) {
  char *path = find_model(given, rel, what, make_cmd);
  if (!path) return NULL;
  GError *error = NULL;
  FrGanGenerator *g = fr_gan_generator_load(path, &error);
  if (g && fr_gan_generator_kind(g) != kind) {
    g_set_error(&error, FR_GAN_ERROR, FR_GAN_ERROR_MODEL, "it holds a %s generator, not a %s one",
                kind == FR_GAN_RESNET ? "mobile" : "ResNet", kind == FR_GAN_RESNET ? "ResNet" : "mobile");
    g_clear_pointer(&g, fr_gan_generator_free);
  }
  if (!g) {
    fprintf(stderr, "frontier-demo: cannot load the %s %s: %s\nMake it anew with:\n  %s -o %s\n", what, path,
            error->message, make_cmd, path);
    g_error_free(error);
  }
  g_free(path);
  return g;
}

/* every sub-generator of the coarse grid, scored (the budget admits them all); as build-aux/gan-pipeline.sh */
#define FRONT_CMD "frontier-cli gan search --grid --budget 1e12"

/* The shipped front.json is optional: without it the budgets are the uniform widths (no quality
 * numbers). A corrupt one, or a missing one named with --front, is an error. */
static DemoFront *load_front(const char *given, const FrGanConfig *max, gboolean verbose) {
  char *path = given ? find_model(given, NULL, "scored front", FRONT_CMD) : fr_data_find("gan/front.json");
  if (!path && given) return NULL;
  if (!path) {
    char *out = fr_data_default_output("gan/front.json");
    fprintf(stderr, "frontier-demo: gan/front.json not found; offering uniform widths as budgets (make it with: "
            FRONT_CMD " -o %s)\n", out);
    g_free(out);
    return demo_front_uniform(max);
  }
  GError *error = NULL;
  DemoFront *f = demo_front_load(path, max, &error);
  if (!f) {
    fprintf(stderr, "frontier-demo: %s\nMake it anew with:\n  " FRONT_CMD " -o %s\n", error->message, path);
    g_error_free(error);
  } else if (verbose) {
    fprintf(stderr, "frontier-demo: %s: %d candidates, %d on the Pareto front\n", path, f->n_cand, f->n_front);
  }
  g_free(path);
  return f;
}

static gboolean load_models(App *a) {
  gint64 t0 = g_get_monotonic_time();
  a->teacher = load_generator(a->opt.teacher, "gan/teacher.safetensors", FR_GAN_RESNET, "GAN teacher",
                              "frontier-cli gan train-teacher");
  if (!a->teacher) return FALSE;
  a->supernet = load_generator(a->opt.supernet, "gan/supernet.safetensors", FR_GAN_MOBILE, "GAN student supernet",
                               "frontier-cli gan train-supernet");
  if (!a->supernet) return FALSE;
  a->front = load_front(a->opt.front, fr_gan_generator_max(a->supernet), a->opt.verbose);
  if (!a->front) return FALSE;
  a->teacher_cost = fr_gan_cost(FR_GAN_RESNET, fr_gan_generator_max(a->teacher), 1, 1, FR_GAN_SIZE, FR_GAN_SIZE);
  a->models_ms = ms_since(t0);
  return TRUE;
}

/* ---- test sketches ---- */

static gpointer test_loader(gpointer data) {
  TestSet *t = data;
  t->data = fr_fmnist_load(NULL, FALSE, &t->error);
  g_atomic_int_set(&t->done, 1);
  return NULL;
}

static void test_start(App *a) {
  if (!a->test.thread) a->test.thread = g_thread_new("demo-test-set", test_loader, &a->test);
}

/* TRUE once the loader finished (its result, data or error, is then safe to read). */
static gboolean test_ready(App *a, gboolean block) {
  if (!a->test.thread) return FALSE;
  if (!a->test.joined && (block || g_atomic_int_get(&a->test.done))) {
    g_thread_join(a->test.thread);
    a->test.joined = TRUE;
  }
  return a->test.joined;
}

static void push_undo(App *a) {
  memcpy(a->undo[a->undo_next], a->ink, sizeof a->ink);
  a->undo_next = (a->undo_next + 1) % UNDO_DEPTH;
  if (a->undo_n < UNDO_DEPTH) a->undo_n++;
}

static void pop_undo(App *a) {
  if (a->undo_n == 0) return;
  a->undo_next = (a->undo_next + UNDO_DEPTH - 1) % UNDO_DEPTH;
  a->undo_n--;
  memcpy(a->ink, a->undo[a->undo_next], sizeof a->ink);
  a->ink_dirty = TRUE;
  a->from_test = FALSE;
}

/* Shows the real item next to its sketch: what the generators should ideally reproduce. */
static void show_real_item(App *a, const guint8 *img28) {
  guint8 pad[FR_GAN_PIXELS] = { 0 };
  int off = (FR_GAN_SIZE - 28) / 2;
  for (int y = 0; y < 28; y++) memcpy(pad + (y + off) * FR_GAN_SIZE + off, img28 + y * 28, 28);
  demo_upload_gray(a->real_tex, pad, FR_GAN_SIZE, FR_GAN_SIZE);
}

/* Puts test image i's edge sketch on the canvas, one 8x8 block per stroke pixel, so converting the
 * canvas back gives exactly the same sketch and the user can keep drawing on it. */
static void apply_test_sketch(App *a, int i) {
  const FrFmnist *d = a->test.data;
  i = ((i % d->n) + d->n) % d->n;
  float sk[FR_GAN_PIXELS];
  fr_gan_edges_from_fmnist(d->pixels + (size_t)i * 28 * 28, sk);
  push_undo(a);
  for (int y = 0; y < CANVAS; y++)
    for (int x = 0; x < CANVAS; x++) a->ink[y * CANVAS + x] = sk[(y / CELL) * FR_GAN_SIZE + x / CELL] > 0 ? 255 : 0;
  a->ink_dirty = TRUE;
  a->test_index = i;
  a->test_shown = TRUE;
  a->from_test = TRUE;
  show_real_item(a, d->pixels + (size_t)i * 28 * 28);
  set_status(a, FALSE, "Test sketch #%d: %s", i, fr_fmnist_class_names[d->labels[i]]);
}

static void request_test_sketch(App *a, int i) {
  test_start(a);
  if (!test_ready(a, FALSE)) {
    a->pending_test = i;
    set_status(a, FALSE, "Loading the Fashion-MNIST test images...");
  } else if (!a->test.data) {
    set_status(a, TRUE, "No test sketches: %s", a->test.error->message);
  } else {
    apply_test_sketch(a, i);
  }
}

/* The test image after (dir 1) or before (-1) the last one shown or asked for; the first is test_index. */
static int next_test_index(const App *a, int dir) {
  if (a->pending_test >= 0) return a->pending_test + dir;
  return a->test_shown ? a->test_index + dir : a->test_index;
}

static void poll_pending_test(App *a, gboolean block) {
  if (a->pending_test < 0 || !test_ready(a, block)) return;
  int i = a->pending_test;
  a->pending_test = -1;
  request_test_sketch(a, i);
}

/* ---- drawing ---- */

static void stamp(App *a, float cx, float cy, float r, guint8 v) {
  int x0 = MAX(0, (int)floorf(cx - r)), x1 = MIN(CANVAS - 1, (int)ceilf(cx + r));
  int y0 = MAX(0, (int)floorf(cy - r)), y1 = MIN(CANVAS - 1, (int)ceilf(cy + r));
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++) {
      float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
      if (dx * dx + dy * dy <= r * r) a->ink[y * CANVAS + x] = v;
    }
}

/* A stroke segment as discs a quarter radius apart, so fast mouse moves leave no gaps. */
static void stroke_to(App *a, float x, float y) {
  float r = a->pen == 2 ? a->brush * 3 : a->brush;
  guint8 v = a->pen == 2 ? 0 : 255;
  float dx = x - a->pen_x, dy = y - a->pen_y, len = sqrtf(dx * dx + dy * dy);
  int steps = MAX(1, (int)ceilf(len / MAX(0.5f, r / 4)));
  for (int s = 1; s <= steps; s++) stamp(a, a->pen_x + dx * s / steps, a->pen_y + dy * s / steps, r, v);
  a->pen_x = x;
  a->pen_y = y;
  a->ink_dirty = TRUE;
  a->from_test = FALSE;
}

/* Window coordinates -> render pixels (they differ on high-DPI screens). */
static void to_pixels(App *a, int *x, int *y) {
  int ww, wh, rw, rh;
  SDL_GetWindowSize(a->win, &ww, &wh);
  SDL_GetRendererOutputSize(a->ren, &rw, &rh);
  if (ww > 0 && wh > 0) {
    *x = *x * rw / ww;
    *y = *y * rh / wh;
  }
}

static void to_canvas(const App *a, int px, int py, float *cx, float *cy) {
  *cx = (px - a->lay.canvas.x) * (float)CANVAS / a->lay.canvas.w;
  *cy = (py - a->lay.canvas.y) * (float)CANVAS / a->lay.canvas.h;
}

/* ---- budgets and synthesis ---- */

static void submit(App *a) {
  if (a->strokes > 0) demo_synth_request(a->synth, a->sketch, &demo_selected(a)->cfg);
}

static void select_budget(App *a, int i) {
  i = CLAMP(i, 0, a->front->n_front - 1);
  if (i == a->sel) return;
  a->sel = i;
  memset(&a->lat_student, 0, sizeof a->lat_student); /* another model: its old latencies do not apply */
  submit(a);
}

/* Converts the canvas when it changed; synthesis is requested only when the 32x32 sketch itself
 * changed (most pen moves inside one model pixel do not change it). */
static void update_sketch(App *a) {
  if (!a->ink_dirty) return;
  a->ink_dirty = FALSE;
  demo_upload_canvas(a);
  float sk[FR_GAN_PIXELS];
  a->strokes = fr_gan_sketch_from_canvas(a->ink, CANVAS, CANVAS, CANVAS, sk);
  if (memcmp(sk, a->sketch, sizeof sk) == 0) return;
  memcpy(a->sketch, sk, sizeof sk);
  guint8 g[FR_GAN_PIXELS];
  fr_gan_image_to_bytes(sk, g, FR_GAN_PIXELS);
  demo_upload_gray(a->input_tex, g, FR_GAN_SIZE, FR_GAN_SIZE);
  submit(a);
}

static void poll_results(App *a) {
  DemoSynthResult r;
  if (!demo_synth_poll(a->synth, &r)) return;
  a->res = r;
  a->have_res = TRUE;
  guint8 g[FR_GAN_PIXELS];
  fr_gan_image_to_bytes(r.teacher, g, FR_GAN_PIXELS);
  demo_upload_gray(a->teacher_tex, g, FR_GAN_SIZE, FR_GAN_SIZE);
  fr_gan_image_to_bytes(r.student, g, FR_GAN_PIXELS);
  demo_upload_gray(a->student_tex, g, FR_GAN_SIZE, FR_GAN_SIZE);
  if (r.teacher_ms >= 0) latency_add(&a->lat_teacher, r.teacher_ms);
  if (r.student_ms >= 0 && fr_gan_config_equal(&r.student_cfg, &demo_selected(a)->cfg))
    latency_add(&a->lat_student, r.student_ms);
  if (a->opt.verbose) {
    char *c = fr_gan_config_to_string(&r.student_cfg);
    fprintf(stderr, "frontier-demo: synthesis #%" G_GUINT64_FORMAT ": teacher %.2f ms, student %s %.2f ms\n", r.seq,
            r.teacher_ms, c, r.student_ms);
    g_free(c);
  }
}

/* ---- input ---- */

static void toggle_fullscreen(App *a) {
  gboolean full = SDL_GetWindowFlags(a->win) & SDL_WINDOW_FULLSCREEN;
  SDL_SetWindowFullscreen(a->win, full ? 0 : SDL_WINDOW_FULLSCREEN_DESKTOP);
}

/* 1..9 spread over the front: with up to 9 budgets each key is one budget, with more they jump evenly. */
static int digit_to_budget(const App *a, int digit) {
  int n = a->front->n_front;
  return n <= 9 ? digit - 1 : (int)lround((digit - 1) * (n - 1) / 8.0);
}

static void set_smooth(App *a, gboolean smooth) {
  a->smooth = smooth;
  SDL_ScaleMode m = smooth ? SDL_ScaleModeLinear : SDL_ScaleModeNearest;
  SDL_Texture *ts[] = { a->input_tex, a->teacher_tex, a->student_tex, a->real_tex };
  for (size_t i = 0; i < G_N_ELEMENTS(ts); i++) SDL_SetTextureScaleMode(ts[i], m);
}

static void on_key(App *a, const SDL_KeyboardEvent *k) {
  SDL_Keycode key = k->keysym.sym;
  gboolean shift = k->keysym.mod & KMOD_SHIFT, ctrl = k->keysym.mod & KMOD_CTRL;
  /* a held key repeats: fine for stepping through budgets, test sketches and the brush, not for toggles */
  gboolean steps = key == SDLK_LEFT || key == SDLK_RIGHT || key == SDLK_UP || key == SDLK_DOWN || key == SDLK_t ||
                   key == SDLK_LEFTBRACKET || key == SDLK_RIGHTBRACKET;
  if (k->repeat && !steps) return;
  if (key >= SDLK_1 && key <= SDLK_9) select_budget(a, digit_to_budget(a, key - SDLK_0));
  switch (key) {
  case SDLK_ESCAPE: case SDLK_q: a->quit = TRUE; break;
  case SDLK_LEFT: case SDLK_DOWN: select_budget(a, a->sel - 1); break;
  case SDLK_RIGHT: case SDLK_UP: select_budget(a, a->sel + 1); break;
  case SDLK_HOME: select_budget(a, 0); break;
  case SDLK_END: select_budget(a, a->front->n_front - 1); break;
  case SDLK_c:
    push_undo(a);
    memset(a->ink, 0, sizeof a->ink);
    a->ink_dirty = TRUE;
    a->from_test = FALSE;
    break;
  case SDLK_z: if (ctrl) pop_undo(a); break;
  case SDLK_t: request_test_sketch(a, next_test_index(a, shift ? -1 : 1)); break;
  case SDLK_a:
    a->opt.auto_demo = !a->opt.auto_demo;
    a->auto_next = 0;
    set_status(a, FALSE, "Auto demo %s", a->opt.auto_demo ? "on" : "off");
    break;
  case SDLK_s: set_smooth(a, !a->smooth); break;
  case SDLK_LEFTBRACKET: a->brush = MAX(1.5f, a->brush - 0.5f); break;
  case SDLK_RIGHTBRACKET: a->brush = MIN(16.0f, a->brush + 0.5f); break;
  case SDLK_F11: case SDLK_f: toggle_fullscreen(a); break;
  default: break;
  }
}

static void on_mouse_down(App *a, const SDL_MouseButtonEvent *b) {
  int x = b->x, y = b->y;
  to_pixels(a, &x, &y);
  if (demo_in_rect(&a->lay.chart, x, y) && b->button == SDL_BUTTON_LEFT) {
    select_budget(a, demo_chart_pick(a, x)); /* the budget nearest in MACs */
    return;
  }
  if (!demo_in_rect(&a->lay.canvas, x, y) || (b->button != SDL_BUTTON_LEFT && b->button != SDL_BUTTON_RIGHT)) return;
  push_undo(a);
  a->pen = b->button == SDL_BUTTON_LEFT ? 1 : 2;
  to_canvas(a, x, y, &a->pen_x, &a->pen_y);
  stroke_to(a, a->pen_x, a->pen_y);
}

/* Touch needs no code of its own: SDL turns the first finger into mouse events by default. */
static void on_event(App *a, const SDL_Event *e) {
  switch (e->type) {
  case SDL_QUIT: a->quit = TRUE; break;
  case SDL_KEYDOWN: on_key(a, &e->key); break;
  case SDL_MOUSEBUTTONDOWN: on_mouse_down(a, &e->button); break;
  case SDL_MOUSEBUTTONUP: a->pen = 0; break;
  case SDL_MOUSEMOTION: {
    int x = e->motion.x, y = e->motion.y;
    to_pixels(a, &x, &y);
    a->mouse_x = x;
    a->mouse_y = y;
    if (a->pen) {
      float cx, cy;
      to_canvas(a, x, y, &cx, &cy);
      stroke_to(a, cx, cy);
    }
    break;
  }
  case SDL_MOUSEWHEEL:
    a->brush = CLAMP(a->brush + 0.5f * (e->wheel.y > 0 ? 1 : e->wheel.y < 0 ? -1 : 0), 1.5f, 16.0f);
    break;
  default: break;
  }
}

/* ---- window ---- */

static SDL_Texture *gray_texture(App *a, int w, int h) {
  SDL_Texture *t = SDL_CreateTexture(a->ren, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STREAMING, w, h);
  if (t) {
    guint8 *zero = g_new0(guint8, w * h);
    demo_upload_gray(t, zero, w, h);
    g_free(zero);
  }
  return t;
}

static gboolean create_textures(App *a) {
  a->canvas_tex = gray_texture(a, CANVAS, CANVAS);
  a->input_tex = gray_texture(a, FR_GAN_SIZE, FR_GAN_SIZE);
  a->teacher_tex = gray_texture(a, FR_GAN_SIZE, FR_GAN_SIZE);
  a->student_tex = gray_texture(a, FR_GAN_SIZE, FR_GAN_SIZE);
  a->real_tex = gray_texture(a, FR_GAN_SIZE, FR_GAN_SIZE);
  a->font = demo_font_new(a->ren);
  if (!a->canvas_tex || !a->input_tex || !a->teacher_tex || !a->student_tex || !a->real_tex || !a->font) return FALSE;
  SDL_SetTextureScaleMode(a->canvas_tex, SDL_ScaleModeLinear); /* the canvas is finer than the screen may be */
  set_smooth(a, FALSE); /* the outputs are 32x32: show their pixels honestly by default */
  a->ink_dirty = TRUE;
  return TRUE;
}

/* A large window (90% of the usable screen), maximised, or full screen on request. */
static gboolean open_window(App *a) {
  gint64 t0 = g_get_monotonic_time();
  if (SDL_Init(SDL_INIT_VIDEO) != 0) {
    fprintf(stderr, "frontier-demo: cannot start SDL video: %s\n", SDL_GetError());
    return FALSE;
  }
  SDL_Rect usable = { 0, 0, 1600, 900 };
  SDL_GetDisplayUsableBounds(0, &usable);
  Uint32 flags = SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI |
                 (a->opt.fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : SDL_WINDOW_MAXIMIZED);
  a->win = SDL_CreateWindow("Frontier: GAN Compression live", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED,
                            MAX(800, usable.w * 9 / 10), MAX(500, usable.h * 9 / 10), flags);
  if (a->win) {
    SDL_SetWindowMinimumSize(a->win, 640, 400);
    a->ren = SDL_CreateRenderer(a->win, -1, SDL_RENDERER_ACCELERATED | SDL_RENDERER_PRESENTVSYNC);
    if (!a->ren) a->ren = SDL_CreateRenderer(a->win, -1, 0); /* e.g. the software renderer */
  }
  if (!a->win || !a->ren) {
    fprintf(stderr, "frontier-demo: cannot open a window: %s\n", SDL_GetError());
    return FALSE;
  }
  SDL_RendererInfo info;
  if (SDL_GetRendererInfo(a->ren, &info) == 0) {
    a->vsync = (info.flags & SDL_RENDERER_PRESENTVSYNC) != 0;
    if (a->opt.verbose) fprintf(stderr, "frontier-demo: renderer %s%s\n", info.name, a->vsync ? ", vsync" : "");
  }
  SDL_DisplayMode mode;
  int hz = SDL_GetCurrentDisplayMode(MAX(0, SDL_GetWindowDisplayIndex(a->win)), &mode) == 0 ? mode.refresh_rate : 0;
  a->frame_us = G_USEC_PER_SEC / (hz >= 24 && hz <= 500 ? hz : 60);
  SDL_SetRenderDrawBlendMode(a->ren, SDL_BLENDMODE_BLEND);
  if (!create_textures(a)) {
    fprintf(stderr, "frontier-demo: cannot create textures: %s\n", SDL_GetError());
    return FALSE;
  }
  a->window_ms = ms_since(t0);
  return TRUE;
}

static gboolean save_screenshot(App *a, const char *path) {
  int w, h;
  SDL_GetRendererOutputSize(a->ren, &w, &h);
  SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
  gboolean ok = s && SDL_RenderReadPixels(a->ren, NULL, SDL_PIXELFORMAT_ARGB8888, s->pixels, s->pitch) == 0 &&
                SDL_SaveBMP(s, path) == 0;
  if (!ok) fprintf(stderr, "frontier-demo: cannot save the screenshot %s: %s\n", path, SDL_GetError());
  else if (a->opt.verbose) fprintf(stderr, "frontier-demo: saved %s (%dx%d)\n", path, w, h);
  SDL_FreeSurface(s);
  return ok;
}

/* ---- main loop ---- */

static void on_first_frame(App *a) {
  a->first_frame_ms = ms_since(a->t_start);
  if (a->opt.verbose)
    fprintf(stderr, "frontier-demo: first frame after %.0f ms (models %.0f ms, window %.0f ms)\n", a->first_frame_ms,
            a->models_ms, a->window_ms);
  test_start(a); /* now, not before: the first frame must not wait for 10k images */
  if (a->opt.sketch) request_test_sketch(a, parse_test_sketch(a->opt.sketch));
}

/* FPS over the last half second (over what there is, at the start); the summary's average runs from
 * the first frame to the last. */
static void count_frame(App *a) {
  gint64 now = g_get_monotonic_time();
  a->t_last_frame = now;
  if (++a->frames == 1) {
    a->fps_t0 = a->t_first_frame = now;
    a->fps_frames = 0;
    on_first_frame(a);
    return;
  }
  a->fps_frames++;
  gint64 dt = now - a->fps_t0;
  if (dt >= G_USEC_PER_SEC / 2 || a->fps == 0) a->fps = a->fps_frames * (double)G_USEC_PER_SEC / MAX(dt, 1);
  if (dt >= G_USEC_PER_SEC / 2) {
    a->fps_t0 = now;
    a->fps_frames = 0;
  }
}

static void auto_step(App *a) {
  if (!a->opt.auto_demo || a->pending_test >= 0) return;
  gint64 now = g_get_monotonic_time();
  if (now < a->auto_next) return;
  a->auto_next = now + AUTO_PERIOD_US;
  request_test_sketch(a, next_test_index(a, 1));
}

/* Without vsync the loop would spin, and some drivers (offscreen, dummy) claim vsync without waiting:
 * never draw faster than the display refreshes. With real vsync the present already waited, so this
 * rarely sleeps. Idle while minimised. */
static void pace(App *a) {
  if (SDL_GetWindowFlags(a->win) & SDL_WINDOW_MINIMIZED) {
    SDL_WaitEventTimeout(NULL, 100);
    return;
  }
  /* a deadline rather than a fixed sleep, so oversleeping on a busy machine is made up next frame */
  gint64 now = g_get_monotonic_time();
  a->next_frame = MAX(a->next_frame + a->frame_us, now - a->frame_us);
  if (a->next_frame - now > 500) g_usleep(a->next_frame - now);
}

static void step(App *a) {
  demo_layout(a);
  SDL_Event e;
  while (SDL_PollEvent(&e)) on_event(a, &e);
  poll_pending_test(a, FALSE);
  auto_step(a);
  update_sketch(a);
  poll_results(a);
  demo_render(a);
}

static void run_loop(App *a) {
  while (!a->quit) {
    gint64 t0 = g_get_monotonic_time();
    step(a);
    SDL_RenderPresent(a->ren);
    a->work_us += g_get_monotonic_time() - t0;
    count_frame(a);
    if (a->opt.frames && a->frames >= a->opt.frames) break;
    pace(a);
  }
}

/* The final frame of a scripted run shows finished work: the requested test sketch and its outputs. */
static int finish(App *a) {
  if (a->opt.frames || a->opt.screenshot) {
    poll_pending_test(a, TRUE);
    update_sketch(a);
    if (!demo_synth_wait(a->synth, SETTLE_MS)) fprintf(stderr, "frontier-demo: warning: synthesis still running\n");
  }
  step(a);
  gboolean ok = !a->opt.screenshot || save_screenshot(a, a->opt.screenshot);
  SDL_RenderPresent(a->ren);
  /* a script that asked for a test sketch and did not get one must not pass for a good run */
  if (a->opt.sketch && a->test.joined && !a->test.data) ok = FALSE;
  return ok ? EXIT_OK : EXIT_FAILED;
}

static void print_summary(App *a) {
  char *c = fr_gan_config_to_string(&demo_selected(a)->cfg);
  double secs = (a->t_last_frame - a->t_first_frame) / 1e6;
  fprintf(stderr, "frontier-demo: %d frames, first after %.0f ms, %.1f FPS on average, %.1f ms per frame drawing; "
          "median latency: teacher %.2f ms (%d runs), student %s %.2f ms (%d runs)\n", a->frames, a->first_frame_ms,
          secs > 0 ? (a->frames - 1) / secs : 0.0, a->work_us / 1000.0 / MAX(a->frames, 1),
          demo_latency_median(&a->lat_teacher), a->lat_teacher.n, c,
          demo_latency_median(&a->lat_student), a->lat_student.n);
  g_free(c);
}

static void cleanup(App *a) {
  demo_synth_free(a->synth);
  if (a->test.thread && !a->test.joined) g_thread_join(a->test.thread);
  fr_fmnist_free(a->test.data);
  g_clear_error(&a->test.error);
  SDL_Texture *ts[] = { a->canvas_tex, a->input_tex, a->teacher_tex, a->student_tex, a->real_tex };
  for (size_t i = 0; i < G_N_ELEMENTS(ts); i++)
    if (ts[i]) SDL_DestroyTexture(ts[i]);
  demo_font_free(a->font);
  if (a->ren) SDL_DestroyRenderer(a->ren);
  if (a->win) SDL_DestroyWindow(a->win);
  SDL_Quit();
  if (a->teacher) fr_gan_generator_free(a->teacher);
  if (a->supernet) fr_gan_generator_free(a->supernet);
  demo_front_free(a->front);
  g_free(a->opt.sketch);
  g_free(a->opt.screenshot);
  g_free(a->opt.teacher);
  g_free(a->opt.supernet);
  g_free(a->opt.front);
  g_free(a);
}

static int check_budget_option(App *a) {
  if (a->opt.budget > a->front->n_front) {
    fprintf(stderr, "frontier-demo: --budget %d: the front has %d budgets\n", a->opt.budget, a->front->n_front);
    return EXIT_USAGE;
  }
  a->sel = a->opt.budget ? a->opt.budget - 1 : a->front->n_front / 2;
  return EXIT_OK;
}

int main(int argc, char *argv[]) {
  App *a = g_new0(App, 1);
  a->t_start = g_get_monotonic_time();
  a->pending_test = -1;
  a->brush = 3.5f;
  int rc = parse_options(&a->opt, &argc, &argv);
  if (rc == EXIT_OK && a->opt.sketch && parse_test_sketch(a->opt.sketch) < 0) {
    fprintf(stderr, "frontier-demo: --sketch '%s': expected test or test:N\n", a->opt.sketch);
    rc = EXIT_USAGE;
  }
  if (rc == EXIT_OK) rc = load_models(a) ? EXIT_OK : EXIT_FAILED;
  if (rc == EXIT_OK) rc = check_budget_option(a);
  if (rc == EXIT_OK) rc = open_window(a) ? EXIT_OK : EXIT_FAILED;
  if (rc == EXIT_OK) {
    a->synth = demo_synth_new(a->teacher, a->supernet);
    run_loop(a);
    rc = finish(a);
    if (a->opt.verbose) print_summary(a);
  }
  cleanup(a);
  return rc;
}
