"""nnrun from Python: specs, runs, metrics and tensors over libnnrun's C API (ctypes).

    spec = nnrun.load_spec("specs/mlp_bn.yaml", set={"train.steps": 2000})
    run = nnrun.Run(spec)
    run.train(1000)
    run.metrics, run.param("layers.2.weight"), run.activation("layers.4.out"), run.sample(5)

Every wrong call raises nnrun.NnrunError, whose text is nnrun's FILE:LINE:COL: error: ...
and whose .errors holds (file, line, column, message) tuples.
"""
import ctypes
import csv
import html
import json
import os

import numpy as np

from . import _lib
from ._lib import lib

__all__ = ["NnrunError", "Spec", "Run", "load_spec", "spec_from_string", "open_run",
           "version"]
__version__ = "0.1.0"


def version():
    """libnnrun's version string."""
    return lib.nnrun_version().decode()


class NnrunError(Exception):
    """A wrong call or a failed run: str() is the text nnrun prints (FILE:LINE:COL: error:
    ..., the source line, a caret), .errors the (file, line, column, message) tuples."""

    def __init__(self, text, errors=()):
        super().__init__(text.rstrip("\n"))
        self.errors = list(errors)


def _errors(handle):
    """The list behind an nnrun_errors handle as an NnrunError."""
    n = lib.nnrun_errors_count(handle)
    out = []
    for i in range(n):
        e = _lib.Error()
        if lib.nnrun_errors_get(handle, i, ctypes.byref(e)) == _lib.OK:
            out.append((e.file.decode() if e.file else None, e.line, e.column,
                        e.message.decode()))
    text = lib.nnrun_errors_text(handle).decode()
    return NnrunError(text or "nnrun: unknown error", out)


def _raise_taken(err):
    """Raises the errors of a failed load (and frees the list)."""
    e = _errors(err) if err else NnrunError("nnrun: out of memory")
    lib.nnrun_errors_free(err)
    raise e


def _set_args(set):
    """{KEY: VALUE} → ["KEY=VALUE"] with VALUE as YAML (JSON is YAML): numbers and strings as
    written, booleans true/false, lists and dicts as JSON."""
    out = []
    for k, v in (set or {}).items():
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, (list, tuple, dict)):
            v = json.dumps(v)
        elif v is None:
            v = "null"
        out.append(("%s=%s" % (k, v)).encode())
    arr = (ctypes.c_char_p * max(1, len(out)))(*out)
    return arr, len(out)


class Spec:
    """A validated spec (nnrun_spec); load_spec or spec_from_string make one."""

    def __init__(self, handle, source):
        self._h = handle
        self.source = source

    def __del__(self):
        if getattr(self, "_h", None):
            lib.nnrun_spec_free(self._h)
            self._h = None

    @property
    def name(self):
        return lib.nnrun_spec_name(self._h).decode()

    @property
    def resolved(self):
        """The resolved spec as YAML (`nnrun check --resolved`)."""
        p = lib.nnrun_spec_resolved(self._h)
        try:
            return ctypes.string_at(p).decode() if p else ""
        finally:
            _lib.libc.free(p)

    def __repr__(self):
        return "<nnrun.Spec %s from %s>" % (self.name, self.source)


def load_spec(path, set=None):
    """Reads the spec at `path` with overrides {KEY.PATH: VALUE} as --set takes them."""
    arr, n = _set_args(set)
    err = ctypes.c_void_p()
    h = lib.nnrun_spec_load(os.fsencode(path), arr, n, ctypes.byref(err))
    if not h:
        _raise_taken(err)
    return Spec(h, str(path))


def spec_from_string(text, base_dir=None, name=None, set=None):
    """A spec from YAML text; relative paths in it resolve in base_dir (default: the current
    directory); errors name the file <string>."""
    arr, n = _set_args(set)
    err = ctypes.c_void_p()
    h = lib.nnrun_spec_load_string(text.encode(), os.fsencode(base_dir) if base_dir else None,
                                   name.encode() if name else None, arr, n, ctypes.byref(err))
    if not h:
        _raise_taken(err)
    return Spec(h, "<string>")


_KINDS = {1: "param", 2: "buffer", 3: "activation", 4: "gradient"}


