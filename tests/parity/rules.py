#!/usr/bin/python3
"""rules.py — nnrun's training rules against PyTorch, whole runs side by side.

parity.py checks the layers on one step; this checks what happens around them: optimizers,
learning-rate schedules and warm-up, losses and their reductions, the l2 term, BatchNorm's
conventions in training and in evaluation on running statistics, minibatch and full-batch
training, init_from.  The PyTorch side is written from docs/spec.md (its "Training rules and
their PyTorch counterparts" table and the sections it links), not from nnrun's code.

For each configuration in configs.py: random initial weights (and BatchNorm running
buffers) go to init.safetensors, written as PyTorch users write it (json.dumps' vocabulary
with spaces); the spec loads them with init_from and draws nothing else before its
minibatches (inits are zeros/ones), so with `rng: torch` both sides draw the same rows with
torch.randint.  nnrun trains; PyTorch trains the same model in float64.  Compared, each to
1e-5 * max(1, |torch|): every step's learning rate and objective (metrics.csv), every
parameter and buffer at the end (model.safetensors), every optimizer moment
(training.safetensors: NAME.velocity = momentum_buffer / exp_avg, NAME.sq = exp_avg_sq),
and the train and dev losses of summary.json (evaluation mode, BatchNorm on running
statistics).  Adam needs no looser tolerance, with one exception the configurations avoid
(configs.py, NO_BIAS_BEFORE_BN).

Usage: /usr/bin/python3 tests/parity/rules.py NNRUN_BINARY [WORK_DIR] [CONFIG...]
"""
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch
import yaml

from configs import CONFIGS, REQUIRED, data_files
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(os.path.dirname(HERE))
TOL = 1e-5
failures = []


def read_safetensors(path):
    """The F32 tensors of a safetensors file, as torch tensors (the format by hand)."""
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, e in header.items():
        if e["dtype"] == "F32":
            lo, hi = e["data_offsets"]
            a = np.frombuffer(blob[8 + n + lo : 8 + n + hi], dtype="<f4").reshape(e["shape"])
            out[name] = torch.from_numpy(a.copy())
    return out, None


def check(what, ours, theirs, tol=TOL):
    ours = torch.as_tensor(np.asarray(ours, dtype=np.float64)).reshape(theirs.shape)
    theirs = theirs.detach().double()
    excess = ((ours - theirs).abs() - tol * theirs.abs().clamp(min=1)).max().item()
    worst = (ours - theirs).abs().max().item()
    if excess > 0 or not math.isfinite(worst):
        failures.append(what)
        print(f"  FAIL {what:<44} max |diff| {worst:.2e}")
    return worst


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
        if self.torch_bn is not None:
            return self.torch_bn.train(training)(h)
        if not training:
            div = self.rs if self.std else (self.rs + self.eps).sqrt()
            return self.g * (h - self.rm) / div + self.b
        m = h.shape[0]
        mean = h.mean(0)
        S = ((h - mean) ** 2).sum(0)
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
        elif kind == "linear":
            out = o.get("out", vocab)
            shapes[pre + "weight"] = ([width, out], "weight")
            if o.get("bias", True):
                shapes[pre + "bias"] = ([out], "bias")
            width = out
        elif kind == "batchnorm":
            shapes[pre + "weight"] = ([width], "gain")
            shapes[pre + "bias"] = ([width], "shift")
            shapes[pre + "running_mean"] = ([width], "mean")
            run = "running_std" if o.get("running") == "std" else "running_var"
            shapes[pre + run] = ([width], "var")
        elif kind == "activation" and "expr" in o:
            for name in o.get("learn", []):
                n = width if o.get("per") == "unit" else 1
                shapes[pre + name] = ([n], ("learn", float(o["params"][name])))
    return shapes


def initial_tensors(shapes, seed):
    rs = np.random.RandomState(seed)
    T = {}
    for name, (shape, kind) in shapes.items():
        n = rs.standard_normal(shape)
        if kind == "weight":
            v = n / math.sqrt(shape[0])
        elif kind == "table":
            v = n
        elif kind in ("bias", "shift", "mean"):
            v = 0.1 * n
        elif kind == "gain":
            v = 1 + 0.1 * n
        elif kind == "var":
            v = 1 + 0.3 * np.abs(n)
        else:  # a learned formula parameter: near its `params` value
            v = kind[1] + 0.05 * n
        T[name] = np.asarray(v, dtype=np.float32)
    return T


