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


def _spec_shape_dtype(spec, i: int):
    """(shape, dtype or None, name or None) of one input_signature entry:
    a keras.InputSpec, a KerasTensor, an array, or a shape tuple."""
    if isinstance(spec, np.ndarray):
        return (None,) + spec.shape[1:], spec.dtype.name, None
    if isinstance(spec, (tuple, list)) and all(
            d is None or isinstance(d, (int, np.integer)) for d in spec):
        return tuple(spec), None, None
    shape = getattr(spec, "shape", None)
    if shape is None:
        raise ValueError(
            f"input_signature entry {i} must be a keras.InputSpec with a "
            f"shape, a KerasTensor, an array or a shape tuple. Received: "
            f"{spec!r}"
        )
    dtype = getattr(spec, "dtype", None)
    dtype = None if dtype is None else str(np.dtype(str(dtype)))
    return tuple(shape), dtype, getattr(spec, "name", None)


def _is_shape(x) -> bool:
    return isinstance(x, (tuple, list)) and len(x) > 0 and all(
        d is None or isinstance(d, (int, np.integer)) for d in x)


def _flat_specs(x) -> list:
    """input_signature's leaves, in order (a shape tuple is a leaf; dicts
    give their values in insertion order, as tree.flatten does)."""
    if _is_shape(x) or not tree.is_nested(x):
        return [x]
    items = x.values() if isinstance(x, dict) else x
    return [leaf for v in items for leaf in _flat_specs(v)]


def _signature(model, input_signature, inputs):
    """The flat (shape, dtype, name) entries of `input_signature`, checked
    against the model's symbolic inputs (None for a subclassed model)."""
    specs = _flat_specs(input_signature)
    entries = [_spec_shape_dtype(s, i) for i, s in enumerate(specs)]
    if inputs and len(entries) != len(inputs):
        raise ValueError(
            f"Model '{model.name}' has {len(inputs)} input(s), but "
            f"input_signature gives {len(entries)}: {input_signature!r}"
        )
    for i, (shape, dtype, _) in enumerate(entries):
        if not inputs:
            continue
        t = inputs[i]
        want = tuple(t.shape)
        ok = len(shape) == len(want) and all(
            a is None or b is None or a == b
            for a, b in zip(shape[1:], want[1:]))
        if not ok:
            raise ValueError(
                f"input_signature entry {i} has the shape {shape}, which does "
                f"not fit input {t.name!r} of model '{model.name}' (shape "
                f"{want})."
            )
        if dtype is not None and dtype != str(np.dtype(str(t.dtype))):
            raise ValueError(
                f"input_signature entry {i} has dtype {dtype}, but input "
                f"{t.name!r} of model '{model.name}' takes {t.dtype}."
            )
    return entries


def _input_template(model, input_signature=None):
    """(zero arrays, one per model input, at batch 1; the structure of the
    inputs or None for a single one). `input_signature` (Keras's argument
    of `export`) gives the sizes of dimensions the Inputs leave open."""
    inputs = getattr(model, "inputs", None)
    if input_signature is not None:
        entries = _signature(model, input_signature, inputs)
        arrays = []
        for i, (shape, dtype, _) in enumerate(entries):
            if inputs:
                want = tuple(inputs[i].shape)
                shape = tuple(a if a is not None else b
                              for a, b in zip(shape, want))
                dtype = dtype or str(np.dtype(str(inputs[i].dtype)))
            if any(d is None for d in shape[1:]):
                raise ValueError(
                    f"input_signature entry {i} has the shape {shape} with "
                    "an unknown non-batch dimension; export needs every "
                    "dimension but the batch to be known."
                )
            arrays.append(np.zeros((1,) + tuple(shape[1:]),
                                   dtype=dtype or "float32"))
        if not inputs:
            return arrays, (None if len(arrays) == 1 else list(arrays))
        return arrays, _template_like(model, arrays)
    if not inputs:
        shape = None
        spec = getattr(model, "_build_shapes", None)
        if spec is not None:
            shape = spec
        if shape is None:
            raise ValueError(
                f"Model '{model.name}' has not been built, so its inputs are "
                "unknown: call it on data (or build(input_shape)) before "
                "exporting it, or pass input_signature."
            )
        flat_shapes = [shape] if not isinstance(shape, (list, dict)) else \
            tree.flatten(shape) if isinstance(shape, dict) else shape
        dtypes = _flat_dtypes(model, len(flat_shapes))
        arrays = [np.zeros((1,) + tuple(s[1:]), d)
                  for s, d in zip(flat_shapes, dtypes)]
        return arrays, (None if len(arrays) == 1 else list(arrays))
    arrays = []
    for t in inputs:
        shape = tuple(t.shape)
        if any(d is None for d in shape[1:]):
            raise ValueError(
                f"Model '{model.name}': input {t.name!r} has the shape "
                f"{shape} with an unknown non-batch dimension; export needs "
                "every dimension but the batch to be known: pass "
                "input_signature=[keras.InputSpec(shape=...)] with the "
                "sizes to export."
            )
        arrays.append(np.zeros((1,) + shape[1:], dtype=t.dtype))
    return arrays, _template_like(model, arrays)


