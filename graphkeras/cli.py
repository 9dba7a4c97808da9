"""The `graphkeras` command (also `python -m graphkeras`).

Verbs: `demo`, `dump`, `inspect`, `export`, `cache`; each has `--help`.

MODEL is a `.gkir` file (IR text, one or more functions) or a `.keras` /
`.h5` model file. Every verb works on a `LoadedModel`, so the two kinds
share one code path: `_load_gkir` builds it from IR text, `_load_model`
(filled in by the saving work) from a Keras model file.

Stages of `dump --stage`: the hooks in `STAGE_HOOKS` turn the selected
program into the program (or text) at that stage: `planned` is the
program the code generator receives (after fusion) with its storage plan
as comments, `llvm` the generated module, `asm` the host assembly. A stage
that cannot be produced for this file raises StageNotAvailable, which the
command reports as one line.

Errors a user can cause (a missing file, a file that is not a model, IR
that does not parse or verify, an op ONNX cannot express, a bad option)
print one line on stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

EXIT_USAGE = 2
EXIT_INTERNAL = 1


class CommandError(ValueError):
    """A user-level error of the command: printed as one line, exit 2."""


class StageNotAvailable(CommandError):
    """The requested stage's machinery is not available (yet)."""


# --- loading MODEL -------------------------------------------------------------


@dataclass
class LoadedModel:
    """What the verbs work on, whatever the file was.

    `functions` holds the programs by name, in file order; `roles` maps
    "predict" / "train" to a function name when the loader knows them.
    `weights` are the values of parameters that are model state (they
    become ONNX initializers); `inputs` names the per-call input
    parameters when the loader knows them (None: guess from the batch
    dimension). `stage` is the loader's own stage hook for stages that need
    the Keras model (e.g. "train"): `stage(role, stage_name, after)`
    returns a Function or text, or raises StageNotAvailable.
    """

    path: str
    kind: str  # "gkir", "keras" or "h5"
    functions: dict
    roles: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)
    inputs: dict | None = None  # function name -> tuple of input names
    input_names: dict = field(default_factory=dict)  # fn name -> ONNX names
    output_names: dict = field(default_factory=dict)  # fn name -> ONNX names
    stage: Callable | None = None


_MODEL_SUFFIXES = {".keras": "keras", ".h5": "h5", ".hdf5": "h5"}


def _load_model(path: str, input_signature=None) -> LoadedModel:
    """Load a `.keras` or `.h5` model file into a LoadedModel.

    The model is loaded in safe mode; its predict program is traced (the
    inference program, as exported to ONNX) and, when the file holds a
    compiled model, its train step too. Weights are the state values by
    parameter name; input and output names are the model's.
    """
    from .frontend.saving import FileFormatError, load_model
    from .frontend.saving.export import (
        inference_program,
        io_names,
        keras_named,
    )

    kind = "h5" if path.lower().endswith((".h5", ".hdf5")) else "keras"
    try:
        model = load_model(path)
    except FileNotFoundError:
        raise CommandError(f"no such file: {path}") from None
    except FileFormatError as e:
        raise CommandError(str(e)) from None
    except (TypeError, ValueError, KeyError) as e:
        raise CommandError(f"cannot load {path}: {e}") from None
    try:
        program = inference_program(model, input_signature)
    except (TypeError, ValueError) as e:
        raise CommandError(f"cannot trace the model in {path}: {e}") from None
    fn, weights = keras_named(model, program)
    fn = fn.replace(name="predict")
    functions = {"predict": fn}
    inputs = {"predict": tuple(program.inputs)}
    in_names, out_names = io_names(model, program)
    train_error = None
    if getattr(model, "compiled", False) and model.loss is not None:
        try:
            train = _train_program(model)
        except (TypeError, ValueError) as e:
            train_error = str(e)
        else:
            train_fn, train_weights = keras_named(model, train)
            functions["train_step"] = train_fn
            inputs["train_step"] = tuple(train.inputs)
            weights.update(train_weights)
    else:
        train_error = "the model in the file is not compiled (no loss)"

    def stage(role, stage_name, after):
        if "train_step" not in functions:
            raise StageNotAvailable(
                f"stage train is not available for {path}: {train_error}."
            )
        if after:
            raise CommandError(
                "--after needs a stage that runs passes (optimized or later)."
            )
        return functions["train_step"]

    return LoadedModel(
        path, kind, functions,
        roles={"predict": "predict", **({"train": "train_step"}
                                        if "train_step" in functions else {})},
        weights=weights, inputs=inputs,
        input_names={"predict": in_names},
        output_names={"predict": out_names},
        stage=stage,
    )


