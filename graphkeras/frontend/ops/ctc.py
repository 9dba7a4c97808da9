"""Keras's CTC ops (ops.nn.ctc_loss, ops.nn.ctc_decode).

`ctc_loss` is the forward (alpha) recursion of Graves et al. (2006) in log
space, one `scan` node over the time steps (ir/ops/scan.py, through the
recurrent layers' scan helper): the loop runs natively, it is not
unrolled, and its gradient is the scan's VJP, so the loss trains in a
compiled step. The recursion keeps Keras 3's formulation (the one of its
JAX backend and optax): two carries per sequence, the log-probability of
having emitted the first n labels and sitting in a blank ("phi", L + 1
entries) or on label n ("emit", L entries), with impossible transitions
weighted by log(epsilon) = -1e5 instead of -inf, so an impossible alignment
gives a large finite loss as in Keras, never NaN.

`ctc_decode`: the greedy strategy is made of ops (it traces and compiles);
beam search is computed eagerly with NumPy, as its paths are data
dependent (in a traced step it raises an error saying so).

This module sits above the ops core (it uses the layers' scan helper), so
graphkeras.ops imports it itself, as it does the control flow.
"""

from __future__ import annotations

import numpy as np

from ..layers.rnn import scan as _scan
from ..tensors import KerasTensor, TracedTensor
from .core import cast, convert_to_tensor, dtype, keras_op, shape
from .nn import log_softmax
from .numpy import (
    add,
    arange,
    argmax,
    argsort,
    concatenate,
    equal,
    expand_dims,
    full_like,
    greater_equal,
    logaddexp,
    matmul,
    max,
    multiply,
    negative,
    one_hot,
    pad,
    subtract,
    sum,
    take_along_axis,
    transpose,
    where,
    zeros_like,
)

_LOG_EPSILON = -1e5


def _check_rank(x, rank: int, fn: str, arg: str, meaning: str):
    if len(shape(x)) != rank:
        raise ValueError(
            f"ops.{fn} expects `{arg}` of shape {meaning} (rank {rank}); "
            f"received {arg}.shape={tuple(shape(x))}.")


def _float_dtype(x) -> str:
    return dtype(x) if dtype(x) in ("float32", "float64") else "float32"


def _lengths(lengths, fn: str, arg: str):
    lengths = convert_to_tensor(lengths)
    if len(shape(lengths)) == 2 and shape(lengths)[-1] == 1:
        lengths = lengths[:, 0]  # (batch, 1), as Keras's ctc_batch_cost
    _check_rank(lengths, 1, fn, arg, "(batch_size,)")
    return cast(lengths, "int32")


def _add_to_tail(phi, score):
    """phi with logaddexp(phi[:, 1:], score) in place of phi[:, 1:]."""
    return concatenate([phi[:, :1], logaddexp(phi[:, 1:], score)], axis=-1)


