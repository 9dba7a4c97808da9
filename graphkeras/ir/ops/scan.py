"""The `scan` op: a loop that carries state through a body Function.

    %c.., %ys.. = scan %init.., %xs.., %consts.. {body=func @step(...),
                  num_carry=C, num_xs=X, length=T, reverse=false}

Operands: C initial carries, X sequences (each of shape (T, ...), scanned
along axis 0) and any number of constants (read whole at every step).
The body takes (carry..., x_t..., const...) and returns (carry'...,
y_t...): parameter i < C has carry i's type, parameter C + j has the type
of one slice xs[j][t], the constants keep their types; body result i < C
has carry i's type again. The results of the node are the final carries
and the stacked per-step outputs ys[j] of shape (T, ...), where ys[j][t] is
the y_j the body returned while reading xs[.][t]. With `reverse` the steps
run t = T-1, ..., 0 (ys keep the index of the slice they were computed
from, as JAX's `lax.scan(reverse=True)`).

Invariants:
- Its meaning is the body's, applied T times: the reference interprets the
  body step by step (`ir.interpret`); codegen (codegen/scan.py) runs it as
  one native loop whose body is the body's fused kernels.
- The VJP is another scan running the other way (reverse-mode through the
  loop): its body recomputes one forward step from the carries that
  entered it and applies the body ops' VJPs. The entering carries come
  from the forward's ys when the body also emits them (its carry
  parameters as outputs: frontend RNN layers do so in training; a carry
  after the step emitted as an output is shifted by one step), else from
  a second forward scan that emits them. Gradients of the constants are summed over the
  steps: a per-step `matmul(p, d, transpose_a=True)` of a step input p
  (a carry or a slice) is hoisted out of the loop into one
  `matmul_sum(p, d)` over the stacked steps (ir/ops/linalg.py: one GEMM
  contracting all T x batch rows, the LSTM's recurrent-kernel gradient),
  a per-step `reduce_sum(v, axes=(0,))` (a bias's gradient) into one sum
  of the stacked v over steps and rows; other contributions are
  accumulated in extra carries. (A loop without such carries maps batch
  rows to rows, which codegen/scan.py runs in blocks on the threads.)
"""

from __future__ import annotations

import numpy as np

from ..builder import Builder
from ..errors import IRTypeError
from ..function import Function, Node, Value
from ..registry import (
    NOT_DIFFERENTIABLE,
    Attr,
    OpDef,
    a_bool,
    a_int,
    get_op,
    node_flops,
    register_op,
)
from ..types import TensorType, format_shape, is_symbol


def _a_function(v):
    if not isinstance(v, Function):
        raise TypeError(f"expected a Function, got {type(v).__name__}")
    return v


def _a_count(v):
    v = a_int(v)
    if v < 0:
        raise ValueError(f"expected a count >= 0, got {v}")
    return v


def split_operands(operands, num_carry: int, num_xs: int) -> tuple:
    """(carries, xs, consts) of a scan's operand list."""
    return (tuple(operands[:num_carry]),
            tuple(operands[num_carry:num_carry + num_xs]),
            tuple(operands[num_carry + num_xs:]))


