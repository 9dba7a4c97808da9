"""Gradients for custom training steps: a tape and value_and_grad.

Keras 3 leaves gradients to the backend (`tf.GradientTape`,
`jax.value_and_grad`, `loss.backward()`). graphkeras offers both forms,
backend-agnostic, so the guides' code runs with only the gradient call
swapped:

    with graphkeras.GradientTape() as tape:          # TF's form
        loss = ...
    grads = tape.gradient(loss, model.trainable_weights)

    grad_fn = graphkeras.ops.value_and_grad(fn, has_aux=True)   # JAX's form
    (loss, aux), grads = grad_fn(trainable_values, ...)

Inside a traced step (fit / evaluate of a model whose `train_step` is
overridden) a gradient is IR: `gradient` closes the function built so far,
runs `passes.differentiate` on it with respect to the wanted values, and
goes on building from the result, so the step stays one program (and one
native call). A gradient taken inside a loss (a gradient penalty) is
differentiated again by the next gradient: second order through the same
VJPs. Outside a trace (eager code) `value_and_grad` traces `fn` into a
small program of its own and runs it with the reference interpreter.

Invariants: a gradient has the type of the value it is taken for; a value
the loss does not depend on gets zeros (as JAX; TF's tape gives None, which
`optimizer.apply` could not take either); the gradient of a Variable is
taken with respect to its latest value in the trace (after the updates
recorded before the `gradient` call), which is what the TF guide's second
tape of a GAN step reads.
"""

from __future__ import annotations

import numpy as np

from .. import ir
from ..passes import differentiate
from . import ops, tracing, tree
from .tensors import TracedTensor
from .variables import Variable

__all__ = ["GradientTape", "custom_gradient", "gradient", "grad", "jvp",
           "value_and_grad"]


def _trace_of(values):
    for v in tree.flatten(values):
        if isinstance(v, TracedTensor):
            return v.trace
    return tracing.current_trace()


def _as_value(x, trace):
    """The ir.Value of x in `trace` (a Variable is read)."""
    if isinstance(x, Variable):
        return trace.read(x).value
    if isinstance(x, TracedTensor):
        return x.value
    return trace.builder.constant(np.asarray(x, np.float32))


def gradient(loss, wrt):
    """d(loss) / d(w) for every w of `wrt` (a structure of traced tensors
    or Variables), inside an active trace; returns the same structure.

    Args:
        loss: a traced floating-point tensor (summed if not a scalar, as
            TF's tape and `loss.backward()` on a sum do).
        wrt: the tensors or Variables to differentiate with respect to.
    """
    trace = _trace_of([loss])
    if trace is None or not isinstance(loss, TracedTensor):
        raise ValueError(
            "gradient() needs a loss computed inside a traced step (a "
            "train_step run by fit) or inside a function given to "
            "graphkeras.ops.value_and_grad; this one was computed eagerly, "
            "so no tape recorded it. Received: "
            f"loss={loss!r}. For a training loop written from scratch, "
            "compute the loss in a function of the trainable values (with "
            "model.stateless_call) and take its gradients with "
            "graphkeras.ops.value_and_grad, which runs eagerly, or move the "
            "step into an overridden train_step; see docs/custom_training.md."
        )
    flat = tree.flatten(wrt)
    if loss.value.rank:
        loss = ops.sum(loss)
    if not loss.value.dtype.is_float:
        raise ValueError(
            f"gradient(): the loss must be floating-point, received dtype "
            f"{loss.dtype}."
        )
    values = [_as_value(w, trace) for w in flat]
    # NOTE: only floating-point values have gradients; integer ones get
    # zeros (JAX would refuse them, TF's tape returns None)
    wanted = [v for v in dict.fromkeys(values) if v.dtype.is_float]
    fn = trace.builder.build([loss.value])
    loc = trace.builder._loc
    fn = differentiate(fn, wanted, custom_vjps=trace.custom_vjps) if wanted \
        else fn
    builder = ir.Builder.from_function(fn)
    builder._loc = loc
    trace.builder = builder
    grads = dict(zip(wanted, fn.results[1:]))
    out = []
    for v in values:
        g = grads.get(v)
        if g is None:
            g = builder.zeros_like(v)
        out.append(trace.wrap(g))
    return tree.pack_like(wrt, out) if not isinstance(wrt, (
        TracedTensor, Variable)) else out[0]


