#!/usr/bin/python3
"""End-to-end UI test of Frontier's Profiler page, driven through AT-SPI with dogtail.

Run by meson (suite 'ui') as

    dbus-run-session -- xvfb-run -a -s '-screen 0 1280x800x24' \
        /usr/bin/python3 test-profiler.py --app build/app/frontier --outdir build

with the same environment as test-training.py (GDK_BACKEND=x11, GSK_RENDERER=cairo,
GTK_A11Y=atspi, GSETTINGS_BACKEND=memory, XDG_CACHE_HOME in the build dir: the roofline ceilings are
measured there the first time). Everything goes through AT-SPI (Action "click", Value, accessible
names and descriptions), never pointer coordinates.

Steps: launch, select the Profiler page, check the model picker shows the classifier (the first
target, selected by default) with its summary; set Runs to 3 and click "Profile"; wait for the
per-layer table ("N rows: conv1 …"), the roofline plot ("N layer points; compute roof …") and the
timeline ("N ops on …") to fill; screenshot (<outdir>/ui-profiler.png); then the Cancel path: Runs
101, "Profile", "Cancel" at once: the page must become idle again with the earlier profile still
shown; Export > "Profile (JSON)…" (FRONTIER_EXPORT_PATH: a folder in <outdir>) writes the profile, and
Open > "Saved Profile to Compare With…" (FRONTIER_OPEN_PATH: that file) fills the comparison table;
close the window and check the process exits cleanly. On a failure the screen is saved as
<outdir>/ui-profiler-failed.png. The app's output goes to <outdir>/ui-test-profiler-frontier.log.
"""
import os
import re
import sys
import time


def share_display_with_dbus():
    """dbus-run-session starts the session bus before xvfb-run sets DISPLAY; give the bus our display
    before anything connects to AT-SPI (see test-lsra.py)."""
    from gi.repository import Gio, GLib
    env = {k: os.environ[k] for k in ("DISPLAY", "XAUTHORITY") if k in os.environ}
    if not env:
        return
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                  "UpdateActivationEnvironment", GLib.Variant("(a{ss})", (env,)), None,
                  Gio.DBusCallFlags.NONE, -1, None)


share_display_with_dbus()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
from frontier_uitest import (  # noqa: E402
    TestFailure, by, click, close_app, find, find_app, launched, log, main, page_title, screenshot,
    select_in_list, set_budget, wait_for)

set_budget(150)


def count(node, pattern):
    """The leading count of node's accessible description matching pattern, or None."""
    m = re.match(pattern, node.description or "")
    return int(m.group(1)) if m else None


def set_spin(spin, value, what):
    spin.queryValue().currentValue = value
    wait_for(f"{what} to read {value}", lambda: abs(spin.queryValue().currentValue - value) < 0.5, 5)


def open_menu_item(app, button_name, item_name):
    """Clicks the menu button called button_name, then its menu item item_name."""
    button = None
    for node in app.findChildren(by(button_name), recursive=True):
        if "click" in node.actions:
            button = node
            break
    if button is None or not button.sensitive:
        raise TestFailure(f"no sensitive '{button_name}' menu button")
    click(button, f"'{button_name}'")
    item = wait_for(f"the '{item_name}' menu item", lambda: find(app, by(item_name)), 10)
    click(item, f"'{item_name}'")


