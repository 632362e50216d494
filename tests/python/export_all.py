"""`nnrun export RUN_DIR --pytorch FILE` over every spec in specs/: a short run with the
command line, the export, and the exported module's logits against nnrun's (the C API's
nnrun_forward, evaluation mode) on random inputs: |a − b| ≤ 1e-5·max(1, |a|).  The specs the
export cannot express must be refused with a message (exit 2).  Run by tests/export.sh with
/usr/bin/python3 (torch)."""
import glob
import importlib.util
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

import nnrun

SRC = os.environ["NNRUN_SRCDIR"]
BIN = os.environ["NNRUN_BIN"]
# what the export refuses, and the words its message must hold
REFUSED = {
    "bigram_counts.yaml": "counting model", "trigram_counts.yaml": "counting model",
    "mlp_gelu.yaml": "plugin", "mlp_softsign.yaml": "plugin", "mlp_swish.yaml": "plugin",
    "mlp_bn_expr.yaml": "formula", "mlp_swish_expr.yaml": "formula",
    "neuron_expr.yaml": "formula",
}
SETS = ["train.steps=5", "report.plots=none"]


def run_dir_of(spec, tmp):
    """A finished short run of spec: `nnrun run`, or cell 0 of a matrix's sweep."""
    out = os.path.join(tmp, os.path.basename(spec)[:-5])
    sets = sum([["--set", s] for s in SETS], [])
    if "\nmatrix:" in open(spec).read():
        subprocess.run([BIN, "sweep", spec, "--cell", "0", "--out", out, "--quiet"] + sets,
                       check=True, cwd=SRC, stdout=subprocess.DEVNULL)
        found = glob.glob(os.path.join(out, "**", "model.safetensors"), recursive=True)
        return os.path.dirname(found[0])
    subprocess.run([BIN, "run", spec, "--quiet", "--out", out] + sets, check=True, cwd=SRC)
    return out


def main():
    failures, checked = [], 0
    tmp = tempfile.mkdtemp(prefix="nnrun-export-")
    for spec in sorted(glob.glob(os.path.join(SRC, "specs", "*.yaml"))):
        name = os.path.basename(spec)
        d = run_dir_of(spec, tmp)
        py = os.path.join(tmp, name[:-5] + "_model.py")
        p = subprocess.run([BIN, "export", d, "--pytorch", py], cwd=SRC, capture_output=True,
                           text=True)
        if name in REFUSED:
            ok = p.returncode == 2 and REFUSED[name] in p.stderr and not os.path.exists(py)
            print("%-28s refused: %s" % (name, p.stderr.strip().splitlines()[0]))
            if not ok:
                failures.append("%s: expected a refusal naming '%s', got exit %d: %s"
                                % (name, REFUSED[name], p.returncode, p.stderr))
            continue
        if p.returncode != 0:
            failures.append("%s: export failed (exit %d): %s" % (name, p.returncode, p.stderr))
            continue
        ms = importlib.util.spec_from_file_location("m_" + name[:-5], py)
        mod = importlib.util.module_from_spec(ms)
        ms.loader.exec_module(mod)
        model = mod.load(os.path.join(d, "model.safetensors"))
        run = nnrun.open_run(d)
        rng = np.random.default_rng(len(name))
        worst = 0.0
        for rows in (1, 9):
            if mod.FEATURES:
                x = rng.standard_normal((rows, mod.FEATURES)).astype(np.float32)
                xt = torch.from_numpy(x)
            else:
                x = rng.integers(0, mod.VOCAB, (rows, mod.CONTEXT)).astype(np.float32)
                xt = torch.from_numpy(x).long()
            a = run.forward(x)
            with torch.no_grad():
                b = model(xt).numpy()
                c = run.to_torch()(xt).numpy()
            if a.shape != b.shape or not np.array_equal(b, c):
                failures.append("%s: shapes %s vs %s, or to_torch() differs from the file"
                                % (name, a.shape, b.shape))
                break
            worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(1, np.abs(a)))))
        checked += 1
        print("%-28s logits %-14s max |nnrun - torch| / max(1, |nnrun|) = %.2e"
              % (name, str(a.shape), worst))
        if worst > 1e-5:
            failures.append("%s: logits differ by %.3g" % (name, worst))
    for f in failures:
        print("FAIL:", f)
    print("export: %d specs exported and equal, %d refused as expected, %d failures"
          % (checked, len(REFUSED), len(failures)))
    subprocess.run(["rm", "-rf", tmp])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