class GradientTape:
    """Records a computation to differentiate, as TF's `tf.GradientTape`.

    graphkeras traces the whole step, so the tape needs no recording of its
    own: `gradient` differentiates the traced program. `watch`,
    `persistent` and `watch_accessed_variables` are accepted for
    compatibility.

    Example:

        def train_step(self, data):
            x, y = data
            with graphkeras.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=y_pred)
            grads = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply(grads, self.trainable_weights)
            ...
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent = persistent
        self.watch_accessed_variables = watch_accessed_variables
        self._used = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def watch(self, tensor) -> None:
        """Accepted for compatibility: every traced value can be
        differentiated."""

    def gradient(self, target, sources, output_gradients=None):
        """The gradient of `target` with respect to `sources` (a structure
        of tensors or Variables), in the structure of `sources`."""
        if self._used and not self.persistent:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute "
                "one set of gradients. Create the tape with "
                "persistent=True to call gradient() more than once."
            )
        self._used = True
        if output_gradients is not None:
            target = ops.sum(ops.multiply(target, output_gradients))
        return gradient(target, sources)


def value_and_grad(fn, argnums=0, has_aux=False):
    """A function that returns fn's value and its gradient with respect to
    the argument(s) `argnums`, as `jax.value_and_grad`.

    Args:
        fn: a function of tensors returning a scalar loss, or
            `(loss, aux)` when `has_aux` is True.
        argnums: the index (or tuple of indices) of the argument(s) to
            differentiate with respect to; each may be a structure.
        has_aux: whether fn returns `(loss, aux)`.

    Returns:
        A function of fn's arguments returning `(value, grads)`, where
        value is `loss` or `(loss, aux)`.

    Example:

        grad_fn = graphkeras.ops.value_and_grad(compute_loss, has_aux=True)
        (loss, (y_pred, nt_vars)), grads = grad_fn(t_vars, nt_vars, x, y)
    """
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)

    def wrapped(*args, **kwargs):
        trace = _trace_of((args, kwargs))
        if trace is None or trace.kind == "spec":
            return _eager_value_and_grad(fn, nums, has_aux, args, kwargs)
        return _traced_value_and_grad(trace, fn, nums, has_aux, args,
                                      kwargs)

    wrapped.__name__ = f"value_and_grad({getattr(fn, '__name__', 'fn')})"
    return wrapped


def grad(fn, argnums=0, has_aux=False):
    """The gradient of fn (as `jax.grad`): `value_and_grad` without the
    value; with has_aux, returns `(grads, aux)`."""
    vg = value_and_grad(fn, argnums, has_aux)

    def wrapped(*args, **kwargs):
        value, grads = vg(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapped


def _split(out, has_aux):
    if not has_aux:
        return out, None
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise ValueError(
            "value_and_grad(..., has_aux=True) expects the function to "
            f"return a pair (loss, aux). Received: {out!r}"
        )
    return out[0], out[1]


def _traced_value_and_grad(trace, fn, nums, has_aux, args, kwargs):
    args = list(args)
    detached = {}
    for i in nums:
        # NOTE: fn's argument is a fresh value (x + 0): the gradient then
        # flows only through fn's use of it, not through uses of the same
        # value elsewhere in the step (jax.value_and_grad's semantics);
        # simplify removes the addition afterwards.
        def fresh(x):
            if isinstance(x, (TracedTensor, Variable)) or isinstance(
                    x, (np.ndarray, float)):
                t = x if isinstance(x, TracedTensor) else trace.wrap(
                    _as_value(x, trace))
                if t.value.dtype.is_float:
                    return trace.wrap(trace.builder.add(
                        t.value, trace.builder.scalar_like(0.0, t.value)))
                return t
            return x

        detached[i] = tree.map_structure(fresh, args[i])
        args[i] = detached[i]
    out = fn(*args, **kwargs)
    loss, aux = _split(out, has_aux)
    loss = ops.convert_to_tensor(loss)
    if not isinstance(loss, TracedTensor):
        loss = trace.wrap(trace.builder.constant(np.asarray(loss,
                                                            np.float32)))
    wrt = [detached[i] for i in nums]
    grads = gradient(loss, wrt)
    grads = grads[0] if len(nums) == 1 else tuple(grads)
    return ((loss, aux) if has_aux else loss), grads


def _eager_value_and_grad(fn, nums, has_aux, args, kwargs):
    """Trace fn on its (array) arguments into a program of its own, then
    run it with the reference interpreter."""
    trace = tracing.Trace(kind="trace")
    flat_inputs = []
    names = iter(f"arg{i}" for i in range(10**6))

    def to_input(x):
        if isinstance(x, Variable):
            x = x.numpy()
        if isinstance(x, (np.ndarray, float, int, np.generic)) and not \
                isinstance(x, bool):
            a = np.asarray(x)
            if a.dtype == np.float64:
                a = a.astype(np.float32)
            t = trace.input(next(names), a.shape, a.dtype.name)
            flat_inputs.append((t, a))
            return t
        return x

    with trace:
        targs = tree.map_structure(to_input, list(args))
        tkwargs = tree.map_structure(to_input, dict(kwargs))
        value, grads = _traced_value_and_grad(trace, fn, nums, has_aux,
                                              targs, tkwargs)
    return _interpret_trace(trace, flat_inputs, (value, grads))


def _interpret_trace(trace, flat_inputs, out):
    """`out` (a structure holding traced tensors of `trace`) computed by
    the reference interpreter, the inputs fed from flat_inputs ((traced
    input, array) pairs) and the variables from their store."""
    from ..ir.interpret import interpret
    from .variables import STORE

    outs = tree.flatten(out)
    traced = [o for o in outs if isinstance(o, TracedTensor)]
    fn_ir = trace.builder.build([o.value for o in traced])
    feed = {}
    for t, a in flat_inputs:
        feed[t.value.name] = a
    for key in trace.variables:
        feed[key] = STORE[key]
    results = interpret(fn_ir, [feed[p.name] for p in fn_ir.params])
    by_id = {id(o): r for o, r in zip(traced, results)}
    flat = [by_id.get(id(o), o) for o in outs]
    return tree.pack_like(out, flat)


# --- custom gradients -----------------------------------------------------------


def custom_gradient(fun):
    """Decorator giving a function its own gradient, as Keras 3's
    `keras.ops.custom_gradient` (on JAX: `jax.custom_gradient`).

    `fun(*args)` returns `(output, grad_fn)`; `grad_fn(upstream)` returns
    the gradient of each positional argument (a tensor, or a tuple with
    one entry per argument; None for no gradient) given the gradient
    `upstream` of the output. Inside a traced step the output's gradient
    is grad_fn's, computed where the step's gradient is taken (grad_fn is
    traced once, its tensors from `fun` included); eagerly the decorated
    function returns the output.

    Example:

    ```python
    @ops.custom_gradient
    def log1pexp(x):
        e = ops.exp(x)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))

        return ops.log(1 + e), grad
    ```
    """
    import functools

    from .operation import keras_op

    @keras_op
    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        args, kwargs = tree.map_structure(
            lambda x: ops.convert_to_tensor(x) if isinstance(x, Variable)
            else x, (list(args), kwargs))
        trace = _trace_of((args, kwargs))
        out, grad_fn = _call_custom(fun, args, kwargs)
        if trace is None or not isinstance(out, TracedTensor) or (
                not out.value.dtype.is_float):
            return out
        if trace.kind == "scan":
            raise ValueError(
                f"ops.custom_gradient: {getattr(fun, '__name__', fun)} was "
                "called inside a recurrent step (a scan body), where a "
                "custom gradient is not supported. Call it outside the loop.")
        return _record_custom_vjp(trace, fun, args, out, grad_fn)

    return wrapper


def _call_custom(fun, args, kwargs):
    res = fun(*args, **kwargs)
    if not isinstance(res, (tuple, list)) or len(res) != 2 or not callable(
            res[1]):
        raise ValueError(
            f"A function decorated with ops.custom_gradient must return "
            f"(output, grad_fn). {getattr(fun, '__name__', fun)} returned "
            f"{res!r}.")
    out, grad_fn = res
    if isinstance(out, (tuple, list)):
        raise ValueError(
            "ops.custom_gradient supports one output tensor; "
            f"{getattr(fun, '__name__', fun)} returned {len(out)}.")
    return out, grad_fn


def _record_custom_vjp(trace, fun, args, out, grad_fn):
    """Trace grad_fn on a placeholder upstream, move the nodes it recorded
    into a Function of their own (the values they read from the step are
    its first parameters, the upstream its last), and register it for the
    output's stand-in (a stop_gradient of it) in trace.custom_vjps."""
    b = trace.builder
    start = len(b.nodes)
    name = next(f"upstream{k}" for k in range(len(b.nodes) + 10**6)
                if f"upstream{k}" not in b._used)
    upstream = b.param(name, out.value.type)
    targets = [a for a in tree.flatten(args)]
    grads = grad_fn(trace.wrap(upstream))
    grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
    if len(grads) != len(targets):
        raise ValueError(
            f"The grad_fn of {getattr(fun, '__name__', fun)} (ops."
            f"custom_gradient) returned {len(grads)} gradient(s) for "
            f"{len(targets)} positional argument(s).")
    results, wanted = [], []
    for k, (x, g) in enumerate(zip(targets, grads)):
        if g is None or not isinstance(x, TracedTensor) or (
                not x.value.dtype.is_float):
            continue
        g = ops.add(ops.zeros_like(x), ops.cast(g, x.dtype))
        if tuple(g.value.shape) != tuple(x.value.shape):
            raise ValueError(
                f"The grad_fn of {getattr(fun, '__name__', fun)} returned a "
                f"gradient of shape {ops.shape(g)} for argument {k} of shape "
                f"{ops.shape(x)}.")
        results.append(g.value)
        wanted.append(x.value)
    b = trace.builder
    nodes = b.nodes[start:]
    del b.nodes[start:]
    b.params.remove(upstream)
    made = {o.name for n in nodes for o in n.outputs} | {upstream.name}
    captured: dict = {}
    for v in [v for n in nodes for v in n.inputs] + results:
        if v.name not in made:
            captured.setdefault(v.name, v)
    body = ir.Function("custom_vjp", tuple(captured.values()) + (upstream,),
                       tuple(nodes), tuple(results))

    def vjp(builder, g):
        env = dict(zip((p.name for p in body.params),
                       list(captured.values()) + [g]))
        for n in body.nodes:
            new = builder.op(n.op, *[env[v.name] for v in n.inputs],
                             **dict(n.attrs))
            new = new if isinstance(new, tuple) else (new,)
            env.update(zip((o.name for o in n.outputs), new))
        return [env[r.name] for r in body.results]

    marked = ops.stop_gradient(out)
    trace.custom_vjps[marked.value.name] = (tuple(wanted), vjp)
    return marked


