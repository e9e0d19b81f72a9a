#!/usr/bin/python3
"""End-to-end UI test of Frontier's GAN Compression page, driven through AT-SPI with dogtail.

Run by meson (suite 'ui') as

    dbus-run-session -- xvfb-run -a -s '-screen 0 1280x800x24' \
        /usr/bin/python3 test-gan.py --app build/app/frontier --outdir build

with the same environment as test-training.py (GDK_BACKEND=x11, GSK_RENDERER=cairo,
GTK_A11Y=atspi, GSETTINGS_BACKEND=memory, ...). Everything goes through AT-SPI interfaces
(Action "click", Value, accessible names and descriptions), never pointer coordinates.

The generators are the ones the app finds with fr_data_find: $FR_DATA_DIR/gan/ when set (stand-ins),
else the source tree's data/gan/. Without a teacher there, the test checks that the page names what is
missing with the frontier-cli command that makes it, and reports SKIP (77).

Steps: launch, select the GAN Compression page, wait for the generators (the student's MACs label
filled in) and the empty-canvas hint; "Open Image…" on a text file (the FRONTIER_OPEN_PATH hook) must
say next to the canvas that it is not an image; click "Load Test Sketch" and wait for both outputs with their
measured latencies ("Teacher latency: 2.31 ms", "Student latency: 0.40 ms") and the real item's
caption; step the budget to another sub-generator with the ‹ › buttons and check the student's MACs
label changes (and a new latency is measured); set the budget spin button to its top and check the
dearest front member is shown; screenshot (<outdir>/ui-gan.png); click "Clear" and check the hint is
back and the outputs are gone; close the window and check the process exits cleanly. The app's output
goes to <outdir>/ui-test-gan-frontier.log.
"""
import os
import re
import sys
import tempfile
import time

# The shared harness lives next to this script (meson runs it by path).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from frontier_uitest import (  # noqa: E402  (configures dogtail; needs the path above)
    TestFailure, by, click, close_app, find, find_app, launched, log, main, page_title, screenshot,
    select_in_list, set_budget, wait_for)

set_budget(110)
SKIP = 77
MS = re.compile(r"^(Teacher|Student) latency: ([0-9.]+) ms$")


def data_has_models():
    """Whether fr_data_find will see a teacher: $FR_DATA_DIR first, then the source tree's data/."""
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = [os.environ.get("FR_DATA_DIR"), os.path.join(here, "..", "..", "data")]
    return any(d and os.path.isfile(os.path.join(d, "gan", "teacher.safetensors")) for d in dirs)


def named(app, prefix):
    """The names of the labels whose accessible name starts with prefix."""
    return [n.name for n in app.findChildren(by(role="label", prefix=prefix), recursive=True)]


def one(app, prefix):
    names = named(app, prefix)
    return names[0] if names else None


def hint_shown(app):
    """Whether the outputs area shows the empty-canvas hint. GTK 4.8 sets no 'showing' state, so the
    area (accessible label 'Generated items') says in its description which of the two it shows."""
    node = find(app, by("Generated items"))
    return node is not None and node.description.startswith("Nothing to generate yet")


def latency(app, who):
    """The measured latency in ms of 'Teacher' or 'Student', or None while there is none."""
    name = one(app, f"{who} latency: ")
    m = MS.match(name) if name else None
    return float(m.group(2)) if m else None


