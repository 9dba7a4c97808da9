"""Fusion: group elementwise chains (and data movement that only re-indexes)
into `fused` nodes, one loop each; fuse elementwise producers into the
reduction that consumes them.

    fuse_elementwise(fn) -> fn'

Requires: fn verifies.
Ensures: fn' verifies and computes what fn computes (each `fused` body is
the group's nodes in their original order); the groups form a DAG, so fn'
has a topological order (no cycle between kernels); every node of fn
appears in exactly one group, except cheap sources (constant, zeros, ones,
iota), which are copied into every group that reads them and kept outside
only if something else needs them.

Rules:
- A pointwise node joins the group of one of its operands' producers when
  that group is still pointwise, computes values of the node's own shape
  (one iteration space per loop), holds fewer than MAX_GROUP_NODES nodes
  and joining creates no cycle; otherwise it starts a group. So nothing is
  recomputed along a broadcast, and no loop body grows without bound.
- A reduction (reduce_*, argmax/argmin, softmax/log_softmax) absorbs the
  group producing its operand when that operand is the group's only value
  used outside it; the group is then closed.
- A group's values used outside it (or returned) are its results; all
  others stay in registers.
"""

from __future__ import annotations

import heapq

from ..ir import Function, Node, get_op
from ..ir.function import Attrs

# ops whose element at an index is a function of operand elements: the
# codegen's pointwise lowerings (tests/codegen checks this is a subset)
REINDEX_OPS = frozenset({
    "broadcast_to", "transpose", "slice", "pad", "concat", "gather",
    "one_hot", "random_uniform", "random_normal", "dim_size",
})
CHEAP_SOURCES = frozenset({"constant", "zeros", "ones", "iota"})
ROOT_OPS = frozenset({"reduce_sum", "reduce_mean", "reduce_max", "reduce_min",
                      "argmax", "argmin", "softmax", "log_softmax"})


# The most nodes a pointwise group takes: a longer chain goes on in a new
# group (one more loop over memory), so that LLVM is handed functions of
# bounded size (a fused chain of thousands of ops took LLVM minutes).
MAX_GROUP_NODES = 256


def is_pointwise(op: str) -> bool:
    return op in REINDEX_OPS or get_op(op).kind == "elementwise"


class _Group:
    __slots__ = ("deps", "first", "id", "kind", "nodes", "sources", "space")

    def __init__(self, gid: int, node: Node, kind: str, first: int):
        self.id = gid
        self.nodes = [node]
        self.space = node.outputs[0].shape if node.outputs else ()
        self.kind = kind  # "pw" (open), "red" (closed), "other"
        self.deps: set = set()
        self.sources: list = []
        self.first = first


