"""The functional graph seen from outside: source inputs, pictures.

`model_to_dot` returns a `pydot.Dot` as Keras 3 does (one box per layer,
an HTML table of its name, class, activation, shapes, dtype and trainable
state; an edge per tensor passed between layers; nested models as dashed
clusters with `expand_nested`). `plot_model` writes its dot text for a
`.dot` / `.gv` file and renders other formats (png, svg, pdf, ...) through
Graphviz's `dot` program. pydot is the `plot` extra; without it, or
without Graphviz for a rendered format, an ImportError says what to
install.
"""

from __future__ import annotations

import html
import os
import shutil

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


def _pydot():
    try:
        import pydot
    except ImportError:
        raise ImportError(
            "You must install pydot (`pip install 'graphkeras[plot]'`, or "
            "`pip install pydot`) for model_to_dot / plot_model to work; "
            "rendering PNG, SVG or PDF also needs Graphviz (for example "
            "`apt-get install graphviz`)."
        ) from None
    return pydot


def _shape_text(tensors) -> str:
    shapes = [tuple(t.shape) for t in tensors]
    if not shapes:
        return "?"
    return str(shapes[0]) if len(shapes) == 1 else str(shapes)


def _activation_name(layer) -> str:
    act = layer.activation
    return getattr(act, "name", None) or getattr(act, "__name__", None) or \
        str(act)


def _cell(text: str, bold: str = "", color: str = "white",
          font: str = "black", size: int = 14, span: int = 1) -> str:
    body = html.escape(text) + (f"<b>{html.escape(bold)}</b>" if bold else "")
    return (f'<td bgcolor="{color}" colspan="{span}"><font point-size="{size}" '
            f'color="{font}">{body}</font></td>')


def _layer_label(layer, nodes, opts) -> str:
    """Keras 3's table: a black title row, then an activation row and a row
    of shape / dtype / trainable cells."""
    cls = type(layer).__name__
    cells = []
    if opts["show_shapes"]:
        ins = [t for n in nodes for t in n.input_tensors]
        outs = [t for n in nodes for t in n.output_tensors]
        if cls != "InputLayer":
            cells.append(_cell("Input shape: ", _shape_text(ins)))
        cells.append(_cell("Output shape: ", _shape_text(outs)))
    if opts["show_dtype"]:
        outs = [t for n in nodes for t in n.output_tensors]
        dtype = outs[0].dtype if len(outs) == 1 else (
            [t.dtype for t in outs] if outs else "?")
        cells.append(_cell("Output dtype: ", str(dtype)))
    if opts["show_trainable"] and layer.weights:
        cells.append(_cell("", "Trainable", "forestgreen", "white")
                     if layer.trainable else
                     _cell("", "Non-trainable", "firebrick", "white"))
    span = max(1, len(cells))
    title = (f"<b>{html.escape(layer.name)}</b> ({html.escape(cls)})"
             if opts["show_layer_names"] else f"<b>{html.escape(cls)}</b>")
    rows = [f'<tr><td colspan="{span}" bgcolor="black"><font point-size="16" '
            f'color="white">{title}</font></td></tr>']
    if opts["show_layer_activations"] and getattr(layer, "activation",
                                                   None) is not None:
        rows.append("<tr>" + _cell("Activation: ", _activation_name(layer),
                                   span=span) + "</tr>")
    if cells:
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return ('<<table border="0" cellborder="1" bgcolor="black" '
            'cellpadding="10">' + "".join(rows) + "</table>>")


def _is_graph_model(layer) -> bool:
    from ..models.functional import Functional
    from ..models.sequential import Sequential

    return isinstance(layer, (Functional, Sequential))


def _model_nodes(model) -> set:
    fn = model if hasattr(model, "_nodes") else model.__dict__.get(
        "_functional")
    return {id(n) for n in getattr(fn, "_nodes", [])}


def _layers_of(model) -> list:
    from ..models.sequential import Sequential

    if isinstance(model, Sequential):
        return list(model.layers)
    return list(getattr(model, "_graph_layers", model.layers))


def _entry(layer, index=0):
    """The innermost layer an edge into `layer` (its input `index`) lands on."""
    from ..models.sequential import Sequential

    while _is_graph_model(layer):
        if isinstance(layer, Sequential):
            layer = layer.layers[0]
        else:
            layer = layer.inputs[index]._keras_history.operation
            index = 0
    return layer


def _exit(layer, index=0):
    """The innermost layer producing output `index` of `layer`."""
    while _is_graph_model(layer):
        h = layer.outputs[index]._keras_history
        layer, index = h.operation, h.tensor_index
    return layer


def _add_edge(pydot, dot, src, dst) -> None:
    a, b = str(id(src)), str(id(dst))
    if not dot.get_edge(a, b):
        edge = pydot.Edge(a, b)
        edge.set("penwidth", "2")
        dot.add_edge(edge)