@register_op
class Scan(OpDef):
    """A loop carrying state over a body Function (module docstring)."""

    name, onnx, kind = "scan", "Scan", "structured"
    num_inputs = None
    num_outputs = -1  # the carries, then the stacked ys
    attrs = {  # noqa: RUF012 - as every OpDef
        "body": Attr(_a_function),
        "num_carry": Attr(_a_count),
        "num_xs": Attr(_a_count, 0),
        "length": Attr(_a_count),
        "reverse": Attr(a_bool, False),
    }
    needs_env = True

    def flops(self, node, env: dict) -> int:
        """The body's operations, `length` times."""
        body = node.attrs["body"]
        return node.attrs["length"] * sum(node_flops(n, env)
                                          for n in body.nodes)

    def infer(self, *types, body, num_carry, num_xs, length, reverse):
        n = len(types)
        if num_carry + num_xs > n:
            raise ValueError(
                f"num_carry={num_carry} and num_xs={num_xs} need at least "
                f"{num_carry + num_xs} operands, received {n}")
        if len(body.params) != n:
            raise ValueError(
                f"the body @{body.name} takes {len(body.params)} parameters, "
                f"the scan has {n} operands")
        if len(body.results) < num_carry:
            raise ValueError(
                f"the body @{body.name} returns {len(body.results)} results, "
                f"fewer than num_carry={num_carry}")
        for i, (t, p) in enumerate(zip(types, body.params)):
            want = t
            if num_carry <= i < num_carry + num_xs:
                if t.rank == 0 or t.shape[0] != length:
                    raise ValueError(
                        f"sequence operand {i} has shape {format_shape(t.shape)}"
                        f"; its axis 0 must be the length {length}")
                want = TensorType(t.shape[1:], t.dtype)
            if p.type != want:
                raise ValueError(
                    f"operand {i} ({t}) needs the body parameter %{p.name} "
                    f"to be {want}, it is {p.type}")
        for i in range(num_carry):
            if body.results[i].type != types[i]:
                raise ValueError(
                    f"body result {i} is {body.results[i].type}, but carry {i} "
                    f"is {types[i]}; a carry keeps its type")
        ys = tuple(TensorType((length,) + r.type.shape, r.type.dtype)
                   for r in body.results[num_carry:])
        return tuple(types[:num_carry]) + ys

    def reference(self, *arrays, body, num_carry, num_xs, length, reverse,
                  _env=None):
        from ..interpret import bind_symbols, interpret

        carry, xs, consts = split_operands(arrays, num_carry, num_xs)
        carry = list(carry)
        # bind the symbols of the body from the whole operands
        env = dict(_env or {})
        env = bind_symbols([p for i, p in enumerate(body.params)
                            if not num_carry <= i < num_carry + num_xs],
                           list(carry) + list(consts), env)
        for p, x in zip(body.params[num_carry:], xs):
            for d, size in zip(p.type.shape, x.shape[1:]):
                if is_symbol(d):
                    env.setdefault(d, size)
        ys = []
        for r in body.results[num_carry:]:
            shape = tuple(env.get(d, 0) if is_symbol(d) else d
                          for d in r.type.shape)
            ys.append(np.zeros((length,) + shape, r.type.dtype.np))
        steps = range(length - 1, -1, -1) if reverse else range(length)
        for t in steps:
            outs = interpret(body, carry + [x[t] for x in xs] + list(consts),
                             env=env)
            carry = outs[:num_carry]
            for y, o in zip(ys, outs[num_carry:]):
                y[t] = o
        return tuple(carry) + tuple(ys)

    def vjp(self, b, g, inputs, outputs, body, num_carry, num_xs, length,
            reverse):
        g = g if isinstance(g, tuple) else (g,)
        return scan_vjp(b, g, inputs, outputs, body, num_carry, num_xs, length,
                        reverse)


# --- the VJP ------------------------------------------------------------------


def _producer(b: Builder, v: Value):
    for n in reversed(b.nodes):
        if any(o.name == v.name for o in n.outputs):
            return n
    return None


def _is_zero(b: Builder, v: Value) -> bool:
    """Whether v was built as a `zeros` node (an unused output's cotangent)."""
    n = _producer(b, v)
    return n is not None and n.op == "zeros"


def _dead_code(fn: Function) -> Function:
    """fn without the nodes no result depends on."""
    live = {r.name for r in fn.results}
    keep = []
    for n in reversed(fn.nodes):
        if any(o.name in live for o in n.outputs):
            keep.append(n)
            live.update(v.name for v in n.inputs)
    return fn.replace(nodes=tuple(reversed(keep)))


def _merged(fn: Function) -> Function:
    """fn with nodes that repeat an earlier one (same op, operands and
    attrs) removed and their uses renamed: the VJP builds some cotangents
    twice (a step input's and a product's, both the gates' gradient), and
    the loop should write such a y once."""
    seen: dict = {}
    rename: dict = {}
    nodes = []
    for n in fn.nodes:
        ins = tuple(rename.get(v.name, v) for v in n.inputs)
        n = n.replace(inputs=ins) if ins != n.inputs else n
        key = (n.op, tuple(v.name for v in ins), n.attrs)
        try:
            hit = seen.get(key) if n.op not in ("random_uniform",
                                                "random_normal") else None
        except TypeError:  # an attr without a hash: keep the node
            hit = None
        if hit is not None and all(a.type == b.type for a, b in
                                   zip(hit.outputs, n.outputs)):
            for o, h in zip(n.outputs, hit.outputs):
                rename[o.name] = h
            continue
        try:
            seen[key] = n
        except TypeError:
            pass
        nodes.append(n)
    results = tuple(rename.get(r.name, r) for r in fn.results)
    return fn.replace(nodes=tuple(nodes), results=results)


