"""Memory planning: which values share a buffer, and where each buffer
lives in one arena.

Two steps, because the batch size is only known at run time:

`assign_storage(fn, ...)` (compile time, structural) maps every value to a
storage: program parameters keep their own buffers (inputs from the caller,
state in the StateStore); a reshape is a view of its operand; a constant is
a module global; each kernel output gets an arena storage, except that
- a result returned to the caller is written straight into the array handed
  back ("output" storage),
- a result that updates a state tensor is written straight into the state
  buffer when no later kernel reads the old value (else it is copied there
  at the end of the step),
- a kernel output takes over the storage of an operand that dies at that
  kernel when the kernel reads that operand only at the position it writes
  (in-place; same byte size and element size).

`plan_offsets(layout, env)` (run time, per batch size) gives each arena
storage an offset by best fit over the kernel order: at kernel t the outputs
of t are placed, then the storages whose last reader is t are freed. Two
storages live at the same time never overlap; a plan made for the largest
batch size serves every smaller one. It reports the arena size beside the
sum of all buffers and the liveness lower bound (the largest total of
storages live at one kernel).

Invariant (relied on by codegen, which marks kernel pointers `noalias`):
the distinct storages a kernel touches never overlap in memory.
"""

from __future__ import annotations

import bisect

import numpy as np

from ..ir import Function, TensorType, get_op
from ..ir.plan import MemoryPlan, Storage, StorageLayout
from ..ir.types import is_symbol

ALIGN = 64

# from this many arena storages on, _plan_by_size uses the time tree (both
# place alike; below it the scan costs less: ~0.3 s either way at 5,400)
TREE_STORAGES = 5000

# ops computed without a kernel
VIEW_OPS = ("reshape",)
CONST_OPS = ("constant",)


def identity_reads(node) -> dict:
    """For a pointwise kernel node: {operand name: True} for operands read
    only at the position being written (so an output may overwrite them),
    False for the others. Non-pointwise nodes give {} (scatter_add gives its
    first operand, which it copies element by element)."""
    op = node.op
    if op == "scatter_add":
        return {node.inputs[0].name: True}
    if op == "fused":
        body = node.attrs["body"]
        products = [n for n in body.nodes if n.op == "matmul"]
        if products:
            return _epilogue_reads(body, products[0])
        if any(get_op(n.op).kind != "elementwise" and n.op != "constant"
               for n in body.nodes):
            return {}
        nodes, params, outs = body.nodes, body.params, body.results
    elif get_op(op).kind == "elementwise":
        nodes, params, outs = [node], node.inputs, node.outputs
    else:
        return {}
    space = outs[0].shape
    # elementwise ops read same-shape operands at the position they compute;
    # anything broadcast, or feeding such a read, is read elsewhere too
    elsewhere: set = set()
    for n in reversed(list(nodes)):
        moved = any(o.name in elsewhere or o.shape != space for o in n.outputs)
        for v in n.inputs:
            if moved or v.shape != space:
                elsewhere.add(v.name)
    return {p.name: p.name not in elsewhere and p.shape == space for p in params}


def _epilogue_reads(body, product) -> dict:
    """identity_reads of a product with an epilogue (fuse_matmul_epilogues):
    the product's operands are read everywhere; the epilogue reads its
    operands of the product's shape at the element it writes (column sums
    write their [N] result for every row, but only from such elements)."""
    space = product.outputs[0].shape
    elsewhere = {v.name for v in product.inputs}
    for n in reversed(body.nodes):
        if n is product or n.op == "reduce_sum":
            continue
        moved = any(o.name in elsewhere or o.shape != space for o in n.outputs)
        for v in n.inputs:
            if moved or v.shape != space:
                elsewhere.add(v.name)
    return {p.name: p.name not in elsewhere and p.shape == space
            for p in body.params}


