"""Layout assignment for convolutions: which layout each conv's activations
and filter take in the compiled program.

    assign_layouts(fn) -> fn'

The conv kernels (codegen/conv.py) work on channels-last activations and
Keras's filter layout (*kernel, in, out), which is also the layout their
packed filter panels are read in; the GEMM (codegen/matmul.py) works on
row-major matrices. This pass makes two choices, both measured on the
machines this project targets (figures below), and a third about sums:

1. Channels-first models. The frontend expresses a channels_first layer as
   transposes around a channels-last op; between two layers sit the bias
   add, the activation, a BatchNormalization... so the transposes of
   adjacent layers do not meet. The pass sinks each transpose below the
   elementwise ops that consume it (transposing their broadcast operands
   instead: a reshape for a bias (1, C, 1, 1), folded at compile time for
   constants), and into reductions (global pooling: the reduced axes are
   renamed instead), until it meets the next layer's inverse transpose and
   simplify cancels the pair. A channels_first CNN then runs channels-last
   inside, with transposes only at its edges.

2. 1x1 convolutions (stride 1, no padding, one group, e.g. the pointwise
   half of a SeparableConv2D) become matrix products of the
   (N * H * W, C) view of the activations, where the project's GEMM is
   faster: measured on a 2-core AMD EPYC (AVX2), default threads,
   float32, with `python bench/bench_cnn.py --conv1x1`:

       N x HxW x Cin -> Cout    direct conv    GEMM
       32 x 14x14 x 64 -> 64     35 GFLOP/s    52 GFLOP/s
       32 x 14x14 x 128 -> 256   27 GFLOP/s    47 GFLOP/s
       8 x 56x56 x 64 -> 128     18 GFLOP/s    34 GFLOP/s
       32 x 28x28 x 32 -> 64     55 GFLOP/s    51 GFLOP/s
       128 x 5x5 x 64 -> 10      21 GFLOP/s     6 GFLOP/s

   so the product is used when both channel counts are at least
   GEMM_MIN_CHANNELS. Its gradients follow (the VJPs of matmul are
   matmuls), since the pass runs on whole train steps before fusion.

   A strided 1x1 convolution (ResNet's downsampling shortcut) is the
   same product of the strided slice of its input: 32 x 14x14 x 1024 ->
   2048, stride 2, ran at 40 GFLOP/s direct.

   Convolutions with a large filter and few output pixels per image
   (ResNet's last stage at 96x96 inputs: 3x3 x 512 -> 512 on 3x3 maps)
   run as products of patches ("im2col"): the k taps' strided slices of
   the padded input, concatenated along the channels, (N * pixels, k *
   Cin), times the filter as a (k * Cin, Cout) matrix. The direct kernel
   works image by image and streams the whole filter (9.4 MB there) for
   each image's pixel tiles, at 11 GFLOP/s on one core (one AMD EPYC
   core, AVX2); the GEMM reads it once per block of all the images'
   rows. The input gradient is the product by the filter's transpose,
   scattered back tap by tap (the adjoints of the slices); the filter
   gradient one matmul_sum. Used when the output has at most
   PATCH_MAX_PIXELS pixels per image and the filter at least
   PATCH_MIN_FILTER_BYTES, or at most PATCH_WIDE_PIXELS and a filter of
   at least PATCH_WIDE_FILTER_BYTES (the patch matrix stays near k times
   the input). One core, GFLOP/s of the conv's own FLOPs (Winograd's are
   fewer), `python bench/bench_cnn.py --patches`:

       N x HxW x Cin -> Cout, 3x3   direct/Winograd   patches
       32 x 3x3 x 512 -> 512              11              80
       32 x 4x4 x 512 -> 512              22              83
       32 x 7x7 x 512 -> 512              65              82
        1 x 7x7 x 512 -> 512              37              58
       32 x 8x8 x 256 -> 256             131              73  (left)

3. Per-channel sums of a batch of images (a conv's bias gradient,
   reduce_sum over every axis but the channels) run in two stages: the
   sum over each image's pixels (N, C), then over the images. The single
   sum can only be split between threads by channels, and each thread
   then reads every cache line of the batch: W2's conv1 bias gradient
   (128 x 26x26 x 32) took 0.69 ms on one thread and 1.2 ms on two (each
   thread's cycles), more than its filter gradient. Split, the first stage
   runs on each thread's share of the images. Only for at most
   SPLIT_SUM_MAX_PIXELS pixels per image: the first stage adds them in
   float32 (the single sum adds in float64, see codegen/kernels.py).

Requires: fn verifies.
Ensures: fn' verifies and computes what fn computes; transposes only
moved below elementwise ops (never duplicated onto a value read
elsewhere); a rewritten 1x1 conv keeps its result's type.
"""

