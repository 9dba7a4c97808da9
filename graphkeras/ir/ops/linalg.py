"""Matrix products.

`matmul(a, b)` multiplies the last two axes, broadcasting the leading
(batch) axes as NumPy does; `transpose_a` / `transpose_b` swap an operand's
last two axes first, so the backward pass never materializes a transpose.
`precision="bfloat16"` (float32 operands, the `mixed_bfloat16` policy)
multiplies the operands rounded to bfloat16 (ir/bf16.py) and sums in
float32; its gradient products use the same precision.

`matmul_sum(a, b)` is the sum over the batch axes of matmul(a, b,
transpose_a=True): with a (B.., K, M) and b (B.., K, N) of one batch shape,
(M, N) = sum_b a[b]^T @ b[b]. It is what the weight gradient of a product
with a 2-D right operand needs (x (N, T, F) @ w (F, U): dw = sum over the
batch and time of x^T g), written as one op because the batch's rows
cannot be flattened in the IR (a dimension is a symbol, never N*T): codegen
runs it as ONE GEMM whose contracted dimension is all the batch's rows
(K = B * K), not one product per batch index and a sum.
"""

from __future__ import annotations

import numpy as np

from ..registry import Attr, OpDef, a_bool, a_str, register_op
from ..types import TensorType, broadcast_shapes


def _check_dtypes(a, b) -> None:
    """Both operands of one numeric dtype (matmul, matmul_sum)."""
    if a.dtype != b.dtype:
        raise TypeError(
            f"operand dtypes differ ({a.dtype.long_name} vs "
            f"{b.dtype.long_name})"
        )
    if a.dtype.is_bool:
        raise TypeError("cannot multiply boolean matrices")


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
        _check_dtypes(a, b)
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
        if y.rank == 2 and x.rank > 2 and not transpose_a and \
                precision == "float32" and tuple(x.shape[:-2]) == \
                tuple(g.shape[:-2]):
            # a 2-D right operand shared by the batch: its gradient sums
            # over all the batch's rows, as one product (matmul_sum)
            gb = b.matmul_sum(g, x) if transpose_b else b.matmul_sum(x, g)
            return (b.sum_to(ga, x.shape), gb)
        if transpose_b:
            gb = b.matmul(g, x, transpose_a=True, transpose_b=transpose_a, **p)
        else:
            gb = b.matmul(x, g, transpose_a=not transpose_a, **p)
        return (b.sum_to(ga, x.shape), b.sum_to(gb, y.shape))


@register_op
class MatmulSum(OpDef):
    """sum over the batch axes of matmul(a, b, transpose_a=True) (module
    docstring)."""

    name, onnx, num_inputs = "matmul_sum", "MatMul", 2

    def flops(self, node, env: dict) -> int:
        """2 m n k per batch index."""
        a = node.inputs[0]
        rows = 1
        for d in a.shape[:-1]:
            rows *= env.get(d, 1) if isinstance(d, str) else d
        return 2 * node.outputs[0].type.num_elements(env) * rows

    def infer(self, a, b):
        _check_dtypes(a, b)
        if a.rank < 2 or a.rank != b.rank:
            raise ValueError(
                "both operands need the same rank, at least 2, got "
                f"{a.rank} and {b.rank}")
        if tuple(a.shape[:-1]) != tuple(b.shape[:-1]):
            raise ValueError(
                f"the batch and contracted dimensions differ "
                f"({tuple(a.shape[:-1])} vs {tuple(b.shape[:-1])})")
        return TensorType((a.shape[-1], b.shape[-1]), a.dtype)

    def reference(self, a, b):
        m, n = a.shape[-1], b.shape[-1]
        a2, b2 = a.reshape(-1, m), b.reshape(-1, n)
        return np.matmul(a2.T, b2)

    def vjp(self, b, g, inputs, outputs):
        x, y = inputs
        # C = sum_b x_b^T y_b: dx_b = y_b g^T, dy_b = x_b g
        return (b.matmul(y, g, transpose_b=True), b.matmul(x, g))
