/* frontier-demo-synth.c: teacher and student run on a worker thread, newest sketch wins.
 *
 * Drawing produces a new sketch on most mouse moves; the generators take milliseconds each. Running
 * them on the UI thread would make the pen lag, and queueing every sketch would make the outputs fall
 * behind, so the worker keeps one pending request and answers only the newest. */
#include "frontier-demo.h"

#include <string.h>

struct DemoSynth {
  FrGanGenerator *teacher, *supernet;
  GThread *thread;
  GMutex lock;
  GCond cond;
  /* under lock: the pending request, the worker's state, the newest result */
  float sketch[FR_GAN_PIXELS];
  FrGanConfig cfg;
  guint64 requested, started, finished, polled;
  gboolean quit;
  DemoSynthResult result;
  /* worker-only: what each model last ran on, so an unchanged input is not recomputed */
  float teacher_in[FR_GAN_PIXELS], student_in[FR_GAN_PIXELS];
  gboolean teacher_valid, student_valid;
  FrGanConfig student_cfg;
  FrGanGenerator *student; /* the extracted sub-generator of student_cfg (NULL: run the supernet sliced) */
};

static double now_ms(void) { return g_get_monotonic_time() / 1000.0; }

/* A deployed compressed model is a standalone sub-generator, not a slice of the supernet; extracting
 * it once per budget makes the measured latency that of the model a user would ship. */
static void select_student(DemoSynth *s, const FrGanConfig *cfg) {
  if (s->student_valid && fr_gan_config_equal(cfg, &s->student_cfg)) return;
  if (s->student) fr_gan_generator_free(s->student);
  s->student = fr_gan_generator_extract(s->supernet, cfg);
  s->student_cfg = *cfg;
  s->student_valid = FALSE;
}

static void run_student(DemoSynth *s, const float *in, float *out) {
  if (s->student) fr_gan_generator_run(s->student, NULL, in, 1, FR_GAN_SIZE, FR_GAN_SIZE, out);
  else fr_gan_generator_run(s->supernet, &s->student_cfg, in, 1, FR_GAN_SIZE, FR_GAN_SIZE, out);
}

/* Runs what changed for one request; r keeps the previous outputs of a model that did not re-run. */
static void process(DemoSynth *s, const float *sketch, const FrGanConfig *cfg, DemoSynthResult *r) {
  size_t bytes = sizeof(float) * FR_GAN_PIXELS;
  r->teacher_ms = r->student_ms = -1;
  if (!s->teacher_valid || memcmp(sketch, s->teacher_in, bytes) != 0) {
    double t0 = now_ms();
    fr_gan_generator_run(s->teacher, NULL, sketch, 1, FR_GAN_SIZE, FR_GAN_SIZE, r->teacher);
    r->teacher_ms = now_ms() - t0;
    memcpy(s->teacher_in, sketch, bytes);
    s->teacher_valid = TRUE;
  }
  select_student(s, cfg);
  if (!s->student_valid || memcmp(sketch, s->student_in, bytes) != 0) {
    double t0 = now_ms();
    run_student(s, sketch, r->student);
    r->student_ms = now_ms() - t0;
    memcpy(s->student_in, sketch, bytes);
    s->student_valid = TRUE;
  }
  r->student_cfg = *cfg;
}

static gpointer worker(gpointer data) {
  DemoSynth *s = data;
  float sketch[FR_GAN_PIXELS];
  FrGanConfig cfg;
  DemoSynthResult r = { 0 };
  g_mutex_lock(&s->lock);
  for (;;) {
    while (!s->quit && s->started == s->requested) g_cond_wait(&s->cond, &s->lock);
    if (s->quit) break;
    guint64 seq = s->started = s->requested;
    memcpy(sketch, s->sketch, sizeof sketch);
    cfg = s->cfg;
    g_mutex_unlock(&s->lock);
    process(s, sketch, &cfg, &r);
    r.seq = seq;
    g_mutex_lock(&s->lock);
    s->result = r;
    s->finished = seq;
    g_cond_broadcast(&s->cond);
  }
  g_mutex_unlock(&s->lock);
  return NULL;
}

DemoSynth *demo_synth_new(FrGanGenerator *teacher, FrGanGenerator *supernet) {
  DemoSynth *s = g_new0(DemoSynth, 1);
  s->teacher = teacher;
  s->supernet = supernet;
  g_mutex_init(&s->lock);
  g_cond_init(&s->cond);
  s->thread = g_thread_new("demo-synth", worker, s);
  return s;
}

guint64 demo_synth_request(DemoSynth *s, const float *sketch, const FrGanConfig *cfg) {
  g_mutex_lock(&s->lock);
  memcpy(s->sketch, sketch, sizeof s->sketch);
  s->cfg = *cfg;
  guint64 seq = ++s->requested;
  g_cond_broadcast(&s->cond);
  g_mutex_unlock(&s->lock);
  return seq;
}

gboolean demo_synth_poll(DemoSynth *s, DemoSynthResult *out) {
  g_mutex_lock(&s->lock);
  gboolean fresh = s->finished != s->polled;
  if (fresh) {
    *out = s->result;
    s->polled = s->finished;
  }
  g_mutex_unlock(&s->lock);
  return fresh;
}

gboolean demo_synth_busy(DemoSynth *s) {
  g_mutex_lock(&s->lock);
  gboolean busy = s->finished != s->requested;
  g_mutex_unlock(&s->lock);
  return busy;
}

gboolean demo_synth_wait(DemoSynth *s, int timeout_ms) {
  gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  g_mutex_lock(&s->lock);
  while (s->finished != s->requested)
    if (!g_cond_wait_until(&s->cond, &s->lock, end)) break;
  gboolean idle = s->finished == s->requested;
  g_mutex_unlock(&s->lock);
  return idle;
}

void demo_synth_free(DemoSynth *s) {
  if (!s) return;
  g_mutex_lock(&s->lock);
  s->quit = TRUE;
  g_cond_broadcast(&s->cond);
  g_mutex_unlock(&s->lock);
  g_thread_join(s->thread);
  if (s->student) fr_gan_generator_free(s->student);
  g_mutex_clear(&s->lock);
  g_cond_clear(&s->cond);
  g_free(s);
}
