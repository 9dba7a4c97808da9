"""The functional graph seen from outside: source inputs, Graphviz text.

`model_to_dot` returns Graphviz dot *text* (Keras returns a pydot object;
graphkeras does not depend on pydot). `plot_model` writes that text as is
for a `.dot` / `.gv` file, and otherwise renders it with Graphviz's `dot`
program, refusing with an ImportError naming Graphviz when it is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from ... import fileio
from ..tensors import KerasTensor


def _node_of(kt):
    h = getattr(kt, "_keras_history", None)
    if h is None:
        return None
    return h.operation._inbound_nodes[h.node_index]


def get_source_inputs(tensor) -> list:
    """The Input tensors `tensor` was computed from (in first-seen order).

    Example:
        >>> x = Input((3,)); y = Dense(2)(x)
        >>> get_source_inputs(y)[0] is x
        True
    """
    if not isinstance(tensor, KerasTensor):
        raise TypeError(
            "get_source_inputs expects a KerasTensor (the output of Input() or "
            f"of a layer called on one). Received: {type(tensor).__name__}."
        )
    out, seen, stack, visited = [], set(), [tensor], set()
    while stack:
        t = stack.pop()
        node = _node_of(t)
        if node is None or not node.input_tensors:
            if id(t) not in seen:
                seen.add(id(t))
                out.append(t)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.extend(reversed(node.input_tensors))
    return out


def _q(s: str) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"').replace(
        "\n", "\\n") + '"'


def _shape_text(tensors) -> str:
    shapes = [tuple(t.shape) for t in tensors]
    return ", ".join(str(s) for s in shapes) if shapes else "?"


def model_to_dot(model, show_shapes=False, show_dtype=False,
                 show_layer_names=True, rankdir="TB", expand_nested=False,
                 dpi=200, subgraph=False, show_layer_activations=False,
                 show_trainable=False, **kwargs) -> str:
    """Graphviz dot text of a model's layer graph (one box per layer, an
    edge per tensor passed between layers).

    Returns:
        The dot source as a string (Keras returns a pydot.Dot).
    """
    if rankdir not in ("TB", "LR"):
        raise ValueError(
            f"rankdir must be 'TB' or 'LR'. Received: rankdir={rankdir!r}"
        )
    outputs = list(getattr(model, "outputs", None) or [])
    if not outputs:
        raise ValueError(
            f"model_to_dot needs a built model with a known graph; model "
            f"{getattr(model, 'name', model)!r} has no outputs yet. Call it on "
            "an Input or build it first."
        )
    # walk back from the outputs: every layer call reached, in topo order
    order, index, visited = [], {}, set()

    def visit(t):
        node = _node_of(t)
        if node is None or id(node) in visited:
            return
        visited.add(id(node))
        for parent in node.input_tensors:
            visit(parent)
        op = node.operation
        if id(op) not in index:
            index[id(op)] = f"n{len(order)}"
            order.append(op)

    for t in outputs:
        visit(t)
    lines = [f"digraph {_q(getattr(model, 'name', 'model'))} {{",
             f"  graph [rankdir={rankdir}, dpi={int(dpi)}];",
             '  node [shape=box, fontname="Helvetica"];']
    edges = []
    for op in order:
        cls = type(op).__name__
        label = f"{op.name} ({cls})" if show_layer_names else cls
        extra = []
        if show_layer_activations and getattr(op, "activation", None):
            act = op.activation
            extra.append(f"activation: {getattr(act, '__name__', act)}")
        if show_trainable:
            extra.append(f"trainable: {getattr(op, 'trainable', True)}")
        if show_dtype:
            extra.append(f"dtype: {getattr(op, 'dtype', '?')}")
        for node in op._inbound_nodes:
            if id(node) not in visited:
                continue
            if show_shapes:
                if node.input_tensors:
                    extra.append(f"input: {_shape_text(node.input_tensors)}")
                extra.append(f"output: {_shape_text(node.output_tensors)}")
            for parent in node.input_tensors:
                src = _node_of(parent)
                if src is not None and id(src.operation) in index:
                    edges.append((index[id(src.operation)], index[id(op)]))
        text = "\n".join([label] + extra)
        lines.append(f"  {index[id(op)]} [label={_q(text)}];")
    for a, b in dict.fromkeys(edges):
        lines.append(f"  {a} -> {b};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def plot_model(model, to_file="model.png", show_shapes=False,
               show_dtype=False, show_layer_names=True, rankdir="TB",
               expand_nested=False, dpi=200, show_layer_activations=False,
               show_trainable=False, **kwargs):
    """Draw the model's layer graph to `to_file`.

    A `.dot` / `.gv` file gets the dot text; other extensions (png, svg,
    pdf, ...) are rendered by Graphviz's `dot` program, which must be
    installed (ImportError otherwise, as Keras raises without Graphviz).
    """
    text = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                        show_layer_names=show_layer_names, rankdir=rankdir,
                        expand_nested=expand_nested, dpi=dpi,
                        show_layer_activations=show_layer_activations,
                        show_trainable=show_trainable)
    to_file = os.fspath(to_file)
    ext = os.path.splitext(to_file)[1][1:].lower() or "png"
    if ext in ("dot", "gv"):
        fileio.atomic_write_bytes(to_file, text.encode("utf-8"))
        return
    exe = shutil.which("dot")
    if exe is None:
        raise ImportError(
            f"plot_model needs Graphviz's `dot` program to write a .{ext} "
            "file, and it was not found on PATH. Install Graphviz (for "
            "example `apt-get install graphviz`), or pass a to_file ending "
            "in .dot to write the graph as text."
        )

    def write(tmp):
        proc = subprocess.run([exe, f"-T{ext}", "-o", tmp], input=text.encode(),
                              capture_output=True, check=False)
        if proc.returncode != 0:
            raise ValueError(
                f"Graphviz could not render format {ext!r} for {to_file}: "
                f"{proc.stderr.decode(errors='replace').strip()}"
            )

    fileio.atomic_write(to_file, write)
    return
