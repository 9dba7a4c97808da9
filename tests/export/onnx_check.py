"""Shared checks of the export tests: run an exported model under
onnxruntime and compare with the reference interpreter."""

from __future__ import annotations

import numpy as np
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
