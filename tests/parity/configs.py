"""configs.py — the configurations rules.py trains in nnrun and in PyTorch.

Each has a spec (data paths filled in by rules.py), what it covers (`covers`: the keys of
docs/spec.md's `train` and `batchnorm` tables and the rule variants in REQUIRED), and the
PyTorch versions of its formulas and plugin.  rules.py fails when a key of those tables or
of REQUIRED is covered by no configuration.
"""
import os
import random

import torch

# Rule variants every run of the suite must cover (besides every key of the two tables).
REQUIRED = [
    "optimizer: sgd", "optimizer: momentum", "optimizer: nesterov", "optimizer: adam",
    "optimizer: adam weight_decay", "optimizer: adamw", "optimizer: adamw decay matrices",
    "clip: triggered",
    *[f"lr: {k}{w}" for k in ("constant", "steps", "exponential", "cosine", "linear", "find")
      for w in ("", " + warmup")],
    "lr: a number",
    "loss: cross_entropy (text)", "loss: cross_entropy (classes)", "loss: hinge mean",
    "loss: hinge sum", "loss: mse mean", "loss: mse sum", "loss: value", "loss: expr mean",
    "loss: expr sum",
    "l2: a number", "l2: mean weights", "l2: sum weights", "l2: mean all", "l2: sum all",
    "batch: full", "batch: minibatch",
    "batchnorm: biased var", "batchnorm: unbiased var", "batchnorm: pytorch var",
    "batchnorm: biased std", "batchnorm: unbiased std", "batchnorm: pytorch std",
    "batchnorm: eps 0", "batchnorm: eval on running stats",
    "batchnorm: over all on [B, T, C]", "batchnorm: over batch on [B, T, C]",
    "layer: embedding", "layer: onehot", "layer: flatten", "layer: linear", "layer: linear no bias",
    "layer: tanh", "layer: relu", "layer: sigmoid", "layer: expr per layer",
    "layer: expr per unit", "layer: plugin",
    "init_from", "init: drawn (rng torch)",
]

TEXT = {"source": "", "context": 3,
        "split": {"train": 32, "dev": 8, "test": 8, "shuffle": {"seed": 5, "compat": "python"}}}


def csv_data(y, train=30):
    return {"csv": "", "x": ["x0", "x1", "x2"], "y": y,
            "split": {"train": train, "dev": 40 - train, "test": 0, "shuffle": False}}


def data_files(work):
    """A small text file (48 items) and a CSV file (40 rows) in `work`."""
    rnd = random.Random(7)
    words = ["".join(rnd.choice("abcdefgh") for _ in range(rnd.randint(2, 6))) for _ in range(48)]
    text = os.path.join(work, "words.txt")
    with open(text, "w") as f:
        f.write("\n".join(words) + "\n")
    rows = ["x0,x1,x2,ypm,yreal,ycls"]
    for _ in range(40):
        x = [round(rnd.uniform(-2, 2), 3) for _ in range(3)]
        pm = 1 if x[0] * x[1] + 0.5 * x[2] > 0 else -1
        real = round(torch.sin(torch.tensor(x[0])).item() + 0.5 * x[1] * x[2], 3)
        cls = min(2, int((x[0] + 2) / 4 * 3))
        rows.append(f"{x[0]},{x[1]},{x[2]},{pm},{real},{cls}")
    csv = os.path.join(work, "table.csv")
    with open(csv, "w") as f:
        f.write("\n".join(rows) + "\n")
    return {"text": text, "csv": csv}


# No bias directly before a BatchNorm under Adam: BatchNorm removes the batch mean, so that
# bias's exact gradient is 0 and what both sides compute is float32 rounding noise (~1e-9);
# Adam divides by sqrt(v) + eps, turning the noise into steps of up to lr·|g|/(|g| + eps) in
# directions rounding picks (PyTorch in float32 does the same).  No tolerance makes that
# comparable; everywhere else every value holds to 1e-5·max(1, |torch|), Adam's included.
NO_BIAS_BEFORE_BN = True

Z = {"init": "zeros"}  # no draws: init_from gives the weights, the stream stays at the seed
ZB = {"init": "zeros", "bias_init": "zeros"}