@keras_op
def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """CTC (Connectionist Temporal Classification) loss.

    Args:
        target: A tensor of shape `(batch_size, max_length)` containing
            the true labels in integer format.
        output: A tensor of shape `(batch_size, max_length, num_classes)`
            containing logits (the output of your model).
        target_length: A tensor of shape `(batch_size,)` containing the
            true label lengths.
        output_length: A tensor of shape `(batch_size,)` containing the
            output lengths.
        mask_index: The index of the mask character in the vocabulary.
            Defaults to `0`.

    Returns:
        The per-sequence loss, shape `(batch_size,)`.

    Example:
        >>> logits = np.zeros((1, 3, 3), "float32")
        >>> float(ctc_loss(np.array([[1]]), logits, [1], [3])[0])  # doctest: +ELLIPSIS
        1.504...
    """
    target = cast(convert_to_tensor(target), "int32")
    output = convert_to_tensor(output)
    _check_rank(target, 2, "ctc_loss", "target", "(batch_size, max_length)")
    _check_rank(output, 3, "ctc_loss", "output",
                "(batch_size, max_length, num_classes)")
    output = cast(output, _float_dtype(output))
    dt = dtype(output)
    target_length = _lengths(target_length, "ctc_loss", "target_length")
    output_length = _lengths(output_length, "ctc_loss", "output_length")
    _, time, classes = shape(output)
    labels = shape(target)[1]
    if time is None or labels is None or classes is None:
        raise ValueError(
            "ops.ctc_loss needs static time, label and class sizes; received "
            f"output.shape={tuple(shape(output))}, "
            f"target.shape={tuple(shape(target))}.")
    mask_index = int(mask_index)
    if not 0 <= mask_index < classes:
        raise ValueError(
            f"ops.ctc_loss: mask_index must be a class index in [0, "
            f"{classes}); received mask_index={mask_index}.")

    logprobs = log_softmax(output, axis=-1)  # (B, T, K)
    # paddings: 1.0 past each sequence's length
    label_pad = cast(greater_equal(arange(labels)[None, :],
                                   expand_dims(target_length, -1)), dt)
    time_pad = cast(greater_equal(arange(time)[None, :],
                                  expand_dims(output_length, -1)), dt)
    label_count = cast(subtract(float(labels), sum(label_pad, axis=1)),
                       "int32")
    # repeat[b, n] = 1 where label n + 1 repeats label n (no blank-free
    # transition between them)
    if labels > 1:
        repeat = cast(equal(target[:, :-1], target[:, 1:]), dt)
        repeat = pad(repeat, [(0, 0), (0, 1)])
    else:
        repeat = zeros_like(label_pad)
    # log-probabilities of the blank and of each label, time-major
    lp_blank = transpose(logprobs[:, :, mask_index:mask_index + 1], (1, 0, 2))
    hot = one_hot(target, classes, dtype=dt)  # (B, L, K)
    lp_emit = transpose(matmul(logprobs, transpose(hot, (0, 2, 1))),
                        (1, 0, 2))  # (T, B, L)
    pad_t = expand_dims(transpose(time_pad, (1, 0)), -1)  # (T, B, 1)

    phi0 = concatenate([zeros_like(label_pad[:, :1]),
                        full_like(label_pad, _LOG_EPSILON)], axis=-1)
    emit0 = full_like(label_pad, _LOG_EPSILON)
    no_repeat = multiply(repeat, _LOG_EPSILON)
    only_repeat = multiply(subtract(1.0, repeat), _LOG_EPSILON)

    def step(carries, xs, consts):
        phi, emit = carries
        lp_e, lp_b, skip = xs
        no_rep, only_rep = consts
        # label n -> blank after it (unless label n + 1 repeats it)
        phi_in = _add_to_tail(phi, add(emit, no_rep))
        # blank before label n -> label n, and label n staying
        new_emit = logaddexp(add(phi_in[:, :-1], lp_e), add(emit, lp_e))
        # blank staying, and label n -> blank only when n + 1 repeats n
        new_phi = _add_to_tail(add(phi_in, lp_b),
                               add(add(emit, lp_b), only_rep))
        keep = subtract(1.0, skip)
        new_emit = add(multiply(skip, emit), multiply(keep, new_emit))
        new_phi = add(multiply(skip, phi), multiply(keep, new_phi))
        return [new_phi, new_emit], []

    (phi, emit), _ = _scan(step, [phi0, emit0], [lp_emit, lp_blank, pad_t],
                           [no_repeat, only_repeat], length=time,
                           emit_carries=isinstance(output, TracedTensor))
    last = _add_to_tail(phi, emit)
    at_end = one_hot(label_count, labels + 1, dtype=dt)
    return negative(sum(multiply(last, at_end), axis=-1))


