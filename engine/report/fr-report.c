/* fr-report.c: see fr-report.h. */
#include "fr-report.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(fr-report-error-quark, fr_report_error)

/* ---- Atomic files ------------------------------------------------------------------------------ */

typedef struct {
  char *path;
  char *tmp;
  int fd;
  int write_errno; /* first write error, 0 if none */
} AtomicFile;

static gboolean
atomic_open(AtomicFile *af, const char *path, GError **error)
{
  memset(af, 0, sizeof *af);
  af->fd = -1;
  if (path == NULL || *path == '\0') {
    g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_INVALID, "No file name given");
    return FALSE;
  }
  g_autofree char *dir = g_path_get_dirname(path);
  g_autofree char *base = g_path_get_basename(path);
  af->path = g_strdup(path);
  af->tmp = g_strdup_printf("%s%c.%s.XXXXXX", dir, G_DIR_SEPARATOR, base);
  af->fd = g_mkstemp_full(af->tmp, O_WRONLY | O_CLOEXEC, 0644);
  if (af->fd < 0) {
    int saved = errno;
    g_autofree char *display = g_filename_display_name(path);
    g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_IO, "Cannot create a temporary file next to “%s”: %s",
                display, g_strerror(saved));
    g_clear_pointer(&af->tmp, g_free);
    g_clear_pointer(&af->path, g_free);
    return FALSE;
  }
  /* An existing file keeps its permissions. */
  GStatBuf st;
  if (g_stat(path, &st) == 0 && S_ISREG(st.st_mode))
    (void)fchmod(af->fd, st.st_mode & 07777);
  return TRUE;
}

static void
atomic_write(AtomicFile *af, const void *data, gsize len)
{
  const char *p = data;
  while (len > 0 && af->write_errno == 0) {
    ssize_t n = write(af->fd, p, MIN(len, (gsize)1 << 30));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      af->write_errno = errno;
      break;
    }
    p += n;
    len -= (gsize)n;
  }
}

static void
atomic_abort(AtomicFile *af)
{
  if (af->fd >= 0)
    close(af->fd);
  af->fd = -1;
  if (af->tmp != NULL)
    g_unlink(af->tmp);
  g_clear_pointer(&af->tmp, g_free);
  g_clear_pointer(&af->path, g_free);
}

static gboolean
atomic_commit(AtomicFile *af, GError **error)
{
  g_autofree char *display = g_filename_display_name(af->path);
  int err = af->write_errno;
  if (err == 0 && fsync(af->fd) != 0 && errno != EINVAL && errno != EROFS)
    err = errno;
  int fd = af->fd;
  af->fd = -1;
  if (close(fd) != 0 && err == 0)
    err = errno;
  if (err != 0) {
    g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_IO, "Cannot write “%s”: %s", display, g_strerror(err));
    atomic_abort(af);
    return FALSE;
  }
  if (g_rename(af->tmp, af->path) != 0) {
    int saved = errno;
    g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_IO, "Cannot replace “%s”: %s", display, g_strerror(saved));
    atomic_abort(af);
    return FALSE;
  }
  g_clear_pointer(&af->tmp, g_free);
  g_clear_pointer(&af->path, g_free);
  return TRUE;
}

gboolean
fr_report_write_file(const char *path, const void *data, gsize len, GError **error)
{
  g_return_val_if_fail(data != NULL || len == 0, FALSE);
  AtomicFile af;
  if (!atomic_open(&af, path, error))
    return FALSE;
  atomic_write(&af, data, len);
  return atomic_commit(&af, error);
}

/* ---- Numbers as text --------------------------------------------------------------------------- */

char *
fr_report_format_double(double value)
{
  if (isnan(value))
    return g_strdup("");
  if (isinf(value))
    return g_strdup(value > 0 ? "inf" : "-inf");
  if (value == 0)
    return g_strdup(signbit(value) ? "-0" : "0");
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (int prec = 1; prec <= 17; prec++) {
    char fmt[8];
    g_snprintf(fmt, sizeof fmt, "%%.%dg", prec);
    g_ascii_formatd(buf, sizeof buf, fmt, value);
    if (g_ascii_strtod(buf, NULL) == value)
      break;
  }
  return g_strdup(buf);
}

