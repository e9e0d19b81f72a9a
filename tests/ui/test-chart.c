/* test-chart.c: FrontierChart's data API, and that frames stay cheap with 100k-point series.
 * Needs a display (run under xvfb-run). */
#include <math.h>

#include <adwaita.h>

#include "frontier-chart.h"

static void
test_api(void)
{
  FrontierChart *chart = FRONTIER_CHART(g_object_ref_sink(frontier_chart_new()));

  frontier_chart_set_title(chart, "Loss");
  g_object_set(chart, "x-label", "Step", "y-label", "Cross-entropy", NULL);
  g_assert_cmpstr(frontier_chart_get_title(chart), ==, "Loss");
  g_assert_cmpstr(frontier_chart_get_x_label(chart), ==, "Step");
  g_assert_cmpstr(frontier_chart_get_y_label(chart), ==, "Cross-entropy");

  guint a = frontier_chart_add_series(chart, "a", FRONTIER_CHART_LINE, NULL);
  GdkRGBA red = { 1, 0, 0, 1 };
  guint b = frontier_chart_add_series(chart, "b", FRONTIER_CHART_SCATTER, &red);
  g_assert_cmpuint(a, ==, 0);
  g_assert_cmpuint(b, ==, 1);
  g_assert_cmpuint(frontier_chart_get_n_series(chart), ==, 2);

  frontier_chart_append(chart, a, 1, 2);
  frontier_chart_append(chart, a, 2, NAN); /* kept, so indices stay the caller's */
  double xs[] = { 3, 4, 5 }, ys[] = { 6, 7, 8 };
  frontier_chart_append_many(chart, a, xs, ys, 3);
  g_assert_cmpuint(frontier_chart_get_n_points(chart, a), ==, 5);
  g_assert_cmpuint(frontier_chart_get_n_points(chart, b), ==, 0);

  double x, y;
  g_assert_true(frontier_chart_get_point(chart, a, 0, &x, &y));
  g_assert_cmpfloat(x, ==, 1);
  g_assert_cmpfloat(y, ==, 2);
  g_assert_true(frontier_chart_get_point(chart, a, 1, &x, &y));
  g_assert_true(isnan(y));
  g_assert_true(frontier_chart_get_point(chart, a, 4, &x, &y));
  g_assert_cmpfloat(y, ==, 8);
  g_assert_false(frontier_chart_get_point(chart, a, 5, &x, &y));

  frontier_chart_set_highlight(chart, a, 3);
  frontier_chart_set_highlight(chart, -1, -1);
  frontier_chart_set_x_range(chart, 0, NAN);
  frontier_chart_set_y_range(chart, NAN, NAN);
  frontier_chart_reset_view(chart);

  frontier_chart_append(chart, b, 0.5, 0.5);
  frontier_chart_clear_series(chart, a);
  g_assert_cmpuint(frontier_chart_get_n_points(chart, a), ==, 0);
  g_assert_cmpuint(frontier_chart_get_n_points(chart, b), ==, 1);
  frontier_chart_clear(chart);
  g_assert_cmpuint(frontier_chart_get_n_points(chart, b), ==, 0);
  g_assert_cmpuint(frontier_chart_get_n_series(chart), ==, 2);
  frontier_chart_remove_all_series(chart);
  g_assert_cmpuint(frontier_chart_get_n_series(chart), ==, 0);

  g_object_unref(chart);
}