def _greedy(inputs, lengths, merge_repeated: bool, mask_index: int):
    _, time, classes = shape(inputs)
    indices = argmax(inputs, axis=-1)  # (B, T)
    scores = max(inputs, axis=-1)
    past = greater_equal(arange(time)[None, :], expand_dims(lengths, -1))
    indices = where(past, mask_index, indices)
    scores = where(past, 0.0, scores)
    if merge_repeated and time > 1:
        same = equal(indices[:, 1:], indices[:, :-1])
        same = pad(same, [(0, 0), (1, 0)])
        indices = where(same, mask_index, indices)
    blank = equal(indices, mask_index)
    indices = where(blank, -1, indices)
    # move the blanks to the end, keeping the order of the others
    order = where(blank, time, add(arange(time)[None, :], zeros_like(indices)))
    indices = take_along_axis(indices, argsort(order, axis=-1), axis=-1)
    scores = negative(sum(scores, axis=1, keepdims=True))
    return expand_dims(indices, 0), scores


def _log_softmax_np(x: np.ndarray) -> np.ndarray:
    m = np.max(x, axis=-1, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))


def _merge(inverse: np.ndarray, scores: np.ndarray, size: int) -> np.ndarray:
    """log-sum-exp of the scores of equal paths (inverse: path ids)."""
    top = np.max(scores)
    with np.errstate(divide="ignore", invalid="ignore"):
        total = np.zeros(size, scores.dtype)
        np.add.at(total, inverse, np.exp(scores - top))
        return np.log(total) + top