def _flat_dtypes(model, count: int) -> list:
    """The dtypes a subclassed model was first called with (float32 where
    unknown: after build(input_shape))."""
    dtypes = getattr(model, "_build_dtypes", None)
    flat = tree.flatten(dtypes) if dtypes is not None else []
    if len(flat) != count:
        flat = [None] * count
    out = []
    for d in flat:
        try:
            out.append(np.dtype(str(d)) if d is not None else np.float32)
        except TypeError:
            out.append(np.float32)
    return out


def _template_like(model, arrays):
    """The inputs' structure (dict, list) holding `arrays`, or None for a
    single input."""
    struct = getattr(model, "_inputs_struct", None)
    if struct is None and getattr(model, "_functional", None) is not None:
        struct = model._functional._inputs_struct
    if struct is None or not tree.is_nested(struct):
        return None
    return tree.pack_like(struct, arrays)


def inference_program(model, input_signature=None):
    """The model's predict Program (runtime.Program)."""
    _refuse_host_layers(model, "traced as one inference program (graphkeras "
                               "dump / export)")
    xs, template = _input_template(model, input_signature)
    from ..trainer_steps import trace_step

    return trace_step(model, "predict", xs, None, None, template)


def _unique(names: list) -> list:
    """names with repeats suffixed _1, _2, ... ("lstm" returning three
    tensors: lstm, lstm_1, lstm_2), never taking a name used elsewhere in
    the list (a layer really named "lstm_1")."""
    taken = set(names)
    out, used = [], set()
    for n in names:
        name, k = n, 0
        while name in used or (k and name in taken):
            k += 1
            name = f"{n}_{k}"
        used.add(name)
        out.append(name)
    return out


def _call_arg_name(model) -> list:
    """[the name of call()'s first argument] of a subclassed model ("ids"
    for `def call(self, ids)`), or []."""
    import inspect

    try:
        params = list(inspect.signature(model.call).parameters.values())
    except (TypeError, ValueError):
        return []
    if params and params[0].kind in (params[0].POSITIONAL_ONLY,
                                     params[0].POSITIONAL_OR_KEYWORD):
        return [params[0].name]
    return []


def io_names(model, program):
    """(ONNX input names in parameter order, output names)."""
    from ..variables import STORE  # noqa: F401  (state lives there)

    user_names = list(getattr(model, "input_names", None) or [])
    if not user_names and len(program.inputs) == 1:
        user_names = _call_arg_name(model)
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


def _refuse_variable_updates(model, program) -> None:
    """A predict step that writes variables (a stateful RNN's carried
    state, a custom layer's assign) has state an ONNX model cannot keep:
    name the variables and the layers that write them."""
    names = keras_weight_names(model, program)
    made = {o.name: n for n in program.fn.nodes for o in n.outputs}
    variables, layers = [], set()
    for state, i in program.updates:
        variables.append(names.get(state, state))
        node = made.get(program.fn.results[i].name)
        if node is not None and node.loc:
            layers.add(node.loc)
    where = f" (in layer(s) {', '.join(repr(x) for x in sorted(layers))})" \
        if layers else ""
    raise ValueError(
        f"Model '{model.name}' updates variable(s) "
        f"{', '.join(repr(v) for v in variables)} at inference{where}: an "
        "exported ONNX model has no state to carry from call to call, so it "
        "cannot be exported. Write variables only when training (e.g. `if "
        "training:` in the layer's call); a stateful RNN must be rebuilt "
        "with stateful=False (and its weights copied) to be exported."
    )


