"""Shared harness of Frontier's end-to-end UI tests (test-training.py, test-sparch.py), driven
through AT-SPI with dogtail.

Imported from the tests' own folder (they put it on sys.path). Importing it configures dogtail,
so it must come before any other dogtail import; the tests' time budget starts at import.

Everything goes through AT-SPI interfaces (Action "click", Value, Selection) rather than pointer
coordinates: GTK 4.8 cannot report screen coordinates on X11, so dogtail's coordinate clicks
would land in the wrong place.
"""
import argparse
import contextlib
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

START = time.monotonic()
_budget_s = 60.0


class TestFailure(Exception):
    pass


def set_budget(seconds):
    """The whole test's time budget, counted from START; wait_for never waits past it (but >= 1 s)."""
    global _budget_s
    _budget_s = seconds


def log(msg):
    print(f"[{time.monotonic() - START:6.1f}s] {msg}", flush=True)


def budget_left():
    return _budget_s - (time.monotonic() - START)


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


def find(root, pred):
    """Returns the first descendant matching pred, or None (no dogtail retries/logging)."""
    try:
        return root.findChild(pred, recursive=True, retry=False, requireResult=False)
    except tree.SearchError:
        return None


def by(name=None, role=None, prefix=None):
    """A node predicate: name equal to name, role name equal to role, name starting with prefix."""
    def pred(node):
        try:
            return ((name is None or node.name == name) and (role is None or node.roleName == role)
                    and (prefix is None or node.name.startswith(prefix)))
        except GLib.Error:
            return False
    return pred


def find_app(proc):
    """The frontier application of process proc on the AT-SPI bus, or None while it is not there."""
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


def select_in_list(lst, name, what):
    """Selects lst's row named name through the Selection interface."""
    names = [c.name for c in lst.children]
    if name not in names:
        raise TestFailure(f"{what} has no '{name}' row (rows: {names})")
    lst.querySelection().selectChild(names.index(name))


def page_title(app):
    """The content header's title (an AdwWindowTitle label other than the sidebar's 'Frontier')."""
    titles = app.findChildren(by("AdwWindowTitle", "filler"), recursive=True)
    labels = []
    for t in titles:
        labels += [c.name for c in t.findChildren(by(role="label"), recursive=True)]
    rest = [lbl for lbl in labels if lbl != "Frontier"]
    return rest[0] if rest else None


def screenshot(path):
    if shutil.which("import") is None:
        log("imagemagick 'import' not found: no screenshot")
        return
    r = subprocess.run(["import", "-window", "root", path], capture_output=True, timeout=20)
    if r.returncode != 0:
        log(f"screenshot failed: {r.stderr.decode(errors='replace').strip()}")
    else:
        log(f"screenshot: {path}")


@contextlib.contextmanager
def launched(app_path, log_path):
    """Starts the app with its output in log_path and yields its Popen; on the way out, stops it
    (SIGTERM, then SIGKILL after 5 s) if it is still running."""
    app_log = open(log_path, "w")
    log(f"launching {app_path} (its output: {log_path})")
    proc = subprocess.Popen([app_path], stdout=app_log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        app_log.close()


def close_app(app, proc, log_path, timeout):
    """Clicks the window's Close button and checks the process exits with status 0 within timeout s."""
    close = find(app, by("Close", "push button"))
    if close is None:
        raise TestFailure("the window's Close button was not found")
    click(close, "the window's Close button")
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TestFailure(f"frontier did not exit within {timeout} s of closing its window")
    if code != 0:
        raise TestFailure(f"frontier exited with status {code}; see {log_path}")
    log("frontier exited cleanly")


def main(run, doc):
    """Parses --app and --outdir, calls run(args) and returns the exit status (0: PASS)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
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
