"""torchside.py — the PyTorch side of rules.py, written from docs/spec.md: the data as the
data section describes it, the model (layers, BatchNorm's table of conventions), the losses
and reductions, the l2 term, the learning-rate formulas and the optimizers of the "Training
rules and their PyTorch counterparts" table.  Computes in float64."""
import math
import random

import numpy as np
import torch


# ---- the data, as docs/spec.md describes it -------------------------------------------


def text_examples(d, path):
    """data.source: one item per line; vocabulary '.' then the characters in code-point order;
    split counts after CPython's random.seed(seed); random.shuffle(items); contexts padded
    with '.' (id 0), every item ending with '.'."""
    with open(path, encoding="utf-8") as f:
        words = [w for w in f.read().splitlines() if w]
    itos = ["."] + sorted(set("".join(words)))
    stoi = {c: i for i, c in enumerate(itos)}
    random.seed(d["split"]["shuffle"]["seed"])
    random.shuffle(words)
    out, at = {}, 0
    for s in ("train", "dev", "test"):
        n = d["split"].get(s, 0)
        X, Y = [], []
        for w in words[at : at + n]:
            ctx = [0] * d["context"]
            for c in w + ".":
                X.append(ctx)
                Y.append(stoi[c])
                ctx = ctx[1:] + [stoi[c]]
        out[s] = (torch.tensor(X, dtype=torch.long), torch.tensor(Y, dtype=torch.long))
        at += n
    return out, itos


def csv_examples(d, path, loss):
    """data.csv: the x columns as features, y as the target (class ids for cross_entropy);
    split counts in file order (shuffle: false)."""
    rows = [l.split(",") for l in open(path).read().splitlines()]
    head, rows = rows[0], rows[1:]
    xi, yi = [head.index(c) for c in d["x"]], head.index(d["y"])
    X = torch.tensor([[float(np.float32(r[i])) for i in xi] for r in rows], dtype=torch.float64)
    Y = torch.tensor([float(np.float32(r[yi])) for r in rows], dtype=torch.float64)
    if loss == "cross_entropy":
        Y = Y.long()
    out, at = {}, 0
    for s in ("train", "dev", "test"):
        n = d["split"].get(s, 0)
        out[s] = (X[at : at + n], Y[at : at + n])
        at += n
    return out, None


# ---- the model ------------------------------------------------------------------------


def layer_items(spec):
    for i, entry in enumerate(spec["model"]):
        if isinstance(entry, str):
            yield i, entry, {}
        else:
            ((kind, opts),) = entry.items()
            yield i, kind, {"plugin": opts} if isinstance(opts, str) else dict(opts or {})


class BatchNorm:
    """docs/spec.md's batchnorm table: normalise by sqrt(v_n + eps); the running variance
    follows v_r, or the running std sqrt(v_r + eps); evaluation divides by
    sqrt(running_var + eps), or by running_std as it is."""

    def __init__(self, o, P, pre):
        self.variance = o.get("variance", "biased")
        self.eps, self.mom = float(o.get("eps", 1e-5)), float(o.get("momentum", 0.1))
        self.std = o.get("running", "var") == "std"
        self.over = o.get("over", "all")
        self.g, self.b = P[pre + "weight"], P[pre + "bias"]
        self.rm = P[pre + "running_mean"]
        self.rs = P[pre + ("running_std" if self.std else "running_var")]
        self.torch_bn = None
        if self.variance == "pytorch" and not self.std:
            # torch.nn.BatchNorm1d is this convention exactly: use it, sharing the tensors
            bn = torch.nn.BatchNorm1d(self.g.shape[0], eps=self.eps, momentum=self.mom).double()
            bn.weight, bn.bias = self.g, self.b
            bn.running_mean, bn.running_var = self.rm, self.rs
            self.torch_bn = bn

    def __call__(self, h, training):
        if self.torch_bn is not None and h.dim() == 2:
            return self.torch_bn.train(training)(h)
        if not training:
            div = self.rs if self.std else (self.rs + self.eps).sqrt()
            return self.g * (h - self.rm) / div + self.b
        # [B, C]: over the rows; [B, T, C]: over batch and time, or (over: batch) the batch
        # axis only, one statistic per position and channel
        dims = (0,) if h.dim() == 2 or self.over == "batch" else (0, 1)
        m = 1
        for d in dims:
            m *= h.shape[d]
        mean = h.mean(dims)
        S = ((h - mean) ** 2).sum(dims)
        v_n = S / (m - 1) if self.variance == "unbiased" else S / m
        v_r = S / m if self.variance == "biased" else S / (m - 1)
        with torch.no_grad():
            self.rm.mul_(1 - self.mom).add_(self.mom * mean)
            new = (v_r + self.eps).sqrt() if self.std else v_r
            self.rs.mul_(1 - self.mom).add_(self.mom * new)
        return self.g * (h - mean) / (v_n + self.eps).sqrt() + self.b


