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
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

from dogtail.config import config

# dogtail checks the toolkit-accessibility GSetting, which the memory backend cannot carry
# between processes; GTK 4 talks AT-SPI regardless, so skip that check.
config.checkForA11y = False
config.logDebugToFile = False
config.searchBackoffDuration = 0.25
config.searchCutoffCount = 8
config.defaultDelay = 0.1
config.actionDelay = 0.1
config.typingDelay = 0.05

from dogtail import tree  # noqa: E402  (must follow the config above)
from gi.repository import GLib  # noqa: E402

TOTAL_BUDGET_S = 150
START = time.monotonic()


class TestFailure(Exception):
    pass


def log(msg):
    print(f"[{time.monotonic() - START:6.1f}s] {msg}", flush=True)


def budget_left():
    return TOTAL_BUDGET_S - (time.monotonic() - START)


def wait_for(what, predicate, timeout, interval=0.25):
    """Polls predicate() until it returns a truthy value; raises TestFailure after timeout."""
    deadline = time.monotonic() + min(timeout, max(1.0, budget_left()))
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (GLib.Error, tree.SearchError, LookupError, RuntimeError) as e:
            last_error = e
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    raise TestFailure(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


def find(root, what, pred):
    """Returns the first descendant matching pred, or None (no dogtail retries/logging)."""
    try:
        return root.findChild(pred, recursive=True, retry=False, requireResult=False)
    except tree.SearchError:
        return None


def by(name=None, role=None):
    def pred(node):
        try:
            return (name is None or node.name == name) and (role is None or node.roleName == role)
        except GLib.Error:
            return False
    return pred


def find_app(proc):
    for app in tree.root.applications():
        try:
            if app.name in ("frontier", "Frontier") and (app.get_process_id() == proc.pid):
                return app
        except (GLib.Error, AttributeError):
            if app.name in ("frontier", "Frontier"):
                return app
    if proc.poll() is not None:
        raise TestFailure(f"frontier exited early with status {proc.returncode}")
    return None


def click(node, what):
    if "click" not in node.actions:
        raise TestFailure(f"{what} has no AT-SPI 'click' action (actions: {list(node.actions)})")
    node.doActionNamed("click")


def select_page(app, name):
    pages = find(app, "page list", by("Pages", "list"))
    if pages is None:
        raise TestFailure("sidebar list 'Pages' not found")
    names = [c.name for c in pages.children]
    if name not in names:
        raise TestFailure(f"sidebar has no '{name}' row (rows: {names})")
    pages.querySelection().selectChild(names.index(name))


def page_title(app):
    """The content header's title (an AdwWindowTitle label other than the sidebar's 'Frontier')."""
    titles = app.findChildren(by("AdwWindowTitle", "filler"), recursive=True)
    labels = []
    for t in titles:
        labels += [c.name for c in t.findChildren(by(role="label"), recursive=True)]
    rest = [l for l in labels if l != "Frontier"]
    return rest[0] if rest else None


def toasts(app):
    """Labels of visible toasts (AdwToastWidget titles), for diagnostics."""
    out = []
    for n in app.findChildren(by(role="label"), recursive=True):
        if n.name.startswith(("Training cancelled", "Training failed", "Training finished")):
            out.append(n.name)
    return out


def screenshot(path):
    if shutil.which("import") is None:
        log("imagemagick 'import' not found: no screenshot")
        return
    r = subprocess.run(["import", "-window", "root", path], capture_output=True, timeout=20)
    if r.returncode != 0:
        log(f"screenshot failed: {r.stderr.decode(errors='replace').strip()}")
    else:
        log(f"screenshot: {path}")


def run(args):
    os.makedirs(args.outdir, exist_ok=True)
    log_path = os.path.join(args.outdir, "ui-test-frontier.log")
    app_log = open(log_path, "w")
    log(f"launching {args.app} (its output: {log_path})")
    proc = subprocess.Popen([args.app], stdout=app_log, stderr=subprocess.STDOUT)
    try:
        app = wait_for("the 'frontier' application on the AT-SPI bus", lambda: find_app(proc), 40)
        log("application found on the accessibility bus")

        wait_for("the main window", lambda: find(app, "frame", by(role="frame")), 20)
        select_page(app, "Training")
        wait_for("the Training page title", lambda: page_title(app) == "Training", 10)
        log("Training page selected")

        start = wait_for("the 'Start training' button",
                         lambda: find(app, "start", by("Start training", "push button")), 20)
        cancel = wait_for("the 'Cancel' button", lambda: find(app, "cancel", by("Cancel", "push button")), 20)
        progress = wait_for("the progress bar", lambda: find(app, "progress", by(role="progress bar")), 10)
        if not start.sensitive:
            raise TestFailure("'Start training' is insensitive before any training")
        if cancel.sensitive:
            raise TestFailure("'Cancel' is sensitive before training started")

        epochs = find(app, "epochs", by("Epochs", "spin button"))
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
        if find(app, "Simulate", by("Simulate", "push button")) is None:
            raise TestFailure("the SpArch page has no Simulate button")
        log("SpArch page shown")
        select_page(app, "Training")
        wait_for("the Training page again", lambda: page_title(app) == "Training", 10)
        if not start.sensitive:
            raise TestFailure("'Start training' is insensitive after returning to the Training page")
        log("back on the Training page; Start is sensitive")
        screenshot(os.path.join(args.outdir, "ui-after-cancel.png"))

        close = find(app, "close", by("Close", "push button"))
        if close is None:
            raise TestFailure("the window's Close button was not found")
        click(close, "the window's Close button")
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            raise TestFailure("frontier did not exit within 20 s of closing its window")
        if code != 0:
            raise TestFailure(f"frontier exited with status {code}; see {log_path}")
        log("frontier exited cleanly")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        app_log.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", required=True, help="path to the frontier executable")
    parser.add_argument("--outdir", required=True, help="where screenshots and the app's log go")
    args = parser.parse_args()
    if not os.access(args.app, os.X_OK):
        print(f"FAIL: {args.app} is not an executable (build it first)", file=sys.stderr)
        return 1
    try:
        run(args)
    except TestFailure as e:
        log(f"FAIL: {e}")
        return 1
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
