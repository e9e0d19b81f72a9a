#!/usr/bin/python3
"""End-to-end UI test of Frontier's APQ page, driven through AT-SPI with dogtail.

Run by meson (suite 'ui') as

    dbus-run-session -- xvfb-run -a -s '-screen 0 1280x800x24' \
        /usr/bin/python3 test-apq-page.py --app build/app/frontier --outdir build

with the same environment as test-training.py (GDK_BACKEND=x11, GSK_RENDERER=cairo,
GTK_A11Y=atspi, GSETTINGS_BACKEND=memory, ...). Everything goes through AT-SPI interfaces
(Action "click", Value, accessible names and descriptions), never pointer coordinates.

Steps: launch with FRONTIER_EXPORT_PATH pointing into a temporary folder (the page's export test
hook: Export writes there without a file dialog), select the APQ page, wait for the cost model to be
ready ('Search' sensitive), set 20 generations, type an impossible latency budget and press Search:
the engine's error must appear inline, naming the minimum, and no search may start. Then set the
budget to three times that minimum (a budget change re-runs the search at once), wait for the search
to finish ("... front: K members" in the status line, the front series on the chart, a candidate's
architecture diagram and per-layer bars), screenshot (<outdir>/ui-apq.png), export the JSON report
through the Export menu, parse it and check its front (K members, each within the budget, with a
spec), close the window and check the process exits cleanly. The app's output goes to
<outdir>/ui-test-apq-frontier.log.
"""
import json
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
STATUS = re.compile(r"(\d+) candidates shown · front: (\d+) members$")


def labels(app):
    return [n.name for n in app.findChildren(by(role="label"), recursive=True)]


def status_line(app):
    for name in labels(app):
        if STATUS.search(name):
            return name
    return None


