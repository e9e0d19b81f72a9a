/* fr-rng.h: a small, seedable, splittable PRNG (xoshiro256**), so runs are reproducible. */
#pragma once
#include <stdint.h>

typedef struct { uint64_t s[4]; } FrRng;

void fr_rng_seed(FrRng *r, uint64_t seed);
uint64_t fr_rng_next(FrRng *r);
double fr_rng_uniform(FrRng *r);                 /* [0,1) */
float fr_rng_normal(FrRng *r);                   /* N(0,1) */
uint64_t fr_rng_below(FrRng *r, uint64_t n);     /* [0,n) without modulo bias */
void fr_rng_shuffle_int(FrRng *r, int *a, int n);
void fr_rng_fill_uniform(FrRng *r, float *x, int64_t n, float lo, float hi);
void fr_rng_fill_normal(FrRng *r, float *x, int64_t n, float mean, float std);
