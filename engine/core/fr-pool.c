#include "fr-pool.h"

#include <cblas.h>
#include <glib.h>

typedef struct {
  GMutex dispatch;          /* held by the thread that owns the pool for one loop */
  GMutex lock;
  GCond wake, done;
  GThread **workers;
  int n_workers;
  int wanted_threads;
  guint64 generation;
  /* current loop */
  FrParallelFn fn;
  void *ctx;
  int64_t n, chunk;
  gint next_chunk;
  int n_chunks;
  int finished;
  int active;               /* workers inside run_chunks for the current loop */
  gboolean quit;
} Pool;

static Pool pool;
static GOnce pool_once = G_ONCE_INIT;
static GPrivate in_worker;

static void run_chunks(void) {
  for (;;) {
    int c = g_atomic_int_add(&pool.next_chunk, 1);
    if (c >= pool.n_chunks) break;
    int64_t b = (int64_t)c * pool.chunk, e = b + pool.chunk;
    if (e > pool.n) e = pool.n;
    pool.fn(pool.ctx, b, e);
    g_mutex_lock(&pool.lock);
    if (++pool.finished == pool.n_chunks) g_cond_broadcast(&pool.done);
    g_mutex_unlock(&pool.lock);
  }
}

static gpointer worker_main(gpointer data) {
  g_private_set(&in_worker, GINT_TO_POINTER(1));
  guint64 seen = 0;
  g_mutex_lock(&pool.lock);
  for (;;) {
    while (pool.generation == seen && !pool.quit) g_cond_wait(&pool.wake, &pool.lock);
    if (pool.quit) break;
    seen = pool.generation;
    pool.active++;
    g_mutex_unlock(&pool.lock);
    run_chunks();
    g_mutex_lock(&pool.lock);
    if (--pool.active == 0) g_cond_broadcast(&pool.done);
  }
  g_mutex_unlock(&pool.lock);
  return NULL;
}

static void resize_workers(int threads) {
  int want = threads - 1;
  openblas_set_num_threads(1);   /* fr_gemm splits products across the pool itself */
  if (want == pool.n_workers) return;
  /* stop all, start anew: rare (settings change) */
  g_mutex_lock(&pool.lock);
  pool.quit = TRUE;
  g_cond_broadcast(&pool.wake);
  g_mutex_unlock(&pool.lock);
  for (int i = 0; i < pool.n_workers; i++) g_thread_join(pool.workers[i]);
  g_free(pool.workers);
  pool.quit = FALSE;
  pool.n_workers = want;
  pool.workers = g_new0(GThread *, want > 0 ? want : 1);
  for (int i = 0; i < want; i++) pool.workers[i] = g_thread_new("fr-pool", worker_main, NULL);
}

static gpointer pool_init(gpointer data) {
  g_mutex_init(&pool.dispatch);
  g_mutex_init(&pool.lock);
  g_cond_init(&pool.wake);
  g_cond_init(&pool.done);
  int t = pool.wanted_threads > 0 ? pool.wanted_threads : (int)g_get_num_processors();
  const char *env = g_getenv("FR_THREADS");
  if (pool.wanted_threads <= 0 && env && atoi(env) > 0) t = atoi(env);
  pool.wanted_threads = t;
  resize_workers(t);
  return NULL;
}

void fr_pool_set_threads(int n) {
  g_once(&pool_once, pool_init, NULL);
  if (n <= 0) n = (int)g_get_num_processors();
  g_mutex_lock(&pool.dispatch);
  pool.wanted_threads = n;
  resize_workers(n);
  g_mutex_unlock(&pool.dispatch);
}

int fr_pool_get_threads(void) {
  g_once(&pool_once, pool_init, NULL);
  return pool.wanted_threads;
}

void fr_parallel_for(int64_t n, int64_t grain, FrParallelFn fn, void *ctx) {
  if (n <= 0) return;
  g_once(&pool_once, pool_init, NULL);
  if (grain < 1) grain = 1;
  int threads = pool.n_workers + 1;
  if (n <= grain || threads == 1 || g_private_get(&in_worker) || !g_mutex_trylock(&pool.dispatch)) {
    fn(ctx, 0, n);
    return;
  }
  /* a few chunks per thread balance uneven work without much overhead */
  int64_t max_chunks = (int64_t)threads * 4;
  int64_t chunk = (n + max_chunks - 1) / max_chunks;
  if (chunk < grain) chunk = grain;
  g_mutex_lock(&pool.lock);
  while (pool.active > 0) g_cond_wait(&pool.done, &pool.lock);  /* a late waker of the last loop */
  pool.fn = fn;
  pool.ctx = ctx;
  pool.n = n;
  pool.chunk = chunk;
  pool.n_chunks = (int)((n + chunk - 1) / chunk);
  pool.next_chunk = 0;
  pool.finished = 0;
  pool.generation++;
  g_cond_broadcast(&pool.wake);
  g_mutex_unlock(&pool.lock);
  g_private_set(&in_worker, GINT_TO_POINTER(1));
  run_chunks();
  g_private_set(&in_worker, NULL);
  /* Done when every chunk is: a worker that wakes only now finds no chunk left and touches neither fn
   * nor ctx, and the next loop waits for it (active) before changing the loop's fields. Waiting for it
   * here as well cost a scheduler wake-up per loop whenever the other cores were busy. */
  g_mutex_lock(&pool.lock);
  while (pool.finished < pool.n_chunks) g_cond_wait(&pool.done, &pool.lock);
  g_mutex_unlock(&pool.lock);
  g_mutex_unlock(&pool.dispatch);
}