class Run:
    """A run of a spec: its data loaded and its model initialised from the spec's seed.

    out=None keeps everything in memory; out="" writes runs/NAME as `nnrun run` does, a
    path writes there (force=True may reuse it).  progress=True prints nnrun's progress
    lines on stderr.  threads=0: one per core."""

    def __init__(self, spec, out=None, force=False, progress=False, threads=0):
        if isinstance(spec, (str, os.PathLike)):
            spec = load_spec(spec)
        self.spec = spec
        self._metrics_file = None  # open_run: a finished run's metrics.csv
        opts = _lib.RunOpts(None if out is None else os.fsencode(out), int(force),
                            int(progress), int(threads))
        err = ctypes.c_void_p()
        self._h = lib.nnrun_run_new(spec._h, ctypes.byref(opts), ctypes.byref(err))
        if not self._h:
            _raise_taken(err)

    def __del__(self):
        if getattr(self, "_h", None):
            lib.nnrun_run_free(self._h)
            self._h = None

    def _fail(self):
        raise _errors(lib.nnrun_run_errors(self._h))

    def _check(self, rc):
        if rc < 0:
            self._fail()
        return rc

    # --- training ---------------------------------------------------------------------
    @property
    def steps_done(self):
        return lib.nnrun_steps_done(self._h)

    @property
    def steps_total(self):
        return lib.nnrun_steps_total(self._h)

    @property
    def finished(self):
        return bool(getattr(self, "_opened_dir", None) or lib.nnrun_finished(self._h))

    @property
    def run_dir(self):
        if getattr(self, "_opened_dir", None):
            return self._opened_dir
        d = lib.nnrun_run_dir(self._h)
        return d.decode() if d else None

    def train(self, steps=None, on_eval=None):
        """Trains `steps` more steps (None: to train.steps, the end, which runs the final
        evaluation and the samples).  on_eval(step, train_loss, dev_loss, test_loss) is
        called after each evaluation; returning True stops there.  Returns self."""
        raised = []

        def cb(ctx, step, loss):
            try:
                return 1 if on_eval(step, loss[0], loss[1], loss[2]) else 0
            except BaseException as e:  # an exception in the callback stops the run
                raised.append(e)
                return 1

        fn = _lib.EVAL_FN(cb) if on_eval else ctypes.cast(None, _lib.EVAL_FN)
        self._check(lib.nnrun_train(self._h, 0 if steps is None else max(int(steps), 1), fn,
                                    None))
        if raised:
            raise raised[0]
        return self

    def final_loss(self, split="dev"):
        i = {"train": 0, "dev": 1, "test": 2}[split]
        return lib.nnrun_final_loss(self._h, i)

    # --- metrics ----------------------------------------------------------------------
    def metrics_dict(self):
        """The metrics as {column: numpy array} (NaN where metrics.csv's cell is empty)."""
        if self._metrics_file:
            return _read_metrics_csv(self._metrics_file)
        rows = self._check(lib.nnrun_metrics_rows(self._h))
        out = {}
        for c in range(lib.nnrun_metrics_columns()):
            a = np.empty(rows, dtype=np.float64)
            self._check(lib.nnrun_metrics_column(self._h, c, a.ctypes.data, rows))
            out[lib.nnrun_metrics_column_name(c).decode()] = a
        return out

    @property
    def metrics(self):
        """metrics.csv's table: a pandas DataFrame when pandas is there, else a dict of
        numpy arrays.  Step rows have `loss`; evaluation rows have the split losses."""
        d = self.metrics_dict()
        try:
            import pandas as pd
        except ImportError:
            return d
        df = pd.DataFrame(d)
        df["step"] = df["step"].astype("int64")
        return df

    # --- tensors ----------------------------------------------------------------------
    def tensor_names(self):
        names, i = [], 0
        while True:
            n = lib.nnrun_tensor_name(self._h, i)
            if n is None:
                return names
            names.append(n.decode())
            i += 1

    def _shape(self, name):
        sh = _lib.Shape()
        self._check(lib.nnrun_tensor_shape(self._h, name.encode(), ctypes.byref(sh)))
        return tuple(sh.dim[k] for k in range(sh.ndim)), sh.numel, _KINDS.get(sh.kind)

    def tensor(self, name):
        """Any tensor by its IR name, as a float32 numpy array of its shape (a copy)."""
        shape, numel, _ = self._shape(name)
        a = np.empty(numel, dtype=np.float32)
        self._check(lib.nnrun_tensor_get(self._h, name.encode(), a.ctypes.data, numel))
        return a.reshape(shape)

    def param(self, name):
        """A parameter or BatchNorm buffer ("layers.2.weight", "layers.3.running_mean")."""
        _, _, kind = self._shape(name)
        if kind not in ("param", "buffer"):
            raise NnrunError("'%s' is %s, not a parameter: use run.activation or run.grad"
                             % (name, "an activation" if kind == "activation" else "a gradient"))
        return self.tensor(name)

    def activation(self, name):
        """An activation ("layers.4.out") on the probe batch (probe(): the first batch of
        the training split, in training mode, after the last step)."""
        return self.tensor(name)

    def grad(self, name):
        """The gradient of an activation on the probe batch, or of a parameter (the last
        step's or probe's)."""
        return self.tensor("d" + name)

    def set_param(self, name, value):
        shape, numel, _ = self._shape(name)
        a = np.ascontiguousarray(value, dtype=np.float32)
        if a.size != numel:
            raise NnrunError("'%s' has shape %s; got %s" % (name, list(shape), list(a.shape)))
        self._check(lib.nnrun_tensor_set(self._h, name.encode(), a.ctypes.data, numel))

    def probe(self, rows=0):
        """One forward/backward pass on `rows` training examples (0: a batch) without an
        update: what activation() and grad() read.  Returns the rows used."""
        return self._check(lib.nnrun_probe(self._h, int(rows)))

    # --- sampling and files -----------------------------------------------------------
    def sample(self, n=10, seed=None, temperature=0.0):
        """n items drawn from the model (text data), with `seed` (default: a fixed one)."""
        seed = 2147483647 if seed is None else int(seed)
        p = lib.nnrun_sample(self._h, int(n), seed, float(temperature))
        if not p:
            self._fail()
        try:
            return [p[i].decode() for i in range(int(n))]
        finally:
            lib.nnrun_strings_free(p, int(n))

    def save(self, path):
        """The weights as model.safetensors (`nnrun sample` and load() read it)."""
        self._check(lib.nnrun_save(self._h, os.fsencode(path)))

    def load(self, path):
        self._check(lib.nnrun_load(self._h, os.fsencode(path)))

    def forward(self, x):
        """The logits of x (token ids [rows, context] or features [rows, features]) in
        evaluation mode, as nnrun computes them."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        rows = x.shape[0] if x.ndim else 0
        sin, sout = _lib.Shape(), _lib.Shape()
        self._check(lib.nnrun_forward_shape(self._h, rows, ctypes.byref(sin), ctypes.byref(sout)))
        want = tuple(sin.dim[k] for k in range(sin.ndim))
        if x.shape != want:
            raise NnrunError("forward: x is %s; the model takes %s" % (list(x.shape), list(want)))
        out = np.empty(sout.numel, dtype=np.float32)
        self._check(lib.nnrun_forward(self._h, x.ctypes.data, rows, out.ctypes.data, sout.numel))
        return out.reshape(tuple(sout.dim[k] for k in range(sout.ndim)))

    def export_pytorch(self, path):
        """Writes the standalone PyTorch file of `nnrun export --pytorch` for this model."""
        self._check(lib.nnrun_export_pytorch(self._h, os.fsencode(path)))

    def to_torch(self):
        """The model as a PyTorch nn.Module with this run's current weights, in eval mode
        (the file of export_pytorch, imported)."""
        import importlib.util
        import tempfile
        import torch
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "nnrun_%s.py" % self.spec.name.replace("-", "_"))
            self.export_pytorch(path)
            ms = importlib.util.spec_from_file_location("nnrun_model_" + self.spec.name, path)
            mod = importlib.util.module_from_spec(ms)
            ms.loader.exec_module(mod)
        model = mod.Model()
        with torch.no_grad():
            for name in model.NAMES:
                model.P(name).copy_(torch.from_numpy(self.tensor(name)))
        model.module = mod  # load() and the constants (VOCAB, CONTEXT) of the file
        return model.eval()

    # --- Jupyter ----------------------------------------------------------------------
    def _repr_html_(self):
        d = self.run_dir
        report = os.path.join(d, "report.html") if d else None
        if report and self.finished and os.path.exists(report):
            with open(report, encoding="utf-8") as f:
                doc = f.read()
            return ('<iframe srcdoc="%s" style="width:100%%;height:640px;border:0"></iframe>'
                    % html.escape(doc, quote=True))
        m = self.metrics_dict()
        rows = []
        for key in ("train_loss", "dev_loss", "loss"):
            col = m.get(key, np.array([]))
            ok = np.flatnonzero(~np.isnan(col))
            if ok.size:
                rows.append("<tr><td>%s</td><td>%.4f</td><td>step %d</td></tr>"
                            % (key, col[ok[-1]], m["step"][ok[-1]]))
        return ("<div><b>nnrun run %s</b>: %d of %d steps%s<table>%s</table></div>"
                % (html.escape(self.spec.name), self.steps_done, self.steps_total,
                   " (finished)" if self.finished else "", "".join(rows)))

    def __repr__(self):
        return "<nnrun.Run %s: %d/%d steps>" % (self.spec.name, self.steps_done,
                                                self.steps_total)


def _read_metrics_csv(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        cols = [[] for _ in header]
        for row in r:
            for i, cell in enumerate(row):
                cols[i].append(float(cell) if cell else float("nan"))
    return {h: np.array(c, dtype=np.float64) for h, c in zip(header, cols)}


def open_run(run_dir, threads=0):
    """A finished run directory: its spec (spec.resolved.yaml), weights
    (model.safetensors) and metrics (metrics.csv), to read, sample or export."""
    spec = load_spec(os.path.join(run_dir, "spec.resolved.yaml"))
    run = Run(spec, threads=threads)
    model = os.path.join(run_dir, "model.safetensors")
    if not os.path.exists(model):
        raise NnrunError("%s: no model.safetensors (the spec's checkpoint.every: 0 with no "
                         "final checkpoint?)" % run_dir)
    run.load(model)
    run._metrics_file = os.path.join(run_dir, "metrics.csv")
    run._opened_dir = os.path.abspath(run_dir)
    return run
