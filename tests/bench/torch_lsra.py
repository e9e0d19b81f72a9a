#!/usr/bin/python3
"""PyTorch peer for tests/bench/bench-lsra.c: the Transformer translation models' decoding and
training speed.

The model: torch.nn.Transformer of Frontier's "transformer-small" (d 72) and "transformer" (d 128)
configs: 3 + 3 layers, 4 heads, dim_feedforward 4d, ReLU, post-norm (norm_first=False), dropout 0,
batch_first, layer-norm eps 1e-5, built as nn.Transformer(custom_encoder=nn.TransformerEncoder(...,
norm=None), custom_decoder=...) so that, like fairseq's post-norm model and Frontier's, there is no
extra final layer norm. Around it: one nn.Embedding(8000, d) shared by the source, the target and the
output projection (tied, as Frontier's share_all), embeddings * sqrt(d) plus fairseq's sinusoidal
positions 1..T. So the two sides compute the same function (checked with --check on Frontier's
weights) and do the same multiply-adds.

Cases (the same as bench-lsra.c; a source is 29 random ids + </s>; 30 output tokens per sentence,
</s> not special, so every run does the same work):
  greedy1   one sentence, greedy. Peer "pytorch": the usual nn.Transformer decoding (PyTorch's
            translation tutorial): the encoder once, then each step the decoder re-run over the whole
            prefix with a causal mask, the last row projected, log_softmax, argmax.
            Peer "pytorch-kvcache" (best effort, our own code): the same modules' weights driven
            incrementally, one new row per step with cached self-attention keys/values and the
            encoder-decoder keys/values projected once (what Frontier's decoder does); nn.Transformer
            has no incremental API, so this is hand-written torch ops on its parameters.
  beam4     one sentence, beam 4 (4 hypotheses as a batch), top-4 of 4 x vocab by summed log-prob,
            prefixes/caches reordered each step.
  batch32   32 different sentences greedily together.
  train     one teacher-forced step on 128 pairs of 30 + 30 tokens: model.train(), zero_grad, forward,
            F.cross_entropy(label_smoothing=0.1) over the 3840 target tokens, backward. ("pytorch")
Everything but train runs under torch.inference_mode() with model.eval().

Timing: one JSON line per case and peer, {"peer", "case", "threads", "ms": median, "ms_min",
"cpu_ms", "tokens", "tokens_per_s", ...}; torch.set_num_threads(T), `--warmup` untimed runs, then
the median of `--runs`.

  /usr/bin/python3 tests/bench/torch_lsra.py --threads 1 --cases greedy1_transformer
  /usr/bin/python3 tests/bench/torch_lsra.py --check DIR     # against `bench-lsra --export DIR`

Run with Debian's python (the one that has torch).
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB = 8000
SRC_IDS = 29
STEPS = 30
TRAIN_B, TRAIN_T = 128, 30
EOS = 3
MODELS = {"transformer-small": 72, "transformer": 128}
KINDS = ["greedy1", "beam4", "batch32", "train"]
DEFAULT_CASES = [f"{k}_{m}" for k in KINDS for m in MODELS]


def sinusoid(d, T):
    """fairseq's positions 1..T: d/2 sines then d/2 cosines, frequencies 10000^(-i / (d/2 - 1))."""
    half = d // 2
    freq = torch.exp(torch.arange(half, dtype=torch.float64) * -(math.log(10000.0) / (half - 1)))
    ang = torch.arange(1, T + 1, dtype=torch.float64)[:, None] * freq[None, :]
    pe = torch.zeros(T, d, dtype=torch.float64)
    pe[:, :half] = torch.sin(ang)
    pe[:, half:2 * half] = torch.cos(ang)
    return pe.float()