def _train_program(model):
    """The train step of a compiled model, traced on zero data shaped
    like its inputs and outputs (sparse losses take integer labels)."""
    from .frontend.saving.export import _input_template

    xs, template = _input_template(model)
    outs = [t.shape for t in (model.outputs or [])]
    losses = model.loss if isinstance(model.loss, (list, tuple)) else (
        list(model.loss.values()) if isinstance(model.loss, dict)
        else [model.loss] * len(outs))
    ys = []
    for shape, loss in zip(outs, losses):
        name = getattr(loss, "name", None) or getattr(loss, "__name__", None) \
            or str(loss)
        if "sparse" in str(name).lower():
            ys.append(np.zeros((1,) + tuple(shape[1:-1]), "int64"))
        else:
            ys.append(np.zeros((1,) + tuple(shape[1:]), "float32"))
    model._distributed()  # dump --data-parallel: as one rank of a job
    from .frontend.trainer_steps import trace_step

    return trace_step(model, "train", xs, ys, None, template)


def _load_gkir(path: str) -> LoadedModel:
    from .ir import ParseError, VerifyError, parse_many, verify

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise CommandError(
            f"{path} is not a graphkeras model: it is not IR text (.gkir) "
            f"and not a .keras or .h5 file."
        ) from None
    try:
        fns = parse_many(text)
    except ParseError as e:
        # the parser's message is "line L, column C: what" then the line
        head, _, src = str(e).partition("\n")
        where = f" (in: {src.strip()})" if src.strip() else ""
        raise CommandError(
            f"{path} is not valid graphkeras IR: {head}{where}"
        ) from None
    if not fns:
        raise CommandError(f"{path} holds no IR functions.")
    functions = {}
    for fn in fns:
        if fn.name in functions:
            raise CommandError(f"{path} defines @{fn.name} twice.")
        try:
            verify(fn)
        except VerifyError as e:
            raise CommandError(f"{path}: the IR does not verify: {e}") from None
        functions[fn.name] = fn
    return LoadedModel(path, "gkir", functions)


def _load_keras_file(path: str, input_signature) -> LoadedModel:
    # NOTE: _load_model(path) is a hook others replace (tests, saving):
    # called with one argument unless the export verb sizes the inputs.
    if input_signature is None:
        return _load_model(path)
    return _load_model(path, input_signature)


def load(path: str, input_signature=None) -> LoadedModel:
    """Load MODEL: a .gkir IR file, or a .keras / .h5 model file (its
    predict program traced at `input_signature`'s sizes when given)."""
    if not os.path.exists(path):
        raise CommandError(f"no such file: {path}")
    if os.path.isdir(path):
        raise CommandError(f"{path} is a directory, not a model file.")
    ext = os.path.splitext(path)[1].lower()
    if ext in _MODEL_SUFFIXES:
        return _load_keras_file(path, input_signature)
    if ext == ".gkir":
        return _load_gkir(path)
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith((b"PK\x03\x04", b"\x89HDF")):
        return _load_keras_file(path, input_signature)
    if head.lstrip().startswith((b"func", b"//")):
        return _load_gkir(path)
    raise CommandError(
        f"{path} is not a graphkeras model: expected a .keras or .h5 model "
        f"file or a .gkir IR text file."
    )


_ROLE_NAMES = {
    "predict": ("predict", "predict_step", "forward", "inference"),
    "train": ("train_step", "train"),
}


def select(model: LoadedModel, program: str | None):
    """The Function that `--program` names (see the dump help)."""
    fns = model.functions
    names = ", ".join(f"@{n}" for n in fns)
    if program is None:
        if len(fns) == 1:
            return next(iter(fns.values()))
        program = "predict"
    if program in model.roles:
        return fns[model.roles[program]]
    for name in _ROLE_NAMES.get(program, ()):
        if name in fns:
            return fns[name]
    if program in fns:
        return fns[program]
    hint = (" Name the function @train_step, or pick one by name."
            if program == "train" else " Pick one by name with --program.")
    raise CommandError(
        f"{model.path} has no {program} program (its functions: {names})."
        + hint
    )


