#!/bin/sh
# Reproduces everything in data/gan/: GAN Compression on edges -> Fashion-MNIST (docs/GAN.md).
# Every training step resumes where an interrupted run stopped (a finished step is skipped), so running
# this again after a kill or a reboot carries on. About 2 h on 2 cores.
#   build-aux/gan-pipeline.sh [build-dir]
set -eu
cd "$(dirname "$0")/.."
CLI="${1:-build}/app/frontier-cli"
D="${FR_DATA_DIR:-data}/gan"
mkdir -p "$D"

step() { echo "== $*" >&2; }

# train OUT ARGS...: runs a training command unless OUT is finished (exists without a checkpoint)
train() {
  out="$1"
  shift
  if [ ! -s "$out" ] || [ -e "$out.ckpt" ]; then
    "$CLI" gan "$@" --resume -o "$out"
    rm -f "$out.ckpt"
  fi
}

step "1. teacher: ResNet generator ngf 16 + conditional PatchGAN, hinge + 100 L1, 6,000 steps of 16"
train "$D/teacher.safetensors" train-teacher --steps 6000

step "2. once-for-all mobile student distilled from the teacher, 8,000 steps (a random sub-generator each)"
# (--sandwich, the widest and narrowest every step too, was tried: worse widest sub-generator at every
#  checkpoint up to 5,900 of 10,000 steps, docs/GAN.md)
train "$D/supernet.safetensors" train-supernet --teacher "$D/teacher.safetensors" --steps 8000

step "3. the student's quality/MACs front: every sub-generator of the coarse grid on the search split"
if [ ! -s "$D/front.json" ]; then
  "$CLI" gan search --grid --budget 1e12 --supernet "$D/supernet.safetensors" --teacher "$D/teacher.safetensors" \
    -o "$D/front.json" --json > /dev/null
fi

# The 20x winner is fine-tuned 2,000 steps; the 10x winner 5,000 steps, then ROUNDS_10X - 1 more rounds of
# 6,000 steps, each starting from the last round.
step "4. evolution under 10x and 20x fewer MACs than the teacher; the winners fine-tuned"
ROUNDS_10X="${ROUNDS_10X:-5}"
mkdir -p "$D/rounds"
for x in 10 20; do
  if [ ! -s "$D/search-${x}x.json" ]; then
    "$CLI" gan search --reduction "$x" --supernet "$D/supernet.safetensors" --teacher "$D/teacher.safetensors" \
      -o "$D/search-${x}x.json" --json > /dev/null
  fi
  config=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['winner']['config'])" "$D/search-${x}x.json")
  if [ "$x" = 20 ]; then
    train "$D/student-20x.safetensors" finetune --teacher "$D/teacher.safetensors" --supernet "$D/supernet.safetensors" \
      --config "$config" --steps 2000
    continue
  fi
  # a round starts from the previous one's generator, with the teacher's discriminator and new adaptors
  from="$D/supernet.safetensors"
  r=1
  while [ "$r" -le "$ROUNDS_10X" ]; do
    steps=$([ "$r" = 1 ] && echo 5000 || echo 6000)
    train "$D/rounds/student-10x.round$r.safetensors" finetune --teacher "$D/teacher.safetensors" --supernet "$from" \
      --config "$config" --steps "$steps"
    from="$D/rounds/student-10x.round$r.safetensors"
    r=$((r + 1))
  done
  cp "$from" "$D/student-10x.safetensors"
done

step "5. the final report on the 10,000 test images: teacher, searched sub-generators before and after fine-tuning"
# (and on the first 2,000 test images, the slice tests/test-gan-quality.c re-measures)
"$CLI" gan eval "$D/teacher.safetensors" --test --json > "$D/eval-teacher.json"
"$CLI" gan eval "$D/teacher.safetensors" --test --images 2000 --json > "$D/eval-teacher-2k.json"
for x in 10 20; do
  config=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['winner']['config'])" "$D/search-${x}x.json")
  "$CLI" gan eval "$D/supernet.safetensors" --config "$config" --test --json > "$D/eval-${x}x-supernet.json"
  "$CLI" gan eval "$D/student-${x}x.safetensors" --test --json > "$D/eval-${x}x.json"
  "$CLI" gan eval "$D/student-${x}x.safetensors" --test --images 2000 --json > "$D/eval-${x}x-2k.json"
done
/usr/bin/python3 build-aux/gan-students.py "$D"
