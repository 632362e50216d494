"""The Python package (python/nnrun) over libnnrun: run by tests/python.sh with NNRUN_LIB,
NNRUN_BIN and NNRUN_SRCDIR set.  Training through Python gives the command line's losses bit
for bit; wrong calls raise NnrunError with nnrun's FILE:LINE:COL text; metrics, tensors,
samples, run directories and open_run."""
import math
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

import nnrun

SRC = os.environ.get("NNRUN_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("NNRUN_BIN", os.path.join(SRC, "nnrun"))
SMALL = {"train.steps": 300, "eval.every": 100, "data.filter": "^q[a-z]+$",
         "report.plots": "none"}


def spec_path(name):
    return os.path.join(SRC, "specs", name)


def read_csv(path):
    return nnrun._read_metrics_csv(path)


def same(a, b):
    """Bit for bit, NaN where the other is NaN."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all((a.view(np.int64) == b.view(np.int64)) |
                                              (np.isnan(a) & np.isnan(b))))


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="nnrun-py-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cli(self, spec, sets, out):
        args = [BIN, "run", spec_path(spec), "--quiet", "--out", out]
        for k, v in sets.items():
            args += ["--set", "%s=%s" % (k, v)]
        subprocess.run(args, check=True, cwd=SRC)
        return read_csv(os.path.join(out, "metrics.csv"))


class TestSameAsCli(Base):
    def check_spec(self, spec, sets, pieces):
        cli = self.cli(spec, sets, os.path.join(self.tmp, "cli-" + spec))
        run = nnrun.Run(nnrun.load_spec(spec_path(spec), set=sets))
        for n in pieces:
            run.train(n)
        run.train()
        self.assertTrue(run.finished)
        m = run.metrics
        for col in ("step", "lr", "loss", "train_loss", "dev_loss", "test_loss", "smooth_loss"):
            self.assertTrue(same(m[col].to_numpy(), cli[col]), "%s: column %s differs" % (spec, col))
        return run

    def test_lesson4_bn_mlp(self):
        run = self.check_spec("mlp_bn.yaml", SMALL, [37, 63, 100])
        self.assertTrue(math.isfinite(run.final_loss("dev")))

    def test_moons_table_data(self):
        self.check_spec("micrograd_moons.yaml", {"train.steps": 40}, [13])

    def test_adam_transformer_block(self):
        self.check_spec("makemore_transformer.yaml",
                        {"train.steps": 6, "eval.every": 3}, [2, 3])


class TestErrors(Base):
    def test_bad_spec_file(self):
        p = os.path.join(self.tmp, "bad.yaml")
        with open(p, "w") as f:
            f.write("name: bad\nmodel:\n  - lienar: {out: 3}\n")
        with self.assertRaises(nnrun.NnrunError) as c:
            nnrun.load_spec(p)
        self.assertIn("%s:3:" % p, str(c.exception))
        self.assertIn(": error: ", str(c.exception))
        f, line, col, msg = c.exception.errors[0]
        self.assertEqual((f, line), (p, 3))
        self.assertGreater(col, 0)

    def test_bad_set_and_string(self):
        with self.assertRaises(nnrun.NnrunError) as c:
            nnrun.load_spec(spec_path("mlp_bn.yaml"), set={"train.stpes": 5})
        self.assertIn("--set:1:", str(c.exception))
        with self.assertRaises(nnrun.NnrunError) as c:
            nnrun.spec_from_string("model:\n  - linear: {out: x}\n", base_dir=self.tmp)
        self.assertIn("<string>:2:", str(c.exception))

    def test_wrong_calls(self):
        run = nnrun.Run(nnrun.load_spec(spec_path("mlp_bn.yaml"), set=SMALL))
        with self.assertRaises(nnrun.NnrunError) as c:
            run.param("layers.2.wieght")
        self.assertIn("did you mean 'layers.2.weight'", str(c.exception))
        with self.assertRaises(nnrun.NnrunError):
            run.set_param("layers.2.weight", np.zeros((3, 3)))
        with self.assertRaises(nnrun.NnrunError):
            run.param("layers.4.out")  # an activation
        with self.assertRaises(nnrun.NnrunError):
            run.sample(0)
        with self.assertRaises(nnrun.NnrunError):
            run.load(os.path.join(self.tmp, "missing.safetensors"))
        run.train()
        with self.assertRaises(nnrun.NnrunError):
            run.train(1)  # past train.steps
        with self.assertRaises(ZeroDivisionError):  # the callback's exception comes through
            nnrun.Run(nnrun.load_spec(spec_path("mlp_bn.yaml"), set=SMALL)).train(
                on_eval=lambda *a: 1 / 0)


class TestRun(Base):
    def test_tensors_metrics_samples(self):
        run = nnrun.Run(nnrun.load_spec(spec_path("mlp_bn.yaml"), set=SMALL))
        stops = []
        run.train(on_eval=lambda step, tr, dev, te: stops.append(step) or step >= 200)
        self.assertEqual(stops, [100, 200])
        self.assertEqual(run.steps_done, 200)
        w = run.param("layers.2.weight")
        self.assertEqual((w.shape, w.dtype), ((30, 200), np.float32))
        a = run.activation("layers.4.out")
        self.assertEqual(a.shape, (32, 200))
        self.assertTrue(np.all(np.abs(a) <= 1))
        self.assertEqual(run.grad("layers.4.out").shape, (32, 200))
        self.assertEqual(run.probe(7), 7)
        self.assertEqual(run.activation("layers.4.out").shape, (7, 200))
        run.set_param("layers.2.weight", w * 2)
        self.assertTrue(np.array_equal(run.param("layers.2.weight"), w * 2))
        run.set_param("layers.2.weight", w)
        m = run.metrics
        import pandas
        self.assertIsInstance(m, pandas.DataFrame)
        self.assertEqual(int(m["step"].iloc[-1]), 200)
        self.assertEqual(run.sample(4, seed=3), run.sample(4, seed=3))
        self.assertIn("layers.3.running_std", run.tensor_names())
        self.assertIn("200 of 300 steps", run._repr_html_())

    def test_run_dir_and_open_run(self):
        out = os.path.join(self.tmp, "r")
        run = nnrun.Run(nnrun.load_spec(spec_path("mlp_bn.yaml"), set=SMALL), out=out)
        run.train()
        for f in ("metrics.csv", "summary.json", "report.html", "model.safetensors"):
            self.assertTrue(os.path.exists(os.path.join(out, f)), f)
        self.assertIn("<iframe srcdoc=", run._repr_html_())
        back = nnrun.open_run(out)
        self.assertTrue(np.array_equal(back.param("layers.2.weight"), run.param("layers.2.weight")))
        self.assertTrue(same(back.metrics["loss"].to_numpy(), run.metrics["loss"].to_numpy()))
        self.assertEqual(back.sample(3, seed=9), run.sample(3, seed=9))
        self.assertIn("<iframe srcdoc=", back._repr_html_())
        path = os.path.join(self.tmp, "m.safetensors")
        run.save(path)
        r2 = nnrun.Run(nnrun.load_spec(spec_path("mlp_bn.yaml"), set=SMALL))
        r2.load(path)
        self.assertTrue(np.array_equal(r2.param("layers.3.running_mean"),
                                       run.param("layers.3.running_mean")))


if __name__ == "__main__":
    unittest.main()
