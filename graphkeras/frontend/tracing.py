"""Traces: recording `graphkeras.ops` calls into an `ir.Builder`.

A `Trace` is active inside `with trace:`. While one is active, an op whose
operands include a traced tensor (or a Variable) appends a node to the
trace's builder instead of computing. The frontend makes three kinds of
traces:

- the *spec* trace of a layer called on KerasTensors (`Input(...)`), which
  only infers output shapes and is then thrown away;
- the *forward* traces the trainer turns into train / test / predict
  programs;
- traces that tests build by hand.

Invariants:
- A Variable read for the first time in a trace becomes a parameter named
  by its key (`trace.state_params`, in first-use order).
- `assign` records the new value; later reads in the same trace see it,
  so a layer called twice (shared) threads its state through both calls.
- `trace.updates` maps each assigned Variable's key to its last value: the
  program writes these back to the store after every call.
"""

from __future__ import annotations

import contextlib
import threading

from ..ir import Builder, TensorType

_LOCAL = threading.local()


def _stack() -> list:
    s = getattr(_LOCAL, "stack", None)
    if s is None:
        s = _LOCAL.stack = []
    return s


def current_trace():
    """The innermost active Trace, or None (eager mode)."""
    s = _stack()
    return s[-1] if s else None


class Trace:
    """Records ops into `builder`.

    Args:
        builder: the `ir.Builder` nodes are appended to.
        kind: "spec", "train", "test", "predict" or "trace" (informative).
    """

    def __init__(self, builder: Builder | None = None, kind: str = "trace"):
        self.builder = builder or Builder(kind)
        self.kind = kind
        self.variables: dict = {}  # key -> Variable, in first-use order
        self.params: dict = {}  # key -> ir.Value (the parameter)
        self.current: dict = {}  # key -> ir.Value (the latest value)
        self.updates: dict = {}  # key -> ir.Value (last assigned value)
        self.losses: list = []  # traced scalars from add_loss()
        # value name -> (targets, vjp): ops.custom_gradient's gradients,
        # which `gradients.gradient` hands to passes.differentiate
        self.custom_vjps: dict = {}
        # value name -> whether a mixed_float16 layer output it (float16
        # values in a float32 tensor; the last layer to output it says)
        self.half_values: dict = {}

    # --- activation ------------------------------------------------------------

    def __enter__(self):
        _stack().append(self)
        return self

    def __exit__(self, *exc) -> None:
        s = _stack()
        if s and s[-1] is self:
            s.pop()
        else:  # pragma: no cover - misuse
            s.remove(self)

    @contextlib.contextmanager
    def suspended(self):
        """Run a block eagerly even though this trace is active."""
        s = _stack()
        s.append(None)
        try:
            yield
        finally:
            s.pop()

    # --- values ----------------------------------------------------------------

    def wrap(self, value):
        from .tensors import TracedTensor

        return TracedTensor(value, self)

    def input(self, name: str, shape, dtype="float32"):
        """A new per-call input parameter; `shape` uses None for the batch.

        Every other size must be known: a model with None in other
        dimensions is traced per concrete input shape (the trainer), and
        its symbolic (spec) traces use probe sizes (layers/layer.py)."""
        ir_shape = to_ir_shape(shape, what=f'input "{name}"')
        return self.wrap(self.builder.param(name, TensorType(ir_shape, dtype)))

    def read(self, var):
        """The traced value of Variable `var`."""
        key = var.key
        if key not in self.current:
            self.variables[key] = var
            p = self.builder.param(key, var.ir_type)
            self.params[key] = p
            self.current[key] = p
        return self.wrap(self.current[key])

    def assign(self, var, value, barrier: bool = True):
        """Record `var := value`; return the traced new value. With
        `barrier`, later reads do not differentiate into `value` (a
        variable's update); without, they do (stateless_call's values)."""
        from . import ops

        self.read(var)  # make it a parameter (state) of the program
        v = ops.convert_to_tensor(value, dtype=var.dtype)
        if v.shape != var.shape:
            target = var.shape
            if to_ir_shape(v.shape, strict=False) != target:
                try:
                    v = ops.broadcast_to(v, target)
                except (TypeError, ValueError):
                    raise ValueError(
                        f'Cannot assign a value of shape {v.shape} to variable '
                        f'"{var.path}" of shape {var.shape}.'
                    ) from None
        if barrier and hasattr(v, "trace"):
            # a variable read after the update is a fresh value, as the
            # backends' variables are: no gradient flows back into what
            # computed it (a GAN's generator step reads the discriminator
            # its optimizer just updated from the generator's output)
            v = ops.stop_gradient(v)
        val = v.value if hasattr(v, "trace") else self._const(v)
        self.current[var.key] = val
        self.updates[var.key] = val
        return self.wrap(val)

    def _const(self, array):
        return self.builder.constant(array)

    @property
    def state_params(self) -> list:
        return [self.params[k] for k in self.variables]


def to_ir_shape(shape, what: str = "tensor", strict: bool = True) -> tuple:
    """Keras shape (None for the batch) -> IR shape ("N" for the batch)."""
    out = []
    for i, d in enumerate(shape):
        if d is None or isinstance(d, str):
            if i == 0 or not strict:
                out.append("N" if d is None else d)
                continue
            raise ValueError(
                f"a traced program needs static sizes for every dimension but "
                f"the batch, received None at axis {i} of shape "
                f"{tuple(shape)} ({what}). Trace it with the concrete shape "
                "of the data, or give that dimension a fixed size."
            )
        out.append(int(d))
    return tuple(out)


def to_keras_shape(shape) -> tuple:
    """IR shape -> Keras shape (symbols become None)."""
    return tuple(None if isinstance(d, str) else int(d) for d in shape)


def replica_gradients(trace, grads):
    """Optimizer.apply's hook: in a DataParallel rank's step whose
    gradients are not summed across ranks yet (an overridden train_step),
    the averaged gradients; otherwise grads unchanged."""
    hooks = trace.__dict__.get("_replica_hooks")
    if hooks is None or trace.__dict__.get("_replica_reduced"):
        return grads
    return hooks.reduce_gradients(trace, grads)


class NeedsConcreteBatch(ValueError):
    """An op cannot keep the batch size symbolic (a reshape that merges the
    batch dimension with others: (N, 3, N, 3) -> (-1, 3, 3)). The trainer
    traces such a step again for the batch's concrete size."""
