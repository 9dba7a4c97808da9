"""Keras masks: the boolean tensor a layer attaches to its output to say
which time steps are real (True) and which are padding (False).

Keras 3 keeps a mask on the tensor itself (`x._keras_mask`). graphkeras
tensors come in three kinds, and the mask is kept where each allows:

- KerasTensor: the attribute `_keras_mask`;
- TracedTensor (a value in a trace): a table on its Trace, keyed by the
  tensor's id and holding the tensor, so the entry lives as long as the
  trace and an id is never reused while it does;
- NumPy arrays (eager calls): a table keyed by id with a weak reference to
  the array (the entry goes when the array does).

`call_with_masks(layer, args, kwargs, run)` is Keras's mask protocol around
one layer call (Layer.__call__ uses it for traced and eager calls):
  1. the masks of the first argument are read before any conversion;
  2. if `call` takes `mask` and none was given, it receives them;
  3. after the call, a layer with `supports_masking` attaches
     `compute_mask(inputs, previous_mask)` to its outputs (unless `call`
     attached masks itself, as Masking does); a layer without it drops the
     mask (with Keras's warning).

Functional models need nothing more: replaying their graph calls every
layer, and each call propagates masks this way.
"""

from __future__ import annotations

import warnings
import weakref

import numpy as np

from .. import tree
from ..tensors import KerasTensor, TracedTensor

_EAGER: dict = {}  # id(array) -> (weakref to it, mask)


def get_keras_mask(x):
    """The mask attached to x, or None."""
    if isinstance(x, (KerasTensor, MaskedOutput)) and getattr(
            x, "_keras_mask", None) is not None:
        return x._keras_mask
    if isinstance(x, KerasTensor):
        return None
    if isinstance(x, TracedTensor):
        entry = getattr(x.trace, "_keras_masks", {}).get(id(x))
        return entry[1] if entry is not None and entry[0] is x else None
    if isinstance(x, np.ndarray):
        entry = _EAGER.get(id(x))
        if entry is not None and entry[0]() is x:
            return entry[1]
    return None


def set_keras_mask(x, mask) -> None:
    """Attach `mask` to x (None removes it)."""
    if isinstance(x, KerasTensor):
        x._keras_mask = mask
    elif isinstance(x, TracedTensor):
        table = x.trace.__dict__.setdefault("_keras_masks", {})
        if mask is None:
            table.pop(id(x), None)
        else:
            table[id(x)] = (x, mask)
    elif isinstance(x, np.ndarray):
        key = id(x)
        if mask is None:
            _EAGER.pop(key, None)
            return
        _EAGER[key] = (weakref.ref(x, lambda _, k=key: _EAGER.pop(k, None)),
                       mask)


def _masks_of(struct):
    if isinstance(struct, (list, tuple)):
        return [get_keras_mask(x) for x in struct]
    if isinstance(struct, dict):
        return {k: get_keras_mask(v) for k, v in struct.items()}
    return get_keras_mask(struct)


def _named_masks(layer, args, kwargs):
    """Keras 3: a call() with several tensor arguments and a `<name>_mask`
    parameter for one of them gets that argument's mask there, when not
    given (call(self, query, value, query_mask=None, value_mask=None))."""
    import inspect

    if not _mask_params(layer):  # most layers: nothing to look up per call
        return kwargs
    try:
        sig = inspect.signature(layer.call)
        bound = sig.bind_partial(*args, **kwargs).arguments
    except (TypeError, ValueError):
        return kwargs
    tensors = {k: v for k, v in bound.items()
               if v is not None and all(_is_tensor(x) for x in tree.flatten(v))
               and tree.flatten(v)}
    if len(tensors) < 2:
        return kwargs
    out = kwargs
    for k, v in tensors.items():
        name = f"{k}_mask"
        if name in sig.parameters and bound.get(name) is None:
            masks = _masks_of(v)
            if _any(masks):
                out = dict(out, **{name: masks})
    return out