# --- stages ---------------------------------------------------------------------

STAGES = ("traced", "train", "optimized", "planned", "llvm", "asm")


def _stage_traced(model, fn, after):
    if after:
        raise CommandError(
            "--after needs a stage that runs passes (optimized or later)."
        )
    return fn


def _stage_train(model, fn, after):
    if model.stage is not None:
        return model.stage("train", "train", after)
    raise StageNotAvailable(
        "stage train builds the train step from a Keras model (loss, "
        "gradients, optimizer), which a .gkir file does not hold; use "
        "--stage traced to print the file's program as written."
    )


def _optimize_pipeline():
    from .passes import pipeline

    passes = pipeline.SIMPLIFY_PIPELINE
    return pipeline, list(passes)


def _run_passes(fn, passes, after, stage):
    """Run `passes`; with `after`, return the program right after that
    pass (the first time it runs)."""
    pipeline = _optimize_pipeline()[0]
    if not after:
        return pipeline.run_pipeline(fn, passes)
    names = [pipeline.pass_name(p) for p in passes]
    if after not in names:
        raise CommandError(
            f"--after {after}: no such pass in the {stage} pipeline (its "
            f"passes: {', '.join(names)})."
        )
    return pipeline.run_pipeline(fn, passes[: names.index(after) + 1])


def _stage_optimized(model, fn, after):
    _, passes = _optimize_pipeline()
    return _run_passes(fn, passes, after, "optimized")


def _planned(fn, after):
    """(prepared Function, StorageLayout or None) of fn with every parameter
    an input and every result written: the compile pipeline's program, or,
    with `after`, the program right after that pass (then no layout)."""
    from .passes.compile_pipeline import codegen_passes
    from .passes.prepare_scan_bodies import plan_storage

    used = tuple(range(len(fn.results)))
    passes = codegen_passes(used)
    prepared = _run_passes(fn, passes, after, "planned")
    if after:
        return prepared, None
    layout = plan_storage(prepared, (), tuple(p.name for p in fn.params),
                          (), used)
    return prepared, layout


def _stage_planned(model, fn, after):
    """The program after the compile pipeline (fusion, results
    materialized), followed by its storage plan as `//` comments (the text
    still parses): each storage's kind, type, live range and values, and
    the arena at batch 32."""
    from .ir import print_function
    from .passes.plan_memory import plan_offsets

    prepared, layout = _planned(fn, after)
    text = print_function(prepared) + "\n"
    if layout is None:
        return text
    plan = plan_offsets(layout, _env(prepared, 32))
    lines = ["", f"// storage plan: {len(layout.kernels)} kernels, "
             f"{len(layout.storages)} storages",
             "// s<id> <kind> <name> <type> [first kernel, last kernel] "
             "<values>"]
    lines += [f"// {line}" for line in layout.describe().splitlines()]
    lines.append(f"// at batch 32: {plan.report()}")
    return text + "\n".join(lines) + "\n"


def _stage_native(stage: str):
    def hook(model, fn, after):
        """The generated LLVM module of fn (`llvm`, before LLVM's
        optimisation) or the host assembly after it (`asm`)."""
        if after:
            raise CommandError(
                f"--after selects a pass of the optimized or planned "
                f"stage; stage {stage} is the whole compiled program."
            )
        from .codegen.jit import KERNEL_OPTIONS, module_text
        from .codegen.step_module import build_parts

        prepared, layout = _planned(fn, None)
        out = []
        # the modules compiling makes, as it makes them: one per distinct
        # kernel (sizes taken at run time as symbols), then the step's
        for part in build_parts(prepared, layout, fn.name):
            what = (f"kernels {list(part.kernels)}" if part.content else
                    "the step: tables, body, entry points")
            out.append(f"; ---- module {part.name} ({what})\n" + module_text(
                part.text, part.name, asm=stage == "asm", **KERNEL_OPTIONS))
        return "\n".join(out)

    return hook