char *
fr_report_format_si(double value, const char *unit)
{
  static const char *const prefixes[] = { "", "k", "M", "G", "T", "P", "E" };
  if (unit == NULL)
    unit = "";
  if (!isfinite(value))
    return g_strdup_printf("%s%s%s", isnan(value) ? "—" : value > 0 ? "∞" : "−∞", *unit ? " " : "", unit);
  double a = fabs(value);
  guint idx = 0;
  while (a >= 999.5 && idx + 1 < G_N_ELEMENTS(prefixes)) {
    a /= 1000;
    idx++;
  }
  double shown = value / pow(1000, idx);
  char num[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd(num, sizeof num, "%.3g", shown);
  if (*unit)
    return g_strdup_printf("%s %s%s", num, prefixes[idx], unit);
  return g_strdup_printf("%s%s", num, prefixes[idx]);
}

char *
fr_report_format_int_buf(gint64 value, char *buf, gsize size)
{
  char digits[32];
  guint64 mag = value < 0 ? (guint64)(-(value + 1)) + 1 : (guint64)value;
  int n = g_snprintf(digits, sizeof digits, "%" G_GUINT64_FORMAT, mag);
  char out[48];
  int o = 0;
  if (value < 0)
    out[o++] = '-';
  for (int i = 0; i < n; i++) {
    if (i > 0 && (n - i) % 3 == 0)
      out[o++] = ',';
    out[o++] = digits[i];
  }
  out[o] = '\0';
  g_strlcpy(buf, out, size);
  return buf;
}

char *
fr_report_format_int(gint64 value)
{
  char buf[48];
  return g_strdup(fr_report_format_int_buf(value, buf, sizeof buf));
}

char *
fr_report_format_bytes(double bytes)
{
  return fr_report_format_si(bytes, "B");
}

char *
fr_report_format_bytes_func(double value, gpointer user_data)
{
  return fr_report_format_bytes(value);
}

/* ---- CSV --------------------------------------------------------------------------------------- */

struct _FrReportTable {
  guint n_columns;
  guint n_rows;     /* data rows, header excluded */
  GPtrArray *cells; /* (n_rows + 1) x n_columns strings (NULL = empty), row-major; row 0 is the header */
};

static char **
table_cell(const FrReportTable *t, guint row, guint col)
{
  return (char **)&t->cells->pdata[(gsize)row * t->n_columns + col];
}

FrReportTable *
fr_report_table_new(const char *const *header)
{
  g_return_val_if_fail(header != NULL && header[0] != NULL, NULL);
  FrReportTable *t = g_new0(FrReportTable, 1);
  t->n_columns = g_strv_length((char **)header);
  t->cells = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < t->n_columns; i++)
    g_ptr_array_add(t->cells, g_strdup(header[i]));
  return t;
}

FrReportTable *
fr_report_table_new_with_columns(const char *first, ...)
{
  g_return_val_if_fail(first != NULL, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new();
  va_list ap;
  va_start(ap, first);
  for (const char *n = first; n != NULL; n = va_arg(ap, const char *))
    g_ptr_array_add(names, (gpointer)n);
  va_end(ap);
  g_ptr_array_add(names, NULL);
  return fr_report_table_new((const char *const *)names->pdata);
}

void
fr_report_table_free(FrReportTable *table)
{
  if (table == NULL)
    return;
  g_ptr_array_unref(table->cells);
  g_free(table);
}

guint
fr_report_table_get_n_columns(const FrReportTable *table)
{
  g_return_val_if_fail(table != NULL, 0);
  return table->n_columns;
}

guint
fr_report_table_get_n_rows(const FrReportTable *table)
{
  g_return_val_if_fail(table != NULL, 0);
  return table->n_rows;
}

guint
fr_report_table_add_row(FrReportTable *table)
{
  g_return_val_if_fail(table != NULL, 0);
  for (guint i = 0; i < table->n_columns; i++)
    g_ptr_array_add(table->cells, NULL);
  return table->n_rows++;
}

void
fr_report_table_set_string(FrReportTable *table, guint row, guint col, const char *text)
{
  g_return_if_fail(table != NULL);
  g_return_if_fail(row < table->n_rows && col < table->n_columns);
  char **cell = table_cell(table, row + 1, col);
  g_free(*cell);
  *cell = g_strdup(text);
}

void
fr_report_table_set_double(FrReportTable *table, guint row, guint col, double value)
{
  g_autofree char *text = fr_report_format_double(value);
  fr_report_table_set_string(table, row, col, text);
}

void
fr_report_table_set_int(FrReportTable *table, guint row, guint col, gint64 value)
{
  char buf[32];
  g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT, value);
  fr_report_table_set_string(table, row, col, buf);
}

