/* engine/report: atomic writers (CSV, JSON, SVG/PDF/PNG), CSV quoting, number formatting, figures that
 * parse, failures that leave nothing behind, and the stacked bar chart's drawing and hit-testing. */
#include "fr-report.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *
make_tmpdir(void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp("fr-report-XXXXXX", &error);
  g_assert_no_error(error);
  return dir;
}

/* Every name in dir, sorted, joined by spaces (shows leftover temporary files). */
static int
cmp_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *
list_dir(const char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  g_assert_nonnull(d);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  const char *n;
  while ((n = g_dir_read_name(d)) != NULL)
    g_ptr_array_add(names, g_strdup(n));
  g_dir_close(d);
  g_ptr_array_sort(names, cmp_names);
  g_ptr_array_add(names, NULL);
  return g_strjoinv(" ", (char **)names->pdata);
}

static void
rm_rf(const char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  if (d == NULL)
    return;
  const char *n;
  while ((n = g_dir_read_name(d)) != NULL) {
    g_autofree char *p = g_build_filename(dir, n, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_DIR))
      rm_rf(p);
    else
      g_unlink(p);
  }
  g_dir_close(d);
  g_rmdir(dir);
}

static char *
read_all(const char *path, gsize *len)
{
  char *data = NULL;
  GError *error = NULL;
  g_assert_true(g_file_get_contents(path, &data, len, &error));
  g_assert_no_error(error);
  return data;
}

/* ---- Atomic files ---- */

static void
test_write_file(void)
{
  g_autofree char *dir = make_tmpdir();
  g_autofree char *path = g_build_filename(dir, "out.txt", NULL);
  GError *error = NULL;

  g_assert_true(fr_report_write_file(path, "hello\n", 6, &error));
  g_assert_no_error(error);
  gsize len;
  g_autofree char *text = read_all(path, &len);
  g_assert_cmpstr(text, ==, "hello\n");
  g_autofree char *names = list_dir(dir);
  g_assert_cmpstr(names, ==, "out.txt");

  /* Replacing keeps the file's mode. */
  g_assert_cmpint(g_chmod(path, 0600), ==, 0);
  g_assert_true(fr_report_write_file(path, "again", 5, &error));
  g_assert_no_error(error);
  GStatBuf st;
  g_assert_cmpint(g_stat(path, &st), ==, 0);
  g_assert_cmpint(st.st_mode & 0777, ==, 0600);
  g_autofree char *again = read_all(path, &len);
  g_assert_cmpstr(again, ==, "again");

  /* Empty content is a valid (empty) file. */
  g_autofree char *empty = g_build_filename(dir, "empty", NULL);
  g_assert_true(fr_report_write_file(empty, NULL, 0, &error));
  g_assert_no_error(error);
  g_assert_cmpint(g_stat(empty, &st), ==, 0);
  g_assert_cmpint(st.st_size, ==, 0);
  rm_rf(dir);
}

static void
test_write_failures(void)
{
  g_autofree char *dir = make_tmpdir();
  GError *error = NULL;

  /* A folder that does not exist: an error, nothing created. */
  g_autofree char *missing = g_build_filename(dir, "no", "such", "dir", "x.csv", NULL);
  g_assert_false(fr_report_write_file(missing, "x", 1, &error));
  g_assert_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_IO);
  g_clear_error(&error);

  /* The destination is a folder: the rename fails, the temporary file goes, the folder stays. */
  g_autofree char *sub = g_build_filename(dir, "taken", NULL);
  g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
  g_autofree char *keep = g_build_filename(sub, "keep", NULL);
  g_assert_true(g_file_set_contents(keep, "k", 1, NULL));
  g_assert_false(fr_report_write_file(sub, "data", 4, &error));
  g_assert_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_IO);
  g_clear_error(&error);
  g_autofree char *names = list_dir(dir);
  g_assert_cmpstr(names, ==, "taken");
  g_assert_true(g_file_test(keep, G_FILE_TEST_IS_REGULAR));

  /* No file name. */
  g_assert_false(fr_report_write_file("", "x", 1, &error));
  g_assert_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_INVALID);
  g_clear_error(&error);
  rm_rf(dir);
}

/* ---- CSV ---- */