def drawn_tensors(spec, shapes, g):
    """The spec's own inits with `rng: torch` (docs/spec.md, init): parameters in model
    order, each random one drawn as torch.randn(shape, generator=g) times its std (kaiming:
    gain/sqrt(fan_in)) and scale; zeros and ones draw nothing; buffers start at 0 (mean)
    and 1 (var, std)."""
    gains = {"tanh": 5 / 3, "relu": math.sqrt(2), "linear": 1.0, "sigmoid": 1.0}
    layers = {i: (kind, o) for i, kind, o in layer_items(spec)}
    T = {}
    for name, (shape, kind) in shapes.items():
        i, part = int(name.split(".")[1]), name.split(".")[2]
        lk, o = layers[i]
        default = {"embedding": {"normal": 1.0}, "linear": {"kaiming": 1.0}}.get(lk, "ones")
        init = o.get("init", default) if part == "weight" else o.get("bias_init", "zeros")
        if kind in ("mean", "var"):
            T[name] = np.full(shape, 0.0 if kind == "mean" else 1.0, dtype=np.float32)
            continue
        if isinstance(init, str):
            T[name] = np.full(shape, 1.0 if init == "ones" else 0.0, dtype=np.float32)
            continue
        if "kaiming" in init:
            gain = init["kaiming"]
            std = (gains[gain] if isinstance(gain, str) else gain) / math.sqrt(shape[0])
        else:
            std = init["normal"]
        r = torch.randn(shape, generator=g, dtype=torch.float32)
        T[name] = (r * np.float32(std) * np.float32(init.get("scale", 1.0))).numpy()
    return T


def write_safetensors(path, tensors, meta):
    header, blobs, at = {"__metadata__": meta}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))


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
            return 10 ** (lo + (hi - lo) * k / (steps - 1))
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
    if o.get("weight_decay", 0):
        return torch.optim.AdamW(params, lr=1.0, betas=betas, eps=eps, weight_decay=o["weight_decay"])
    return torch.optim.Adam(params, lr=1.0, betas=betas, eps=eps)


def run_torch(spec, cfg, T, g, data, vocab, features):
    shapes = param_shapes(spec, vocab, features)
    P = {}
    for name, (shape, kind) in shapes.items():
        t = torch.tensor(T[name], dtype=torch.float64)
        P[name] = torch.nn.Parameter(t) if kind not in ("mean", "var") else t
    forward = build(spec, P, cfg, vocab)
    trainable = [P[n] for n in shapes if P[n].requires_grad]
    opt = optimizer(spec, trainable)
    steps = spec["train"]["steps"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(spec["train"]["lr"], steps))
    X, Y = data["train"]
    batch = spec["train"]["batch"]
    lrs, losses = [], []
    for k in range(steps):
        if batch == "full":
            xb, yb = X, Y
        else:  # rng: torch — the lectures' torch.randint(0, n, (batch,), generator=g)
            ix = torch.randint(0, X.shape[0], (batch,), generator=g)
            xb, yb = X[ix], Y[ix]
        lrs.append(opt.param_groups[0]["lr"])
        opt.zero_grad()
        rows = row_losses(spec, cfg, forward(xb, True), yb)
        obj = (rows.sum() if reduce_sum(spec) else rows.mean()) + l2_term(spec, P, shapes)
        losses.append(obj.item())
        obj.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        evals = {s: row_losses(spec, cfg, forward(*data[s][:1], False), data[s][1]).mean().item()
                 for s in ("train", "dev") if len(data[s][0])}
    moments = {}
    for name in shapes:
        st = opt.state.get(P[name], {})
        for ours, theirs in (("velocity", "momentum_buffer"), ("velocity", "exp_avg"), ("sq", "exp_avg_sq")):
            if st.get(theirs) is not None:
                moments[f"{name}.{ours}"] = st[theirs]
    return lrs, losses, P, moments, evals


def read_metrics(path):
    lrs, losses = [], []
    with open(path) as f:
        head = f.readline().strip().split(",")
        il, ix = head.index("lr"), head.index("loss")
        for line in f:
            c = line.rstrip("\n").split(",")
            if c[ix]:
                lrs.append(float(c[il]))
                losses.append(float(c[ix]))
    return lrs, losses


