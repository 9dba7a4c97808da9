"""Epilogue fusion: a matrix product and the elementwise kernel that
consumes it (bias, activation, activation gradient, residual add, an
optimizer update...) become one kernel, together with column sums of the
result (bias gradients).

    fuse_matmul_epilogues(fn) -> fn'

Pattern (after fuse_elementwise):

    %c = matmul %a, %b                     (2-D, read only by E)
    %o.. = E(%c, %p..)                     (a `fused` node of elementwise
                                            ops, or one elementwise op, whose
                                            results have %c's shape)
    %s = reduce_sum %o_k {axes=(0,)}       (optional, any number)
  ->
    %o.., %s.. = fused %a, %b, %p.. {body = [matmul, E's body, reduce_sum..]}

at E's position (every operand is defined by then). Codegen runs the
product with the body as the GEMM's per-tile epilogue (codegen/epilogue.py):
%c never reaches memory, and a %o_k used only by column sums does not
either. The reference interpreter runs the body as it reads.

Requires: fn verifies; fused nodes come from fuse_elementwise.
Ensures: fn' verifies and computes what fn computes; a fused node holds at
most one matmul, which is the first non-constant node of its body and
whose operands are parameters of the body; every other body node is
elementwise (or a constant, zeros, ones, broadcast_to) over the product's
shape, or a reduce_sum over axis 0 of such a value; no cycle is created
(the new node sits where E was, after everything it reads); a product of
static shape whose epilogue streams more than MAX_STREAM_BYTES at full
size is left apart (see there).
"""

from __future__ import annotations

from ..ir import Function, Node, get_op
from ..ir.function import Attrs

_SOURCES = frozenset({"constant", "zeros", "ones"})

# An epilogue runs per micro-tile: it touches a few cache lines in each row
# of every full-size array it reads or writes, walking down the rows. When
# those arrays are large and cold (an optimizer update of a weight
# gradient: weights, moments in and out), that walk is latency-bound and
# costs more than writing the product and streaming it once: measured here
# (one core) for a 784x512 weight gradient with K = 128, Adam fused 4.4 ms
# against 2.1 ms apart, SGD 1.8 against 1.5 ms; at 256x128 Adam 0.19
# against 0.14 ms, while products whose streams stay in L2 gain or break
# even. Above this many bytes of full-size streams (static shapes only: a
# product over the batch is sized by the batch, which stays small) the
# product and its consumer stay apart.
MAX_STREAM_BYTES = 256 * 1024


def _stream_bytes(body: Function, product: str, space: tuple) -> int | None:
    """Bytes the epilogue reads and writes at full size (its results and
    its non-broadcast operands other than the product); None when the
    shape is symbolic."""
    if not all(isinstance(d, int) for d in space):
        return None
    n = 1
    for d in space:
        n *= d
    full = [p for p in body.params
            if p.name != product and tuple(p.shape) == tuple(space)]
    full += [r for r in body.results if tuple(r.shape) == tuple(space)]
    return sum(n * v.type.dtype.itemsize for v in full)


def _is_epilogue_op(n: Node, space: tuple) -> bool:
    """n computes, per element of `space`, from operands at that element
    (or broadcast along it)."""
    if len(n.outputs) != 1 or not _broadcasts(n.outputs[0].shape, space):
        return False
    return n.op in _SOURCES or n.op == "broadcast_to" or \
        get_op(n.op).kind == "elementwise"


def _broadcasts(shape: tuple, space: tuple) -> bool:
    """shape broadcasts to space (right-aligned, equal or 1)."""
    if len(shape) > len(space):
        return False
    return all(d == 1 or d == s for d, s in zip(reversed(shape), reversed(space)))


def _consumer_body(u: Node) -> Function | None:
    """E's body as a Function (a fused node's, or one elementwise node
    wrapped), or None when u is no elementwise consumer."""
    if u.op == "fused":
        body = u.attrs["body"]
        if any(n.op == "matmul" for n in body.nodes):
            return None
        return body
    if get_op(u.op).kind == "elementwise" and len(u.outputs) == 1:
        return Function(f"k_{u.outputs[0].name}", tuple(u.inputs), (u,),
                        tuple(u.outputs))
    return None


def fuse_matmul_epilogues(fn: Function) -> Function:
    users = fn.users()
    results = {r.name for r in fn.results}
    nodes = list(fn.nodes)
    removed: set = set()  # ids of nodes folded into another
    replace: dict = {}  # id(E) -> the fused node taking its place
    for m in nodes:
        if m.op != "matmul" or id(m) in removed:
            continue
        c = m.outputs[0]
        if c.rank != 2 or c.name in results or len(users.get(c.name, ())) != 1:
            continue
        u = users[c.name][0]
        if id(u) in removed or id(u) in replace:
            continue
        body = _consumer_body(u)
        if body is None or not body.results:
            continue
        space = c.shape
        if not all(_is_epilogue_op(n, space) for n in body.nodes):
            continue
        if any(r.shape != space for r in body.results):
            continue
        if any(not _broadcasts(p.shape, space) for p in body.params):
            continue
        outer_of = dict(zip((p.name for p in body.params), u.inputs))
        if c.name not in outer_of:
            continue
        nbytes = _stream_bytes(body, c.name, space)
        if nbytes is not None and nbytes > MAX_STREAM_BYTES:
            continue
        params, seen = [], set()
        for v in m.inputs:
            if v.name not in seen:
                params.append(v)
                seen.add(v.name)
        for p in body.params:
            if p.name != c.name and p.name not in seen:
                params.append(outer_of[p.name])
                seen.add(p.name)
        body_nodes = [m, *body.nodes]
        outs = list(body.results)
        # column sums of the epilogue's results (bias gradients)
        for o in list(outs):
            for r in users.get(o.name, ()):
                if (r.op == "reduce_sum" and id(r) not in removed
                        and tuple(r.attrs["axes"]) == (0,)
                        and r.inputs[0].name == o.name):
                    body_nodes.append(r)
                    outs.append(r.outputs[0])
                    removed.add(id(r))
        # a result used only by absorbed column sums stays in registers
        absorbed = {id(n) for n in body_nodes}
        outs = [o for o in outs
                if o.name in results or any(id(x) not in absorbed
                                            for x in users.get(o.name, ()))]
        if not outs:
            continue
        new_body = Function(f"k_{c.name}", tuple(params), tuple(body_nodes),
                            tuple(outs))
        loc = u.loc or m.loc
        replace[id(u)] = Node("fused", tuple(params), Attrs({"body": new_body}),
                              tuple(outs), loc)
        removed.add(id(m))
    if not replace:
        return fn
    out = []
    for n in nodes:
        if id(n) in replace:
            out.append(replace[id(n)])
        elif id(n) not in removed:
            out.append(n)
    return fn.replace(nodes=tuple(out))
