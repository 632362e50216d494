#!/usr/bin/python3
"""makemore.py — nnrun's sequence layers and makemore specs against PyTorch.

1. Layers: for specs/makemore_rnn.yaml and makemore_gru.yaml (backpropagation through
   16 positions, the padded ones ignored; and through 1 and 2 positions,
   tests/parity/seq/recurrent_short.yaml, at step 1 where the start state is not 0),
   specs/makemore_transformer.yaml, specs/makemore_bow.yaml and
   tests/parity/seq/seq_layers.yaml (the variants makemore does not use: exact GELU,
   attention without bias and without the causal mask, LayerNorm without affine), nnrun
   writes every tensor of step 0 (--dump-step 0); the same model in torch (nn.Embedding,
   nn.Linear, nn.LayerNorm, F.gelu, softmax attention, makemore.py's RNNCell and GRUCell in a
   Python loop, F.cross_entropy with ignore_index=-1)
   gets nnrun's weights and batch, and every activation, the loss and every parameter
   gradient must agree: max |nnrun - torch| <= 1e-5 * max(1, |torch|) element-wise.
2. makemore.py's procedure in torch (manual_seed(3407), randperm, the model, a DataLoader
   with RandomSampler(replacement=True), AdamW(lr 5e-4, wd 0.01, betas 0.9/0.99)): its
   initial weights against nnrun's (1e-6: torch's vectorised log/sin/cos differ from libm by
   <= 2.4e-7), and its loss at each of 20 steps against nnrun's metrics.csv (1e-5).
   The transformer twice: as specified (4 blocks), and cut to one block of the spec
   (`--set model.1.repeat.n=1`) against one torch Block between the same embeddings and
   head — the same weights (1e-6), 20 AdamW steps, every step's loss to 1e-5.

Usage: /usr/bin/python3 tests/parity/makemore.py NNRUN_BINARY [WORK_DIR]
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(os.path.dirname(HERE))
TOL = 1e-5
failures = []
torch.set_num_threads(1)


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    header.pop("__metadata__", None)
    types = {"F32": np.float32, "I32": np.int32, "U32": np.uint32, "U64": np.uint64}
    out = {}
    for name, e in header.items():
        lo, hi = e["data_offsets"]
        a = np.frombuffer(blob[8 + n + lo : 8 + n + hi], dtype=types[e["dtype"]])
        out[name] = torch.from_numpy(a.reshape(e["shape"]).copy())
    return out


def compare(what, ours, theirs, tol=TOL):
    ours = ours.detach().double().reshape(theirs.shape)
    theirs = theirs.detach().double()
    excess = ((ours - theirs).abs() - tol * theirs.abs().clamp(min=1)).max().item()
    worst = (ours - theirs).abs().max().item()
    ok = excess <= 0
    if not ok:
        failures.append(what)
    print(f"  {'ok  ' if ok else 'FAIL'} {what:44s} max |diff| {worst:.3g}")


# ---- the models, module by module in makemore.py's construction order --------------------


class Attention(nn.Module):
    def __init__(self, c, heads, causal=True, bias=True):
        super().__init__()
        self.qkv = nn.Linear(c, 3 * c, bias=bias)
        self.proj = nn.Linear(c, c, bias=bias)
        self.heads, self.causal = heads, causal

    def forward(self, x, acts, name):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        hs = C // self.heads
        q, k, v = (t.view(B, T, self.heads, hs).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        if self.causal:
            mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
            att = att.masked_fill(~mask, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        acts[name + ".att"] = att
        acts[name + ".out"] = y
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, c, heads, approx="tanh", causal=True, bias=True, affine=True):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c, elementwise_affine=affine)
        self.attn = Attention(c, heads, causal, bias)
        self.ln_2 = nn.LayerNorm(c, elementwise_affine=affine)
        self.fc = nn.Linear(c, 4 * c)
        self.fc2 = nn.Linear(4 * c, c)
        self.approx = approx

    def forward(self, x, acts, p):
        h = self.ln_1(x)
        acts[p + "layernorm.out"] = h
        x = x + self.attn(h, acts, p + "attention")
        acts[p + "residual.out"] = x
        h = self.ln_2(x)
        acts[p + "layernorm_1.out"] = h
        h = self.fc(h)
        acts[p + "linear.out"] = h
        h = F.gelu(h, approximate=self.approx)
        acts[p + "gelu.out"] = h
        x = x + self.fc2(h)
        acts[p + "residual_1.out"] = x
        return x


class Transformer(nn.Module):
    def __init__(self, V=27, T=16, c=64, layers=4, heads=4):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, c), nn.Embedding(T, c)
        self.h = nn.ModuleList([Block(c, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(c)
        self.lm_head = nn.Linear(c, V, bias=False)

    def params(self):  # nnrun's name -> (torch parameter, transposed)
        m = {"layers.0.weight": (self.wte.weight, 0), "layers.0.positions": (self.wpe.weight, 0)}
        for i, b in enumerate(self.h):
            p = f"blocks.{i}."
            m.update({p + "layernorm.weight": (b.ln_1.weight, 0), p + "layernorm.bias": (b.ln_1.bias, 0),
                      p + "attention.qkv.weight": (b.attn.qkv.weight, 1), p + "attention.qkv.bias": (b.attn.qkv.bias, 0),
                      p + "attention.proj.weight": (b.attn.proj.weight, 1), p + "attention.proj.bias": (b.attn.proj.bias, 0),
                      p + "layernorm_1.weight": (b.ln_2.weight, 0), p + "layernorm_1.bias": (b.ln_2.bias, 0),
                      p + "linear.weight": (b.fc.weight, 1), p + "linear.bias": (b.fc.bias, 0),
                      p + "linear_1.weight": (b.fc2.weight, 1), p + "linear_1.bias": (b.fc2.bias, 0)})
        m.update({"layers.2.weight": (self.ln_f.weight, 0), "layers.2.bias": (self.ln_f.bias, 0),
                  "layers.3.weight": (self.lm_head.weight, 1)})
        return m

    def forward(self, idx, acts):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        acts["layers.0.out"] = x
        for i, b in enumerate(self.h):
            x = b(x, acts, f"blocks.{i}.")
        x = self.ln_f(x)
        acts["layers.2.out"] = x
        return self.lm_head(x)


class BoW(nn.Module):
    def __init__(self, V=27, T=16, c=64):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, c), nn.Embedding(T, c)
        self.fc, self.proj = nn.Linear(c, c), nn.Linear(c, c)
        self.lm_head = nn.Linear(c, V)

    def params(self):
        return {"layers.0.weight": (self.wte.weight, 0), "layers.0.positions": (self.wpe.weight, 0),
                "layers.2.linear.weight": (self.fc.weight, 1), "layers.2.linear.bias": (self.fc.bias, 0),
                "layers.2.linear_1.weight": (self.proj.weight, 1), "layers.2.linear_1.bias": (self.proj.bias, 0),
                "layers.3.weight": (self.lm_head.weight, 1), "layers.3.bias": (self.lm_head.bias, 0)}

    def forward(self, idx, acts):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T))
        acts["layers.0.out"] = x
        att = torch.zeros(T, T).masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
        m = F.softmax(att, dim=-1) @ x  # makemore's CausalBoW
        acts["layers.1.causal_mean.out"] = m
        x = x + m
        acts["layers.1.residual.out"] = x
        x = x + self.proj(torch.tanh(self.fc(x)))
        acts["layers.2.residual.out"] = x
        return self.lm_head(x)


class Bigram(nn.Module):
    def __init__(self, V=27):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(V, V))

    def params(self):
        return {"layers.0.weight": (self.logits, 0)}

    def forward(self, idx, acts):
        return self.logits[idx]


class MLP(nn.Module):
    def __init__(self, V=27, T=16, c=64, c2=64):
        super().__init__()
        self.wte = nn.Embedding(V + 1, c)  # + the blank token
        self.fc, self.out = nn.Linear(T * c, c2), nn.Linear(c2, V)
        self.V, self.T = V, T

    def params(self):
        return {"layers.0.weight": (self.wte.weight, 0), "layers.1.weight": (self.fc.weight, 1),
                "layers.1.bias": (self.fc.bias, 0), "layers.3.weight": (self.out.weight, 1),
                "layers.3.bias": (self.out.bias, 0)}

    def forward(self, idx, acts):
        embs = []
        for _ in range(self.T):  # makemore.py's roll: newest first, blank before the start
            embs.append(self.wte(idx))
            idx = torch.roll(idx, 1, 1)
            idx[:, 0] = self.V
        x = torch.cat(embs, -1)
        acts["layers.0.out"] = x
        return self.out(torch.tanh(self.fc(x)))


class SeqLayers(nn.Module):
    """tests/parity/seq/seq_layers.yaml: the variants makemore does not use."""

    def __init__(self, V=27, T=16, c=24):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, c), nn.Embedding(T, c)
        self.block = Block(c, 3, approx="none", causal=False, bias=False, affine=False)
        self.lm_head = nn.Linear(c, V)

    def params(self):
        b = self.block
        return {"layers.0.weight": (self.wte.weight, 0), "layers.0.positions": (self.wpe.weight, 0),
                "blocks.0.attention.qkv.weight": (b.attn.qkv.weight, 1),
                "blocks.0.attention.proj.weight": (b.attn.proj.weight, 1),
                "blocks.0.linear.weight": (b.fc.weight, 1), "blocks.0.linear.bias": (b.fc.bias, 0),
                "blocks.0.linear_1.weight": (b.fc2.weight, 1), "blocks.0.linear_1.bias": (b.fc2.bias, 0),
                "layers.3.weight": (self.lm_head.weight, 1), "layers.3.bias": (self.lm_head.bias, 0)}

    def forward(self, idx, acts):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T))
        acts["layers.0.out"] = x
        x = self.block(x, acts, "blocks.0.")
        m = torch.cumsum(x, dim=1) / torch.arange(1, T + 1).view(1, T, 1)
        acts["layers.2.out"] = m
        return self.lm_head(m)


class RNNCell(nn.Module):  # makemore.py's
    def __init__(self, e, h):
        super().__init__()
        self.xh_to_h = nn.Linear(e + h, h)

    def forward(self, xt, hprev):
        return torch.tanh(self.xh_to_h(torch.cat([xt, hprev], dim=1)))


class GRUCell(nn.Module):  # makemore.py's, its Linears built in its order: z, r, hbar
    def __init__(self, e, h):
        super().__init__()
        self.xh_to_z = nn.Linear(e + h, h)
        self.xh_to_r = nn.Linear(e + h, h)
        self.xh_to_hbar = nn.Linear(e + h, h)

    def forward(self, xt, hprev):
        xh = torch.cat([xt, hprev], dim=1)
        r = torch.sigmoid(self.xh_to_r(xh))
        xhr = torch.cat([xt, r * hprev], dim=1)
        hbar = torch.tanh(self.xh_to_hbar(xhr))
        z = torch.sigmoid(self.xh_to_z(xh))
        return (1 - z) * hprev + z * hbar


class RNN(nn.Module):
    """makemore.py's RNN (cell rnn or gru): a learned start state, the cell at every
    position, the head on every state; `flatten`: the states of all T positions side by
    side into one head (tests/parity/seq/recurrent_short.yaml, head at layers.3)."""

    def __init__(self, cell="rnn", V=27, c=64, c2=64, flatten=0):
        super().__init__()
        self.start = nn.Parameter(torch.zeros(1, c2))
        self.wte = nn.Embedding(V, c)
        self.cell = (GRUCell if cell == "gru" else RNNCell)(c, c2)
        self.lm_head = nn.Linear(c2 * (flatten or 1), V)
        self.kind, self.flatten = cell, flatten

    def params(self):
        head = "layers.3." if self.flatten else "layers.2."
        m = {"layers.0.weight": (self.wte.weight, 0), "layers.1.start": (self.start, 0),
             head + "weight": (self.lm_head.weight, 1), head + "bias": (self.lm_head.bias, 0)}
        if self.kind == "gru":
            for g, lin in (("z", self.cell.xh_to_z), ("r", self.cell.xh_to_r), ("hbar", self.cell.xh_to_hbar)):
                m[f"layers.1.{g}.weight"] = (lin.weight, 1)
                m[f"layers.1.{g}.bias"] = (lin.bias, 0)
        else:
            m["layers.1.weight"] = (self.cell.xh_to_h.weight, 1)
            m["layers.1.bias"] = (self.cell.xh_to_h.bias, 0)
        return m

    def forward(self, idx, acts):
        emb = self.wte(idx)
        acts["layers.0.out"] = emb
        hprev = self.start.expand((idx.shape[0], -1))
        hiddens = []
        for i in range(idx.shape[1]):
            hprev = self.cell(emb[:, i, :], hprev)
            hiddens.append(hprev)
        hidden = torch.stack(hiddens, 1)
        acts["layers.1.out"] = hidden
        if self.flatten:
            hidden = hidden.reshape(idx.shape[0], -1)
        return self.lm_head(hidden)


MODELS = {"transformer": Transformer, "bow": BoW, "bigram": Bigram, "mlp": MLP,
          "rnn": lambda: RNN("rnn"), "gru": lambda: RNN("gru")}


def load_weights(model, W):
    with torch.no_grad():
        for name, (p, tr) in model.params().items():
            p.copy_(W[name].t() if tr else W[name])


# ---- 1. one step, layer by layer ----------------------------------------------------------


def check_layers(nnrun, work, spec, model, sets=(), what="", step=0):
    out = os.path.join(work, os.path.basename(spec)[:-5] + what.replace(" ", "_"))
    sets = [a for kv in sets for a in ("--set", kv)]
    subprocess.run([nnrun, spec, "--set", f"train.steps={step + 1}", *sets, "--dump-step", str(step),
                    "--threads", "1", "--out", out, "--quiet", "--force"], check=True)
    D = read_safetensors(os.path.join(out, "dump.safetensors"))
    print(f"{os.path.relpath(spec, SRCDIR)}{what}: step {step}, layer by layer")
    if isinstance(model, RNN):
        T = D["x"].shape[1]
        ignored = int((D["y"] == -1).sum())
        if T != model.flatten and T != 16 or (T == 16 and ignored == 0):
            failures.append(f"{spec}{what}: sequence length {T}, {ignored} ignored positions")
        print(f"  sequence length {T}, {ignored} ignored positions")
    load_weights(model, D)
    acts = {}
    logits = model(D["x"].long(), acts)
    for a in acts.values():
        a.retain_grad()
    loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), D["y"].long().view(-1), ignore_index=-1)
    loss.backward()
    compare("loss", D["loss"], loss.reshape(1))
    for name, a in acts.items():
        if name in D:
            compare(name, D[name], a)
        if "d" + name in D and a.grad is not None:
            compare("d" + name, D["d" + name], a.grad)
    for name, (p, tr) in model.params().items():
        compare("d" + name, D["d" + name], p.grad.t() if tr else p.grad)


# ---- 2. makemore.py's procedure, 20 AdamW steps -------------------------------------------


def makemore_losses(kind, steps, layers=None):
    words = [w.strip() for w in open(os.path.join(SRCDIR, "examples/data/names.txt"))]
    words = [w for w in words if w]
    torch.manual_seed(3407)
    rp = torch.randperm(len(words)).tolist()
    train = [words[i] for i in rp[:-1000]]
    T = max(len(w) for w in words) + 1
    X = torch.zeros(len(train), T, dtype=torch.long)
    Y = torch.full((len(train), T), -1, dtype=torch.long)
    for i, w in enumerate(train):
        ix = torch.tensor([ord(ch) - ord("a") + 1 for ch in w])
        X[i, 1 : 1 + len(ix)] = ix
        Y[i, : len(ix)] = ix
        Y[i, len(ix)] = 0
    model = MODELS[kind]() if layers is None else MODELS[kind](layers=layers)
    init = {n: (p.detach().t().clone() if tr else p.detach().clone()) for n, (p, tr) in model.params().items()}
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)
    sampler = torch.utils.data.RandomSampler(range(len(train)), replacement=True, num_samples=int(1e10))
    loader = iter(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y), batch_size=32,
                                              sampler=sampler))
    losses = []
    for _ in range(steps):
        x, y = next(loader)
        logits = model(x, {})
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), ignore_index=-1)
        model.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return init, losses


def check_replay(nnrun, work, kind, steps=20, layers=None):
    spec = os.path.join(SRCDIR, "specs", f"makemore_{kind}.yaml")
    out = os.path.join(work, f"replay_{kind}{layers or ''}")
    cut = ["--set", f"model.1.repeat.n={layers}"] if layers else []
    subprocess.run([nnrun, spec, "--set", f"train.steps={steps}", "--set", "eval.every=0",
                    "--dump-step", "0", "--threads", "1", "--out", out, "--quiet", "--force",
                    *cut], check=True)
    print(f"specs/makemore_{kind}.yaml{' with one block' if layers else ''}: "
          f"makemore.py's procedure, {steps} AdamW steps")
    init, losses = makemore_losses(kind, steps, layers)
    D = read_safetensors(os.path.join(out, "dump.safetensors"))
    for name, w in init.items():
        compare("initial " + name, D[name], w, tol=1e-6)
    ours = []
    with open(os.path.join(out, "metrics.csv")) as f:
        head = f.readline().strip().split(",")
        for line in f:
            row = dict(zip(head, line.strip().split(",")))
            if row["loss"]:
                ours.append(float(row["loss"]))
    compare(f"losses of steps 0..{steps - 1}", torch.tensor(ours), torch.tensor(losses))


def main():
    nnrun = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "./nnrun")
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="nnrun-makemore-")
    torch.manual_seed(0)
    check_layers(nnrun, work, os.path.join(SRCDIR, "specs/makemore_transformer.yaml"), Transformer())
    check_layers(nnrun, work, os.path.join(SRCDIR, "specs/makemore_bow.yaml"), BoW())
    check_layers(nnrun, work, os.path.join(HERE, "seq/seq_layers.yaml"), SeqLayers())
    check_layers(nnrun, work, os.path.join(SRCDIR, "specs/makemore_mlp.yaml"), MLP())
    for kind in ("rnn", "gru"):  # backpropagation through time: 16 positions, some ignored
        check_layers(nnrun, work, os.path.join(SRCDIR, f"specs/makemore_{kind}.yaml"), RNN(kind))
        for T in (1, 2):
            check_layers(nnrun, work, os.path.join(HERE, "seq/recurrent_short.yaml"),
                         RNN(kind, c=10, c2=12, flatten=T),
                         (f"data.context={T}", f"model.1.recurrent.cell={kind}"), f" {kind} T={T}",
                         step=1)  # after one step the start state is no longer 0
    for kind in ("transformer", "bow", "bigram", "mlp", "rnn", "gru"):
        check_replay(nnrun, work, kind)
    check_replay(nnrun, work, "transformer", layers=1)  # one block of the spec against torch's
    if failures:
        print(f"FAILED: {len(failures)} comparisons: {', '.join(failures[:10])}")
        return 1
    print("all comparisons hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