class Translator(nn.Module):
    def __init__(self, d, heads=4, layers=3):
        super().__init__()
        self.d = d
        self.embed = nn.Embedding(VOCAB, d)
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, heads, 4 * d, 0.0, batch_first=True),
                                    layers, norm=None, enable_nested_tensor=False)
        dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(d, heads, 4 * d, 0.0, batch_first=True),
                                    layers, norm=None)
        self.tf = nn.Transformer(d, heads, custom_encoder=enc, custom_decoder=dec, dropout=0.0, batch_first=True)
        self.register_buffer("pos", sinusoid(d, 256), persistent=False)
        self.scale = math.sqrt(d)

    def emb(self, ids, start=0):
        return self.embed(ids) * self.scale + self.pos[start:start + ids.shape[1]]

    def encode(self, src):
        return self.tf.encoder(self.emb(src))

    def project(self, x):
        return F.linear(x, self.embed.weight)

    def decode_prefix(self, ys, memory):
        T = ys.shape[1]
        mask = self.tf.generate_square_subsequent_mask(T)
        return self.tf.decoder(self.emb(ys), memory, tgt_mask=mask)

    def loss(self, src, tgt_in, tgt_out):
        mask = self.tf.generate_square_subsequent_mask(tgt_in.shape[1])
        x = self.tf(self.emb(src), self.emb(tgt_in), tgt_mask=mask)
        return F.cross_entropy(self.project(x).reshape(-1, VOCAB), tgt_out.reshape(-1), label_smoothing=0.1)


# ---- the usual decoding: re-run the decoder on the prefix every step ----

def naive_greedy(model, src):
    memory = model.encode(src)
    ys = torch.full((src.shape[0], 1), EOS, dtype=torch.long)
    for _ in range(STEPS):
        out = model.decode_prefix(ys, memory)
        lp = F.log_softmax(model.project(out[:, -1]), dim=-1)
        ys = torch.cat([ys, lp.argmax(-1, keepdim=True)], dim=1)
    return ys[:, 1:]


def beam_select(lp, score, beam, first):
    cand = (score[:, None] + lp)
    if first:
        cand = cand[:1]
    top, idx = cand.reshape(-1).topk(beam)
    return top, idx // VOCAB, idx % VOCAB


def naive_beam(model, src, beam=4):
    memory = model.encode(src).expand(beam, -1, -1)
    ys = torch.full((beam, 1), EOS, dtype=torch.long)
    score = torch.zeros(beam)
    for s in range(STEPS):
        out = model.decode_prefix(ys, memory)
        lp = F.log_softmax(model.project(out[:, -1]), dim=-1)
        score, order, tok = beam_select(lp, score, beam, s == 0)
        ys = torch.cat([ys[order], tok[:, None]], dim=1)
    return ys[:, 1:]


# ---- best effort: incremental decoding with caches on the same modules' weights ----

class Cached:
    def __init__(self, model, memory, max_steps):
        self.m = model
        B, S, d = memory.shape
        self.B, self.d = B, d
        self.layers = model.tf.decoder.layers
        self.H = self.layers[0].self_attn.num_heads
        self.D = d // self.H
        self.t = 0
        self.k = [torch.empty(B, self.H, max_steps, self.D) for _ in self.layers]
        self.v = [torch.empty(B, self.H, max_steps, self.D) for _ in self.layers]
        self.ck, self.cv = [], []
        for L in self.layers:
            W, b = L.multihead_attn.in_proj_weight, L.multihead_attn.in_proj_bias
            kv = F.linear(memory, W[d:], b[d:])
            k, v = kv.split(d, dim=-1)
            self.ck.append(k.reshape(B, S, self.H, self.D).transpose(1, 2))
            self.cv.append(v.reshape(B, S, self.H, self.D).transpose(1, 2))

    def heads(self, x):
        return x.reshape(self.B, 1, self.H, self.D).transpose(1, 2)

    def attend(self, q, k, v):
        a = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(self.D), dim=-1) @ v
        return a.transpose(1, 2).reshape(self.B, 1, self.d)

    def step(self, tok):
        d, t = self.d, self.t
        x = self.m.emb(tok[:, None], start=t)
        for i, L in enumerate(self.layers):
            sa = L.self_attn
            q, k, v = F.linear(x, sa.in_proj_weight, sa.in_proj_bias).split(d, dim=-1)
            self.k[i][:, :, t] = k.reshape(self.B, self.H, self.D)
            self.v[i][:, :, t] = v.reshape(self.B, self.H, self.D)
            a = self.attend(self.heads(q), self.k[i][:, :, :t + 1], self.v[i][:, :, :t + 1])
            x = L.norm1(x + sa.out_proj(a))
            ca = L.multihead_attn
            q = F.linear(x, ca.in_proj_weight[:d], ca.in_proj_bias[:d])
            x = L.norm2(x + ca.out_proj(self.attend(self.heads(q), self.ck[i], self.cv[i])))
            x = L.norm3(x + L.linear2(F.relu(L.linear1(x))))
        self.t += 1
        return F.log_softmax(self.m.project(x[:, 0]), dim=-1)

    def reorder(self, order):
        for i in range(len(self.layers)):
            self.k[i] = self.k[i][order]
            self.v[i] = self.v[i][order]