from __future__ import annotations

import numpy as np

import itertools

from ..ir import Builder, Function, Value, get_op
from ..ir.ops.shape import strided_slice_adjoint
from ..ir.types import TensorType, is_symbol
from .simplify import simplify

GEMM_MIN_CHANNELS = 48  # both Cin and Cout at least this: GEMM (see above)
PATCH_MAX_PIXELS = 16  # output pixels per image, at most: patches (2.) ...
PATCH_MIN_FILTER_BYTES = 1 << 20  # ... with a filter of at least these bytes
PATCH_WIDE_PIXELS = 64  # or at most these pixels ...
PATCH_WIDE_FILTER_BYTES = 4 << 20  # ... with a filter of at least these
SPLIT_SUM_MAX_PIXELS = 1024  # per image, for a two-stage channel sum (3.)
MAX_ROUNDS = 64


def _inverse(perm) -> tuple:
    return tuple(int(i) for i in np.argsort(perm))


def _sink_once(fn: Function) -> Function | None:
    """Move one transpose below its single elementwise consumer (or into
    the reduction that consumes it); None when no transpose can move."""
    users = fn.users()
    prod = fn.producers()
    results = {r.name for r in fn.results}
    for n in fn.nodes:
        if n.op != "transpose":
            continue
        t = n.outputs[0]
        us = users.get(t.name, [])
        if t.name in results or len(us) != 1:
            continue
        e = us[0]
        perm = tuple(n.attrs["perm"])
        if e.op in REDUCTIONS:
            return _sink_into_reduce(fn, n, e)
        if get_op(e.op).kind != "elementwise" or len(e.outputs) != 1:
            continue
        if e.outputs[0].shape != t.shape:
            continue  # the op broadcasts t: moving T would move more data
        if not all(v == t or _cheap_to_permute(v, t, perm, prod)
                   for v in e.inputs):
            continue
        return _rewrite(fn, n, e, perm, _inverse(perm))
    return None


def _cheap_to_permute(v: Value, t: Value, perm, prod: dict) -> bool:
    """Whether operand v of t's consumer can take t's old layout at little
    cost: it is smaller than t (a broadcast operand, e.g. a bias), or it
    is the same transpose of another value (the two transposes cancel).
    NOTE: two full-size operands in different layouts would otherwise
    trade transposes back and forth forever."""
    if np.prod([1 if is_symbol(d) else d for d in v.shape]) < np.prod(
            [1 if is_symbol(d) else d for d in t.shape]) or (
            v.rank < t.rank):
        return True
    src = prod.get(v.name)
    return src is not None and src.op == "transpose" and tuple(
        src.attrs["perm"]) == tuple(perm)


def _rewrite(fn: Function, tnode, e, perm, inv) -> Function:
    """e(..., transpose(x, perm), ...) -> transpose(e(..., x, ...'), perm)
    where every other operand y of e is brought to x's layout: expanded
    to e's rank and transposed by the inverse permutation."""
    b = Builder.from_function(fn)
    b.nodes = []
    x = tnode.inputs[0]
    t = tnode.outputs[0]
    rank = t.rank
    new_out = None
    for n in fn.nodes:
        if n is not e:
            b.nodes.append(n)
            continue
        with b.at(e.loc):
            ins = []
            for v in e.inputs:
                if v == t:
                    ins.append(x)
                    continue
                y = v
                if y.rank < rank:
                    y = b.reshape(y, shape=(1,) * (rank - y.rank) + tuple(y.shape))
                y = _permuted(b, y, inv)
                ins.append(y)
            inner = b.op(e.op, *ins, **dict(e.attrs))
            new_out = b.transpose(inner, perm=perm)
    # the transpose's old output now has no user; e's old output is renamed
    old = e.outputs[0]
    subst = {old.name: new_out}
    nodes = []
    for n in b.nodes:
        nodes.append(n.replace(inputs=tuple(subst.get(v.name, v)
                                            for v in n.inputs)))
    results = tuple(subst.get(r.name, r) for r in fn.results)
    return fn.replace(nodes=tuple(nodes), results=results)