STAGE_HOOKS: dict[str, Callable] = {
    "traced": _stage_traced,
    "train": _stage_train,
    "optimized": _stage_optimized,
    "planned": _stage_planned,
    "llvm": _stage_native("llvm"),
    "asm": _stage_native("asm"),
}


# --- dot ----------------------------------------------------------------------------


def _dot_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(fn) -> str:
    """Graphviz dot text of fn: parameters, nodes (op, type, layer) and the
    edges between them."""
    from .ir.text import format_type

    lines = [f"digraph {_dot_str(fn.name)} {{",
             '  node [fontname="monospace", fontsize=10];']
    where: dict[str, str] = {}
    for i, p in enumerate(fn.params):
        key = f"p{i}"
        where[p.name] = key
        label = f"%{p.name}\\n{format_type(p.type)}"
        lines.append(f'  {key} [shape=ellipse, label="{_esc(label)}"];')
    for i, n in enumerate(fn.nodes):
        key = f"n{i}"
        outs = ", ".join(f"%{o.name}" for o in n.outputs)
        types = ", ".join(format_type(o.type) for o in n.outputs)
        op = n.op
        if op == "fused":  # a kernel after fusion: the ops it runs
            op = "fused(" + "+".join(
                m.op for m in n.attrs["body"].nodes
                if m.op not in ("constant", "zeros", "ones")) + ")"
        label = f"{outs} = {op}\\n{types}"
        if n.loc:
            label += f"\\n({n.loc})"
        lines.append(f'  {key} [shape=box, label="{_esc(label)}"];')
        for v in n.inputs:
            lines.append(f"  {where[v.name]} -> {key};")
        for o in n.outputs:
            where[o.name] = key
    for i, r in enumerate(fn.results):
        lines.append(f'  r{i} [shape=doublecircle, label="return {i}"];')
        lines.append(f"  {where[r.name]} -> r{i};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _esc(label: str) -> str:
    # labels carry "\n" escapes for dot; escape quotes only
    return label.replace('"', '\\"')


_RENDER = (".svg", ".png", ".pdf")


def _write_output(text: str, path: str | None, fmt: str) -> None:
    if path is None:
        sys.stdout.write(text)
        return
    ext = os.path.splitext(path)[1].lower()
    if fmt == "dot" and ext in _RENDER:
        dot = shutil.which("dot")
        if dot is None:
            raise CommandError(
                f"rendering {path} needs Graphviz's dot program, which is not "
                f"installed; write the dot text with -o "
                f"{os.path.splitext(path)[0]}.dot instead."
            )
        proc = subprocess.run([dot, f"-T{ext[1:]}", "-o", path],
                              input=text.encode(), capture_output=True,
                              check=False)
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip()
            raise CommandError(f"dot failed to render {path}: {err}")
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CommandError(f"cannot write {path}: no such directory {folder}")
    with open(path, "w") as f:
        f.write(text)


# --- dump ------------------------------------------------------------------------------


def _dump(args) -> int:
    from .ir import Function, print_function

    if getattr(args, "data_parallel", False):
        from .frontend.distributed_trainer import replica_tracing

        with replica_tracing():  # the train step as a DataParallel rank's
            model = load(args.model)
    else:
        model = load(args.model)
    fn = select(model, args.program)
    if args.format == "dot" and args.stage == "planned":
        # the compiled program's picture: one box per kernel after fusion
        result = _planned(fn, args.after)[0]
    else:
        result = STAGE_HOOKS[args.stage](model, fn, args.after)
    if isinstance(result, Function):
        text = print_function(result) + "\n"
        if args.format == "dot":
            text = to_dot(result)
    else:
        if args.format == "dot":
            raise CommandError(
                f"--format dot draws IR; stage {args.stage} is not IR."
            )
        text = result if result.endswith("\n") else result + "\n"
    _write_output(text, args.output, args.format)
    return 0


# --- inspect: counts, FLOPs, sizes -----------------------------------------------


def node_flops(node, env) -> int:
    """Floating-point (or integer) operations of one node: its op's rule
    (OpDef.flops, ir/registry.py: 1 per output element of an elementwise
    op, 1 per input element of a reduction, 2*m*k*n per matrix product,
    softmax 5 per element, a fused kernel what its body costs, data
    movement 0), the same count the profiler and the thread cost model
    use."""
    from .ir.registry import node_flops as count

    return count(node, env)


def _env(fn, n: int) -> dict:
    """Sizes for fn's symbols: N = n, any other symbol 1."""
    syms = {d for v in fn.values() for d in v.type.shape if isinstance(d, str)}
    return {s: (n if s == "N" else 1) for s in syms}


def _per_sample(f: Callable[[dict], int], fn) -> tuple:
    """(per sample, fixed) of a quantity linear in the batch size N."""
    one, two = f(_env(fn, 1)), f(_env(fn, 2))
    return two - one, 2 * one - two


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:,} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _input_names(model: LoadedModel, fn) -> set:
    if model.inputs is not None and fn.name in model.inputs:
        return set(model.inputs[fn.name])
    if model.weights:
        return {p.name for p in fn.params if p.name not in model.weights}
    # IR alone: parameters with the batch dimension are the inputs
    return {p.name for p in fn.params if not p.type.is_static}


