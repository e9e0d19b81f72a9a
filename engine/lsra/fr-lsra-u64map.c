/* fr-lsra-u64map.c: linear probing with Fibonacci hashing, grown at 50 % load. */
#include "fr-lsra-u64map.h"

#include <string.h>

static guint32 slot(const FrLsraU64Map *m, uint64_t key) {
  return (guint32)((key * UINT64_C(0x9E3779B97F4A7C15)) >> m->shift);
}

static void alloc_table(FrLsraU64Map *m, guint32 cap) {
  m->cap = cap;
  m->shift = 64 - (guint32)g_bit_nth_msf(cap, -1);
  m->keys = g_new(uint64_t, cap);
  m->values = g_new(int32_t, cap);
  memset(m->keys, 0xFF, cap * sizeof *m->keys);
}

void fr_lsra_u64map_init(FrLsraU64Map *m) {
  m->len = 0;
  alloc_table(m, 64);
}

void fr_lsra_u64map_clear(FrLsraU64Map *m) {
  g_free(m->keys);
  g_free(m->values);
  memset(m, 0, sizeof *m);
}

int32_t fr_lsra_u64map_get(const FrLsraU64Map *m, uint64_t key) {
  if (!m->cap) return -1;
  for (guint32 i = slot(m, key);; i = (i + 1) & (m->cap - 1)) {
    if (m->keys[i] == key) return m->values[i];
    if (m->keys[i] == FR_LSRA_U64MAP_EMPTY) return -1;
  }
}

void fr_lsra_u64map_set(FrLsraU64Map *m, uint64_t key, int32_t value) {
  g_return_if_fail(key != FR_LSRA_U64MAP_EMPTY);
  if (!m->cap) fr_lsra_u64map_init(m);
  if (2 * (m->len + 1) > m->cap) {
    uint64_t *keys = m->keys;
    int32_t *values = m->values;
    guint32 old = m->cap;
    alloc_table(m, old * 2);
    for (guint32 j = 0; j < old; j++) {
      if (keys[j] == FR_LSRA_U64MAP_EMPTY) continue;
      guint32 i = slot(m, keys[j]);
      while (m->keys[i] != FR_LSRA_U64MAP_EMPTY) i = (i + 1) & (m->cap - 1);
      m->keys[i] = keys[j];
      m->values[i] = values[j];
    }
    g_free(keys);
    g_free(values);
  }
  guint32 i = slot(m, key);
  while (m->keys[i] != key && m->keys[i] != FR_LSRA_U64MAP_EMPTY) i = (i + 1) & (m->cap - 1);
  if (m->keys[i] == FR_LSRA_U64MAP_EMPTY) m->len++;
  m->keys[i] = key;
  m->values[i] = value;
}