def _used_names(fn: Function) -> set:
    used = {r.name for r in fn.results}
    for n in fn.nodes:
        used.update(v.name for v in n.inputs)
    return used


def _shift(b: Builder, init: Value, stack: Value, reverse: bool) -> Value:
    """The carries entering each step, from the carries after each step:
    (init, s[0], .., s[T-2]) forward, (s[1], .., s[T-1], init) reversed."""
    first = b.reshape(init, shape=(1,) + init.shape)
    length = stack.shape[0]
    if length == 1:
        return first
    rank = stack.rank
    starts = [0] * rank
    stops = [None] * rank
    if reverse:
        starts[0] = 1
    else:
        stops[0] = length - 1
    part = b.slice(stack, starts=tuple(starts), stops=tuple(stops),
                   steps=(1,) * rank)
    return b.concat(part, first, axis=0) if reverse else b.concat(first, part,
                                                                 axis=0)


def _entering_carries(b, inputs, outputs, body, nc, nx, length, reverse,
                      wanted: list) -> dict:
    """carry index -> stacked carries entering each step (length, ...)."""
    init = inputs[:nc]
    found, missing = {}, []
    for i in wanted:
        # a y that is the entering carry itself: its stack as it is
        p = body.params[i].name
        j = next((j for j in range(nc, len(body.results))
                  if body.results[j].name == p), None)
        if j is not None:
            found[i] = outputs[j]
            continue
        r = body.results[i].name
        j = next((j for j in range(nc, len(body.results))
                  if body.results[j].name == r), None)
        if j is not None:
            found[i] = _shift(b, init[i], outputs[j], reverse)
        else:
            missing.append(i)
    if missing:
        # a second forward scan that also returns the entering carries
        aug = body.replace(name=f"{body.name}_carries",
                           results=tuple(body.results) + tuple(
                               body.params[i] for i in missing))
        outs = b.scan(*inputs, body=aug, num_carry=nc, num_xs=nx,
                      length=length, reverse=reverse)
        outs = outs if isinstance(outs, tuple) else (outs,)
        for k, i in enumerate(missing):
            found[i] = outs[len(body.results) + k]
    return found


def _not_differentiable(n) -> ValueError:
    loc = f' (layer "{n.loc}")' if n.loc else ""
    return ValueError(
        f'Op "{n.op}"{loc} is not differentiable, but it lies between the '
        "output and a trainable variable inside a loop (scan). Wrap its "
        "output in ops.stop_gradient() if that is intended.")