static gboolean
wait_cb(gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
spin(guint ms)
{
  gboolean done = FALSE;
  g_timeout_add(ms, wait_cb, &done);
  while (!done)
    g_main_context_iteration(NULL, TRUE);
}

/* Snapshots the chart (its own drawing code) and rasterises the result with the cairo renderer. */
static double
frame_ms(GtkWidget *chart, GskRenderer *renderer, int reps, const char *png)
{
  int w = gtk_widget_get_width(chart), h = gtk_widget_get_height(chart);
  gint64 t0 = g_get_monotonic_time();
  for (int i = 0; i < reps; i++) {
    GtkSnapshot *snapshot = gtk_snapshot_new();
    GTK_WIDGET_GET_CLASS(chart)->snapshot(chart, snapshot);
    GskRenderNode *node = gtk_snapshot_free_to_node(snapshot);
    g_assert_nonnull(node);
    GdkTexture *tex = gsk_renderer_render_texture(renderer, node, &GRAPHENE_RECT_INIT(0, 0, w, h));
    /* FR_CHART_PNG_DIR=dir saves the frames, to look at them. */
    const char *dir = g_getenv("FR_CHART_PNG_DIR");
    if (dir != NULL && png != NULL && i == 0) {
      g_autofree char *path = g_build_filename(dir, png, NULL);
      gdk_texture_save_to_png(tex, path);
    }
    g_object_unref(tex);
    gsk_render_node_unref(node);
  }
  return (g_get_monotonic_time() - t0) / 1000.0 / reps;
}

static void
test_large(void)
{
  GtkWidget *window = gtk_window_new();
  gtk_window_set_default_size(GTK_WINDOW(window), 900, 420);
  GtkWidget *chart = frontier_chart_new();
  gtk_window_set_child(GTK_WINDOW(window), chart);
  gtk_window_present(GTK_WINDOW(window));
  for (int i = 0; i < 100 && gtk_widget_get_width(chart) < 100; i++)
    spin(20);
  g_assert_cmpint(gtk_widget_get_width(chart), >=, 100);

  GskRenderer *renderer = gsk_cairo_renderer_new();
  g_assert_true(gsk_renderer_realize(renderer, NULL, NULL));

  frontier_chart_set_title(FRONTIER_CHART(chart), "100k points");
  double t_empty = frame_ms(chart, renderer, 5, "chart-empty.png");
  guint line = frontier_chart_add_series(FRONTIER_CHART(chart), "noisy line", FRONTIER_CHART_LINE, NULL);
  enum { N = 100000 };
  double *xs = g_new(double, N), *ys = g_new(double, N);
  GRand *rand = g_rand_new_with_seed(7);
  for (int i = 0; i < 1000; i++) {
    xs[i] = i;
    ys[i] = sin(i * 1e-3 * 20) + g_rand_double_range(rand, -0.3, 0.3);
  }
  frontier_chart_append_many(FRONTIER_CHART(chart), line, xs, ys, 1000);
  double t_small = frame_ms(chart, renderer, 5, "chart-1k.png");

  frontier_chart_clear(FRONTIER_CHART(chart));
  for (int i = 0; i < N; i++) {
    xs[i] = i;
    ys[i] = sin(i * 1e-4 * 20) + g_rand_double_range(rand, -0.3, 0.3);
  }
  gint64 t0 = g_get_monotonic_time();
  frontier_chart_append_many(FRONTIER_CHART(chart), line, xs, ys, N);
  double t_append = (g_get_monotonic_time() - t0) / 1000.0;
  double t_line = frame_ms(chart, renderer, 10, "chart-100k-line.png");

  guint cloud = frontier_chart_add_series(FRONTIER_CHART(chart), "scatter", FRONTIER_CHART_SCATTER, NULL);
  for (int i = 0; i < N; i++) {
    xs[i] = g_rand_double_range(rand, 0, N);
    ys[i] = g_rand_double_range(rand, -1.5, 1.5);
  }
  frontier_chart_append_many(FRONTIER_CHART(chart), cloud, xs, ys, N);
  double t_both = frame_ms(chart, renderer, 10, "chart-100k-both.png");

  g_test_message("append 100k: %.2f ms; frame: empty %.2f ms, 1k-point line %.2f ms, 100k-point line %.2f ms, "
                 "+100k scatter %.2f ms", t_append, t_empty, t_small, t_line, t_both);
  g_assert_cmpfloat(t_append, <, 50);
  /* Generous bounds for slow CI machines; a frame is ~1-10 ms on a desktop. */
  g_assert_cmpfloat(t_line, <, 60);
  g_assert_cmpfloat(t_both, <, 120);

  g_rand_free(rand);
  g_free(xs);
  g_free(ys);
  gsk_renderer_unrealize(renderer);
  g_object_unref(renderer);
  gtk_window_destroy(GTK_WINDOW(window));
}

int
main(int argc, char *argv[])
{
  gtk_test_init(&argc, &argv, NULL);
  adw_init();
  g_test_add_func("/chart/api", test_api);
  g_test_add_func("/chart/large", test_large);
  return g_test_run();
}
