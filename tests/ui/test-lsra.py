#!/usr/bin/python3
"""End-to-end UI test of Frontier's Lite Transformer page, driven through AT-SPI with dogtail.

Run by meson (suite 'ui') as

    dbus-run-session -- xvfb-run -a -s '-screen 0 1280x800x24' \
        /usr/bin/python3 test-lsra.py --app build/app/frontier --outdir build

with the same environment as test-training.py (GDK_BACKEND=x11, GSK_RENDERER=cairo,
GTK_A11Y=atspi, GSETTINGS_BACKEND=memory, ...). Everything goes through AT-SPI (Action "click",
Value, accessible names and descriptions) and the keyboard, never pointer coordinates.

The models are the ones the app finds with fr_data_find: $FR_DATA_DIR/lsra/ when set, else the source
tree's data/lsra/ (transformer-small, lite-small, transformer, lite .safetensors and bpe.model).
Without them, the test checks that the page names what is missing with the pipeline that makes it
(build-aux/lsra-pipeline.sh), and reports SKIP (77).

Steps: launch, select the Lite Transformer page, wait for the models (the Lite card's parameters
filled in) and the empty-input hint; click "Clear" (English text), which puts the keyboard focus into
the text view, and type an English sentence there key by key, as a user would; wait for both
translations ("Transformer translation: …", "Lite Transformer translation: …") with their measured
latencies and the token count; check the heatmap describes the Lite encoder's attention over the
sentence's pieces; screenshot (<outdir>/ui-lsra.png); switch to the base budget and check the
Mult-Adds change and both models translate again; set the beam to 1 and check it is used; click
"Clear" again and check the hint is back; close the window and check the process exits cleanly. On a
failure the screen is saved as <outdir>/ui-lsra-failed.png. The app's output goes to
<outdir>/ui-test-lsra-frontier.log.
"""
import os
import re
import sys
import time


def share_display_with_dbus():
    """dbus-run-session starts the session bus before xvfb-run sets DISPLAY, so what the bus activates
    has no display, the AT-SPI registry included, and that is what turns dogtail's typeText into X key
    events (XTest). Give the bus our display before anything connects to AT-SPI."""
    from gi.repository import Gio, GLib
    env = {k: os.environ[k] for k in ("DISPLAY", "XAUTHORITY") if k in os.environ}
    if not env:
        return
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                  "UpdateActivationEnvironment", GLib.Variant("(a{ss})", (env,)), None,
                  Gio.DBusCallFlags.NONE, -1, None)


share_display_with_dbus()

# The shared harness lives next to this script (meson runs it by path).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from frontier_uitest import (  # noqa: E402  (configures dogtail; needs the path above)
    TestFailure, by, click, close_app, find, find_app, launched, log, main, page_title, screenshot,
    select_in_list, set_budget, wait_for)

set_budget(160)
SKIP = 77
SENTENCE = "The program could not open the file."
MODELS = ("transformer-small", "lite-small", "transformer", "lite")
MS = re.compile(r"^(Transformer|Lite Transformer) latency: ([0-9.]+) ms$")


def data_has_models(models=MODELS):
    """Whether fr_data_find will see these models and the vocabulary: $FR_DATA_DIR first, then the
    source tree's data/ (per file, as fr_data_find looks)."""
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = [d for d in (os.environ.get("FR_DATA_DIR"), os.path.join(here, "..", "..", "data")) if d]
    files = [f"{m}.safetensors" for m in models] + ["bpe.model"]
    return all(any(os.path.isfile(os.path.join(d, "lsra", f)) for d in dirs) for f in files)


def named(app, prefix):
    """The names of the labels whose accessible name starts with prefix."""
    return [n.name for n in app.findChildren(by(role="label", prefix=prefix), recursive=True)]


def one(app, prefix):
    names = named(app, prefix)
    return names[0] if names else None


def hint_shown(app):
    """Whether the outputs area shows the empty-input hint. GTK 4.8 sets no 'showing' state, so the area
    (accessible label 'Translations') says in its description which of the two it shows."""
    node = find(app, by("Translations"))
    return node is not None and node.description.startswith("Nothing to translate yet")


def translation(app, who):
    """The translation shown by 'Transformer' or 'Lite Transformer', or None while there is none."""
    name = one(app, f"{who} translation: ")
    text = name[len(who) + len(" translation: "):] if name else ""
    return text.strip() or None


def latency(app, who):
    name = one(app, f"{who} latency: ")
    m = MS.match(name) if name else None
    return float(m.group(2)) if m else None


def loaded(app):
    name = one(app, "Lite Transformer parameters: ")
    return name is not None and not name.endswith("—")


def both_translated(app):
    return all(translation(app, w) and latency(app, w) is not None for w in ("Transformer", "Lite Transformer"))


def run(args):
    try:
        steps(args)
    except TestFailure:
        screenshot(os.path.join(args.outdir, "ui-lsra-failed.png"))
        raise


