"""Fusion of elementwise consumers into convolutions and pooling (their
epilogues).

    fuse_conv_epilogues(fn) -> fn'

After fuse_elementwise, a conv (or conv_transpose, or a pooling op or its
gradient) whose only consumer is one pointwise kernel of its shape (a
conv's bias add, activation, BatchNormalization in inference, a residual
add; the ReLU mask applied to max_pool_grad's result in a backward pass;
any elementwise chain) is merged with it into one `fused` node whose body
starts with it:

    %c = conv %x, %w                          %y = fused %x, %w, %b {body=
    %y = fused %c, %b {body= c + b, relu}  ->      conv; c + b; relu}

codegen/conv.py runs such a node as one kernel: each image's convolution
is followed at once by the epilogue, while that image's output is in cache
(the conv writes into a result buffer of its type, and the epilogue reads
each element where it writes it).

A conv kernel whose only result then only feeds a max_pool / avg_pool
takes the pooling as well (_fuse_pool_tails): the activation of an image
lives in the kernel's scratch and only the pooled image is written, which
is what an inference graph (conv, bias, relu, pool) does. In a training
step the activation is also read by the pooling's gradient: the kernel
then writes it and, as a further result, its pooling, computed while each
image is in cache (_stored_tail; W2's max_pool kernels read 11 MB again
per step otherwise).

Requires: fn verifies; fusion has run (consumers are `fused` nodes or
single elementwise nodes).
Ensures: fn' verifies and computes what fn computes (the body is the
original nodes in order); the conv's value is no longer a separate buffer
when nothing else reads it. A consumer is merged only when it reads the
conv's value at the positions it writes (no broadcast or re-indexing of
it), computes values of the conv's shape only, and has a result of the
conv's type (the buffer the conv writes into).
"""

from __future__ import annotations

from ..ir import Function, Node, get_op
from ..ir.function import Attrs
from .plan_memory import identity_reads

# kernels that take an epilogue (codegen/conv.py's kernels with epilogue=True)
HEADS = frozenset({"conv", "conv_transpose", "max_pool", "avg_pool",
                   "max_pool_grad", "avg_pool_grad"})


def _pointwise_body(node: Node):
    """(params, nodes, results) of a pointwise consumer, or None."""
    if node.op == "fused":
        body = node.attrs["body"]
        if any(get_op(m.op).kind != "elementwise" and m.op not in (
                "constant", "zeros", "ones", "broadcast_to")
               for m in body.nodes):
            return None
        return list(body.params), list(body.nodes), list(body.results)
    if get_op(node.op).kind == "elementwise" and len(node.outputs) == 1:
        return list(node.inputs), [node], list(node.outputs)
    return None


def fuse_conv_epilogues(fn: Function) -> Function:
    users = fn.users()
    results = {r.name for r in fn.results}
    drop: set = set()
    replace: dict = {}  # id(consumer) -> merged node
    for n in fn.nodes:
        if n.op not in HEADS:
            continue
        c = n.outputs[0]
        us = users.get(c.name, [])
        if c.name in results or len(us) != 1:
            continue
        f = us[0]
        if id(f) in replace:
            continue
        parts = _pointwise_body(f)
        if parts is None:
            continue
        params, nodes, outs = parts
        if any(o.shape != c.shape for o in f.outputs):
            continue
        if not any(o.type == c.type for o in outs):
            continue
        inner = params[list(f.inputs).index(c)]
        reads = identity_reads(f)
        if not reads.get(inner.name, False):
            continue
        # the body: the conv's operands and the consumer's other operands
        outer_in, body_params = [], []
        for v in list(n.inputs) + [v for v in f.inputs if v != c]:
            if v not in outer_in:
                outer_in.append(v)
        # the consumer's inner names for its operands (fused bodies name
        # params after the outer values, single nodes are the values)
        inner_of = dict(zip((v.name for v in f.inputs), params))
        for v in outer_in:
            body_params.append(inner_of.get(v.name, v))
        conv = n.replace(inputs=tuple(inner_of.get(v.name, v) for v in n.inputs),
                         outputs=(inner,))
        body = Function(f"k_{c.name}", tuple(body_params), (conv, *nodes),
                        tuple(outs))
        merged = Node("fused", tuple(outer_in), Attrs({"body": body}),
                      tuple(f.outputs), f.loc or n.loc)
        replace[id(f)] = merged
        drop.add(id(n))
    if drop:
        fn = fn.replace(nodes=tuple(replace.get(id(n), n) for n in fn.nodes
                                    if id(n) not in drop))
    return _fuse_pool_tails(fn)


