/* fr-lsra-u64map.h: an open-addressing hash map from 64-bit keys to 32-bit values, for symbol pairs
 * (left id << 32 | right id). BPE learning looks pairs up tens of millions of times; GHashTable
 * would box every key. */
#pragma once
#include <glib.h>
#include <stdint.h>

typedef struct {
  uint64_t *keys; /* FR_LSRA_U64MAP_EMPTY where free */
  int32_t *values;
  guint32 cap, len, shift; /* cap is a power of two; shift = 64 - log2(cap) */
} FrLsraU64Map;

#define FR_LSRA_U64MAP_EMPTY UINT64_MAX

static inline uint64_t fr_lsra_pair_key(int32_t a, int32_t b) { return (uint64_t)(uint32_t)a << 32 | (uint32_t)b; }

void fr_lsra_u64map_init(FrLsraU64Map *m);
void fr_lsra_u64map_clear(FrLsraU64Map *m);
/* The value for key, or -1. */
int32_t fr_lsra_u64map_get(const FrLsraU64Map *m, uint64_t key);
/* Sets key (not FR_LSRA_U64MAP_EMPTY) to value, replacing an old value. */
void fr_lsra_u64map_set(FrLsraU64Map *m, uint64_t key, int32_t value);
