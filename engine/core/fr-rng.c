#include "fr-rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void fr_rng_seed(FrRng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fr_rng_next(FrRng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double fr_rng_uniform(FrRng *r) { return (double)(fr_rng_next(r) >> 11) * 0x1.0p-53; }

float fr_rng_normal(FrRng *r) {
  double u1 = fr_rng_uniform(r), u2 = fr_rng_uniform(r);
  if (u1 < 1e-300) u1 = 1e-300;
  return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}

uint64_t fr_rng_below(FrRng *r, uint64_t n) {
  if (n == 0) return 0;
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = fr_rng_next(r); while (x >= limit);
  return x % n;
}

void fr_rng_shuffle_int(FrRng *r, int *a, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)fr_rng_below(r, (uint64_t)i + 1);
    int t = a[i]; a[i] = a[j]; a[j] = t;
  }
}

void fr_rng_fill_uniform(FrRng *r, float *x, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)fr_rng_uniform(r);
}

void fr_rng_fill_normal(FrRng *r, float *x, int64_t n, float mean, float std) {
  for (int64_t i = 0; i < n; i++) x[i] = mean + std * fr_rng_normal(r);
}
