#!/usr/bin/python3
"""Writes tests/reference/torch_vectors.safetensors: PyTorch reference values (forward outputs and
gradients) for the engine's kernels.

Run with Debian's python (the one that has torch):   /usr/bin/python3 tests/reference/make_torch_vectors.py

For every case the file holds its inputs and parameters ("<case>/x", "<case>/w", "<case>/b", ...),
a random upstream gradient "<case>/gout", the output "<case>/y" and the gradient of
loss = sum(y * gout) with respect to every differentiable input and parameter ("<case>/dx",
"<case>/dw", ...). Hyper-parameters are JSON strings in __metadata__ under the case's name.

Everything stored is float32. Inputs are drawn as float32 from one seeded generator; the reference
computation is then done in float64 on exactly those float32 values and its results rounded to float32,
so the stored outputs are the correctly rounded answers for the stored inputs (a float32 engine should
match them to float32 accumulation error). The script also recomputes every case in float32 PyTorch
and checks it agrees, so the float64 path cannot silently differ from what torch does in float32.

The safetensors file is written by hand (the python safetensors package is not in Debian 12):
8-byte little-endian u64 header length, JSON header padded with spaces to a multiple of 8,
then the raw little-endian data, tensors in the order of their names.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

SEED = 20240607
EPS = 1e-5

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)

gen = torch.Generator().manual_seed(SEED)

TENSORS = {}  # name -> np.ndarray float32
META = {}     # key -> str
CASES = []


def randn(*shape, scale=1.0, shift=0.0):
    return (torch.randn(tuple(shape), generator=gen, dtype=torch.float32) * scale + shift).float()


def rand(*shape, lo=0.0, hi=1.0):
    return (torch.rand(tuple(shape), generator=gen, dtype=torch.float32) * (hi - lo) + lo).float()


def put(name, t):
    assert name not in TENSORS, name
    a = t.detach().to(torch.float32).contiguous().numpy()
    assert np.all(np.isfinite(a)), name
    TENSORS[name] = a


def case(name, meta, inputs, fn, const=None, tol=1e-4):
    """inputs: dict of differentiable float32 tensors (in the order fn takes them);
    const: dict of non-differentiable float32 tensors passed as keyword arguments (stored as-is);
    fn(dtype, **tensors) returns y or (y, extra_outputs_dict)."""
    const = const or {}
    assert name not in META and "/" not in name
    CASES.append(name)

    def run(dtype):
        leaves = {k: v.to(dtype).clone().requires_grad_(True) for k, v in inputs.items()}
        consts = {k: v.to(dtype).clone() for k, v in const.items()}
        r = fn(dtype, **leaves, **consts)
        y, extra = (r if isinstance(r, tuple) else (r, {}))
        return leaves, consts, y, extra

    # upstream gradient: shape of y, drawn once from the seeded generator
    _, _, y0, _ = run(torch.float64)
    gout = randn(*y0.shape)

    results = {}
    for dtype in (torch.float64, torch.float32):
        leaves, consts, y, extra = run(dtype)
        (y * gout.to(dtype)).sum().backward()
        results[dtype] = (leaves, y, extra)

    leaves, y, extra = results[torch.float64]
    for k, v in inputs.items():
        put(f"{name}/{k}", v)
    for k, v in const.items():
        put(f"{name}/{k}", v)
    put(f"{name}/gout", gout)
    put(f"{name}/y", y)
    for k, v in extra.items():
        put(f"{name}/{k}", v)
    for k in inputs:
        put(f"{name}/d{k}", leaves[k].grad)

    # float32 PyTorch must agree with the float64 reference
    l32, y32, e32 = results[torch.float32]
    pairs = [("y", y, y32)] + [(k, extra[k], e32[k]) for k in extra] + \
            [("d" + k, leaves[k].grad, l32[k].grad) for k in inputs]
    for what, a, b in pairs:
        a = a.detach().double()
        b = b.detach().double()
        err = ((a - b).abs() / (1.0 + a.abs())).max().item() if a.numel() else 0.0
        if err > tol:
            sys.exit(f"{name}/{what}: float32 torch differs from float64 by {err:g}")

    m = dict(meta)
    m["inputs"] = list(inputs)  # differentiable: each has a d<name>
    if const:
        m["const"] = list(const)
    m["outputs"] = ["y"] + list(extra)
    m["grads"] = ["d" + k for k in inputs]
    m["shapes"] = {k: list(v.shape) for k, v in
                   [*inputs.items(), *const.items(), ("y", y), *extra.items()]}
    META[name] = json.dumps(m, sort_keys=True)


# ---------------------------------------------------------------------------------------------------
# conv2d: w [C_out, C_in/groups, kh, kw]

def conv_case(name, n, cin, h, w, cout, k, stride=1, padding=0, dilation=1, groups=1, bias=True,
              padding_mode="zeros"):
    kh, kw = (k, k) if isinstance(k, int) else k
    inputs = {"x": randn(n, cin, h, w), "w": randn(cout, cin // groups, kh, kw,
                                                    scale=1.0 / math.sqrt(cin // groups * kh * kw))}
    if bias:
        inputs["b"] = randn(cout, scale=0.5)

    def fn(dtype, x, w, b=None):
        if padding_mode == "reflect":  # exactly what nn.Conv2d(padding_mode='reflect') does
            x = F.pad(x, (padding, padding, padding, padding), mode="reflect")
            return F.conv2d(x, w, b, stride=stride, padding=0, dilation=dilation, groups=groups)
        return F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)

    meta = {"op": "conv2d", "stride": stride, "padding": padding, "padding_mode": padding_mode,
            "groups": groups, "dilation": dilation, "kernel": [kh, kw], "bias": bias}
    case(name, meta, inputs, fn)


conv_case("conv2d_3x3_p1", 2, 3, 9, 9, 4, 3, padding=1, bias=False)
conv_case("conv2d_3x3_s2_p1_bias", 2, 3, 9, 9, 5, 3, stride=2, padding=1)
conv_case("conv2d_groups2", 2, 4, 7, 7, 6, 3, padding=1, groups=2)
conv_case("conv2d_dw3_s2", 2, 4, 9, 9, 4, 3, stride=2, padding=1, groups=4)
conv_case("conv2d_dw5_s2", 2, 4, 11, 11, 4, 5, stride=2, padding=2, groups=4)
conv_case("conv2d_dw3_s1", 3, 3, 6, 5, 3, 3, stride=1, padding=1, groups=3, bias=False)
conv_case("conv2d_7x7_reflect", 2, 3, 10, 10, 4, 7, padding=3, padding_mode="reflect")
conv_case("conv2d_3x3_reflect_s2", 2, 3, 9, 8, 4, 3, stride=2, padding=1, padding_mode="reflect")
conv_case("conv2d_1x1", 3, 5, 6, 6, 3, 1)
conv_case("conv2d_nonsquare", 2, 3, 7, 12, 4, 3, stride=1, padding=1)
conv_case("conv2d_nonsquare_s2", 2, 3, 7, 12, 4, 3, stride=2, padding=1, bias=False)
conv_case("conv2d_dilation2", 2, 3, 9, 9, 4, 3, padding=2, dilation=2)

# ---------------------------------------------------------------------------------------------------
# conv_transpose2d: w [C_in, C_out, kh, kw] (PyTorch layout), groups 1


def convt_case(name, n, cin, h, w, cout, k, stride=1, padding=0, output_padding=0, bias=True):
    inputs = {"x": randn(n, cin, h, w), "w": randn(cin, cout, k, k, scale=1.0 / math.sqrt(cin * k * k))}
    if bias:
        inputs["b"] = randn(cout, scale=0.5)

    def fn(dtype, x, w, b=None):
        return F.conv_transpose2d(x, w, b, stride=stride, padding=padding, output_padding=output_padding)

    meta = {"op": "conv_transpose2d", "stride": stride, "padding": padding,
            "output_padding": output_padding, "groups": 1, "dilation": 1, "kernel": [k, k], "bias": bias}
    case(name, meta, inputs, fn)


convt_case("convt_3x3_s2_p1_op1", 2, 4, 5, 5, 3, 3, stride=2, padding=1, output_padding=1)
convt_case("convt_4x4_s2_p1", 2, 4, 5, 6, 3, 4, stride=2, padding=1, bias=False)
convt_case("convt_3x3_s1_p1", 2, 3, 6, 6, 4, 3, stride=1, padding=1, bias=False)
convt_case("convt_3x3_s2_p0_bias", 3, 2, 4, 3, 3, 3, stride=2, padding=0)

# ---------------------------------------------------------------------------------------------------
# normalisation


def bn_case(name, training, act="none"):
    c = 4
    inputs = {"x": randn(3, c, 5, 5, scale=2.0, shift=0.5), "w": rand(c, lo=0.5, hi=1.5),
              "b": randn(c, scale=0.5)}
    const = {"running_mean": randn(c, scale=0.3), "running_var": rand(c, lo=0.5, hi=2.0)}

    def fn(dtype, x, w, b, running_mean, running_var):
        rm, rv = running_mean.clone(), running_var.clone()
        y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=0.1, eps=EPS)
        if act == "relu":
            y = F.relu(y)
        if training:
            return y, {"running_mean_out": rm, "running_var_out": rv}
        return y

    meta = {"op": "batch_norm2d", "training": training, "momentum": 0.1, "eps": EPS, "affine": True,
            "act": act, "running_var": "unbiased" if training else "given"}
    case(name, meta, inputs, fn, const=const)


bn_case("bn2d_train", True)
bn_case("bn2d_train_relu", True, act="relu")
bn_case("bn2d_eval", False)


def in_case(name, affine, act="none"):
    c = 3
    inputs = {"x": randn(2, c, 5, 7, scale=1.5, shift=-0.3)}
    if affine:
        inputs["w"] = rand(c, lo=0.5, hi=1.5)
        inputs["b"] = randn(c, scale=0.5)

    def fn(dtype, x, w=None, b=None):
        y = F.instance_norm(x, None, None, w, b, use_input_stats=True, eps=EPS)
        return F.relu(y) if act == "relu" else y

    meta = {"op": "instance_norm2d", "affine": affine, "track_running_stats": False, "eps": EPS, "act": act}
    case(name, meta, inputs, fn)


in_case("in2d_affine", True)
in_case("in2d_noaffine", False)
in_case("in2d_affine_relu", True, act="relu")


def ln_case(name, shape):
    d = shape[-1]
    inputs = {"x": randn(*shape, scale=1.5, shift=0.2), "w": rand(d, lo=0.5, hi=1.5), "b": randn(d, scale=0.5)}

    def fn(dtype, x, w, b):
        return F.layer_norm(x, (d,), w, b, eps=EPS)

    case(name, {"op": "layer_norm", "normalized_shape": [d], "eps": EPS, "affine": True, "act": "none"},
         inputs, fn)


ln_case("ln_3d", (2, 5, 7))
ln_case("ln_2d", (3, 16))

# ---------------------------------------------------------------------------------------------------
# attention: softmax(q kᵀ / sqrt(Dh) + mask) v, written out explicitly


def attn_case(name, b, h, tq, tk, dh, causal):
    inputs = {"q": randn(b, h, tq, dh), "k": randn(b, h, tk, dh), "v": randn(b, h, tk, dh)}

    def fn(dtype, q, k, v):
        s = q @ k.transpose(-1, -2) / math.sqrt(dh)
        if causal:
            mask = torch.triu(torch.full((tq, tk), float("-inf"), dtype=dtype), diagonal=1)
            s = s + mask
        return torch.softmax(s, dim=-1) @ v

    meta = {"op": "attention", "causal": causal, "scale": 1.0 / math.sqrt(dh),
            "mask": "-inf where key index j > query index i" if causal else "none"}
    case(name, meta, inputs, fn)


attn_case("attn_self", 2, 2, 5, 5, 4, False)
attn_case("attn_causal", 2, 2, 5, 5, 4, True)
attn_case("attn_cross", 2, 2, 5, 7, 4, False)

# ---------------------------------------------------------------------------------------------------
# activations, softmax, losses, dense

case("gelu", {"op": "gelu", "approximate": "none"}, {"x": randn(2, 3, 5, scale=3.0)},
     lambda dtype, x: F.gelu(x))
case("glu", {"op": "glu", "dim": 1}, {"x": randn(2, 6, 3, scale=2.0)}, lambda dtype, x: F.glu(x, dim=1))
case("log_softmax", {"op": "log_softmax", "dim": -1}, {"x": randn(2, 3, 7, scale=2.0)},
     lambda dtype, x: F.log_softmax(x, dim=-1))
case("softmax", {"op": "softmax", "dim": -1}, {"x": randn(3, 9, scale=2.0)},
     lambda dtype, x: F.softmax(x, dim=-1))
case("linear", {"op": "linear", "bias": True},
     {"x": randn(3, 5), "w": randn(4, 5, scale=0.5), "b": randn(4, scale=0.5)},
     lambda dtype, x, w, b: F.linear(x, w, b))


def ce_case(name, n, c, smoothing):
    labels = torch.randint(0, c, (n,), generator=gen)

    def fn(dtype, logits, labels):
        return F.cross_entropy(logits, labels.long(), label_smoothing=smoothing, reduction="mean")

    case(name, {"op": "cross_entropy", "label_smoothing": smoothing, "reduction": "mean",
                "labels": "float32 holding integer class indices", "y": "scalar, shape []"},
         {"logits": randn(n, c, scale=2.0)}, fn, const={"labels": labels.float()})


ce_case("cross_entropy_ls01", 5, 7, 0.1)
ce_case("cross_entropy", 4, 10, 0.0)

# ---------------------------------------------------------------------------------------------------
# pooling


def pool_case(name, kind, shape, k, stride, padding):
    def fn(dtype, x):
        if kind == "max":
            return F.max_pool2d(x, k, stride=stride, padding=padding)
        return F.avg_pool2d(x, k, stride=stride, padding=padding, count_include_pad=True)

    meta = {"op": kind + "_pool2d", "kernel": k, "stride": stride, "padding": padding, "ceil_mode": False}
    if kind == "avg":
        meta["count_include_pad"] = True
    case(name, meta, {"x": randn(*shape)}, fn)


pool_case("max_pool_2x2_s2", "max", (2, 3, 7, 9), 2, 2, 0)
pool_case("max_pool_3x3_s2_p1", "max", (2, 3, 9, 8), 3, 2, 1)
pool_case("avg_pool_2x2_s2", "avg", (2, 3, 6, 7), 2, 2, 0)
pool_case("avg_pool_3x3_s2_p1", "avg", (2, 3, 9, 8), 3, 2, 1)

# ---------------------------------------------------------------------------------------------------
# the file


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    names = sorted(tensors)
    for name in names:
        a = tensors[name]
        n = a.size * 4
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + n]}
        offset += n
    hjson = json.dumps(header, separators=(",", ":"), sort_keys=False).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for name in names:
            f.write(np.ascontiguousarray(tensors[name], dtype="<f4").tobytes())
    os.replace(tmp, path)


def read_back(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    data = buf[8 + n:]
    out = {}
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"])
        end = max(end, e)
    assert end == len(data)
    return header["__metadata__"], out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output",
                    default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_vectors.safetensors"))
    args = ap.parse_args()

    meta = dict(META)
    meta["torch_version"] = torch.__version__
    meta["numpy_version"] = np.__version__
    meta["seed"] = str(SEED)
    meta["generator"] = "tests/reference/make_torch_vectors.py"
    meta["precision"] = "float32 inputs; reference computed in float64, rounded to float32"
    meta["loss"] = "gradients are of sum(y * gout) (for every output named in outputs only y)"
    meta["cases"] = json.dumps(CASES)
    write_safetensors(args.output, TENSORS, meta)

    m2, t2 = read_back(args.output)
    assert m2 == meta and set(t2) == set(TENSORS)
    for k, v in TENSORS.items():
        assert np.array_equal(t2[k], v), k
    size = os.path.getsize(args.output)
    print(f"wrote {args.output}: {len(CASES)} cases, {len(TENSORS)} tensors, {size} bytes")


if __name__ == "__main__":
    main()
