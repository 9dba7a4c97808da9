"""The one table of kernel kinds: how codegen lowers each kernel node.

    LOWERINGS[kind] -> Lowering      filled by the file that owns the kind
    kernel_of(node) -> KernelSite    which kind lowers a kernel node, and
                                     the nodes, names and root it emits

A kernel kind is one class implementing `Lowering` in its own file, which
registers an instance when imported (`register_lowering`):

    kernels.py        reduce, arg, softmax, scatter; view and const (no
                      code: reshape views and constants take no kernel)
    pointwise.py      pointwise (fused elementwise loop nests, shared flat
                      loops)
    matmul.py         matmul, matmul_sum  epilogue.py  matmul_epilogue
    scan.py           scan              collective.py  collective
    conv.py           conv, conv_filter_grad, pool, resize_grad

codegen/__init__.py imports every one of them, so the table is full
whenever codegen is used. step_module.py asks only this table: which kind
lowers a node, whether it splits its work between threads, whether it
takes the workspace, what workspace and library objects it needs.

Invariant: an op has at most one kind (register_lowering refuses a second
one); a node whose op has none is an InternalCompilerError at codegen, and
the op-table test (tests/codegen/test_ops_compiled.py) keeps every op
covered.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import InternalCompilerError


class Lowering:
    """How codegen compiles the kernel nodes of one kind.

    kind       the kind's name (the key in LOWERINGS)
    ops        the IR ops whose nodes this kind lowers
    threaded   emit splits its work by (chunk, chunks): the kernel function
               is called per chunk; otherwise it runs whole, called (0, 1)
    workspace  the kernel function takes the per-thread workspace pointer
    epilogue   a fused node headed by one of `ops` (its elementwise
               consumers as an epilogue) is this kind's too
    root       in a fused node, the last node of this kind with elementwise
               producers before it is this kind's (reductions, softmax)
    ordered    threads meet before the kernel and it runs in program order
               (collectives: every rank calls them in the same order)
    runtime_extents
               its emitters read every size through ctx.dim, so the kernel's
               static sizes may become runtime values (codegen/extents.py:
               kernels differing only by sizes compile once)
    """

    kind: str = ""
    ops: tuple = ()
    threaded: bool = False
    workspace: bool = False
    epilogue: bool = False
    root: bool = False
    ordered: bool = False
    runtime_extents: bool = False

    def handles(self, op: str) -> bool:
        """Whether this kind lowers `op` beyond its `ops` (pointwise: every
        op with a pointwise rule)."""
        return False

    def emit(self, ctx, site: KernelSite) -> None:
        """Write the kernel function's body (ctx.fn) for `site`."""
        raise InternalCompilerError(
            f'kernel kind "{self.kind}" emits no code (op {site.node.op})')

    def extents_note(self, node) -> str:
        """What the kind decides from the static sizes of `node` that its
        code must keep when they become runtime extents (in the memo key)."""
        return ""

    def workspace_bytes(self, node, vector_bytes: int) -> int:
        """Bytes of one thread's workspace the kernel needs (beyond the
        GEMM workspace step_module sizes for every product)."""
        return 0

    def libraries(self, node) -> tuple:
        """(name, builder) of the library objects the kernel calls."""
        return ()


@dataclass(frozen=True)
class KernelSite:
    """One kernel node as its lowering sees it.

    node      the kernel node (a fused node included)
    name      the kernel's name in the module (its index, or a scan body's
              "<t>_s<k>")
    nodes     the nodes computed (a fused node's body, or (node,))
    params    their inputs, as the body names them
    outputs   their outputs, as the body names them
    root      the node a root kind is built around, else None
    out_keys  the buffer keys of the outputs ("@out<k>")
    layout    the program's StorageLayout (scan reads its prepared bodies)
    workspace the workspace pointer argument (kinds with `workspace`)
    packed_b  a matmul's B buffer holds op(B) packed (codegen/matmul.py
              PACKED_B): a scan body's product by a loop-invariant weight,
              packed once before the loop (codegen/scan.py)
    """

    node: object
    name: str
    nodes: tuple
    params: tuple
    outputs: tuple
    root: object
    out_keys: tuple
    layout: object = None
    workspace: object = None
    packed_b: bool = False