def fuse_elementwise(fn: Function) -> Function:
    users = fn.users()
    results = {r.name for r in fn.results}
    groups: list = []
    group_of: dict = {}  # value name -> group id
    source_node: dict = {}  # value name -> cheap source node

    alias: dict = {}  # merged group id -> the group it went into

    def find(g: int) -> int:
        while g in alias:
            g = alias[g]
        return g

    # group id -> ids of the groups that depend on it (the reverse of
    # deps; ids through find, a merged group's passed to the one it went in)
    dependents: dict = {}

    def depend(g: _Group, on) -> None:
        for d in on:
            d = find(d)
            if d != g.id:
                dependents.setdefault(d, set()).add(g.id)

    # NOTE: a topological position of every group (rank[d] < rank[g] when
    # g depends on d), kept through joins and merges by Pearce and Kelly's
    # local reordering: a path from a target to a start only passes
    # groups ranked between them, so `reaches` searches that band only
    # (unbounded, both ends walked most of a deep program per node)
    rank: dict = {}

    def order(d: int, g: int) -> None:
        """Restore the ranks after g came to depend on d."""
        lo, hi = rank[g], rank[d]
        if hi < lo:
            return
        fwd, stack = {g}, [g]  # depending on g, ranked below d
        while stack:
            for u in dependents.get(stack.pop(), ()):
                u = find(u)
                if u not in fwd and rank[u] <= hi:
                    fwd.add(u)
                    stack.append(u)
        bwd, stack = {d}, [d]  # d and what it depends on, ranked above g
        while stack:
            for x in groups[stack.pop()].deps:
                x = find(x)
                if x not in bwd and rank[x] >= lo:
                    bwd.add(x)
                    stack.append(x)
        moved = sorted(bwd, key=rank.get) + sorted(fwd, key=rank.get)
        for r, h in zip(sorted(rank[h] for h in moved), moved):
            rank[h] = r

    def link(d: int, g: int) -> None:
        """g depends on d (ids through find)."""
        if d != g:
            groups[g].deps.add(d)
            dependents.setdefault(d, set()).add(g)
            order(d, g)

    def reaches(starts, targets: set) -> bool:
        """Whether a group in starts depends (transitively) on a group in
        targets. NOTE: searched from both ends at once, a step of each in
        turn, until the two meet (a path) or one side has seen all it can
        reach (none): a search from the starts alone walked every
        ancestor, most of the program on a deep model, once per node
        (quadratic); one from the targets alone, every later group
        depending on an early target."""
        fwd = {find(a) for a in starts}  # reached from the starts
        bwd = {find(t) for t in targets}  # reaching a target
        if fwd & bwd:
            return True
        if not fwd or not bwd:
            return False
        lo = min(rank[t] for t in bwd)
        hi = max(rank[a] for a in fwd)
        fstack = [a for a in fwd if rank[a] > lo]
        bstack = [t for t in bwd if rank[t] < hi]
        while fstack and bstack:
            for d in groups[fstack.pop()].deps:
                d = find(d)
                if d in bwd:
                    return True
                if d not in fwd and rank[d] > lo:
                    fwd.add(d)
                    fstack.append(d)
            for u in dependents.get(bstack.pop(), ()):
                u = find(u)
                if u in fwd:
                    return True
                if u not in bwd and rank[u] < hi:
                    bwd.add(u)
                    bstack.append(u)
        return False

    def input_groups(n: Node) -> set:
        return {find(group_of[v.name]) for v in n.inputs if v.name in group_of}

    def merge(into: _Group, other: _Group) -> None:
        for d in list(other.deps):
            link(find(d), into.id)
        for u in list(dependents.get(other.id, ())):
            if find(u) != other.id:
                link(into.id, find(u))
        into.nodes.extend(other.nodes)
        into.deps |= other.deps
        into.first = min(into.first, other.first)
        for s_ in other.sources:
            if s_ not in into.sources:
                into.sources.append(s_)
        alias[other.id] = into.id
        other.kind = "merged"
        dependents.setdefault(into.id, set()).update(
            dependents.pop(other.id, ()))

    def add_sources(g: _Group, n: Node) -> None:
        for v in n.inputs:
            s = source_node.get(v.name)
            if s is not None and s not in g.sources:
                g.sources.append(s)

    for pos, n in enumerate(fn.nodes):
        if n.op in CHEAP_SOURCES and len(n.outputs) == 1:
            source_node[n.outputs[0].name] = n
            continue
        ins = input_groups(n)
        if is_pointwise(n.op) and len(n.outputs) == 1:
            shape = n.outputs[0].shape
            cands = [g for g in ins if groups[g].kind == "pw"
                     and groups[g].space == shape
                     and len(groups[g].nodes) < MAX_GROUP_NODES]
            target = None
            # all same-space producer groups at once, if that makes no cycle
            if len(cands) > 1 and sum(len(groups[g].nodes) for g in cands) \
                    < MAX_GROUP_NODES:
                outside = set()
                for g in cands:
                    outside |= {find(d) for d in groups[g].deps}
                outside |= ins
                outside -= set(cands)
                if not reaches(outside, set(cands)):
                    target = groups[cands[0]]
                    for g in cands[1:]:
                        merge(target, groups[g])
            if target is None:
                for g in cands:
                    if not reaches([h for h in ins if h != g], {g}):
                        target = groups[g]
                        break
            if target is None:
                target = _Group(len(groups), n, "pw", pos)
                rank[target.id] = len(groups)
                groups.append(target)
            else:
                target.nodes.append(n)
            for h in ins:
                link(find(h), target.id)
            target.deps = {find(h) for h in target.deps | ins} - {target.id}
            depend(target, ins)
            add_sources(target, n)
            for o in n.outputs:
                group_of[o.name] = target.id
            continue
        if n.op in ROOT_OPS and n.inputs[0].name in group_of:
            x = n.inputs[0]
            g = groups[find(group_of[x.name])]
            inside = {o.name for m in g.nodes for o in m.outputs}
            only_x = all(
                (v == x.name and len(users.get(v, ())) == 1 and v not in results)
                or (v != x.name and v not in results
                    and all(u in g.nodes for u in users.get(v, ())))
                for v in inside)
            if g.kind == "pw" and g.space == x.shape and only_x:
                g.nodes.append(n)
                g.kind = "red"
                for o in n.outputs:
                    group_of[o.name] = g.id
                continue
        g = _Group(len(groups), n, "other", pos)
        rank[g.id] = len(groups)
        g.deps = set(ins)
        depend(g, ins)
        groups.append(g)
        for o in n.outputs:
            group_of[o.name] = g.id

    live = [g for g in groups if g.kind != "merged"]
    order = {id(m): i for i, m in enumerate(fn.nodes)}  # once, not per group
    for g in live:
        g.deps = {find(d) for d in g.deps} - {g.id}
        g.nodes.sort(key=lambda m: order[id(m)])
    return _rebuild(fn, live, source_node, users, results)