def _permuted(b: Builder, y: Value, perm) -> Value:
    """transpose(y, perm), as a reshape when the dims other than 1 keep
    their order (a bias (1, C, 1, 1) becomes (1, 1, 1, C) that way)."""
    shape = tuple(y.shape[p] for p in perm)
    moved = [p for p in perm if y.shape[p] != 1]
    if moved == sorted(moved):
        return b.reshape(y, shape=shape)
    return b.transpose(y, perm=perm)


REDUCTIONS = frozenset({"reduce_sum", "reduce_mean", "reduce_max", "reduce_min"})


def _sink_into_reduce(fn: Function, tnode, r) -> Function:
    """reduce(transpose(x, perm), axes) -> reduce(x, perm[axes]), followed
    by the transpose of the kept axes when their order changed."""
    perm = tuple(tnode.attrs["perm"])
    axes = tuple(r.attrs["axes"])
    keep = r.attrs["keepdims"]
    b = Builder.from_function(fn)
    b.nodes = []
    new_out = None
    for n in fn.nodes:
        if n is not r:
            b.nodes.append(n)
            continue
        with b.at(r.loc):
            y = b.op(r.op, tnode.inputs[0], axes=tuple(sorted(perm[a] for a in axes)),
                     keepdims=keep)
            if keep:
                new_out = _permuted(b, y, perm)
            else:
                kept = [perm[i] for i in range(len(perm)) if i not in axes]
                order = sorted(kept)
                new_out = _permuted(b, y, tuple(order.index(k) for k in kept))
    old = r.outputs[0]
    nodes = [n.replace(inputs=tuple(new_out if v.name == old.name else v
                                    for v in n.inputs)) for n in b.nodes]
    results = tuple(new_out if v.name == old.name else v for v in fn.results)
    return fn.replace(nodes=tuple(nodes), results=results)


def sink_transposes(fn: Function) -> Function:
    """Sink transposes through elementwise consumers, then let simplify
    cancel the pairs that meet (see the module docstring, 1.)."""
    changed = False
    for _ in range(MAX_ROUNDS * max(len(fn.nodes), 1)):
        out = _sink_once(fn)
        if out is None:
            break
        fn, changed = out, True
    return simplify(fn) if changed else fn


def _one_by_one(n) -> bool:
    if n.op not in ("conv", "conv_transpose", "conv_filter_grad"):
        return False
    a = n.attrs
    D = n.inputs[0].rank - 2
    kernel = (a["shape"] if n.op == "conv_filter_grad"
              else n.inputs[1].shape[:D])
    if any(k != 1 for k in kernel) or a["groups"] != 1:
        return False
    if any(p != (0, 0) for p in a["pads"]) or any(
            s != 1 for s in a["strides"]) and n.op != "conv":
        return False  # (a strided conv: the product of a strided slice)
    if n.op == "conv":
        cin, cout = n.inputs[0].shape[-1], n.inputs[1].shape[-1]
    elif n.op == "conv_transpose":
        cin, cout = n.outputs[0].shape[-1], n.inputs[0].shape[-1]
    else:
        cin, cout = n.inputs[0].shape[-1], n.inputs[1].shape[-1]
    return min(cin, cout) >= GEMM_MIN_CHANNELS


def _rows(b: Builder, v: Value) -> Value:
    """v (N, *spatial, C) as the matrix (N * prod(spatial), C); a symbolic
    batch stays a leading axis (batched product)."""
    lead = v.shape[0]
    rest = int(np.prod(v.shape[1:-1]))
    if is_symbol(lead):
        return b.reshape(v, shape=(lead, rest, v.shape[-1]))
    return b.reshape(v, shape=(lead * rest, v.shape[-1]))


def _rewrite_matching(fn: Function, match, emit) -> Function:
    """fn with every node n that match(n) replaces by emit(b, n) (the
    value standing for n's output, built at n's location); fn itself when
    none matches."""
    if not any(match(n) for n in fn.nodes):
        return fn
    b = Builder.from_function(fn)
    b.nodes = []
    subst: dict = {}
    for n in fn.nodes:
        n = n.replace(inputs=tuple(subst.get(v.name, v) for v in n.inputs))
        if not match(n):
            b.nodes.append(n)
            continue
        with b.at(n.loc):
            subst[n.outputs[0].name] = emit(b, n)
    results = tuple(subst.get(r.name, r) for r in fn.results)
    return b.build(results, name=fn.name)