def param_shapes(spec, vocab, features):
    """name -> (shape, kind) in model order, as docs/spec.md names and shapes them."""
    shapes, width = {}, features or None
    for i, kind, o in layer_items(spec):
        pre = f"layers.{i}."
        if kind == "embedding":
            shapes[pre + "weight"] = ([vocab, o["dim"]], "table")
            width = ("seq", o["dim"])
        elif kind == "onehot":
            width = ("seq", vocab)
        elif kind == "flatten":
            width = spec["data"]["context"] * width[1]
        elif kind == "linear":  # over the last axis: [B, T, C] stays a sequence
            out = o.get("out", vocab)
            seq = isinstance(width, tuple)
            shapes[pre + "weight"] = ([width[1] if seq else width, out], "weight")
            if o.get("bias", True):
                shapes[pre + "bias"] = ([out], "bias")
            width = ("seq", out) if seq else out
        elif kind == "batchnorm":
            c = width[1] if isinstance(width, tuple) else width
            buf = ([spec["data"]["context"], c] if isinstance(width, tuple)
                   and o.get("over", "all") == "batch" else [c])
            shapes[pre + "weight"] = ([c], "gain")
            shapes[pre + "bias"] = ([c], "shift")
            shapes[pre + "running_mean"] = (buf, "mean")
            run = "running_std" if o.get("running") == "std" else "running_var"
            shapes[pre + run] = (buf, "var")
        elif kind == "activation" and "expr" in o:
            for name in o.get("learn", []):
                c = width[1] if isinstance(width, tuple) else width
                n = c if o.get("per") == "unit" else 1
                shapes[pre + name] = ([n], ("learn", float(o["params"][name])))
    return shapes


def build(spec, P, cfg, vocab):
    """The forward function f(x, training) of the spec's model over parameters P."""
    fns = []
    for i, kind, o in layer_items(spec):
        pre = f"layers.{i}."
        if kind == "embedding":
            fns.append(lambda h, tr, W=P[pre + "weight"]: W[h])
        elif kind == "onehot":
            fns.append(lambda h, tr: torch.nn.functional.one_hot(h, vocab).double())
        elif kind == "flatten":
            fns.append(lambda h, tr: h.reshape(h.shape[0], -1))
        elif kind == "linear":  # x·W + b, W stored [in, out]
            fns.append(lambda h, tr, W=P[pre + "weight"], b=P.get(pre + "bias"): h @ W + (0 if b is None else b))
        elif kind == "batchnorm":
            fns.append(lambda h, tr, bn=BatchNorm(o, P, pre): bn(h, tr))
        elif kind in ("tanh", "relu", "sigmoid"):
            fns.append({"tanh": lambda h, tr: torch.tanh(h), "relu": lambda h, tr: torch.relu(h),
                        "sigmoid": lambda h, tr: torch.sigmoid(h)}[kind])
        elif kind == "activation":  # a formula or a plugin: the config's torch version
            learned = {n: P[pre + n] for n in o.get("learn", [])} if "expr" in o else {}
            fns.append(lambda h, tr, f=cfg["torch_act"][i], L=learned: f(h, **L))
        else:
            raise SystemExit(f"rules.py: no torch version of layer '{kind}'")

    def forward(x, training):
        for f in fns:
            x = f(x, training)
        return x

    return forward