def inspect_text(model: LoadedModel, fn) -> str:
    """The `inspect` report of one program."""
    from .ir.text import format_type

    out = [f"@{fn.name}  ({model.path})"]
    inputs = _input_names(model, fn)
    ins = [p for p in fn.params if p.name in inputs]
    state = [p for p in fn.params if p.name not in inputs]
    out.append(f"inputs ({len(ins)}):")
    for p in ins:
        out.append(f"  %{p.name}: {format_type(p.type)}")
    n_values = sum(p.type.num_elements(_env(fn, 1)) for p in state)
    n_bytes = sum(p.type.num_elements(_env(fn, 1)) * p.type.dtype.itemsize
                  for p in state)
    out.append(f"parameters ({len(state)} tensors, {_fmt_int(n_values)} "
               f"values, {_fmt_bytes(n_bytes)}):")
    for p in state:
        out.append(f"  %{p.name}: {format_type(p.type)}")
    out.append(f"results ({len(fn.results)}): "
               + ", ".join(format_type(r.type) for r in fn.results))

    counts = Counter(n.op for n in fn.nodes)
    out.append(f"nodes: {len(fn.nodes)}  ("
               + ", ".join(f"{op} {c}" for op, c in counts.most_common()) + ")")

    # per layer (the nodes' loc): nodes, FLOPs, parameters read
    def flops_of(nodes):
        return lambda env: sum(node_flops(n, env) for n in nodes)

    by_layer: dict = {}
    for n in fn.nodes:
        by_layer.setdefault(n.loc or "(no layer)", []).append(n)
    state_names = {p.name for p in state}
    rows = []
    for layer, nodes in by_layer.items():
        per, _ = _per_sample(flops_of(nodes), fn)
        used = {v.name: v for n in nodes for v in n.inputs
                if v.name in state_names}
        params = sum(v.type.num_elements(_env(fn, 1)) for v in used.values())
        rows.append((layer, str(len(nodes)), _fmt_int(per), _fmt_int(params)))
    out.append("layers:")
    out.extend(_table(("layer", "nodes", "FLOPs/sample", "parameters"), rows))

    per, fixed = _per_sample(flops_of(fn.nodes), fn)
    line = f"FLOPs: {_fmt_int(per)} per sample"
    if fixed:
        line += f" + {_fmt_int(fixed)} per call"
    out.append(line)

    def value_bytes(env):
        return sum(o.type.num_elements(env) * o.type.dtype.itemsize
                   for n in fn.nodes for o in n.outputs)

    per, fixed = _per_sample(value_bytes, fn)
    out.append(f"values: {sum(len(n.outputs) for n in fn.nodes)} tensors, "
               f"{_fmt_bytes(per)} per sample + {_fmt_bytes(fixed)} per call "
               f"(unplanned total)")
    env32 = _env(fn, 32)
    big = sorted(((o.type.num_elements(env32) * o.type.dtype.itemsize, o, n)
                  for n in fn.nodes for o in n.outputs),
                 key=lambda t: -t[0])[:5]
    if big:
        out.append("largest values at batch 32:")
        for size, o, n in big:
            loc = f"  ({n.loc})" if n.loc else ""
            out.append(f"  %{o.name} = {n.op}: {format_type(o.type)}  "
                       f"{_fmt_bytes(size)}{loc}")
    out.extend(_compiled_facts(model, fn))
    return "\n".join(out) + "\n"