const char *
fr_report_table_get(const FrReportTable *table, guint row, guint col)
{
  g_return_val_if_fail(table != NULL, "");
  g_return_val_if_fail(row < table->n_rows && col < table->n_columns, "");
  const char *cell = *table_cell(table, row + 1, col);
  return cell != NULL ? cell : "";
}

static gboolean
csv_needs_quotes(const char *text)
{
  if (*text == '\0')
    return FALSE;
  if (strpbrk(text, ",\"\r\n") != NULL)
    return TRUE;
  gsize len = strlen(text);
  return g_ascii_isspace(text[0]) || g_ascii_isspace(text[len - 1]);
}

static void
csv_append_cell(GString *out, const char *text)
{
  if (text == NULL || !csv_needs_quotes(text)) {
    g_string_append(out, text != NULL ? text : "");
    return;
  }
  g_string_append_c(out, '"');
  for (const char *p = text; *p; p++) {
    if (*p == '"')
      g_string_append_c(out, '"');
    g_string_append_c(out, *p);
  }
  g_string_append_c(out, '"');
}

char *
fr_report_csv_quote(const char *text)
{
  GString *out = g_string_new(NULL);
  csv_append_cell(out, text);
  return g_string_free(out, FALSE);
}

char *
fr_report_table_to_csv(const FrReportTable *table, gsize *len_out)
{
  g_return_val_if_fail(table != NULL, NULL);
  GString *out = g_string_new(NULL);
  for (guint r = 0; r <= table->n_rows; r++) {
    for (guint c = 0; c < table->n_columns; c++) {
      if (c > 0)
        g_string_append_c(out, ',');
      csv_append_cell(out, *table_cell(table, r, c));
    }
    g_string_append_c(out, '\n');
  }
  if (len_out != NULL)
    *len_out = out->len;
  return g_string_free(out, FALSE);
}

gboolean
fr_report_table_write_csv(const FrReportTable *table, const char *path, GError **error)
{
  g_return_val_if_fail(table != NULL, FALSE);
  gsize len = 0;
  g_autofree char *text = fr_report_table_to_csv(table, &len);
  return fr_report_write_file(path, text, len, error);
}

/* ---- JSON -------------------------------------------------------------------------------------- */

gboolean
fr_report_write_json(const char *path, JsonNode *root, gboolean pretty, GError **error)
{
  if (root == NULL) {
    g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_INVALID, "No JSON document to write");
    return FALSE;
  }
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, pretty);
  json_generator_set_indent(gen, 2);
  gsize len = 0;
  g_autofree char *text = json_generator_to_data(gen, &len);
  /* A text file ends with a line break. */
  g_autofree char *with_nl = g_strconcat(text, "\n", NULL);
  return fr_report_write_file(path, with_nl, len + 1, error);
}

gboolean
fr_report_write_json_builder(const char *path, JsonBuilder *builder, gboolean pretty, GError **error)
{
  g_return_val_if_fail(JSON_IS_BUILDER(builder), FALSE);
  g_autoptr(JsonNode) root = json_builder_get_root(builder);
  return fr_report_write_json(path, root, pretty, error);
}

/* ---- Figures ----------------------------------------------------------------------------------- */

FrReportFormat
fr_report_format_from_path(const char *path)
{
  if (path == NULL)
    return FR_REPORT_FORMAT_AUTO;
  const char *dot = strrchr(path, '.');
  const char *slash = strrchr(path, G_DIR_SEPARATOR);
  if (dot == NULL || (slash != NULL && dot < slash))
    return FR_REPORT_FORMAT_AUTO;
  if (g_ascii_strcasecmp(dot, ".svg") == 0)
    return FR_REPORT_FORMAT_SVG;
  if (g_ascii_strcasecmp(dot, ".pdf") == 0)
    return FR_REPORT_FORMAT_PDF;
  if (g_ascii_strcasecmp(dot, ".png") == 0)
    return FR_REPORT_FORMAT_PNG;
  return FR_REPORT_FORMAT_AUTO;
}

