"""LoRA (low-rank adaptation) for Dense, EinsumDense, the convolutions and
Embedding, as Keras 3 does it.

`layer.enable_lora(rank)` (or the constructor's `lora_rank`) freezes the
layer's weight W (`kernel`, or `embeddings`) and adds two trainable
float32 weights, `lora_<name>_a` of shape W.shape[:-1] + (rank,) (he_uniform)
and `lora_<name>_b` of shape (rank, W.shape[-1]) (zeros). From then on the
layer computes with

    W + (lora_alpha / rank) * (a @ b)

and `layer.kernel` / `layer.embeddings` return that sum. A saved file holds
the sum in W's place and no a or b (Keras's layout: a model fine-tuned with
LoRA loads anywhere as a plain one); loading into a layer with LoRA on sets
W to the saved values and a, b to zeros.

Keras quirk kept: Dense and Embedding build with `enable_lora(lora_rank)`,
so a `lora_alpha` given to their constructor becomes lora_rank once built
(EinsumDense and the convolutions keep it).
"""

from __future__ import annotations

import numpy as np

from .. import initializers, ops
from .own_state import assign_own_variables, own_variables


class LoraLayer:
    """Mixin of the layers with LoRA: `enable_lora` on the weight named
    by `_lora_weight` ("kernel", or Embedding's "embeddings")."""

    _lora_weight = "kernel"

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform",
                    b_initializer="zeros"):
        """Freeze the weight and train a rank-`rank` update of it instead
        (Keras 3's enable_lora)."""
        w = self._lora_weight
        enable_lora(self, w, rank, lora_alpha, a_initializer, b_initializer,
                    regularizer=getattr(self, f"{w}_regularizer", None),
                    constraint=getattr(self, f"{w}_constraint", None))

    def _lora_saved_form(self, variables: list) -> list:
        """`variables` (the layer's own) as Keras saves them with LoRA on:
        the merged weight in the weight's place, no lora_*_a / lora_*_b
        (own_state.own_variables)."""
        merged = MergedWeight(self)
        return [merged if v is merged.raw else v for v in variables
                if v is not merged.a and v is not merged.b]

    def _saved_variables(self) -> list:
        """What Keras 3's Dense, EinsumDense, Embedding and convolutions
        save: the weight (LoRA merged in) and the bias, and not the
        variables a subclass adds (its save_own_variables saves those)."""
        weight = self.__dict__.get(f"_{self._lora_weight}")
        bias = self.__dict__.get("bias")
        return [v for v in own_variables(self)
                if getattr(v, "raw", v) is weight
                or (bias is not None and v is bias)]

    def save_own_variables(self, store) -> None:
        if not self.built:
            return
        for i, v in enumerate(self._saved_variables()):
            store[str(i)] = v

    def load_own_variables(self, store) -> None:
        if not self.built:
            return
        saved = self._saved_variables()
        # as Keras: the entries are counted against every own variable
        # (a subclass's override adds its own entries), unless LoRA is on
        expected = saved if self.lora_enabled else own_variables(self)
        assign_own_variables(self, expected, saved,
                             {k: store[k] for k in store.keys()})


def lora_weight(name: str):
    """The `kernel` / `embeddings` attribute of a LoRA-capable layer: the
    variable build() assigned, or with LoRA on, the merged weight."""

    def get(self):
        raw = self.__dict__.get(f"_{name}")
        if raw is None:
            raise AttributeError(
                f"You must build the layer before accessing `{name}`.")
        if not getattr(self, "lora_enabled", False):
            return raw
        return ops.add(raw, lora_delta(self))

    def set_(self, value):
        self.__dict__[f"_{name}"] = value

    return property(get, set_, doc=f"The layer's {name} (LoRA merged in).")


def check_quantization_config(cls_name: str, quantization_config) -> None:
    """Keras 3's Dense, EinsumDense and Embedding take (and save)
    `quantization_config=None`; a subclass passing its config on to them
    hands it over. Only None is accepted: graphkeras does not quantize."""
    if quantization_config is not None:
        raise ValueError(
            f"{cls_name}: graphkeras does not quantize layers; "
            f"`quantization_config` must be None. Received: "
            f"quantization_config={quantization_config!r}")


