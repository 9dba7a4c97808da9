"""Local algebraic rewrites: a table of rules applied to a fixed point.

A rule is `(name, pattern, replacement)`. The name is the one-line math of
the rule ("x * 1 -> x"); it is also what error messages and `applied` lists
show. A pattern describes a value by the op that defines it and, recursively,
by that op's operands and attributes:

    P.mul(X, ONE)                        # mul of anything and a splat of 1
    P.transpose(P.transpose(X, perm=A), perm=B)

`X`, `Y` bind operand Values (a name used twice must bind the same Value);
`A`, `B` bind attribute values; `ZERO`/`ONE` match a `constant` whose every
element is 0/1, or a `zeros`/`ones` node. A replacement is a function of the
`Match`; it returns the Value that takes the root's place (an existing one,
or one it builds with `m.builder`, which tags new nodes with the root's
loc), or
None when the rule does not apply after all. It must build nothing when it
returns None.

Invariants: a replacement has exactly the root's type (otherwise the rule
is a bug: InternalCompilerError). Broadcasting is the trap here: in
`x + 0` the zero may broadcast x to a bigger shape, and then the result is
`broadcast_to(x)`, not x. Signed zeros are treated as equal (x + 0.0 gives
+0.0 for x = -0.0; the rewrite gives -0.0), as LLVM's `nsz` flag does.

`apply_rewrites` sweeps the nodes in order, applies at most one rule per
node per sweep, and repeats until a sweep changes nothing; more than
`max_sweeps` sweeps means two rules undo each other, an
InternalCompilerError naming the rules. Replaced nodes stay in place when
something else still reads them; eliminate_dead_code removes the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..ir import Builder, Function, InternalCompilerError, Node, Value, get_op
from ..ir.dtypes import bool_, float32, float64, int32, int64
from ..ir.types import broadcast_shapes, is_symbol

# --- patterns ----------------------------------------------------------------


class Match:
    """The bindings of one successful match, and a builder for replacements.

    `m.x` is the Value bound to X, `m.a` the attribute bound to A; `m.root`
    is the value being rewritten, `m.node` the node that defines it,
    `m.params` the function's parameters and `m.builder` appends
    replacement nodes (tagged with the node's loc).
    """

    def __init__(self, producers: dict, builder: Builder, node: Node):
        self._producers = producers
        self.builder = builder
        self.node = node
        self.root: Value = node.outputs[0]
        self.bound: dict = {}

    @property
    def params(self) -> tuple:
        return tuple(self.builder.params)

    def __getattr__(self, name: str):
        try:
            return self.__dict__["bound"][name]
        except KeyError:
            raise AttributeError(name) from None

    def producer(self, v: Value) -> Node | None:
        return self._producers.get(v.name)

    def bind(self, name: str, value) -> bool:
        if name in self.bound:
            old = self.bound[name]
            return old is value or (type(old) is type(value) and old == value)
        self.bound[name] = value
        return True


class Pattern:
    def match(self, v: Value, m: Match) -> bool:
        raise NotImplementedError


class Var(Pattern):
    """Any value; binds it to `name`."""

    def __init__(self, name: str):
        self.name = name

    def match(self, v: Value, m: Match) -> bool:
        return m.bind(self.name, v)

    def __repr__(self) -> str:
        return self.name.upper()


class AttrVar:
    """Any attribute value; binds it to `name`."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name.upper()


_FILLS = {0: "zeros", 1: "ones"}  # fill ops that make a splat of the value


class Splat(Pattern):
    """A compile-time tensor whose every element equals `value`."""

    def __init__(self, value: float):
        self.value = value

    def match(self, v: Value, m: Match) -> bool:
        node = m.producer(v)
        if node is None:
            return False
        if node.op == "constant":
            a = node.attrs["value"].array
            return a.size > 0 and bool(np.all(a == self.value))
        return node.op == _FILLS.get(self.value)

    def __repr__(self) -> str:
        return f"splat({self.value})"


class OpPattern(Pattern):
    """A value defined by op `op` whose operands match `args` and whose
    attributes match `attrs` (literals compare equal, AttrVars bind)."""

    def __init__(self, op: str, args: Sequence[Pattern], attrs: dict):
        get_op(op)  # reject unknown ops when the table is built
        self.op = op
        self.args = tuple(args)
        self.attrs = attrs

    def match_node(self, node: Node, m: Match) -> bool:
        if node.op != self.op or len(node.outputs) != 1:
            return False
        if self.args and len(self.args) != len(node.inputs):
            return False
        for key, want in self.attrs.items():
            got = node.attrs[key]
            if isinstance(want, AttrVar):
                if not m.bind(want.name, got):
                    return False
            elif not (type(got) is type(want) and got == want):
                return False
        return all(p.match(v, m) for p, v in zip(self.args, node.inputs))

    def match(self, v: Value, m: Match) -> bool:
        node = m.producer(v)
        return node is not None and self.match_node(node, m)

    def __repr__(self) -> str:
        args = [repr(a) for a in self.args]
        args += [f"{k}={v!r}" for k, v in self.attrs.items()]
        return f"{self.op}({', '.join(args)})"


class _PatternFactory:
    """`P.add(X, ZERO)` is `OpPattern("add", (X, ZERO), {})`."""

    def __getattr__(self, op: str) -> Callable[..., OpPattern]:
        if op.startswith("_"):
            raise AttributeError(op)

        def make(*args, **attrs) -> OpPattern:
            return OpPattern(op, args, attrs)

        return make


P = _PatternFactory()
X, Y, Z = Var("x"), Var("y"), Var("z")
A, B = AttrVar("a"), AttrVar("b")
ZERO, ONE = Splat(0), Splat(1)

# --- replacement helpers -----------------------------------------------------


def _as_root(m: Match, v: Value) -> Value | None:
    """v in the root's place: v itself if the types agree, broadcast_to when
    the root only broadcasts v to a bigger shape, else None."""
    t = m.root.type
    if v.type == t:
        return v
    if v.dtype != t.dtype:
        return None
    try:
        if broadcast_shapes(v.shape, t.shape) != t.shape:
            return None
    except ValueError:
        return None
    return m.builder.broadcast_to(v, shape=t.shape)


def keep(var: Var) -> Callable[[Match], Value | None]:
    """Replacement: the value bound to `var` (broadcast if need be)."""

    def replace(m: Match) -> Value | None:
        return _as_root(m, m.bound[var.name])

    replace.__name__ = f"keep_{var.name}"
    return replace


def _if_same_type(m: Match) -> Value | None:
    return m.x if m.x.type == m.root.type else None


def _compose_transposes(m: Match) -> Value:
    # y[i] = x[a[i]], z[i] = y[b[i]] = x[a[b[i]]]
    perm = tuple(m.a[i] for i in m.b)
    if perm == tuple(range(len(perm))):
        return m.x
    return m.builder.transpose(m.x, perm=perm)


def _identity_transpose(m: Match) -> Value | None:
    return m.x if m.a == tuple(range(len(m.a))) else None


def _index_perm(perm, rank: int):
    """The part of `perm` that moves the first `rank` axes among
    themselves (the index axes of a gather or scatter along axis 0), or
    None when it moves any other axis."""
    if tuple(perm[rank:]) != tuple(range(rank, len(perm))):
        return None
    return tuple(perm[:rank])


def _gather_transposed_indices(m: Match) -> Value | None:
    # out[J, :] = x[y[J], :], so transpose(out, p) over the index axes
    # J is the gather of transpose(y, p): an embedding read time-major
    # (an RNN's input) gathers the transposed tokens, not every vector
    p = _index_perm(m.a, m.y.type.rank)
    if p is None:
        return None
    return m.builder.gather(m.x, m.builder.transpose(m.y, perm=p), axis=0)


def _scatter_transposed_updates(m: Match) -> Value | None:
    # dst[y[J]] += transpose(x, p)[J] = x[J'] (J'[p[k]] = J[k]): over J'
    # that is dst[y2[J']] += x[J'] with y2 = transpose(y, p^-1)
    p = _index_perm(m.a, m.y.type.rank)
    if p is None:
        return None
    inv = tuple(int(i) for i in np.argsort(p))
    return m.builder.scatter_add(m.z, m.builder.transpose(m.y, perm=inv),
                                 m.x, axis=0)


def _outer_reshape(m: Match) -> Value:
    if m.x.shape == m.root.shape:
        return m.x
    return m.builder.reshape(m.x, shape=m.root.shape)


def _outer_broadcast(m: Match) -> Value:
    return m.builder.broadcast_to(m.x, shape=m.root.shape)


# Casts that represent every value of the source exactly: a cast after one
# of them gives what a direct cast gives.
_EXACT_WIDENING = {
    bool_: {int32, int64, float32, float64},
    int32: {int64, float64},
    float32: {float64},
}


def _fuse_casts(m: Match) -> Value | None:
    if m.a not in _EXACT_WIDENING.get(m.x.dtype, ()):
        return None
    if m.b == m.x.dtype:
        return m.x
    return m.builder.cast(m.x, dtype=m.b)


def _full_slice(m: Match) -> Value | None:
    node = m.node
    for d, s, e, st in zip(m.x.shape, node.attrs["starts"], node.attrs["stops"],
                           node.attrs["steps"]):
        whole = st == 1 and s == 0 and (e is None or (not is_symbol(d) and e >= d))
        if not whole:
            return None
    return m.x


def _no_pad(m: Match) -> Value | None:
    return m.x if all(p == (0, 0) for p in m.a) else None


def _single_concat(m: Match) -> Value | None:
    return m.node.inputs[0] if len(m.node.inputs) == 1 else None


def _unit_reduce(m: Match) -> Value | None:
    # reducing over axes of size 1 (or none) only drops those axes
    if any(m.x.shape[i] != 1 for i in m.node.attrs["axes"]):
        return None
    if m.x.shape == m.root.shape:
        return m.x
    return m.builder.reshape(m.x, shape=m.root.shape)


def _dim_of_param(m: Match) -> Value | None:
    # A symbolic size is read from the first parameter that has it, so that
    # equal sizes CSE into one node and intermediates are not kept alive
    # (to be materialized) only to have their shape read.
    d = m.x.shape[m.node.attrs["axis"]]
    if not is_symbol(d):
        return None
    for p in m.params:
        if d in p.shape:
            axis = p.shape.index(d)
            if p == m.x and axis == m.node.attrs["axis"]:
                return None
            return m.builder.dim_size(p, axis=axis, dtype=m.node.attrs["dtype"])
    return None


def _neg(m: Match) -> Value:
    return m.builder.neg(m.y)


def _build(opname: str) -> Callable[[Match], Value]:
    def replace(m: Match) -> Value:
        return m.builder.op(opname, m.x, m.y)

    replace.__name__ = f"build_{opname}"
    return replace


# --- the rule table -----------------------------------------------------------

RULES: list[tuple[str, Pattern, Callable[[Match], Value | None]]] = [
    # arithmetic identities (exact in IEEE arithmetic, up to the sign of 0)
    ("x + 0 -> x", P.add(X, ZERO), keep(X)),
    ("0 + x -> x", P.add(ZERO, X), keep(X)),
    ("x - 0 -> x", P.sub(X, ZERO), keep(X)),
    ("0 - y -> -y", P.sub(ZERO, Y), lambda m: _as_root(m, _neg(m))),
    ("x * 1 -> x", P.mul(X, ONE), keep(X)),
    ("1 * x -> x", P.mul(ONE, X), keep(X)),
    ("x / 1 -> x", P.div(X, ONE), keep(X)),
    ("-(-x) -> x", P.neg(P.neg(X)), keep(X)),
    ("x + (-y) -> x - y", P.add(X, P.neg(Y)), _build("sub")),
    ("(-y) + x -> x - y", P.add(P.neg(Y), X), _build("sub")),
    ("x - (-y) -> x + y", P.sub(X, P.neg(Y)), _build("add")),
    # idempotent and absorbing unary ops
    ("|(|x|)| -> |x|", P.abs(P.abs(X)), lambda m: m.node.inputs[0]),
    ("|-x| -> |x|", P.abs(P.neg(X)), lambda m: m.builder.abs(m.x)),
    ("relu(relu(x)) -> relu(x)", P.relu(P.relu(X)), lambda m: m.node.inputs[0]),
    ("sg(sg(x)) -> sg(x)", P.stop_gradient(P.stop_gradient(X)),
     lambda m: m.node.inputs[0]),
    ("where(c, x, x) -> x", P.where(Y, X, X), keep(X)),
    # data movement
    ("transpose(x, id) -> x", P.transpose(X, perm=A), _identity_transpose),
    ("transpose(transpose(x, a), b) -> transpose(x, a[b])",
     P.transpose(P.transpose(X, perm=A), perm=B), _compose_transposes),
    ("reshape(x, shape(x)) -> x", P.reshape(X), _if_same_type),
    ("reshape(reshape(x)) -> reshape(x)", P.reshape(P.reshape(X)), _outer_reshape),
    ("broadcast_to(x, shape(x)) -> x", P.broadcast_to(X), _if_same_type),
    ("broadcast_to(broadcast_to(x)) -> broadcast_to(x)",
     P.broadcast_to(P.broadcast_to(X)), _outer_broadcast),
    ("x[::] -> x", P.slice(X), _full_slice),
    ("pad(x, 0) -> x", P.pad(X, pads=A), _no_pad),
    ("concat(x) -> x", P.concat(), _single_concat),
    ("transpose(gather(x, y), p) -> gather(x, transpose(y, p))",
     P.transpose(P.gather(X, Y, axis=0), perm=A), _gather_transposed_indices),
    ("scatter_add(z, y, transpose(x, p)) -> "
     "scatter_add(z, transpose(y, p^-1), x)",
     P.scatter_add(Z, Y, P.transpose(X, perm=A), axis=0),
     _scatter_transposed_updates),
    ("reduce(x, axes of size 1) -> reshape(x)", P.reduce_sum(X), _unit_reduce),
    ("mean(x, axes of size 1) -> reshape(x)", P.reduce_mean(X), _unit_reduce),
    ("max(x, axes of size 1) -> reshape(x)", P.reduce_max(X), _unit_reduce),
    ("min(x, axes of size 1) -> reshape(x)", P.reduce_min(X), _unit_reduce),
    ("dim_size(x, N) -> dim_size(param, N)", P.dim_size(X), _dim_of_param),
    # casts
    ("cast(x, dtype(x)) -> x", P.cast(X), _if_same_type),
    ("cast(cast(x, wider), d) -> cast(x, d)",
     P.cast(P.cast(X, dtype=A), dtype=B), _fuse_casts),
]

Rule = tuple  # (name, pattern, replacement)

# --- the engine ---------------------------------------------------------------

MAX_SWEEPS = 64


def _sweep(fn: Function, rules: Sequence[Rule]) -> tuple[Function, list[str]]:
    b = Builder.from_function(fn)
    b.nodes = []
    subst: dict[str, Value] = {}
    producers: dict[str, Node] = {}
    applied: list[str] = []

    def emit(node: Node) -> None:
        b.nodes.append(node)
        for o in node.outputs:
            producers[o.name] = node

    # the rules that may match a node of each op, in table order (an
    # OpPattern of another op cannot: what match_node would say first)
    by_op: dict[str, list] = {}
    for node in fn.nodes:
        if subst:
            node = node.replace(
                inputs=tuple(subst.get(v.name, v) for v in node.inputs)
            )
        new = None
        if len(node.outputs) == 1:
            candidates = by_op.get(node.op)
            if candidates is None:
                candidates = by_op[node.op] = [
                    r for r in rules
                    if not isinstance(r[1], OpPattern) or r[1].op == node.op]
            for name, pattern, replace in candidates:
                m = Match(producers, b, node)
                if not pattern.match_node(node, m):
                    continue
                before = len(b.nodes)
                with b.at(node.loc):
                    new = replace(m)
                built = b.nodes[before:]
                del b.nodes[before:]
                if new is None:
                    if built:
                        raise InternalCompilerError(
                            f'rewrite rule "{name}" built nodes, then declined'
                        )
                    continue
                if new.type != node.output.type:
                    raise InternalCompilerError(
                        f'rewrite rule "{name}" replaced %{node.output.name}: '
                        f"{node.output.type} by %{new.name}: {new.type}"
                    )
                for n in built:
                    emit(n)
                applied.append(name)
                break
        if new is None:
            emit(node)
        else:
            subst[node.output.name] = new
    if not applied:
        return fn, applied
    results = tuple(subst.get(r.name, r) for r in fn.results)
    return fn.replace(nodes=tuple(b.nodes), results=results), applied


def apply_rewrites(fn: Function, rules: Sequence[Rule] | None = None, *,
                   max_sweeps: int = MAX_SWEEPS,
                   applied: list | None = None) -> Function:
    """Apply `rules` (default: RULES) until none matches; append the name of
    every rule applied to `applied` when it is given.

    Requires: fn verifies.
    Ensures: params and result types unchanged; no rule matches any node.
    """
    rules = RULES if rules is None else rules
    history: list[list[str]] = []
    for _ in range(max_sweeps):
        fn, names = _sweep(fn, rules)
        if not names:
            return fn
        history.append(names)
        if applied is not None:
            applied.extend(names)
    recent = sorted({name for sweep in history[-4:] for name in sweep})
    raise InternalCompilerError(
        f"apply_rewrites: no fixed point after {max_sweeps} sweeps over "
        f"@{fn.name}; the rules still firing are: "
        + "; ".join(f'"{r}"' for r in recent)
    )
