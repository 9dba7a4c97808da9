"""Runtime extents: kernels that differ only by their sizes share one
compiled kernel.

A DenseNet's BatchNormalization, concatenation and 1x1-product kernels
come at ~65 channel counts; with every size compiled in as a constant
each count was a kernel of its own (~12 ms of LLVM each, most of a cold
first step). `runtime_extents(node)` rewrites a kernel node's static
sizes into symbols (`gk_x0`, `gk_x1`, ... in order of appearance), which
the kernel function takes as i64 arguments like the batch symbol: its
entry (dispatch.kernel_entry) reads their values from the kernel's row of
the step's slot table, after its storage slots. Kernels equal up to those
sizes then have one text, one module, one object in the cache.

What stays a constant, because the code changes with it:
- sizes 0 and 1 (broadcasting, empty loops);
- the innermost extent of the kernel's loops when it is short (below
  SHORT_INNER; `_compiled_in` says what stays): with a known short trip
  count LLVM picks the vector width and the tail for it; a runtime one
  sends short rows to the scalar remainder (a BatchNormalization kernel
  over 16 channels ran ~1.5x slower so, 24-40 channels 1.1-1.2x, 64 and
  more alike);
- the length of a sum accumulated in registers (a reduction's trailing
  reduced axes, softmax's axis): its vector split depends on it, and
  with it the order of additions;
- attributes that are not sizes (pads, axes, constants' contents);
- what a kind decides from sizes (a reduction's float64 accumulator for
  small outputs: `Extents.note`, part of the kernel's memo key).

Invariant: each symbol stands for one value of the original node (equal
sizes share a symbol), and the runtime passes exactly that value, so the
rewritten kernel computes what the original did, element for element and
in the same order; kinds opt in (`Lowering.runtime_extents`) once their
emitters read every size through `ctx.dim` (no Python arithmetic on
sizes).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Function, TensorType, Value, get_op
from ..ir.function import Node
from ..ir.types import is_symbol
from .kernels import _collapse
from .lowering import kernel_of, lowering

PREFIX = "gk_x"
SHORT_INNER = 64  # innermost extents below this stay constants
# the ops whose emitters were checked to read every size through ctx.dim,
# beside the elementwise ones: a kernel with any other op keeps its sizes
RUNTIME_OPS = frozenset((
    "broadcast_to", "constant", "zeros", "ones", "dim_size", "iota",
    "transpose", "slice", "pad", "concat", "reshape", "gather", "one_hot",
    "random_uniform", "random_normal", "reduce_sum", "reduce_mean",
    "reduce_max", "reduce_min", "argmax", "argmin", "softmax",
    "log_softmax", "matmul", "matmul_sum"))
# attributes holding sizes (or offsets within them), rewritten with the
# types: an op's shape attributes (OpDef.shape_attrs: broadcast_to,
# reshape, zeros, iota, ...) and a slice's starts and stops
SLICE_ATTRS = ("starts", "stops")


def _size_attrs(op: str) -> tuple:
    return SLICE_ATTRS if op == "slice" else tuple(get_op(op).shape_attrs)


@dataclass(frozen=True)
class Extents:
    """node: the kernel node with sizes as symbols; symbols[k] stands for
    values[k]; note: what else the generated code depends on."""

    node: object
    symbols: tuple = ()
    values: tuple = ()
    note: str = ""


def runtime_extents(node) -> Extents:
    """`node` with its sizes as runtime symbols where its kind allows
    (Extents(node) unchanged otherwise)."""
    low = lowering(node)
    if not low.runtime_extents:
        return Extents(node)
    nodes = (list(node.attrs["body"].nodes) if node.op == "fused"
             else [node])
    if not all(n.op in RUNTIME_OPS or get_op(n.op).kind == "elementwise"
               for n in nodes):
        return Extents(node)
    values = _values(node)
    keep = {0, 1} | _compiled_in(node, low)
    sym: dict = {}

    def dim(d):
        if is_symbol(d) or d is None or d in keep:
            return d
        s = sym.get(d)
        if s is None:
            s = sym[d] = f"{PREFIX}{len(sym)}"
        return s

    for v in values:  # symbols numbered in order of appearance in types
        for d in v.shape:
            dim(d)
    if not sym and not any(_size_attrs(n.op) for n in nodes):
        return Extents(node)
    vmap: dict = {}

    def val(v):
        got = vmap.get(v.name)
        if got is None:
            shape = tuple(dim(d) for d in v.shape)
            got = vmap[v.name] = v if shape == v.shape else Value(
                v.name, TensorType(shape, v.dtype))
        return got

    def rewrite(n):
        attrs = n.attrs
        for a in _size_attrs(n.op) if n.op != "fused" else ():
            if isinstance(attrs.get(a), tuple):
                attrs = attrs.replace(**{a: tuple(dim(d) for d in attrs[a])})
        if n.op == "fused":
            body = n.attrs["body"]
            attrs = attrs.replace(body=Function(
                body.name, tuple(val(p) for p in body.params),
                tuple(rewrite(m) for m in body.nodes),
                tuple(val(r) for r in body.results)))
        return Node(n.op, tuple(val(v) for v in n.inputs), attrs,
                    tuple(val(o) for o in n.outputs), n.loc)

    new = rewrite(node)
    if not sym:
        return Extents(node)
    return Extents(new, tuple(sym.values()), tuple(sym),
                   low.extents_note(node))


def _compiled_in(node, low) -> set:
    """The static sizes the kernel keeps as constants (beside 0 and 1):
    its innermost loop's extent when that loop runs fewer than
    SHORT_INNER times (a pointwise kernel's last group of merged dims,
    kernels._collapse: one flat loop when every value has the output's
    shape; a reduction's, softmax's or argmax's last input axis and its
    own axis; none for a loop that runs once, nor for products: the GEMM
    loops over runtime sizes whatever the kernel), and the length of a
    sum kept in registers."""
    if low.kind in ("matmul", "matmul_sum"):
        return set()
    site = kernel_of(node)
    space = tuple(site.outputs[0].shape)
    dims = [space[-1]] if space else []
    if site.root is not None:  # each its own loop
        root = site.root
        shape = root.inputs[0].shape
        axis = root.attrs.get("axis")
        dims = [shape[-1]] if shape else []
        if isinstance(axis, int) and shape:
            dims.append(shape[axis])
        keep = {d for d in dims if not is_symbol(d) and d < SHORT_INNER}
        # NOTE: a sum in registers (reassoc) is split into vector lanes
        # by its trip count: a runtime count changed the order of the
        # additions (a row sum of 200 got other bits), so the length of
        # a reduction's trailing run and of softmax's axis stay in the code
        if root.op in ("softmax", "log_softmax") and isinstance(axis, int):
            keep.add(shape[axis])
        if root.op.startswith("reduce_"):
            axes = set(root.attrs["axes"])
            k = len(shape) - 1
            while k >= 0 and k in axes:
                keep.add(shape[k])
                k -= 1
        return {d for d in keep if not is_symbol(d)}
    outer = list(space[:-1])
    if low.kind == "pointwise":
        groups = _collapse(site.nodes, site.params, space)
        if groups:
            dims = [space[k] for k in groups[-1]]
            outer = [space[k] for g in groups[:-1] for k in g]
    if not dims or any(is_symbol(d) for d in dims):
        return set()
    if all(d == 1 for d in outer):  # the loop runs once (a bias's update)
        return set()
    n = 1
    for d in dims:
        n *= d
    return set(dims) if n < SHORT_INNER else set()


def _values(node) -> list:
    """Every value of the kernel node, its fused body's included."""
    out = [*node.inputs, *node.outputs]
    if node.op == "fused":
        body = node.attrs["body"]
        out += [*body.params, *(o for m in body.nodes for o in m.outputs)]
    return out
