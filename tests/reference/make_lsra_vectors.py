#!/usr/bin/python3
"""Writes tests/reference/lsra_vectors.safetensors: PyTorch reference values for the Lite Transformer
convolution branch ops (engine/lsra/fr-lsra-conv.c): outputs and gradients.

Run with Debian's python (the one that has torch):   /usr/bin/python3 tests/reference/make_lsra_vectors.py

The semantics are fairseq's LightweightConv1dTBC / DynamicConv1dTBC as used by Lite Transformer
(mit-han-lab/lite-transformer), re-implemented here in plain torch ops on [B, T, C] sequences:

  * channels split into H heads of R = C / H consecutive channels (fairseq's TBC view C = H x R);
  * unfold1d: window k of output t reads x[t + k - padding_l], zeros outside [0, T);
  * lightweight: one [H, K] weight, softmax over K when weight_softmax;
  * dynamic: per-position kernels [B, T, H, K]; in the module the kernels are
    softmax(Linear(query)) with query = the conv's input, the Linear without bias;
  * the LSRA conv branch with conv_linear and GLU: Linear(c, 2c) -> GLU -> dynamic conv -> Linear(c, c).

Every case is computed two ways in float64 and they must agree: the unfold + bmm path of fairseq's
_forward_unfolded, and an independent one (depthwise F.conv1d with groups = C for the lightweight
op, the band-matrix bmm of fairseq's _forward_expanded for the dynamic op). The stored reference is
the unfold path in float64 on the float32 inputs, rounded to float32; the script also checks that
float32 torch agrees.

For a case <case> the file holds its differentiable inputs (<case>/x, <case>/w, <case>/kernels,
<case>/wk, <case>/w1, ...), a random upstream gradient <case>/gout, the output <case>/y and the
gradients of sum(y * gout) (<case>/dx, <case>/dw, ...). __metadata__[<case>] is JSON with the op and
its hyper-parameters; __metadata__["cases"] lists the cases.

The safetensors file is written by hand (no python safetensors package in Debian 12): 8-byte
little-endian header length, JSON header padded with spaces to a multiple of 8, raw little-endian
float32 data in the order of the sorted tensor names.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

SEED = 20250407

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)
gen = torch.Generator().manual_seed(SEED)

TENSORS = {}
META = {}
CASES = []


def randn(*shape, scale=1.0):
    return (torch.randn(tuple(shape), generator=gen, dtype=torch.float32) * scale).float()


# ---------------------------------------------------------------------------------------- reference ops

def unfold_time(x, K, P):
    """[B, T, C] -> [B, T, C, K] with window k of time t = x[t + k - P] (zero outside)."""
    T = x.shape[1]
    xp = F.pad(x, (0, 0, P, K - 1 - P))
    return torch.stack([xp[:, k:k + T] for k in range(K)], dim=3)


def conv_unfold(x, kernels, P):
    """kernels [B, T, H, K] (or [H, K], shared). fairseq's _forward_unfolded: bmm over (b, t, h)."""
    B, T, C = x.shape
    if kernels.dim() == 2:
        kernels = kernels.view(1, 1, *kernels.shape).expand(B, T, -1, -1)
    H, K = kernels.shape[2], kernels.shape[3]
    R = C // H
    xu = unfold_time(x, K, P).reshape(B * T * H, R, K)
    out = torch.bmm(xu, kernels.reshape(B * T * H, K, 1))
    return out.view(B, T, C)