def assign_storage(fn: Function, state: tuple, inputs: tuple,
                   updates: tuple, outputs: tuple) -> StorageLayout:
    """Map the values of fn (after fusion) to storages; see the module
    docstring. `updates` are (state name, result index) pairs and `outputs`
    result indices, as in runtime.Program."""
    storages: list = []
    vs: dict = {}

    def new(kind, name, t, first=-1) -> int:
        storages.append(Storage(len(storages), kind, name, t, first))
        return storages[-1].id

    state_names = set(state)  # a tuple of thousands in a deep model
    for p in fn.params:
        kind = "state" if p.name in state_names else "input"
        vs[p.name] = new(kind, p.name, p.type)
    kernels = []
    consts: dict = {}
    for n in fn.nodes:
        if n.op in CONST_OPS:
            vs[n.outputs[0].name] = new("const", n.outputs[0].name, n.outputs[0].type)
            consts[n.outputs[0].name] = n.attrs["value"]
        elif n.op in VIEW_OPS:
            vs[n.outputs[0].name] = vs[n.inputs[0].name]
            if n.inputs[0].name in consts:
                consts[n.outputs[0].name] = consts[n.inputs[0].name]
        else:
            t = len(kernels)
            kernels.append(n)
            for o in n.outputs:
                vs[o.name] = new("arena", o.name, o.type, t)

    # NOTE: indexes kept up to date through merges, so that assigning a
    # 2,700-kernel step stays linear (scanning every kernel for each
    # update took ~1 minute on DenseNet121's train step)
    members: dict = {}  # storage -> the values it holds
    for k, v in vs.items():
        members.setdefault(v, []).append(k)
    read_by: dict = {}  # storage -> the kernels reading it
    for t, n in enumerate(kernels):
        for v in n.inputs:
            read_by.setdefault(vs[v.name], set()).add(t)

    def readers(sid) -> list:
        return sorted(read_by.get(sid, ()))

    def merge(src: int, dst: int) -> None:
        for k in members.pop(src, ()):
            vs[k] = dst
            members.setdefault(dst, []).append(k)
        read_by.setdefault(dst, set()).update(read_by.pop(src, ()))

    end_copies = []
    claimed: set = set()
    for j, i in enumerate(outputs):
        s = storages[vs[fn.results[i].name]]
        if s.kind != "arena" or s.id in claimed:
            raise ValueError(
                f"result {i} of @{fn.name} must be a fresh kernel output "
                "(run passes.compile_pipeline.materialize_results first)")
        s.kind, s.name = "output", f"out{j}"
        claimed.add(s.id)
    for name, i in updates:
        v = fn.results[i]
        s = storages[vs[v.name]]
        dst = vs[name]
        if s.kind != "arena" or s.id in claimed:
            raise ValueError(
                f"result {i} of @{fn.name} must be a fresh kernel output "
                "(run passes.compile_pipeline.materialize_results first)")
        claimed.add(s.id)
        t = s.first
        later = [r for r in readers(dst) if r > t]
        direct = not later
        if direct and t in readers(dst):
            n = kernels[t]
            reads = identity_reads(n)
            olds = [x.name for x in n.inputs if vs[x.name] == dst]
            direct = all(reads.get(x, False) for x in olds)
        if direct:
            merge(s.id, dst)
            s.kind = "dead"
        else:
            end_copies.append((s.id, dst))
    layout = StorageLayout(kernels, storages, vs, end_copies, const_values=consts)
    _inplace_arena(fn, layout)
    _liveness(fn, layout)
    return layout


