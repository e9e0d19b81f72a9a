/* fr-report.h: result files for the CLI and the GUI's Export menu: CSV tables, JSON documents and
 * SVG/PDF figures, each written atomically, plus the bar charts both the screen and the exported
 * figures draw (so what is exported is what was shown).
 *
 * Atomic: every writer creates a temporary file next to the destination (".NAME.XXXXXX" in the
 * same folder, so the final rename never crosses file systems), writes and syncs it, then renames
 * it over the destination. Readers see the old file or the whole new one, never a part; a failed
 * write removes its temporary file and leaves any old file as it was.
 *
 * No GTK: Cairo (image, SVG and PDF surfaces, toy text API), json-glib and GLib only. */
#pragma once
#include <cairo.h>
#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define FR_REPORT_ERROR (fr_report_error_quark())
GQuark fr_report_error_quark(void);
typedef enum {
  FR_REPORT_ERROR_IO,      /* cannot create, write, sync or rename */
  FR_REPORT_ERROR_FORMAT,  /* unknown output format (extension) */
  FR_REPORT_ERROR_RENDER,  /* Cairo reported an error while drawing */
  FR_REPORT_ERROR_INVALID, /* bad argument */
} FrReportError;

/* ---- Atomic files ------------------------------------------------------------------------------ */

/* Writes len bytes to path atomically (see above). New files get mode 0644; an existing file keeps
 * its mode. */
gboolean fr_report_write_file(const char *path, const void *data, gsize len, GError **error);

/* ---- CSV --------------------------------------------------------------------------------------- */

/* A table of strings: a header row and rows of cells (numbers are stored as their text). Cells
 * never set are empty. Output follows RFC 4180 with "\n" line ends: a cell is quoted when it holds a
 * comma, a double quote, a line break or leading/trailing blanks, and quotes inside are doubled. */
typedef struct _FrReportTable FrReportTable;

/* header: NULL-terminated column names (at least one). */
FrReportTable *fr_report_table_new(const char *const *header);
/* Same, with the column names as arguments, ending with NULL. */
FrReportTable *fr_report_table_new_with_columns(const char *first, ...) G_GNUC_NULL_TERMINATED;
void fr_report_table_free(FrReportTable *table);
guint fr_report_table_get_n_columns(const FrReportTable *table);
guint fr_report_table_get_n_rows(const FrReportTable *table);
/* Appends an empty row; returns its index. */
guint fr_report_table_add_row(FrReportTable *table);
void fr_report_table_set_string(FrReportTable *table, guint row, guint col, const char *text);
/* Shortest text that reads back as the same double ("0.1", "1e+20"); NaN is an empty cell,
 * infinities are "inf" / "-inf". Locale-independent. */
void fr_report_table_set_double(FrReportTable *table, guint row, guint col, double value);
void fr_report_table_set_int(FrReportTable *table, guint row, guint col, gint64 value);
const char *fr_report_table_get(const FrReportTable *table, guint row, guint col); /* "" if unset */
/* The whole table as CSV text (header first). */
char *fr_report_table_to_csv(const FrReportTable *table, gsize *len_out);
gboolean fr_report_table_write_csv(const FrReportTable *table, const char *path, GError **error);

/* One CSV cell, quoted when needed (newly allocated). */
char *fr_report_csv_quote(const char *text);
/* The shortest round-tripping text of value (as fr_report_table_set_double). */
char *fr_report_format_double(double value);

/* ---- JSON -------------------------------------------------------------------------------------- */

gboolean fr_report_write_json(const char *path, JsonNode *root, gboolean pretty, GError **error);
/* Writes the builder's root (the builder must have closed its outermost value). */
gboolean fr_report_write_json_builder(const char *path, JsonBuilder *builder, gboolean pretty, GError **error);

/* ---- Figures ----------------------------------------------------------------------------------- */

typedef enum {
  FR_REPORT_FORMAT_AUTO, /* from the path's extension: .svg, .pdf, .png */
  FR_REPORT_FORMAT_SVG,
  FR_REPORT_FORMAT_PDF,
  FR_REPORT_FORMAT_PNG,  /* 2 px per point */
} FrReportFormat;

/* The format named by path's extension (case-insensitive), or FR_REPORT_FORMAT_AUTO if none. */
FrReportFormat fr_report_format_from_path(const char *path);