def _product_of(b, n):
    """A 1x1 convolution (or gradient) n as a GEMM."""
    out = n.outputs[0]
    if n.op == "conv":
        x, w = n.inputs
        if any(s != 1 for s in n.attrs["strides"]):
            x = _tap(b, x, (0,) * (x.rank - 2), out.shape[1:-1],
                     n.attrs["strides"], n.attrs["dilation"])
        m = b.matmul(_rows(b, x), b.reshape(w, shape=w.shape[-2:]))
    elif n.op == "conv_transpose":
        g, w = n.inputs
        m = b.matmul(_rows(b, g), b.reshape(w, shape=w.shape[-2:]),
                     transpose_b=True)
    else:
        x, g = n.inputs
        m = b.matmul(_rows(b, x), _rows(b, g), transpose_a=True)
        if m.rank == 3:  # per sample (a symbolic batch): sum them
            m = b.reduce_sum(m, axes=(0,))
    return b.reshape(m, shape=out.shape)


def _tap_slice_args(tap, out_sp, strides, dilation) -> dict:
    """slice attrs of the positions o s + k d, o < O, of one tap."""
    return dict(
        starts=(0,) + tuple(k * d for k, d in zip(tap, dilation)) + (0,),
        stops=(None,) + tuple(k * d + (o - 1) * s + 1 for k, o, s, d in zip(
            tap, out_sp, strides, dilation)) + (None,),
        steps=(1,) + tuple(strides) + (1,))


def _tap(b: Builder, x: Value, tap, out_sp, strides, dilation) -> Value:
    """(N, *out_sp, C): x at the positions one filter tap reads."""
    return b.slice(x, **_tap_slice_args(tap, out_sp, strides, dilation))


def _pixels(n) -> int:
    """Output pixels per image of a conv-family node n."""
    g = {"conv": n.outputs[0], "conv_transpose": n.inputs[0],
         "conv_filter_grad": n.inputs[1]}[n.op]
    return int(np.prod(g.shape[1:-1]))


def _patch_product(n) -> bool:
    """Whether n is a convolution (or gradient) to run as a product of
    patches (module docstring, 2.)."""
    if n.op not in ("conv", "conv_transpose", "conv_filter_grad"):
        return False
    a = n.attrs
    D = n.inputs[0].rank - 2
    if a["groups"] != 1 or any(lo < 0 or hi < 0 for lo, hi in a["pads"]):
        return False
    if n.op == "conv_filter_grad":
        kernel, cin, cout = a["shape"], n.inputs[0].shape[-1], \
            n.inputs[1].shape[-1]
        itemsize = n.inputs[0].dtype.itemsize
    else:
        w = n.inputs[1]
        kernel, cin, cout = w.shape[:D], w.shape[-2], w.shape[-1]
        itemsize = w.dtype.itemsize
    if not n.inputs[0].dtype.is_float or any(
            is_symbol(d) for v in (*n.inputs, *n.outputs)
            for d in v.shape[1:]):
        return False
    taps = int(np.prod(kernel))
    pixels, nbytes = _pixels(n), taps * cin * cout * itemsize
    return taps > 1 and (
        pixels <= PATCH_MAX_PIXELS and nbytes >= PATCH_MIN_FILTER_BYTES
        or pixels <= PATCH_WIDE_PIXELS and nbytes >= PATCH_WIDE_FILTER_BYTES)


def _patches(b: Builder, x: Value, kernel, out_sp, strides, pads,
             dilation) -> Value:
    """(N, *out_sp, taps * C): the padded x at every tap, tap-major (the
    filter's (*kernel, C) order)."""
    if any(lo or hi for lo, hi in pads):
        x = b.pad(x, pads=((0, 0), *pads, (0, 0)))
    cols = [_tap(b, x, tap, out_sp, strides, dilation)
            for tap in itertools.product(*[range(k) for k in kernel])]
    return cols[0] if len(cols) == 1 else b.concat(*cols, axis=-1)


