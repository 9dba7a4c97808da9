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
warning says so once. `policy.compute_dtype` is "bfloat16" as in Keras;
the tensors between layers stay float32 (Keras casts them to bfloat16),
so losses and softmax heads are float32 whatever the policy.
Convolutions are not affected yet (their kernels are float32 only).

Under "mixed_float16" the variables stay float32 too, and the numbers are
float16's where Keras's tensors are float16: a layer rounds its floating
inputs, the variables it reads (those Keras autocasts) and its outputs to
float16 values (`round_float16`, ties to even, inf from 65520 on). The
arithmetic in between is float32, where Keras computes in float16, so
results agree with Keras's to float16's precision, not bit for bit. The
tensors between layers are float32 arrays holding float16 values. As in
Keras, `compile` wraps the optimizer in a LossScaleOptimizer.
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
_WARNED: list = []


def set_global_policy(policy) -> None:
    """Set the policy of layers created from now on ("float32",
    "float64", "mixed_bfloat16", "mixed_float16", or a DTypePolicy)."""
    config.set_dtype_policy(policy)
    if config.dtype_policy().name == "mixed_bfloat16":
        note_conversion()


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
    if isinstance(name, str) and name.startswith("mixed_"):
        return DTypePolicy(name)
    return None


def note_conversion() -> None:
    """Warn once per process when this CPU multiplies bfloat16 operands
    by conversion (no AVX512_BF16)."""
    if _WARNED:
        return
    _WARNED.append(True)
    from ..runtime import bf16_native

    if not bf16_native():
        warnings.warn(
            "mixed_bfloat16: this CPU has no AVX512_BF16, so products round "
            "their operands to bfloat16 and multiply them in float32 "
            "arithmetic (the numbers of bfloat16, the speed of float32).",
            stacklevel=3)


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

