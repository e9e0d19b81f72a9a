#!/usr/bin/python3
"""End-to-end UI test of Frontier's SpArch page, driven through AT-SPI with dogtail.

Run by meson (suite 'ui') as

    dbus-run-session -- xvfb-run -a -s '-screen 0 1280x800x24' \
        /usr/bin/python3 test-sparch.py --app build/app/frontier --outdir build

with the same environment as test-training.py (GDK_BACKEND=x11, GSK_RENDERER=cairo,
GTK_A11Y=atspi, GSETTINGS_BACKEND=memory, ...). Everything goes through AT-SPI interfaces
(Action "click", Selection, accessible names and descriptions), never pointer coordinates.

Steps: launch, select the SpArch page, pick the shipped wiki-Vote matrix from the "Shipped
matrices" list (Selection interface), wait for "Simulate" to become sensitive (the matrix is loaded
on a job), click it, wait for the DRAM chart's accessible description to list the bars of SpArch
and OuterSPACE with their bytes per category, check the key numbers appeared, screenshot
(<outdir>/ui-sparch.png), show the Pipeline view and screenshot it (<outdir>/ui-sparch-pipeline.png),
close the window and check the process exits cleanly. The app's output goes to
<outdir>/ui-test-sparch-frontier.log.
"""
import os
import re
import sys
import time

# The shared harness lives next to this script (meson runs it by path).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from frontier_uitest import (  # noqa: E402  (configures dogtail; needs the path above)
    TestFailure, by, click, close_app, find, find_app, launched, log, main, page_title, screenshot,
    select_in_list, set_budget, wait_for)

set_budget(55)
CATEGORIES = ("A read", "B read", "Partial write", "Partial read", "C write")


def toasts(app):
    out = []
    for n in app.findChildren(by(role="label"), recursive=True):
        if n.name.startswith(("Could not", "Simulation", "Loading", "Invalid")):
            out.append(n.name)
    return out


SIZE = r"([0-9.]+) ?([kMGTPE]?)B"
SCALE = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}


def parse_bars(description):
    """'SpArch: 7.7 MB (A read 1 MB, ...), 2.9x less; OuterSPACE: ...' -> {bar: (total, {cat: bytes})}."""
    bars = {}
    for part in description.split("; "):
        m = re.match(r"([^:]+): " + SIZE + r"(?: \((.*)\))?", part)
        if not m:
            continue
        total = float(m.group(2)) * SCALE[m.group(3)]
        cats = {}
        for seg in (m.group(4) or "").split(", "):
            sm = re.match(r"(.+?) " + SIZE + "$", seg)
            if sm:
                cats[sm.group(1)] = float(sm.group(2)) * SCALE[sm.group(3)]
        bars[m.group(1)] = (total, cats)
    return bars