static cairo_status_t
stream_write(void *closure, const unsigned char *data, unsigned int length)
{
  AtomicFile *af = closure;
  atomic_write(af, data, length);
  return af->write_errno == 0 ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

gboolean
fr_report_render(const char *path, FrReportFormat format, double width_pt, double height_pt,
                 FrReportDrawFunc draw, gpointer user_data, GError **error)
{
  g_return_val_if_fail(draw != NULL, FALSE);
  if (format == FR_REPORT_FORMAT_AUTO)
    format = fr_report_format_from_path(path);
  if (format == FR_REPORT_FORMAT_AUTO) {
    g_autofree char *display = g_filename_display_name(path != NULL ? path : "");
    g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_FORMAT,
                "Cannot tell the figure format of “%s”: use .svg, .pdf or .png", display);
    return FALSE;
  }
  if (!(width_pt >= 1 && height_pt >= 1 && width_pt <= 14400 && height_pt <= 14400)) {
    g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_INVALID, "Bad figure size %g × %g pt", width_pt,
                height_pt);
    return FALSE;
  }

  AtomicFile af;
  if (!atomic_open(&af, path, error))
    return FALSE;

  cairo_surface_t *surface = NULL;
  double scale = 1;
  switch (format) {
  case FR_REPORT_FORMAT_SVG:
    surface = cairo_svg_surface_create_for_stream(stream_write, &af, width_pt, height_pt);
    cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PT);
    break;
  case FR_REPORT_FORMAT_PDF:
    surface = cairo_pdf_surface_create_for_stream(stream_write, &af, width_pt, height_pt);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "Frontier");
    break;
  case FR_REPORT_FORMAT_PNG:
  default:
    scale = 2;
    surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)ceil(width_pt * scale),
                                         (int)ceil(height_pt * scale));
    break;
  }

  cairo_t *cr = cairo_create(surface);
  cairo_scale(cr, scale, scale);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_save(cr);
  draw(cr, width_pt, height_pt, user_data);
  cairo_restore(cr);
  cairo_status_t status = cairo_status(cr);
  cairo_destroy(cr);

  if (status == CAIRO_STATUS_SUCCESS && format == FR_REPORT_FORMAT_PNG)
    status = cairo_surface_write_to_png_stream(surface, stream_write, &af);
  cairo_surface_finish(surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status(surface);
  cairo_surface_destroy(surface);

  if (status != CAIRO_STATUS_SUCCESS) {
    g_autofree char *display = g_filename_display_name(path);
    if (af.write_errno != 0)
      g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_IO, "Cannot write “%s”: %s", display,
                  g_strerror(af.write_errno));
    else
      g_set_error(error, FR_REPORT_ERROR, FR_REPORT_ERROR_RENDER, "Cannot draw “%s”: %s", display,
                  cairo_status_to_string(status));
    atomic_abort(&af);
    return FALSE;
  }
  return atomic_commit(&af, error);
}

/* ---- Bar charts -------------------------------------------------------------------------------- */

static const char *const *
strv_copy_n(const char *const *v, guint n)
{
  if (v == NULL)
    return NULL;
  char **out = g_new0(char *, n + 1);
  for (guint i = 0; i < n; i++)
    out[i] = g_strdup(v[i]);
  return (const char *const *)out;
}

static void
strv_free_n(const char *const *v, guint n)
{
  if (v == NULL)
    return;
  for (guint i = 0; i < n; i++)
    g_free((char *)v[i]);
  g_free((gpointer)v);
}

FrReportBarChart *
fr_report_bar_chart_copy(const FrReportBarChart *c)
{
  g_return_val_if_fail(c != NULL, NULL);
  FrReportBarChart *d = g_new(FrReportBarChart, 1);
  *d = *c;
  d->title = g_strdup(c->title);
  d->value_label = g_strdup(c->value_label);
  d->marker_label = g_strdup(c->marker_label);
  d->font_family = g_strdup(c->font_family);
  d->bar_labels = strv_copy_n(c->bar_labels, c->n_bars);
  d->bar_notes = strv_copy_n(c->bar_notes, c->n_bars);
  d->segment_labels = strv_copy_n(c->segment_labels, c->n_segments);
  gsize nv = (gsize)c->n_bars * c->n_segments;
  d->values = c->values != NULL ? g_memdup2(c->values, nv * sizeof(double)) : NULL;
  d->segment_colors = c->segment_colors != NULL ? g_memdup2(c->segment_colors, 3 * c->n_segments * sizeof(double))
                                                : NULL;
  d->markers = c->markers != NULL ? g_memdup2(c->markers, c->n_bars * sizeof(double)) : NULL;
  return d;
}

