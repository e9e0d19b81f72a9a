/* fr-pool.h: a fixed pool of worker threads for data-parallel loops inside kernels.
 *
 * fr_parallel_for splits [0, n) into chunks of at least `grain` items and runs fn on them, the calling
 * thread included. A call made while the pool is busy (from a worker, or from a second job) runs
 * inline on the caller, so kernels can nest without deadlock. GEMMs go through OpenBLAS, whose own
 * thread count is set to match the pool. */
#pragma once
#include <stdint.h>

typedef void (*FrParallelFn)(void *ctx, int64_t begin, int64_t end);

void fr_parallel_for(int64_t n, int64_t grain, FrParallelFn fn, void *ctx);
/* 0: all cores. Takes effect for the next parallel loop. */
void fr_pool_set_threads(int n);
int fr_pool_get_threads(void);
