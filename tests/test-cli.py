#!/usr/bin/env python3
"""frontier-cli as a user drives it: exit codes, --json keys, errors on bad input (TAP output)."""
import json
import os
import subprocess
import sys
import tempfile

cli = sys.argv[1]
data = os.environ.get("FR_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "data"))
wiki = os.path.join(data, "matrices", "wiki-Vote.mtx.gz")
p2p = os.path.join(data, "matrices", "p2p-Gnutella31.mtx.gz")
results = []


def run(*args):
    p = subprocess.run([cli, *args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {name}{'' if ok else ' # ' + detail}")


rc, out, err = run()
check("no arguments is a usage error", rc == 2 and "Usage" in out, f"rc={rc}")
rc, out, err = run("--help")
check("--help lists the commands", rc == 0 and "sparch" in out and "classifier" in out)
rc, out, err = run("frobnicate")
check("unknown command", rc == 2 and "unknown command" in err)
rc, out, err = run("sparch", "multiply", "--help")
check("subcommand --help", rc == 0 and "--transpose-b" in out)

rc, out, err = run("eval", "classifier", "--json")
check("eval classifier --json", rc == 0 and json.loads(out)["test_accuracy"] >= 0.88, err)

rc, out, err = run("sparch", "multiply", wiki, "--json")
j = json.loads(out) if rc == 0 else {}
check("sparch multiply A·A --json", rc == 0 and j.get("nnz") == 1831112 and j.get("multiplies") == 4542805
      and "seconds" in j, err)
rc, out, err = run("sparch", "multiply", p2p, "--transpose-b", "--json")
check("sparch multiply A·Aᵀ", rc == 0 and json.loads(out)["nnz"] > 0, err)
with tempfile.TemporaryDirectory() as d:
    c = os.path.join(d, "c.mtx.gz")
    rc, out, err = run("sparch", "multiply", wiki, "-o", c, "-q")
    check("sparch multiply -o writes C", rc == 0 and os.path.getsize(c) > 1000, err)
    bad = os.path.join(d, "bad.mtx")
    with open(bad, "w") as f:
        f.write("%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1.0\n4 1 2.0\n")
    rc, out, err = run("sparch", "multiply", bad)
    check("a bad matrix file: clear error with the line number", rc == 1 and "line 4" in err, err)
    rc, out, err = run("sparch", "multiply", wiki, p2p)
    check("shape mismatch is refused", rc != 0 and err.strip() != "", err)
    g = os.path.join(d, "g.mtx")
    rc, out, err = run("sparch", "generate", "stencil2d:n=32", "-o", g, "--json")
    check("sparch generate labels the matrix synthetic", rc == 0 and json.loads(out)["synthetic"] is True, err)
    rc, out, err = run("sparch", "generate", "rmat:scale=99", "-o", g)
    check("absurd generator size refused", rc != 0 and err.strip() != "", err)

rc, out, err = run("sparch", "simulate", wiki, "--json", "-q")
j = json.loads(out) if rc == 0 else {}
keys = ["nnz", "multiplies", "seconds", "a_read", "b_read", "partial_write", "partial_read", "c_write", "total",
        "cycles", "partial_matrices", "rounds"]
check("sparch simulate --json has every key", rc == 0 and all(k in j for k in keys),
      f"missing {[k for k in keys if k not in j]} {err}")
check("DRAM categories add up", rc == 0 and sum(j[k] for k in keys[3:8]) == j["total"])
rc, out, err = run("sparch", "simulate", wiki, "--arch", "outerspace", "--json", "-q")
check("OuterSPACE writes every partial product", rc == 0 and json.loads(out)["partial_write"] ==
      json.loads(out)["multiplies"] * 12, err)
rc, out, err = run("sparch", "simulate", wiki, "--prefetch", "sometimes")
check("unknown prefetch policy is a usage error", rc == 2, err)
rc, out, err = run("sparch", "simulate", wiki, "--ways", "3")
check("a 3-way merge tree is refused", rc == 2 and err.strip() != "", err)

# APQ pipeline commands, each on a tiny configuration (the shipped artefacts are checked by
# test-apq-quality; this is the CLI's contract: --json keys, resume, clear errors).
with tempfile.TemporaryDirectory() as d:
    sn = os.path.join(d, "sn.safetensors")
    rc, out, err = run("apq", "supernet", "--max-steps", "3", "--train-limit", "256", "--batch-size", "32",
                       "-o", sn, "--json", "-q")
    j = json.loads(out) if rc == 0 else {}
    check("apq supernet --json", rc == 0 and 0 <= j.get("largest_heldout_accuracy", -1) <= 1 and os.path.exists(sn), err)
    rc, out, err = run("apq", "supernet", "--epochs", "0", "-o", sn)
    check("apq supernet refuses 0 epochs", rc != 0 and "epochs" in err, err)
    csv = os.path.join(d, "p.csv")
    rc, out, err = run("apq", "pairs", "--supernet", sn, "-n", "3", "--eval-images", "100", "--calib-images", "50",
                       "-o", csv, "--json", "-q")
    j = json.loads(out) if rc == 0 else {}
    check("apq pairs --json", rc == 0 and j.get("pairs") == 3 and os.path.exists(csv[:-4] + ".json"), err)
    rc, out, err = run("apq", "pairs", "--supernet", sn, "-n", "5", "--eval-images", "100", "--calib-images", "50",
                       "-o", csv, "--resume", "--json", "-q")
    rows = open(csv).read().strip().split("\n")
    check("apq pairs --resume adds only the missing pairs", rc == 0 and len(rows) == 6, err)
    rc, out, err = run("apq", "pairs", "--supernet", sn, "-n", "5", "--seed", "9", "-o", csv, "--resume", "-q")
    check("apq pairs --resume refuses another run's file", rc == 1 and "seed" in err, err)
    rc, out, err = run("apq", "pairs", "--supernet", os.path.join(d, "missing.safetensors"), "-o", csv)
    check("apq pairs: a missing supernet is a clear error", rc == 1 and "missing.safetensors" in err, err)
    pred = os.path.join(d, "f.safetensors")
    rc, out, err = run("apq", "predictor", "-p", csv, "--test", "2", "--epochs", "5", "-o", pred, "--json")
    j = json.loads(out) if rc == 0 else {}
    check("apq predictor --json", rc == 0 and {"test_rmse", "test_kendall_tau", "train_rows"} <= set(j), err)
    rc, out, err = run("apq", "predictor", "-p", csv, "--test", "5", "-o", pred)
    check("apq predictor: holding out every pair is refused", rc != 0 and "hold out" in err, err)
    rc, out, err = run("apq", "qat", "--supernet", sn, "--predictor", pred, "--macs-budget", "0.01", "-o", pred + ".q")
    check("apq qat: an impossible budget names the minimum", rc == 1 and "smallest network" in err, err)
    rc, out, err = run("apq", "qat", "--supernet", sn, "ks=1;mid=2;d=3", "-o", pred + ".q")
    check("apq qat: a malformed spec is a clear error", rc != 0 and "spec" in err, err)

# APQ search workbench: the search's --json keys, reports read back, an impossible budget, the CPU
# profile on a tiny setting. The predictor is a random one written here (the shipped one may not exist
# yet); the profile writes under a temporary XDG_DATA_HOME, never the user's real data folder.
def write_apq_predictor(path, arch, quant, hidden=8):
    import random
    import struct
    rnd = random.Random(1)
    tensors = {}

    def lin(name, out, inp):
        b = 1 / inp ** 0.5
        tensors[name + ".weight"] = ([out, inp], [rnd.uniform(-b, b) for _ in range(out * inp)])
        tensors[name + ".bias"] = ([out], [rnd.uniform(-b, b) for _ in range(out)])
    lin("layers.0.0", hidden, arch)
    lin("layers.1.0", hidden, hidden)
    lin("layers.2.0", hidden, hidden)
    lin("quantize_fc", hidden, quant)
    lin("regressor", 1, hidden)
    header, blobs, off = {"__metadata__": {"format": "frontier-apq-predictor", "space": "fmnist-mini"}}, [], 0
    for name in sorted(tensors):
        shape, vals = tensors[name]
        blob = struct.pack("<%df" % len(vals), *vals)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


with tempfile.TemporaryDirectory() as d:
    pred = os.path.join(d, "mini.safetensors")
    write_apq_predictor(pred, 142, 192)   # fmnist-mini: 16 blocks, 142 arch + 192 bits inputs
    rc, out, err = run("apq", "search", "--space", "fmnist-mini", "--cost-model", "counts", "--generations", "5",
                       "--predictor", pred, "--json")
    j = json.loads(out) if rc == 0 else {}
    check("apq search --json", rc == 0 and {"best", "front_size", "evaluations", "seconds", "note"} <= set(j)
          and {"spec", "accuracy", "costs"} <= set(j.get("best", {})) and j["evaluations"] == 600
          and j["front_size"] >= 1 and "generation 5/5" in err, err)
    rj, rc_ = os.path.join(d, "front.json"), os.path.join(d, "front.csv")
    rc, out, err = run("apq", "search", "--space", "fmnist-mini", "--cost-model", "counts", "--generations", "5",
                       "--pareto", "--predictor", pred, "--bitops-m", "200", "--report", rj, "--report", rc_,
                       "--json", "-q")
    j = json.loads(out) if rc == 0 else {}
    rep = json.load(open(rj)) if rc == 0 and os.path.exists(rj) else {}
    rows = open(rc_).read().strip().split("\n") if rc == 0 and os.path.exists(rc_) else []
    check("apq search --report writes JSON and CSV that read back",
          rc == 0 and len(rep.get("front", [])) == j.get("front_size") and len(rows) == j.get("front_size", 0) + 1
          and rep["settings"]["budgets"]["bitops"] == 200e6 and rows[0].startswith("search,rank,accuracy"), err)
    rc, out, err = run("apq", "search", "--space", "fmnist-mini", "--cost-model", "counts", "--macs-m", "0.001",
                       "--predictor", pred)
    check("apq search: an impossible budget names the minimum", rc == 1 and "minimum is" in err, err)
    rc, out, err = run("apq", "search", "--space", "fmnist-mini", "--cost-model", "bitfusion-lut")
    check("apq search: a cost model the space does not offer is a usage error", rc == 2 and "ImageNet" in err, err)
    rc, out, err = run("apq", "search", "--space", "cifar")
    check("apq search: unknown space", rc == 2, err)
    rc, out, err = run("apq", "search", "--space", "fmnist-mini", "--cost-model", "counts", "--latency-ms", "1")
    check("apq search: a budget the cost model has no objective for", rc == 2 and "latency_ms" in err, err)
    rc, out, err = run("apq", "search", "--space", "imagenet-bitfusion", "--generations", "3", "--json", "-q")
    j = json.loads(out) if rc == 0 else {}
    check("apq search imagenet-bitfusion without a predictor: cost-only, APQ's spec JSON",
          rc == 0 and j.get("mode") == "cost-only" and j["best"]["accuracy"] is None
          and isinstance(j["best"].get("spec_apq"), list), err)
    env = dict(os.environ, XDG_DATA_HOME=d)
    lut = os.path.join(d, "cpu.csv")
    p = subprocess.run([cli, "apq", "profile", "--repeats", "1", "--warmup", "0", "--blocks", "2", "-o", lut, "--json"],
                       capture_output=True, text=True, timeout=300, env=env)
    j = json.loads(p.stdout) if p.returncode == 0 else {}
    text = open(lut).read() if os.path.exists(lut) else ""
    check("apq profile on a tiny setting writes a LUT with the machine in its header",
          p.returncode == 0 and j.get("rows", 0) > 2 and "# cpu: " in text and "# threads: " in text
          and "# date: " in text and "layer,block,kernel,mid,precision,latency_ms" in text, p.stderr)
    p = subprocess.run([cli, "apq", "search", "--cost-model", "this-cpu", "--predictor", pred],
                       capture_output=True, text=True, timeout=300, env=env)
    check("apq search this-cpu before a profile says how to make one",
          p.returncode == 1 and "apq profile" in p.stderr, p.stderr)
    rc, out, err = run("apq", "profile", "--repeats", "0")
    check("apq profile: bad repeats is a usage error", rc == 2, err)

# GAN Compression: the commands' contract on tiny settings (the shipped models are scored by test-gan-quality).
with tempfile.TemporaryDirectory() as d:
    rc, out, err = run("gan", "macs", "64_64_64_64_64_64_64_64", "--size", "256", "--channels", "3", "--json")
    j = json.loads(out) if rc == 0 else {}
    check("gan macs: pix2pix's ResNet at 256x256 is 56.8G MACs in the paper's convention",
          rc == 0 and abs(j["macs_paper"] / 56.8e9 - 1) < 0.002 and j["macs"] < j["macs_paper"], err)
    rc, out, err = run("gan", "macs", "16_16_16")
    check("gan macs: a malformed config is a clear error", rc == 1 and "eight widths" in err, err)
    t = os.path.join(d, "t.safetensors")
    rc, out, err = run("gan", "train-teacher", "--ngf", "4", "--ndf", "4", "--steps", "2", "--batch-size", "2",
                       "--train-limit", "8", "-o", t, "--json")
    j = json.loads(out) if rc == 0 else {}
    check("gan train-teacher --json", rc == 0 and {"fid_like", "accuracy", "l1", "seconds"} <= set(j)
          and os.path.exists(t), err)
    rc, out, err = run("gan", "train-teacher", "--steps", "0", "-o", t)
    check("gan train-teacher refuses 0 steps", rc != 0 and "steps" in err, err)
    s = os.path.join(d, "s.safetensors")
    rc, out, err = run("gan", "train-supernet", "--teacher", t, "--ngf", "4", "--ndf", "4", "--steps", "2",
                       "--batch-size", "2", "--train-limit", "8", "-o", s, "-q")
    check("gan train-supernet", rc == 0 and os.path.exists(s), err)
    rc, out, err = run("gan", "search", "--supernet", s, "--teacher", t, "--grid", "--budget", "1e9",
                       "--eval-images", "20", "-o", os.path.join(d, "front.json"), "--json", "-q")
    j = json.loads(out) if rc == 0 else {}
    front = json.load(open(os.path.join(d, "front.json"))) if rc == 0 else {}
    check("gan search --grid --json writes every candidate and the teacher",
          rc == 0 and "config" in j and len(front.get("candidates", [])) > 1 and "teacher" in front, err)
    rc, out, err = run("gan", "search", "--supernet", s, "--budget", "10")
    check("gan search: an impossible budget names the smallest sub-generator", rc == 1 and "1_1_1_1_1_1_1_1" in err, err)
    rc, out, err = run("gan", "eval", s, "--config", "1_1_1_1_1_1_1_1", "--images", "20", "--json")
    j = json.loads(out) if rc == 0 else {}
    check("gan eval --json", rc == 0 and {"macs", "macs_paper", "params", "fid_like", "accuracy", "l1", "ms"} <= set(j), err)
    rc, out, err = run("gan", "eval", s, "--config", "8_8_8_8_8_8_8_8")
    check("gan eval: a config wider than the model is refused", rc == 1 and "wider" in err, err)
    corrupt = os.path.join(d, "corrupt.safetensors")
    with open(corrupt, "wb") as f:
        f.write(open(t, "rb").read()[:1000])
    rc, out, err = run("gan", "eval", corrupt)
    check("gan eval: corrupt weights are a clear error", rc == 1 and "corrupt.safetensors" in err, err)
    # synth: a drawn sketch as PNG (dark strokes on white)
    try:
        import zlib, struct
        w = h = 64
        rows = b"".join(b"\0" + bytes(0 if (x == y or x == 63 - y) else 255 for x in range(w)) for y in range(h))
        def chunk(tag, data):
            return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff)
        png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + \
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
        sk = os.path.join(d, "sketch.png")
        open(sk, "wb").write(png)
        o = os.path.join(d, "out.png")
        rc, out, err = run("gan", "synth", "--input", sk, "-o", o, "--model", t, "-q")
        check("gan synth writes a PNG", rc == 0 and open(o, "rb").read(8) == b"\x89PNG\r\n\x1a\n", err)
        blank = os.path.join(d, "blank.png")
        rows = b"".join(b"\0" + bytes([255] * w) for y in range(h))
        open(blank, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
        rc, out, err = run("gan", "synth", "--input", blank, "-o", o, "--model", t)
        check("gan synth: an empty sketch is a clear error", rc == 1 and "empty" in err, err)
        rc, out, err = run("gan", "synth", "--input", blank, "-o", o, "--model", t, "--photo")
        check("gan synth --photo: a flat picture has no edges", rc == 1 and "edges" in err, err)
    except OSError as e:
        check("gan synth", False, str(e))
    rc, out, err = run("gan", "synth", "--input", os.path.join(d, "nope.png"), "-o", os.path.join(d, "x.png"))
    check("gan synth: an unreadable image is a clear error", rc == 1 and "nope.png" in err, err)

# Lite Transformer text tools: BPE learn/encode/decode and sacreBLEU-compatible BLEU on the test vectors.
tests_dir = os.environ.get("FR_TEST_SRCDIR", os.path.dirname(os.path.abspath(__file__)))
with tempfile.TemporaryDirectory() as d:
    sample = os.path.join(tests_dir, "data", "lsra", "sample.en-de.tsv")
    m = os.path.join(d, "bpe.model")
    rc, out, err = run("lsra", "bpe", "--train", sample, "--vocab", "2000", "-o", m, "--json", "-q")
    j = json.loads(out) if rc == 0 else {}
    check("lsra bpe --train --json", rc == 0 and j.get("vocab_size") == 2000 and {"merges", "chars_kept",
          "coverage", "sentences", "words", "learn_seconds", "output"} <= set(j) and os.path.exists(m), err)
    rc, out, err = run("lsra", "bpe", "--model", m, "--encode", "Die Datei wurde gespeichert.", "--json")
    j = json.loads(out) if rc == 0 else {}
    ids = j.get("ids", [])
    check("lsra bpe --encode --json gives ids and pieces", rc == 0 and len(ids) == len(j.get("pieces", [])) > 0
          and j["pieces"][0].startswith("\u2581"), err)
    rc, out, err = run("lsra", "bpe", "--model", m, "--decode", " ".join(map(str, ids)))
    check("lsra bpe --decode inverts --encode", rc == 0 and out.strip() == "Die Datei wurde gespeichert.", err)
    rc, out, err = run("lsra", "bpe", "--model", m, "--decode", "5 99999")
    check("lsra bpe --decode: an id outside the vocabulary is refused", rc == 2 and "99999" in err, err)
    rc, out, err = run("lsra", "bpe", "--train", sample, "--vocab", "10", "-o", m)
    check("lsra bpe: a vocabulary too small for the characters is a usage error", rc == 2 and "characters" in err, err)
    bad = os.path.join(d, "bad.model")
    with open(bad, "w") as f:
        f.write("frontier-bpe\t1\nnormalization\tnfc\ncharacter_coverage\t1\nmax_piece_length\t16\n"
                "split_by_script\t1\npieces\t5\n<pad>\n<unk>\n<s>\n</s>\nab\n")
    rc, out, err = run("lsra", "bpe", "--model", bad, "--encode", "ab")
    check("lsra bpe: a bad model file names file and line", rc == 1 and "bad.model" in err and "line 11" in err, err)
    rc, out, err = run("lsra", "bpe", "--model", os.path.join(d, "none.model"), "--encode", "x")
    check("lsra bpe: a missing model is a clear error", rc == 1 and "none.model" in err, err)
    rc, out, err = run("lsra", "bpe", "--encode", "x")
    check("lsra bpe --encode without --model is a usage error", rc == 2, err)

    bleu = os.path.join(tests_dir, "data", "bleu")
    ref, hyp = os.path.join(bleu, "case2.ref.txt"), os.path.join(bleu, "case2.hyp.txt")
    rc, out, err = run("lsra", "bleu", "--ref", ref, "--hyp", hyp, "--json")
    j = json.loads(out) if rc == 0 else {}
    check("lsra bleu --json matches sacreBLEU on case2", rc == 0 and abs(j.get("bleu", 0) - 59.42988234983016) < 0.01
          and {"bp", "ratio", "sys_len", "ref_len", "precisions", "counts", "totals", "signature"} <= set(j), err)
    rc, out, err = run("lsra", "bleu", "--ref", os.path.join(bleu, "case2.ref.tok.txt"),
                       "--hyp", os.path.join(bleu, "case2.hyp.tok.txt"), "--tokenize", "none", "--json")
    j = json.loads(out) if rc == 0 else {}
    check("lsra bleu --tokenize none", rc == 0 and abs(j.get("bleu", 0) - 59.345098937780996) < 0.01, err)
    rc, out, err = run("lsra", "bleu", "--ref", os.path.join(bleu, "case5.ref.txt"),
                       "--hyp", os.path.join(bleu, "case5.hyp.txt"), "--sentence", "--json")
    j = json.loads(out) if rc == 0 else {}
    check("lsra bleu --sentence scores every line", rc == 0 and len(j.get("sentences", [])) == 20
          and abs(j["sentences"][1]["bleu"] - 42.88819424803536) < 0.01, err)
    rc, out, err = run("lsra", "bleu", "--ref", ref, "--hyp", hyp)
    check("lsra bleu prints sacreBLEU's line", rc == 0 and out.startswith("BLEU = 59.43 "), err)
    rc, out, err = run("lsra", "bleu", "--ref", ref, "--hyp", os.path.join(bleu, "case1.hyp.txt"))
    check("lsra bleu: different line counts are an error", rc == 1 and "lines" in err, err)
    rc, out, err = run("lsra", "bleu", "--ref", ref, "--hyp", hyp, "--tokenize", "intl")
    check("lsra bleu: an unknown tokenizer is a usage error", rc == 2 and "intl" in err, err)
    rc, out, err = run("lsra", "bleu", "--ref", os.path.join(d, "missing.txt"), "--hyp", hyp)
    check("lsra bleu: a missing file is a clear error", rc == 1 and "missing.txt" in err, err)

# Lite Transformer training and Mult-Adds: bad input is refused before any work, a tiny run writes a model.
with tempfile.TemporaryDirectory() as d:
    rc, out, err = run("lsra", "macs", "--json")
    j = json.loads(out) if rc == 0 else {}
    names = [m["name"] for m in j.get("models", [])]
    t128 = [p for p in j.get("presets", []) if p["name"] == "transformer-128"]
    check("lsra macs --json lists the four models and the paper's presets",
          rc == 0 and names == ["transformer-small", "lite-small", "transformer", "lite"]
          and len(t128) == 1 and abs(t128[0]["mult_adds"] - 86.72e6) < 0.01e6, err)
    rc, out, err = run("lsra", "macs", "--preset", "lite-200", "--json")
    j = json.loads(out) if rc == 0 else {}
    check("lsra macs --preset lite-200: the paper's 90.7M", rc == 0 and round(j.get("mult_adds", 0) / 1e6, 1) == 90.7
          and "breakdown" in j, err)
    rc, out, err = run("lsra", "macs", "--model", "lite-tiny")
    check("lsra macs: an unknown model is a usage error", rc == 2 and "lite-tiny" in err, err)
    sample = os.path.join(tests_dir, "data", "lsra", "sample.en-de.tsv")
    m = os.path.join(d, "bpe.model")
    rc, out, err = run("lsra", "bpe", "--train", sample, "--vocab", "500", "-o", m, "-q")
    rc, out, err = run("lsra", "train", "--train", sample, "--bpe", m)
    check("lsra train without --model is a usage error", rc == 2 and "--model" in err, err)
    rc, out, err = run("lsra", "train", "--model", "lite-huge", "--train", sample, "--bpe", m)
    check("lsra train: an unknown model is a usage error", rc == 2 and "lite-huge" in err, err)
    rc, out, err = run("lsra", "train", "--model", "lite", "--bpe", m)
    check("lsra train without --train is a usage error", rc == 2 and "--train" in err, err)
    rc, out, err = run("lsra", "train", "--model", "lite", "--train", os.path.join(d, "none.tsv"), "--bpe", m)
    check("lsra train: a missing TSV is a usage error naming it", rc == 2 and "none.tsv" in err, err)
    rc, out, err = run("lsra", "train", "--model", "lite", "--train", sample, "--bpe", m, "--steps", "0",
                       "-o", os.path.join(d, "x.safetensors"))
    check("lsra train: absurd steps are a usage error", rc == 2 and "steps" in err, err)
    bad = os.path.join(d, "bad.tsv")
    with open(bad, "w") as f:
        f.write("Open\tÖffnen\nno tab on this line\n")
    rc, out, err = run("lsra", "train", "--model", "lite", "--train", bad, "--bpe", m, "-o", os.path.join(d, "x.safetensors"))
    check("lsra train: a malformed TSV names file and line", rc == 1 and "bad.tsv" in err and "line 2" in err, err)
    out_model = os.path.join(d, "ts.safetensors")
    args = ["lsra", "train", "--model", "transformer-small", "--train", sample, "--bpe", m, "--train-limit", "200",
            "--max-tokens", "256", "--steps", "4", "--threads", "1", "-o", out_model, "--json", "-q"]
    rc, out, err = run(*args, "--stop-after", "2")
    j = json.loads(out) if rc == 0 else {}
    check("lsra train --stop-after: a checkpoint, no model", rc == 0 and j.get("finished") is False
          and os.path.exists(out_model + ".ckpt") and not os.path.exists(out_model), err)
    rc, out, err = run(*args, "--resume", "--dev", sample, "--dev-limit", "20")
    j = json.loads(out) if rc == 0 else {}
    check("lsra train --resume finishes and writes the model", rc == 0 and j.get("finished") is True
          and j.get("dev_ppl", 0) > 1 and {"train_loss", "seconds", "tokens_per_second", "parameters"} <= set(j)
          and os.path.getsize(out_model) > 100000, err)
    rc, out, err = run(*args, "--resume", "--lr", "0.01")
    check("lsra train --resume refuses another run's checkpoint", rc == 1 and "different run" in err, err)

# Translation and evaluation: a tiny model trained for 2 steps (its output is junk; the checks are the
# CLI's contract: lines in, lines out, --json keys, exit codes, clear errors).
with tempfile.TemporaryDirectory() as d:
    sample = os.path.join(tests_dir, "data", "lsra", "sample.en-de.tsv")
    bpe = os.path.join(d, "bpe.model")
    model = os.path.join(d, "tiny.safetensors")
    run("lsra", "bpe", "--train", sample, "--vocab", "500", "-o", bpe, "-q")
    rc, out, err = run("lsra", "train", "--model", "transformer-small", "--train", sample, "--bpe", bpe,
                       "--train-limit", "100", "--max-tokens", "256", "--steps", "2", "--threads", "1", "-o", model, "-q")
    check("translate: a tiny model to translate with", rc == 0 and os.path.exists(model), err)
    p = subprocess.run([cli, "translate", "--model", model, "--bpe", bpe, "--beam", "2"], input="Open the file.\n\nSave it\n",
                       capture_output=True, text=True, timeout=120)
    check("translate: stdin lines in, as many lines out (an empty one for an empty one)",
          p.returncode == 0 and len(p.stdout.split("\n")) == 4 and p.stdout.split("\n")[1] == "", p.stderr)
    rc, out, err = run("translate", "--model", model, "--bpe", bpe, "--json", "Open the file.", "Close it.")
    rows = [json.loads(l) for l in out.splitlines()] if rc == 0 else []
    check("translate --json: one object a line with text, ms, tokens, truncated",
          len(rows) == 2 and all({"text", "ms", "tokens", "truncated"} <= set(r) for r in rows)
          and rows[0]["truncated"] is False, err)
    rc, out, err = run("translate", "--model", model, "--bpe", bpe, "--json", "--beam", "1", "the file " * 300)
    check("translate: an over-long input is cut and says so", rc == 0 and json.loads(out)["truncated"] is True, err)
    rc, out, err = run("translate", "--model", "lite-huge", "x")
    check("translate: an unknown model is a usage error naming it", rc == 2 and "lite-huge" in err, err)
    rc, out, err = run("translate", "--model", os.path.join(d, "none.safetensors"), "--bpe", bpe, "x")
    check("translate: a missing model file is a clear error", rc == 1 and "none.safetensors" in err, err)
    corrupt = os.path.join(d, "corrupt.safetensors")
    with open(model, "rb") as f, open(corrupt, "wb") as g:
        g.write(f.read()[:300])
    rc, out, err = run("translate", "--model", corrupt, "--bpe", bpe, "x")
    check("translate: a corrupt model file is a clear error", rc == 1 and "corrupt.safetensors" in err, err)
    rc, out, err = run("translate", "--model", model, "--bpe", os.path.join(data, "lsra", "bpe.model"), "x")
    check("translate: a BPE of another vocabulary is refused", rc == 1 and "vocabulary" in err, err)
    rc, out, err = run("translate", "--model", model, "--bpe", bpe, "--beam", "0", "x")
    check("translate --beam 0 is a usage error", rc == 2, err)
    rc, out, err = run("translate", "--model", model, "--bpe", bpe, "--input", os.path.join(d, "none.txt"))
    check("translate --input: a missing file is a clear error", rc == 1 and "none.txt" in err, err)

    rc, out, err = run("lsra", "eval", model, "--bpe", bpe, "--dev", sample, "--limit", "6", "--beam", "2", "--json",
                       "-q", "--hyp-dir", d)
    j = json.loads(out) if rc == 0 else {}
    check("lsra eval --json: bleu, per-source bleu, macs, params, tokens/s",
          rc == 0 and {"bleu", "bleu_tok", "per_source", "macs", "params", "tokens_per_second"} <= set(j)
          and j["per_source"].get("sample", {}).get("sentences") == 6 and j["macs"] > 0 and j["params"] > 0
          and 0 <= j["bleu"] <= 100, err)
    with open(os.path.join(d, "sample.hyp.txt")) as f:
        check("lsra eval --hyp-dir writes one line a sentence", len(f.read().split("\n")) == 7)
    rc, out, err = run("lsra", "eval")
    check("lsra eval without a model is a usage error", rc == 2, err)
    rc, out, err = run("lsra", "eval", "lite-huge")
    check("lsra eval: an unknown model is a usage error", rc == 2 and "lite-huge" in err, err)
    rc, out, err = run("lsra", "eval", model, "--bpe", bpe, "--dev", os.path.join(d, "none.tsv"))
    check("lsra eval: a missing dev set is a clear error", rc == 1 and "none.tsv" in err, err)
    bad = os.path.join(d, "bad.tsv")
    with open(bad, "w") as f:
        f.write("Open\tÖffnen\nno tab on this line\n")
    rc, out, err = run("lsra", "eval", model, "--bpe", bpe, "--dev", bad, "-q")
    check("lsra eval: a malformed dev set names file and line", rc == 1 and "bad.tsv" in err and "line 2" in err, err)
    rc, out, err = run("lsra", "eval", corrupt, "--bpe", bpe, "-q")
    check("lsra eval: a corrupt model is a clear error", rc == 1 and "corrupt.safetensors" in err, err)

# The profiler (issue 8): the model list, one small model's --json keys and exports (the trace parses as
# Chrome trace events, the CSV has its header), bad input. The machine's ceilings are measured into a
# temporary XDG_CACHE_HOME, never the user's cache.
with tempfile.TemporaryDirectory() as d:
    def run_profile(*args):
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(d, "cache"))
        p = subprocess.run([cli, "profile", *args], capture_output=True, text=True, timeout=300, env=env)
        return p.returncode, p.stdout, p.stderr
    rc, out, err = run_profile()
    check("profile alone lists the models", rc == 0 and "gan-resnet-ngf64-256" in out and "spgemm:MATRIX" in out, err)
    trace, csv = os.path.join(d, "t.json"), os.path.join(d, "t.csv")
    rc, out, err = run_profile("gan-teacher", "--runs", "2", "--warmup", "1", "--threads", "1", "--json", "-q",
                               "--trace", trace, "--csv", csv)
    j = json.loads(out) if rc == 0 else {}
    tops = [g["name"] for g in j.get("top_layers", [])]
    check("profile gan-teacher --json: info, roofline, layers in model order",
          rc == 0 and j["info"]["runs"] == 2 and j["info"]["threads"] == 1 and j["roofline"]["gemm_gflops_1t"] > 0
          and tops[:4] == ["stem", "down1", "down2", "block1"] and tops[-1] == "out"
          and abs(j["info"]["macs"] - j["info"]["model_macs"]) < 1, err)
    ev = json.load(open(trace))["traceEvents"] if rc == 0 else []
    xs = [e for e in ev if e["ph"] == "X" and e["cat"] != "run"]
    check("profile --trace: an X event per op of both runs, with µs times and args",
          len(xs) > 0 and len(xs) == 2 * sum(g["calls"] for g in j["layers"])
          and all("dur" in e and "ts" in e and "macs" in e["args"] for e in xs), err)
    check("profile --csv: the per-layer table", rc == 0 and open(csv).readline().startswith("name,ops,auto,calls,macs"))
    saved = os.path.join(d, "saved.json")
    rc, out, err = run_profile("gan-student-10x", "--runs", "2", "--warmup", "0", "--no-roofline", "-q", "--save", saved)
    rc2, out, err2 = run_profile(saved, "--json")
    j = json.loads(out) if rc == 0 and rc2 == 0 else {}
    check("profile --save writes a profile that reads back as MODEL",
          j.get("info", {}).get("target") == "gan-student-10x" and j["info"]["runs"] == 2, err + err2)
    rc, out, err = run_profile("gan-teacher", "--compare", "gan-student-10x", "--runs", "1", "--warmup", "0",
                               "--no-roofline", "--json", "-q")
    j = json.loads(out) if rc == 0 else {}
    total = j.get("compare", {}).get("rows", [{}])[-1]
    check("profile --compare: per-group MACs and time ratios, total last",
          rc == 0 and total.get("name") == "total" and total.get("macs_ratio", 0) > 5, err)
    rc, out, err = run_profile("resnet-9000")
    check("profile: an unknown model is a usage error naming it", rc == 2 and "resnet-9000" in err, err)
    rc, out, err = run_profile("gan-teacher", "--runs", "0")
    check("profile: --runs 0 is a usage error", rc == 2, err)
    rc, out, err = run_profile("spgemm:nothing-here", "--no-roofline")
    check("profile spgemm: a missing matrix is an error naming it", rc == 1 and "nothing-here" in err, err)

print(f"1..{len(results)}")
sys.exit(0 if all(results) else 1)
