#!/usr/bin/python3
"""torch_step.py — one PyTorch training step of makemore.py's models (plain nn.Module, the
classes of tests/parity/makemore.py, + torch.optim.AdamW), one thread, batch 32: the
median µs per step over N steps after a warm-up, as one JSON line per model.

MODEL: transformer, bow, mlp, bigram, rnn, gru (rnn and gru: makemore.py's cells in a Python
loop over the 16 positions).  Usage: /usr/bin/python3 bench/makemore/torch_step.py [MODEL ...] [--steps N]
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "parity"))
import makemore as mm  # noqa: E402

torch.set_num_threads(1)


def bench(kind, steps):
    torch.manual_seed(0)
    model = mm.MODELS[kind]()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)
    x = torch.randint(1, 27, (32, 16))
    y = torch.randint(0, 27, (32, 16))
    y[:, 10:] = -1
    times = []
    for i in range(steps + 20):
        t = time.perf_counter()
        logits = model(x, {})
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), ignore_index=-1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 20:
            times.append(time.perf_counter() - t)
    times.sort()
    return {"name": kind, "us_per_step_median": times[len(times) // 2] * 1e6, "steps": steps}


def main():
    args = sys.argv[1:]
    steps = 200
    if "--steps" in args:
        steps = int(args[args.index("--steps") + 1])
        del args[args.index("--steps") : args.index("--steps") + 2]
    for kind in args or ["transformer", "bow", "mlp", "bigram", "rnn", "gru"]:
        print(json.dumps(bench(kind, steps)))


if __name__ == "__main__":
    main()
