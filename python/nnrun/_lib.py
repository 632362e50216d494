"""The C API of libnnrun (include/nnrun/nnrun.h) through ctypes: finding the library and
declaring each function's types.  Everything else in the package is built on this."""
import ctypes
import ctypes.util
import os

API_VERSION = 1  # NNRUN_API_VERSION of the header this module was written for

OK, STOPPED, ERUN, EINPUT, EOUTPUT = 0, 1, -1, -2, -3


class Error(ctypes.Structure):
    _fields_ = [("file", ctypes.c_char_p), ("line", ctypes.c_int), ("column", ctypes.c_int),
                ("message", ctypes.c_char_p)]


class Shape(ctypes.Structure):
    _fields_ = [("ndim", ctypes.c_int), ("dim", ctypes.c_int64 * 4), ("numel", ctypes.c_int64),
                ("kind", ctypes.c_int)]


class RunOpts(ctypes.Structure):
    _fields_ = [("out", ctypes.c_char_p), ("force", ctypes.c_int), ("progress", ctypes.c_int),
                ("threads", ctypes.c_int)]


EVAL_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_long,
                           ctypes.POINTER(ctypes.c_double))


def _candidates():
    env = os.environ.get("NNRUN_LIB")
    if env:
        yield env
        return
    found = ctypes.util.find_library("nnrun")
    if found:
        yield found
    yield "libnnrun.so.1"
    for d in ("/usr/local/lib", "/usr/lib", "/usr/local/lib64"):
        yield os.path.join(d, "libnnrun.so.1")


def _load():
    errors = []
    for name in _candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("nnrun: cannot load libnnrun (install it with `make install`, or set "
                      "NNRUN_LIB to the path of libnnrun.so.1): " + "; ".join(errors))


lib = _load()

P = ctypes.c_void_p
_decl = {
    "nnrun_version": (ctypes.c_char_p, []),
    "nnrun_api_version": (ctypes.c_int, []),
    "nnrun_errors_count": (ctypes.c_int, [P]),
    "nnrun_errors_get": (ctypes.c_int, [P, ctypes.c_int, ctypes.POINTER(Error)]),
    "nnrun_errors_text": (ctypes.c_char_p, [P]),
    "nnrun_errors_free": (None, [P]),
    "nnrun_spec_load": (P, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int,
                            ctypes.POINTER(P)]),
    "nnrun_spec_load_string": (P, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                   ctypes.POINTER(ctypes.c_char_p), ctypes.c_int,
                                   ctypes.POINTER(P)]),
    "nnrun_spec_free": (None, [P]),
    "nnrun_spec_name": (ctypes.c_char_p, [P]),
    "nnrun_spec_resolved": (P, [P]),
    "nnrun_run_new": (P, [P, ctypes.POINTER(RunOpts), ctypes.POINTER(P)]),
    "nnrun_run_free": (None, [P]),
    "nnrun_run_errors": (P, [P]),
    "nnrun_run_dir": (ctypes.c_char_p, [P]),
    "nnrun_train": (ctypes.c_int, [P, ctypes.c_long, EVAL_FN, P]),
    "nnrun_steps_done": (ctypes.c_long, [P]),
    "nnrun_steps_total": (ctypes.c_long, [P]),
    "nnrun_finished": (ctypes.c_int, [P]),
    "nnrun_metrics_rows": (ctypes.c_long, [P]),
    "nnrun_metrics_columns": (ctypes.c_int, []),
    "nnrun_metrics_column_name": (ctypes.c_char_p, [ctypes.c_int]),
    "nnrun_metrics_column": (ctypes.c_int, [P, ctypes.c_int, P, ctypes.c_long]),
    "nnrun_final_loss": (ctypes.c_double, [P, ctypes.c_int]),
    "nnrun_tensor_shape": (ctypes.c_int, [P, ctypes.c_char_p, ctypes.POINTER(Shape)]),
    "nnrun_tensor_get": (ctypes.c_int, [P, ctypes.c_char_p, P, ctypes.c_int64]),
    "nnrun_tensor_set": (ctypes.c_int, [P, ctypes.c_char_p, P, ctypes.c_int64]),
    "nnrun_tensor_name": (ctypes.c_char_p, [P, ctypes.c_int]),
    "nnrun_probe": (ctypes.c_int, [P, ctypes.c_int]),
    "nnrun_sample": (ctypes.POINTER(ctypes.c_char_p), [P, ctypes.c_int, ctypes.c_uint64,
                                                       ctypes.c_double]),
    "nnrun_strings_free": (None, [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]),
    "nnrun_forward_shape": (ctypes.c_int, [P, ctypes.c_int, ctypes.POINTER(Shape),
                                           ctypes.POINTER(Shape)]),
    "nnrun_forward": (ctypes.c_int, [P, P, ctypes.c_int, P, ctypes.c_int64]),
    "nnrun_export_pytorch": (ctypes.c_int, [P, ctypes.c_char_p]),
    "nnrun_save": (ctypes.c_int, [P, ctypes.c_char_p]),
    "nnrun_load": (ctypes.c_int, [P, ctypes.c_char_p]),
}
for _name, (_res, _args) in _decl.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args

libc = ctypes.CDLL(None)
libc.free.argtypes = [P]
libc.free.restype = None

if lib.nnrun_api_version() != API_VERSION:
    raise ImportError("nnrun: libnnrun speaks API %d, this package %d: install matching versions"
                      % (lib.nnrun_api_version(), API_VERSION))