void
fr_report_bar_chart_free(FrReportBarChart *c)
{
  if (c == NULL)
    return;
  g_free((char *)c->title);
  g_free((char *)c->value_label);
  g_free((char *)c->marker_label);
  g_free((char *)c->font_family);
  strv_free_n(c->bar_labels, c->n_bars);
  strv_free_n(c->bar_notes, c->n_bars);
  strv_free_n(c->segment_labels, c->n_segments);
  g_free((double *)c->values);
  g_free((double *)c->segment_colors);
  g_free((double *)c->markers);
  g_free(c);
}

/* Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), in an order
 * where neighbours in a stack differ in lightness too. */
static const double palette_light[][3] = {
  { 0.000, 0.447, 0.698 }, /* blue */
  { 0.902, 0.624, 0.000 }, /* orange */
  { 0.000, 0.620, 0.451 }, /* bluish green */
  { 0.835, 0.369, 0.000 }, /* vermillion */
  { 0.800, 0.475, 0.655 }, /* reddish purple */
  { 0.337, 0.706, 0.914 }, /* sky blue */
  { 0.941, 0.894, 0.259 }, /* yellow */
  { 0.450, 0.450, 0.450 }, /* grey */
};
static const double palette_dark[][3] = {
  { 0.255, 0.592, 0.851 },
  { 0.957, 0.706, 0.157 },
  { 0.180, 0.749, 0.592 },
  { 0.937, 0.490, 0.216 },
  { 0.878, 0.600, 0.757 },
  { 0.490, 0.780, 0.945 },
  { 0.961, 0.925, 0.420 },
  { 0.650, 0.650, 0.650 },
};

void
fr_report_palette_color(guint index, gboolean dark, double rgb_out[3])
{
  const double *c = dark ? palette_dark[index % G_N_ELEMENTS(palette_dark)]
                         : palette_light[index % G_N_ELEMENTS(palette_light)];
  rgb_out[0] = c[0];
  rgb_out[1] = c[1];
  rgb_out[2] = c[2];
}

typedef struct {
  const char *family;
  double fs;                        /* font size */
  double fg[3];
  double title_y;                   /* baseline */
  double legend_y0;                 /* top of the legend */
  double legend_row_h;
  double plot_x0, plot_x1, plot_y0, plot_y1;
  double label_w;                   /* width of the bar-label column */
  double vmax;                      /* axis end */
  double tick_step;
  double band, bar_h;
} BarLayout;

static double
bar_value(const FrReportBarChart *c, guint bar, guint seg)
{
  double v = c->values[(gsize)bar * c->n_segments + seg];
  return isfinite(v) && v > 0 ? v : 0;
}

static double
bar_total(const FrReportBarChart *c, guint bar)
{
  double s = 0;
  for (guint k = 0; k < c->n_segments; k++)
    s += bar_value(c, bar, k);
  return s;
}

static double
bar_marker(const FrReportBarChart *c, guint bar)
{
  if (c->markers == NULL)
    return NAN;
  double m = c->markers[bar];
  return isfinite(m) && m >= 0 ? m : NAN;
}

static double
nice_step(double range, int target)
{
  if (!(range > 0))
    return 1;
  double raw = range / MAX(1, target);
  double mag = pow(10, floor(log10(raw)));
  double f = raw / mag;
  double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return nice * mag;
}

static char *
format_value(const FrReportBarChart *c, double v)
{
  if (c->format_value != NULL)
    return c->format_value(v, c->format_user_data);
  return fr_report_format_si(v, "");
}