def onnx_export_spec(model, input_signature=None):
    from ...export.onnx import ExportSpec

    _refuse_host_layers(model)

    program = inference_program(model, input_signature)
    fn, values = keras_named(model, program)
    if tuple(program.outputs) != tuple(range(len(program.fn.results))):
        _refuse_state_updates(model, program)
        _refuse_variable_updates(model, program)
    inputs, outputs = io_names(model, program)
    if input_signature is not None:  # names given in the signature win
        given = [e[2] for e in _signature(
            model, input_signature, getattr(model, "inputs", None))]
        if len(given) == len(inputs):
            inputs = _unique([g or n for g, n in zip(given, inputs)])
    reserved = set(values)
    outputs = [f"{n}_output" if n in reserved or n in inputs else n
               for n in outputs]
    return ExportSpec(fn=fn, initializers=values, input_names=inputs,
                      output_names=outputs)


def _refuse_host_layers(model, what="exported to ONNX") -> None:
    """A model with host layers (strings, hashing: models/host_stage.py)
    runs them in NumPy, which an ONNX graph (or one inference program)
    cannot hold: say what to export instead."""
    stage_of = getattr(model, "_host_stage_of", None)
    host = stage_of() if stage_of is not None else None
    if host is None:
        return
    layer = host.nodes[0].operation
    raise ValueError(
        f'Model "{model.name}" cannot be {what}: its layer '
        f'"{layer.name}" ({type(layer).__name__}) {layer.host_work}, which '
        "runs in NumPy on the host before the compiled program, not in an "
        "ONNX graph or a traced program. Export the model of the layers that follow it (the "
        "model that takes its outputs: in keras.io's end-to-end text "
        "example, the trained `model`, not `end_to_end_model`) and apply "
        f'"{layer.name}" to the data in NumPy before running the ONNX '
        "model (see docs/onnx.md).")


def export(model, filepath, format="onnx", verbose=None, input_signature=None,
           opset_version=None, opset=None, **kwargs):
    """`model.export(path, format="onnx")`: Keras 3's arguments
    (`verbose`, `input_signature`, `opset_version`); `opset` is an alias
    of `opset_version`."""
    if format != "onnx":
        raise ValueError(
            "graphkeras exports models in the ONNX format only: pass "
            f"format='onnx'. Received: format={format!r}"
        )
    if kwargs:
        raise ValueError(
            f"Unsupported export argument(s): {sorted(kwargs)}. "
            "model.export takes filepath, format, verbose, input_signature "
            "and opset_version."
        )
    if opset is not None and opset_version is not None and \
            opset != opset_version:
        raise ValueError(
            "opset is an alias of opset_version: pass one of them. "
            f"Received: opset_version={opset_version!r}, opset={opset!r}"
        )
    from ...export.onnx import MAX_OPSET, MIN_OPSET, save_function

    arg = "opset_version" if opset is None else "opset"
    opset = opset_version if opset_version is not None else opset
    if opset is not None and (isinstance(opset, bool) or not isinstance(
            opset, (int, np.integer)) or not MIN_OPSET <= opset <= MAX_OPSET):
        raise ValueError(
            f"{arg} must be an integer from {MIN_OPSET} to {MAX_OPSET} (the "
            f"ONNX opsets graphkeras writes; default: the exporter's "
            f"DEFAULT_OPSET). Received: {arg}={opset!r}"
        )
    spec = onnx_export_spec(model, input_signature)
    save_function(
        spec.fn, filepath, initializers=spec.initializers,
        input_names=spec.input_names, output_names=spec.output_names,
        opset=None if opset is None else int(opset),
    )
    if verbose is None or verbose:  # Keras prints unless verbose=False
        print(f"Saved artifact at '{filepath}'.")