static void
test_csv_quote(void)
{
  static const struct { const char *in, *out; } cases[] = {
    { "plain", "plain" },
    { "", "" },
    { "a,b", "\"a,b\"" },
    { "say \"hi\"", "\"say \"\"hi\"\"\"" },
    { "two\nlines", "\"two\nlines\"" },
    { "cr\rhere", "\"cr\rhere\"" },
    { " lead", "\" lead\"" },
    { "trail ", "\"trail \"" },
    { "in side", "in side" },
    { "ünïcode ×2.8", "ünïcode ×2.8" },
    { "\"", "\"\"\"\"" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *q = fr_report_csv_quote(cases[i].in);
    g_assert_cmpstr(q, ==, cases[i].out);
  }
}

static void
test_format_double(void)
{
  static const struct { double v; const char *s; } cases[] = {
    { 0.1, "0.1" }, { 1, "1" }, { -2.5, "-2.5" }, { 1e20, "1e+20" }, { 123456789, "123456789" },
    { 1.0 / 3, "0.3333333333333333" }, { 0, "0" }, { INFINITY, "inf" }, { -INFINITY, "-inf" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *s = fr_report_format_double(cases[i].v);
    g_assert_cmpstr(s, ==, cases[i].s);
  }
  g_autofree char *nan_text = fr_report_format_double(NAN);
  g_assert_cmpstr(nan_text, ==, "");
  /* Round trip on awkward values. */
  double vals[] = { M_PI, 2.0 / 3, 1e-300, 6.02214076e23, 0.30000000000000004 };
  for (guint i = 0; i < G_N_ELEMENTS(vals); i++) {
    g_autofree char *s = fr_report_format_double(vals[i]);
    g_assert_cmpfloat(g_ascii_strtod(s, NULL), ==, vals[i]);
  }
}

static void
test_format_si(void)
{
  static const struct { double v; const char *unit, *s; } cases[] = {
    { 512, "B", "512 B" }, { 1234, "B", "1.23 kB" }, { 4.56e9, "B", "4.56 GB" }, { 999.4, "B", "999 B" },
    { 999.6, "B", "1 kB" }, { 12345, "", "12.3k" }, { 0, "", "0" }, { 2.5e6, "", "2.5M" }, { -1500, "", "-1.5k" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *s = fr_report_format_si(cases[i].v, cases[i].unit);
    g_assert_cmpstr(s, ==, cases[i].s);
  }
  static const struct { gint64 v; const char *s; } ints[] = {
    { 0, "0" }, { 999, "999" }, { 1000, "1,000" }, { 103689, "103,689" }, { -1234567, "-1,234,567" },
    { G_MININT64, "-9,223,372,036,854,775,808" }, { G_MAXINT64, "9,223,372,036,854,775,807" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(ints); i++) {
    g_autofree char *s = fr_report_format_int(ints[i].v);
    g_assert_cmpstr(s, ==, ints[i].s);
  }
  g_autofree char *b = fr_report_format_bytes(3.2e6);
  g_assert_cmpstr(b, ==, "3.2 MB");
}

static void
test_csv_table(void)
{
  FrReportTable *t = fr_report_table_new_with_columns("configuration", "bytes", "note", NULL);
  g_assert_cmpuint(fr_report_table_get_n_columns(t), ==, 3);
  g_assert_cmpuint(fr_report_table_get_n_rows(t), ==, 0);
  guint r0 = fr_report_table_add_row(t);
  fr_report_table_set_string(t, r0, 0, "OuterSPACE");
  fr_report_table_set_int(t, r0, 1, 123456789012);
  fr_report_table_set_string(t, r0, 2, "baseline, \"paper\"");
  guint r1 = fr_report_table_add_row(t);
  fr_report_table_set_string(t, r1, 0, "+condensing");
  fr_report_table_set_double(t, r1, 1, 0.5);
  /* r1 col 2 left empty */
  guint r2 = fr_report_table_add_row(t);
  fr_report_table_set_string(t, r2, 0, "multi\nline");
  fr_report_table_set_double(t, r2, 1, NAN);
  fr_report_table_set_string(t, r2, 2, " padded ");
  g_assert_cmpuint(fr_report_table_get_n_rows(t), ==, 3);
  g_assert_cmpstr(fr_report_table_get(t, 1, 2), ==, "");
  g_assert_cmpstr(fr_report_table_get(t, 0, 1), ==, "123456789012");

  gsize len = 0;
  g_autofree char *csv = fr_report_table_to_csv(t, &len);
  const char *expect = "configuration,bytes,note\n"
                       "OuterSPACE,123456789012,\"baseline, \"\"paper\"\"\"\n"
                       "+condensing,0.5,\n"
                       "\"multi\nline\",,\" padded \"\n";
  g_assert_cmpstr(csv, ==, expect);
  g_assert_cmpuint(len, ==, strlen(expect));

  g_autofree char *dir = make_tmpdir();
  g_autofree char *path = g_build_filename(dir, "ablation.csv", NULL);
  GError *error = NULL;
  g_assert_true(fr_report_table_write_csv(t, path, &error));
  g_assert_no_error(error);
  g_autofree char *back = read_all(path, NULL);
  g_assert_cmpstr(back, ==, expect);
  g_autofree char *names = list_dir(dir);
  g_assert_cmpstr(names, ==, "ablation.csv");

  /* A failed rewrite keeps the old file. */
  g_autofree char *bad = g_build_filename(dir, "nope", "x.csv", NULL);
  g_assert_false(fr_report_table_write_csv(t, bad, &error));
  g_assert_nonnull(error);
  g_clear_error(&error);
  fr_report_table_free(t);

  const char *hdr[] = { "only", NULL };
  t = fr_report_table_new(hdr);
  g_autofree char *one = fr_report_table_to_csv(t, NULL);
  g_assert_cmpstr(one, ==, "only\n");
  fr_report_table_free(t);
  rm_rf(dir);
}

/* ---- JSON ---- */

static void
test_json(void)
{
  g_autofree char *dir = make_tmpdir();
  g_autofree char *path = g_build_filename(dir, "result.json", NULL);
  GError *error = NULL;

  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "matrix");
  json_builder_add_string_value(b, "wiki-Vote \"synthetic\"?");
  json_builder_set_member_name(b, "total");
  json_builder_add_int_value(b, 123456789012);
  json_builder_set_member_name(b, "gflops");
  json_builder_add_double_value(b, 1.25);
  json_builder_end_object(b);
  g_assert_true(fr_report_write_json_builder(path, b, TRUE, &error));
  g_assert_no_error(error);

  g_autoptr(JsonParser) parser = json_parser_new();
  g_assert_true(json_parser_load_from_file(parser, path, &error));
  g_assert_no_error(error);
  JsonObject *o = json_node_get_object(json_parser_get_root(parser));
  g_assert_cmpstr(json_object_get_string_member(o, "matrix"), ==, "wiki-Vote \"synthetic\"?");
  g_assert_cmpint(json_object_get_int_member(o, "total"), ==, 123456789012);
  g_assert_cmpfloat(json_object_get_double_member(o, "gflops"), ==, 1.25);
  g_autofree char *text = read_all(path, NULL);
  g_assert_true(g_str_has_suffix(text, "}\n"));

  /* From a node, compact. */
  g_autoptr(JsonNode) node = json_from_string("[1, 2, 3]", &error);
  g_assert_no_error(error);
  g_assert_true(fr_report_write_json(path, node, FALSE, &error));
  g_assert_no_error(error);
  g_autofree char *compact = read_all(path, NULL);
  g_assert_cmpstr(compact, ==, "[1,2,3]\n");

  g_assert_false(fr_report_write_json(path, NULL, FALSE, &error));
  g_assert_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_INVALID);
  g_clear_error(&error);
  g_autofree char *still = read_all(path, NULL);
  g_assert_cmpstr(still, ==, "[1,2,3]\n");
  g_autofree char *names = list_dir(dir);
  g_assert_cmpstr(names, ==, "result.json");
  rm_rf(dir);
}

/* ---- Figures ---- */

static const char *const bar_labels[] = { "SpArch", "OuterSPACE" };
static const char *const seg_labels[] = { "A read", "B read", "Partial write", "Partial read", "C write" };
static const double bar_values[] = { 1e6, 4e6, 0, 0, 2e6, 1e6, 3e6, 9e6, 9e6, 2e6 };
static const char *const bar_notes[] = { "2.9× less", NULL };
static const double bar_markers[] = { 8e6, NAN };

static FrReportBarChart
sample_chart(void)
{
  FrReportBarChart c = { 0 };
  c.title = "DRAM traffic";
  c.value_label = "Bytes";
  c.n_bars = 2;
  c.n_segments = 5;
  c.bar_labels = bar_labels;
  c.segment_labels = seg_labels;
  c.values = bar_values;
  c.bar_notes = bar_notes;
  c.markers = bar_markers;
  c.marker_label = "Paper";
  c.format_value = fr_report_format_bytes_func;
  return c;
}

static void
draw_chart(cairo_t *cr, double w, double h, gpointer user)
{
  const FrReportBarChart *c = user;
  fr_report_draw_stacked_bars(cr, 0, 0, w, h, c);
}

static void
draw_broken(cairo_t *cr, double w, double h, gpointer user)
{
  cairo_rectangle(cr, 0, 0, w / 2, h / 2);
  cairo_fill(cr);
  cairo_restore(cr); /* unbalanced: puts the context in an error state */
  cairo_restore(cr);
}

static gboolean
have_pdfinfo(void)
{
  g_autofree char *p = g_find_program_in_path("pdfinfo");
  return p != NULL;
}

static void
test_render_formats(void)
{
  g_autofree char *dir = make_tmpdir();
  FrReportBarChart chart = sample_chart();
  GError *error = NULL;

  g_assert_cmpint(fr_report_format_from_path("a/b.SVG"), ==, FR_REPORT_FORMAT_SVG);
  g_assert_cmpint(fr_report_format_from_path("x.pdf"), ==, FR_REPORT_FORMAT_PDF);
  g_assert_cmpint(fr_report_format_from_path("x.png"), ==, FR_REPORT_FORMAT_PNG);
  g_assert_cmpint(fr_report_format_from_path("x.d/noext"), ==, FR_REPORT_FORMAT_AUTO);
  g_assert_cmpint(fr_report_format_from_path("x.txt"), ==, FR_REPORT_FORMAT_AUTO);

  /* SVG: an XML document with an <svg> element sized in points. */
  g_autofree char *svg = g_build_filename(dir, "dram.svg", NULL);
  g_assert_true(fr_report_render(svg, FR_REPORT_FORMAT_AUTO, 480, 240, draw_chart, &chart, &error));
  g_assert_no_error(error);
  gsize len = 0;
  g_autofree char *svg_text = read_all(svg, &len);
  g_assert_true(g_str_has_prefix(svg_text, "<?xml"));
  g_assert_nonnull(strstr(svg_text, "<svg"));
  g_assert_nonnull(strstr(svg_text, "width=\"480pt\""));
  g_assert_nonnull(strstr(svg_text, "</svg>"));
  g_assert_cmpuint(len, >, 1000);

  /* PDF: magic, trailer, one page. */
  g_autofree char *pdf = g_build_filename(dir, "dram.pdf", NULL);
  g_assert_true(fr_report_render(pdf, FR_REPORT_FORMAT_PDF, 480, 240, draw_chart, &chart, &error));
  g_assert_no_error(error);
  g_autofree char *pdf_data = read_all(pdf, &len);
  g_assert_cmpuint(len, >, 500);
  g_assert_true(memcmp(pdf_data, "%PDF-", 5) == 0);
  g_assert_nonnull(g_strstr_len(pdf_data + len - MIN(len, 64), MIN(len, 64), "%%EOF"));
  g_assert_nonnull(g_strstr_len(pdf_data, len, "/Type /Page"));
  if (have_pdfinfo()) {
    g_autofree char *out = NULL;
    int status = 0;
    const char *argv[] = { "pdfinfo", pdf, NULL };
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                               NULL, &out, NULL, &status, &error));
    g_assert_no_error(error);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_assert_nonnull(strstr(out, "Pages:"));
    g_assert_true(g_regex_match_simple("^Pages:\\s+1$", out, G_REGEX_MULTILINE, 0));
    g_assert_true(g_regex_match_simple("^Page size:\\s+480 x 240 pts", out, G_REGEX_MULTILINE, 0));
    g_assert_true(g_regex_match_simple("^Creator:\\s+Frontier", out, G_REGEX_MULTILINE, 0));
  } else {
    g_test_message("pdfinfo not found: PDF checked by its header and trailer only");
  }

  /* PNG: signature and 2 px per point. */
  g_autofree char *png = g_build_filename(dir, "dram.png", NULL);
  g_assert_true(fr_report_render(png, FR_REPORT_FORMAT_AUTO, 300, 150, draw_chart, &chart, &error));
  g_assert_no_error(error);
  cairo_surface_t *img = cairo_image_surface_create_from_png(png);
  g_assert_cmpint(cairo_surface_status(img), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint(cairo_image_surface_get_width(img), ==, 600);
  g_assert_cmpint(cairo_image_surface_get_height(img), ==, 300);
  cairo_surface_destroy(img);

  g_autofree char *names = list_dir(dir);
  g_assert_cmpstr(names, ==, "dram.pdf dram.png dram.svg");

  /* Unknown extension. */
  g_autofree char *txt = g_build_filename(dir, "dram.txt", NULL);
  g_assert_false(fr_report_render(txt, FR_REPORT_FORMAT_AUTO, 100, 100, draw_chart, &chart, &error));
  g_assert_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_FORMAT);
  g_clear_error(&error);
  /* Absurd sizes. */
  g_assert_false(fr_report_render(svg, FR_REPORT_FORMAT_SVG, 0, 100, draw_chart, &chart, &error));
  g_assert_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_INVALID);
  g_clear_error(&error);
  rm_rf(dir);
}