def steps(args):
    os.makedirs(args.outdir, exist_ok=True)
    log_path = os.path.join(args.outdir, "ui-test-lsra-frontier.log")
    have_models = data_has_models(MODELS[:2])     # the small pair; the base pair may not be trained yet
    have_base = data_has_models(MODELS[2:])
    with launched(args.app, log_path) as proc:
        app = wait_for("the 'frontier' application on the AT-SPI bus", lambda: find_app(proc), 30)
        log("application found on the accessibility bus")
        wait_for("the main window", lambda: find(app, by(role="frame")), 15)

        pages = wait_for("the sidebar list 'Pages'", lambda: find(app, by("Pages", "list")), 10)
        select_in_list(pages, "Lite Transformer", "the sidebar")
        wait_for("the Lite Transformer page title", lambda: page_title(app) == "Lite Transformer", 10)
        log("Lite Transformer page selected")

        if not have_models:
            def missing():
                for n in app.findChildren(by(role="label"), recursive=True):
                    if "not found" in n.name and "build-aux/lsra-pipeline.sh" in n.name:
                        return n.name
                return None
            msg = wait_for("the missing-models message naming the pipeline", missing, 30)
            log(f"no models shipped; the page says: {msg[:200]}…")
            close_app(app, proc, log_path, 15)
            log("SKIP: no lsra models (set FR_DATA_DIR to a folder with lsra/, or ship data/lsra)")
            sys.exit(SKIP)

        wait_for("the models to load (the Lite card's parameters)", lambda: loaded(app), 60)
        log(f"{one(app, 'Transformer Mult-Adds: ')}; {one(app, 'Lite Transformer Mult-Adds: ')}")
        wait_for("the empty-input hint", lambda: hint_shown(app), 10)
        log("empty input: the hint is shown")

        # GTK 4.8 cannot move the focus for AT-SPI (Component.GrabFocus fails): "Clear" puts the keyboard
        # focus into the text view, as it does for a user. (The GAN page has a "Clear" of its own: this one
        # is named for what it clears.)
        clear = wait_for("the 'Clear English text' button", lambda: find(app, by("Clear English text", "push button")),
                         10)
        click(clear, "'Clear English text'")
        view = wait_for("the 'English text' text view", lambda: find(app, by("English text")), 10)
        wait_for("the keyboard focus in the text view", lambda: view.focused, 5)
        view.typeText(SENTENCE)
        log(f"typed: {SENTENCE}")
        wait_for("both translations with their latencies", lambda: both_translated(app), 60)
        if hint_shown(app):
            raise TestFailure("the empty-input hint is still shown with text in the input")
        for who in ("Transformer", "Lite Transformer"):
            log(f"{who}: “{translation(app, who)}” in {latency(app, who)} ms")
        status = next((n for n in named(app, "") if re.match(r"^\d+ BPE tokens? ", n)), None)
        if status is None:
            raise TestFailure("no token count under the input")
        log(status)
        small_macs = one(app, "Lite Transformer Mult-Adds: ")

        heat = wait_for("the heatmap of the Lite encoder's attention", lambda: find(
            app, by(role="image", prefix="Lite Transformer encoder self-attention")), 15)
        if "rows" not in heat.description or "</s>" not in heat.description:
            raise TestFailure(f"the heatmap does not describe the sentence's pieces: {heat.description[:200]}")
        log(f"heatmap: {heat.name}: {heat.description[:120]}…")
        time.sleep(0.5)
        screenshot(os.path.join(args.outdir, "ui-lsra.png"))

        # The base budget: other models, other Mult-Adds, both translate again (or, when that pair is not
        # shipped yet, no translation and a message; then back to the small budget).
        base = wait_for("the 'Base budget' button", lambda: find(app, by("Base budget")), 10)
        click(base, "'Base budget'")
        wait_for("the Lite card's Mult-Adds to change", lambda: (lambda n: n if n and n != small_macs else None)(
            one(app, "Lite Transformer Mult-Adds: ")), 10)
        log(f"base budget: {one(app, 'Transformer Mult-Adds: ')}; {one(app, 'Lite Transformer Mult-Adds: ')}")
        if have_base:
            wait_for("both base models' translations", lambda: both_translated(app), 60)
            for who in ("Transformer", "Lite Transformer"):
                log(f"{who}: “{translation(app, who)}” in {latency(app, who)} ms")
        else:
            def no_models():
                node = find(app, by("Translations"))
                return node is not None and node.description.startswith("No models to translate with")
            wait_for("the base pair's 'No models to translate with'", no_models, 15)
            if translation(app, "Lite Transformer") is not None:
                raise TestFailure("a translation is shown for a budget whose models are missing")
            log("base budget: its models are not shipped, and the page says so")
            small = wait_for("the 'Small budget' button", lambda: find(app, by("Small budget")), 10)
            click(small, "'Small budget'")
            wait_for("both small models' translations again", lambda: both_translated(app), 60)

        # Greedy search: the status line says beam 1 once the translation with it is shown.
        spin = wait_for("the 'Beam width' spin button", lambda: find(app, by("Beam width", "spin button")), 10)
        spin.value = 1
        wait_for("a translation with beam 1", lambda: any(n.endswith("· beam 1") for n in named(app, "")) and
                 both_translated(app), 30)
        log("beam 1: " + "; ".join(f"{w} “{translation(app, w)}”" for w in ("Transformer", "Lite Transformer")))

        click(clear, "'Clear English text'")
        wait_for("the empty-input hint after Clear", lambda: hint_shown(app), 10)
        if translation(app, "Lite Transformer") is not None:
            raise TestFailure("the Lite translation is still there after Clear")
        log("cleared: the hint is back")

        close_app(app, proc, log_path, 15)


if __name__ == "__main__":
    sys.exit(main(run, __doc__))
