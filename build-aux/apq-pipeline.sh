#!/bin/sh
# Reproduces everything in data/apq/: the APQ pipeline on the fmnist-mini space (docs/APQ.md).
# Every step resumes where an interrupted run stopped, so running this again after a kill, a reboot
# or a Ctrl-C carries on; a finished step is skipped. About 1.5 h on 2 cores.
#   build-aux/apq-pipeline.sh [build-dir]
set -eu
cd "$(dirname "$0")/.."
CLI="${1:-build}/app/frontier-cli"
D="${FR_DATA_DIR:-data}/apq"
mkdir -p "$D"

step() { echo "== $*" >&2; }

step "1. supernet (sandwich rule, fake-quantized subnets included)"
if [ ! -s "$D/supernet.safetensors" ] || [ -e "$D/supernet.safetensors.ckpt" ]; then
  "$CLI" apq supernet --resume -o "$D/supernet.safetensors"
  rm -f "$D/supernet.safetensors.ckpt"
fi

step "2. fp32 pairs: 2,000 random subnets on the 10,000 held-out images"
"$CLI" apq pairs --supernet "$D/supernet.safetensors" --resume -o "$D/pairs-fp32.csv"

step "3. quantized pairs: 300 random subnets and bit policies, each briefly QAT fine-tuned"
"$CLI" apq pairs --quantized --supernet "$D/supernet.safetensors" --resume -o "$D/pairs-quant.csv"

step "4. predictors: fp32; quantization-aware transferred from it; and from scratch for comparison"
"$CLI" apq predictor -p "$D/pairs-fp32.csv" -o "$D/predictor-fp32.safetensors" --json > "$D/predictor-fp32.json"
"$CLI" apq predictor --quantized -p "$D/pairs-quant.csv" --transfer-from "$D/predictor-fp32.safetensors" \
  -o "$D/predictor-quant.safetensors" --json > "$D/predictor-quant.json"
"$CLI" apq predictor --quantized --scratch -p "$D/pairs-quant.csv" \
  -o "$D/predictor-quant-scratch.safetensors" --json > "$D/predictor-quant-scratch.json"

step "5. sample efficiency: 25/50/100/200/all quantized pairs, scratch vs transfer, 5 seeds"
"$CLI" apq transfer-study -p "$D/pairs-quant.csv" --fp32-predictor "$D/predictor-fp32.safetensors" --resume \
  -o "$D/transfer-study.csv"

step "6. ground truth: best predicted subnet at three BitOps budgets, QAT-trained, test accuracy"
for budget in 100 120 150; do
  out="$D/qat-${budget}M"
  if [ ! -s "$out.json" ]; then
    "$CLI" apq qat --supernet "$D/supernet.safetensors" --predictor "$D/predictor-quant.safetensors" \
      --bitops-budget "$budget" --resume -o "$out.safetensors" --json > "$out.json.part"
    mv "$out.json.part" "$out.json"
    rm -f "$out.safetensors.ckpt"
  fi
done
step "done"