def _compiled(fn):
    """(CompiledExecutable of fn with every parameter an input and every
    result an output, compile seconds), or (None, reason)."""
    from .ir import InternalCompilerError
    from .runtime import Program, StateStore
    from .runtime.compiled import CompiledExecutable

    names = tuple(p.name for p in fn.params)
    prog = Program(fn, state=(), inputs=names, updates=(),
                   outputs=tuple(range(len(fn.results))))
    t0 = time.perf_counter()
    try:
        exe = CompiledExecutable(prog, StateStore())
    except (ValueError, InternalCompilerError) as e:
        # a size no input gives, an op without a lowering: inspect says so
        return None, str(e).splitlines()[0]
    return exe, time.perf_counter() - t0


def _compiled_facts(model: LoadedModel, fn) -> list:
    """Kernels after fusion, the arena at batch 32 beside the unplanned
    total and the liveness lower bound, compile time."""
    from .passes.plan_memory import plan_offsets

    exe, info = _compiled(fn)
    if exe is None:
        return [f"compiled: not available ({info})"]
    plan = plan_offsets(exe.layout, _env(fn, 32))
    hit = " (compile cache hit)" if exe.cache_hit else ""
    return [
        f"kernels after fusion: {len(exe.layout.kernels)} (from "
        + f"{len(fn.nodes)} nodes)",
        f"arena: {_fmt_bytes(plan.arena_bytes)} at batch 32 (sum of the "
        + f"buffers {_fmt_bytes(plan.total_bytes)}, liveness lower bound "
        + f"{_fmt_bytes(plan.lower_bound)})",
        f"compile time: {info:.3f} s{hit}",
    ]


def _table(header: tuple, rows: list) -> list:
    widths = [max(len(str(r[i])) for r in (header, *rows))
              for i in range(len(header))]

    def fmt(r):
        first = str(r[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(r[1:], widths[1:])]
        return "  " + "  ".join([first, *rest])

    return [fmt(header)] + [fmt(r) for r in rows]


def synthetic_inputs(fn, batch: int, seed: int = 0) -> list:
    """Random arrays for fn's parameters at batch size `batch` (other
    symbols: 1): normal floats, small non-negative ints, random bools."""
    rng = np.random.default_rng(seed)
    env = _env(fn, batch)
    out = []
    for p in fn.params:
        shape = p.type.concrete_shape(env)
        t = p.type.dtype
        if t.is_bool:
            out.append(rng.random(shape) < 0.5)
        elif t.is_int:
            out.append(rng.integers(0, 10, size=shape).astype(t.np))
        else:
            out.append(rng.normal(size=shape).astype(t.np))
    return out


def profile_text(fn, steps: int, batch: int) -> str:
    """Time each compiled kernel over `steps` runs on synthetic inputs
    (runtime/profile.py): median and fastest time, share, GFLOP/s and % of
    the machine's peak; the slowest first."""
    exe, info = _compiled(fn)
    if exe is None:
        raise CommandError(f"cannot profile @{fn.name}: {info}")
    prof = exe.profile(synthetic_inputs(fn, batch), repeats=steps)
    head = (f"profile: compiled kernels, batch {batch}, {steps} steps, "
            f"{prof.step_seconds * 1e3:.3f} ms per step (median), "
            f"{prof.threads} thread{'s' if prof.threads > 1 else ''}, peak "
            f"{prof.peak_gflops:.1f} GFLOP/s")
    rows = prof.table().splitlines()[1:]
    return "\n".join([head, *rows]) + "\n"


def _inspect(args) -> int:
    model = load(args.model)
    fn = select(model, args.program)
    text = inspect_text(model, fn)
    if args.profile:
        if args.steps < 1 or args.batch < 1:
            raise CommandError(
                f"--steps and --batch must be >= 1, received --steps "
                f"{args.steps} --batch {args.batch}."
            )
        text += profile_text(fn, args.steps, args.batch)
    sys.stdout.write(text)
    return 0


# --- export ---------------------------------------------------------------------------


def _read_weights(path: str) -> dict:
    if not os.path.exists(path):
        raise CommandError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in data.files}
    except (ValueError, OSError) as e:
        raise CommandError(
            f"{path} is not a .npz file of weights: {e}"
        ) from None


