/* frontier-main.c: the Frontier desktop workbench. */
#include <glib/gi18n.h>

#include "frontier-application.h"

int
main(int argc, char *argv[])
{
  g_set_application_name("Frontier");
  g_autoptr(FrontierApplication) app = frontier_application_new();
  return g_application_run(G_APPLICATION(app), argc, argv);
}
