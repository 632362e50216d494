#!/usr/bin/env python3
"""PyTorch reference for nnrun's benchmarks: the same training step, two styles.

  lecture  — the notebook's own loop: manual tensors, F.cross_entropy, p.data += -lr * p.grad
             (wavenet: the lesson-5 notebook's classes, tests/parity/wavenet_lecture.py)
  module   — idiomatic nn.Sequential + torch.optim.SGD (wavenet: nn.BatchNorm1d on the
             transposed [B, C, T])

Prints one JSON line: {"model", "style", "threads", "us_per_step" (median), "steps"}.
Run it in the fastest set-up of shared BENCHMARKING.md (bench/run does): OpenBLAS-openmp,
OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset, glibc malloc tunables.
"""
import argparse, json, os, statistics, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = {  # vocab, context, embedding, hidden, batch, hidden layers
    "mlp_bn": dict(V=27, T=3, E=10, H=200, B=32, depth=1),
    "deep_bn": dict(V=27, T=3, E=10, H=100, B=32, depth=5),
    "large": dict(V=27, T=8, E=64, H=1024, B=512, depth=1),
    "wavenet": dict(V=27, T=8, E=24, H=128, B=32, depth=3),  # lesson 5's final model (E)
}


class BatchNorm1d:  # lesson 4's own layer (unbiased variance, as the notebook)
    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps, self.momentum, self.training = eps, momentum, True
        self.gamma, self.beta = torch.ones(dim), torch.zeros(dim)
        self.running_mean, self.running_var = torch.zeros(dim), torch.ones(dim)

    def __call__(self, x):
        xmean, xvar = x.mean(0, keepdim=True), x.var(0, keepdim=True)
        self.out = self.gamma * (x - xmean) / torch.sqrt(xvar + self.eps) + self.beta
        with torch.no_grad():
            self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
            self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]


class FlattenConsecutive(nn.Module):  # lesson 5's layer as an nn.Module
    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        B, T, C = x.shape
        x = x.reshape(B, T // self.n, C * self.n)
        return x.squeeze(1) if x.shape[1] == 1 else x


class SeqBatchNorm(nn.BatchNorm1d):  # BatchNorm1d wants [B, C, T]: transpose around it
    def forward(self, x):
        return super().forward(x.transpose(1, 2)).transpose(1, 2) if x.ndim == 3 else super().forward(x)


def wavenet_lecture_step_fn():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "parity"))
    import wavenet_lecture as lec

    torch.manual_seed(42)
    model = lec.make_model("E", 27)
    with torch.no_grad():
        model.layers[-1].weight *= 0.1
    params = model.parameters()
    for p in params:
        p.requires_grad = True

    def step(Xb, Yb, lr):  # cell 10's loop body
        loss = F.cross_entropy(model(Xb), Yb)
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data += -lr * p.grad
        return loss
    return step


def wavenet_module(s):
    E, H, V = s["E"], s["H"], s["V"]
    mods, width = [nn.Embedding(V, E)], E
    for _ in range(s["depth"]):
        mods += [FlattenConsecutive(2), nn.Linear(2 * width, H, bias=False), SeqBatchNorm(H), nn.Tanh()]
        width = H
    return mods + [nn.Linear(H, V)]


def lecture_step_fn(s, g):
    V, T, E, H, B, depth = s["V"], s["T"], s["E"], s["H"], s["B"], s["depth"]
    if s is SHAPES["wavenet"]:
        return wavenet_lecture_step_fn()
    C = torch.randn((V, E), generator=g)
    if depth == 1:  # makemore part 3, the BatchNorm MLP, exactly as the notebook writes it
        W1 = torch.randn((T * E, H), generator=g) * (5 / 3) / (T * E) ** 0.5
        W2 = torch.randn((H, V), generator=g) * 0.01
        b2 = torch.randn(V, generator=g) * 0
        bngain, bnbias = torch.ones((1, H)), torch.zeros((1, H))
        state = {"mean": torch.zeros((1, H)), "std": torch.ones((1, H))}
        params = [C, W1, W2, b2, bngain, bnbias]

        def forward(Xb):
            emb = C[Xb]
            hpreact = emb.view(emb.shape[0], -1) @ W1
            bnmeani, bnstdi = hpreact.mean(0, keepdim=True), hpreact.std(0, keepdim=True)
            hpreact = bngain * (hpreact - bnmeani) / bnstdi + bnbias
            with torch.no_grad():
                state["mean"] = 0.999 * state["mean"] + 0.001 * bnmeani
                state["std"] = 0.999 * state["std"] + 0.001 * bnstdi
            return torch.tanh(hpreact) @ W2 + b2
    else:  # the "PyTorchified" deep net of part 3 with its own Linear/BatchNorm1d/Tanh
        layers, fan_in = [], T * E
        for _ in range(depth):
            layers += [torch.randn((fan_in, H), generator=g) / fan_in ** 0.5, BatchNorm1d(H), "tanh"]
            fan_in = H
        layers += [torch.randn((H, V), generator=g) / H ** 0.5, BatchNorm1d(V)]
        layers[-1].gamma *= 0.1
        params = [C]
        for l in layers:
            params += [l] if isinstance(l, torch.Tensor) else (l.parameters() if l != "tanh" else [])

        def forward(Xb):
            x = C[Xb].view(Xb.shape[0], -1)
            for l in layers:
                x = torch.tanh(x) if l == "tanh" else (x @ l if isinstance(l, torch.Tensor) else l(x))
            return x
    for p in params:
        p.requires_grad = True

    def step(Xb, Yb, lr):
        loss = F.cross_entropy(forward(Xb), Yb)
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data += -lr * p.grad
        return loss
    return step


def module_step_fn(s, g):
    V, T, E, H, B, depth = s["V"], s["T"], s["E"], s["H"], s["B"], s["depth"]
    torch.manual_seed(0)
    mods, fan_in = [nn.Embedding(V, E), nn.Flatten()], T * E
    for _ in range(depth):
        mods += [nn.Linear(fan_in, H, bias=False), nn.BatchNorm1d(H), nn.Tanh()]
        fan_in = H
    mods += [nn.Linear(H, V)] if depth == 1 else [nn.Linear(H, V, bias=False), nn.BatchNorm1d(V)]
    if s is SHAPES["wavenet"]:
        mods = wavenet_module(s)
    model = nn.Sequential(*mods)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(Xb, Yb, lr):
        loss = F.cross_entropy(model(Xb), Yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss
    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=SHAPES, default="mlp_bn")
    ap.add_argument("--style", choices=["lecture", "module"], default="lecture")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    s = SHAPES[a.model]
    g = torch.Generator().manual_seed(2147483647)
    step = (lecture_step_fn if a.style == "lecture" else module_step_fn)(s, g)
    n_train = 182625  # the lesson's training split; indices are all the timing needs
    X = torch.randint(0, s["V"], (n_train, s["T"]), generator=g)
    Y = torch.randint(0, s["V"], (n_train,), generator=g)
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        ix = torch.randint(0, n_train, (s["B"],), generator=g)
        step(X[ix], Y[ix], 0.1)
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    print(json.dumps({"model": a.model, "style": a.style, "threads": a.threads,
                      "us_per_step": statistics.median(times) * 1e6, "steps": a.steps,
                      "torch": torch.__version__, "blas": blas_in_use()}))


def blas_in_use():
    """The BLAS library mapped into this process (the baseline wants openblas-openmp)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.rsplit("/", 1)[-1]}
        return ",".join(sorted({lib.rsplit("/", 1)[0] for lib in libs})) or "unknown"
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
