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
and the train, dev and test losses of summary.json (evaluation mode, BatchNorm on running
statistics).  Adam needs no looser tolerance, with one exception the configurations avoid
(configs.py, NO_BIAS_BEFORE_BN).  Also: PyTorch's own schedulers against the formulas the
table pairs them with, and a net trained with torch.nn.BatchNorm1d, loaded with init_from
and `variance: pytorch`, evaluated by nnrun.  The PyTorch side is torchside.py.

Usage: /usr/bin/python3 tests/parity/rules.py NNRUN_BINARY [WORK_DIR] [CONFIG...]
"""
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import yaml

from configs import CONFIGS, REQUIRED, TEXT, data_files
from torchside import (build, clip, csv_examples, l2_term, layer_items, lr_lambda, optimizer,
                       param_shapes, reduce_sum, row_losses, text_examples)

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
    lrs, losses, clipped = [], [], []
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
        clip(spec, trainable, clipped)
        opt.step()
        sched.step()
    with torch.no_grad():
        evals = {s: row_losses(spec, cfg, forward(*data[s][:1], False), data[s][1]).mean().item()
                 for s in ("train", "dev", "test") if len(data[s][0])}
    moments = {}
    for name in shapes:
        st = opt.state.get(P[name], {})
        for ours, theirs in (("velocity", "momentum_buffer"), ("velocity", "exp_avg"), ("sq", "exp_avg_sq")):
            if st.get(theirs) is not None:
                moments[f"{name}.{ours}"] = st[theirs]
    if cfg.get("clips"):
        print(f"  {'ok  ' if any(clipped) else 'FAIL'} {cfg['name']}: clipping scaled "
              f"{sum(clipped)} of {len(clipped)} steps")
        if not any(clipped):
            failures.append(cfg["name"] + ": clipping never triggered")
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
    w1 = check(f"{name}: lr per step", n_lrs, torch.tensor(lrs, dtype=torch.float64))
    w2 = check(f"{name}: objective per step", n_losses, torch.tensor(losses, dtype=torch.float64))
    M, _ = read_safetensors(os.path.join(run, "model.safetensors"))
    S, _ = read_safetensors(os.path.join(run, "training.safetensors"))
    w3 = max(check(f"{name}: {n}", M[n].numpy(), P[n]) for n in shapes)
    missing = [n for n in S if n.endswith((".velocity", ".sq")) and n not in moments]
    if missing or any(n not in S for n in moments):
        failures.append(f"{name}: moments {missing or sorted(set(moments) - set(S))}")
    w4 = max([check(f"{name}: {n}", S[n].numpy(), t) for n, t in moments.items()] or [0])
    with open(os.path.join(run, "summary.json")) as f:
        summ = json.load(f)["loss"]
    w5 = max(check(f"{name}: eval {s} loss", [summ.get(s, math.nan)],
                   torch.tensor([v], dtype=torch.float64)) for s, v in evals.items())
    print(f"  {'ok  ' if not any(f.startswith(name + ':') for f in failures) else 'FAIL'} "
          f"{name:<30} max |diff|: lr {w1:.1e}, loss {w2:.1e}, params {w3:.1e}, "
          f"moments {w4:.1e}, eval {w5:.1e}")


def pytorch_trained_batchnorm(nnrun, work, files):
    """A net trained in PyTorch with its own modules (float32, torch.nn.BatchNorm1d), saved
    as safetensors with its running_var, loaded by nnrun with `variance: pytorch` and
    init_from: the dev loss in evaluation mode is PyTorch's.  nnrun takes its one required
    step with momentum 0 (the running buffers stay) and lr 1e-30 (the weights stay)."""
    spec = {"data": dict(json.loads(json.dumps(TEXT)), source=files["text"]),
            "model": [{"embedding": {"dim": 4}}, "flatten", {"linear": {"out": 12, "bias": False}},
                      {"batchnorm": {"variance": "pytorch", "momentum": 0}}, "tanh", "linear"],
            "train": {"steps": 1, "batch": "full", "lr": 1e-30},
            "init_from": "torch.safetensors", "sample": {"count": 0}, "report": {"plots": "none"},
            "eval": {"every": 0, "splits": ["dev"]}}
    data, itos = text_examples(spec["data"], files["text"])
    torch.manual_seed(0)
    V = len(itos)
    emb, lin1 = torch.nn.Embedding(V, 4), torch.nn.Linear(12, 12, bias=False)
    bn, lin2 = torch.nn.BatchNorm1d(12), torch.nn.Linear(12, V)
    net = torch.nn.Sequential(emb, torch.nn.Flatten(), lin1, bn, torch.nn.Tanh(), lin2)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    X, Y = data["train"]
    for _ in range(40):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(X), Y).backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        want = torch.nn.functional.cross_entropy(net(data["dev"][0]), data["dev"][1]).item()
    out = os.path.join(work, "pytorch_trained_batchnorm")
    os.makedirs(out, exist_ok=True)
    T = {"layers.0.weight": emb.weight, "layers.2.weight": lin1.weight.T, "layers.3.weight": bn.weight,
         "layers.3.bias": bn.bias, "layers.3.running_mean": bn.running_mean,
         "layers.3.running_var": bn.running_var, "layers.5.weight": lin2.weight.T,
         "layers.5.bias": lin2.bias}
    write_safetensors(os.path.join(out, "torch.safetensors"),
                      {k: v.detach().numpy() for k, v in T.items()}, {"vocab": json.dumps(itos)})
    with open(os.path.join(out, "spec.yaml"), "w") as f:
        yaml.safe_dump(spec, f, sort_keys=False)
    r = subprocess.run([nnrun, os.path.join(out, "spec.yaml"), "--quiet", "--force", "--out",
                        os.path.join(out, "run")], cwd=SRCDIR, capture_output=True, text=True)
    if r.returncode != 0:
        failures.append("pytorch_trained_batchnorm (nnrun failed)")
        print(f"  FAIL nnrun exit {r.returncode}: {r.stderr.strip()[:400]}")
        return
    with open(os.path.join(out, "run", "summary.json")) as f:
        got = json.load(f)["loss"]["dev"]
    w = check("pytorch_trained_batchnorm: dev loss", [got], torch.tensor([want], dtype=torch.float64))
    print(f"  {'ok  ' if w <= TOL * max(1, abs(want)) else 'FAIL'} {'pytorch_trained_batchnorm':<30} "
          f"dev loss nnrun {got:.7f}, torch {want:.7f}")


def native_schedulers():
    """docs/spec.md's table names PyTorch's own schedulers for some kinds: they give the
    formulas' rates (checked here, while the runs use LambdaLR over the formulas)."""
    S = torch.optim.lr_scheduler
    steps = 12
    cases = [({"exponential": {"start": 0.3, "gamma": 0.9}}, 0.3, lambda o: S.ExponentialLR(o, 0.9)),
             ({"cosine": {"start": 0.3, "end": 0.01}}, 0.3,
              lambda o: S.CosineAnnealingLR(o, T_max=steps, eta_min=0.01)),
             ({"linear": {"start": 0.3, "end": 0.05}}, 0.3,
              lambda o: S.LinearLR(o, 1.0, 0.05 / 0.3, total_iters=steps)),
             ({"steps": {"boundaries": [4, 8], "values": [0.3, 0.03, 0.003]}}, 0.3,
              lambda o: S.MultiStepLR(o, milestones=[4, 8], gamma=0.1)),
             ({"constant": 0.3, "warmup": 5}, 0.3,
              lambda o: S.LinearLR(o, 1 / 5, 1.0, total_iters=4))]
    for lr, start, make in cases:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=start)
        sched, want, got = make(opt), lr_lambda(lr, steps), []
        for k in range(steps):
            got.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        check(f"scheduler {next(iter(lr))}", got, torch.tensor([want(k) for k in range(steps)], dtype=torch.float64),
              1e-9)


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
    os.makedirs(work, exist_ok=True)
    only = set(sys.argv[3:])
    torch.set_num_threads(1)
    covered = {k for c in CONFIGS for k in c["covers"]}
    for k in sorted(set(REQUIRED) | set(docs_keys())):
        if k not in covered:
            failures.append("not covered: " + k)
            print(f"  FAIL no configuration covers {k}")
    native_schedulers()
    files = data_files(work)
    if not only:
        pytorch_trained_batchnorm(nnrun, work, files)
    ran = [cfg for cfg in CONFIGS if not only or cfg["name"] in only]
    for cfg in ran:
        run_config(nnrun, work, cfg, files)
    if failures:
        print(f"rules: {len(failures)} comparisons FAILED: {', '.join(failures)}")
        return 1
    print(f"rules: {len(ran)} configurations agree with PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
