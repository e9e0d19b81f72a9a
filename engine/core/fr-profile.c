#include "fr-profile.h"

#include <stdio.h>
#include <string.h>

struct FrProfile {
  GMutex lock;
  GArray *rows;   /* FrProfileRow */
  gboolean sorted;
};

FrProfile *fr_profile_new(void) {
  FrProfile *p = g_new0(FrProfile, 1);
  g_mutex_init(&p->lock);
  p->rows = g_array_new(FALSE, TRUE, sizeof(FrProfileRow));
  return p;
}

void fr_profile_free(FrProfile *p) {
  if (!p) return;
  g_array_unref(p->rows);
  g_mutex_clear(&p->lock);
  g_free(p);
}

static void on_record(const FrOpRecord *rec, void *user) {
  FrProfile *p = user;
  g_mutex_lock(&p->lock);
  FrProfileRow *row = NULL;
  for (guint i = 0; i < p->rows->len && !row; i++) {
    FrProfileRow *r = &g_array_index(p->rows, FrProfileRow, i);
    if (!strcmp(r->op, rec->op) && !strcmp(r->phase, rec->phase)) row = r;
  }
  if (!row) {
    FrProfileRow r = {0};
    g_strlcpy(r.op, rec->op, sizeof r.op);
    g_strlcpy(r.phase, rec->phase, sizeof r.phase);
    g_array_append_val(p->rows, r);
    row = &g_array_index(p->rows, FrProfileRow, p->rows->len - 1);
  }
  row->calls++;
  row->seconds += (double)(rec->end_ns - rec->start_ns) / 1e9;
  row->macs += rec->macs;
  row->bytes += rec->bytes_read + rec->bytes_written;
  p->sorted = FALSE;
  g_mutex_unlock(&p->lock);
}

void fr_profile_attach(FrProfile *p, FrGraph *g) { fr_graph_set_profiler(g, on_record, p); }

void fr_profile_clear(FrProfile *p) {
  g_mutex_lock(&p->lock);
  g_array_set_size(p->rows, 0);
  g_mutex_unlock(&p->lock);
}

static int by_time(gconstpointer a, gconstpointer b) {
  double x = ((const FrProfileRow *)a)->seconds, y = ((const FrProfileRow *)b)->seconds;
  return x < y ? 1 : (x > y ? -1 : 0);
}

const FrProfileRow *fr_profile_rows(FrProfile *p, int *n) {
  if (!p->sorted) {
    g_array_sort(p->rows, by_time);
    p->sorted = TRUE;
  }
  *n = (int)p->rows->len;
  return (const FrProfileRow *)p->rows->data;
}

double fr_profile_total_seconds(FrProfile *p) {
  double s = 0;
  for (guint i = 0; i < p->rows->len; i++) s += g_array_index(p->rows, FrProfileRow, i).seconds;
  return s;
}

void fr_profile_print(FrProfile *p, FILE *f) {
  int n;
  const FrProfileRow *rows = fr_profile_rows(p, &n);
  double total = fr_profile_total_seconds(p);
  fprintf(f, "%-28s %-9s %8s %10s %7s %9s\n", "op", "phase", "calls", "seconds", "share", "GFLOP/s");
  for (int i = 0; i < n; i++)
    fprintf(f, "%-28s %-9s %8lld %10.3f %6.1f%% %9.2f\n", rows[i].op, rows[i].phase, (long long)rows[i].calls,
            rows[i].seconds, total > 0 ? 100 * rows[i].seconds / total : 0,
            rows[i].seconds > 0 ? 2e-9 * rows[i].macs / rows[i].seconds : 0);
}
