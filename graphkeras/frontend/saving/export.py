"""A Keras model's programs for the exporter and the command line.

`inference_program(model)` traces the model's predict program (training
=False, so Dropout and other training-only layers are identities) on
inputs shaped like the model's Inputs, with the batch as the IR symbol N.
`onnx_export_spec(model)` turns it into the exporter's ExportSpec: the
weights become initializers named after the Keras variables
(`dense/kernel`, ...), graph inputs and outputs are named after the
model's input and output layers.

Invariant: the ONNX graph computes exactly what `model.predict` computes
(the same IR Function), so onnxruntime's outputs match predict's within
float tolerance.
"""

from __future__ import annotations

import numpy as np

from .. import tree


def _input_template(model):
    """(zero arrays, one per model input, at batch 1; the structure of the
    inputs or None for a single one)."""
    inputs = getattr(model, "inputs", None)
    if not inputs:
        shape = None
        spec = getattr(model, "_build_shapes", None)
        if spec is not None:
            shape = spec
        if shape is None:
            raise ValueError(
                f"Model '{model.name}' has not been built, so its inputs are "
                "unknown: call it on data (or build(input_shape)) before "
                "exporting it."
            )
        flat_shapes = [shape] if not isinstance(shape, (list, dict)) else \
            tree.flatten(shape) if isinstance(shape, dict) else shape
        arrays = [np.zeros((1,) + tuple(s[1:]), "float32")
                  for s in flat_shapes]
        return arrays, (None if len(arrays) == 1 else list(arrays))
    arrays = []
    for t in inputs:
        shape = tuple(t.shape)
        if any(d is None for d in shape[1:]):
            raise ValueError(
                f"Model '{model.name}': input {t.name!r} has the shape "
                f"{shape} with an unknown non-batch dimension; export needs "
                "every dimension but the batch to be known."
            )
        arrays.append(np.zeros((1,) + shape[1:], dtype=t.dtype))
    struct = getattr(model, "_inputs_struct", None)
    if struct is None and getattr(model, "_functional", None) is not None:
        struct = model._functional._inputs_struct
    if struct is None or not tree.is_nested(struct):
        return arrays, None
    return arrays, tree.pack_like(struct, arrays)


def inference_program(model):
    """The model's predict Program (runtime.Program)."""
    xs, template = _input_template(model)
    from ..trainer_steps import trace_step

    return trace_step(model, "predict", xs, None, None, template)


def _unique(names: list) -> list:
    out, seen = [], {}
    for n in names:
        if n in seen:
            seen[n] += 1
            out.append(f"{n}_{seen[n]}")
        else:
            seen[n] = 0
            out.append(n)
    return out


def io_names(model, program):
    """(ONNX input names in parameter order, output names)."""
    from ..variables import STORE  # noqa: F401  (state lives there)

    user_names = list(getattr(model, "input_names", None) or [])
    if len(user_names) != len(program.inputs):
        user_names = list(program.inputs)
    by_param = dict(zip(program.inputs, user_names))
    inputs = [by_param[p.name] for p in program.fn.params
              if p.name in by_param]
    outs = list(getattr(model, "output_names", None) or [])
    if len(outs) != len(program.outputs):
        outs = ["output"] if len(program.outputs) == 1 else [
            f"output_{i}" for i in range(len(program.outputs))]
    return inputs, _unique(outs)


def keras_named(model, program):
    """(program Function with its state parameters named after the Keras
    variables, their values by those names)."""
    renames = keras_weight_names(model, program)
    values = {renames[k]: v for k, v in state_values(program).items()}
    return rename_params(program.fn, renames), values


def state_values(program) -> dict:
    from ..variables import STORE

    return {name: np.array(STORE[name], copy=True) for name in program.state}


def keras_weight_names(model, program) -> dict:
    """Program state key -> the Keras weight path ("dense/kernel"), unique
    within the model (keys carry process-wide suffixes: "dense/kernel_3")."""
    paths = {}
    everything = list(model.variables)
    opt = getattr(model, "optimizer", None)
    if opt is not None:
        everything += list(opt.variables)
    for m in getattr(model, "metrics", []) or []:
        everything += list(getattr(m, "variables", []))
    for v in everything:
        paths.setdefault(v.key, v.path)
    out, used = {}, set()
    for key in program.state:
        name = paths.get(key, key)
        base, k = name, 1
        while name in used:
            name = f"{base}_{k}"
            k += 1
        used.add(name)
        out[key] = name
    return out


def rename_params(fn, names: dict):
    """fn with parameters renamed by `names` (old -> new); the new names
    must not be used by other values of fn."""
    from ...ir import Value

    taken = {v.name for v in fn.values()} - set(names)
    clash = sorted(set(names.values()) & taken)
    if clash:
        raise ValueError(f"cannot rename parameters to {clash}: in use.")
    new = {p.name: Value(names.get(p.name, p.name), p.type)
           for p in fn.params}

    def m(v):
        return new.get(v.name, v)

    nodes = [n.replace(inputs=tuple(m(v) for v in n.inputs))
             for n in fn.nodes]
    return fn.replace(params=tuple(new[p.name] for p in fn.params),
                      nodes=tuple(nodes), results=tuple(m(r) for r in fn.results))


def _refuse_state_updates(model, program) -> None:
    """An inference step that draws random numbers moves a seed
    generator's counter: an exported model has no state to carry between
    calls, so say which layer draws them (as Keras-JAX refuses unseeded
    random ops in a traced function)."""
    random_locs = sorted({n.loc or "?" for n in program.fn.nodes
                          if n.op.startswith("random_")})
    if not random_locs:
        return
    raise ValueError(
        f"Model '{model.name}' draws random numbers at inference (in "
        f"layer(s) {', '.join(repr(x) for x in random_locs)}): an exported "
        "ONNX model has no random state to carry from call to call, so it "
        "cannot be exported. Draw the noise only when training (e.g. "
        "`if training:` in the layer's call), or pass it to the model as "
        "an input."
    )


def onnx_export_spec(model):
    from ...export.onnx import ExportSpec

    program = inference_program(model)
    fn, values = keras_named(model, program)
    if tuple(program.outputs) != tuple(range(len(program.fn.results))):
        _refuse_state_updates(model, program)
        raise ValueError("The predict program has results that are not "
                         "outputs; it cannot be exported.")
    inputs, outputs = io_names(model, program)
    reserved = set(values)
    outputs = [f"{n}_output" if n in reserved or n in inputs else n
               for n in outputs]
    return ExportSpec(fn=fn, initializers=values, input_names=inputs,
                      output_names=outputs)


def export(model, filepath, format="onnx", verbose=None, input_signature=None,
           opset=None, **kwargs):
    """`model.export(path, format="onnx")`."""
    if format != "onnx":
        raise ValueError(
            "graphkeras exports models in the ONNX format only: pass "
            f"format='onnx'. Received: format={format!r}"
        )
    if input_signature is not None:
        raise ValueError(
            "input_signature is not supported: the ONNX model takes inputs "
            "shaped like the model's Inputs, with a symbolic batch dimension."
        )
    if kwargs:
        raise ValueError(
            f"Unsupported export argument(s): {sorted(kwargs)}."
        )
    from ...export.onnx import export_model

    model_proto = export_model(model, filepath, opset=opset)
    if verbose:
        names = ", ".join(i.name for i in model_proto.graph.input)
        print(f"Saved ONNX model to {filepath} (inputs: {names}).")
    return model_proto