def _input_shapes(texts) -> list | None:
    """--input-shape values ("32", "28,28,1") as (None, *sizes) tuples."""
    if not texts:
        return None
    shapes = []
    for text in texts:
        try:
            sizes = tuple(int(t) for t in text.split(","))
        except ValueError:
            sizes = ()
        if not sizes or min(sizes) < 1:
            raise CommandError(
                f"--input-shape takes the sizes of one input's dimensions "
                f"after the batch, as positive integers separated by commas "
                f"(e.g. 32 or 28,28,1). Received: {text!r}"
            )
        shapes.append((None,) + sizes)
    return shapes


def _export(args) -> int:
    from .export.onnx import save_function

    shapes = _input_shapes(args.input_shape)
    if shapes is not None and os.path.splitext(args.model)[1].lower() == \
            ".gkir":
        raise CommandError("--input-shape applies to .keras and .h5 model "
                           "files, not to IR text.")
    model = load(args.model, shapes)
    fn = select(model, args.program)
    weights = {k: v for k, v in model.weights.items()
               if k in {p.name for p in fn.params}}
    if args.weights:
        extra = _read_weights(args.weights)
        params = {p.name for p in fn.params}
        unknown = sorted(set(extra) - params)
        if unknown:
            raise CommandError(
                f"{args.weights} holds arrays {unknown} that are not "
                f"parameters of @{fn.name} (its parameters: "
                f"{', '.join(sorted(params))})."
            )
        weights.update(extra)
    m = save_function(
        fn, args.out, initializers=weights,
        input_names=model.input_names.get(fn.name),
        output_names=model.output_names.get(fn.name),
        opset=args.opset,
    )
    ins = ", ".join(i.name for i in m.graph.input)
    size = os.path.getsize(args.out)
    print(f"wrote {args.out} ({_fmt_bytes(size)}): @{fn.name}, opset "
          f"{m.opset_import[0].version}, inputs: {ins or 'none'}; "
          f"{len(m.graph.output)} output(s); {len(m.graph.initializer)} "
          f"initializer(s)")
    return 0


# --- demo -----------------------------------------------------------------------------


def _demo(args) -> int:
    from .demo import run_demo

    return run_demo(epochs=args.epochs, out_dir=args.out_dir)


# --- the parser ------------------------------------------------------------------------