def _by_patches(b: Builder, n) -> Value:
    """A convolution (or gradient) n as a product of patches."""
    a, out = n.attrs, n.outputs[0]
    strides, pads, dilation = a["strides"], a["pads"], a["dilation"]
    if n.op == "conv":
        x, w = n.inputs
        kernel, out_sp = w.shape[:x.rank - 2], out.shape[1:-1]
        p = _patches(b, x, kernel, out_sp, strides, pads, dilation)
        m = b.matmul(_rows(b, p), b.reshape(
            w, shape=(int(np.prod(w.shape[:-1])), w.shape[-1])))
        return b.reshape(m, shape=out.shape)
    if n.op == "conv_filter_grad":
        x, g = n.inputs
        p = _patches(b, x, a["shape"], g.shape[1:-1], strides, pads, dilation)
        return b.reshape(b.matmul_sum(_rows(b, p), _rows(b, g)),
                         shape=out.shape)
    # conv_transpose: the patches' gradient, each tap's slice scattered
    # back into the padded input, then the pads cut off
    g, w = n.inputs
    D = g.rank - 2
    kernel, out_sp, cin = w.shape[:D], g.shape[1:-1], w.shape[-2]
    dp = b.matmul(_rows(b, g), b.reshape(
        w, shape=(int(np.prod(w.shape[:-1])), w.shape[-1])), transpose_b=True)
    dp = b.reshape(dp, shape=(g.shape[0], *out_sp, dp.shape[-1]))
    # (only its shape is read: the padded input's)
    padded = Value("padded", TensorType((g.shape[0],) + tuple(
        s + lo + hi for s, (lo, hi) in zip(a["shape"], pads)) + (cin,),
        g.dtype))
    total = None
    for t, tap in enumerate(itertools.product(*[range(k) for k in kernel])):
        piece = b.slice(dp, starts=(0,) * (D + 1) + (t * cin,),
                        stops=(None,) * (D + 1) + ((t + 1) * cin,),
                        steps=(1,) * (D + 2))
        sl = _tap_slice_args(tap, out_sp, strides, dilation)
        back = strided_slice_adjoint(b, piece, padded, sl["starts"],
                                     sl["stops"], sl["steps"])
        total = back if total is None else b.add(total, back)
    if any(lo or hi for lo, hi in pads):
        total = b.slice(total, starts=(0,) + tuple(lo for lo, _ in pads) + (0,),
                        stops=(None,) + tuple(lo + s for (lo, _), s in zip(
                            pads, a["shape"])) + (None,),
                        steps=(1,) * (D + 2))
    return total


def convs_to_products(fn: Function) -> Function:
    """1x1 convolutions (and their gradients), and convolutions with a
    large filter and few pixels, as GEMMs (module docstring, 2.)."""
    fn = _rewrite_matching(fn, _patch_product, _by_patches)
    return _rewrite_matching(fn, _one_by_one, _product_of)


def _channel_sum(n) -> bool:
    """Whether n sums a batch of images (N, *spatial, C) over all but C."""
    if n.op != "reduce_sum":
        return False
    x = n.inputs[0]
    R = x.rank
    if R < 4 or not is_symbol(x.shape[0]) or not x.dtype.is_float:
        return False
    if set(n.attrs["axes"]) != set(range(R - 1)):
        return False
    pixels = x.shape[1:-1]
    return not any(is_symbol(d) for d in pixels) and \
        1 < int(np.prod(pixels)) <= SPLIT_SUM_MAX_PIXELS


def _two_stage_sum(b, n):
    x, out = n.inputs[0], n.outputs[0]
    per_image = b.reduce_sum(x, axes=tuple(range(1, x.rank - 1)),
                             keepdims=False)
    y = b.reduce_sum(per_image, axes=(0,), keepdims=False)
    if y.shape != out.shape:  # keepdims
        y = b.reshape(y, shape=out.shape)
    return y


def split_channel_sums(fn: Function) -> Function:
    """reduce_sum(x, all but C) -> reduce_sum(reduce_sum(x, pixels), N)
    (module docstring, 3.)."""
    return _rewrite_matching(fn, _channel_sum, _two_stage_sum)


def assign_layouts(fn: Function) -> Function:
    """The three choices of the module docstring."""
    return split_channel_sums(convs_to_products(sink_transposes(fn)))
