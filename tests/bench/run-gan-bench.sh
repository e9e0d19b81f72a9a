#!/usr/bin/env bash
# GAN generators' inference latency: Frontier (bench-gan) vs PyTorch 1.13 (Debian python3-torch,
# torch_gan.py), the same architectures, weights init, input size and thread counts, in the same run.
#
#   run-gan-bench.sh [BUILD_DIR] [--runs N] [--warmup N] [--rounds R] [--threads "1 2"] [--cases LIST]
#
# First checks that both compute the same function (a generator of every case, exported by Frontier
# with fr_gan_generator_save at 64x64 or 32x32, loaded into PyTorch: max |difference| of the outputs).
# Then, per round and thread count, all cases through Frontier and then through PyTorch (rounds
# interleave the peers, so a busy machine hits both alike); each cell is the best over rounds of the
# median of N runs after the warm-up. Prints a Markdown table: ms per image, PyTorch / Frontier time,
# and the teacher / student latency ratios against the MACs ratios. PyTorch runs with
# OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set to the thread count as well (Frontier keeps OpenBLAS
# single-threaded and runs T threads of its own).
# Needs /usr/bin/python3 with torch and numpy (apt install python3-torch python3-numpy).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then build=$1; shift; fi
runs=5 warmup=2 rounds=1 threads="1 2" cases=""
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    *) echo "usage: $0 [BUILD_DIR] [--runs N] [--warmup N] [--rounds R] [--threads \"1 2\"] [--cases LIST]" >&2; exit 2 ;;
  esac
done
bench="$build/tests/bench/bench-gan"
[ -x "$bench" ] || { echo "build first: $bench is missing" >&2; exit 2; }
case_args=()
[ -n "$cases" ] && case_args=(--cases "$cases")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== same function: Frontier's generators and outputs loaded into PyTorch" >&2
"$bench" --export "$tmp" --size 64 "${case_args[@]}"
/usr/bin/python3 "$here/torch_gan.py" --check "$tmp" | tee "$tmp/check.jsonl" >&2

out="$tmp/results.jsonl"
for r in $(seq "$rounds"); do
  for t in $threads; do
    echo "== round $r, $t thread(s)" >&2
    "$bench" --threads "$t" --runs "$runs" --warmup "$warmup" "${case_args[@]}" | tee -a "$out" >&2
    # torch.set_num_threads governs PyTorch's own pool, not the OpenBLAS it links, whose threads took a
    # second core in "1-thread" runs: the same thread budget for both
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t \
      /usr/bin/python3 "$here/torch_gan.py" --threads "$t" --runs "$runs" --warmup "$warmup" "${case_args[@]}" \
      | tee -a "$out" >&2
  done
done

/usr/bin/python3 - "$out" "$tmp/check.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
checks = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
best, macs, info = {}, {}, {}
for r in rows:
    k = (r["peer"], r["case"], r["threads"])
    best[k] = min(best.get(k, float("inf")), r["ms"])
    info[r["case"]] = r
    if r["peer"] == "frontier":
        macs[r["case"]] = r["macs"]
cases = list(dict.fromkeys(r["case"] for r in rows))
threads = sorted({r["threads"] for r in rows})
print(f"same function: max |Frontier - PyTorch (float64)| = {max(c['max_abs_diff_frontier_vs_torch64'] for c in checks):.2g} "
      f"over {len(checks)} generators")
print()
print("| case | batch | threads | MACs/image | Frontier ms/image | PyTorch ms/image | PyTorch / Frontier |")
print("|---|---|---|---|---|---|---|")
for c in cases:
    for t in threads:
        f, p = best.get(("frontier", c, t)), best.get(("pytorch", c, t))
        if f is None or p is None:
            continue
        b = info[c]["batch"]
        print(f"| {c} | {b} | {t} | {macs[c] / 1e9:.3g} G | {f / b:.2f} | {p / b:.2f} | **{p / f:.2f}x** |")
pairs = [("resnet64_256", "mobile_e2s_256"), ("mini_resnet16", "mini_mobile16"), ("mini_resnet16", "mini_mobile8"),
         ("mini_resnet16_b64", "mini_mobile16_b64"), ("mini_resnet16_b64", "mini_mobile8_b64")]
pairs = [(a, b) for a, b in pairs if a in macs and b in macs]
if pairs:
    print()
    print("| teacher / student | threads | MACs ratio | Frontier latency ratio | PyTorch latency ratio |")
    print("|---|---|---|---|---|")
    for a, b in pairs:
        for t in threads:
            keys = [(p, c, t) for p in ("frontier", "pytorch") for c in (a, b)]
            if not all(k in best for k in keys):
                continue
            fr = best[("frontier", a, t)] / best[("frontier", b, t)]
            pt = best[("pytorch", a, t)] / best[("pytorch", b, t)]
            print(f"| {a} / {b} | {t} | {macs[a] / macs[b]:.1f}x | **{fr:.1f}x** | {pt:.1f}x |")
PY
