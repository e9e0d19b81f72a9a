/* fr-arena.h: one bump allocator per computation (a training step, a forward pass).
 * Everything allocated from it is freed at once by fr_arena_reset() or fr_arena_free(). */
#pragma once
#include <stddef.h>

typedef struct FrArena FrArena;

FrArena *fr_arena_new(size_t chunk_bytes);   /* 0: a default of 16 MiB */
void fr_arena_free(FrArena *a);
void *fr_arena_alloc(FrArena *a, size_t bytes);        /* 64-byte aligned, uninitialised */
void *fr_arena_calloc(FrArena *a, size_t bytes);       /* zeroed */
void fr_arena_reset(FrArena *a);             /* keeps the biggest chunk, frees the rest */
size_t fr_arena_used(const FrArena *a);
size_t fr_arena_capacity(const FrArena *a);