# --- forward mode ----------------------------------------------------------------


def jvp(fun, primals, tangents, has_aux=False):
    """The Jacobian-vector product of `fun` at `primals` along `tangents`,
    as Keras 3's `keras.ops.linalg.jvp` (jax.jvp): returns
    `(fun(*primals), J @ tangents)` (and `aux` last with has_aux).

    Computed in reverse mode twice (the transpose of the VJP, which is
    linear in its cotangent u: d/du <J^T u, t> = J t), eagerly with the
    reference interpreter or inside a traced step.

    Example:
        >>> jvp(lambda x: x * x, (np.array([3.0]),), (np.array([1.0]),))
        (array([9.]), array([6.]))
    """
    primals, tangents = list(primals), list(tangents)
    if len(primals) != len(tangents):
        raise ValueError(
            f"ops.linalg.jvp: {len(primals)} primals but {len(tangents)} "
            "tangents; give one tangent per primal.")
    trace = _trace_of((primals, tangents))
    if trace is not None and trace.kind != "spec":
        return _traced_jvp(trace, fun, primals, tangents, has_aux)
    trace = tracing.Trace(kind="trace")
    flat_inputs = []

    def to_input(x, k):
        a = np.asarray(x.numpy() if isinstance(x, Variable) else x)
        if a.dtype.kind == "f" and a.dtype != np.float64:
            a = a.astype(np.float32)
        t = trace.input(f"jvp{k}", a.shape, a.dtype.name)
        flat_inputs.append((t, a))
        return t

    with trace:
        tp = [to_input(x, k) for k, x in enumerate(primals)]
        tt = [to_input(x, k + len(tp)) for k, x in enumerate(tangents)]
        out = _traced_jvp(trace, fun, tp, tt, has_aux)
    return _interpret_trace(trace, flat_inputs, out)


def _traced_jvp(trace, fun, primals, tangents, has_aux):
    xs = [trace.wrap(trace.builder.add(
        _as_value(p, trace), trace.builder.scalar_like(0.0, _as_value(
            p, trace)))) for p in primals]
    res = fun(*xs)
    out, aux = _split(res, has_aux)
    flat = [ops.convert_to_tensor(o) for o in tree.flatten(out)]
    us = [ops.zeros_like(o) for o in flat]
    inner = ops.sum(ops.stack([ops.sum(ops.multiply(o, u))
                               for o, u in zip(flat, us)]))
    back = gradient(inner, xs)
    along = ops.sum(ops.stack([ops.sum(ops.multiply(g, ops.cast(
        t, g.dtype))) for g, t in zip(back, tangents)]))
    forward = gradient(along, us)
    result = (out, tree.pack_like(out, forward))
    return result + (aux,) if has_aux else result