def _fill(pydot, dot, model, opts, edges_into=None) -> None:
    """Add `model`'s boxes (clusters for nested models with expand_nested)
    to `dot`, and its edges to `edges_into` (the outermost graph: pydot
    draws an edge between clusters only there)."""
    from ..models.sequential import Sequential

    root = edges_into if edges_into is not None else dot
    layers = _layers_of(model)
    relevant = _model_nodes(model)
    for layer in layers:
        if opts["expand_nested"] and _is_graph_model(layer):
            sub = pydot.Cluster(graph_name=f"cluster_{id(layer)}",
                                style="dashed", label=layer.name,
                                labeljust="l")
            _fill(pydot, sub, layer, opts, root)
            dot.add_subgraph(sub)
            continue
        nodes = [n for n in getattr(layer, "_inbound_nodes", [])
                 if not relevant or id(n) in relevant]
        node = pydot.Node(str(id(layer)),
                          label=_layer_label(layer, nodes, opts))
        node.set("fontname", "Helvetica")
        node.set("border", "0")
        node.set("margin", "0")
        dot.add_node(node)
    if isinstance(model, Sequential):
        # no InputLayer box for a Sequential: its layers form a chain
        for a, b in zip(layers, layers[1:]):
            src = _exit(a) if opts["expand_nested"] else a
            dst = _entry(b) if opts["expand_nested"] else b
            _add_edge(pydot, root, src, dst)
        return
    for layer in layers:
        for node in getattr(layer, "_inbound_nodes", []):
            if relevant and id(node) not in relevant:
                continue
            for i, t in enumerate(node.input_tensors):
                h = getattr(t, "_keras_history", None)
                if h is None or h.operation is None:
                    continue
                src, dst = h.operation, layer
                if opts["expand_nested"]:
                    src, dst = _exit(src, h.tensor_index), _entry(dst, i)
                _add_edge(pydot, root, src, dst)


def model_to_dot(model, show_shapes=False, show_dtype=False,
                 show_layer_names=True, rankdir="TB", expand_nested=False,
                 dpi=200, subgraph=False, show_layer_activations=False,
                 show_trainable=False, splines="ortho", **kwargs):
    """A `pydot.Dot` of the model's layer graph, as `keras.utils.model_to_dot`.

    Args:
        model: a built model.
        show_shapes: show each layer's input and output shapes.
        show_dtype: show each layer's output dtype.
        show_layer_names: title boxes "name (Class)" instead of "Class".
        rankdir: "TB" (top to bottom) or "LR" (left to right).
        expand_nested: draw nested models as dashed clusters of their
            layers.
        dpi: the picture's resolution.
        subgraph: return a `pydot.Cluster` (a nested model's box).
        show_layer_activations: show the activation of layers that have one.
        show_trainable: mark layers with weights Trainable / Non-trainable.
        splines: Graphviz's edge style ("ortho", "curved", "polyline", ...).

    Returns:
        A `pydot.Dot` (a `pydot.Cluster` with `subgraph=True`); its
        `to_string()` is the dot text.

    Example:
        >>> dot = model_to_dot(model, show_shapes=True)
        >>> dot.write_svg("model.svg")
    """
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    if rankdir not in ("TB", "LR"):
        raise ValueError(
            f"rankdir must be 'TB' or 'LR'. Received: rankdir={rankdir!r}"
        )
    if not getattr(model, "built", False):
        raise ValueError(
            "This model has not yet been built. Build the model first by "
            "calling `build()` or by calling the model on a batch of data."
        )
    pydot = _pydot()
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    opts = {"show_shapes": show_shapes, "show_dtype": show_dtype,
            "show_layer_names": show_layer_names,
            "show_layer_activations": show_layer_activations,
            "show_trainable": show_trainable, "expand_nested": expand_nested}
    if not _is_graph_model(model):
        # a subclassed model is one box, as in Keras
        node = pydot.Node(str(id(model)), label=_layer_label(model, [], opts))
        node.set("fontname", "Helvetica")
        node.set("border", "0")
        node.set("margin", "0")
        dot.add_node(node)
        return dot
    _fill(pydot, dot, model, opts)
    return dot


def plot_model(model, to_file="model.png", show_shapes=False,
               show_dtype=False, show_layer_names=False, rankdir="TB",
               expand_nested=False, dpi=200, show_layer_activations=False,
               show_trainable=False, splines="ortho", **kwargs):
    """Draw the model's layer graph to `to_file`, as `keras.utils.plot_model`.

    A `.dot` / `.gv` file gets the dot text; other extensions (png, svg,
    pdf, jpg, ...) are rendered by Graphviz's `dot` program. Needs pydot
    (`pip install 'graphkeras[plot]'`) and, to render, Graphviz.

    Args: as `model_to_dot`, plus `to_file`, the file to write (its
        extension picks the format). `show_layer_names` defaults to False,
        as in Keras 3.

    Returns:
        An `IPython.display.Image` of a PNG / JPEG when IPython is
        installed (inline pictures in notebooks), else None.
    """
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, splines=splines,
                       **kwargs)
    to_file = os.fspath(to_file)
    ext = os.path.splitext(to_file)[1][1:].lower() or "png"
    if ext in ("dot", "gv"):
        fileio.atomic_write_bytes(to_file, dot.to_string().encode("utf-8"))
        return None
    if shutil.which("dot") is None:
        raise ImportError(
            f"plot_model needs Graphviz's `dot` program to write a .{ext} "
            "file, and it was not found on PATH. Install Graphviz (for "
            "example `apt-get install graphviz`), or pass a to_file ending "
            "in .dot to write the graph as text."
        )
    try:
        data = dot.create(prog="dot", format=ext)
    except Exception as e:  # pydot raises its own and OSError kinds
        raise ValueError(
            f"Graphviz could not render format {ext!r} for {to_file}: {e}"
        ) from None
    fileio.atomic_write_bytes(to_file, data)
    if ext in ("png", "jpg", "jpeg"):
        try:
            from IPython import display
        except ImportError:
            return None
        return display.Image(filename=to_file)
    return None
