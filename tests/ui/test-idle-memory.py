#!/usr/bin/env python3
"""The idle app stays under 200 MB resident: start it (under Xvfb, run by meson), let it settle with
its window shown, read VmRSS from /proc, quit it."""
import argparse
import os
import signal
import subprocess
import sys
import time

LIMIT_KB = 200 * 1024


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--app", required=True)
    args = ap.parse_args()
    proc = subprocess.Popen([args.app], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        peak = 0
        for _ in range(16):          # 8 s: start-up, first frames, then idle
            time.sleep(0.5)
            if proc.poll() is not None:
                print(proc.stdout.read().decode(errors="replace"))
                print(f"not ok: the app exited with status {proc.returncode}")
                return 1
            peak = max(peak, rss_kb(proc.pid))
        idle = rss_kb(proc.pid)
        print(f"# idle resident memory {idle / 1024:.1f} MB (peak while starting {peak / 1024:.1f} MB), limit 200 MB")
        if idle > LIMIT_KB:
            print("not ok: the idle app uses more than 200 MB")
            return 1
        print("ok: idle app under 200 MB")
        return 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