def run_config(nnrun, work, cfg, files):
    name, spec = cfg["name"], json.loads(json.dumps(cfg["spec"]))
    out = os.path.join(work, name)
    os.makedirs(out, exist_ok=True)
    d = spec["data"]
    loss = spec["train"].get("loss", "cross_entropy")
    if "source" in d:
        d["source"] = files["text"]
        data, itos = text_examples(d, d["source"])
        vocab, features = len(itos), 0
    else:
        d["csv"] = files["csv"]
        data, itos = csv_examples(d, d["csv"], loss)
        features = len(d["x"])
        vocab = int(data["train"][1].max()) + 1 if loss == "cross_entropy" else 0
    for L in spec["model"]:
        if isinstance(L, dict) and "activation" in L and "plugin" in cfg:
            spec["plugins"] = {"swish": {"library": os.path.join(SRCDIR, "examples/plugins/swish.so"),
                                         "forward": "swish_fwd", "backward": "swish_bwd",
                                         "args": {"beta": 1.0}}}
    shapes = param_shapes(spec, vocab, features)
    g = torch.Generator().manual_seed(spec.get("seed", 1337))
    if cfg.get("drawn"):
        T = drawn_tensors(spec, shapes, g)
    else:
        T = initial_tensors(shapes, cfg.get("init_seed", 11))
        # as a PyTorch user writes it: json.dumps puts spaces after the commas
        write_safetensors(os.path.join(out, "init.safetensors"), T,
                          {"vocab": json.dumps(itos if itos else [])})
        spec["init_from"] = "init.safetensors"
    spec.setdefault("eval", {"every": 0, "splits": ["dev"]})
    spec.setdefault("report", {"plots": "none"})
    if "source" in d:
        spec.setdefault("sample", {"count": 0})
    with open(os.path.join(out, "spec.yaml"), "w") as f:
        yaml.safe_dump(spec, f, sort_keys=False)
    r = subprocess.run([nnrun, os.path.join(out, "spec.yaml"), "--quiet", "--force", "--out",
                        os.path.join(out, "run")], cwd=SRCDIR, capture_output=True, text=True)
    if r.returncode != 0:
        failures.append(name + " (nnrun failed)")
        print(f"  FAIL nnrun exit {r.returncode}: {r.stderr.strip()[:400]}")
        return
    run = os.path.join(out, "run")
    lrs, losses, P, moments, evals = run_torch(spec, cfg, T, g, data, vocab, features)
    n_lrs, n_losses = read_metrics(os.path.join(run, "metrics.csv"))
    if len(n_lrs) != len(lrs):
        failures.append(name + " steps")
        print(f"  FAIL {len(n_lrs)} metrics rows, {len(lrs)} steps")
        return
    w1 = check(f"{name}: lr per step", n_lrs, torch.tensor(lrs))
    w2 = check(f"{name}: objective per step", n_losses, torch.tensor(losses))
    M, _ = read_safetensors(os.path.join(run, "model.safetensors"))
    S, _ = read_safetensors(os.path.join(run, "training.safetensors"))
    w3 = max(check(f"{name}: {n}", M[n].numpy(), P[n]) for n in shapes)
    missing = [n for n in S if n.endswith((".velocity", ".sq")) and n not in moments]
    if missing or any(n not in S for n in moments):
        failures.append(f"{name}: moments {missing or sorted(set(moments) - set(S))}")
    w4 = max([check(f"{name}: {n}", S[n].numpy(), t) for n, t in moments.items()] or [0])
    with open(os.path.join(run, "summary.json")) as f:
        summ = json.load(f)["loss"]
    w5 = max(check(f"{name}: eval {s} loss", [summ[s]], torch.tensor([v])) for s, v in evals.items())
    print(f"  {'ok  ' if not any(f.startswith(name + ':') for f in failures) else 'FAIL'} "
          f"{name:<30} max |diff|: lr {w1:.1e}, loss {w2:.1e}, params {w3:.1e}, "
          f"moments {w4:.1e}, eval {w5:.1e}")


def docs_keys():
    """Every key of the `train` table and of the batchnorm table of docs/spec.md."""
    doc = open(os.path.join(SRCDIR, "docs", "spec.md"), encoding="utf-8").read()

    def table_keys(heading):
        body = doc.split(heading, 1)[1]
        body = body[body.index("\n|") :]
        keys = []
        for line in body.split("\n")[3:]:
            if not line.startswith("|"):
                break
            keys.append(re.match(r"\| `([a-z_0-9]+)`", line).group(1))
        return keys

    return ["train." + k for k in table_keys("\n## train\n")] + [
        "batchnorm." + k for k in table_keys("\n### batchnorm\n")]


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    nnrun = os.path.abspath(sys.argv[1])
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="nnrun-rules-")
    only = set(sys.argv[3:])
    torch.set_num_threads(1)
    covered = {k for c in CONFIGS for k in c["covers"]}
    for k in sorted(set(REQUIRED) | set(docs_keys())):
        if k not in covered:
            failures.append("not covered: " + k)
            print(f"  FAIL no configuration covers {k}")
    files = data_files(work)
    for cfg in CONFIGS:
        if not only or cfg["name"] in only:
            run_config(nnrun, work, cfg, files)
    if failures:
        print(f"rules: {len(failures)} comparisons FAILED: {', '.join(failures)}")
        return 1
    print(f"rules: {len(CONFIGS)} configurations agree with PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