def row_losses(spec, cfg, z, y):
    loss = spec["train"].get("loss", "cross_entropy")
    kind = loss if isinstance(loss, str) else ("expr" if "expr" in loss else next(iter(loss)))
    if kind == "cross_entropy":
        return torch.nn.functional.cross_entropy(z, y, reduction="none")
    s = z.reshape(z.shape[0], -1)
    if kind == "value":
        return s.sum(1)
    s = s[:, 0]
    if kind == "hinge":
        return torch.relu(1 - y * s)
    if kind == "mse":
        return (s - y) ** 2
    return cfg["torch_loss"](s, y)


def reduce_sum(spec):
    loss = spec["train"].get("loss")
    if loss == "value":
        return True
    if isinstance(loss, dict):
        opts = loss if "expr" in loss else next(iter(loss.values())) or {}
        return opts.get("reduce", "mean") == "sum"
    return False


def l2_term(spec, P, shapes):
    l2 = spec["train"].get("l2", 0)
    coef, red, which = (l2, "mean", "weights") if not isinstance(l2, dict) else (
        l2["coef"], l2.get("reduce", "mean"), l2.get("params", "weights"))
    total = 0.0
    for name, (shape, _) in shapes.items():
        p = P[name]
        if not p.requires_grad or (which == "weights" and len(shape) != 2):
            continue
        total = total + ((p**2).sum() if red == "sum" else (p**2).mean())
    return float(coef) * total


def lr_lambda(lr, steps):
    """docs/spec.md's lr formulas, step counting from 0; warm-up multiplies by (k+1)/W."""
    if not isinstance(lr, dict):
        lr = {"constant": lr}
    warm = lr.get("warmup", 0)
    kind = next(k for k in lr if k != "warmup")
    o = lr[kind] if lr[kind] is not None else {}

    def base(k):
        if kind == "constant":
            return float(o)
        if kind == "steps":
            return float(o["values"][sum(k >= b for b in o["boundaries"])])
        if kind == "exponential":
            return o["start"] * o["gamma"] ** k
        if kind == "cosine":
            e = o.get("end", 0)
            return e + (o["start"] - e) * (1 + math.cos(math.pi * k / steps)) / 2
        if kind == "linear":
            return o["start"] + (o["end"] - o["start"]) * k / steps
        if kind == "find":
            lo, hi = math.log10(o.get("min", 1e-3)), math.log10(o.get("max", 1))
            return 10 ** (lo + (hi - lo) * (k / (steps - 1) if steps > 1 else 0))
        raise SystemExit(f"rules.py: no schedule '{kind}'")

    return lambda k: base(k) * ((k + 1) / warm if k < warm else 1.0)


def optimizer(spec, params):
    opt = spec["train"].get("optimizer", "sgd")
    kind, o = (opt, {}) if isinstance(opt, str) else next(iter(opt.items()))
    o = o or {}
    if kind == "sgd":
        return torch.optim.SGD(params, lr=1.0, momentum=o.get("momentum", 0),
                               nesterov=o.get("nesterov", False))
    betas, eps = (o.get("beta1", 0.9), o.get("beta2", 0.999)), o.get("eps", 1e-8)
    wd = o.get("weight_decay", 0.01 if kind == "adamw" else 0)
    if o.get("decay") == "matrices":  # nanoGPT's configure_optimizers: p.dim() >= 2 decays
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": wd},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=1.0, betas=betas, eps=eps)
    if wd:
        return torch.optim.AdamW(params, lr=1.0, betas=betas, eps=eps, weight_decay=wd)
    return torch.optim.Adam(params, lr=1.0, betas=betas, eps=eps)


def clip(spec, params, clipped):
    """train.clip: torch.nn.utils.clip_grad_norm_ before the step; counts the steps it
    scaled (so a configuration can show that clipping happened)."""
    c = spec["train"].get("clip")
    if c:
        norm = torch.nn.utils.clip_grad_norm_(params, c["norm"])
        clipped.append(norm.item() > c["norm"])
