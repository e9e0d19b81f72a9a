#!/usr/bin/python3
"""Writes the seed corpus for fuzz-safetensors into corpus/safetensors/ (small files, mostly valid,
a few broken in interesting ways). Plain Python, no dependencies; rerun after changing it."""
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "safetensors")
SIZES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
RANK = {"BOOL": 0, "U8": 1, "I8": 2, "I16": 3, "F16": 4, "BF16": 5, "I32": 6, "F32": 7, "F64": 8, "I64": 9}


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def st(tensors, metadata=None, pad=True, sep=(",", ":"), order=None):
    """tensors: {name: (dtype, shape)}; data bytes are a counter pattern."""
    names = order or sorted(tensors, key=lambda n: (-RANK[tensors[n][0]], n))
    header, off = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for n in names:
        dt, shape = tensors[n]
        nb = numel(shape) * SIZES[dt]
        header[n] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + nb]}
        off += nb
    h = json.dumps(header, separators=sep, ensure_ascii=False).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + bytes(i * 37 % 251 for i in range(off))


def raw(header_text, data=b""):
    h = header_text.encode()
    return struct.pack("<Q", len(h)) + h + data


SEEDS = {
    "all-dtypes": st({f"t.{d.lower()}": (d, [2, 3]) for d in SIZES}, {"format": "pt", "epoch": "3"}),
    "empty": st({}),
    "metadata-only": st({}, {"framework": "pt", "note": "tab\t \"quoted\" caf\u00e9"}),
    "scalar-and-zero": st({"s": ("F32", []), "z": ("F16", [0, 4]), "b": ("BOOL", [3])}),
    "attn": st({"attn.0": ("F32", [1, 2, 3])}),
    "eight-dims": st({"x": ("I8", [1, 2, 1, 2, 1, 2, 1, 2]), "y": ("BF16", [2, 2])}),
    "many": st({f"layer{i}.{p}": ("F16" if i % 2 else "F32", [i % 3 + 1, 2]) for i in range(10) for p in ("w", "b")}),
    "unpadded-spaced": st({"b": ("F64", [2]), "a\u00e9": ("I32", [3])}, {"k": "v"}, pad=False, sep=(", ", ": "),
                          order=["a\u00e9", "b"]),
    "escapes": raw('{"a\\u00e9\\/\\ud83d\\ude00\\n":{"shape":[2],"data_offsets":[0,2],"dtype":"U8"}}  ', b"\x01\x02"),
    "bad-overlap": raw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                       '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', bytes(12)),
    "bad-gap": raw('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
                   '"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}', bytes(6)),
    "bad-duplicate": raw('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                         '"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', bytes(2)),
    "bad-metadata": raw('{"__metadata__":{"n":3},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"x"),
}

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")