def _inplace_arena(fn: Function, layout: StorageLayout) -> None:
    """Let a kernel output take over a dying operand's arena storage."""
    vs, st = layout.value_storage, layout.storages
    nk = len(layout.kernels)
    live_out = {s for s, _ in layout.end_copies} | {vs[r.name] for r in fn.results}

    members: dict = {}  # storage -> its values (kept through merges)
    for k, v in vs.items():
        members.setdefault(v, []).append(k)
    last_read: dict = {}  # storage -> the last kernel reading it
    for t, n in enumerate(layout.kernels):
        for v in n.inputs:
            last_read[vs[v.name]] = t

    def last_use(sid: int) -> int:
        if sid in live_out:
            return nk
        return last_read.get(sid, -1)

    for t, n in enumerate(layout.kernels):
        reads = identity_reads(n)
        if not reads:
            continue
        used: set = set()
        for o in n.outputs:
            so = st[vs[o.name]]
            if so.kind != "arena":
                continue
            for v in n.inputs:
                si = st[vs[v.name]]
                if (si.kind != "arena" or si.id in used or si.id == so.id
                        or not all(reads.get(x.name, False) for x in n.inputs
                                   if vs[x.name] == si.id)
                        or v.type.dtype.itemsize != o.type.dtype.itemsize
                        or not _same_size(si.type, o.type)
                        or last_use(si.id) != t):
                    continue
                used.add(si.id)
                for k in members.pop(so.id, ()):
                    vs[k] = si.id
                    members.setdefault(si.id, []).append(k)
                if so.id in last_read:
                    last_read[si.id] = max(last_read.get(si.id, -1),
                                           last_read.pop(so.id))
                so.kind = "dead"
                if so.id in live_out:
                    # the output is copied into a state buffer at the end:
                    # the copy now reads the storage it took over
                    layout.end_copies[:] = [
                        (si.id if a == so.id else a, b)
                        for a, b in layout.end_copies]
                    live_out.add(si.id)
                layout.inplace.append((t, v.name, o.name))
                break


def _same_size(a: TensorType, b: TensorType) -> bool:
    ka = sorted(d for d in a.shape if is_symbol(d))
    kb = sorted(d for d in b.shape if is_symbol(d))
    return ka == kb and a.num_elements({d: 1 for d in ka}) * a.dtype.itemsize == \
        b.num_elements({d: 1 for d in kb}) * b.dtype.itemsize


def _liveness(fn: Function, layout: StorageLayout) -> None:
    vs, st = layout.value_storage, layout.storages
    nk = len(layout.kernels)
    for s in st:
        s.first, s.last = (-1, -1) if s.kind in ("input", "state", "const") \
            else (nk, -1)
    for t, n in enumerate(layout.kernels):
        for o in n.outputs:
            s = st[vs[o.name]]
            s.first = min(s.first, t)
            s.last = max(s.last, t)
        for v in n.inputs:
            s = st[vs[v.name]]
            s.last = max(s.last, t)
    for s_id, _ in layout.end_copies:
        st[s_id].last = nk
    for r in fn.results:
        st[vs[r.name]].last = max(st[vs[r.name]].last, nk)