def _unique_rows(paths: np.ndarray, size: int, fill: int):
    """jnp.unique(paths, axis=0, size=size, fill_value=fill,
    return_inverse=True): sorted unique rows, padded with fill rows."""
    rows, inverse = np.unique(paths, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    out = np.full((size, paths.shape[1]), fill, paths.dtype)
    out[:len(rows)] = rows
    return out, inverse


def _beam_search_one(lp, seq_len, beam_width, top_paths, mask_index):
    """One sequence's beam search (lp: (T, K) log-probabilities with the
    classes reversed, as Keras's JAX backend orders its ties)."""
    time, classes = lp.shape
    width = 2 * beam_width
    size = 2 * classes * beam_width
    paths = np.full((width, time), -1, np.int32)
    n0 = min(classes, beam_width)
    best = np.argsort(lp[0], kind="stable")[-n0:]
    paths[:n0, 0] = np.where(best == mask_index, -1, best)
    scores = np.full(width, -np.inf, lp.dtype)
    scores[:n0] = lp[0][best]
    masked = paths[:, 0] == -1
    cls = np.arange(classes)
    cls[mask_index] = -1
    for t in range(1, time):
        if t >= seq_len:
            continue
        # extend every path by every class
        paths = np.repeat(paths, classes, axis=0)
        scores = np.repeat(scores, classes)
        prev_masked = np.repeat(masked, classes)
        tail_at = np.argmax(paths == -1, axis=1)
        rows = np.arange(len(paths))
        tails = np.where(tail_at == 0, -1, paths[rows, tail_at - 1])
        ext = np.tile(cls, width)
        masked = ext == -1
        ext = np.where(~prev_masked & (tails == ext), -1, ext)
        paths[rows, tail_at] = ext
        scores = scores + np.tile(lp[t], width)
        # prune: merge equal paths, keep the best beam_width
        paths, inverse = _unique_rows(paths, size, -1)
        emit = _merge(inverse, np.where(masked, -np.inf, scores), size)
        blank = _merge(inverse, np.where(masked, scores, -np.inf), size)
        total = np.logaddexp(emit, blank)
        top = np.argsort(total, kind="stable")[-beam_width:]
        paths = np.tile(paths[top], (2, 1))
        scores = np.concatenate([emit[top], blank[top]])
        masked = np.concatenate([np.zeros(beam_width, bool),
                                 np.ones(beam_width, bool)])
    paths, inverse = _unique_rows(paths, size, -1)
    scores = _merge(inverse, scores, size)
    top = np.argsort(scores, kind="stable")[-top_paths:][::-1]
    return paths[top], scores[top]


def _beam_search(inputs, lengths, beam_width, top_paths, mask_index):
    x = np.asarray(inputs)
    classes = x.shape[-1]
    lp = np.flip(_log_softmax_np(x), axis=2)
    flipped = classes - mask_index - 1
    found = [_beam_search_one(lp[b], int(lengths[b]), beam_width, top_paths,
                              flipped) for b in range(x.shape[0])]
    paths = np.stack([p for p, _ in found])  # (B, P, T)
    scores = np.stack([s for _, s in found]).astype(x.dtype)
    paths = np.where(paths == -1, -1, classes - paths - 1).astype(np.int32)
    return np.transpose(paths, (1, 0, 2)), scores


@keras_op
def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100,
               top_paths=1, merge_repeated=True, mask_index=0):
    """Decodes the output of a CTC model.

    Args:
        inputs: A tensor of shape `(batch_size, max_length, num_classes)`
            containing the logits (the output of the model).
            They should *not* be normalized via softmax.
        sequence_lengths: A tensor of shape `(batch_size,)` containing the
            sequence lengths for the batch.
        strategy: `"greedy"` (traces and compiles) or `"beam_search"`
            (eager only: its paths depend on the data).
        beam_width: the beam width of beam search. Defaults to 100.
        top_paths: the number of best paths beam search returns.
        merge_repeated: whether greedy decoding merges repeated labels.
        mask_index: the index of the blank class. Defaults to `0`.

    Returns:
        (decoded, scores): `decoded` of shape `(top_paths, batch_size,
        max_length)` (top_paths is 1 for greedy) holding the labels,
        padded with -1; `scores` of shape `(batch_size, top_paths)`: for
        greedy, minus the sum of each step's largest logit, for beam search
        the log-probability of each path.

    Example:
        >>> logits = np.log(np.array([[[.1, .8, .1], [.1, .8, .1],
        ...                            [.8, .1, .1], [.1, .1, .8]]]))
        >>> ctc_decode(logits, [4])[0]
        array([[[ 1,  2, -1, -1]]], dtype=int32)
    """
    inputs = convert_to_tensor(inputs)
    _check_rank(inputs, 3, "ctc_decode", "inputs",
                "(batch_size, max_length, num_classes)")
    inputs = cast(inputs, _float_dtype(inputs))
    lengths = _lengths(sequence_lengths, "ctc_decode", "sequence_lengths")
    classes = shape(inputs)[-1]
    mask_index = classes - 1 if mask_index is None else int(mask_index)
    if not 0 <= mask_index < classes:
        raise ValueError(
            f"ops.ctc_decode: mask_index must be a class index in [0, "
            f"{classes}); received mask_index={mask_index}.")
    if strategy == "greedy":
        return _greedy(inputs, lengths, bool(merge_repeated), mask_index)
    if strategy != "beam_search":
        raise ValueError(
            f"Invalid strategy {strategy}. Supported values are 'greedy' and "
            "'beam_search'.")
    if isinstance(inputs, (TracedTensor, KerasTensor)) or isinstance(
            lengths, (TracedTensor, KerasTensor)):
        raise ValueError(
            "ops.ctc_decode(strategy='beam_search') runs eagerly only in "
            "graphkeras: its beam's paths depend on the values, which a "
            "compiled step does not have. Decode the predictions outside the "
            "model (e.g. on the result of model.predict), or use "
            "strategy='greedy'.")
    if int(beam_width) < 1 or not 1 <= int(top_paths) <= int(beam_width):
        raise ValueError(
            "ops.ctc_decode needs beam_width >= 1 and 1 <= top_paths <= "
            f"beam_width; received beam_width={beam_width}, "
            f"top_paths={top_paths}.")
    return _beam_search(inputs, np.asarray(lengths), int(beam_width),
                        int(top_paths), mask_index)