static void
test_render_failure_keeps_old(void)
{
  g_autofree char *dir = make_tmpdir();
  FrReportBarChart chart = sample_chart();
  GError *error = NULL;
  const FrReportFormat formats[] = { FR_REPORT_FORMAT_SVG, FR_REPORT_FORMAT_PDF, FR_REPORT_FORMAT_PNG };
  const char *names[] = { "fig.svg", "fig.pdf", "fig.png" };
  for (guint i = 0; i < G_N_ELEMENTS(formats); i++) {
    g_autofree char *path = g_build_filename(dir, names[i], NULL);
    g_assert_true(fr_report_render(path, formats[i], 200, 100, draw_chart, &chart, &error));
    g_assert_no_error(error);
    gsize len0;
    g_autofree char *before = read_all(path, &len0);

    g_assert_false(fr_report_render(path, formats[i], 200, 100, draw_broken, NULL, &error));
    g_assert_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_RENDER);
    g_clear_error(&error);
    gsize len1;
    g_autofree char *after = read_all(path, &len1);
    g_assert_cmpuint(len0, ==, len1);
    g_assert_true(memcmp(before, after, len0) == 0);
  }
  g_autofree char *listing = list_dir(dir);
  g_assert_cmpstr(listing, ==, "fig.pdf fig.png fig.svg");

  /* Into a folder that does not exist. */
  g_autofree char *missing = g_build_filename(dir, "gone", "fig.pdf", NULL);
  g_assert_false(fr_report_render(missing, FR_REPORT_FORMAT_AUTO, 200, 100, draw_chart, &chart, &error));
  g_assert_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_IO);
  g_clear_error(&error);

  /* Over a folder: the rename fails after a good render; no temporary file is left. */
  g_autofree char *sub = g_build_filename(dir, "sub.svg", NULL);
  g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
  g_assert_false(fr_report_render(sub, FR_REPORT_FORMAT_AUTO, 200, 100, draw_chart, &chart, &error));
  g_assert_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_IO);
  g_clear_error(&error);
  g_autofree char *listing2 = list_dir(dir);
  g_assert_cmpstr(listing2, ==, "fig.pdf fig.png fig.svg sub.svg");
  rm_rf(dir);
}

