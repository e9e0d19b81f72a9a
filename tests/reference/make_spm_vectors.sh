#!/bin/sh
# make_spm_vectors.sh: sentencepiece's BPE on a fixed sample of the en-de corpus, for
# tests/test-lsra-bpe.c to compare Frontier's BPE with (docs/LSRA.md, "BPE against sentencepiece").
#
#   tests/reference/make_spm_vectors.sh [CORPUS_DIR]      (default ../shared/data/corpus)
#
# Needs Debian 12's sentencepiece 0.1.97 (apt-get install sentencepiece) and /usr/bin/python3 (for
# NFC only). Writes into tests/data/lsra/:
#   sample.en-de.tsv    5,000 training pairs: lines 1, 38, 75, ... (every 37th; the first 5,000) of train.en-de.tsv
#   eval.txt            the sentences segmented: both sides of the first 50 pairs of each dev set
#                       (gettext, ddtp, ding) and of the first 50 sample pairs: 400 lines
#   spm.vocab           spm_train's vocabulary (piece<TAB>score, in id order)
#   eval.spm.ids        spm_encode's ids for eval.txt, one line each
#   eval.spm.pieces     the same as pieces
# Deterministic: spm_train runs single-threaded on unshuffled input, and two runs give the same files.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=${1:-$here/../../../shared/data/corpus}
out=$here/../data/lsra
vocab=2000
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# NFC, whitespace runs to one space, none at the ends: the form Frontier's BPE reads text in, so that
# spm_train with the identity normalisation sees exactly the same words.
nfc() {
  /usr/bin/python3 -c '
import sys, unicodedata
for line in sys.stdin.buffer.read().decode("utf-8").split("\n")[:-1]:
    print("\t".join(" ".join(unicodedata.normalize("NFC", f).split()) for f in line.split("\t")))
'
}

awk 'NR % 37 == 1' "$corpus/train.en-de.tsv" | head -n 5000 | nfc > "$out/sample.en-de.tsv"
# both sides, one sentence a line: joint merges
tr '\t' '\n' < "$out/sample.en-de.tsv" > "$tmp/sample.txt"
{
  for d in gettext ddtp ding; do head -n 50 "$corpus/dev.$d.en-de.tsv"; done
  head -n 50 "$out/sample.en-de.tsv"
} | nfc | tr '\t' '\n' > "$out/eval.txt"

# Frontier's settings, spelled out: ids 0..3 <pad> <unk> <s> </s>; coverage 0.9995; pieces of at most
# 16 characters that do not mix scripts; words split on whitespace with "▁" in front; no
# normalisation beyond the NFC above.
spm_train --input="$tmp/sample.txt" --model_prefix="$tmp/spm" --model_type=bpe --vocab_size=$vocab \
  --character_coverage=0.9995 --normalization_rule_name=identity --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3 \
  --max_sentencepiece_length=16 --split_by_unicode_script=true --split_by_number=true --split_digits=false \
  --split_by_whitespace=true --add_dummy_prefix=true --remove_extra_whitespaces=true --byte_fallback=false \
  --input_sentence_size=0 --shuffle_input_sentence=false --max_sentence_length=4192 --num_threads=1 \
  --hard_vocab_limit=true > "$tmp/train.log" 2>&1 || { cat "$tmp/train.log"; exit 1; }
cp "$tmp/spm.vocab" "$out/spm.vocab"
spm_encode --model="$tmp/spm.model" --output_format=id < "$out/eval.txt" > "$out/eval.spm.ids"
spm_encode --model="$tmp/spm.model" --output_format=piece < "$out/eval.txt" > "$out/eval.spm.pieces"
echo "spm_train $(dpkg-query -W -f '${Version}' sentencepiece 2>/dev/null || echo '?'): $vocab pieces;" \
  "$(wc -l < "$out/sample.en-de.tsv") pairs, $(wc -l < "$out/eval.txt") eval lines -> $out"