def light_conv1d_groups(x, w, P):
    """Independent path: depthwise conv1d, channel c using head c // R's kernel."""
    B, T, C = x.shape
    H, K = w.shape
    wc = w.repeat_interleave(C // H, dim=0).unsqueeze(1)  # [C, 1, K]
    xp = F.pad(x.transpose(1, 2), (P, K - 1 - P))
    return F.conv1d(xp, wc, groups=C).transpose(1, 2)


def dyn_band(x, kernels, P):
    """Independent path: fairseq's _forward_expanded, kernels written into band matrices [B*H, T, T]."""
    B, T, C = x.shape
    H, K = kernels.shape[2], kernels.shape[3]
    R = C // H
    wk = kernels.permute(0, 2, 1, 3).reshape(B * H, T, K)
    band = torch.zeros(B * H, T, T + K - 1, dtype=x.dtype)
    band.as_strided((B * H, T, K), (T * (T + K - 1), T + K, 1)).copy_(wk)
    band = band.narrow(2, P, T)
    xh = x.view(B, T, H, R).permute(0, 2, 1, 3).reshape(B * H, T, R)
    return torch.bmm(band, xh).view(B, H, T, R).permute(0, 2, 1, 3).reshape(B, T, C)


def module_kernels(q, wk, H, K):
    B, T, _ = q.shape
    return F.softmax(F.linear(q, wk).view(B, T, H, K), dim=-1)


# ------------------------------------------------------------------------------------------ the cases

def case(name, meta, inputs, fn):
    """fn(impl, **inputs) -> y, impl in ("unfold", "alt")."""
    assert name not in META and "/" not in name
    CASES.append(name)

    def run(dtype, impl):
        leaves = {k: v.to(dtype).clone().requires_grad_(True) for k, v in inputs.items()}
        return leaves, fn(impl, **leaves)

    _, y0 = run(torch.float64, "unfold")
    gout = randn(*y0.shape)
    results = {}
    for dtype, impl in ((torch.float64, "unfold"), (torch.float64, "alt"), (torch.float32, "unfold")):
        leaves, y = run(dtype, impl)
        (y * gout.to(dtype)).sum().backward()
        results[(dtype, impl)] = (y, {k: v.grad for k, v in leaves.items()})

    ref_y, ref_g = results[(torch.float64, "unfold")]
    for key, tol in (((torch.float64, "alt"), 1e-10), ((torch.float32, "unfold"), 1e-4)):
        y, grads = results[key]
        pairs = [("y", ref_y, y)] + [("d" + k, ref_g[k], grads[k]) for k in inputs]
        for what, a, b in pairs:
            a, b = a.detach().double(), b.detach().double()
            err = ((a - b).abs() / (1.0 + a.abs())).max().item()
            if err > tol:
                sys.exit(f"{name}/{what}: {key} differs from the float64 unfold path by {err:g}")

    for k, v in inputs.items():
        TENSORS[f"{name}/{k}"] = v.numpy()
        TENSORS[f"{name}/d{k}"] = ref_g[k].detach().float().numpy()
    TENSORS[f"{name}/gout"] = gout.numpy()
    TENSORS[f"{name}/y"] = ref_y.detach().float().numpy()
    m = dict(meta)
    m["inputs"] = list(inputs)
    m["shapes"] = {k: list(v.shape) for k, v in inputs.items()}
    m["shapes"]["y"] = list(ref_y.shape)
    META[name] = json.dumps(m, sort_keys=True)


def light_case(name, B, T, C, H, K, P, softmax):
    inputs = {"x": randn(B, T, C), "w": randn(H, K)}

    def fn(impl, x, w):
        wn = F.softmax(w, dim=1) if softmax else w
        return conv_unfold(x, wn, P) if impl == "unfold" else light_conv1d_groups(x, wn, P)

    case(name, {"op": "lightweight", "padding_l": P, "softmax": softmax, "heads": H, "kernel": K}, inputs, fn)


def dyn_case(name, B, T, C, H, K, P):
    inputs = {"x": randn(B, T, C), "kernels": randn(B, T, H, K, scale=0.5)}

    def fn(impl, x, kernels):
        return conv_unfold(x, kernels, P) if impl == "unfold" else dyn_band(x, kernels, P)

    case(name, {"op": "dynamic", "padding_l": P, "heads": H, "kernel": K}, inputs, fn)


def dyn_module_case(name, B, T, C, H, K, P):
    """DynamicConv1dTBC(C, K, padding_l=P, num_heads=H, weight_softmax=True, bias=False), query = x."""
    inputs = {"x": randn(B, T, C), "wk": randn(H * K, C, scale=C ** -0.5)}

    def fn(impl, x, wk):
        kern = module_kernels(x, wk, H, K)
        return conv_unfold(x, kern, P) if impl == "unfold" else dyn_band(x, kern, P)

    case(name, {"op": "dynamic_module", "padding_l": P, "heads": H, "kernel": K}, inputs, fn)


def branch_case(name, B, T, C, H, K, P):
    """The LSRA conv branch (conv_linear, GLU): Linear(c, 2c) -> GLU -> dynamic conv -> Linear(c, c)."""
    inputs = {"x": randn(B, T, C), "w1": randn(2 * C, C, scale=C ** -0.5), "b1": randn(2 * C, scale=0.1),
              "wk": randn(H * K, C, scale=C ** -0.5), "w2": randn(C, C, scale=C ** -0.5), "b2": randn(C, scale=0.1)}

    def fn(impl, x, w1, b1, wk, w2, b2):
        u = F.glu(F.linear(x, w1, b1), dim=-1)
        kern = module_kernels(u, wk, H, K)
        v = conv_unfold(u, kern, P) if impl == "unfold" else dyn_band(u, kern, P)
        return F.linear(v, w2, b2)

    case(name, {"op": "lsra_branch", "padding_l": P, "heads": H, "kernel": K}, inputs, fn)


light_case("light_causal_softmax", 2, 9, 12, 3, 5, 4, True)
light_case("light_centered", 2, 8, 8, 2, 3, 1, False)
light_case("light_centered_softmax_k7", 3, 10, 16, 4, 7, 3, True)
light_case("light_causal_k_gt_t", 1, 4, 6, 2, 7, 6, True)
light_case("light_pad0", 2, 6, 4, 4, 3, 0, False)
dyn_case("dyn_causal", 2, 7, 8, 4, 3, 2)
dyn_case("dyn_centered_k_gt_t", 2, 5, 6, 3, 7, 3)
dyn_case("dyn_one_head", 1, 6, 5, 1, 4, 1)
dyn_module_case("dyn_module_causal", 2, 8, 12, 4, 5, 4)
dyn_module_case("dyn_module_centered", 2, 9, 8, 2, 3, 1)
branch_case("branch_decoder", 2, 7, 8, 4, 7, 6)
branch_case("branch_encoder", 2, 6, 8, 2, 3, 1)


# ------------------------------------------------------------------------------------------- the file

def write_safetensors(path, tensors, metadata):
    names = sorted(tensors)
    header = {"__metadata__": metadata}
    offset = 0
    for n in names:
        size = tensors[n].size * 4
        header[n] = {"dtype": "F32", "shape": list(tensors[n].shape), "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for n in names:
            f.write(np.ascontiguousarray(tensors[n], dtype="<f4").tobytes())
    os.replace(tmp, path)


def check_file(path, tensors, metadata):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    assert header.pop("__metadata__") == metadata
    assert set(header) == set(tensors)
    data = buf[8 + n:]
    for name, info in header.items():
        b, e = info["data_offsets"]
        a = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"])
        assert np.array_equal(a, tensors[name]), name


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output",
                    default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsra_vectors.safetensors"))
    args = ap.parse_args()
    meta = dict(META)
    meta["cases"] = json.dumps(CASES)
    meta["torch_version"] = torch.__version__
    meta["numpy_version"] = np.__version__
    meta["seed"] = str(SEED)
    meta["generator"] = "tests/reference/make_lsra_vectors.py"
    meta["loss"] = "gradients are of sum(y * gout)"
    write_safetensors(args.output, TENSORS, meta)
    check_file(args.output, TENSORS, meta)
    print(f"wrote {args.output}: {len(CASES)} cases, {len(TENSORS)} tensors, {os.path.getsize(args.output)} bytes")


if __name__ == "__main__":
    main()