static void
set_font(cairo_t *cr, const char *family, double size, gboolean bold)
{
  cairo_select_font_face(cr, family, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

static double
text_width(cairo_t *cr, const char *text)
{
  if (text == NULL || *text == '\0')
    return 0;
  cairo_text_extents_t ext;
  cairo_text_extents(cr, text, &ext);
  return ext.x_advance;
}

/* text, shortened with "…" to fit max_w. */
static char *
fit_text(cairo_t *cr, const char *text, double max_w)
{
  if (text == NULL)
    return g_strdup("");
  if (text_width(cr, text) <= max_w)
    return g_strdup(text);
  glong n = g_utf8_strlen(text, -1);
  while (n > 1) {
    n--;
    g_autofree char *head = g_utf8_substring(text, 0, n);
    char *t = g_strconcat(head, "…", NULL);
    if (text_width(cr, t) <= max_w)
      return t;
    g_free(t);
  }
  return g_strdup("…");
}

static guint
legend_n_items(const FrReportBarChart *c)
{
  guint n = c->segment_labels != NULL ? c->n_segments : 0;
  if (c->markers != NULL && c->marker_label != NULL)
    n++;
  return n;
}

static const char *
legend_item_label(const FrReportBarChart *c, guint i)
{
  if (c->segment_labels != NULL && i < c->n_segments)
    return c->segment_labels[i] != NULL ? c->segment_labels[i] : "";
  return c->marker_label;
}

/* Lays the legend out in rows inside width w; returns the number of rows. When draw is TRUE, draws it
 * with its top-left corner at (x, y). */
static int
legend_layout(cairo_t *cr, const FrReportBarChart *c, const BarLayout *L, double x, double y, double w,
              gboolean draw)
{
  guint n = legend_n_items(c);
  if (n == 0)
    return 0;
  double fs = L->fs;
  double sw = fs * 0.9, gap = fs * 0.45, item_gap = fs * 1.3;
  double cx = 0;
  int rows = 1;
  set_font(cr, L->family, fs, FALSE);
  cairo_font_extents_t fe;
  cairo_font_extents(cr, &fe);
  for (guint i = 0; i < n; i++) {
    const char *label = legend_item_label(c, i);
    double iw = sw + gap + text_width(cr, label);
    if (cx > 0 && cx + iw > w) {
      rows++;
      cx = 0;
    }
    if (draw) {
      double ry = y + (rows - 1) * L->legend_row_h;
      double cy = ry + L->legend_row_h / 2;
      if (c->segment_labels != NULL && i < c->n_segments) {
        double rgb[3];
        if (c->segment_colors != NULL)
          memcpy(rgb, c->segment_colors + 3 * i, sizeof rgb);
        else
          fr_report_palette_color(i, c->dark, rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle(cr, x + cx, cy - sw / 2, sw, sw);
        cairo_fill(cr);
      } else {
        cairo_set_source_rgb(cr, L->fg[0], L->fg[1], L->fg[2]);
        cairo_set_line_width(cr, MAX(1.5, fs * 0.18));
        cairo_move_to(cr, x + cx + sw / 2, cy - sw * 0.65);
        cairo_line_to(cr, x + cx + sw / 2, cy + sw * 0.65);
        cairo_stroke(cr);
      }
      cairo_set_source_rgb(cr, L->fg[0], L->fg[1], L->fg[2]);
      cairo_move_to(cr, x + cx + sw + gap, cy + (fe.ascent - fe.descent) / 2);
      cairo_show_text(cr, label);
    }
    cx += iw + item_gap;
  }
  return rows;
}

static void
bars_layout(cairo_t *cr, double x, double y, double w, double h, const FrReportBarChart *c, BarLayout *L)
{
  memset(L, 0, sizeof *L);
  L->family = c->font_family != NULL ? c->font_family : "Sans";
  L->fs = c->font_size > 0 ? c->font_size : 10;
  memcpy(L->fg, c->fg, sizeof L->fg);
  double fs = L->fs;
  double pad = fs * 0.9;
  double top = y + pad;

  if (c->title != NULL && *c->title) {
    set_font(cr, L->family, fs * 1.2, TRUE);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    L->title_y = top + fe.ascent;
    top += fe.height + fs * 0.4;
  }
  L->legend_row_h = fs * 1.6;
  L->legend_y0 = top;
  int legend_rows = legend_layout(cr, c, L, x + pad, top, w - 2 * pad, FALSE);
  top += legend_rows * L->legend_row_h + (legend_rows > 0 ? fs * 0.5 : 0);

  /* Bar labels on the left, at most 40 % of the width. */
  set_font(cr, L->family, fs, FALSE);
  double lw = 0;
  for (guint b = 0; b < c->n_bars; b++)
    lw = MAX(lw, text_width(cr, c->bar_labels != NULL ? c->bar_labels[b] : NULL));
  L->label_w = MIN(lw, w * 0.4);

  /* Notes on the right, at most 30 %. */
  double nw = 0;
  if (c->bar_notes != NULL)
    for (guint b = 0; b < c->n_bars; b++)
      nw = MAX(nw, text_width(cr, c->bar_notes[b]));
  nw = MIN(nw, w * 0.3);

  double vmax = 0;
  for (guint b = 0; b < c->n_bars; b++) {
    vmax = MAX(vmax, bar_total(c, b));
    double m = bar_marker(c, b);
    if (!isnan(m))
      vmax = MAX(vmax, m);
  }
  if (!(vmax > 0))
    vmax = 1;

  L->plot_x0 = x + pad + L->label_w + (L->label_w > 0 ? fs * 0.8 : 0);
  L->plot_x1 = x + w - pad - (nw > 0 ? nw + fs * 0.6 : fs * 1.5);
  if (L->plot_x1 < L->plot_x0 + 20)
    L->plot_x1 = L->plot_x0 + 20;
  int target = MAX(2, (int)((L->plot_x1 - L->plot_x0) / (fs * 7)));
  L->tick_step = nice_step(vmax, target);
  L->vmax = ceil(vmax / L->tick_step - 1e-9) * L->tick_step;

  L->plot_y0 = top;
  double bottom = y + h - pad;
  if (c->value_label != NULL && *c->value_label)
    bottom -= fs * 1.5;
  bottom -= fs * 1.5; /* tick labels */
  L->plot_y1 = MAX(bottom, top + 10);
  L->band = (L->plot_y1 - L->plot_y0) / MAX(1u, c->n_bars);
  L->bar_h = MIN(L->band * 0.62, fs * 3.2);
}

static double
value_x(const BarLayout *L, double v)
{
  return L->plot_x0 + (L->plot_x1 - L->plot_x0) * (v / L->vmax);
}

void
fr_report_draw_stacked_bars(cairo_t *cr, double x, double y, double width, double height,
                            const FrReportBarChart *c)
{
  g_return_if_fail(cr != NULL && c != NULL);
  g_return_if_fail(c->n_bars == 0 || (c->values != NULL && c->n_segments > 0));

  cairo_save(cr);
  cairo_rectangle(cr, x, y, width, height);
  cairo_clip(cr);

  BarLayout L;
  bars_layout(cr, x, y, width, height, c, &L);
  double fs = L.fs;
  const double *fg = L.fg;
  double pad = fs * 0.9;

  if (c->title != NULL && *c->title) {
    set_font(cr, L.family, fs * 1.2, TRUE);
    cairo_set_source_rgb(cr, fg[0], fg[1], fg[2]);
    cairo_move_to(cr, x + pad, L.title_y);
    cairo_show_text(cr, c->title);
  }
  legend_layout(cr, c, &L, x + pad, L.legend_y0, width - 2 * pad, TRUE);

  /* Grid and value axis. */
  set_font(cr, L.family, fs * 0.9, FALSE);
  cairo_font_extents_t fe;
  cairo_font_extents(cr, &fe);
  cairo_set_line_width(cr, 1);
  int n_ticks = (int)llround(L.vmax / L.tick_step);
  for (int i = 0; i <= n_ticks; i++) {
    double v = i * L.tick_step;
    double tx = round(value_x(&L, v)) + 0.5;
    cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], i == 0 ? 0.6 : 0.15);
    cairo_move_to(cr, tx, L.plot_y0);
    cairo_line_to(cr, tx, L.plot_y1 + fs * 0.3);
    cairo_stroke(cr);
    g_autofree char *text = format_value(c, v);
    double tw = text_width(cr, text);
    double lx = CLAMP(tx - tw / 2, x + 1, x + width - tw - 1);
    cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.75);
    cairo_move_to(cr, lx, L.plot_y1 + fs * 0.3 + fe.ascent + 1);
    cairo_show_text(cr, text);
  }
  if (c->value_label != NULL && *c->value_label) {
    set_font(cr, L.family, fs, FALSE);
    double tw = text_width(cr, c->value_label);
    cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.85);
    cairo_move_to(cr, (L.plot_x0 + L.plot_x1) / 2 - tw / 2, y + height - pad);
    cairo_show_text(cr, c->value_label);
  }

  /* Bars. */
  set_font(cr, L.family, fs, FALSE);
  cairo_font_extents(cr, &fe);
  for (guint b = 0; b < c->n_bars; b++) {
    double cy = L.plot_y0 + L.band * (b + 0.5);
    double y0 = cy - L.bar_h / 2;
    if (c->bar_labels != NULL && c->bar_labels[b] != NULL) {
      g_autofree char *label = fit_text(cr, c->bar_labels[b], L.label_w);
      double tw = text_width(cr, label);
      cairo_set_source_rgb(cr, fg[0], fg[1], fg[2]);
      cairo_move_to(cr, L.plot_x0 - fs * 0.8 - tw, cy + (fe.ascent - fe.descent) / 2);
      cairo_show_text(cr, label);
    }
    double acc = 0;
    for (guint k = 0; k < c->n_segments; k++) {
      double v = bar_value(c, b, k);
      if (v <= 0)
        continue;
      double x0 = value_x(&L, acc), x1 = value_x(&L, acc + v);
      acc += v;
      double rgb[3];
      if (c->segment_colors != NULL)
        memcpy(rgb, c->segment_colors + 3 * k, sizeof rgb);
      else
        fr_report_palette_color(k, c->dark, rgb);
      cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
      /* A hairline gap between segments keeps neighbours apart on any background. */
      double gap = x1 - x0 > 3 ? 0.75 : 0;
      cairo_rectangle(cr, x0, y0, MAX(0.5, x1 - x0 - gap), L.bar_h);
      cairo_fill(cr);
    }
    double end = value_x(&L, acc);
    double m = bar_marker(c, b);
    if (!isnan(m)) {
      double mx = value_x(&L, m);
      cairo_set_source_rgb(cr, fg[0], fg[1], fg[2]);
      cairo_set_line_width(cr, MAX(1.5, fs * 0.18));
      cairo_move_to(cr, mx, y0 - fs * 0.3);
      cairo_line_to(cr, mx, y0 + L.bar_h + fs * 0.3);
      cairo_stroke(cr);
      end = MAX(end, mx);
    }
    if (c->bar_notes != NULL && c->bar_notes[b] != NULL) {
      double room = x + width - pad - (end + fs * 0.5);
      g_autofree char *note = fit_text(cr, c->bar_notes[b], MAX(fs, room));
      cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.85);
      cairo_move_to(cr, end + fs * 0.5, cy + (fe.ascent - fe.descent) / 2);
      cairo_show_text(cr, note);
    }
  }
  cairo_restore(cr);
}

