/* frontier-columns.c: see frontier-columns.h. */
#include "frontier-columns.h"

struct _FrontierColumns {
  GtkWidget parent_instance;

  int      spacing;
  int      min_row_width;
  gboolean homogeneous;
  gboolean is_row;
};

enum {
  PROP_0,
  PROP_SPACING,
  PROP_HOMOGENEOUS,
  PROP_MIN_ROW_WIDTH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void frontier_columns_buildable_init(GtkBuildableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(FrontierColumns, frontier_columns, GTK_TYPE_WIDGET,
                              G_IMPLEMENT_INTERFACE(GTK_TYPE_BUILDABLE, frontier_columns_buildable_init))

static GtkBuildableIface *parent_buildable_iface;

static int
n_visible_children(FrontierColumns *self)
{
  int n = 0;
  for (GtkWidget *c = gtk_widget_get_first_child(GTK_WIDGET(self)); c; c = gtk_widget_get_next_sibling(c))
    if (gtk_widget_should_layout(c))
      n++;
  return n;
}

/* The narrowest width at which the children still fit in a row. */
static int
row_min_width(FrontierColumns *self)
{
  int n = 0, sum = 0, max = 0;
  for (GtkWidget *c = gtk_widget_get_first_child(GTK_WIDGET(self)); c; c = gtk_widget_get_next_sibling(c)) {
    if (!gtk_widget_should_layout(c))
      continue;
    int min;
    gtk_widget_measure(c, GTK_ORIENTATION_HORIZONTAL, -1, &min, NULL, NULL, NULL);
    sum += min;
    max = MAX(max, min);
    n++;
  }
  if (n == 0)
    return 0;
  int need = self->homogeneous ? n * max : sum;
  need += (n - 1) * self->spacing;
  return MAX(need, self->min_row_width);
}

static gboolean
use_row(FrontierColumns *self, int width)
{
  return n_visible_children(self) > 1 && width >= row_min_width(self);
}

/* Widths of the children in a row of the given total width. */
static int *
row_widths(FrontierColumns *self, int width, int *n_out)
{
  int n = n_visible_children(self);
  int *w = g_new0(int, MAX(n, 1));
  int avail = MAX(0, width - (n - 1) * self->spacing);
  int i = 0;
  if (self->homogeneous) {
    for (i = 0; i < n; i++)
      w[i] = avail / n + (i < avail % n ? 1 : 0);
  } else {
    int sum = 0, n_expand = 0;
    gboolean *expand = g_new0(gboolean, MAX(n, 1));
    for (GtkWidget *c = gtk_widget_get_first_child(GTK_WIDGET(self)); c; c = gtk_widget_get_next_sibling(c)) {
      if (!gtk_widget_should_layout(c))
        continue;
      gtk_widget_measure(c, GTK_ORIENTATION_HORIZONTAL, -1, &w[i], NULL, NULL, NULL);
      expand[i] = gtk_widget_compute_expand(c, GTK_ORIENTATION_HORIZONTAL);
      n_expand += expand[i];
      sum += w[i];
      i++;
    }
    int extra = MAX(0, avail - sum);
    if (n_expand == 0) {
      expand[0] = TRUE;
      n_expand = 1;
    }
    int k = 0;
    for (i = 0; i < n; i++) {
      if (!expand[i])
        continue;
      w[i] += extra / n_expand + (k < extra % n_expand ? 1 : 0);
      k++;
    }
    g_free(expand);
  }
  *n_out = n;
  return w;
}

static void
frontier_columns_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                         int *natural, int *minimum_baseline, int *natural_baseline)
{
  FrontierColumns *self = FRONTIER_COLUMNS(widget);
  int n = n_visible_children(self);
  *minimum = *natural = 0;
  if (n == 0)
    return;

  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    /* Minimum: stacked (the widest child's minimum); natural: a row of natural widths. */
    int nat_sum = 0, nat_max = 0;
    for (GtkWidget *c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c)) {
      if (!gtk_widget_should_layout(c))
        continue;
      int cmin, cnat;
      gtk_widget_measure(c, orientation, -1, &cmin, &cnat, NULL, NULL);
      *minimum = MAX(*minimum, cmin);
      nat_sum += cnat;
      nat_max = MAX(nat_max, cnat);
    }
    int row_nat = (self->homogeneous ? n * nat_max : nat_sum) + (n - 1) * self->spacing;
    *natural = MAX(MAX(row_nat, self->min_row_width), *minimum);
    return;
  }

  int width = for_size;
  if (width < 0)
    gtk_widget_measure(widget, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &width, NULL, NULL);

  if (use_row(self, width)) {
    int count;
    int *w = row_widths(self, width, &count);
    int i = 0;
    for (GtkWidget *c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c)) {
      if (!gtk_widget_should_layout(c))
        continue;
      int cmin, cnat;
      gtk_widget_measure(c, orientation, w[i++], &cmin, &cnat, NULL, NULL);
      *minimum = MAX(*minimum, cmin);
      *natural = MAX(*natural, cnat);
    }
    g_free(w);
  } else {
    for (GtkWidget *c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c)) {
      if (!gtk_widget_should_layout(c))
        continue;
      int cmin, cnat;
      gtk_widget_measure(c, orientation, width, &cmin, &cnat, NULL, NULL);
      *minimum += cmin;
      *natural += cnat;
    }
    *minimum += (n - 1) * self->spacing;
    *natural += (n - 1) * self->spacing;
  }
}

