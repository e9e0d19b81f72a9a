#!/bin/sh
# Reproduces everything in data/lsra/: the joint 8k BPE learned from the en-de training pairs, the four
# translation models (Transformer and Lite Transformer at two sizes, docs/LSRA.md) and their evaluations.
# Every training run resumes where an interrupted one stopped (a finished model is skipped), so running
# this again after a kill or a reboot carries on.
#   build-aux/lsra-pipeline.sh [build-dir] [corpus-dir]
# The corpus (train.en-de.tsv and the dev TSVs) is not shipped: by default ../shared/data/corpus, or
# $FR_CORPUS_DIR. THREADS=N limits the threads (default: all cores).
set -eu
cd "$(dirname "$0")/.."
CLI="${1:-build}/app/frontier-cli"
CORPUS="${2:-${FR_CORPUS_DIR:-../shared/data/corpus}}"
D="${FR_DATA_DIR:-data}/lsra"
THREADS="${THREADS:-0}"

# Updates per model (token batches of MAX_TOKENS padded tokens, about 3,700 target tokens each; one epoch
# of the 189,778 usable pairs is 765 of them). Each can be overridden from the environment.
STEPS_TRANSFORMER_SMALL="${STEPS_TRANSFORMER_SMALL:-4000}"
STEPS_LITE_SMALL="${STEPS_LITE_SMALL:-4000}"
STEPS_TRANSFORMER="${STEPS_TRANSFORMER:-6000}"
STEPS_LITE="${STEPS_LITE:-6000}"
MAX_TOKENS="${MAX_TOKENS:-4096}"
LR="${LR:-1e-3}"
WARMUP="${WARMUP:-800}"
# cosine to 1e-7 over the run: with a fixed, short budget it ends better than inverse square root
SCHEDULE="${SCHEDULE:-cosine}"

TRAIN="$CORPUS/train.en-de.tsv"
for f in "$TRAIN" "$CORPUS/dev.gettext.en-de.tsv" "$CORPUS/dev.ddtp.en-de.tsv" "$CORPUS/dev.ding.en-de.tsv"; do
  if [ ! -s "$f" ]; then
    echo "lsra-pipeline: $f is missing (pass the corpus folder as the second argument or set FR_CORPUS_DIR)" >&2
    exit 2
  fi
done
mkdir -p "$D"

step() { echo "== $*" >&2; }

step "1. joint BPE, 8,000 pieces, from both sides of the training pairs"
if [ ! -s "$D/bpe.model" ]; then
  "$CLI" lsra bpe --train "$TRAIN" --vocab 8000 -o "$D/bpe.model"
fi
for s in gettext ddtp ding; do
  [ -s "$D/dev.$s.en-de.tsv" ] || cp "$CORPUS/dev.$s.en-de.tsv" "$D/dev.$s.en-de.tsv"
done

# train NAME STEPS: trains data/lsra/NAME.safetensors unless it is finished (exists without a checkpoint)
train() {
  name="$1"
  out="$D/$name.safetensors"
  if [ ! -s "$out" ] || [ -e "$out.ckpt" ]; then
    "$CLI" lsra train --model "$name" --bpe "$D/bpe.model" --train "$TRAIN" \
      --dev "$CORPUS/dev.gettext.en-de.tsv" --dev "$CORPUS/dev.ddtp.en-de.tsv" --dev "$CORPUS/dev.ding.en-de.tsv" \
      --steps "$2" --max-tokens "$MAX_TOKENS" --lr "$LR" --warmup "$WARMUP" --schedule "$SCHEDULE" --threads "$THREADS" \
      --resume -o "$out" --json > "$D/train-$name.json"
    rm -f "$out.ckpt"
  fi
}

step "2. transformer-small (d 72) and lite-small (d 112), about 15M Mult-Adds"
train transformer-small "$STEPS_TRANSFORMER_SMALL"
train lite-small "$STEPS_LITE_SMALL"

step "3. transformer (d 128) and lite (d 200), about 44M Mult-Adds"
train transformer "$STEPS_TRANSFORMER"
train lite "$STEPS_LITE"

step "4. evaluations: BLEU on the three dev sets, Mult-Adds, speed"
"$CLI" lsra macs --json > "$D/macs.json"
for name in transformer-small lite-small transformer lite; do
  # by file, so that an installed data folder cannot stand in for the models just trained
  "$CLI" lsra eval "$D/$name.safetensors" --bpe "$D/bpe.model" --threads "$THREADS" --json > "$D/eval-$name.json"
  # the slice tests/test-lsra-quality.c re-measures: the first 100 pairs of each dev set
  "$CLI" lsra eval "$D/$name.safetensors" --bpe "$D/bpe.model" --threads "$THREADS" --limit 100 --json \
    > "$D/eval-$name-dev100.json"
done