def run(args):
    os.makedirs(args.outdir, exist_ok=True)
    log_path = os.path.join(args.outdir, "ui-test-sparch-frontier.log")
    with launched(args.app, log_path) as proc:
        app = wait_for("the 'frontier' application on the AT-SPI bus", lambda: find_app(proc), 30)
        log("application found on the accessibility bus")
        wait_for("the main window", lambda: find(app, by(role="frame")), 15)

        pages = wait_for("the sidebar list 'Pages'", lambda: find(app, by("Pages", "list")), 10)
        select_in_list(pages, "SpArch", "the sidebar")
        wait_for("the SpArch page title", lambda: page_title(app) == "SpArch", 10)
        log("SpArch page selected")

        simulate = wait_for("the 'Simulate' button", lambda: find(app, by("Simulate", "push button")), 10)
        cancel = wait_for("the 'Cancel' button", lambda: find(app, by("Cancel", "push button")), 10)
        for name in ("Open matrix…", "Export"):
            if wait_for(f"the '{name}' button", lambda: find(app, by(name)), 5) is None:
                raise TestFailure(f"no '{name}' button")
        if simulate.sensitive:
            raise TestFailure("'Simulate' is sensitive before any matrix is loaded")

        shipped = wait_for("the 'Shipped matrices' list", lambda: find(app, by("Shipped matrices", "list")), 10)
        wait_for("the shipped matrices to be listed",
                 lambda: "wiki-Vote" in [c.name for c in shipped.children], 10)
        select_in_list(shipped, "wiki-Vote", "the shipped matrices")
        log("picked wiki-Vote")
        wait_for("'Simulate' to become sensitive (matrix loaded)", lambda: simulate.sensitive, 20)
        spy = find(app, by(role="image", prefix="Spy plot of A"))
        if spy is None or "103,689 nonzeros" not in spy.description:
            raise TestFailure(f"the spy plot of A does not describe wiki-Vote: "
                              f"{spy.description if spy else 'not found'}")
        log(f"matrix loaded: {spy.description}")

        click(simulate, "'Simulate'")
        log("clicked 'Simulate'")

        def chart_ready():
            if not simulate.sensitive:
                return None
            chart = find(app, by(role="image", prefix="DRAM traffic"))
            if chart is None:
                return None
            bars = parse_bars(chart.description)
            return (chart, bars) if {"SpArch", "OuterSPACE"} <= set(bars) else None

        try:
            chart, bars = wait_for("the DRAM bars of SpArch and OuterSPACE", chart_ready, 40)
        except TestFailure:
            raise TestFailure(f"no DRAM bars; toasts: {toasts(app)}; see {log_path}")
        log(f"DRAM chart '{chart.name}': {chart.description}")
        for bar in ("SpArch", "OuterSPACE"):
            total, cats = bars[bar]
            if total <= 0:
                raise TestFailure(f"{bar}'s DRAM bar is empty")
            if set(cats) != set(CATEGORIES):
                raise TestFailure(f"{bar}'s bar has segments {sorted(cats)}, expected {CATEGORIES}")
            if abs(sum(cats.values()) - total) > 0.05 * total:
                raise TestFailure(f"{bar}'s segments add up to {sum(cats.values())}, not its total {total}")
        if bars["SpArch"][1]["Partial write"] > bars["OuterSPACE"][1]["Partial write"]:
            raise TestFailure("SpArch writes more partial products than OuterSPACE")
        if cancel.sensitive:
            raise TestFailure("'Cancel' is still sensitive after the simulation finished")

        ablation = find(app, by(role="image", prefix="Ablation"))
        if ablation is None or len(parse_bars(ablation.description)) != 5:
            raise TestFailure(f"the ablation chart lacks its five bars: "
                              f"{ablation.description if ablation else 'not found'}")
        labels = [n.name for n in app.findChildren(by(role="label"), recursive=True)]
        if not any(re.search(r"[0-9] GFLOPS$", lbl) for lbl in labels):
            raise TestFailure("no GFLOPS figure among the key numbers")
        if not any(re.search(r"^SpArch: .* than OuterSPACE", lbl) for lbl in labels):
            raise TestFailure("the DRAM key number does not compare SpArch with OuterSPACE")
        log("key numbers shown")
        time.sleep(0.3)
        screenshot(os.path.join(args.outdir, "ui-sparch.png"))

        pipe_tab = find(app, by("Pipeline", "page tab")) or find(app, by("Pipeline", "toggle button"))
        if pipe_tab is not None and "click" in pipe_tab.actions:
            click(pipe_tab, "the 'Pipeline' view switcher button")
            pipeline = wait_for("the pipeline view", lambda: find(app, by("Pipeline", "image")), 5)
            first = pipeline.description
            if not re.match(r"Round [0-9,]+ of [0-9,]+ · cycle", first):
                raise TestFailure(f"the pipeline view describes no round: '{first}'")
            play = find(app, by("Play", "push button"))
            if play is not None and play.sensitive:
                click(play, "'Play'")
                wait_for("the pipeline to advance", lambda: pipeline.description != first, 15)
                log(f"pipeline playing: {pipeline.description}")
            time.sleep(0.3)
            screenshot(os.path.join(args.outdir, "ui-sparch-pipeline.png"))
        else:
            log("warning: no clickable 'Pipeline' switcher button; pipeline screenshot skipped")

        close_app(app, proc, log_path, 15)


if __name__ == "__main__":
    sys.exit(main(run, __doc__))
