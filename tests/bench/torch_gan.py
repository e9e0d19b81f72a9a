#!/usr/bin/python3
"""PyTorch peer for tests/bench/bench-gan.c: GAN Compression's generators, inference latency.

The same two architectures as engine/gan/fr-gan-model.c, written here with torch.nn:

  ResNet generator (pix2pix / GAN Compression teacher): ReflectionPad2d(3), Conv2d 7x7, IN, ReLU;
  two Conv2d 3x3 stride 2 pad 1 + IN + ReLU; 9 blocks of [ReflectionPad2d(1), Conv2d 3x3, IN, ReLU,
  ReflectionPad2d(1), Conv2d 3x3, IN] + residual; two ConvTranspose2d(3, stride 2, pad 1,
  output_padding 1) + IN + ReLU; ReflectionPad2d(3), Conv2d 7x7, tanh.
  Mobile generator (GAN Compression's MobileResnetGenerator): the same, but each block is
  [ReflectionPad2d(1), depthwise 3x3, IN, Conv2d 1x1, IN, ReLU, ReflectionPad2d(1), depthwise 3x3, IN,
  Conv2d 1x1, IN] + residual.
  Every conv has a bias; InstanceNorm2d(affine=False, track_running_stats=False), eps 1e-5.

Channel configs are GAN Compression's 8 numbers (see engine/gan/fr-gan.h): stem ch[0], first
downsampling ch[1]*2, residual width ch[2]*4, block inner widths ch[3..5]*4 (blocks 1-3, 4-6, 7-9),
upsamplings ch[6]*2 and ch[7]. Parameter names follow Frontier's files ("block3.pw1.w" is
block3.pw1.weight here), so a generator saved by Frontier (fr_gan_generator_save) loads as is, and a
supernet's sub-config takes the leading channels of every weight, as Frontier does.

Timing: one JSON line per case, {"peer": "pytorch", "case", "threads", "batch", "ms": median,
"ms_min", "cpu_ms" (median process CPU time, all threads together), "ms_per_image",
"images_per_s", ...}; torch.inference_mode(), model.eval(),
torch.set_num_threads(T), `--warmup` untimed calls, then the median of `--runs` calls.

  /usr/bin/python3 tests/bench/torch_gan.py --threads 1 --cases resnet64_256,mobile_e2s_256
  /usr/bin/python3 tests/bench/torch_gan.py --check DIR   # compare with `bench-gan --export DIR`

Run with Debian's python (the one that has torch).
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BLOCKS = 9
IN_EPS = 1e-5

# name -> (kind, config, in_c, out_c, size, batch); the same table as bench-gan.c
CASES = {
    "resnet64_256": ("resnet", "64_64_64_64_64_64_64_64", 3, 3, 256, 1),
    "mobile_e2s_256": ("mobile", "32_32_48_32_48_48_16_16", 3, 3, 256, 1),
    "mini_resnet16": ("resnet", "16_16_16_16_16_16_16_16", 1, 1, 32, 1),
    "mini_mobile16": ("mobile", "16_16_16_16_16_16_16_16", 1, 1, 32, 1),
    "mini_mobile8": ("mobile", "8_8_8_8_8_8_8_8", 1, 1, 32, 1),
    "mini_resnet16_b64": ("resnet", "16_16_16_16_16_16_16_16", 1, 1, 32, 64),
    "mini_mobile16_b64": ("mobile", "16_16_16_16_16_16_16_16", 1, 1, 32, 64),
    "mini_mobile8_b64": ("mobile", "8_8_8_8_8_8_8_8", 1, 1, 32, 64),
}


def parse_config(s):
    ch = [int(v) for v in s.split("_")]
    assert len(ch) == 8 and all(v >= 1 for v in ch), s
    return ch


def widths(ch):
    return {"stem": ch[0], "down1": ch[1] * 2, "res": ch[2] * 4,
            "inner": [ch[3 + b // 3] * 4 for b in range(BLOCKS)], "up1": ch[6] * 2, "up2": ch[7]}


def norm(c):
    return nn.InstanceNorm2d(c, affine=False, track_running_stats=False, eps=IN_EPS)


class ResnetBlock(nn.Module):
    def __init__(self, res, inner):
        super().__init__()
        self.conv1 = nn.Conv2d(res, inner, 3)
        self.conv2 = nn.Conv2d(inner, res, 3)
        self.body = nn.Sequential(nn.ReflectionPad2d(1), self.conv1, norm(inner), nn.ReLU(True),
                                  nn.ReflectionPad2d(1), self.conv2, norm(res))

    def forward(self, x):
        return x + self.body(x)


class MobileBlock(nn.Module):
    def __init__(self, res, inner):
        super().__init__()
        self.dw1 = nn.Conv2d(res, res, 3, groups=res)
        self.pw1 = nn.Conv2d(res, inner, 1)
        self.dw2 = nn.Conv2d(inner, inner, 3, groups=inner)
        self.pw2 = nn.Conv2d(inner, res, 1)
        self.body = nn.Sequential(nn.ReflectionPad2d(1), self.dw1, norm(res), self.pw1, norm(inner), nn.ReLU(True),
                                  nn.ReflectionPad2d(1), self.dw2, norm(inner), self.pw2, norm(res))

    def forward(self, x):
        return x + self.body(x)


class Generator(nn.Module):
    def __init__(self, kind, ch, in_c, out_c):
        super().__init__()
        w = widths(ch)
        self.stem = nn.Conv2d(in_c, w["stem"], 7)
        self.down1 = nn.Conv2d(w["stem"], w["down1"], 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(w["down1"], w["res"], 3, stride=2, padding=1)
        block = ResnetBlock if kind == "resnet" else MobileBlock
        for b in range(BLOCKS):
            setattr(self, f"block{b + 1}", block(w["res"], w["inner"][b]))
        self.up1 = nn.ConvTranspose2d(w["res"], w["up1"], 3, stride=2, padding=1, output_padding=1)
        self.up2 = nn.ConvTranspose2d(w["up1"], w["up2"], 3, stride=2, padding=1, output_padding=1)
        self.out = nn.Conv2d(w["up2"], out_c, 7)
        self.net = nn.Sequential(
            nn.ReflectionPad2d(3), self.stem, norm(w["stem"]), nn.ReLU(True),
            self.down1, norm(w["down1"]), nn.ReLU(True),
            self.down2, norm(w["res"]), nn.ReLU(True),
            *[getattr(self, f"block{b + 1}") for b in range(BLOCKS)],
            self.up1, norm(w["up1"]), nn.ReLU(True),
            self.up2, norm(w["up2"]), nn.ReLU(True),
            nn.ReflectionPad2d(3), self.out, nn.Tanh())

    def forward(self, x):
        return self.net(x)

    def frontier_params(self):
        """Frontier name ("block1.conv1.w") -> parameter."""
        out = {}
        for name, p in self.named_parameters():
            if name.startswith("net."):
                continue   # the same tensors, registered twice
            stem, what = name.rsplit(".", 1)
            out[stem + (".w" if what == "weight" else ".b")] = p
        return out

    def load_frontier(self, tensors):
        """Loads Frontier-named tensors; larger ones (a supernet's) are cut to their leading block."""
        with torch.no_grad():
            for name, p in self.frontier_params().items():
                src = torch.as_tensor(tensors[name])
                assert src.dim() == p.dim() and all(a >= b for a, b in zip(src.shape, p.shape)), name
                p.copy_(src[tuple(slice(0, n) for n in p.shape)])


# ---- safetensors, by hand (the python safetensors package is not in Debian 12) ----

def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    n, = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", (name, t["dtype"])
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(buf[base + a:base + b], dtype="<f4").reshape(t["shape"]).copy()
    return out, meta


def write_safetensors(path, tensors, meta):
    names = sorted(tensors)
    header, off = {"__metadata__": meta}, 0
    for k in names:
        a = np.ascontiguousarray(tensors[k], dtype="<f4")
        tensors[k] = a
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for k in names:
            f.write(tensors[k].tobytes())
    os.replace(tmp, path)


# ---- modes ----

def check(d):
    """Frontier's exported generator, input and output (bench-gan --export DIR) against PyTorch."""
    worst = 0.0
    cases = sorted(f[:-len(".model.safetensors")] for f in os.listdir(d) if f.endswith(".model.safetensors"))
    if not cases:
        sys.exit(f"{d}: no *.model.safetensors (run bench-gan --export {d} first)")
    for c in cases:
        weights, meta = read_safetensors(os.path.join(d, c + ".model.safetensors"))
        io, _ = read_safetensors(os.path.join(d, c + ".io.safetensors"))
        x, y = io["x"], io["y"]
        model = Generator(meta["kind"], parse_config(meta["config"]), int(meta["in_channels"]),
                          int(meta["out_channels"])).eval()
        model.load_frontier(weights)
        with torch.inference_mode():
            ours = torch.from_numpy(y)
            ref64 = model.double()(torch.from_numpy(x).double())
            ref32 = model.float()(torch.from_numpy(x))
        d64 = (ours.double() - ref64).abs().max().item()
        d32 = (ref32.double() - ref64).abs().max().item()
        worst = max(worst, d64)
        print(json.dumps({"check": c, "kind": meta["kind"], "config": meta["config"], "shape": list(x.shape),
                          "max_abs_diff_frontier_vs_torch64": d64, "max_abs_diff_torch32_vs_torch64": d32,
                          "max_abs_output": ref64.abs().max().item()}))
    return worst


def bench(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for name in args.cases.split(","):
        kind, cfg, in_c, out_c, size, batch = CASES[name]
        if args.batch:
            batch = args.batch
        model = Generator(kind, parse_config(cfg), in_c, out_c).eval()
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, 0.02)   # pix2pix's init, as fr_gan_generator_new
        x = torch.rand(batch, in_c, size, size) * 2 - 1
        times, cpu = [], []
        with torch.inference_mode():
            for i in range(args.warmup + args.runs):
                t, c = time.perf_counter(), time.process_time()
                y = model(x)
                dt, dc = time.perf_counter() - t, time.process_time() - c
                if i >= args.warmup:
                    times.append(dt)
                    cpu.append(dc)
        assert torch.isfinite(y).all()
        ms = float(np.median(times)) * 1e3
        print(json.dumps({"peer": "pytorch", "version": torch.__version__, "case": name, "kind": kind, "config": cfg,
                          "size": size, "channels": in_c, "threads": args.threads, "batch": batch,
                          "ms": round(ms, 3), "ms_min": round(min(times) * 1e3, 3),
                          "cpu_ms": round(float(np.median(cpu)) * 1e3, 3), "ms_per_image": round(ms / batch, 4), "images_per_s": round(batch * 1e3 / ms, 1),
                          "runs": args.runs}), flush=True)


def main():
    ap = argparse.ArgumentParser(description="PyTorch peer for bench-gan: generator inference latency")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=0, help="override every case's batch")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--check", metavar="DIR", help="compare with Frontier's outputs exported by bench-gan --export")
    ap.add_argument("--tolerance", type=float, default=2e-4)
    args = ap.parse_args()
    if args.check:
        torch.set_num_threads(args.threads)
        worst = check(args.check)
        if worst > args.tolerance:
            sys.exit(f"Frontier and PyTorch differ by {worst:.3g} (> {args.tolerance:g})")
        return
    bench(args)


if __name__ == "__main__":
    main()