def swish(h, beta=1.0):
    return h * torch.sigmoid(beta * h)


CONFIGS = [
    {"name": "text_tanh_sgd",
     "covers": ["train.steps", "train.batch", "train.loss", "train.optimizer", "train.lr",
                "train.l2", "optimizer: sgd", "lr: a number", "lr: constant",
                "loss: cross_entropy (text)", "l2: a number", "batch: minibatch",
                "layer: embedding", "layer: flatten", "layer: linear", "layer: tanh", "init_from"],
     "spec": {"seed": 3, "rng": "torch", "data": TEXT,
              "model": [{"embedding": {"dim": 4, **Z}}, "flatten", {"linear": {"out": 16, **ZB}},
                        "tanh", {"linear": ZB}],
              "train": {"steps": 25, "batch": 16, "optimizer": "sgd", "lr": 0.5, "l2": 0.01}}},
    {"name": "text_onehot_bn_momentum",
     "covers": ["optimizer: momentum", "lr: steps", "batch: full", "layer: onehot",
                "layer: linear no bias", "layer: relu", "batchnorm: biased var",
                "batchnorm.variance", "batchnorm.eps", "batchnorm.momentum", "batchnorm.running",
                "batchnorm: eval on running stats"],
     "spec": {"data": TEXT,
              "model": ["onehot", "flatten", {"linear": {"out": 12, "bias": False, **Z}},
                        {"batchnorm": {"variance": "biased", "eps": 1e-5, "running": "var",
                                       "momentum": 0.1}},
                        "relu", {"linear": ZB}],
              "train": {"steps": 20, "batch": "full", "optimizer": {"sgd": {"momentum": 0.9}},
                        "lr": {"steps": {"boundaries": [8, 15], "values": [0.3, 0.1, 0.03]}}}}},
    {"name": "text_bn_pytorch_adam",
     "covers": ["optimizer: adam", "lr: cosine + warmup", "l2: mean all", "batchnorm: pytorch var"],
     "spec": {"seed": 9, "rng": "torch", "data": TEXT, "report": {"plots": "all", "every": 4},
              "eval": {"every": 7, "splits": ["train", "dev"]}, "checkpoint": {"every": 10},
              "model": [{"embedding": {"dim": 5, **Z}}, "flatten",
                        {"linear": {"out": 16, "bias": False, **Z}},
                        {"batchnorm": {"variance": "pytorch"}}, "tanh", {"linear": ZB}],
              "train": {"steps": 30, "batch": 20, "optimizer": "adam",
                        "lr": {"cosine": {"start": 0.02, "end": 0.002}, "warmup": 5},
                        "l2": {"coef": 0.01, "reduce": "mean", "params": "all"}}}},
    {"name": "text_bn_unbiased_std_nesterov",
     "covers": ["optimizer: nesterov", "lr: exponential + warmup", "l2: sum weights",
                "batchnorm: unbiased std", "batchnorm: eps 0"],
     "spec": {"seed": 4, "rng": "torch", "data": TEXT, "report": {"plots": "all"},
              "eval": {"every": 5, "splits": ["dev"]},
              "model": [{"embedding": {"dim": 4, **Z}}, "flatten",
                        {"linear": {"out": 10, "bias": False, **Z}},
                        {"batchnorm": {"variance": "unbiased", "eps": 0, "running": "std",
                                       "momentum": 0.2}},
                        "tanh", {"linear": ZB}],
              "train": {"steps": 20, "batch": 12,
                        "optimizer": {"sgd": {"momentum": 0.8, "nesterov": True}},
                        "lr": {"exponential": {"start": 0.3, "gamma": 0.95}, "warmup": 3},
                        "l2": {"coef": 1e-3, "reduce": "sum", "params": "weights"}}}},
    {"name": "text_bn_pytorch_std_adamw",
     "covers": ["optimizer: adam weight_decay", "lr: linear", "l2: sum all", "layer: sigmoid",
                "batchnorm: pytorch std", "batchnorm: unbiased var"],
     "spec": {"data": TEXT,
              "model": [{"embedding": {"dim": 4, **Z}}, "flatten",
                        {"linear": {"out": 12, "bias": False, **Z}},  # see NO_BIAS_BEFORE_BN
                        {"batchnorm": {"variance": "pytorch", "eps": 1e-3, "running": "std",
                                       "momentum": 0.3}},
                        "sigmoid", {"linear": {"out": 12, "bias": False, **Z}},
                        {"batchnorm": {"variance": "unbiased", "eps": 1e-4, "momentum": 0.5}},
                        "tanh", {"linear": ZB}],
              "train": {"steps": 20, "batch": "full",
                        "optimizer": {"adam": {"beta1": 0.8, "beta2": 0.95, "eps": 1e-6,
                                               "weight_decay": 0.1}},
                        "lr": {"linear": {"start": 0.02, "end": 0.005}},
                        "l2": {"coef": 1e-4, "reduce": "sum", "params": "all"}}}},
    {"name": "text_bn_biased_std_find",
     "covers": ["lr: find", "batchnorm: biased std"],
     "spec": {"seed": 8, "rng": "torch", "data": TEXT,
              "model": [{"embedding": {"dim": 3, **Z}}, "flatten",
                        {"linear": {"out": 8, "bias": False, **Z}},
                        {"batchnorm": {"eps": 1e-2, "running": "std", "momentum": 0.05}},
                        "tanh", {"linear": ZB}],
              "train": {"steps": 15, "batch": 8, "lr": {"find": {"min": 0.01, "max": 1.0}}}}},
    {"name": "num_hinge_mean_warmup",
     "covers": ["loss: hinge mean", "lr: constant + warmup"],
     "spec": {"data": csv_data("ypm"),
              "model": [{"linear": {"out": 8, **ZB}}, "tanh", {"linear": {"out": 1, **ZB}}],
              "train": {"steps": 20, "batch": "full", "loss": "hinge",
                        "lr": {"constant": 0.2, "warmup": 4},
                        "l2": {"coef": 1e-3, "reduce": "sum", "params": "all"}}}},
    {"name": "num_hinge_sum_expr_unit",
     "covers": ["loss: hinge sum", "lr: steps + warmup", "layer: expr per unit"],
     "torch_act": {1: lambda h, beta: h * torch.sigmoid(beta * h)},
     "spec": {"seed": 6, "rng": "torch", "data": csv_data("ypm"),
              "model": [{"linear": {"out": 6, **ZB}},
                        {"activation": {"expr": "x * sigmoid(beta * x)", "params": {"beta": 1.0},
                                        "learn": ["beta"], "per": "unit"}},
                        {"linear": {"out": 1, **ZB}}],
              "train": {"steps": 20, "batch": 5, "loss": {"hinge": {"reduce": "sum"}},
                        "optimizer": {"sgd": {"momentum": 0.5}},
                        "lr": {"steps": {"boundaries": [10], "values": [0.05, 0.02]}, "warmup": 2},
                        "l2": {"coef": 0.01, "reduce": "sum", "params": "all"}}}},
    {"name": "num_mse_bn_adam",
     "covers": ["loss: mse mean", "lr: exponential"],
     "spec": {"seed": 2, "rng": "torch", "data": csv_data("yreal"),
              "model": [{"linear": {"out": 8, "bias": False, **Z}},
                        {"batchnorm": {"variance": "unbiased", "init": "ones",
                                       "bias_init": "zeros"}},
                        "relu", {"linear": {"out": 1, **ZB}}],
              "train": {"steps": 25, "batch": 10, "loss": "mse", "optimizer": "adam",
                        "lr": {"exponential": {"start": 0.01, "gamma": 0.97}}}}},
    {"name": "num_mse_sum_plugin",
     "covers": ["loss: mse sum", "lr: cosine", "layer: plugin"],
     "plugin": True, "torch_act": {1: lambda h: swish(h, 1.5)},
     # 12 rows: a summed loss's gradients are sums of rows, and a momentum buffer near 0 made
     # of larger terms of both signs keeps their float32 rounding (the plugin is -ffast-math)
     "spec": {"data": csv_data("yreal", train=12),
              "model": [{"linear": {"out": 6, **ZB}}, {"activation": {"swish": {"beta": 1.5}}},
                        {"linear": {"out": 1, **ZB}}],
              "train": {"steps": 20, "batch": "full", "loss": {"mse": {"reduce": "sum"}},
                        "optimizer": {"sgd": {"momentum": 0.9, "nesterov": True}},
                        "lr": {"cosine": {"start": 0.003}}}}},
    {"name": "num_value",
     "covers": ["loss: value", "lr: linear + warmup"],
     "spec": {"data": csv_data("yreal"),
              "model": [{"linear": {"out": 4, **ZB}}, "tanh", {"linear": {"out": 2, **ZB}}],
              "train": {"steps": 15, "batch": "full", "loss": "value",
                        "lr": {"linear": {"start": 0.01, "end": 0.0}, "warmup": 3}}}},
    {"name": "num_expr_loss_leaky",
     "covers": ["loss: expr mean", "lr: find + warmup", "layer: expr per layer"],
     "torch_act": {1: lambda h, a: torch.maximum(h, a * h)},
     "torch_loss": lambda s, y: torch.log(1 + torch.exp(-y * s)),
     "spec": {"data": csv_data("ypm"),
              "model": [{"linear": {"out": 6, **ZB}},
                        {"activation": {"expr": "max(x, a * x)", "params": {"a": 0.1},
                                        "learn": ["a"]}},
                        {"linear": {"out": 1, **ZB}}],
              "train": {"steps": 20, "batch": "full", "loss": {"expr": "log(1 + exp(-y * s))"},
                        "optimizer": {"adam": {"weight_decay": 0.05}},
                        "lr": {"find": {"min": 0.001, "max": 0.05}, "warmup": 2}}}},
    {"name": "num_expr_loss_sum",
     "covers": ["loss: expr sum", "l2: mean weights"],
     "torch_loss": lambda s, y: 0.5 * (s - y) ** 2,
     "spec": {"seed": 12, "rng": "torch", "data": csv_data("yreal"),
              "model": [{"linear": {"out": 5, **ZB}}, "sigmoid", {"linear": {"out": 1, **ZB}}],
              "train": {"steps": 20, "batch": 6,
                        "loss": {"expr": "w * (s - y)^2", "params": {"w": 0.5}, "reduce": "sum"},
                        "lr": {"constant": 0.02},
                        "l2": {"coef": 0.05, "reduce": "mean", "params": "weights"}}}},
    {"name": "num_classes_ce",
     "covers": ["loss: cross_entropy (classes)"],
     "spec": {"seed": 21, "rng": "torch", "data": csv_data("ycls"),
              "model": [{"linear": {"out": 10, **ZB}}, "relu", {"linear": ZB}],
              "train": {"steps": 20, "batch": 7, "optimizer": {"sgd": {"momentum": 0.9}},
                        "lr": {"cosine": {"start": 0.1, "end": 0.01}, "warmup": 4}}}},
    {"name": "text_drawn_init",
     "covers": ["init: drawn (rng torch)", "batchnorm.init", "batchnorm.bias_init"],
     "drawn": True,
     "spec": {"seed": 2147483647, "rng": "torch", "data": TEXT,
              "model": [{"embedding": {"dim": 5}}, "flatten",
                        {"linear": {"out": 20, "init": {"kaiming": "tanh"},
                                    "bias_init": {"normal": 0.1}}},
                        "tanh", {"linear": {"out": 18, "bias": False, "init": {"kaiming": 1.2}}},
                        {"batchnorm": {"variance": "pytorch", "init": {"normal": 0.5, "scale": 2},
                                       "bias_init": {"normal": 0.1}}},
                        "tanh", {"linear": {"init": {"normal": 1.0, "scale": 0.1}}}],
              "train": {"steps": 20, "batch": 10, "lr": 0.2}}},
    # more combinations, for rules that meet: BatchNorm straight on the features, two
    # conventions in one net, l2 over every parameter under SGD, a warm-up longer than the run,
    # a batch larger than the training split, the find schedule's defaults
    {"name": "num_bn_first_sgd",
     "covers": [],
     "spec": {"seed": 31, "rng": "torch", "data": csv_data("yreal"),
              "model": [{"batchnorm": {"variance": "pytorch", "momentum": 0.5}},
                        {"linear": {"out": 8, "bias": False, **Z}},
                        {"batchnorm": {"eps": 1e-3, "running": "std", "momentum": 0.25}},
                        "relu", {"linear": {"out": 1, **ZB}}],
              "train": {"steps": 20, "batch": 12, "loss": "mse",
                        "lr": {"find": None, "warmup": 30},
                        "l2": {"coef": 0.02, "reduce": "mean", "params": "all"}}}},
    {"name": "num_value_big_batch_adam",
     "covers": [],
     "spec": {"seed": 5, "rng": "torch", "data": csv_data("yreal"),
              "model": [{"linear": {"out": 4, **ZB}}, "sigmoid", {"linear": {"out": 3, **ZB}}],
              "train": {"steps": 15, "batch": 50, "loss": "value", "optimizer": "adam",
                        "lr": {"cosine": {"start": 0.01}}}}},
    {"name": "text_onehot_bn_adamw",
     "covers": [],
     "spec": {"seed": 17, "rng": "torch", "data": TEXT,
              "model": ["onehot", "flatten", {"linear": {"out": 14, "bias": False, **Z}},
                        {"batchnorm": {"variance": "unbiased", "momentum": 0.9}}, "relu",
                        {"linear": ZB}],
              "train": {"steps": 25, "batch": 24,
                        "optimizer": {"adam": {"beta2": 0.99, "weight_decay": 0.01}},
                        "lr": {"exponential": {"start": 0.01, "gamma": 0.9}, "warmup": 1},
                        "l2": 0.001}}},
    # rank 3: linear over the last axis of [B, T, C], BatchNorm over batch and time, and
    # over the batch axis only (lesson 5's bug: buffers [T, C])
    {"name": "text_seq_bn_over",
     "covers": ["batchnorm.over", "batchnorm: over all on [B, T, C]",
                "batchnorm: over batch on [B, T, C]"],
     "spec": {"seed": 23, "rng": "torch", "data": TEXT,
              "model": [{"embedding": {"dim": 6, **Z}},
                        {"linear": {"out": 8, "bias": False, **Z}},
                        {"batchnorm": {"variance": "unbiased", "momentum": 0.2}}, "tanh",
                        {"linear": {"out": 7, **Z}},
                        {"batchnorm": {"over": "batch", "variance": "pytorch", "eps": 1e-3}},
                        "tanh", "flatten", {"linear": ZB}],
              "train": {"steps": 20, "batch": 9, "lr": 0.3}}},
    # gradient clipping (clip_grad_norm_): under SGD it scales 11 of 25 steps (both branches),
    # under AdamW every step
    # with nanoGPT's two groups (decay on the matrices, not on biases or BatchNorm)
    {"name": "text_clip_sgd",
     "covers": ["train.clip", "clip: triggered"],
     "clips": True,
     "spec": {"seed": 41, "rng": "torch", "data": TEXT,
              "model": [{"embedding": {"dim": 5, **Z}}, "flatten",
                        {"linear": {"out": 16, **ZB}}, "tanh", {"linear": ZB}],
              "train": {"steps": 25, "batch": 10, "optimizer": {"sgd": {"momentum": 0.9}},
                        "lr": 0.1, "clip": {"norm": 1.2}}}},
    {"name": "text_adamw_matrices_clip",
     "covers": ["optimizer: adamw", "optimizer: adamw decay matrices", "clip: triggered"],
     "clips": True,
     "spec": {"seed": 43, "rng": "torch", "data": TEXT,
              "model": [{"embedding": {"dim": 6, **Z}}, "flatten",
                        {"linear": {"out": 12, "bias": False, **Z}},
                        {"batchnorm": {"variance": "pytorch"}}, "relu", {"linear": ZB}],
              "train": {"steps": 30, "batch": 12,
                        "optimizer": {"adamw": {"beta2": 0.99, "weight_decay": 0.5,
                                                "decay": "matrices"}},
                        "lr": 0.02, "clip": {"norm": 0.3}}}},
    {"name": "num_adamw_default_decay",
     "covers": ["optimizer: adamw"],
     "spec": {"seed": 47, "rng": "torch", "data": csv_data("yreal"),
              "model": [{"linear": {"out": 6, **ZB}}, "tanh", {"linear": {"out": 1, **ZB}}],
              "train": {"steps": 20, "batch": 8, "loss": "mse", "optimizer": "adamw",
                        "lr": 0.05}}},
]
