/* frontier-demo-app.h: the SDL2 demo's state, shared by its event/main-loop code (frontier-demo.c) and
 * its drawing code (frontier-demo-draw.c). Private to the demo. */
#pragma once
#include "frontier-demo.h"
#include "frontier-demo-font.h"
#include "fr-fmnist.h"

#include <SDL.h>

#define CANVAS 256                        /* drawing resolution: 8x8 canvas pixels per model pixel */
#define CELL (CANVAS / FR_GAN_SIZE)
#define LAT_WINDOW 15                     /* latencies shown are medians of this many runs */
#define UNDO_DEPTH 16

typedef struct {
  gboolean fullscreen, verbose, auto_demo;
  int frames;        /* 0: run until closed */
  char *sketch;      /* NULL, "test" or "test:N" */
  char *screenshot;  /* BMP of the final frame */
  int budget;        /* 1-based index into the front; 0: the middle */
  char *teacher, *supernet, *front; /* NULL: the shipped files */
} Options;

typedef struct {
  double v[LAT_WINDOW];
  int n, next;
} LatencyRing;

typedef struct {
  GThread *thread;
  gint done;         /* atomic: the thread finished */
  gboolean joined;
  FrFmnist *data;    /* the 10k test images, or NULL with error */
  GError *error;
} TestSet;

typedef struct {
  int ts, pad, line;                    /* text scale, padding, text line height in pixels */
  SDL_Rect canvas, teacher, student;    /* the three big squares */
  SDL_Rect help, chart;                 /* below the canvas; below the outputs */
  int label_y, info_y;                  /* text rows above and below the squares */
} Layout;

typedef struct {
  Options opt;
  gint64 t_start;
  double models_ms, window_ms, first_frame_ms;
  /* models */
  FrGanGenerator *teacher, *supernet;
  FrGanCost teacher_cost;
  DemoFront *front;
  int sel;                              /* index into front->front */
  DemoSynth *synth;
  /* SDL */
  SDL_Window *win;
  SDL_Renderer *ren;
  DemoFont *font;
  gboolean vsync, smooth;
  gint64 frame_us, next_frame;          /* one display refresh; when the next frame is due */
  SDL_Texture *canvas_tex, *input_tex, *teacher_tex, *student_tex, *real_tex;
  Layout lay;
  /* drawing */
  guint8 ink[CANVAS * CANVAS];          /* 0 = paper .. 255 = ink, as fr_gan_sketch_from_canvas reads it */
  guint8 undo[UNDO_DEPTH][CANVAS * CANVAS];
  int undo_n, undo_next;
  gboolean ink_dirty;
  int pen;                              /* 0 up, 1 drawing, 2 erasing */
  float pen_x, pen_y, brush;            /* canvas pixels */
  int mouse_x, mouse_y;                 /* render pixels, for the brush outline */
  float sketch[FR_GAN_PIXELS];
  int strokes;                          /* stroke pixels of sketch; 0 = empty */
  /* test sketches */
  TestSet test;
  int test_index, pending_test;         /* pending_test: the one to show once the data arrived, or -1 */
  gboolean test_shown;                  /* test_index has been shown: T moves on from it */
  gboolean from_test;                   /* the sketch is an unedited test image (its real item is shown) */
  gint64 auto_next;
  /* results */
  DemoSynthResult res;
  gboolean have_res;
  LatencyRing lat_teacher, lat_student;
  /* status line and frame statistics */
  char status[200];
  gboolean status_warn;
  gint64 status_until;
  int frames, fps_frames;
  gint64 fps_t0, t_first_frame, t_last_frame;
  gint64 work_us;                       /* time spent drawing and presenting, pacing excluded */
  double fps;
  gboolean quit;
} App;

/* frontier-demo.c */
const DemoCandidate *demo_selected(const App *a);
/* Median of the recent runs (-1: none yet). */
double demo_latency_median(const LatencyRing *r);

/* frontier-demo-draw.c */
/* Places the squares, texts and chart for the renderer's current output size. */
void demo_layout(App *a);
/* Draws the whole frame (not presented). */
void demo_render(App *a);
/* The front budget whose point on the chart is nearest to render x. */
int demo_chart_pick(const App *a, int x);
void demo_upload_gray(SDL_Texture *t, const guint8 *gray, int w, int h);
/* The canvas texture from a->ink: ink on paper. */
void demo_upload_canvas(App *a);

static inline gboolean demo_in_rect(const SDL_Rect *r, int x, int y) {
  return x >= r->x && y >= r->y && x < r->x + r->w && y < r->y + r->h;
}
