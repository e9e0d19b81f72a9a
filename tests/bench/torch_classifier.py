#!/usr/bin/python3
"""PyTorch peer benchmark for Frontier's Fashion-MNIST classifier.

Trains the same network as the engine's classifier, with the same preprocessing and optimiser, on
the 60k Fashion-MNIST training images and prints one JSON line:

  {"peer": "pytorch", "version": ..., "threads": T, "epoch_seconds": ..., "images_per_s": ...,
   "test_acc_after_1_epoch": ..., ...}

Run with Debian's python (the one that has torch):

  /usr/bin/python3 tests/bench/torch_classifier.py --threads 2

The IDX .gz files are read directly with gzip + numpy (dataset-fashion-mnist, or --data / the
FR_FMNIST_DIR environment variable). All tensors are preprocessed and held in memory before the
clock starts; data_seconds reports that part separately. epoch_seconds is the mean wall time of the
step loop per epoch (forward, backward, optimiser step over 938 batches of 64, the last one partial);
images_per_s = 60000 / epoch_seconds. The test accuracy is measured in eval mode after the first
epoch (and after the last as test_acc_final).
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.2860, 0.3530
DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path, magic, ndim):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        buf = f.read()
    m, = struct.unpack(">I", buf[:4])
    if m != magic:
        sys.exit(f"{path}: not an IDX file (magic {m:#010x}, expected {magic:#010x})")
    dims = struct.unpack(f">{ndim}I", buf[4:4 + 4 * ndim])
    data = np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        sys.exit(f"{path}: {data.size} bytes of data, expected {int(np.prod(dims))}")
    return data.reshape(dims)


def find(d, base):
    for name in (base + ".gz", base):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    sys.exit(f"Fashion-MNIST not found at {d}: install it with `sudo apt install dataset-fashion-mnist`")


def load_split(d, split):
    x = read_idx(find(d, f"{split}-images-idx3-ubyte"), 0x803, 3)
    y = read_idx(find(d, f"{split}-labels-idx1-ubyte"), 0x801, 1)
    assert len(x) == len(y) and y.max() < 10
    # pixels / 255, then (x - 0.2860) / 0.3530, NCHW
    xt = torch.from_numpy(x.astype(np.float32)).div_(255.0).sub_(MEAN).div_(STD).unsqueeze(1).contiguous()
    return xt, torch.from_numpy(y.astype(np.int64))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = torch.flatten(x, 1)  # 1568
        x = self.drop(F.relu(self.fc1(x)))
        return self.fc2(x)


@torch.no_grad()
def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser(description="PyTorch peer benchmark for the Fashion-MNIST classifier")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=os.environ.get("FR_FMNIST_DIR") or DEFAULT_DIR)
    args = ap.parse_args()

    default_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    t0 = time.perf_counter()
    xtr, ytr = load_split(args.data, "train")
    xte, yte = load_split(args.data, "t10k")
    data_seconds = time.perf_counter() - t0

    model = Net()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    gen = torch.Generator().manual_seed(args.seed)
    n = len(xtr)

    epoch_times, losses, acc1 = [], [], None
    shuffle_seconds = 0.0
    for epoch in range(args.epochs):
        # the epoch's shuffled copy is made before the clock starts (data pipeline, not the step loop)
        ts = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        xs, ys = xtr[perm].contiguous(), ytr[perm].contiguous()
        shuffle_seconds += time.perf_counter() - ts

        model.train()
        total = 0.0
        t = time.perf_counter()
        for i in range(0, n, args.batch):
            xb, yb = xs[i:i + args.batch], ys[i:i + args.batch]
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        epoch_times.append(time.perf_counter() - t)
        losses.append(total / n)
        if epoch == 0:
            acc1 = accuracy(model, xte, yte)

    te = time.perf_counter()
    acc_final = accuracy(model, xte, yte)
    eval_seconds = time.perf_counter() - te
    epoch_seconds = sum(epoch_times) / len(epoch_times)
    out = {
        "peer": "pytorch",
        "version": torch.__version__,
        "threads": args.threads,
        "default_threads": default_threads,
        "epochs": args.epochs,
        "batch": args.batch,
        "epoch_seconds": round(epoch_seconds, 3),
        "epoch_seconds_each": [round(s, 3) for s in epoch_times],
        "images_per_s": round(n / epoch_seconds, 1),
        "test_acc_after_1_epoch": round(acc1, 4),
        "test_acc_final": round(acc_final, 4),
        "train_loss_per_epoch": [round(l, 4) for l in losses],
        "data_seconds": round(data_seconds, 3),
        "shuffle_seconds": round(shuffle_seconds, 3),
        "eval_seconds": round(eval_seconds, 3),
        "params": sum(p.numel() for p in model.parameters()),
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