def run(args):
    os.makedirs(args.outdir, exist_ok=True)
    log_path = os.path.join(args.outdir, "ui-test-apq-frontier.log")
    export_dir = tempfile.mkdtemp(prefix="frontier-apq-export-")
    report_path = os.path.join(export_dir, "apq-report.json")
    os.environ["FRONTIER_EXPORT_PATH"] = report_path
    with launched(args.app, log_path) as proc:
        app = wait_for("the 'frontier' application on the AT-SPI bus", lambda: find_app(proc), 30)
        log("application found on the accessibility bus")
        wait_for("the main window", lambda: find(app, by(role="frame")), 15)

        pages = wait_for("the sidebar list 'Pages'", lambda: find(app, by("Pages", "list")), 10)
        select_in_list(pages, "APQ", "the sidebar")
        wait_for("the APQ page title", lambda: page_title(app) == "APQ", 10)
        log("APQ page selected")

        search = wait_for("the 'Search' button", lambda: find(app, by("Search", "push button")), 10)
        cancel = wait_for("the 'Cancel' button", lambda: find(app, by("Cancel", "push button")), 10)
        wait_for("'Search' to become sensitive (cost model prepared)", lambda: search.sensitive, 30)
        if cancel.sensitive:
            raise TestFailure("'Cancel' is sensitive before any search")

        generations = wait_for("the 'Generations' spin button",
                               lambda: find(app, by("Generations", "spin button")), 10)
        generations.value = 20
        wait_for("generations to read 20", lambda: abs(generations.value - 20) < 1e-6, 5)
        log("generations set to 20")

        latency = wait_for("the latency budget spin button",
                           lambda: find(app, by(role="spin button", prefix="Latency budget")), 10)
        log(f"latency budget '{latency.name}' starts at {latency.value}")

        # An impossible budget: the engine's error, inline, naming the minimum; no search starts.
        latency.value = 0.0001
        time.sleep(0.5)  # the budget's debounce
        click(search, "'Search'")

        def budget_error():
            for name in labels(app):
                if name.startswith("Impossible budget") and "minimum" in name:
                    return name
            return None
        message = wait_for("the impossible-budget message", budget_error, 10)
        log(f"inline error: {message}")
        m = re.search(r"minimum is ([0-9.eE+-]+)", message)
        if not m:
            raise TestFailure(f"the error does not say what the minimum is: {message}")
        minimum = float(m.group(1))
        if cancel.sensitive or not search.sensitive:
            raise TestFailure("a search started although the budget is impossible")
        if find(app, by("Use the Minimum", "push button")) is None:
            raise TestFailure("no 'Use the Minimum' button next to the error")

        # A feasible budget: the change re-runs the search at once.
        budget = round(minimum * 3, 3)
        latency.value = budget
        log(f"latency budget set to {budget} (minimum {minimum})")

        def finished():
            line = status_line(app)
            if line is None or not line.startswith("Search ") or not search.sensitive:
                return None
            return line
        try:
            line = wait_for("the search to finish with a front", finished, 60)
        except TestFailure:
            raise TestFailure(f"no finished search; status: {status_line(app)}; labels: "
                              f"{[lbl for lbl in labels(app) if 'budget' in lbl.lower()]}; see {log_path}")
        log(f"status: {line}")
        shown, members = (int(g) for g in STATUS.search(line).groups())
        if members < 1 or shown < members:
            raise TestFailure(f"implausible counts: {shown} shown, front of {members}")
        err = find(app, by(role="label", prefix="Impossible budget"))
        if err is not None and err.showing:
            raise TestFailure("the impossible-budget message is still shown after a good search")

        chart = find(app, by(role="image", prefix="Pareto front"))
        if chart is None:
            raise TestFailure("no 'Pareto front' chart")

        def front_points():  # the chart updates its description once a second
            fm = re.search(r"Pareto front: (\d+) points", chart.description)
            return fm is not None and int(fm.group(1)) == members
        try:
            wait_for(f"the chart's front to have {members} points", front_points, 5)
        except TestFailure:
            raise TestFailure(f"the chart's front does not have {members} points: {chart.description}")
        em = re.search(r"Earlier generations: (\d+) points", chart.description)
        if not em or int(em.group(1)) < shown:
            raise TestFailure(f"the chart shows too few explored candidates: {chart.description}")
        log(f"chart: {chart.description}")

        arch = find(app, by("Architecture of the selected candidate", "image"))
        if arch is None or not arch.description.startswith("Stem:") or "Block 1 " not in arch.description:
            raise TestFailure(f"no architecture diagram of the selected candidate: "
                              f"{arch.description if arch else 'not found'}")
        bars = wait_for("the per-layer cost bars",
                        lambda: (lambda n: n if n is not None and "Block" in n.description else None)(
                            find(app, by(role="image", prefix="Per-layer"))), 15)
        log(f"breakdown '{bars.name}': {bars.description[:120]}…")
        time.sleep(0.4)
        screenshot(os.path.join(args.outdir, "ui-apq.png"))

        export = None
        for node in app.findChildren(by("Export"), recursive=True):
            if "click" in node.actions:
                export = node
                break
        if export is None or not export.sensitive:
            raise TestFailure("no sensitive 'Export' menu button after the search")
        click(export, "'Export'")
        item = wait_for("the 'Everything (JSON)…' menu item",
                        lambda: find(app, by("Everything (JSON)…")), 10)
        click(item, "'Everything (JSON)…'")
        log("exported JSON through the Export menu")
        wait_for(f"the report at {report_path}", lambda: os.path.exists(report_path), 15)
        with open(report_path) as f:
            report = json.load(f)
        front = report.get("front")
        if not isinstance(front, list) or len(front) != members:
            raise TestFailure(f"the report's front has {len(front) if isinstance(front, list) else front} "
                              f"members, the page showed {members}")
        budgets = report["settings"]["budgets"]
        objective = report["provenance"]["objectives"][0]["name"]
        if abs(budgets[objective] - budget) > 1e-6 * max(1, budget):
            raise TestFailure(f"the report's {objective} budget is {budgets[objective]}, not {budget}")
        for p in front:
            if not p.get("spec") or p["costs"][objective] > budget * (1 + 1e-9):
                raise TestFailure(f"a front member breaks the budget or lacks its spec: {p}")
        if report["settings"]["generations"] != 20 or not report["search"]["complete"]:
            raise TestFailure(f"the report's settings or status are wrong: {report['settings']}, "
                              f"{report['search']}")
        log(f"report: {len(front)} front members within {objective} <= {budget}; "
            f"{report['search']['evaluations']} evaluations")

        close_app(app, proc, log_path, 15)


if __name__ == "__main__":
    sys.exit(main(run, __doc__))
