"""Loop helpers for llvmlite builders (in the style of llvmlite's `if_then`
and Numba's `for_range`).

Invariant: every loop is a canonical counted loop over i64 from `start` to
`stop` with step 1 and a single latch, the shape LLVM's loop vectoriser
expects; the builder is left positioned after the loop.
"""

from __future__ import annotations

import contextlib

from llvmlite import ir

I64 = ir.IntType(64)


@contextlib.contextmanager
def for_range(b: ir.IRBuilder, stop, start=None, name: str = "i"):
    """`for i in range(start, stop)`: yields the i64 induction variable."""
    if isinstance(stop, int):
        stop = ir.Constant(I64, stop)
    if start is None:
        start = ir.Constant(I64, 0)
    elif isinstance(start, int):
        start = ir.Constant(I64, start)
    pre = b.block
    fn = pre.function
    header = fn.append_basic_block(f"{name}.head")
    body = fn.append_basic_block(f"{name}.body")
    end = fn.append_basic_block(f"{name}.end")
    b.branch(header)
    b.position_at_end(header)
    i = b.phi(I64, name=name)
    i.add_incoming(start, pre)
    b.cbranch(b.icmp_signed("<", i, stop), body, end)
    b.position_at_end(body)
    yield i
    nxt = b.add(i, ir.Constant(I64, 1), name=f"{name}.next", flags=("nsw",))
    i.add_incoming(nxt, b.block)
    b.branch(header)
    b.position_at_end(end)


@contextlib.contextmanager
def loop_nest(b: ir.IRBuilder, extents, name: str = "d"):
    """Nested for_range loops over `extents` (outermost first); yields the
    list of induction variables. An empty nest runs its body once."""
    with contextlib.ExitStack() as stack:
        idx = []
        for k, n in enumerate(extents):
            idx.append(stack.enter_context(for_range(b, n, name=f"{name}{k}")))
        yield idx
