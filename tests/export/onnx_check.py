"""Shared checks of the export tests: run an exported model under
onnxruntime and compare with the reference interpreter, or export a Keras
model and compare onnxruntime with its compiled `predict` (check_export)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort

from graphkeras import ir

TOL = {  # (rtol, atol) per result dtype
    "float32": (2e-5, 2e-6),
    "float64": (1e-12, 1e-13),
}


def session(model) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # unused inputs are fine here
    return ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def check_same(got: list, want: list, what: str = "", tol=None) -> None:
    assert len(got) == len(want), what
    for i, (g, w) in enumerate(zip(got, want)):
        msg = f"{what} result {i}"
        assert g.dtype == w.dtype, f"{msg}: dtype {g.dtype} != {w.dtype}"
        assert g.shape == w.shape, f"{msg}: shape {g.shape} != {w.shape}"
        if w.dtype.kind == "f":
            rtol, atol = tol or TOL[w.dtype.name]
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=msg)
        else:
            np.testing.assert_array_equal(g, w, err_msg=msg)


def check_ort_matches_interpreter(model, fn: ir.Function, args: list,
                                  feeds: dict, what: str = "",
                                  tol=None) -> None:
    """ONNX Runtime on `feeds` gives what the interpreter gives on `args`."""
    got = session(model).run(None, feeds)
    check_same(got, ir.interpret(fn, args), what, tol)


BATCHES = (1, 7, 33)
_NP = {"tensor(float)": np.float32, "tensor(int32)": np.int32,
       "tensor(int64)": np.int64, "tensor(bool)": np.bool_}


def check_export(model, path, *, opset=None, batches=BATCHES, tol=(1e-5, 1e-6),
                 gen=None, seed=0):
    """Export `model` to `path`, check the file, and compare onnxruntime with
    `model.predict` at each batch size. Returns the InferenceSession."""
    model.export(str(path), format="onnx", verbose=False, opset_version=opset)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    for batch in batches:
        feeds = {}
        for i in sess.get_inputs():
            assert i.shape[0] == "batch", i.shape
            shape = (batch,) + tuple(i.shape[1:])
            dt = np.dtype(_NP[i.type])
            feeds[i.name] = (gen or _gen)(rng, shape, dt)
        xs = list(feeds.values())
        x = xs[0] if len(xs) == 1 else xs
        if isinstance(getattr(model, "_inputs_struct", None), dict):
            x = dict(zip(model._inputs_struct, xs))
        want = model.predict(x, verbose=0, batch_size=batch)
        got = sess.run(None, feeds)
        names = [o.name for o in sess.get_outputs()]
        if isinstance(want, dict):
            want = [want[n] for n in names]
        elif not isinstance(want, (list, tuple)):
            want = [want]
        assert len(got) == len(want)
        for name, g, w in zip(names, got, want):
            w = np.asarray(w)
            msg = f"output {name!r} at batch {batch}"
            assert g.shape == w.shape, msg
            assert g.dtype == w.dtype, msg
            if w.dtype.kind == "f":
                np.testing.assert_allclose(g, w, rtol=tol[0], atol=tol[1],
                                           err_msg=msg)
            else:
                np.testing.assert_array_equal(g, w, err_msg=msg)
    return sess


def _gen(rng, shape, dtype):
    if dtype == np.bool_:
        return rng.random(shape) < 0.7
    if dtype.kind == "i":
        return rng.integers(0, 10, size=shape).astype(dtype)
    return rng.normal(size=shape).astype(dtype)