def _round(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan_offsets(layout: StorageLayout, env: dict) -> MemoryPlan:
    """Offsets for the arena storages of `layout` at sizes `env`: the
    smaller arena of two best-fit planners (in kernel order with a free
    list, and offline by decreasing size over live intervals)."""
    a = _plan_in_order(layout, env)
    b = _plan_by_size(layout, env)
    return b if b.arena_bytes < a.arena_bytes else a


def _plan_by_size(layout: StorageLayout, env: dict) -> MemoryPlan:
    """Largest first; each storage goes into the smallest gap, among the
    storages already placed whose lifetimes overlap its own, that fits
    (the lowest such gap; above them all when none fits).

    NOTE: a deep model's step has thousands of storages, most of them
    live at once, so listing the placed storages a lifetime overlaps made
    the pass quadratic (18,000 storages: 2.9 s). The placed storages are
    kept in a segment tree over kernel times instead (_TimeTree), as the
    union of their byte ranges, coalesced: a query merges O(log T) unions
    whose length is the number of holes left, not of storages."""
    arena = [s for s in layout.storages if s.kind == "arena"]
    size = {s.id: _round(s.nbytes(env)) for s in arena}
    order = sorted(arena, key=lambda s: (-size[s.id], s.first, s.id))
    if len(arena) < TREE_STORAGES or any(s.last < s.first for s in arena) \
            or any(size[s.id] == 0 for s in arena):
        # few storages (the scan is cheaper), or lifetimes or sizes the
        # tree does not model
        return _plan_by_size_scan(arena, size, order)
    return _plan_by_size_tree(arena, size, order)


def _plan_by_size_tree(arena, size, order) -> MemoryPlan:
    """_plan_by_size over a _TimeTree (every size > 0, last >= first)."""
    offsets: dict = {}
    end = 0
    tree = _TimeTree(min((s.first for s in arena), default=0),
                     max((s.last for s in arena), default=0))
    for s in order:
        need = size[s.id]
        off = _best_gap(tree.busy(s.first, s.last), need)
        offsets[s.id] = off
        tree.add(s.first, s.last, off, off + need)
        end = max(end, off + need)
    return MemoryPlan(offsets, end, sum(size.values()), _lower_bound(arena, size))


def _best_gap(runs, need: int) -> int:
    """The lowest-addressed of the smallest gaps of at least `need` bytes
    below and between the busy byte ranges `runs` ((starts, ends) of
    sorted disjoint [start, end) ranges; runs may overlap), else
    the end of the highest of them (0 if none)."""
    below = 0  # the end of what lies below
    best = best_off = None
    for a, b in sorted(r for starts, ends in runs for r in zip(starts, ends)):
        gap = a - below
        if gap >= need and (best is None or gap < best):
            best, best_off = gap, below
        if b > below:
            below = b
    return below if best is None else best_off


class _TimeTree:
    """Byte ranges busy over kernel-time intervals, for the question: which
    bytes are busy at some time of [first, last]? A segment tree over
    times: an interval is stored at the O(log T) nodes that cover it
    (`own`), and every node keeps the union of what is stored in its
    subtree (`sub`). The ranges busy over [first, last] are `sub` of the
    nodes covering it and `own` of their ancestors. Unions are coalesced
    sorted runs (two lists: starts, ends)."""

    def __init__(self, lo: int, hi: int):
        self.lo = lo
        n = 1
        while n < hi - lo + 1:
            n *= 2
        self.n = n
        self.own: dict = {}
        self.sub: dict = {}

    def _cover(self, first: int, last: int):
        """(the nodes covering [first, last], their ancestors)"""
        lo, hi = first - self.lo + self.n, last - self.lo + self.n + 1
        cover = []
        while lo < hi:
            if lo & 1:
                cover.append(lo)
                lo += 1
            if hi & 1:
                hi -= 1
                cover.append(hi)
            lo //= 2
            hi //= 2
        up = set()
        for c in cover:
            c //= 2
            while c and c not in up:
                up.add(c)
                c //= 2
        return cover, up

    def busy(self, first: int, last: int) -> list:
        cover, up = self._cover(first, last)
        runs = [self.sub[c] for c in cover if c in self.sub]
        runs += [self.own[u] for u in up if u in self.own]
        return runs

    def add(self, first: int, last: int, a: int, b: int) -> None:
        cover, up = self._cover(first, last)
        for c in cover:
            _insert(self.own.setdefault(c, ([], [])), a, b)
            _insert(self.sub.setdefault(c, ([], [])), a, b)
        for u in up:
            _insert(self.sub.setdefault(u, ([], [])), a, b)


def _insert(run, a: int, b: int) -> None:
    """Add [a, b) to the coalesced sorted ranges run = (starts, ends)."""
    starts, ends = run
    i = bisect.bisect_left(ends, a)  # the first range ending at or after a
    j = bisect.bisect_right(starts, b)  # past the last starting at or before b
    if i < j:
        a = min(a, starts[i])
        b = max(b, ends[j - 1])
    starts[i:j] = [a]
    ends[i:j] = [b]


def _plan_by_size_scan(arena, size, order) -> MemoryPlan:
    """_plan_by_size scanning every placed storage for each placement."""
    n = len(arena)
    p_off = np.zeros(n, np.int64)
    p_size = np.zeros(n, np.int64)
    p_first = np.zeros(n, np.int64)
    p_last = np.zeros(n, np.int64)
    k = 0  # storages placed
    offsets: dict = {}
    end = 0
    for s in order:
        need = size[s.id]
        hit = ((p_first[:k] <= s.last) & (p_last[:k] >= s.first)
               & (p_size[:k] > 0))
        off = _smallest_gap(p_off[:k][hit], p_size[:k][hit], need)
        offsets[s.id] = off
        p_off[k], p_size[k], p_first[k], p_last[k] = off, need, s.first, s.last
        k += 1
        end = max(end, off + need)
    return MemoryPlan(offsets, end, sum(size.values()), _lower_bound(arena, size))


def _smallest_gap(offs: np.ndarray, sizes: np.ndarray, need: int) -> int:
    """The lowest-addressed of the smallest gaps of at least `need` bytes
    left below and between the busy ranges [offs, offs + sizes), else the
    end of the last of them (0 if none); vectorized, as a deep model's
    storages overlap by the thousand."""
    if not len(offs):
        return 0
    order = np.lexsort((sizes, offs))
    o = offs[order]
    ends = np.maximum.accumulate(o + sizes[order])
    below = np.concatenate(([0], ends[:-1]))  # the end of what lies below
    gaps = np.where(o - below >= need, o - below, np.iinfo(np.int64).max)
    i = int(np.argmin(gaps))
    if gaps[i] == np.iinfo(np.int64).max:
        return int(ends[-1])
    return int(below[i])


def _lower_bound(arena, size) -> int:
    """The most bytes live at one kernel (a sweep over lifetimes)."""
    delta: dict = {}
    for s in arena:
        if s.last < max(s.first, 0):
            continue
        delta[max(s.first, 0)] = delta.get(max(s.first, 0), 0) + size[s.id]
        delta[s.last + 1] = delta.get(s.last + 1, 0) - size[s.id]
    best = live = 0
    for t in sorted(delta):
        live += delta[t]
        best = max(best, live)
    return best


def _plan_in_order(layout: StorageLayout, env: dict) -> MemoryPlan:
    """Best fit in kernel order over a free list."""
    arena = [s for s in layout.storages if s.kind == "arena"]
    size = {s.id: _round(s.nbytes(env)) for s in arena}
    nk = len(layout.kernels)
    by_first: dict = {}
    by_last: dict = {}
    for s in arena:
        by_first.setdefault(s.first, []).append(s)
        by_last.setdefault(s.last, []).append(s)
    free: list = []  # [offset, size], sorted by offset, coalesced
    end = 0
    offsets: dict = {}
    lower = 0
    live = 0
    for t in range(nk + 1):
        for s in sorted(by_first.get(t, []), key=lambda s: -size[s.id]):
            need = size[s.id]
            best = None
            for k, (off, sz) in enumerate(free):
                if sz >= need and (best is None or sz < free[best][1]):
                    best = k
            if best is not None:
                off, sz = free[best]
                offsets[s.id] = off
                if sz == need:
                    free.pop(best)
                else:
                    free[best] = [off + need, sz - need]
            elif free and free[-1][0] + free[-1][1] == end:
                off = free.pop()[0]
                offsets[s.id] = off
                end = off + need
            else:
                offsets[s.id] = end
                end += need
            live += need
        lower = max(lower, live)
        for s in by_last.get(t, []):
            if s.id not in offsets:
                continue
            live -= size[s.id]
            _free(free, offsets[s.id], size[s.id])
    total = sum(size.values())
    return MemoryPlan(offsets, end, total, lower)


def _free(free: list, off: int, sz: int) -> None:
    free.append([off, sz])
    free.sort()
    merged = []
    for o, s in free:
        if merged and merged[-1][0] + merged[-1][1] == o:
            merged[-1][1] += s
        else:
            merged.append([o, s])
    free[:] = merged
