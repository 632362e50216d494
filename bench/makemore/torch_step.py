#!/usr/bin/python3
"""torch_step.py — one PyTorch training step of makemore.py's models (plain nn.Module, the
classes of tests/parity/makemore.py, + torch.optim.AdamW with makemore's settings), batch
32 of 16 positions drawn each step from a pool of 31033 examples (makemore's training
split's size; the last positions ignored, as in padded names): the median µs per step
after a warm-up, one JSON line per model.  bench/run runs it interleaved with `nnrun bench`
on specs/makemore_*.yaml (`bench/run --only makemore`).

MODEL: transformer, bow, mlp, bigram, rnn, gru (rnn and gru: makemore.py's cells in a Python
loop over the 16 positions).
Usage: /usr/bin/python3 bench/makemore/torch_step.py [MODEL ...] [--steps N] [--warmup N]
       [--threads N]
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "parity"))
import makemore as mm  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torch_ref import blas_in_use  # noqa: E402  (bench/torch_ref.py: the BLAS mapped in)


def bench(kind, steps, warmup):
    torch.manual_seed(0)
    model = mm.MODELS[kind]()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)
    n = 31033
    X = torch.randint(1, 27, (n, 16))
    Y = torch.randint(0, 27, (n, 16))
    Y[:, 10:] = -1
    times = []
    for i in range(warmup + steps):
        t = time.perf_counter()
        ix = torch.randint(0, n, (32,))
        x, y = X[ix], Y[ix]
        logits = model(x, {})
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), ignore_index=-1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return {"model": kind, "style": "module", "threads": torch.get_num_threads(),
            "us_per_step": statistics.median(times) * 1e6, "steps": steps,
            "torch": torch.__version__, "blas": blas_in_use()}


def main():
    args = sys.argv[1:]
    opts = {"--steps": 200, "--warmup": 20, "--threads": 1}
    for k in list(opts):
        if k in args:
            opts[k] = int(args[args.index(k) + 1])
            del args[args.index(k) : args.index(k) + 2]
    torch.set_num_threads(opts["--threads"])
    for kind in args or ["transformer", "bow", "mlp", "bigram", "rnn", "gru"]:
        print(json.dumps(bench(kind, opts["--steps"], opts["--warmup"])))


if __name__ == "__main__":
    main()
