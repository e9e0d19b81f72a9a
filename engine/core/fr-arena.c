#include "fr-arena.h"

#include <glib.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define FR_ARENA_ALIGN 64

/* glibc raises its mmap threshold after the first large free, so later arena chunks and data sets
 * would come from heaps that are never given back (and every job thread gets its own heap). A fixed
 * threshold keeps large blocks in mmap, so a finished job returns its memory to the system. */
__attribute__((constructor)) static void fr_malloc_tuning(void) {
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_ARENA_MAX, 4);
}

typedef struct Chunk {
  struct Chunk *next;
  size_t size;
  size_t used;
  unsigned char *mem;
} Chunk;

struct FrArena {
  Chunk *head;          /* chunk being filled */
  size_t chunk_bytes;
  size_t used_total;    /* bytes handed out in full chunks before head */
};

static Chunk *chunk_new(size_t size) {
  Chunk *c = g_new0(Chunk, 1);
  c->size = size;
  c->mem = aligned_alloc(FR_ARENA_ALIGN, (size + FR_ARENA_ALIGN - 1) / FR_ARENA_ALIGN * FR_ARENA_ALIGN);
  if (!c->mem) g_error("fr_arena: out of memory allocating %zu bytes", size);
  return c;
}

static void chunk_free(Chunk *c) {
  free(c->mem);
  g_free(c);
}

FrArena *fr_arena_new(size_t chunk_bytes) {
  FrArena *a = g_new0(FrArena, 1);
  a->chunk_bytes = chunk_bytes ? chunk_bytes : (size_t)16 << 20;
  return a;
}

void fr_arena_free(FrArena *a) {
  if (!a) return;
  for (Chunk *c = a->head, *n; c; c = n) {
    n = c->next;
    chunk_free(c);
  }
  g_free(a);
}

void *fr_arena_alloc(FrArena *a, size_t bytes) {
  size_t need = (bytes + FR_ARENA_ALIGN - 1) / FR_ARENA_ALIGN * FR_ARENA_ALIGN;
  if (need == 0) need = FR_ARENA_ALIGN;
  if (!a->head || a->head->used + need > a->head->size) {
    size_t size = need > a->chunk_bytes ? need : a->chunk_bytes;
    Chunk *c = chunk_new(size);
    if (a->head) a->used_total += a->head->used;
    c->next = a->head;
    a->head = c;
  }
  void *p = a->head->mem + a->head->used;
  a->head->used += need;
  return p;
}

void *fr_arena_calloc(FrArena *a, size_t bytes) {
  void *p = fr_arena_alloc(a, bytes);
  memset(p, 0, bytes);
  return p;
}

void fr_arena_reset(FrArena *a) {
  /* Keep one chunk big enough for everything the last computation used, so the steady state of a
   * training loop is a single allocation that is reused every step. */
  size_t total = a->used_total + (a->head ? a->head->used : 0);
  Chunk *keep = NULL;
  for (Chunk *c = a->head, *n; c; c = n) {
    n = c->next;
    if (!keep && c->size >= total) keep = c;
    else chunk_free(c);
  }
  if (!keep && total > 0) keep = chunk_new(total > a->chunk_bytes ? total : a->chunk_bytes);
  if (keep) {
    keep->next = NULL;
    keep->used = 0;
  }
  a->head = keep;
  a->used_total = 0;
}

size_t fr_arena_used(const FrArena *a) {
  return a->used_total + (a->head ? a->head->used : 0);
}

size_t fr_arena_capacity(const FrArena *a) {
  size_t s = 0;
  for (Chunk *c = a->head; c; c = c->next) s += c->size;
  return s;
}