def _mask_params(layer) -> tuple:
    """The `<name>_mask` parameters of layer's call() (cached per class)."""
    cls = type(layer)
    cached = cls.__dict__.get("_mask_params_cache")
    if cached is None:
        import inspect

        try:
            names = inspect.signature(layer.call).parameters
        except (TypeError, ValueError):
            names = ()
        cached = tuple(n for n in names if n.endswith("_mask"))
        type.__setattr__(cls, "_mask_params_cache", cached)
    return cached


def _is_tensor(x) -> bool:
    return isinstance(x, (KerasTensor, TracedTensor, np.ndarray))


def _any(masks) -> bool:
    return any(m is not None for m in tree.flatten(masks))


class MaskedOutput(np.ndarray):
    """An eager output with its mask as the attribute `_keras_mask`, as a
    Keras 3 tensor has it (`masked_output._keras_mask`). Arrays computed
    from it carry no mask."""

    _keras_mask = None

    def __array_finalize__(self, obj):
        self._keras_mask = None


def _expose_masks(outputs):
    """Eager outputs with a mask in the table become MaskedArrays."""
    def expose(o):
        if isinstance(o, np.ndarray) and not isinstance(o, MaskedOutput):
            m = get_keras_mask(o)
            if m is not None:
                v = o.view(MaskedOutput)
                v._keras_mask = m
                set_keras_mask(v, m)
                return v
        return o

    if isinstance(outputs, np.ndarray):
        return expose(outputs)
    if isinstance(outputs, (list, tuple, dict)):
        return tree.map_structure(expose, outputs)
    return outputs


def call_with_masks(layer, args, kwargs, run):
    """Run `run(args, kwargs)` (the layer's call) under Keras's mask
    protocol (see the module docstring)."""
    return _expose_masks(_call_with_masks(layer, args, kwargs, run))


def _call_with_masks(layer, args, kwargs, run):
    first = args[0]
    previous = _masks_of(first)
    has_mask = _any(previous)
    if has_mask and layer._accepts("mask") and kwargs.get("mask") is None:
        kwargs = dict(kwargs, mask=previous)
    elif kwargs.get("mask") is not None:
        # a mask passed explicitly (gru(x, mask=m)) is the one the outputs'
        # mask follows, as Keras 3 takes it for previous_mask
        previous, has_mask = kwargs["mask"], True
    kwargs = _named_masks(layer, args, kwargs)
    outputs = run(args, kwargs)
    supports = getattr(layer, "supports_masking", False)
    if not has_mask and not supports:
        return outputs
    flat = [o for o in tree.flatten(outputs) if o is not None]
    if supports:
        if flat and all(get_keras_mask(o) is not None for o in flat):
            return outputs
        masks = layer.compute_mask(first, previous if has_mask else None)
        if masks is None:
            return outputs
        if isinstance(outputs, (list, tuple)):
            mlist = list(masks) if isinstance(masks, (list, tuple)) else \
                [masks] + [None] * (len(outputs) - 1)
            for o, m in zip(outputs, mlist):
                if m is not None and get_keras_mask(o) is None:
                    set_keras_mask(o, m)
        elif not isinstance(masks, (list, tuple)):
            set_keras_mask(outputs, masks)
        elif masks and masks[0] is not None and not isinstance(
                masks[0], (list, tuple)):
            # one output, the masks of several inputs (a layer called on
            # [x, context]): Keras pairs the flat outputs with the flat
            # masks, so the output takes the first input's mask
            set_keras_mask(outputs, masks[0])
    elif has_mask and getattr(layer, "warns_on_mask", True):
        warnings.warn(
            f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed "
            "an input with a mask attached to it. However, this layer does not "
            "support masking and will therefore destroy the mask information. "
            "Downstream layers will not see the mask.", stacklevel=3)
    return outputs