def scan_vjp(b: Builder, g: tuple, inputs, outputs, body: Function, nc: int,
             nx: int, length: int, reverse: bool) -> tuple:
    """The cotangents of a scan's operands (see the module docstring)."""
    init, xs, ks = split_operands(inputs, nc, nx)
    nk = len(ks)
    ny = len(body.results) - nc
    g_carry, g_ys = g[:nc], g[nc:]
    float_c = [i for i in range(nc) if init[i].dtype.is_float]
    if length == 0:
        return tuple(
            [g_carry[i] if i in float_c else None for i in range(nc)]
            + [None] * (nx + nk))

    # 1. the backward body: recompute one step, then reverse mode through it
    bb = Builder(f"{body.name}_vjp")
    p_c = [bb.param(f"c{i}", body.params[i].type) for i in range(nc)]
    p_x = [bb.param(f"x{j}", body.params[nc + j].type) for j in range(nx)]
    p_k = [bb.param(f"k{m}", body.params[nc + nx + m].type) for m in range(nk)]
    p_dc = {i: bb.param(f"dc{i}", init[i].type) for i in float_c}
    seeded = [j for j in range(ny) if body.results[nc + j].dtype.is_float
              and not _is_zero(b, g_ys[j])]
    p_dy = {j: bb.param(f"dy{j}", body.results[nc + j].type) for j in seeded}

    env = dict(zip((p.name for p in body.params), p_c + p_x + p_k))
    # residuals: a node all of whose outputs the forward also returned as
    # ys is not recomputed; the backward body reads them per step instead
    as_y = {}
    for j in range(ny):
        as_y.setdefault(body.results[nc + j].name, j)
    p_res = {}  # y index -> sequence param holding that y's slice
    fwd = []
    for n in body.nodes:
        ins = tuple(env[v.name] for v in n.inputs)
        if n.outputs and all(o.name in as_y for o in n.outputs):
            outs = []
            for o in n.outputs:
                j = as_y[o.name]
                if j not in p_res:
                    p_res[j] = bb.param(f"r{j}", o.type)
                outs.append(p_res[j])
            fwd.append(Node(n.op, ins, n.attrs, tuple(outs), n.loc))
        else:
            out = bb.op(n.op, *ins, loc=n.loc, **dict(n.attrs))
            out = out if isinstance(out, tuple) else (out,)
            fwd.append(bb.nodes[-1])
        for o, new in zip(n.outputs, fwd[-1].outputs):
            env[o.name] = new

    diff_params = [p for p in p_c + p_x + p_k if p.dtype.is_float]
    deps = {p.name for p in diff_params}
    for n in fwd:
        idx = get_op(n.op).diff_inputs
        ins = n.inputs if idx is None else [n.inputs[i] for i in idx]
        if any(v.name in deps for v in ins):
            deps.update(o.name for o in n.outputs if o.dtype.is_float)

    cts: dict = {}

    def accumulate(v: Value, gv: Value) -> None:
        cts[v.name] = bb.add(cts[v.name], gv) if v.name in cts else gv

    const_parts: dict = {m: [] for m in range(nk)}
    k_index = {p.name: m for m, p in enumerate(p_k)}
    for i in float_c:
        r = env[body.results[i].name]
        if r.name in deps:
            accumulate(r, p_dc[i])
    for j in seeded:
        r = env[body.results[nc + j].name]
        if r.name in deps:
            accumulate(r, p_dy[j])
    for n in reversed(fwd):
        if not any(o.name in cts for o in n.outputs):
            continue
        op = get_op(n.op)
        idx = op.diff_inputs
        ins = n.inputs if idx is None else [n.inputs[i] for i in idx]
        if not any(v.name in deps for v in ins):
            continue
        if op.vjp is NOT_DIFFERENTIABLE:
            if any(o.dtype.is_float for o in n.outputs):
                raise _not_differentiable(n)
            continue
        with bb.at(n.loc):
            if len(n.outputs) == 1:
                gn = cts[n.outputs[0].name]
            else:
                gn = tuple(cts[o.name] if o.name in cts else bb.zeros_like(o)
                           for o in n.outputs)
            grads = op.vjp(bb, gn, n.inputs, n.outputs, **dict(n.attrs))
        for v, gv in zip(n.inputs, grads):
            if gv is None or v.name not in deps:
                continue
            if gv.type != v.type:
                raise IRTypeError(
                    f'the VJP of "{n.op}" gave {gv.type} for an operand of '
                    f"type {v.type}")
            if v.name in k_index:
                const_parts[k_index[v.name]].append(gv)
            else:
                accumulate(v, gv)

    # 2. the constants' gradients: hoisted GEMMs and accumulating carries
    step_inputs = {p.name: ("c", i) for i, p in enumerate(p_c)}
    step_inputs.update({p.name: ("x", j) for j, p in enumerate(p_x)})
    hoisted = []  # (const m, ("c"|"x", index), d Value)
    summed = []  # (const m, per-step Value summed over its axis 0)
    acc = {}  # const m -> (carry param, summed contribution)
    prods = {o.name: n for n in bb.nodes for o in n.outputs}
    for m in range(nk):
        rest = []
        for part in const_parts[m]:
            n = prods.get(part.name)
            if (n is not None and n.op == "matmul"
                    and n.attrs["transpose_a"] and not n.attrs["transpose_b"]
                    and n.inputs[0].name in step_inputs
                    and n.inputs[0].rank == 2 and n.inputs[1].rank == 2
                    and n.attrs.get("precision", "float32") == "float32"):
                # sum_t p_t^T d_t over the stacked (T, rows, .) sequences:
                # one matmul_sum (a GEMM contracting all T*rows rows, also
                # with a symbolic batch)
                hoisted.append((m, step_inputs[n.inputs[0].name], n.inputs[1]))
            elif (n is not None and n.op == "reduce_sum"
                  and tuple(n.attrs["axes"] or ()) == (0,)
                  and not n.attrs["keepdims"]):
                # sum over the rows of a step value (a bias's gradient):
                # the value leaves the loop as a y, summed over steps and
                # rows at once (the loop keeps no carry across its rows)
                summed.append((m, n.inputs[0]))
            else:
                rest.append(part)
        if rest:
            total = rest[0]
            for part in rest[1:]:
                total = bb.add(total, part)
            p_acc = bb.param(f"acc{m}", p_k[m].type)
            acc[m] = (p_acc, bb.add(p_acc, total))

    def ct_of(p: Value) -> Value:
        return cts[p.name] if p.name in cts else bb.zeros_like(p)

    float_x = [j for j in range(nx) if xs[j].dtype.is_float
               and p_x[j].name in cts]
    carry_params = [p_dc[i] for i in float_c] + [acc[m][0] for m in acc]
    carry_results = [ct_of(p_c[i]) for i in float_c] + [acc[m][1] for m in acc]
    y_results = ([cts[p_x[j].name] for j in float_x]
                 + [d for _, _, d in hoisted] + [v for _, v in summed])
    seq_params = ([p_c[i] for i in range(nc)] + [p_x[j] for j in range(nx)]
                  + [p_dy[j] for j in seeded] + list(p_res.values()))
    bwd = _merged(Function(bb.name, (), tuple(bb.nodes),
                           tuple(carry_results + y_results)))
    # each distinct y once: y_at[k] is the scan output of y_results[k]
    ys_bwd, y_at = [], []
    for r in bwd.results[len(carry_results):]:
        names = [v.name for v in ys_bwd]
        if r.name not in names:
            ys_bwd.append(r)
        y_at.append(len(carry_results) + [v.name for v in ys_bwd].index(
            r.name))
    bwd = _dead_code(bwd.replace(
        results=bwd.results[:len(carry_results)] + tuple(ys_bwd)))
    used = _used_names(bwd)
    seq_params = [p for p in seq_params if p.name in used]
    const_params = [p for p in p_k if p.name in used]
    bwd = bwd.replace(params=tuple(carry_params + seq_params + const_params))

    # 3. the outer operands of the backward scan
    used_c = [i for i in range(nc) if p_c[i].name in used]
    used_c += [i for (_, (kind, i), _) in hoisted if kind == "c"
               and i not in used_c]
    stacks = _entering_carries(b, inputs, outputs, body, nc, nx, length,
                               reverse, sorted(set(used_c)))
    seq_outer = {p_c[i].name: stacks[i] for i in range(nc) if i in stacks}
    seq_outer.update({p_x[j].name: xs[j] for j in range(nx)})
    seq_outer.update({p_dy[j].name: g_ys[j] for j in seeded})
    seq_outer.update({p.name: outputs[nc + j] for j, p in p_res.items()})
    const_outer = {p.name: k for p, k in zip(p_k, ks)}
    operands = ([g_carry[i] for i in float_c]
                + [b.zeros_like(ks[m]) for m in acc]
                + [seq_outer[p.name] for p in seq_params]
                + [const_outer[p.name] for p in const_params])
    n_carry = len(carry_params)
    outs = b.scan(*operands, body=bwd, num_carry=n_carry,
                  num_xs=len(seq_params), length=length, reverse=not reverse)
    outs = outs if isinstance(outs, tuple) else (outs,)

    grads: list = [None] * (nc + nx + nk)
    for k, i in enumerate(float_c):
        grads[i] = outs[k]
    for k, m in enumerate(acc):
        grads[nc + nx + m] = outs[len(float_c) + k]
    for k, j in enumerate(float_x):
        grads[nc + j] = outs[y_at[k]]
    for k, (m, (kind, i), _) in enumerate(hoisted):
        d = outs[y_at[len(float_x) + k]]
        p = stacks[i] if kind == "c" else xs[i]
        part = b.matmul_sum(p, d)
        m_i = nc + nx + m
        grads[m_i] = part if grads[m_i] is None else b.add(grads[m_i], part)
    first = len(float_x) + len(hoisted)
    for k, (m, _) in enumerate(summed):
        part = b.reduce_sum(outs[y_at[first + k]], axes=(0, 1))
        m_i = nc + nx + m
        grads[m_i] = part if grads[m_i] is None else b.add(grads[m_i], part)
    return tuple(grads)

