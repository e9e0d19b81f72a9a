#!/usr/bin/python3
"""Convert an APQ accuracy predictor to safetensors for Frontier (fr_apq_predictor_load).

Inputs (the kind is taken from the file name):
  acc_quant.pt / acc.pt / *.pth   a torch state_dict of APQ's MLP (utils/accuracy_predictor.py), or a
                                  dict wrapping one under 'state_dict'; 'module.' prefixes are dropped.
                                  Needs python3-torch (Debian's /usr/bin/python3 has it).
  NAME.f32 or NAME.json           the raw float32 blob + JSON index of shared/data/apq
                                  (apq_predictor_random_seed0.*); needs no torch.

Output: safetensors, F32, the same tensor names (layers.0.0.weight ... regressor.bias), metadata
{"format": "frontier-apq-predictor", "arch_dim", "quant_dim", "hidden", "source", "source_sha256"}.
The file is written by hand (8-byte header length, JSON header, data) since the safetensors package
is not installed.

  tools/apq-convert-predictor.py acc_quant.pt -o data/apq/acc_quant.safetensors
"""
import argparse
import hashlib
import json
import os
import struct
import sys

FORMAT_TAG = "frontier-apq-predictor"
LAYERS = ["layers.0.0", "layers.1.0", "layers.2.0"]


class ConvertError(Exception):
    pass


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_torch(path):
    """{name: (shape, little-endian float32 bytes)} from a torch checkpoint."""
    try:
        import torch
    except ImportError:
        raise ConvertError("reading %s needs torch: run with /usr/bin/python3 (python3-torch)" % path)
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConvertError("%s: not a state_dict (a dict of tensors, or {'state_dict': ...})" % path)
    out = {}
    for name, t in obj.items():
        name = name[len("module."):] if name.startswith("module.") else name
        if not t.is_floating_point():
            raise ConvertError("%s: tensor %s is %s, not floating point" % (path, name, t.dtype))
        a = t.detach().to(torch.float32).contiguous().numpy()
        out[name] = (list(a.shape), a.astype("<f4").tobytes())
    return out


def load_raw(path):
    """The .f32 blob + .json index pair (either path may be given)."""
    base = path[: -len(".json")] if path.endswith(".json") else path[: -len(".f32")]
    index_path, blob_path = base + ".json", base + ".f32"
    with open(index_path) as f:
        index = json.load(f)
    with open(blob_path, "rb") as f:
        blob = f.read()
    total = index.get("total_floats")
    if total is None or len(blob) != 4 * total:
        raise ConvertError("%s: %d bytes, but %s says %s floats" % (blob_path, len(blob), index_path, total))
    if "sha256" in index and hashlib.sha256(blob).hexdigest() != index["sha256"]:
        raise ConvertError("%s: sha256 differs from the one in %s" % (blob_path, index_path))
    out = {}
    for t in index["tensors"]:
        n = 1
        for d in t["shape"]:
            n *= d
        if n != t["n_floats"] or t["offset_floats"] + n > total:
            raise ConvertError("%s: tensor %s: shape, size and offset disagree" % (index_path, t["name"]))
        off = 4 * t["offset_floats"]
        out[t["name"]] = (list(t["shape"]), blob[off: off + 4 * n])
    return out


def check_apq_mlp(tensors, path):
    """The names and shapes of APQ's MLP; returns (arch_dim, quant_dim, hidden)."""
    want = [l + s for l in LAYERS for s in (".weight", ".bias")] + ["regressor.weight", "regressor.bias"]
    quant = "quantize_fc.weight" in tensors
    if quant:
        want += ["quantize_fc.weight", "quantize_fc.bias"]
    if sorted(tensors) != sorted(want):
        raise ConvertError("%s: tensors %s, expected APQ's MLP: %s" % (path, sorted(tensors), sorted(want)))
    shape = {n: s for n, (s, _) in tensors.items()}
    hidden, arch_dim = (shape["layers.0.0.weight"] + [0, 0])[:2]
    expect = {"layers.0.0.weight": [hidden, arch_dim], "layers.0.0.bias": [hidden],
              "layers.1.0.weight": [hidden, hidden], "layers.1.0.bias": [hidden],
              "layers.2.0.weight": [hidden, hidden], "layers.2.0.bias": [hidden],
              "regressor.weight": [1, hidden], "regressor.bias": [1]}
    quant_dim = 0
    if quant:
        quant_dim = (shape["quantize_fc.weight"] + [0, 0])[1]
        expect.update({"quantize_fc.weight": [hidden, quant_dim], "quantize_fc.bias": [hidden]})
    for n, s in expect.items():
        if shape[n] != s or min(s) < 1:
            raise ConvertError("%s: %s has shape %s, expected %s" % (path, n, shape[n], s))
    return arch_dim, quant_dim, hidden


def write_safetensors(path, tensors, metadata):
    names = sorted(tensors)   # safetensors writers sort by name; data follows the header's order
    header = {"__metadata__": metadata}
    offset = 0
    for n in names:
        shape, data = tensors[n]
        header[n] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)   # pad so the data starts 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for n in names:
            f.write(tensors[n][1])
    os.replace(tmp, path)


def convert(src, dst):
    if src.endswith(".f32") or src.endswith(".json"):
        tensors = load_raw(src)
        source_file = src[: src.rfind(".")] + ".f32"
    else:
        tensors = load_torch(src)
        source_file = src
    arch_dim, quant_dim, hidden = check_apq_mlp(tensors, src)
    metadata = {"format": FORMAT_TAG, "arch_dim": str(arch_dim), "quant_dim": str(quant_dim),
                "hidden": str(hidden), "source": os.path.basename(source_file),
                "source_sha256": sha256_of(source_file)}
    write_safetensors(dst, tensors, metadata)
    return arch_dim, quant_dim, hidden


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="acc_quant.pt / acc.pt (torch state_dict) or NAME.f32 / NAME.json")
    ap.add_argument("-o", "--output", required=True, help="the .safetensors file to write")
    args = ap.parse_args(argv)
    try:
        arch_dim, quant_dim, hidden = convert(args.input, args.output)
    except (ConvertError, OSError, ValueError, KeyError) as e:
        print("apq-convert-predictor: %s" % e, file=sys.stderr)
        return 1
    print("%s: APQ predictor, arch_dim %d, quant_dim %d, hidden %d" % (args.output, arch_dim, quant_dim, hidden))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