/* The bar chart paints its segments where fr_report_stacked_bars_hit says they are. */
static void
test_bars_draw_and_hit(void)
{
  FrReportBarChart chart = sample_chart();
  const int W = 600, H = 260;
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create(s);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  fr_report_draw_stacked_bars(cr, 0, 0, W, H, &chart);
  g_assert_cmpint(cairo_status(cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_flush(s);

  const guint8 *px = cairo_image_surface_get_data(s);
  int stride = cairo_image_surface_get_stride(s);
  guint hits[2][6] = { { 0 } };
  guint colored = 0;
  for (int y = 0; y < H; y += 2) {
    for (int x = 0; x < W; x += 2) {
      guint bar, seg;
      if (!fr_report_stacked_bars_hit(cr, W, H, &chart, x + 0.5, y + 0.5, &bar, &seg))
        continue;
      g_assert_cmpuint(bar, <, 2);
      g_assert_cmpuint(seg, <=, 5);
      hits[bar][seg]++;
      if (seg == 5)
        continue;
      /* The pixel carries the segment's palette colour (or the hairline gap / antialiased edge). */
      guint32 p = *(const guint32 *)(px + y * stride + x * 4);
      double rgb[3];
      fr_report_palette_color(seg, FALSE, rgb);
      int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
      if (abs(r - (int)lround(rgb[0] * 255)) <= 2 && abs(g - (int)lround(rgb[1] * 255)) <= 2 &&
          abs(b - (int)lround(rgb[2] * 255)) <= 2)
        colored++;
    }
  }
  /* SpArch's bar has segments 0, 1 and 4 (2 and 3 are zero); OuterSPACE's all five; the marker on
   * SpArch's bar only. */
  g_assert_cmpuint(hits[0][0], >, 0);
  g_assert_cmpuint(hits[0][1], >, 0);
  g_assert_cmpuint(hits[0][2], ==, 0);
  g_assert_cmpuint(hits[0][3], ==, 0);
  g_assert_cmpuint(hits[0][4], >, 0);
  g_assert_cmpuint(hits[0][5], >, 0);
  for (guint k = 0; k < 5; k++)
    g_assert_cmpuint(hits[1][k], >, 0);
  g_assert_cmpuint(hits[1][5], ==, 0);
  /* OuterSPACE's bar is longer: more hit samples. */
  guint t0 = 0, t1 = 0;
  for (guint k = 0; k < 5; k++) {
    t0 += hits[0][k];
    t1 += hits[1][k];
  }
  g_assert_cmpuint(t1, >, t0 * 2);
  guint total = t0 + t1;
  g_assert_cmpuint(colored, >, total * 9 / 10);

  /* A deep copy draws and hits the same. */
  FrReportBarChart *copy = fr_report_bar_chart_copy(&chart);
  g_assert_true(copy->bar_labels != chart.bar_labels && copy->values != chart.values);
  g_assert_cmpstr(copy->segment_labels[4], ==, "C write");
  g_assert_null(copy->bar_notes[1]);
  for (int y = 0; y < H; y += 7)
    for (int x = 0; x < W; x += 7) {
      guint b1 = 9, s1 = 9, b2 = 9, s2 = 9;
      gboolean h1 = fr_report_stacked_bars_hit(cr, W, H, &chart, x, y, &b1, &s1);
      gboolean h2 = fr_report_stacked_bars_hit(cr, W, H, copy, x, y, &b2, &s2);
      g_assert_cmpint(h1, ==, h2);
      g_assert_cmpuint(b1, ==, b2);
      g_assert_cmpuint(s1, ==, s2);
    }
  fr_report_bar_chart_free(copy);

  /* Outside every bar. */
  g_assert_false(fr_report_stacked_bars_hit(cr, W, H, &chart, 2, 2, NULL, NULL));
  g_assert_false(fr_report_stacked_bars_hit(cr, W, H, &chart, W - 2, H - 2, NULL, NULL));

  /* Degenerate charts draw without errors: no bars, all zero, dark variant, tiny area. */
  FrReportBarChart empty = { 0 };
  fr_report_draw_stacked_bars(cr, 0, 0, W, H, &empty);
  double zeros[2] = { 0, NAN };
  const char *one_label[] = { "a", "b" };
  FrReportBarChart z = { .n_bars = 2, .n_segments = 1, .values = zeros, .bar_labels = one_label, .dark = TRUE };
  fr_report_draw_stacked_bars(cr, 0, 0, W, H, &z);
  fr_report_draw_stacked_bars(cr, 0, 0, 12, 8, &chart);
  g_assert_cmpint(cairo_status(cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy(cr);
  cairo_surface_destroy(s);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/report/write-file", test_write_file);
  g_test_add_func("/report/write-failures", test_write_failures);
  g_test_add_func("/report/csv-quote", test_csv_quote);
  g_test_add_func("/report/format-double", test_format_double);
  g_test_add_func("/report/format-si", test_format_si);
  g_test_add_func("/report/csv-table", test_csv_table);
  g_test_add_func("/report/json", test_json);
  g_test_add_func("/report/render-formats", test_render_formats);
  g_test_add_func("/report/render-failure-keeps-old", test_render_failure_keeps_old);
  g_test_add_func("/report/bars-draw-and-hit", test_bars_draw_and_hit);
  return g_test_run();
}
