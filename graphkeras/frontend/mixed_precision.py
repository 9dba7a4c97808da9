"""keras.mixed_precision: the "mixed_bfloat16" and "mixed_float16" policies.

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = keras.Sequential([..., layers.Dense(10, dtype="float32")])

Layers under a mixed_bfloat16 policy keep float32 variables (the master
weights the optimizer updates) and float32 activations; their products
(Dense, EinsumDense, attention, `ops.matmul` inside `call`, and the
gradient products of the backward pass) multiply the operands rounded to
bfloat16 and sum in float32 (`matmul(..., precision="bfloat16")`,
ir/bf16.py for the rounding). On a CPU with AVX512_BF16 the GEMM runs
`vdpbf16ps` on bfloat16 panels (twice the products per instruction, half
the bytes); elsewhere the operands are rounded the same way and multiplied
in float32 arithmetic, which gives the same numbers but no speed, and a
warning says so once. `policy.compute_dtype` and `layer.compute_dtype`
are "bfloat16" as in Keras; the tensors between layers stay float32
(Keras casts them to bfloat16), so losses, softmax heads and `predict`
are float32 whatever the policy.
Convolutions are not affected yet (their kernels are float32 only).

Under "mixed_float16" the variables stay float32 too, and the numbers are
float16's where Keras's tensors are float16: a layer rounds its floating
inputs, the variables it reads (those Keras autocasts) and its outputs to
float16 values (`round_float16`, ties to even, inf from 65520 on). The
arithmetic in between is float32, where Keras computes in float16, so
results agree with Keras's to float16's precision, not bit for bit.
Gradients are rounded at the same places (round_float16's VJP), so
scaled gradients overflow to inf where Keras's float16 ones do. The
tensors between layers are float32 tensors holding float16 values; what
leaves a model is typed as in Keras: `predict` and `model(x)` return
float16 arrays for the outputs a mixed_float16 layer made
(Trace.half_values marks them; trainer._pack_outputs casts), a layer
called on arrays returns float16 arrays, and the symbolic outputs say
"float16". As in Keras, `compile` wraps the optimizer in a
LossScaleOptimizer. A warning says once that this is float32
arithmetic (graphkeras has no float16 kernels).
"""

from __future__ import annotations

import contextlib
import threading
import warnings

from .. import config
from ..config import DTypePolicy

Policy = DTypePolicy

__all__ = ["DTypePolicy", "LossScaleOptimizer", "Policy", "global_policy",
           "set_global_policy"]

_STATE = threading.local()
_WARNED: set = set()  # the compute dtypes whose note was given


def set_global_policy(policy) -> None:
    """Set the policy of layers created from now on ("float32",
    "float64", "mixed_bfloat16", "mixed_float16", or a DTypePolicy)."""
    config.set_dtype_policy(policy)
    p = config.dtype_policy()
    if p.name in ("mixed_bfloat16", "mixed_float16"):
        note_conversion(p.compute_dtype)


def global_policy() -> DTypePolicy:
    return config.dtype_policy()


def policy_of(dtype) -> DTypePolicy | None:
    """The mixed policy a layer's `dtype` argument names (a policy name,
    a DTypePolicy or its config), or, when dtype is None, the global one
    if it is mixed; None otherwise."""
    if dtype is None:
        p = config.dtype_policy()
        return p if p.name != p.variable_dtype else None
    if isinstance(dtype, dict):  # a serialized DTypePolicy
        dtype = dtype.get("config", dtype).get("name")
    name = getattr(dtype, "name", dtype)
    if isinstance(name, str) and (name.startswith("mixed_")
                                  or name in ("float16", "bfloat16", "half")):
        return DTypePolicy(name)  # (refuses the half precision ones)
    return None


_MESSAGES = {
    "bfloat16": (
        "mixed_bfloat16: this CPU has no AVX512_BF16 instructions, so "
        "graphkeras rounds the operands of each product (Dense, "
        "EinsumDense, attention, ops.matmul) to bfloat16 and multiplies "
        "them in float32 arithmetic: bfloat16's numbers at float32's speed. "
        "(Said once per process.)"),
    "float16": (
        "mixed_float16: graphkeras has no float16 kernels, so layers under "
        "this policy compute in float32 arithmetic on values rounded to "
        "float16 at their inputs, variables and outputs: Keras's results "
        "to float16's precision, at float32's speed, with no memory saved. "
        "(Said once per process.)"),
}


def note_conversion(compute_dtype: str = "bfloat16") -> None:
    """Say once per process, per half precision, that this host computes
    the policy's `compute_dtype` by conversion: bfloat16 products without
    AVX512_BF16, and float16 always (graphkeras has no float16 kernels)."""
    if compute_dtype in _WARNED or compute_dtype not in _MESSAGES:
        return
    _WARNED.add(compute_dtype)
    from ..runtime import bf16_native

    if compute_dtype == "float16" or not bf16_native():
        warnings.warn(_MESSAGES[compute_dtype], stacklevel=3)


@contextlib.contextmanager
def products(policy: DTypePolicy | None, autocast: bool = True):
    """Inside (a layer's call): ops.matmul multiplies in the policy's
    precision (None: a float32 / float64 layer, float32 products even
    inside a mixed model), and under mixed_float16 the variables the layer
    reads are rounded to float16 (unless the layer or the variable says
    autocast=False)."""
    old = (getattr(_STATE, "precision", None),
           getattr(_STATE, "autocast", None))
    compute = policy.compute_dtype if policy is not None else None
    _STATE.precision = "bfloat16" if compute == "bfloat16" else None
    _STATE.autocast = "float16" if compute == "float16" and autocast \
        else None
    try:
        yield
    finally:
        _STATE.precision, _STATE.autocast = old


def is_float16(policy: DTypePolicy | None) -> bool:
    return policy is not None and policy.compute_dtype == "float16"


def autocast_dtype() -> str | None:
    """"float16" inside the call of a mixed_float16 layer that autocasts
    its variables, else None (ops.core.autocast_read reads it)."""
    return getattr(_STATE, "autocast", None)


def matmul_precision() -> str | None:
    """"bfloat16" inside a mixed_bfloat16 layer's call, else None."""
    return getattr(_STATE, "precision", None)

