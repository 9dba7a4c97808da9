"""Matrix products.

`matmul(a, b)` multiplies the last two axes, broadcasting the leading
(batch) axes as NumPy does; `transpose_a` / `transpose_b` swap an operand's
last two axes first, so the backward pass never materializes a transpose.
`precision="bfloat16"` (float32 operands, the `mixed_bfloat16` policy)
multiplies the operands rounded to bfloat16 (ir/bf16.py) and sums in
float32; its gradient products use the same precision.
"""

from __future__ import annotations

import numpy as np

from ..registry import Attr, OpDef, a_bool, a_str, register_op
from ..types import TensorType, broadcast_shapes


def _mat(shape, transposed):
    m, k = shape[-2], shape[-1]
    return (k, m) if transposed else (m, k)


@register_op
class Matmul(OpDef):
    name, onnx, num_inputs = "matmul", "MatMul", 2
    attrs = {
        "transpose_a": Attr(a_bool, False),
        "transpose_b": Attr(a_bool, False),
        "precision": Attr(a_str, "float32"),
    }
    PRECISIONS = ("float32", "bfloat16")

    def flops(self, node, env: dict) -> int:
        """2 m k n per product (a multiply-add counts 2)."""
        a = node.inputs[0]
        k = a.shape[-2] if node.attrs["transpose_a"] else a.shape[-1]
        k = env.get(k, 1) if isinstance(k, str) else k
        return 2 * node.outputs[0].type.num_elements(env) * k

    def infer(self, a, b, transpose_a, transpose_b, precision="float32"):
        if precision not in self.PRECISIONS:
            raise ValueError(
                f"precision must be one of {self.PRECISIONS}, got {precision!r}"
            )
        if precision == "bfloat16" and a.dtype.name not in ("f32", "float32"):
            raise TypeError(
                "precision='bfloat16' multiplies float32 operands, got "
                f"{a.dtype.long_name}"
            )
        if a.dtype != b.dtype:
            raise TypeError(
                f"operand dtypes differ ({a.dtype.long_name} vs "
                f"{b.dtype.long_name})"
            )
        if a.dtype.is_bool:
            raise TypeError("cannot multiply boolean matrices")
        if a.rank < 2 or b.rank < 2:
            raise ValueError("both operands need at least 2 dimensions")
        m, k = _mat(a.shape, transpose_a)
        k2, n = _mat(b.shape, transpose_b)
        if k != k2:
            raise ValueError(
                f"the contracted dimensions differ ({k} vs {k2})"
            )
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
        return TensorType(batch + (m, n), a.dtype)

    def reference(self, a, b, transpose_a, transpose_b, precision="float32"):
        if precision == "bfloat16":
            from ..bf16 import round_bf16

            a, b = round_bf16(a), round_bf16(b)
        if transpose_a:
            a = np.swapaxes(a, -1, -2)
        if transpose_b:
            b = np.swapaxes(b, -1, -2)
        return np.matmul(a, b)

    def vjp(self, b, g, inputs, outputs, transpose_a, transpose_b,
            precision="float32"):
        x, y = inputs
        p = {} if precision == "float32" else {"precision": precision}
        # C = op(A) op(B): d op(A) = G op(B)^T, d op(B) = op(A)^T G
        if transpose_a:
            ga = b.matmul(y, g, transpose_a=transpose_b, transpose_b=True, **p)
        else:
            ga = b.matmul(g, y, transpose_b=not transpose_b, **p)
        if transpose_b:
            gb = b.matmul(g, x, transpose_a=True, transpose_b=transpose_a, **p)
        else:
            gb = b.matmul(x, g, transpose_a=not transpose_a, **p)
        return (b.sum_to(ga, x.shape), b.sum_to(gb, y.shape))
