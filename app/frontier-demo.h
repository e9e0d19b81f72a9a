/* frontier-demo.h: the pieces of the SDL2 live synthesis demo that do not draw.
 *
 *   DemoFront  the student's budgets: front.json's candidates and their Pareto front (fewer MACs and
 *              lower FID-like), ordered by MACs, with true MACs from fr_gan_cost.
 *   DemoSynth  a worker thread that runs the teacher and the selected student on the latest sketch,
 *              so drawing never waits for a generator; only the newest request is kept. */
#pragma once
#include "fr-gan.h"

G_BEGIN_DECLS

/* ---- budgets ---- */
typedef struct {
  FrGanConfig cfg;
  char *name;        /* "8_8_12_8_8_8_8_8" */
  FrGanCost cost;    /* true MACs and parameters of one 32x32 image */
  double fid_like;   /* from front.json; < 0 when unknown */
  double accuracy;   /* from front.json; < 0 when unknown */
  gboolean on_front;
} DemoCandidate;

typedef struct {
  DemoCandidate *cand;
  int n_cand;
  int *front;          /* indices into cand: the Pareto front by MACs ascending */
  int n_front;
  double teacher_fid;  /* < 0 when unknown */
  gboolean from_file;  /* FALSE: there was no front.json; the budgets are uniform widths */
} DemoFront;

/* Reads front.json; candidates wider than supernet_max are left out (warned about on stderr). An error
 * names the file when it is not the expected JSON or no candidate fits. */
DemoFront *demo_front_load(const char *path, const FrGanConfig *supernet_max, GError **error);
/* Without a front.json: the uniform configs of the supernet's width options, without quality. */
DemoFront *demo_front_uniform(const FrGanConfig *supernet_max);
void demo_front_free(DemoFront *f);
/* "49.3M", "812k": MACs or parameters in a short form. */
void demo_format_count(double v, char *buf, size_t len);

/* ---- synthesis ---- */
typedef struct DemoSynth DemoSynth;

typedef struct {
  guint64 seq;                      /* the request this answers */
  float teacher[FR_GAN_PIXELS];     /* items in [-1, 1] */
  float student[FR_GAN_PIXELS];
  FrGanConfig student_cfg;
  double teacher_ms, student_ms;    /* wall time of the runs below; < 0 when that model did not run */
} DemoSynthResult;

/* The generators stay owned by the caller and must outlive the worker. */
DemoSynth *demo_synth_new(FrGanGenerator *teacher, FrGanGenerator *supernet);
/* Queues a sketch (FR_GAN_PIXELS floats) for the student config cfg, replacing any request not yet
 * started; a model re-runs only when its own input changed. Returns the request's number. */
guint64 demo_synth_request(DemoSynth *s, const float *sketch, const FrGanConfig *cfg);
/* TRUE and the newest result when one arrived since the last poll. */
gboolean demo_synth_poll(DemoSynth *s, DemoSynthResult *out);
/* TRUE while a request is queued or running. */
gboolean demo_synth_busy(DemoSynth *s);
/* Waits until the worker is idle or timeout_ms passed; TRUE when idle. */
gboolean demo_synth_wait(DemoSynth *s, int timeout_ms);
void demo_synth_free(DemoSynth *s);

G_END_DECLS
