/* fr-profile.h: collects the per-op records a graph emits when a profiler is attached
 * (fr_graph_set_profiler) and sums them by op and phase. The visual profiler builds on this. */
#pragma once
#include <stdio.h>
#include "fr-tensor.h"

G_BEGIN_DECLS

typedef struct {
  char op[48];
  char phase[12];
  int64_t calls;
  double seconds, macs, bytes;
} FrProfileRow;

typedef struct FrProfile FrProfile;

FrProfile *fr_profile_new(void);
void fr_profile_free(FrProfile *p);
void fr_profile_attach(FrProfile *p, FrGraph *g);   /* g's ops now report to p */
void fr_profile_clear(FrProfile *p);
/* Rows sorted by time, most first. */
const FrProfileRow *fr_profile_rows(FrProfile *p, int *n);
double fr_profile_total_seconds(FrProfile *p);
void fr_profile_print(FrProfile *p, FILE *f);

G_END_DECLS
