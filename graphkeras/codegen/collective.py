"""Lowering of the collective ops (ir/ops/collective.py) to a call into the
process's MPI library.

The kernel of `all_reduce_sum(x, comm)` reads the communicator descriptor
`comm` (an int64[8] buffer the runtime fills) and calls the function whose
address is in word COMM_FN as `MPI_Allreduce(x, out, count, datatype, op,
communicator)`, the handles taken from the descriptor. Codegen knows
nothing of MPI or mpi4py beyond that call's signature: the runtime supplies
the address and the handles (graphkeras/distribution), so a compiled
program can be cached and reused by every rank and every run.

Invariants:
- x and out are distinct storages (plan_memory gives in-place storage to
  elementwise kernels only), so the call never needs MPI_IN_PLACE.
- A descriptor naming fewer than two ranks makes the kernel a copy (one
  process; the all-zero descriptor of tests).
- MPI's error code is written into word COMM_ERROR (-1: more elements than
  an MPI count holds), and the runtime raises after the step: native code
  never raises, and MPI's own error handler may return.
- The kind is not threaded: one thread runs the call, and
  codegen/step_module.py puts a barrier before every collective kernel, so
  every rank issues its collectives in program order (a collective running
  next to another one on a second thread could pair with the wrong one on
  another rank).
"""

from __future__ import annotations

from llvmlite import ir

from ..ir.ops.collective import (
    COMM_DOUBLE,
    COMM_DTYPE,
    COMM_ERROR,
    COMM_FN,
    COMM_HANDLE,
    COMM_OP,
    COMM_SIZE,
    MAX_COUNT,
)
from .kernels import RootLowering
from .lowering import register_lowering
from .scalar import I1, I32, I64, PTR, VOID, intrinsic

KIND = "collective"
OPS = ("all_reduce_sum",)

# int MPI_Allreduce(const void*, void*, int, MPI_Datatype, MPI_Op, MPI_Comm)
ALLREDUCE_FN = ir.FunctionType(I32, [PTR, PTR, I32, I64, I64, I64])


def _word(b, comm, k):
    return b.gep(comm, [ir.Constant(I64, k)], source_etype=I64)


def emit_all_reduce(ctx, nodes, root) -> None:
    b = ctx.b
    x, comm = root.inputs
    out = root.outputs[0]
    xp, dt = ctx.buffers[x.name]
    cp, _ = ctx.buffers[comm.name]
    op = ctx.buffers[out.name][0]
    n = ctx.numel(x.shape)
    size = b.load(_word(b, cp, COMM_SIZE), typ=I64)
    alone = b.icmp_signed("<", size, ir.Constant(I64, 2))
    empty = b.icmp_signed("==", n, ir.Constant(I64, 0))
    with b.if_else(b.or_(alone, empty)) as (copy, call):
        with copy:
            memcpy = intrinsic(ctx.fn.module, "llvm.memcpy.p0.p0.i64", VOID,
                               [PTR, PTR, I64, I1])
            nbytes = b.mul(n, ir.Constant(I64, dt.itemsize))
            b.call(memcpy, [op, xp, nbytes, ir.Constant(I1, 0)])
        with call:
            err = _word(b, cp, COMM_ERROR)
            too_big = b.icmp_signed(">", n, ir.Constant(I64, MAX_COUNT))
            with b.if_else(too_big) as (refuse, go):
                with refuse:
                    b.store(ir.Constant(I64, -1), err)
                with go:
                    fn = b.inttoptr(b.load(_word(b, cp, COMM_FN), typ=I64),
                                    ALLREDUCE_FN.as_pointer())
                    dword = COMM_DOUBLE if dt.itemsize == 8 else COMM_DTYPE
                    rc = b.call(fn, [
                        xp, op, b.trunc(n, I32),
                        b.load(_word(b, cp, dword), typ=I64),
                        b.load(_word(b, cp, COMM_OP), typ=I64),
                        b.load(_word(b, cp, COMM_HANDLE), typ=I64)])
                    with b.if_then(b.icmp_signed("!=", rc, ir.Constant(I32, 0))):
                        b.store(b.sext(rc, I64), err)
    b.ret_void()


register_lowering(RootLowering(KIND, OPS, emit_all_reduce, threaded=False,
                               ordered=True))


def is_collective(node) -> bool:
    return node.op in OPS
