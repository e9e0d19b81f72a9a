#!/usr/bin/python3
"""Reference safetensors file for tests/test-safetensors.c, made with PyTorch.

The `safetensors` Python package is not available here, so the file is written by hand with
struct + json in exactly the layout the Python library produces: u64 little-endian header length,
compact JSON header ("__metadata__" first, then tensors in data order: larger dtype alignment
first, then by name), padded with spaces to a multiple of 8 bytes, then the raw little-endian data.

  make_reference.py [OUT]          write OUT (default: reference.safetensors next to this script)
  make_reference.py --check FILE   read FILE with the reader below and compare it with the same
                                   tensors and metadata; exit 0 if equal, 1 if not, 77 if PyTorch
                                   is missing (the C test then skips)
"""
import json
import math
import os
import struct
import sys

try:
    import torch
except ImportError:
    print("make_reference.py: PyTorch not available", file=sys.stderr)
    sys.exit(77)

DTYPES = {  # safetensors name -> (torch dtype, rank in the reference Dtype enum)
    "BOOL": (torch.bool, 0), "U8": (torch.uint8, 1), "I8": (torch.int8, 2),
    "I16": (torch.int16, 3), "F16": (torch.float16, 4), "BF16": (torch.bfloat16, 5),
    "I32": (torch.int32, 6), "F32": (torch.float32, 7), "F64": (torch.float64, 8),
    "I64": (torch.int64, 9),
}
NAME_OF = {v[0]: k for k, v in DTYPES.items()}

METADATA = {
    "format": "pt",
    "producer": "frontier tests/data/safetensors/make_reference.py",
    "note": "quote \" backslash \\ tab \t newline \n unicode \u00e9\u2713",
}


def make_tensors():
    inf = math.inf
    return {
        "conv1.weight": torch.tensor([(i - 18) / 8 for i in range(36)], dtype=torch.float32).reshape(4, 1, 3, 3),
        "conv1.bias": torch.tensor([0.5, -1.25, 3.0, 1e-3], dtype=torch.float32),
        "half": torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 2.0 ** -14, 2.0 ** -24, inf, math.nan],
                             dtype=torch.float16),
        "bhalf": torch.tensor([1.0, -2.0, 3.140625, 2.0 ** 127, -inf, 2.0 ** -133], dtype=torch.bfloat16).reshape(2, 3),
        "double": torch.tensor([0.1, -1e-3, 1e300, 3.5, 1e-50, -7.25], dtype=torch.float64).reshape(2, 3),
        "long": torch.tensor([-1, 2 ** 40, 7], dtype=torch.int64),
        "int": torch.tensor([-2 ** 31, 2 ** 31 - 1, 0, 42], dtype=torch.int32).reshape(2, 2),
        "short": torch.tensor([-32768, 32767, 5], dtype=torch.int16),
        "byte": torch.tensor([-128, 127, 0, -1], dtype=torch.int8),
        "ubyte": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "mask": torch.tensor([True, False, False, True]).reshape(2, 2),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
        "empty": torch.zeros((0, 3), dtype=torch.float32),
        "unicode.\u00e9": torch.tensor([1.0], dtype=torch.float32),
    }


def tensor_bytes(t):
    t = t.contiguous()
    if t.numel() == 0:
        return b""
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def serialize(tensors, metadata):
    order = sorted(tensors, key=lambda n: (-DTYPES[NAME_OF[tensors[n].dtype]][1], n))
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    for name in order:
        t = tensors[name]
        b = tensor_bytes(t)
        header[name] = {"dtype": NAME_OF[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def deserialize(buf):
    """Reader with the checks of the reference implementation; returns (tensors, metadata)."""
    (n,) = struct.unpack("<Q", buf[:8])
    assert n <= 100_000_000 and 8 + n <= len(buf), "bad header length"
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    data = buf[8 + n:]
    tensors, end = {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        assert set(info) == {"dtype", "shape", "data_offsets"}, name
        dtype = DTYPES[info["dtype"]][0]
        begin, stop = info["data_offsets"]
        assert begin == end, f"{name}: gap or overlap at {begin}"
        numel = math.prod(info["shape"])
        itemsize = torch.empty((), dtype=dtype).element_size()
        assert stop - begin == numel * itemsize, f"{name}: size mismatch"
        if numel == 0:
            t = torch.empty(info["shape"], dtype=dtype)
        else:
            t = torch.frombuffer(bytearray(data[begin:stop]), dtype=dtype).reshape(info["shape"])
        tensors[name] = t
        end = stop
    assert end == len(data), "data buffer not fully covered"
    return tensors, metadata


def check(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    ok = n % 8 == 0
    if not ok:
        print(f"{path}: header length {n} is not a multiple of 8", file=sys.stderr)
    tensors, metadata = deserialize(buf)
    want = make_tensors()
    if metadata != METADATA:
        print(f"{path}: metadata {metadata!r} != {METADATA!r}", file=sys.stderr)
        ok = False
    if set(tensors) != set(want):
        print(f"{path}: tensors {sorted(tensors)} != {sorted(want)}", file=sys.stderr)
        return False
    for name, w in want.items():
        t = tensors[name]
        if t.dtype != w.dtype or t.shape != w.shape or tensor_bytes(t) != tensor_bytes(w):
            print(f"{path}: tensor {name!r} differs: {t!r} vs {w!r}", file=sys.stderr)
            ok = False
        elif w.is_floating_point() and not torch.equal(torch.nan_to_num(t.double()), torch.nan_to_num(w.double())):
            print(f"{path}: tensor {name!r} values differ", file=sys.stderr)
            ok = False
    if buf != serialize(want, METADATA):
        print(f"{path}: not byte-identical to what the Python layout gives", file=sys.stderr)
        ok = False
    return ok


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        ok = check(sys.argv[2])
        print(f"{sys.argv[2]}: {'OK' if ok else 'MISMATCH'}")
        sys.exit(0 if ok else 1)
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                             "reference.safetensors")
    buf = serialize(make_tensors(), METADATA)
    deserialize(buf)  # self-check
    with open(out, "wb") as f:
        f.write(buf)
    print(f"wrote {out} ({len(buf)} bytes)")


if __name__ == "__main__":
    main()
