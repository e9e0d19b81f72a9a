#!/usr/bin/env bash
# Translation models' decoding and training speed: Frontier (bench-lsra) vs PyTorch 1.13 (Debian
# python3-torch, torch_lsra.py): nn.Transformer of the same sizes as Frontier's "transformer-small"
# (d 72) and "transformer" (d 128), 3 + 3 layers, vocab 8000, in the same run and thread counts.
#
#   run-lsra-bench.sh [BUILD_DIR] [--rounds R] [--threads "1 2"] [--cases LIST] [--quick]
#
# First checks that both compute the same function (Frontier's random-init models exported with
# fr_lsra_model_save and loaded into nn.Transformer: max |difference| of the 30 steps' log-
# probabilities along Frontier's greedy path, and whether both greedy decoders pick the same tokens).
# Then, per round and thread count, every case through Frontier and then through PyTorch (rounds
# interleave the peers, so a busy machine hits both alike). Decoding cases: 2 warm-up + 5 timed runs;
# batch32 and train: 1 + 3. Each cell is the median over rounds of the per-round medians. Both
# processes get OMP_NUM_THREADS and OPENBLAS_NUM_THREADS = T; Frontier runs fr_pool_set_threads(T)
# (and keeps OpenBLAS single-threaded itself), PyTorch torch.set_num_threads(T). The load average is
# printed before and after: the machine may be shared. Prints Markdown tables. One 1-thread round
# took ~2.5 min on the 2-core VM at load ~3.7; 2-thread PyTorch runs on an oversubscribed machine
# collapse (OpenMP workers spin while preempted, 20x slower) — use --threads 1 unless the cores are free.
# Needs /usr/bin/python3 with torch and numpy (apt install python3-torch python3-numpy).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then build=$1; shift; fi
rounds=2 threads="1 2" cases="" quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "usage: $0 [BUILD_DIR] [--rounds R] [--threads \"1 2\"] [--cases LIST] [--quick]" >&2; exit 2 ;;
  esac
done
bench="$build/tests/bench/bench-lsra"
[ -x "$bench" ] || { echo "build first: $bench is missing" >&2; exit 2; }
models="transformer-small transformer lite-small lite"
if [ -z "$cases" ]; then
  for k in greedy1 beam4 batch32; do for m in $models; do cases="$cases,${k}_$m"; done; done
  cases="$cases,train_transformer-small,train_transformer"
  cases=${cases#,}
fi
# decoding at batch 1 / 4 runs are short: more runs; batch32 and train are long: fewer
fast=() slow=()
IFS=, read -r -a all <<<"$cases"
for c in "${all[@]}"; do
  case $c in batch32_* | train_*) slow+=("$c") ;; *) fast+=("$c") ;; esac
done
fast_runs="--runs 5 --warmup 2" slow_runs="--runs 3 --warmup 1"
[ "$quick" = 1 ] && fast_runs="--runs 2 --warmup 1" slow_runs="--runs 1 --warmup 1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "load before: $(uptime)" | tee "$tmp/load.txt" >&2

echo "== same function: Frontier's models and log-probs loaded into nn.Transformer" >&2
"$bench" --export "$tmp"
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$here/torch_lsra.py" --check "$tmp" \
  | tee "$tmp/check.jsonl" >&2

out="$tmp/results.jsonl"
for r in $(seq "$rounds"); do
  for t in $threads; do
    echo "== round $r, $t thread(s), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    for group in fast slow; do
      if [ $group = fast ]; then list=$(IFS=,; echo "${fast[*]-}"); opts=$fast_runs
      else list=$(IFS=,; echo "${slow[*]-}"); opts=$slow_runs; fi
      [ -n "$list" ] || continue
      # shellcheck disable=SC2086
      OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$bench" --threads "$t" $opts --cases "$list" | tee -a "$out" >&2
      # shellcheck disable=SC2086
      OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t /usr/bin/python3 "$here/torch_lsra.py" --threads "$t" $opts \
        --cases "$list" | tee -a "$out" >&2
    done
  done
done
echo "load after: $(uptime)" | tee -a "$tmp/load.txt" >&2

/usr/bin/python3 - "$out" "$tmp/check.jsonl" "$tmp/load.txt" "$(nproc)" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
checks = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
load = open(sys.argv[3]).read().strip().splitlines()
cells = {}
for r in rows:
    cells.setdefault((r["peer"], r["case"], r["threads"]), []).append(r)
def med(peer, case, t, key="ms"):
    v = cells.get((peer, case, t))
    return statistics.median(x[key] for x in v) if v else None
cases = list(dict.fromkeys(r["case"] for r in rows))
threads = sorted({r["threads"] for r in rows})
info = {r["case"]: r for r in rows}
import torch
print(f"PyTorch {torch.__version__}; {sys.argv[4]} cores; " + "; ".join(load))
for c in checks:
    print(f"same function, {c['model']}: max |Frontier - nn.Transformer| log-prob "
          f"{c['max_abs_diff_logprobs_frontier_vs_nn_transformer']:.2g}, KV-cache peer vs nn.Transformer "
          f"{c['max_abs_diff_logprobs_kvcache_vs_nn_transformer']:.2g}; greedy tokens equal: "
          f"{c['greedy_tokens_equal_frontier_vs_pytorch']} (Frontier), {c['greedy_tokens_equal_kvcache_vs_pytorch']} (KV cache)")
print()
print("Wall time, median over rounds of each round's median; tokens/s = output tokens (train: target tokens) per second.")
print("Ratios are PyTorch time / Frontier time (> 1: Frontier faster); 'cpu' is the same ratio on process CPU time,")
print("the cleaner figure when other work shares the cores.")
print()
print("| case | threads | Frontier ms | Frontier tok/s | PyTorch ms | PyTorch tok/s | **PyTorch / Frontier** | cpu ratio | PyTorch KV-cache ms | KV-cache / Frontier | cpu ratio |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
def fmt(x, p=1):
    return "–" if x is None else f"{x:.{p}f}"
for c in cases:
    for t in threads:
        f = med("frontier", c, t)
        if f is None:
            continue
        tok = info[c]["tokens"]
        fc = med("frontier", c, t, "cpu_ms")
        p, pc = med("pytorch", c, t), med("pytorch", c, t, "cpu_ms")
        k, kc = med("pytorch-kvcache", c, t), med("pytorch-kvcache", c, t, "cpu_ms")
        ratio = lambda a, b: "–" if a is None else f"{a / b:.2f}x"
        bold = lambda s: s if s == "–" else f"**{s}**"
        print(f"| {c} | {t} | {fmt(f)} | {tok * 1e3 / f:.0f} | {fmt(p)} | {'–' if p is None else f'{tok * 1e3 / p:.0f}'} | "
              f"{bold(ratio(p, f))} | {ratio(pc, fc)} | {fmt(k)} | {ratio(k, f)} | {ratio(kc, fc)} |")
print()
print("Lite models (lite-small, lite): Frontier only; Debian has no PyTorch implementation of LSRA "
      "(fairseq's lightconv/dynamicconv are not packaged).")
PY