static void
frontier_columns_size_allocate(GtkWidget *widget, int width, int height, int baseline)
{
  FrontierColumns *self = FRONTIER_COLUMNS(widget);
  gboolean rtl = gtk_widget_get_direction(widget) == GTK_TEXT_DIR_RTL;
  self->is_row = use_row(self, width);

  if (self->is_row) {
    int count;
    int *w = row_widths(self, width, &count);
    int x = 0, i = 0;
    for (GtkWidget *c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c)) {
      if (!gtk_widget_should_layout(c))
        continue;
      int cx = rtl ? width - x - w[i] : x;
      gtk_widget_size_allocate(c, &(GtkAllocation){ cx, 0, w[i], height }, -1);
      x += w[i] + self->spacing;
      i++;
    }
    g_free(w);
    return;
  }

  /* Stacked: natural heights, extra space shared by the vertically expanding children. */
  int n = n_visible_children(self);
  int *h = g_new0(int, MAX(n, 1));
  gboolean *vexp = g_new0(gboolean, MAX(n, 1));
  int sum = 0, n_expand = 0, i = 0;
  for (GtkWidget *c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c)) {
    if (!gtk_widget_should_layout(c))
      continue;
    int cmin, cnat;
    gtk_widget_measure(c, GTK_ORIENTATION_VERTICAL, width, &cmin, &cnat, NULL, NULL);
    h[i] = cnat;
    vexp[i] = gtk_widget_compute_expand(c, GTK_ORIENTATION_VERTICAL);
    n_expand += vexp[i];
    sum += cnat;
    i++;
  }
  int avail = height - (n - 1) * self->spacing;
  if (sum > avail) {
    /* Less than natural: fall back to minimum heights for everything. */
    sum = 0;
    i = 0;
    for (GtkWidget *c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c)) {
      if (!gtk_widget_should_layout(c))
        continue;
      gtk_widget_measure(c, GTK_ORIENTATION_VERTICAL, width, &h[i], NULL, NULL, NULL);
      sum += h[i++];
    }
  }
  int extra = MAX(0, avail - sum), k = 0;
  int y = 0;
  i = 0;
  for (GtkWidget *c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c)) {
    if (!gtk_widget_should_layout(c))
      continue;
    int ch = h[i];
    if (n_expand > 0 && vexp[i]) {
      ch += extra / n_expand + (k < extra % n_expand ? 1 : 0);
      k++;
    }
    gtk_widget_size_allocate(c, &(GtkAllocation){ 0, y, width, ch }, -1);
    y += ch + self->spacing;
    i++;
  }
  g_free(h);
  g_free(vexp);
}