def init_lora(layer, lora_rank, lora_alpha) -> None:
    if lora_rank is not None and (
            isinstance(lora_rank, bool)
            or not isinstance(lora_rank, (int, np.integer)) or lora_rank < 0):
        raise ValueError(
            f'Layer "{layer.name}" ({type(layer).__name__}): `lora_rank` must '
            f"be a positive integer. Received: lora_rank={lora_rank!r}")
    layer.lora_rank = int(lora_rank) if lora_rank else lora_rank
    layer.lora_alpha = lora_alpha if lora_alpha is not None else \
        layer.lora_rank
    layer.lora_enabled = False


def enable_lora(layer, name: str, rank, lora_alpha=None,
                a_initializer="he_uniform", b_initializer="zeros",
                regularizer=None, constraint=None) -> None:
    if constraint is not None:
        raise ValueError(
            "Lora is incompatible with kernel constraints. In order to enable "
            f"lora on this layer, remove the `{name}_constraint` argument.")
    if not layer.built:
        raise ValueError("Cannot enable lora on a layer that isn't yet built.")
    if layer.lora_enabled:
        raise ValueError(
            "lora is already enabled. This can only be done once per layer.")
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) \
            or rank < 1:
        raise ValueError(
            f'Layer "{layer.name}" ({type(layer).__name__}): the LoRA rank '
            f"must be a positive integer. Received: rank={rank!r}")
    raw = layer.__dict__[f"_{name}"]
    shape = tuple(raw.shape)
    a = layer.add_weight(name=f"lora_{name}_a", shape=shape[:-1] + (rank,),
                         initializer=initializers.get(a_initializer),
                         dtype="float32", regularizer=regularizer)
    b = layer.add_weight(name=f"lora_{name}_b", shape=(rank, shape[-1]),
                         initializer=initializers.get(b_initializer),
                         dtype="float32", regularizer=regularizer)
    layer.__dict__[f"lora_{name}_a"] = a
    layer.__dict__[f"lora_{name}_b"] = b
    raw.trainable = False
    layer._lora_name = name
    layer.lora_enabled = True
    layer.lora_rank = int(rank)
    layer.lora_alpha = lora_alpha if lora_alpha is not None else int(rank)


def lora_delta(layer):
    """(lora_alpha / rank) * (a @ b), in the weight's shape."""
    name = layer._lora_name
    a = layer.__dict__[f"lora_{name}_a"]
    b = layer.__dict__[f"lora_{name}_b"]
    scale = float(layer.lora_alpha) / float(layer.lora_rank)
    return ops.multiply(ops.matmul(a, b), scale)


def lora_config(layer) -> dict:
    if not getattr(layer, "lora_rank", None):
        return {}
    return {"lora_rank": layer.lora_rank, "lora_alpha": layer.lora_alpha}


class MergedWeight:
    """The saved stand-in of a LoRA layer's weight (weights_store): reads
    as the merged weight, and loading assigns the weight and zeroes a, b."""

    def __init__(self, layer):
        self.layer = layer
        name = layer._lora_name
        self.raw = layer.__dict__[f"_{name}"]
        self.a = layer.__dict__[f"lora_{name}_a"]
        self.b = layer.__dict__[f"lora_{name}_b"]
        self.path, self.shape, self.dtype = (
            self.raw.path, self.raw.shape, self.raw.dtype)

    def numpy(self) -> np.ndarray:
        scale = float(self.layer.lora_alpha) / float(self.layer.lora_rank)
        delta = np.matmul(self.a.numpy(), self.b.numpy()) * np.float32(scale)
        return (self.raw.numpy() + delta).astype(self.raw.dtype)

    def assign(self, value):
        self.raw.assign(value)
        self.a.assign(np.zeros(self.a.shape, self.a.dtype))
        self.b.assign(np.zeros(self.b.shape, self.b.dtype))
        return self