def run(args):
    os.makedirs(args.outdir, exist_ok=True)
    log_path = os.path.join(args.outdir, "ui-test-gan-frontier.log")
    have_models = data_has_models()
    # The page's test hook: "Open Image…" traces this file without a dialog. Not an image: the page
    # must say so next to the canvas.
    bad_image = os.path.join(tempfile.mkdtemp(prefix="frontier-gan-"), "not-an-image.png")
    with open(bad_image, "w") as f:
        f.write("this is text, not a PNG\n")
    os.environ["FRONTIER_OPEN_PATH"] = bad_image
    with launched(args.app, log_path) as proc:
        app = wait_for("the 'frontier' application on the AT-SPI bus", lambda: find_app(proc), 30)
        log("application found on the accessibility bus")
        wait_for("the main window", lambda: find(app, by(role="frame")), 15)

        pages = wait_for("the sidebar list 'Pages'", lambda: find(app, by("Pages", "list")), 10)
        select_in_list(pages, "GAN Compression", "the sidebar")
        wait_for("the GAN Compression page title", lambda: page_title(app) == "GAN Compression", 10)
        log("GAN Compression page selected")

        if not have_models:
            def missing():
                for n in app.findChildren(by(role="label"), recursive=True):
                    if "No teacher" in n.name and "frontier-cli gan train-teacher" in n.name:
                        return n.name
                return None
            msg = wait_for("the missing-teacher message with its command", missing, 20)
            log(f"no models shipped; the page says: {msg[:160]}…")
            close_app(app, proc, log_path, 15)
            log("SKIP: no gan/teacher.safetensors (set FR_DATA_DIR to stand-ins, or ship data/gan)")
            sys.exit(SKIP)

        macs0 = wait_for("the generators to load (the student's MACs)",
                         lambda: (lambda n: n if n and not n.endswith("—") else None)(one(app, "Student MACs: ")),
                         30)
        log(f"{one(app, 'Teacher MACs: ')}; {macs0}")
        wait_for("the empty-canvas hint", lambda: hint_shown(app), 10)
        log("empty canvas: the hint is shown")

        opener = wait_for("the 'Open Image…' button", lambda: find(app, by("Open Image…", "push button")), 10)
        click(opener, "'Open Image…'")
        msg = wait_for("the unreadable-image message", lambda: next(
            (n for n in named(app, "“not-an-image.png”") if "not an image" in n), None), 15)
        log(f"opened a text file as an image: {msg}")
        if not hint_shown(app):
            raise TestFailure("an unreadable image changed the canvas")

        test = wait_for("the 'Load Test Sketch' button", lambda: find(app, by("Load Test Sketch", "push button")), 10)
        click(test, "'Load Test Sketch'")
        wait_for("both latencies", lambda: latency(app, "Teacher") is not None and latency(app, "Student") is not None,
                 45)
        t_ms, s_ms = latency(app, "Teacher"), latency(app, "Student")
        log(f"teacher {t_ms} ms, student {s_ms} ms")
        if hint_shown(app):
            raise TestFailure("the empty-canvas hint is still shown with a sketch on the canvas")
        for who in ("Teacher", "Student"):
            img = find(app, by(f"{who} output", "image"))
            if img is None or "generated item" not in img.description:
                raise TestFailure(f"no {who.lower()} output image: {img.description if img else 'not found'}")
        real = one(app, "The real item: ")
        if real is None:
            raise TestFailure("no caption naming the test sketch's real item")
        log(real)

        # Another sub-generator along the front: its MACs change at once, a new latency follows.
        before = one(app, "Student MACs: ")
        cheaper = find(app, by("Cheaper sub-generator", "push button"))
        better = find(app, by("Better sub-generator", "push button"))
        if cheaper is None or better is None:
            raise TestFailure("no ‹ › buttons for the budget")
        button = cheaper if cheaper.sensitive else better
        if not button.sensitive:
            raise TestFailure("the front has a single member: neither ‹ nor › is sensitive")
        click(button, f"'{button.name}'")
        after = wait_for("the student's MACs label to change", lambda: (lambda n: n if n != before else None)(
            one(app, "Student MACs: ")), 10)
        log(f"{button.name}: {before} -> {after}")
        wait_for("the new student's latency", lambda: latency(app, "Student") is not None, 20)

        spin = wait_for("the MACs budget spin button", lambda: find(app, by("MACs budget (M)", "spin button")), 10)
        top = spin.queryValue().maximumValue
        spin.value = top
        dearest = wait_for("the dearest front member", lambda: (lambda n: n if n != after else None)(
            one(app, "Student MACs: ")), 10) if button is cheaper else one(app, "Student MACs: ")
        log(f"budget {top:.3f} M MACs: {dearest}")
        status = one(app, "Front member ")
        if status is None or not re.match(r"Front member (\d+) of \1 ", status):
            raise TestFailure(f"the top budget does not show the front's dearest member: {status}")
        time.sleep(0.5)
        screenshot(os.path.join(args.outdir, "ui-gan.png"))

        clear = wait_for("the 'Clear' button", lambda: find(app, by("Clear", "push button")), 10)
        click(clear, "'Clear'")
        wait_for("the empty-canvas hint after Clear", lambda: hint_shown(app), 10)
        for who in ("Teacher", "Student"):
            img = find(app, by(f"{who} output", "image"))
            if img is None or not img.description.startswith("No output"):
                raise TestFailure(f"the {who.lower()}'s output is still there on a blank canvas: "
                                  f"{img.description if img else 'not found'}")
        canvas = find(app, by("Sketch canvas", "image"))
        if canvas is None or canvas.description != "Blank paper":
            raise TestFailure(f"the canvas is not blank after Clear: {canvas.description if canvas else 'not found'}")
        log("cleared: the hint is back")

        close_app(app, proc, log_path, 15)


if __name__ == "__main__":
    sys.exit(main(run, __doc__))
