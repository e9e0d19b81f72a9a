#!/usr/bin/python3
"""End-to-end UI test of Frontier's Training page, driven through AT-SPI with dogtail.

Run by meson (suite 'ui') as

    dbus-run-session -- xvfb-run -a -s '-screen 0 1280x800x24' \
        /usr/bin/python3 test-training.py --app build/app/frontier --outdir build

with GDK_BACKEND=x11 GSK_RENDERER=cairo GTK_A11Y=atspi NO_AT_BRIDGE=0, GSETTINGS_BACKEND=memory
and GSETTINGS_SCHEMA_DIR=<build>/assets. dbus-run-session gives a private session bus, on which
the AT-SPI bus (at-spi-bus-launcher, then at-spi2-registryd) is D-Bus activated on first use.

Everything goes through AT-SPI interfaces (Action "click", Value, Selection) rather than pointer
coordinates: GTK 4.8 cannot report screen coordinates on X11, so dogtail's coordinate clicks
would land in the wrong place.

Steps: launch, select the Training page, set 1 epoch, start training, wait for the progress
bar's value to rise, screenshot (<outdir>/ui-training.png), cancel, wait for Start to become
sensitive again, switch to SpArch and back, screenshot (<outdir>/ui-after-cancel.png), close the
window and check the process exits cleanly.
"""
import os
import sys
import time

# The shared harness lives next to this script (meson runs it by path).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from frontier_uitest import (  # noqa: E402  (configures dogtail; needs the path above)
    TestFailure, by, click, close_app, find, find_app, launched, log, main, page_title, screenshot,
    select_in_list, set_budget, wait_for)

set_budget(150)


def select_page(app, name):
    pages = find(app, by("Pages", "list"))
    if pages is None:
        raise TestFailure("sidebar list 'Pages' not found")
    select_in_list(pages, name, "sidebar")


def toasts(app):
    """Labels of visible toasts (AdwToastWidget titles), for diagnostics."""
    out = []
    for n in app.findChildren(by(role="label"), recursive=True):
        if n.name.startswith(("Training cancelled", "Training failed", "Training finished")):
            out.append(n.name)
    return out


def run(args):
    os.makedirs(args.outdir, exist_ok=True)
    log_path = os.path.join(args.outdir, "ui-test-frontier.log")
    with launched(args.app, log_path) as proc:
        app = wait_for("the 'frontier' application on the AT-SPI bus", lambda: find_app(proc), 40)
        log("application found on the accessibility bus")

        wait_for("the main window", lambda: find(app, by(role="frame")), 20)
        select_page(app, "Training")
        wait_for("the Training page title", lambda: page_title(app) == "Training", 10)
        log("Training page selected")

        start = wait_for("the 'Start training' button",
                         lambda: find(app, by("Start training", "push button")), 20)
        cancel = wait_for("the 'Cancel' button", lambda: find(app, by("Cancel", "push button")), 20)
        progress = wait_for("the progress bar", lambda: find(app, by(role="progress bar")), 10)
        if not start.sensitive:
            raise TestFailure("'Start training' is insensitive before any training")
        if cancel.sensitive:
            raise TestFailure("'Cancel' is sensitive before training started")

        epochs = find(app, by("Epochs", "spin button"))
        if epochs is not None:
            epochs.value = 1
            wait_for("epochs to read 1", lambda: abs(epochs.value - 1) < 1e-6, 5)
            log("epochs set to 1")
        else:
            log("warning: no 'Epochs' spin button; training with the default epochs")

        initial = progress.value
        click(start, "'Start training'")
        log("clicked 'Start training'")
        wait_for("'Cancel' to become sensitive", lambda: cancel.sensitive, 10)
        if start.sensitive:
            raise TestFailure("'Start training' is still sensitive while training runs")

        def progressed():
            if start.sensitive:  # the job ended already: say how
                raise TestFailure(f"training stopped before making progress; toasts: {toasts(app)}; "
                                  f"see {log_path}")
            return progress.value > max(initial, 0.0)
        wait_for("the progress bar's value to increase", progressed, 90)
        log(f"progress increased to {progress.value:.4f}")

        time.sleep(0.5)  # let a frame or two of the charts draw
        screenshot(os.path.join(args.outdir, "ui-training.png"))

        click(cancel, "'Cancel'")
        log("clicked 'Cancel'")
        wait_for("'Start training' to become sensitive after Cancel", lambda: start.sensitive, 30)
        if cancel.sensitive:
            raise TestFailure("'Cancel' is still sensitive after the job stopped")
        log(f"job stopped; toasts: {toasts(app)}")

        select_page(app, "SpArch")
        wait_for("the SpArch page", lambda: page_title(app) == "SpArch", 10)
        if find(app, by("Simulate", "push button")) is None:
            raise TestFailure("the SpArch page has no Simulate button")
        log("SpArch page shown")
        select_page(app, "Training")
        wait_for("the Training page again", lambda: page_title(app) == "Training", 10)
        if not start.sensitive:
            raise TestFailure("'Start training' is insensitive after returning to the Training page")
        log("back on the Training page; Start is sensitive")
        screenshot(os.path.join(args.outdir, "ui-after-cancel.png"))

        close_app(app, proc, log_path, 20)


if __name__ == "__main__":
    sys.exit(main(run, __doc__))