POOLS = frozenset({"max_pool", "avg_pool"})


def _fuse_pool_tails(fn: Function) -> Function:
    """A conv kernel (with its epilogue) whose one result only feeds a
    pooling op takes the pooling too: each image's activation then stays
    in the kernel's scratch (never written out), and only the pooled image
    is (inference: conv - bias - relu - max_pool). Only when the epilogue
    reads nothing of the conv's size but the conv's value (per-image
    scratch holds that image alone)."""
    users = fn.users()
    results = {r.name for r in fn.results}
    replace: dict = {}
    drop: set = set()
    for n in fn.nodes:
        if n.op in ("conv", "conv_transpose"):
            head, body_nodes, params = n, [n], list(n.inputs)
        elif n.op == "fused" and n.attrs["body"].nodes and \
                n.attrs["body"].nodes[0].op in ("conv", "conv_transpose"):
            body = n.attrs["body"]
            head, body_nodes, params = body.nodes[0], list(body.nodes), \
                list(body.params)
        else:
            continue
        if len(n.outputs) != 1:
            stored = _stored_tail(n, head, users)
            if stored is not None:
                replace[id(n)], pool = stored
                drop.add(id(pool))
            continue
        r = n.outputs[0]
        us = users.get(r.name, [])
        if r.name in results or len(us) != 1 or us[0].op not in POOLS:
            continue
        c = head.outputs[0]
        produced = {o.name for m in body_nodes for o in m.outputs}
        if any(v.name not in produced and v.rank == c.rank
               and v.shape[0] == c.shape[0]
               for m in body_nodes[1:] for v in m.inputs):
            continue  # e.g. a residual: the epilogue reads another image
        pool = us[0]
        inner_r = (n.attrs["body"].results[0] if n.op == "fused" else r)
        body = Function(f"k_{pool.outputs[0].name}", tuple(params),
                        (*body_nodes, pool.replace(inputs=(inner_r,))),
                        tuple(pool.outputs))
        replace[id(pool)] = Node("fused", tuple(n.inputs),
                                 Attrs({"body": body}), tuple(pool.outputs),
                                 n.loc or pool.loc)
        drop.add(id(n))
    if not drop:
        return fn
    return fn.replace(nodes=tuple(replace.get(id(n), n) for n in fn.nodes
                                  if id(n) not in drop))


def _stored_tail(n: Node, head: Node, users: dict):
    """A training step's conv kernel (results: the activation, the ReLU
    mask...) whose float result of the conv's shape also feeds a pooling
    op takes the pooling as a further result: the activation is still
    written (the pooling's gradient reads it), and each image is pooled
    while it is in cache instead of read again by a pooling kernel.
    Returns (the merged node, the pooling node it replaces) or None; the
    merged node stands where the conv kernel stood (the pooling reads
    nothing but its result, so every input is ready there)."""
    if n.op != "fused":
        return None
    body = n.attrs["body"]
    c = head.outputs[0]
    produced = {o.name for m in body.nodes for o in m.outputs}
    if any(v.name not in produced and v.rank == c.rank
           and v.shape[0] == c.shape[0]
           for m in body.nodes[1:] for v in m.inputs):
        return None
    for k, r in enumerate(n.outputs):
        if r.type != c.type:
            continue
        pools = [u for u in users.get(r.name, []) if u.op in POOLS]
        if len(pools) != 1:
            continue
        pool = pools[0]
        inner_r = body.results[k]
        merged_body = Function(
            body.name, body.params,
            (*body.nodes, pool.replace(inputs=(inner_r,))),
            (*body.results, *pool.outputs))
        return Node("fused", n.inputs, Attrs({"body": merged_body}),
                    (*n.outputs, *pool.outputs), n.loc), pool
    return None
