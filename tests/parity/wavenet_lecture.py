#!/usr/bin/python3
"""wavenet_lecture.py — makemore part 5 (WaveNet), the notebook's own code (cells 2-15 of
karpathy/nn-zero-to-hero lectures/makemore/makemore_part5_cnn1.ipynb), parameterised for
the ladder of cell 14's performance log (A-E, /work/shared/LESSONS-5.md).

    /usr/bin/python3 tests/parity/wavenet_lecture.py [--variant E|A|B|C|D] [--steps N]
                                                     [--names FILE] [--json OUT]

Prints the minibatch loss every 10,000 steps as the notebook does, the train/dev loss in
evaluation mode, and 20 samples; with --json writes {"params", "losses" (every step),
"train", "dev", "samples"}.  --steps shortens the run (the lr still drops at 150,000).
Uses torch's global generator, seeded once with 42 before the model is built."""
import argparse
import json
import os
import random

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = os.path.join(HERE, "..", "..", "examples", "data", "names.txt")


class Linear:
    def __init__(self, fan_in, fan_out, bias=True):
        self.weight = torch.randn((fan_in, fan_out)) / fan_in**0.5
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x):
        self.out = x @ self.weight
        if self.bias is not None:
            self.out += self.bias
        return self.out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    def __init__(self, dim, eps=1e-5, momentum=0.1, bug=False):
        self.eps = eps
        self.momentum = momentum
        self.training = True
        self.bug = bug
        self.gamma = torch.ones(dim)
        self.beta = torch.zeros(dim)
        self.running_mean = torch.zeros(dim)
        self.running_var = torch.ones(dim)

    def __call__(self, x):
        if self.training:
            if x.ndim == 2 or self.bug:
                dim = 0
            elif x.ndim == 3:
                dim = (0, 1)
            xmean = x.mean(dim, keepdim=True)
            xvar = x.var(dim, keepdim=True)
        else:
            xmean = self.running_mean
            xvar = self.running_var
        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)
        self.out = self.gamma * xhat + self.beta
        if self.training:
            with torch.no_grad():
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]


class Tanh:
    def __call__(self, x):
        self.out = torch.tanh(x)
        return self.out

    def parameters(self):
        return []


class Embedding:
    def __init__(self, num_embeddings, embedding_dim):
        self.weight = torch.randn((num_embeddings, embedding_dim))

    def __call__(self, IX):
        self.out = self.weight[IX]
        return self.out

    def parameters(self):
        return [self.weight]


class FlattenConsecutive:
    def __init__(self, n):
        self.n = n

    def __call__(self, x):
        B, T, C = x.shape
        x = x.view(B, T // self.n, C * self.n)
        if x.shape[1] == 1:
            x = x.squeeze(1)
        self.out = x
        return self.out

    def parameters(self):
        return []


class Sequential:
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        self.out = x
        return self.out

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


# variant: (block_size, n_embd, n_hidden, group sizes of the FlattenConsecutive layers, bug)
VARIANTS = {
    "E": (8, 24, 128, [2, 2, 2], False),
    "A": (3, 10, 200, [3], False),
    "B": (8, 10, 200, [8], False),
    "C": (8, 10, 68, [2, 2, 2], True),
    "D": (8, 10, 68, [2, 2, 2], False),
}


def build_dataset(words, block_size, stoi):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


def make_model(variant, vocab_size):
    block_size, n_embd, n_hidden, groups, bug = VARIANTS[variant]
    layers = [Embedding(vocab_size, n_embd)]
    width = n_embd
    for n in groups:
        layers += [FlattenConsecutive(n), Linear(width * n, n_hidden, bias=False),
                   BatchNorm1d(n_hidden, bug=bug), Tanh()]
        width = n_hidden
    layers.append(Linear(n_hidden, vocab_size))
    return Sequential(layers)


def load(names, block_size):
    """Vocabulary and the train/dev examples (cells 2-6)."""
    words = open(names, "r").read().splitlines()
    chars = sorted(list(set("".join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}
    random.seed(42)
    random.shuffle(words)
    n1 = int(0.8 * len(words))
    n2 = int(0.9 * len(words))
    Xtr, Ytr = build_dataset(words[:n1], block_size, stoi)
    Xdev, Ydev = build_dataset(words[n1:n2], block_size, stoi)
    return itos, (Xtr, Ytr), (Xdev, Ydev)


def train(variant, steps, Xtr, Ytr, vocab_size=27, quiet=False):
    """Cells 8-10: the model after torch.manual_seed(42), then `steps` SGD steps; returns
    (model, parameters, the minibatch losses)."""
    torch.manual_seed(42)  # cell 8: seed rng for reproducibility
    model = make_model(variant, vocab_size)
    with torch.no_grad():
        model.layers[-1].weight *= 0.1  # last layer make less confident
    parameters = model.parameters()
    for p in parameters:
        p.requires_grad = True
    batch_size = 32
    lossi = []
    for i in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (batch_size,))
        Xb, Yb = Xtr[ix], Ytr[ix]
        logits = model(Xb)
        loss = F.cross_entropy(logits, Yb)
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < 150000 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        if i % 10000 == 0 and not quiet:
            print(f"{i:7d}/{200000:7d}: {loss.item():.4f}")
        lossi.append(loss.item())
    return model, parameters, lossi


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="E", choices=sorted(VARIANTS))
    ap.add_argument("--steps", type=int, default=200000)
    ap.add_argument("--names", default=NAMES)
    ap.add_argument("--json")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    block_size = VARIANTS[a.variant][0]
    itos, (Xtr, Ytr), (Xdev, Ydev) = load(a.names, block_size)
    model, parameters, lossi = train(a.variant, a.steps, Xtr, Ytr, len(itos))
    nparams = sum(p.nelement() for p in parameters)
    print(nparams)

    for layer in model.layers:
        layer.training = False

    @torch.no_grad()
    def split_loss(x, y):
        return F.cross_entropy(model(x), y).item()

    res = {"params": nparams, "losses": lossi}
    res["train"] = split_loss(Xtr, Ytr)
    res["dev"] = split_loss(Xdev, Ydev)
    print("train", res["train"])
    print("val", res["dev"])

    samples = []
    for _ in range(20):
        out = []
        context = [0] * block_size
        while True:
            logits = model(torch.tensor([context]))
            probs = F.softmax(logits, dim=1)
            ix = torch.multinomial(probs, num_samples=1).item()
            context = context[1:] + [ix]
            out.append(ix)
            if ix == 0:
                break
        samples.append("".join(itos[i] for i in out))
    print(" ".join(samples))
    res["samples"] = samples
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f)


if __name__ == "__main__":
    main()
