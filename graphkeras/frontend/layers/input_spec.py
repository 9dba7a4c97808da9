"""InputSpec: what a layer accepts, checked at every call with the Keras
wording ("Input 0 of layer "dense" is incompatible with the layer: ...")."""

from __future__ import annotations

import numpy as np

from .. import tree


class InputSpec:
    """Constraints on one input of a layer: dtype, shape (None = any),
    ndim, max_ndim, min_ndim, and axes ({axis: size})."""

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None,
                 min_ndim=None, axes=None, allow_last_axis_squeeze=False,
                 name=None, optional=False):
        self.dtype = dtype
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.name = name
        self.optional = optional

    def __repr__(self) -> str:
        parts = [f"{k}={v}" for k, v in (
            ("dtype", self.dtype), ("shape", self.shape), ("ndim", self.ndim),
            ("max_ndim", self.max_ndim), ("min_ndim", self.min_ndim),
            ("axes", self.axes or None)) if v is not None]
        return f"InputSpec({', '.join(parts)})"


def _shape_of(x):
    s = getattr(x, "shape", None)
    if s is None:
        s = np.shape(x)
    return tuple(s)


def assert_input_compatibility(input_spec, inputs, layer_name: str) -> None:
    """Raise ValueError if `inputs` do not meet `input_spec`."""
    if input_spec is None:
        return
    specs = tree.flatten(input_spec)
    flat = tree.flatten(inputs)
    if len(specs) != len(flat):
        raise ValueError(
            f'Layer "{layer_name}" expects {len(specs)} input(s), but it '
            f"received {len(flat)} input tensors. Inputs received: {inputs}"
        )
    for i, (spec, x) in enumerate(zip(specs, flat)):
        if spec is None or x is None:
            continue
        shape = _shape_of(x)
        head = f'Input {i} of layer "{layer_name}" is incompatible with the layer:'
        rank = len(shape)
        if (spec.ndim is not None and not spec.allow_last_axis_squeeze
                and rank != spec.ndim):
            raise ValueError(
                f"{head} expected ndim={spec.ndim}, found ndim={rank}. "
                f"Full shape received: {shape}"
            )
        if spec.max_ndim is not None and rank > spec.max_ndim:
            raise ValueError(
                f"{head} expected max_ndim={spec.max_ndim}, found ndim={rank}"
            )
        if spec.min_ndim is not None and rank < spec.min_ndim:
            raise ValueError(
                f"{head} expected min_ndim={spec.min_ndim}, found ndim={rank}. "
                f"Full shape received: {shape}"
            )
        for axis, value in spec.axes.items():
            if value is None:
                continue
            if not -rank <= axis < rank or shape[axis] not in (value, None):
                hint = ""
                rest = [d for d in shape[1:]]
                if rank > 2 and None not in rest and int(np.prod(rest)) == value:
                    hint = f' Add a Flatten() layer before "{layer_name}".'
                raise ValueError(
                    f"{head} expected axis {axis} of input shape to have value "
                    f"{value}, but received input with shape {shape}.{hint}"
                )
        if spec.shape is not None:
            ok = len(shape) == len(spec.shape) and all(
                a is None or b is None or a == b
                for a, b in zip(spec.shape, shape)
            )
            if not ok:
                raise ValueError(
                    f"{head} expected shape={spec.shape}, found shape={shape}"
                )