def run(args):
    os.makedirs(args.outdir, exist_ok=True)
    log_path = os.path.join(args.outdir, "ui-test-profiler-frontier.log")
    # the page's file hooks (no dialogs): exports go to this folder, Open reads the profile saved there
    export_dir = os.path.join(args.outdir, "ui-profiler-export")
    os.makedirs(export_dir, exist_ok=True)
    saved = os.path.join(export_dir, "classifier-profile.json")
    if os.path.exists(saved):
        os.remove(saved)
    os.environ["FRONTIER_EXPORT_PATH"] = export_dir
    os.environ["FRONTIER_OPEN_PATH"] = saved
    with launched(args.app, log_path) as proc:
        try:
            app = app_root = wait_for("the 'frontier' application on the AT-SPI bus", lambda: find_app(proc), 30)
            wait_for("the main window", lambda: find(app, by(role="frame")), 15)
            pages = wait_for("the sidebar list 'Pages'", lambda: find(app, by("Pages", "list")), 10)
            select_in_list(pages, "Profiler", "the sidebar")
            wait_for("the Profiler page title", lambda: page_title(app) == "Profiler", 10)
            log("Profiler page selected")
            # Every page is in the accessible tree: look inside this one only (other pages have Cancel too).
            app = wait_for("the 'Profiler page' group", lambda: find(app_root, by("Profiler page")), 10)

            wait_for("the classifier's summary under the model picker",
                     lambda: find(app, by(role="label", prefix="Fashion-MNIST CNN")), 10)
            profile = wait_for("the 'Profile' button", lambda: find(app, by("Profile", "push button")), 10)
            cancel = wait_for("the 'Cancel' button", lambda: find(app, by("Cancel", "push button")), 10)
            runs = wait_for("the 'Runs' spin button", lambda: find(app, by("Runs", "spin button")), 10)
            table = wait_for("the per-layer table", lambda: find(app, by("Per-layer table")), 10)
            roof = wait_for("the roofline plot", lambda: find(app, by("Roofline plot")), 10)
            timeline = wait_for("the timeline", lambda: find(app, by("Timeline", "image")), 10)
            if count(table, r"(\d+) rows") != 0 or count(roof, r"(\d+) layer points") != 0:
                raise TestFailure(f"the page is not empty before profiling: '{table.description}', "
                                  f"'{roof.description}'")
            if cancel.sensitive:
                raise TestFailure("'Cancel' is sensitive with nothing running")

            set_spin(runs, 3, "Runs")
            click(profile, "'Profile'")
            log("clicked 'Profile' (classifier, 3 runs)")
            wait_for("the per-layer table to fill", lambda: (count(table, r"(\d+) rows") or 0) > 0, 90)
            wait_for("'Profile' to be sensitive again", lambda: profile.sensitive, 10)
            rows = count(table, r"(\d+) rows")
            points = count(roof, r"(\d+) layer points")
            ops = count(timeline, r"(\d+) ops")
            log(f"table: {table.description[:160]}")
            log(f"roofline: {roof.description[:160]}")
            log(f"timeline: {timeline.description}")
            if not all(n in table.description for n in ("conv1", "conv2", "fc1", "fc2")):
                raise TestFailure(f"the classifier's layers are missing from the table: {table.description}")
            if not points or points < 3:
                raise TestFailure(f"the roofline plot has {points} points: '{roof.description}'")
            if "compute roof" not in roof.description or "memory slope" not in roof.description:
                raise TestFailure(f"the roofline plot has no ceilings: '{roof.description}'")
            if not ops or ops < rows:
                raise TestFailure(f"the timeline shows {ops} ops for {rows} layers: '{timeline.description}'")
            export = find(app, by("Export"))
            if export is None or not export.sensitive:
                raise TestFailure("'Export' is not available after a profile")
            time.sleep(0.5)
            screenshot(os.path.join(args.outdir, "ui-profiler.png"))

            # Cancel: a long profile stopped at once keeps the earlier result.
            before = table.description
            set_spin(runs, 101, "Runs")
            click(profile, "'Profile'")
            wait_for("'Cancel' to become sensitive", lambda: cancel.sensitive, 10)
            click(cancel, "'Cancel'")
            log("clicked 'Cancel'")
            wait_for("the page to be idle again", lambda: profile.sensitive and not cancel.sensitive, 30)
            if table.description != before:
                raise TestFailure("the cancelled profile replaced the table")
            log("cancelled; the earlier profile is still shown")

            # Save the profile as JSON through the Export menu, then open it again as the comparison's
            # second model: the comparison table fills (the same model: time ratio about 1).
            open_menu_item(app, "Export", "Profile (JSON)…")
            wait_for(f"the saved profile {saved}", lambda: os.path.exists(saved), 15)
            log(f"exported {saved} ({os.path.getsize(saved)} bytes)")
            compare_grid = wait_for("the comparison table", lambda: find(app, by("Comparison table")), 10)
            open_menu_item(app, "Open", "Saved Profile to Compare With…")
            wait_for("the comparison table to fill from the saved profile",
                     lambda: (count(compare_grid, r"(\d+) rows") or 0) > 0, 20)
            log(f"comparison with the saved profile: {compare_grid.description[:160]}")
            if "conv1" not in compare_grid.description:
                raise TestFailure(f"the comparison misses the classifier's layers: '{compare_grid.description}'")
            close_app(app_root, proc, log_path, 15)
        except TestFailure:
            screenshot(os.path.join(args.outdir, "ui-profiler-failed.png"))
            raise


if __name__ == "__main__":
    sys.exit(main(run, __doc__))