_MODEL_HELP = "a .keras or .h5 model file, or a .gkir file of IR text"
_PROGRAM_HELP = (
    "which program: predict or train (or a function's name in a .gkir "
    "file); default: the only function, else predict"
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="graphkeras",
        description="The Keras API, compiled to native CPU code.",
    )
    sub = p.add_subparsers(dest="verb", metavar="VERB")

    d = sub.add_parser("demo", help="train a model on a shipped dataset",
                       description="Train an MLP on the shipped digits data, "
                       "print Keras-style progress, export ONNX.")
    d.add_argument("--epochs", type=int, default=20)
    d.add_argument("--out-dir", metavar="DIR", default=None,
                   help="where to write digits_mlp.keras and "
                   "digits_mlp.onnx (default: a new temporary directory)")
    d.set_defaults(func=_demo)

    d = sub.add_parser(
        "dump", help="print a program at a stage of the compiler",
        description="Print MODEL's program at a stage of the compiler, as IR "
        "text (which parses back) or as Graphviz dot.",
    )
    d.add_argument("model", metavar="MODEL", help=_MODEL_HELP)
    d.add_argument("--program", default=None, help=_PROGRAM_HELP)
    d.add_argument("--stage", choices=STAGES, default="traced",
                   help="traced (as written or traced), train (the train "
                   "step), optimized (after the pass pipeline), planned "
                   "(fused and memory-planned), llvm, asm; default: traced")
    d.add_argument("--after", metavar="PASS", default=None,
                   help="print the program right after this pass of the "
                   "stage's pipeline")
    d.add_argument("--format", choices=("text", "dot"), default="text",
                   help="IR text (default) or Graphviz dot")
    d.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write to FILE instead of stdout; with --format dot, "
                   "a .svg/.png/.pdf FILE is rendered with Graphviz")
    d.add_argument("--data-parallel", action="store_true",
                   help="trace the train step as one rank of a "
                   "DataParallel job runs it (graphkeras.distribution: "
                   "gradients summed across ranks by all_reduce_sum)")
    d.set_defaults(func=_dump)

    d = sub.add_parser(
        "inspect", help="parameters, FLOPs, sizes and profile of a program",
        description="Report MODEL's program: inputs, parameters, layers, "
        "node counts, FLOPs per sample and value sizes; with --profile, run "
        "synthetic steps and time each node.",
    )
    d.add_argument("model", metavar="MODEL", help=_MODEL_HELP)
    d.add_argument("--program", default=None, help=_PROGRAM_HELP)
    d.add_argument("--profile", action="store_true",
                   help="run synthetic steps and print the time per node")
    d.add_argument("--steps", type=int, default=10, metavar="K",
                   help="steps to time with --profile (default 10)")
    d.add_argument("--batch", type=int, default=32, metavar="B",
                   help="batch size of the synthetic inputs (default 32)")
    d.set_defaults(func=_inspect)

    d = sub.add_parser(
        "export", help="write a program as an ONNX model",
        description="Write MODEL's inference program as an ONNX model with "
        "a symbolic batch dimension. Parameters with weight values become "
        "initializers; the others become graph inputs.",
    )
    d.add_argument("model", metavar="MODEL", help=_MODEL_HELP)
    d.add_argument("out", metavar="OUT.onnx", help="the ONNX file to write")
    d.add_argument("--opset", type=int, default=None, metavar="K",
                   help="ONNX opset (default: graphkeras.export.onnx."
                   "DEFAULT_OPSET)")
    d.add_argument("--program", default=None, help=_PROGRAM_HELP)
    d.add_argument("--weights", metavar="NPZ", default=None,
                   help="a .npz file of parameter values (by parameter "
                   "name) to store as initializers")
    d.add_argument("--input-shape", metavar="SIZES", action="append",
                   default=None,
                   help="the sizes of an input's dimensions after the batch "
                   "(e.g. 32 or 28,28,1), for inputs that leave some open "
                   "(Input((None,))); once per input, in order")
    d.set_defaults(func=_export)

    d = sub.add_parser(
        "cache", help="show or empty the compile cache",
        description="info: where the compile cache is, whether it is "
        "trusted, its entries and size cap (GRAPHKERAS_CACHE_MAX); clear: "
        "remove every entry.",
    )
    d.add_argument("action", choices=("info", "clear"))
    d.set_defaults(func=_cache)
    return p


def _cache(args) -> int:
    from .codegen import cache

    if args.action == "clear":
        n = cache.clear()
        print(f"removed {n} entries from {cache.info()['dir']}")
        return 0
    i = cache.info()
    mb = 1 / 2**20
    state = ("off (GRAPHKERAS_CACHE=0)" if not i["enabled"]
             else "in use" if i["trusted"] is True
             else f"not used: {i['trusted']}")
    print(f"compile cache: {i['dir']}\n"
          f"  {state}\n"
          f"  {i['entries']} entries, {i['bytes'] * mb:.1f} MiB of "
          f"{i['max_bytes'] * mb:.0f} MiB (GRAPHKERAS_CACHE_MAX)")
    return 0


def _one_line(msg: str) -> str:
    return " ".join(part.strip() for part in str(msg).splitlines()
                    if part.strip())


def main(argv=None) -> int:
    from .ir.errors import InternalCompilerError, IRTypeError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except InternalCompilerError as e:
        print(f"graphkeras {args.verb}: internal error: {_one_line(e)}",
              file=sys.stderr)
        return EXIT_INTERNAL
    except RecursionError:
        # a loader that let one through: still one line, still a user error
        print(f"graphkeras {args.verb}: the input nests too deeply to be "
              "read.", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, ValueError, IRTypeError) as e:
        # user-level errors: CommandError, ParseError/VerifyError,
        # ExportError, IRTypeError, unreadable or unwritable files
        print(f"graphkeras {args.verb}: {_one_line(e)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