LOWERINGS: dict[str, Lowering] = {}
_BY_OP: dict[str, Lowering] = {}  # derived from LOWERINGS' ops


def register_lowering(lowering: Lowering) -> Lowering:
    """Enter `lowering` in LOWERINGS (called by the file owning the kind)."""
    if lowering.kind in LOWERINGS:
        raise InternalCompilerError(
            f'kernel kind "{lowering.kind}" is registered twice')
    for op in lowering.ops:
        if op in _BY_OP:
            raise InternalCompilerError(
                f'op "{op}" has two kernel kinds: "{_BY_OP[op].kind}" and '
                f'"{lowering.kind}"')
    LOWERINGS[lowering.kind] = lowering
    for op in lowering.ops:
        _BY_OP[op] = lowering
    return lowering


def lowering_of_op(op: str) -> Lowering | None:
    """The kind lowering nodes of `op` (pointwise for every op with a
    pointwise rule), or None."""
    hit = _BY_OP.get(op)
    if hit is None and op != "fused":
        pointwise = LOWERINGS.get("pointwise")
        if pointwise is not None and pointwise.handles(op):
            return pointwise
    return hit


def has_lowering(op: str) -> bool:
    """Whether codegen compiles nodes of `op` (fused nodes included)."""
    return op == "fused" or lowering_of_op(op) is not None


def kernel_of(node, name: str = "", layout=None) -> KernelSite:
    """Which kind lowers the kernel node `node`, as a KernelSite; its
    lowering is `LOWERINGS[site_kind(site)]` (see lowering()).

    A fused node belongs to the kind of its head when that kind takes an
    epilogue (conv, pooling), to matmul_epilogue when its body has a
    product, to the kind of its last node when that kind is a root kind
    producing the one result (reductions, softmax), else to pointwise."""
    return _site(node, name, layout)[1]


def lowering(node) -> Lowering:
    """The Lowering of the kernel node `node`."""
    return _site(node, "", None)[0]


def threaded(node) -> bool:
    """Whether the kernel of `node` splits its work between threads."""
    return lowering(node).threaded


def _site(node, name, layout) -> tuple:
    if node.op == "fused":
        body = node.attrs["body"]
        keys = tuple(f"@out{k}" for k in range(len(body.results)))
        head = next((m for m in body.nodes if m.op != "constant"), None)
        low = None if head is None else _BY_OP.get(head.op)
        if low is None or not low.epilogue:
            low = None
            last = body.nodes[-1] if body.nodes else None
            if any(n.op == "matmul" for n in body.nodes):
                low = LOWERINGS["matmul_epilogue"]
            elif (last is not None and len(body.results) == 1
                  and body.results[0] in last.outputs):
                cand = _BY_OP.get(last.op)
                if cand is not None and cand.root:
                    return cand, KernelSite(node, name, tuple(body.nodes),
                                            tuple(body.params),
                                            tuple(body.results), last, keys,
                                            layout)
        if low is None:
            low = LOWERINGS["pointwise"]
        return low, KernelSite(node, name, tuple(body.nodes),
                               tuple(body.params), tuple(body.results), None,
                               keys, layout)
    low = lowering_of_op(node.op)
    if low is None:
        raise InternalCompilerError(f'op "{node.op}" has no codegen lowering')
    keys = tuple(f"@out{k}" for k in range(len(node.outputs)))
    root = None if low.kind == "pointwise" else node
    return low, KernelSite(node, name, (node,), tuple(node.inputs),
                           tuple(node.outputs), root, keys, layout)


def split_by_thread(ctx) -> None:
    """Let the kernel's loops take this call's share: the kernel function's
    first two arguments are (chunk, chunks)."""
    ctx.threads = (ctx.fn.args[0], ctx.fn.args[1])