def _rebuild(fn, groups, source_node, users, results) -> Function:
    # topological order of the groups, stable by first original position
    by_id = {g.id: g for g in groups}
    indeg = {g.id: len(g.deps) for g in groups}
    rdeps: dict = {g.id: [] for g in groups}
    for g in groups:
        for d in g.deps:
            rdeps[d].append(g.id)
    heap = [(g.first, g.id) for g in groups if indeg[g.id] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        _, gid = heapq.heappop(heap)
        order.append(gid)
        for r in rdeps[gid]:
            indeg[r] -= 1
            if indeg[r] == 0:
                heapq.heappush(heap, (by_id[r].first, r))
    if len(order) != len(groups):
        from ..ir import InternalCompilerError

        raise InternalCompilerError("fusion made a cycle between kernels",
                                    pass_name="fuse_elementwise")

    member = {}
    for g in groups:
        for m in g.nodes:
            member[id(m)] = g.id
    # cheap sources needed outside any group: by unfused nodes or results
    outer_sources = []
    for name, s in source_node.items():
        need = name in results or any(
            member.get(id(u)) is None or by_id[member[id(u)]].kind == "other"
            for u in users.get(name, ()))
        if need:
            outer_sources.append(s)
    nodes = list(outer_sources)
    for gid in order:
        g = by_id[gid]
        if g.kind == "other" or (len(g.nodes) == 1 and not g.sources):
            nodes.extend(g.nodes)
            continue
        fused = _fused_node(g, users, results)
        if fused == "dead":  # nothing of the group is used: drop it
            continue
        if fused is None:
            nodes.extend(g.sources)
            nodes.extend(g.nodes)
        else:
            nodes.append(fused)
    # de-duplicate sources emitted both outside and by an unfusable group
    seen, out = set(), []
    for n in nodes:
        if id(n) in seen:
            continue
        seen.add(id(n))
        out.append(n)
    out = _dedupe_defs(out)
    return fn.replace(nodes=tuple(out))


def _dedupe_defs(nodes):
    seen, out = set(), []
    for n in nodes:
        names = tuple(o.name for o in n.outputs)
        if n.op in CHEAP_SOURCES and names[0] in seen:
            continue
        seen.update(names)
        out.append(n)
    return out


def _fused_node(g: _Group, users, results):
    inside_nodes = list(g.sources) + list(g.nodes)
    defined = {o.name for m in inside_nodes for o in m.outputs}
    params, seen = [], set()
    for m in inside_nodes:
        for v in m.inputs:
            if v.name not in defined and v.name not in seen:
                seen.add(v.name)
                params.append(v)
    if not params:
        return None
    members = {id(m) for m in g.nodes}
    if g.kind == "red":
        outs = list(g.nodes[-1].outputs)
    else:
        outs = []
        for m in g.nodes:
            for o in m.outputs:
                if o.name in results or any(id(u) not in members
                                            for u in users.get(o.name, ())):
                    outs.append(o)
    if not outs:
        return "dead"
    body = Function(f"k_{g.nodes[0].outputs[0].name}", tuple(params),
                    tuple(inside_nodes), tuple(outs))
    loc = next((m.loc for m in g.nodes if m.loc), None)
    return Node("fused", tuple(params), Attrs({"body": body}), tuple(outs), loc)