def cached_greedy(model, src):
    c = Cached(model, model.encode(src), STEPS)
    tok = torch.full((src.shape[0],), EOS, dtype=torch.long)
    out = []
    for _ in range(STEPS):
        tok = c.step(tok).argmax(-1)
        out.append(tok)
    return torch.stack(out, 1)


def cached_beam(model, src, beam=4):
    c = Cached(model, model.encode(src).expand(beam, -1, -1), STEPS)
    tok = torch.full((beam,), EOS, dtype=torch.long)
    score = torch.zeros(beam)
    for s in range(STEPS):
        lp = c.step(tok)
        score, order, tok = beam_select(lp, score, beam, s == 0)
        c.reorder(order)
    return tok


# ---- cases ----

def rng_ids(n, length, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(4, VOCAB, (n, length), generator=g)


def with_eos(ids):
    return torch.cat([ids, torch.full((ids.shape[0], 1), EOS, dtype=torch.long)], dim=1)


def make_case(name):
    kind, model_name = name.split("_", 1)
    torch.manual_seed(1)
    model = Translator(MODELS[model_name])
    if kind == "train":
        src = with_eos(rng_ids(TRAIN_B, TRAIN_T - 1, 21))
        tgt = rng_ids(TRAIN_B, TRAIN_T - 1, 22)
        tgt_in = torch.cat([torch.full((TRAIN_B, 1), EOS, dtype=torch.long), tgt], 1)
        tgt_out = with_eos(tgt)

        def train():
            model.zero_grad(set_to_none=True)
            loss = model.loss(src, tgt_in, tgt_out)
            loss.backward()
        model.train()
        return kind, model_name, {"pytorch": train}, TRAIN_B * TRAIN_T
    model.eval()
    n = 32 if kind == "batch32" else 1
    src = with_eos(rng_ids(n, SRC_IDS, 11))
    if kind == "beam4":
        fns = {"pytorch": lambda: naive_beam(model, src), "pytorch-kvcache": lambda: cached_beam(model, src)}
    else:
        fns = {"pytorch": lambda: naive_greedy(model, src), "pytorch-kvcache": lambda: cached_greedy(model, src)}
    return kind, model_name, fns, n * STEPS


def run(args):
    torch.set_num_threads(args.threads)
    cases = args.cases.split(",") if args.cases else DEFAULT_CASES
    for name in cases:
        if name.split("_", 1)[1] not in MODELS:
            continue  # the Lite models have no PyTorch peer
        kind, model_name, fns, tokens = make_case(name)
        for peer, fn in fns.items():
            if args.peers and peer not in args.peers.split(","):
                continue
            ctx = torch.enable_grad() if kind == "train" else torch.inference_mode()
            t, cpu = [], []
            with ctx:
                for i in range(args.warmup + args.runs):
                    c0, t0 = time.process_time(), time.perf_counter()
                    fn()
                    dt = (time.perf_counter() - t0) * 1e3
                    if i >= args.warmup:
                        t.append(dt)
                        cpu.append((time.process_time() - c0) * 1e3)
            ms = float(np.median(t))
            print(json.dumps({"peer": peer, "case": name, "kind": kind, "model": model_name,
                              "d_model": MODELS[model_name], "threads": args.threads, "ms": round(ms, 3),
                              "ms_min": round(min(t), 3), "cpu_ms": round(float(np.median(cpu)), 3),
                              "tokens": tokens, "tokens_per_s": round(tokens * 1e3 / ms, 1),
                              "runs": args.runs, "torch": torch.__version__}), flush=True)


# ---- --check: Frontier's weights in this model, Frontier's log-probs along its greedy path ----

def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", (k, v["dtype"])
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"]).copy())
    return out, header.get("__metadata__", {})


def load_frontier(model, w):
    """Frontier's names (engine/lsra/fr-lsra-model.c) onto nn.Transformer's."""
    with torch.no_grad():
        model.embed.weight.copy_(w["embed"])
        for side, layers in (("enc", model.tf.encoder.layers), ("dec", model.tf.decoder.layers)):
            for i, L in enumerate(layers):
                p = f"{side}.{i}."
                attns = [("self.", L.self_attn)] + ([("cross.", L.multihead_attn)] if side == "dec" else [])
                for name, a in attns:
                    a.in_proj_weight.copy_(torch.cat([w[p + name + x + ".weight"] for x in "qkv"]))
                    a.in_proj_bias.copy_(torch.cat([w[p + name + x + ".bias"] for x in "qkv"]))
                    a.out_proj.weight.copy_(w[p + name + "o.weight"])
                    a.out_proj.bias.copy_(w[p + name + "o.bias"])
                L.linear1.weight.copy_(w[p + "ffn1.weight"])
                L.linear1.bias.copy_(w[p + "ffn1.bias"])
                L.linear2.weight.copy_(w[p + "ffn2.weight"])
                L.linear2.bias.copy_(w[p + "ffn2.bias"])
                norms = [L.norm1, L.norm2] + ([L.norm3] if side == "dec" else [])
                for j, nm in enumerate(norms):
                    nm.weight.copy_(w[p + f"ln{j + 1}.weight"])
                    nm.bias.copy_(w[p + f"ln{j + 1}.bias"])


def check(d):
    for model_name, dm in MODELS.items():
        w, _ = read_safetensors(os.path.join(d, model_name + ".safetensors"))
        io, _ = read_safetensors(os.path.join(d, model_name + ".io.safetensors"))
        model = Translator(dm)
        load_frontier(model, w)
        model.eval()
        src = with_eos(io["src"].long())
        fed = io["tokens"].long()[None]
        want = io["logprobs"]
        with torch.inference_mode():
            memory = model.encode(src)
            # teacher-forced along Frontier's greedy path: every step's log-probs at once
            full = F.log_softmax(model.project(model.decode_prefix(fed, memory)[0]), dim=-1)
            c = Cached(model, memory, STEPS)
            inc = torch.stack([c.step(fed[:, s])[0] for s in range(STEPS)])
            greedy = naive_greedy(model, src)[0]
            greedy_c = cached_greedy(model, src)[0]
        frontier_tokens = torch.cat([fed[0, 1:], want[-1].argmax()[None]])
        print(json.dumps({"model": model_name,
                          "max_abs_diff_logprobs_frontier_vs_nn_transformer": float((full - want).abs().max()),
                          "max_abs_diff_logprobs_kvcache_vs_nn_transformer": float((inc - full).abs().max()),
                          "greedy_tokens_equal_frontier_vs_pytorch": bool(torch.equal(greedy, frontier_tokens)),
                          "greedy_tokens_equal_kvcache_vs_pytorch": bool(torch.equal(greedy_c, greedy))}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--cases", default="")
    ap.add_argument("--peers", default="", help="pytorch,pytorch-kvcache (default both)")
    ap.add_argument("--check", metavar="DIR")
    args = ap.parse_args()
    if args.check:
        torch.set_num_threads(args.threads)
        check(args.check)
        return
    run(args)


if __name__ == "__main__":
    main()
