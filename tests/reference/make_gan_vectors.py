#!/usr/bin/python3
"""Writes tests/reference/gan_vectors.safetensors: whole GAN Compression generators run by PyTorch, for
tests/test-gan-torch.c to compare engine/gan/fr-gan-model.c's forward with.

Run with Debian's python (the one that has torch):   /usr/bin/python3 tests/reference/make_gan_vectors.py

The generators are tests/bench/torch_gan.py's (torch.nn: ReflectionPad2d, Conv2d with bias,
InstanceNorm2d(affine=False), ReLU, ConvTranspose2d(3, 2, 1, output_padding=1), tanh; the mobile
block's depthwise + pointwise pairs). For each case the file holds the generator's weights under
Frontier's names ("<case>/stem.w", "<case>/block3.pw1.b", ...; a supernet's full-width weights),
the input "<case>/x", and one output per config run on those weights ("<case>/y0", "<case>/y1", ...:
a sub-config takes the leading channels of every weight, as Frontier slices its supernet).
__metadata__["<case>"] is JSON: kind, max config, in/out channels, the configs of y0, y1, ...;
__metadata__["cases"] lists the cases.

Weights are drawn as float32 (normal, std 1/sqrt(fan-in), biases std 0.1, so activations stay O(1)
through the network and the output is not flattened by tanh), inputs uniform in [-1, 1]. The forward
is computed in float64 on exactly those values and rounded to float32; the float32 PyTorch forward is
checked against it (it agrees to ~5e-6). Seeded and single-threaded: two runs give identical files.
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from torch_gan import Generator, parse_config, write_safetensors  # noqa: E402

SEED = 20250607
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
gen = torch.Generator().manual_seed(SEED)

# name, kind, max config, in_c, out_c, batch, H, W, configs run (None = the max)
CASES = [
    # the teacher at 32x24 (non-square), RGB in and out
    ("resnet_rgb", "resnet", "4_4_2_2_2_2_4_4", 3, 3, 2, 32, 24, [None]),
    # the miniature's once-for-all student: full width and a sub-config (sliced weights)
    ("mobile_mini", "mobile", "4_4_4_4_4_4_4_4", 1, 1, 2, 32, 32, [None, "2_3_4_2_3_1_3_2"]),
    # wider planes (residual width 32 on 16x16): the direct depthwise and wide pointwise paths
    ("mobile_wide", "mobile", "4_4_8_4_4_4_4_4", 1, 1, 1, 64, 64, [None, "4_2_8_2_4_3_2_4"]),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                           "gan_vectors.safetensors"))
    args = ap.parse_args()
    tensors, meta = {}, {"torch_version": torch.__version__, "seed": str(SEED)}
    for name, kind, cfg, in_c, out_c, batch, H, W, runs in CASES:
        full = Generator(kind, parse_config(cfg), in_c, out_c)
        weights = {}
        with torch.no_grad():
            for pname, p in full.frontier_params().items():
                if pname.endswith(".w"):
                    # fan-in: Cin/groups * k * k; a transposed conv [Cin, Cout, k, k] sums about Cin*k*k/4 terms
                    fan = p.shape[0] * p.shape[2] * p.shape[3] / 4 if pname.startswith("up") else p[0].numel()
                    v = torch.randn(p.shape, generator=gen) / math.sqrt(fan)
                else:
                    v = torch.randn(p.shape, generator=gen) * 0.1
                weights[pname] = v.float()
        x = (torch.rand((batch, in_c, H, W), generator=gen) * 2 - 1).float()
        outs = []
        for i, sub in enumerate(runs):
            c = parse_config(sub or cfg)
            model = Generator(kind, c, in_c, out_c).eval()
            model.load_frontier({k: v.numpy() for k, v in weights.items()})
            with torch.no_grad():
                y64 = model.double()(x.double())
                y32 = model.float()(x)
            err = (y64 - y32.double()).abs().max().item()
            if err > 1e-4:
                sys.exit(f"{name} {sub}: float32 torch differs from float64 by {err:g}")
            tensors[f"{name}/y{i}"] = y64.float().numpy()
            outs.append(sub or cfg)
        for k, v in weights.items():
            tensors[f"{name}/{k}"] = v.numpy()
        tensors[f"{name}/x"] = x.numpy()
        meta[name] = json.dumps({"kind": kind, "config": cfg, "in_channels": in_c, "out_channels": out_c,
                                 "runs": outs}, sort_keys=True)
    meta["cases"] = json.dumps([c[0] for c in CASES])
    write_safetensors(args.output, tensors, meta)
    print(f"wrote {args.output}: {len(CASES)} cases, {len(tensors)} tensors, "
          f"{os.path.getsize(args.output)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
