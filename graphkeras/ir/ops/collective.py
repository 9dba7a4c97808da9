"""Collective ops: values combined across the processes (ranks) of a
data-parallel job.

`all_reduce_sum(x, comm)` is the elementwise sum of `x` over every rank;
each rank gets the same result. `comm` is an int64[8] *communicator
descriptor* that the runtime fills (graphkeras/distribution): word 0 the
address of the C function `MPI_Allreduce`, words 1-3 the MPI handles of
the communicator, of MPI_FLOAT and of MPI_SUM, word 4 the number of ranks,
word 5 this rank, word 6 the last MPI error code (written by the call, 0
when all went well), word 7 the handle of MPI_DOUBLE. A descriptor naming fewer than two
ranks (all zeros in tests and with one process) makes the op the identity,
so a program with collectives runs unchanged in one process.

The IR knows nothing of MPI beyond this layout: the reference interpreter
and the generated code both call the function whose address the
descriptor holds, with the handles it holds.

NOTE: every rank must run the same collectives in the same order with the
same sizes (the same program); codegen orders collective kernels
(codegen/collective.py) and the runtime checks that ranks run the same
program before their first step.
"""

from __future__ import annotations

import ctypes

import numpy as np

from ..registry import OpDef, register_op
from ..types import TensorType

# words of the communicator descriptor (an int64 array of COMM_WORDS)
COMM_WORDS = 8
(COMM_FN, COMM_HANDLE, COMM_DTYPE, COMM_OP, COMM_SIZE, COMM_RANK, COMM_ERROR,
 COMM_DOUBLE) = range(COMM_WORDS)

# int MPI_Allreduce(const void *send, void *recv, int count,
#                   MPI_Datatype, MPI_Op, MPI_Comm)
# NOTE: handles are passed as 64-bit integers: Open MPI's are pointers,
# MPICH's are ints, which the x86-64 and AArch64 calling conventions read
# from the low half of the same register.
_ALLREDUCE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                              ctypes.c_int, ctypes.c_int64, ctypes.c_int64,
                              ctypes.c_int64)
MAX_COUNT = 2**31 - 1  # MPI counts are C ints


@register_op
class AllReduceSum(OpDef):
    """The sum of x over all ranks (the identity with one rank)."""

    name = "all_reduce_sum"
    onnx = "Identity"  # not exported: export/onnx.py lists it as unexportable
    kind = "structured"
    num_inputs = 2
    diff_inputs = (0,)

    def infer(self, x: TensorType, comm: TensorType) -> TensorType:
        if x.dtype.long_name not in ("float32", "float64"):
            raise TypeError(f"the operand must be float32 or float64, got "
                            f"{x.dtype.long_name}")
        if comm.dtype.long_name != "int64" or tuple(comm.shape) != (COMM_WORDS,):
            raise TypeError(f"the communicator must be int64[{COMM_WORDS}], "
                            f"got {comm}")
        return x

    def reference(self, x, comm):
        out = np.array(x, copy=True)
        if int(comm[COMM_SIZE]) < 2 or out.size == 0:
            return out
        if out.size > MAX_COUNT:
            raise ValueError(f"all_reduce_sum: {out.size} elements is more "
                             f"than MPI's count limit {MAX_COUNT}")
        src = np.ascontiguousarray(x)
        fn = _ALLREDUCE(int(comm[COMM_FN]))
        dtype = comm[COMM_DOUBLE if out.dtype.itemsize == 8 else COMM_DTYPE]
        err = fn(src.ctypes.data, out.ctypes.data, out.size, int(dtype),
                 int(comm[COMM_OP]), int(comm[COMM_HANDLE]))
        if err != 0:
            raise RuntimeError(f"MPI_Allreduce failed with error code {err}")
        return out

    def vjp(self, b, g, inputs, outputs):
        # y = sum_r x_r on every rank: rank r's x_r reaches every rank's
        # output, so its cotangent is the sum of every rank's cotangent
        return (b.all_reduce_sum(g, inputs[1]), None)
