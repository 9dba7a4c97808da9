"""model.summary(): Keras 3's table, drawn with box characters.

The table is as wide as Keras makes it: 88 characters (108 for graphs that
are not a plain chain, which get a "Connected to" column), or the terminal
width less 4 if that is smaller; column widths come from the same relative
positions, and cells wrap on spaces.
"""

from __future__ import annotations

import shutil

import numpy as np

from .. import tree


def _readable_size(nbytes: float) -> str:
    units = ["B", "KB", "MB", "GB", "TB"]
    i = 0
    while nbytes >= 1024 and i < len(units) - 1:
        nbytes /= 1024
        i += 1
    return f"{nbytes:.2f} {units[i]}"


def _count(weights) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


def _itemsize(dtype) -> int:
    # NOTE: sizes as Keras 3 reports them on its JAX (and torch) backends,
    # the fixtures' reference: 64-bit integers (the optimizer's iterations)
    # are stored as 32-bit there, so they count 4 bytes
    dt = np.dtype(dtype)
    return 4 if dt.kind in "iu" and dt.itemsize == 8 else dt.itemsize


def _bytes(weights) -> int:
    return int(sum(int(np.prod(w.shape)) * _itemsize(w.dtype)
                   for w in weights))


def _fmt_shape(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (
        ",)" if len(shape) == 1 else ")")


def _layer_shape(layer, batch=None) -> str:
    """The output shape(s) of the layer's calls ("multiple" if they
    differ); a layer only called on arrays (in a subclassed model) shows
    compute_output_shape of its build shape, as Keras 3; `batch` fills a
    None batch dimension (a Sequential built on data)."""

    def fmt(shape):
        shape = tuple(shape)
        if batch is not None and shape and shape[0] is None:
            shape = (batch,) + shape[1:]
        return _fmt_shape(shape)

    nodes = getattr(layer, "_inbound_nodes", [])
    if not nodes:
        build = getattr(layer, "_build_shapes", None)
        if build is None:
            return "?"
        try:
            out = layer.compute_output_shape(build)
        except (NotImplementedError, TypeError, ValueError, AttributeError):
            return "?"
        if isinstance(out, (tuple, list)) and out and all(
                isinstance(d, (int, type(None))) for d in out):
            return fmt(out)
        return "?"
    shapes = []
    for node in nodes:
        outs = node.output_tensors
        s = [fmt(t.shape) for t in outs]
        shapes.append(s[0] if len(s) == 1 else "[" + ", ".join(s) + "]")
    if len(set(shapes)) > 1:
        return "multiple"
    return shapes[0]


def _wrap(text: str, width: int) -> list:
    """Lines of `text` at most `width` wide, as rich wraps a cell: on
    spaces, a word longer than the cell alone on its line and cut to
    `width - 1` characters and "…" (Keras 3's tables truncate, not fold)."""
    lead = text[:len(text) - len(text.lstrip(" "))]  # a nested row's indent
    lines, cur = [], ""
    for i, w in enumerate(text.lstrip(" ").split(" ")):
        if i == 0:
            w = lead + w
        if not cur:
            cur = w
        elif len(cur) + 1 + len(w) <= width:
            cur += " " + w
        else:
            lines.append(cur)
            cur = w
    lines.append(cur)
    return [x if len(x) <= width else x[:width - 1] + "…" for x in lines]


def _shrink(widths: list, excess: int) -> list:
    """Take `excess` characters off the columns as evenly as possible
    (rounding half to even, left to right)."""
    out = list(widths)
    remaining, cols = excess, len(widths)
    for i in range(cols):
        take = round(remaining / (cols - i))
        out[i] -= take
        remaining -= take
    return out


def _table(header, rows, widths, align) -> list:
    inner = [w - 2 for w in widths]

    def line(left, mid, right, fill):
        return left + mid.join(fill * w for w in widths) + right

    def row_lines(cells, sep):
        wrapped = [_wrap(c, w) for c, w in zip(cells, inner)]
        height = max(len(c) for c in wrapped)
        out = []
        for k in range(height):
            parts = []
            for c, w, a in zip(wrapped, inner, align):
                t = c[k] if k < len(c) else ""
                if a == "right":
                    t = t.rjust(w)
                elif a == "center":
                    left = (w - len(t)) // 2
                    t = " " * left + t + " " * (w - len(t) - left)
                else:
                    t = t.ljust(w)
                parts.append(" " + t + " ")
            out.append(sep + sep.join(parts) + sep)
        return out

    lines = [line("┏", "┳", "┓", "━")]
    lines += row_lines(header, "┃")
    lines.append(line("┡", "╇", "┩", "━"))
    for i, r in enumerate(rows):
        if i:
            lines.append(line("├", "┼", "┤", "─"))
        lines += row_lines(r, "│")
    lines.append(line("└", "┴", "┘", "─"))
    return lines


def _is_sequential_like(model) -> bool:
    """Keras 3's rule (print_summary): a functional model is a chain when
    each depth of its graph (a node's depth: its longest path to an
    output) holds one node with one input tensor, and no layer is called
    twice in it."""
    from ..models.functional import Functional

    if not isinstance(model, Functional):
        return True
    nodes = model._nodes  # producers first
    in_graph = {id(n) for n in nodes}
    depth: dict = {}
    for node in reversed(nodes):
        d = depth.setdefault(id(node), 0)
        for p in node.parent_nodes:
            if id(p) in in_graph:
                depth[id(p)] = max(d + 1, depth.get(id(p), 0))
    per_depth: dict = {}
    for node in nodes:
        per_depth.setdefault(depth[id(node)], []).append(node)
    for group in per_depth.values():
        if len(group) > 1 or len(tree.flatten(group[0].input_tensors)) > 1:
            return False
    calls: dict = {}
    for node in nodes:
        calls[id(node.operation)] = calls.get(id(node.operation), 0) + 1
        if calls[id(node.operation)] > 1:
            return False
    return True


def _type_name(layer) -> str:
    """The class shown for a layer; an op node shows its Keras op class
    (NotEqual, GetItem, ...) as Keras's summary does."""
    fn = getattr(layer, "fn", None)
    if fn is not None and type(layer).__name__ == "OpLayer":
        from ..saving.keras_ops import op_of_function

        op = op_of_function(fn)
        if op is not None:
            return op.class_name
    return type(layer).__name__


def print_summary(model, line_length=None, positions=None, print_fn=None,
                  expand_nested=False, show_trainable=False):
    from ..models.functional import Functional
    from ..models.sequential import Sequential

    if isinstance(model, Sequential):
        layers, sequential_like = model.layers, True
    elif isinstance(model, Functional):  # op nodes shown, as in Keras
        layers = model._graph_layers
        sequential_like = _is_sequential_like(model)
    else:
        if not model.built:
            raise ValueError(
                "This model has not yet been built. Build the model first by "
                "calling `build()` or by calling the model on a batch of data."
            )
        layers, sequential_like = model.layers, True
    if sequential_like:
        default, pos = 88, [0.45, 0.80, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
        align = ["left", "left", "right"]
    else:
        default, pos = 108, [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        align = ["left", "left", "right", "left"]
    if show_trainable:
        default += 12
        pos = [p * 0.9 for p in pos] + [1.0]
        header.append("Trainable")
        align.append("center")
    pos = positions or pos
    default = min(default, shutil.get_terminal_size().columns - 4)
    width = line_length or default
    widths, cur = [], 0
    for p in pos:
        w = int(p * width) - cur
        if w < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(w)
        cur += w
    widths = _shrink(widths, len(widths) + 1)
    relevant = {id(n) for n in getattr(model, "_nodes", [])}
    batch = model.__dict__.get("_built_batch")

    def row_of(layer, prefix):
        name = f"{prefix}{layer.name} ({_type_name(layer)})"
        if not layer.built:
            params = "0 (unbuilt)"
        else:
            params = f"{layer.count_params():,}"
        row = [name, _layer_shape(layer, batch), params]
        if not sequential_like:
            conns = []
            for node in layer._inbound_nodes:
                if relevant and id(node) not in relevant:
                    continue
                for kt in node.input_tensors:
                    h = kt._keras_history
                    conns.append(f"{h.operation.name}[{h.node_index}]"
                                 f"[{h.tensor_index}]")
            row.append(", ".join(conns) or "-")
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights
                       else "-")
        return row

    def rows_of(layer, level=0):
        # a nested model's layers follow it, indented, with expand_nested
        out = [row_of(layer, "   " * level + "└ " if level else "")]
        inner = getattr(layer, "layers", None) if expand_nested else None
        for sub in inner or ():
            out += rows_of(sub, level + 1)
        return out

    rows = [r for layer in layers for r in rows_of(layer)]
    out = [f'Model: "{model.name}"']
    out += _table(header, rows, widths, align)
    tw, ntw = model.trainable_weights, model.non_trainable_weights
    opt = getattr(model, "optimizer", None)
    opt_vars = opt.variables if (opt is not None and getattr(
        model, "compiled", False) and opt.built) else None
    total = _count(tw) + _count(ntw) + (_count(opt_vars) if opt_vars else 0)
    total_b = _bytes(tw) + _bytes(ntw) + (_bytes(opt_vars) if opt_vars else 0)
    out.append(f" Total params: {total:,} ({_readable_size(total_b)})")
    out.append(f" Trainable params: {_count(tw):,} ({_readable_size(_bytes(tw))})")
    out.append(f" Non-trainable params: {_count(ntw):,} "
               f"({_readable_size(_bytes(ntw))})")
    if opt_vars:
        out.append(f" Optimizer params: {_count(opt_vars):,} "
                   f"({_readable_size(_bytes(opt_vars))})")
    text = "\n".join(out)
    if print_fn is not None:
        print_fn(text + "\n")  # Keras 3 hands over the captured console text
    else:
        print(text)
