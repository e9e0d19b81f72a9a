#!/usr/bin/env bash
# SpGEMM C = A·A on the shipped SNAP matrices: Frontier (1 and 2 threads) vs SciPy (1 thread, its
# SpGEMM is serial) vs SuiteSparse:GraphBLAS (1 and 2 threads), each the best of N runs after a
# warm-up, output allocation included, file reading excluded. Checks that all peers produce the same
# C (nnz and checksums), prints a table and each matrix's speed-up over the best peer.
#
# Usage: run-spgemm-bench.sh [BUILD_DIR] [--runs N] [--repeat R] [--transpose] [MATRIX.mtx.gz ...]
# --repeat R runs the whole round R times and keeps each cell's best (on a shared, noisy machine);
# every peer gets the same number of runs.
# Needs: apt install python3-scipy libgraphblas-dev (then re-run meson setup so that
# graphblas-spgemm is built). Debian's /usr/bin/python3, not another python first on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
runs=10
repeat=1
transpose=()
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --transpose) transpose=(--transpose); shift ;;
    *.mtx|*.mtx.gz) files+=("$1"); shift ;;
    *) build=$1; shift ;;
  esac
done
if [ ${#files[@]} -eq 0 ]; then
  for m in wiki-Vote ca-CondMat p2p-Gnutella31 email-Enron ego-Facebook; do
    files+=("$here/../../data/matrices/$m.mtx.gz")
  done
fi
bench="$build/tests/bench/bench-spgemm"
gb="$build/tests/bench/graphblas-spgemm"
[ -x "$bench" ] || { echo "build first: $bench is missing" >&2; exit 2; }
[ -x "$gb" ] || echo "note: $gb is missing (libgraphblas-dev not installed when configured): no GraphBLAS column" >&2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for r in $(seq 1 "$repeat"); do
  for f in "${files[@]}"; do
    "$bench" --threads 1,2 --runs "$runs" "${transpose[@]}" "$f" | tee -a "$out"
    /usr/bin/python3 "$here/scipy_spgemm.py" --runs "$runs" "${transpose[@]}" "$f" | tee -a "$out"
    if [ -x "$gb" ]; then "$gb" --threads 1,2 --runs "$runs" "${transpose[@]}" "$f" | tee -a "$out"; fi
  done
done
echo
/usr/bin/python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
mats = []
for r in rows:
    if r["matrix"] not in mats:
        mats.append(r["matrix"])
def get(m, peer, t):
    """the best of the repeats"""
    found = [r for r in rows if r["matrix"] == m and r["peer"] == peer and r["threads"] == t]
    return min(found, key=lambda r: r["seconds"]) if found else None
ok = True
print("| matrix | multiplies | nnz(C) | Frontier 1T ms | Frontier 2T ms | SciPy 1T ms | GraphBLAS 1T ms | GraphBLAS 2T ms "
      "| best peer | Frontier 2T vs best peer | Frontier 1T vs best 1T peer |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for m in mats:
    f1, f2 = get(m, "frontier", 1), get(m, "frontier", 2)
    sp, g1, g2 = get(m, "scipy", 1), get(m, "graphblas", 1), get(m, "graphblas", 2)
    for r in (sp, g1, g2, f2):
        if r and f1 and (r["nnz"] != f1["nnz"] or r["pattern"] != f1["pattern"] or r["sum"] != f1["sum"]
                         or r["wsum"] != f1["wsum"]):
            print(f"MISMATCH on {m}: {r['peer']} {r['threads']}T nnz {r['nnz']} vs frontier {f1['nnz']}", file=sys.stderr)
            ok = False
    peers = {n: r["seconds"] for n, r in (("SciPy 1T", sp), ("GraphBLAS 1T", g1), ("GraphBLAS 2T", g2)) if r}
    peers1 = {n: s for n, s in peers.items() if n.endswith("1T")}
    ms = lambda r: f"{1e3 * r['seconds']:.2f}" if r else "-"
    bname = min(peers, key=peers.get) if peers else None
    b1 = min(peers1.values()) if peers1 else None
    best_ratio = f"{peers[bname] / f2['seconds']:.2f}x" if bname and f2 else "-"
    one_ratio = f"{b1 / f1['seconds']:.2f}x" if b1 and f1 else "-"
    print(f"| {m}{' (A·Aᵀ)' if f1['op'] == 'AAt' else ''} | {f1['multiplies']:,} | {f1['nnz']:,} | {ms(f1)} | {ms(f2)} | {ms(sp)} | {ms(g1)} | {ms(g2)} "
          f"| {bname} | {best_ratio} | {one_ratio} |")
vers = {r["peer"]: r.get("version") for r in rows if r.get("version")}
print("\npeers: " + ", ".join(f"{p} {v}" for p, v in sorted(vers.items())) + "; times are the best of each cell's runs")
sys.exit(0 if ok else 1)
PY