static GtkSizeRequestMode
frontier_columns_get_request_mode(GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
frontier_columns_buildable_add_child(GtkBuildable *buildable, GtkBuilder *builder, GObject *child,
                                     const char *type)
{
  if (GTK_IS_WIDGET(child))
    gtk_widget_set_parent(GTK_WIDGET(child), GTK_WIDGET(buildable));
  else
    parent_buildable_iface->add_child(buildable, builder, child, type);
}

static void
frontier_columns_buildable_init(GtkBuildableIface *iface)
{
  parent_buildable_iface = g_type_interface_peek_parent(iface);
  iface->add_child = frontier_columns_buildable_add_child;
}

static void
frontier_columns_dispose(GObject *object)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child(GTK_WIDGET(object))) != NULL)
    gtk_widget_unparent(child);
  G_OBJECT_CLASS(frontier_columns_parent_class)->dispose(object);
}

static void
frontier_columns_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  FrontierColumns *self = FRONTIER_COLUMNS(object);
  switch (prop_id) {
  case PROP_SPACING:
    g_value_set_int(value, self->spacing);
    break;
  case PROP_HOMOGENEOUS:
    g_value_set_boolean(value, self->homogeneous);
    break;
  case PROP_MIN_ROW_WIDTH:
    g_value_set_int(value, self->min_row_width);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void
frontier_columns_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  FrontierColumns *self = FRONTIER_COLUMNS(object);
  switch (prop_id) {
  case PROP_SPACING:
    frontier_columns_set_spacing(self, g_value_get_int(value));
    break;
  case PROP_HOMOGENEOUS:
    frontier_columns_set_homogeneous(self, g_value_get_boolean(value));
    break;
  case PROP_MIN_ROW_WIDTH:
    frontier_columns_set_min_row_width(self, g_value_get_int(value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void
frontier_columns_class_init(FrontierColumnsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  object_class->dispose = frontier_columns_dispose;
  object_class->get_property = frontier_columns_get_property;
  object_class->set_property = frontier_columns_set_property;

  widget_class->measure = frontier_columns_measure;
  widget_class->size_allocate = frontier_columns_size_allocate;
  widget_class->get_request_mode = frontier_columns_get_request_mode;

  properties[PROP_SPACING] = g_param_spec_int("spacing", NULL, NULL, 0, G_MAXINT, 0,
                                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HOMOGENEOUS] = g_param_spec_boolean("homogeneous", NULL, NULL, FALSE,
                                                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                                                        G_PARAM_STATIC_STRINGS);
  properties[PROP_MIN_ROW_WIDTH] = g_param_spec_int("min-row-width", NULL, NULL, 0, G_MAXINT, 0,
                                                    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                                                      G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name(widget_class, "columns");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
frontier_columns_init(FrontierColumns *self)
{
  self->is_row = TRUE;
}

GtkWidget *
frontier_columns_new(void)
{
  return g_object_new(FRONTIER_TYPE_COLUMNS, NULL);
}

void
frontier_columns_set_spacing(FrontierColumns *self, int spacing)
{
  g_return_if_fail(FRONTIER_IS_COLUMNS(self));
  spacing = MAX(0, spacing);
  if (self->spacing == spacing)
    return;
  self->spacing = spacing;
  gtk_widget_queue_resize(GTK_WIDGET(self));
  g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_SPACING]);
}

void
frontier_columns_set_homogeneous(FrontierColumns *self, gboolean homogeneous)
{
  g_return_if_fail(FRONTIER_IS_COLUMNS(self));
  homogeneous = !!homogeneous;
  if (self->homogeneous == homogeneous)
    return;
  self->homogeneous = homogeneous;
  gtk_widget_queue_resize(GTK_WIDGET(self));
  g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_HOMOGENEOUS]);
}

void
frontier_columns_set_min_row_width(FrontierColumns *self, int width)
{
  g_return_if_fail(FRONTIER_IS_COLUMNS(self));
  width = MAX(0, width);
  if (self->min_row_width == width)
    return;
  self->min_row_width = width;
  gtk_widget_queue_resize(GTK_WIDGET(self));
  g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_MIN_ROW_WIDTH]);
}

gboolean
frontier_columns_get_is_row(FrontierColumns *self)
{
  g_return_val_if_fail(FRONTIER_IS_COLUMNS(self), FALSE);
  return self->is_row;
}