gboolean
fr_report_stacked_bars_hit(cairo_t *cr, double width, double height, const FrReportBarChart *c, double px,
                           double py, guint *bar_out, guint *segment_out)
{
  g_return_val_if_fail(cr != NULL && c != NULL, FALSE);
  if (c->n_bars == 0)
    return FALSE;
  cairo_save(cr);
  BarLayout L;
  bars_layout(cr, 0, 0, width, height, c, &L);
  cairo_restore(cr);
  if (py < L.plot_y0 || py >= L.plot_y1)
    return FALSE;
  guint b = (guint)((py - L.plot_y0) / L.band);
  if (b >= c->n_bars)
    return FALSE;
  double cy = L.plot_y0 + L.band * (b + 0.5);
  double slack = L.fs * 0.3;
  if (fabs(py - cy) > L.bar_h / 2 + slack)
    return FALSE;
  double m = bar_marker(c, b);
  if (!isnan(m) && fabs(px - value_x(&L, m)) <= 3) {
    if (bar_out)
      *bar_out = b;
    if (segment_out)
      *segment_out = c->n_segments;
    return TRUE;
  }
  if (fabs(py - cy) > L.bar_h / 2)
    return FALSE;
  double acc = 0;
  for (guint k = 0; k < c->n_segments; k++) {
    double v = bar_value(c, b, k);
    if (v <= 0)
      continue;
    if (px >= value_x(&L, acc) && px < value_x(&L, acc + v)) {
      if (bar_out)
        *bar_out = b;
      if (segment_out)
        *segment_out = k;
      return TRUE;
    }
    acc += v;
  }
  return FALSE;
}
