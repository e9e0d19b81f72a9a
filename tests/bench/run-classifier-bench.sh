#!/usr/bin/env bash
# Time per training epoch: Frontier vs PyTorch 1.13 (Debian python3-torch), same network, data,
# batch, optimiser and thread counts, measured in the same run. Usage: run-classifier-bench.sh [BUILD_DIR]
# Needs: /usr/bin/python3 with torch and numpy (apt install python3-torch python3-numpy).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
bench="$build/tests/bench/bench-classifier"
[ -x "$bench" ] || { echo "build first: $bench is missing" >&2; exit 2; }
out=$(mktemp)
for t in 1 2; do
  "$bench" --threads "$t" | tee -a "$out"
  /usr/bin/python3 "$here/torch_classifier.py" --threads "$t" --epochs 1 | tr -d '\n' | tee -a "$out"
  echo | tee -a "$out"
done
/usr/bin/python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ours = {r["threads"]: r["epoch_seconds"] for r in rows if r["peer"] == "frontier"}
torch = {r["threads"]: r["epoch_seconds"] for r in rows if r["peer"] == "pytorch"}
best = min(torch.values())
for t in sorted(ours):
    print(f"threads {t}: frontier {ours[t]:.2f} s/epoch, pytorch {torch[t]:.2f} s/epoch, "
          f"speed-up vs pytorch same threads {torch[t] / ours[t]:.2f}x, vs best pytorch {best / ours[t]:.2f}x")
PY
rm -f "$out"