typedef void (*FrReportDrawFunc)(cairo_t *cr, double width, double height, gpointer user_data);

/* Creates a width_pt x height_pt page (1 pt = 1/72 in) in the given format on a temporary file,
 * calls draw (on a white background; the context is saved/restored around it), checks Cairo's
 * status and renames the file over path. On any error (including a Cairo error left on the context
 * by draw) nothing is left behind and an old file at path is untouched. */
gboolean fr_report_render(const char *path, FrReportFormat format, double width_pt, double height_pt,
                          FrReportDrawFunc draw, gpointer user_data, GError **error);

/* ---- Bar charts -------------------------------------------------------------------------------- */

/* Formats a value for an axis tick or a tooltip; returns a new string. */
typedef char *(*FrReportValueFormatFunc)(double value, gpointer user_data);

/* A horizontal (stacked) bar chart: one bar per row, bars divided into segments (one per series,
 * shown in the legend). A plain bar chart is n_segments == 1. */
typedef struct {
  const char *title;                 /* drawn at the top; NULL: none */
  const char *value_label;           /* under the value axis, e.g. "DRAM traffic (bytes)"; may be NULL */
  guint n_bars, n_segments;
  const char *const *bar_labels;     /* n_bars, left of each bar */
  const char *const *bar_notes;      /* NULL, or n_bars entries (each may be NULL): after the bar's end */
  const char *const *segment_labels; /* n_segments, for the legend; NULL: no legend */
  const double *values;              /* n_bars x n_segments, bar-major; negative/NaN count as 0 */
  const double *segment_colors;      /* NULL, or n_segments x RGB in 0..1; NULL: the built-in palette */
  /* Optional reference value per bar (NaN: none), drawn as a dark tick across the bar, e.g. what a
   * published factor predicts; marker_label names it in the legend. */
  const double *markers;
  const char *marker_label;
  FrReportValueFormatFunc format_value; /* NULL: fr_report_format_si(value, "") */
  gpointer format_user_data;
  double font_size;                  /* points; 0: 10 */
  const char *font_family;           /* NULL: "Sans" */
  double fg[3];                      /* text and axes colour; all 0 (the default) is black */
  gboolean dark;                     /* drawn on a dark background: lighter palette and grid */
} FrReportBarChart;

/* A deep copy (strings and arrays; format_value and format_user_data are copied as they are), e.g.
 * to draw a chart on another thread or after its data went away. */
FrReportBarChart *fr_report_bar_chart_copy(const FrReportBarChart *chart);
void fr_report_bar_chart_free(FrReportBarChart *chart);

/* The built-in palette (colour-blind-safe, 8 entries, cycled). dark: the variant for dark backgrounds. */
void fr_report_palette_color(guint index, gboolean dark, double rgb_out[3]);

/* Draws chart inside the rectangle (x, y, width, height) of cr, in cr's user units. */
void fr_report_draw_stacked_bars(cairo_t *cr, double x, double y, double width, double height,
                                 const FrReportBarChart *chart);

/* Which bar and segment lie under the point (px, py) of a chart drawn at (0, 0, width, height),
 * using cr only to measure text (any context with the same font setup works). Returns FALSE when
 * the point is over no bar; *segment_out is the marker's index n_segments when over a marker only. */
gboolean fr_report_stacked_bars_hit(cairo_t *cr, double width, double height, const FrReportBarChart *chart,
                                    double px, double py, guint *bar_out, guint *segment_out);

/* Text helpers. "12.3 k", "4.56 M", "7.89 G" (SI, 3 significant digits) followed by unit. */
char *fr_report_format_si(double value, const char *unit);
/* An integer with thousands separators: "103,689", "-1,234,567" (always ",", whatever the locale). */
char *fr_report_format_int(gint64 value);
/* Writes the same into buf (at least 32 bytes); returns buf. */
char *fr_report_format_int_buf(gint64 value, char *buf, gsize size);
/* Bytes in SI units: "512 B", "1.23 MB", "4.56 GB". */
char *fr_report_format_bytes(double bytes);
/* A FrReportValueFormatFunc for byte counts. */
char *fr_report_format_bytes_func(double value, gpointer user_data);

G_END_DECLS
