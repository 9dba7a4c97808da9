"""The graphkeras command: dump, inspect, export (and demo's --help),
driven in-process through `graphkeras.cli.main` plus one subprocess run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile

import numpy as np
import onnx
import pytest

from graphkeras import cli, ir


def session(model):
    import onnxruntime as ort

    return ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"])


def check_same(got, want, what=""):
    assert len(got) == len(want), what
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape, what
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6, err_msg=what)

LAYERS = [(12, 16, "relu"), (16, 8, "tanh"), (8, 4, "softmax")]


def mlp(name="predict") -> ir.Function:
    b = ir.Builder(name)
    h = b.param("x", ("N", 12))
    for i, (n_in, n_out, act) in enumerate(LAYERS):
        layer = "dense" if i == 0 else f"dense_{i}"
        w = b.param(f"w{i}", (n_in, n_out))
        bias = b.param(f"b{i}", (n_out,))
        with b.at(layer):
            h = b.op(act, b.add(b.matmul(h, w), bias))
    return ir.verify(b.build([h]))


def train_step() -> ir.Function:
    from graphkeras.passes import differentiate

    fn = mlp("loss")
    b = ir.Builder.from_function(fn)
    loss = b.reduce_mean(b.log(fn.results[0]), axes=None)
    fn = b.build([loss], name="train_step")
    return ir.verify(differentiate(fn, ["w0", "b0"]))


@pytest.fixture
def gkir(tmp_path):
    path = tmp_path / "mlp.gkir"
    path.write_text(ir.print_function(mlp()) + "\n")
    return str(path)


def run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def check_user_error(rc, out, err, verb, fragment):
    assert rc == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"graphkeras {verb}: "), err
    assert fragment in lines[0], err
    assert "Traceback" not in err + out


# --- help ---------------------------------------------------------------------


@pytest.mark.parametrize("verb, expect", [
    ("dump", "--stage"), ("inspect", "--profile"), ("export", "--opset"),
    ("demo", "--epochs"),
])
def test_each_verb_has_help(capsys, verb, expect):
    with pytest.raises(SystemExit) as info:
        cli.main([verb, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: graphkeras {verb}")
    assert expect in out


def test_python_dash_m_help():
    proc = subprocess.run([sys.executable, "-m", "graphkeras", "--help"],
                          capture_output=True, text=True, timeout=120,
                          check=False,
                          cwd=os.path.dirname(os.path.dirname(cli.__file__)))
    assert proc.returncode == 0, proc.stderr
    for verb in ("demo", "dump", "inspect", "export"):
        assert verb in proc.stdout


def test_no_verb_prints_help(capsys):
    rc, out, _ = run(capsys)
    assert rc == 2 and "usage: graphkeras" in out


# --- dump -------------------------------------------------------------------------


def test_dump_text_parses_back(capsys, gkir):
    rc, out, err = run(capsys, "dump", gkir)
    assert rc == 0, err
    assert ir.parse(out) == mlp()


def test_dump_selects_the_program(capsys, tmp_path):
    path = tmp_path / "both.gkir"
    fns = [mlp(), train_step()]
    path.write_text("\n".join(ir.print_function(f) for f in fns) + "\n")
    assert ir.parse(run(capsys, "dump", path)[1]) == fns[0]
    assert ir.parse(run(capsys, "dump", path, "--program", "train")[1]) == fns[1]
    assert ir.parse(run(capsys, "dump", path, "--program", "train_step")[1]) \
        == fns[1]
    check_user_error(*run(capsys, "dump", path, "--program", "eval"), "dump",
                     "has no eval program (its functions: @predict, "
                     "@train_step)")


def test_dump_explicit_train_needs_a_train_function(capsys, gkir):
    check_user_error(*run(capsys, "dump", gkir, "--program", "train"), "dump",
                     "has no train program (its functions: @predict). Name "
                     "the function @train_step")


def test_dump_dot(capsys, gkir, tmp_path):
    rc, out, _ = run(capsys, "dump", gkir, "--format", "dot")
    assert rc == 0
    fn = mlp()
    assert out.startswith('digraph "predict" {') and out.rstrip().endswith("}")
    edges = [line for line in out.splitlines() if "->" in line]
    assert len(edges) == sum(len(n.inputs) for n in fn.nodes) + len(fn.results)
    assert '(dense_1)"' in out
    dot_file = tmp_path / "g.dot"
    assert run(capsys, "dump", gkir, "--format", "dot", "-o", dot_file)[0] == 0
    assert dot_file.read_text() == out


def test_dump_dot_renders_with_graphviz(capsys, gkir, tmp_path, monkeypatch):
    # a stand-in `dot` on PATH that records its arguments and input
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "dot"
    fake.write_text(
        "#!/bin/sh\n"
        'out=""\nwhile [ $# -gt 0 ]; do\n'
        '  case "$1" in -o) out="$2"; shift;; -T*) fmt="$1";; esac; shift\n'
        'done\n'
        'printf "%s\\n" "$fmt" > "$out"; cat >> "$out"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    svg = tmp_path / "g.svg"
    rc, _, err = run(capsys, "dump", gkir, "--format", "dot", "-o", svg)
    assert rc == 0, err
    text = svg.read_text()
    assert text.startswith("-Tsvg\ndigraph")


def test_dump_dot_without_graphviz(capsys, gkir, tmp_path, monkeypatch):
    monkeypatch.setattr(cli.shutil, "which", lambda name: None)
    check_user_error(
        *run(capsys, "dump", gkir, "--format", "dot", "-o", tmp_path / "g.png"),
        "dump", "needs Graphviz's dot program, which is not installed",
    )


def test_dump_optimized_stage(capsys, gkir):
    rc, out, err = run(capsys, "dump", gkir, "--stage", "optimized")
    assert rc == 0, err
    fn = ir.verify(ir.parse(out))
    args = [np.random.default_rng(0).normal(size=(3, 12)).astype(np.float32)]
    args += [np.random.default_rng(i).normal(size=p.type.shape).astype(
        np.float32) for i, p in enumerate(fn.params[1:])]
    check_same(ir.interpret(fn, args), ir.interpret(mlp(), args))


def test_dump_after_a_pass(capsys, gkir):
    from graphkeras.passes import pipeline

    first = pipeline.pass_name(cli._optimize_pipeline()[1][0])
    rc, out, err = run(capsys, "dump", gkir, "--stage", "optimized",
                       "--after", first)
    assert rc == 0, err
    ir.verify(ir.parse(out))
    check_user_error(
        *run(capsys, "dump", gkir, "--stage", "optimized", "--after", "nope"),
        "dump", f"--after nope: no such pass in the optimized pipeline (its "
        f"passes: {first}",
    )


def test_dump_after_needs_a_pass_stage(capsys, gkir):
    check_user_error(*run(capsys, "dump", gkir, "--after", "simplify"), "dump",
                     "--after needs a stage that runs passes")


def test_dump_train_stage_of_raw_ir(capsys, gkir):
    check_user_error(*run(capsys, "dump", gkir, "--stage", "train"), "dump",
                     "stage train builds the train step from a Keras model")


def test_dump_planned_stage(capsys, gkir):
    rc, out, err = run(capsys, "dump", gkir, "--stage", "planned")
    assert rc == 0, err
    # the program the code generator gets: fused kernels, same results
    fn = ir.verify(ir.parse(out))
    assert any(n.op == "fused" for n in fn.nodes)
    rng = np.random.default_rng(0)
    args = [rng.normal(size=(5, 12)).astype(np.float32)]
    args += [rng.normal(size=p.type.shape).astype(np.float32)
             for p in fn.params[1:]]
    check_same(ir.interpret(fn, args), ir.interpret(mlp(), args))
    # and its storage plan, as comments
    plan = [line for line in out.splitlines() if line.startswith("// ")]
    assert any(re.match(r"// s\d+ arena ", line) for line in plan), out
    assert any(line.startswith("// at batch 32: arena ") for line in plan)


def test_dump_planned_after_a_pass(capsys, gkir):
    rc, out, err = run(capsys, "dump", gkir, "--stage", "planned", "--after",
                       "materialize_results")
    assert rc == 0, err
    fn = ir.verify(ir.parse(out))
    assert not any(n.op == "fused" for n in fn.nodes)  # before fusion
    check_user_error(
        *run(capsys, "dump", gkir, "--stage", "planned", "--after", "nope"),
        "dump", "--after nope: no such pass in the planned pipeline",
    )


@pytest.mark.parametrize("stage, marks", [
    ("llvm", ['define void @"gk_step"(', "define internal", "fadd"]),
    ("asm", ["gk_step:", "vfmadd", ".globl\tgk_step"]),
])
def test_dump_native_stages(capsys, gkir, stage, marks):
    rc, out, err = run(capsys, "dump", gkir, "--stage", stage)
    assert rc == 0, err
    for mark in marks:
        assert mark in out, (mark, out[:2000])
    # the modules compiling makes: kernels named by content, then the step
    heads = [line for line in out.splitlines() if line.startswith("; ---- ")]
    assert len(heads) >= 2 and "(the step:" in heads[-1], heads
    assert all("(kernels [" in h for h in heads[:-1]), heads
    check_user_error(*run(capsys, "dump", gkir, "--stage", stage, "--after",
                          "simplify"), "dump", f"stage {stage} is the whole "
                     "compiled program")
    check_user_error(*run(capsys, "dump", gkir, "--stage", stage, "--format",
                          "dot"), "dump", "--format dot draws IR")


def test_stage_hooks_are_the_seam(capsys, gkir, monkeypatch):
    monkeypatch.setitem(cli.STAGE_HOOKS, "llvm",
                        lambda model, fn, after: f"; module for @{fn.name}")
    rc, out, _ = run(capsys, "dump", gkir, "--stage", "llvm")
    assert rc == 0 and out == "; module for @predict\n"
    check_user_error(*run(capsys, "dump", gkir, "--stage", "llvm", "--format",
                          "dot"), "dump", "--format dot draws IR")


# --- inspect ------------------------------------------------------------------------


def _flops_per_sample():
    total = 0
    for n_in, n_out, act in LAYERS:
        # matmul 2*k*n, bias add 1 per output, activation 1 (softmax 5)
        total += 2 * n_in * n_out + n_out + (5 if act == "softmax" else 1) * n_out
    return total


def test_inspect_reports_parameters_flops_and_sizes(capsys, gkir):
    rc, out, err = run(capsys, "inspect", gkir)
    assert rc == 0, err
    fn = mlp()
    n_params = sum(int(np.prod(p.type.shape)) for p in fn.params[1:])
    assert "inputs (1):\n  %x: f32[N,12]" in out
    assert f"parameters (6 tensors, {n_params:,} values, " in out
    assert "nodes: 9  (matmul 3, add 3, relu 1, tanh 1, softmax 1)" in out
    assert f"FLOPs: {_flops_per_sample():,} per sample\n" in out
    per_sample_bytes = 4 * 3 * sum(n_out for _, n_out, _ in LAYERS)
    assert f"values: 9 tensors, {per_sample_bytes:,} B per sample + 0 B per " \
           "call (unplanned total)" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.startswith("  dense")}
    assert rows["dense"][1:] == ["3", f"{2 * 12 * 16 + 32:,}",
                                 f"{12 * 16 + 16:,}"]
    assert "kernels after fusion:" in out and "arena:" in out


def test_inspect_profile(capsys, gkir):
    rc, out, err = run(capsys, "inspect", gkir, "--profile", "--steps", "2",
                       "--batch", "5")
    assert rc == 0, err
    lines = out.split("profile: ")[1].splitlines()
    assert "batch 5, 2 steps" in lines[0] and "GFLOP/s" in lines[0]
    header, rows = lines[1], lines[2:]
    assert "GFLOP/s" in header and "% peak" in header
    assert rows and all(r.lstrip().startswith("k") for r in rows)
    assert any("matmul" in r for r in rows)
    # the slowest kernel first: "k<i> <label>  <us>  <min us>  <share> ..."
    times = [float(re.split(r"\s{2,}", r.strip())[1]) for r in rows]
    assert times == sorted(times, reverse=True)


def test_inspect_profile_bad_steps(capsys, gkir):
    check_user_error(*run(capsys, "inspect", gkir, "--profile", "--steps",
                          "0"), "inspect", "--steps and --batch must be >= 1")


# --- export --------------------------------------------------------------------------


def _mlp_args(batch):
    fn = mlp()
    rng = np.random.default_rng(batch)
    return {p.name: rng.normal(size=p.type.concrete_shape({"N": batch}))
            .astype(np.float32) for p in fn.params}


def test_export_raw_ir_params_become_inputs(capsys, gkir, tmp_path):
    out_path = tmp_path / "m.onnx"
    rc, out, err = run(capsys, "export", gkir, out_path)
    assert rc == 0, err
    assert out.startswith(f"wrote {out_path}")
    model = onnx.load(str(out_path))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == [p.name for p in mlp().params]
    args = _mlp_args(7)
    check_same(session(model).run(None, args), ir.interpret(mlp(), args))


def test_export_with_weights_and_opset(capsys, gkir, tmp_path):
    args = _mlp_args(1)
    npz = tmp_path / "w.npz"
    np.savez(npz, **{k: v for k, v in args.items() if k != "x"})
    out_path = tmp_path / "m.onnx"
    rc, _, err = run(capsys, "export", gkir, out_path, "--weights", npz,
                     "--opset", "17")
    assert rc == 0, err
    model = onnx.load(str(out_path))
    assert model.opset_import[0].version == 17
    assert [i.name for i in model.graph.input] == ["x"]
    assert len(model.graph.initializer) == 6
    for batch in (1, 7, 64):
        feeds = _mlp_args(batch)
        feeds.update({k: v for k, v in args.items() if k != "x"})
        check_same(session(model).run(None, {"x": feeds["x"]}),
                   ir.interpret(mlp(), feeds), f"batch {batch}")


def test_export_errors(capsys, gkir, tmp_path):
    npz = tmp_path / "w.npz"
    np.savez(npz, bogus=np.zeros(3))
    check_user_error(*run(capsys, "export", gkir, tmp_path / "m.onnx",
                          "--weights", npz), "export",
                     "holds arrays ['bogus'] that are not parameters of "
                     "@predict")
    check_user_error(*run(capsys, "export", gkir, tmp_path / "m.onnx",
                          "--opset", "9"), "export",
                     "opset must be an integer from 17 to")
    check_user_error(*run(capsys, "export", gkir, tmp_path / "no" / "m.onnx"),
                     "export", "does not exist")
    assert not (tmp_path / "m.onnx").exists()


def test_export_unexportable_op(capsys, tmp_path):
    b = ir.Builder("predict")
    x = b.param("x", ("N", 4))
    step = b.param("step", (), "i64")
    with b.at("dropout"):
        y = b.mul(x, b.random_uniform(step, shape=("N", 4), seed=0))
    path = tmp_path / "drop.gkir"
    path.write_text(ir.print_function(b.build([y])))
    rc, out, err = run(capsys, "export", path, tmp_path / "m.onnx")
    check_user_error(rc, out, err, "export", 'Cannot export op "random_uniform"'
                     ' (node %')
    assert 'in layer "dropout" to ONNX: graphkeras\'s counter-based random ' \
        "numbers have no ONNX equivalent" in err
    assert not (tmp_path / "m.onnx").exists()


# --- files that are not models -----------------------------------------------------


def _write(tmp_path, name, data):
    p = tmp_path / name
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data)
    return p


@pytest.mark.parametrize("verb", ["dump", "inspect", "export"])
@pytest.mark.parametrize("name, data, fragment", [
    ("missing.gkir", None, "no such file: "),
    ("model.onnx", b"\x08\x07\x12\x04junk",
     ("is not a graphkeras model: expected a .keras or .h5 model file or a "
      ".gkir IR text file")),
    ("bad.gkir",
     ("func @f(%x: f32[N]) -> (f32[N]) {\n  %0 = nosuch %x : f32[N]\n"
      "  return %0\n}\n"),
     ('is not valid graphkeras IR: line 2, column 15: Unknown op "nosuch". '
      "(in: %0 = nosuch %x : f32[N])")),
    ("wrong.gkir",
     ("func @f(%x: f32[N,3]) -> (f32[N]) {\n  %0 = relu %x : f32[N]\n"
      "  return %0\n}\n"),
     ("the IR does not verify: @f, node 0 (%0 = relu): result %0 is declared "
      "f32[N] but the op gives f32[N,3]")),
    ("empty.gkir", "// nothing\n", "holds no IR functions"),
    ("binary.gkir", b"\xff\xfe\x00\x81" * 8,
     "is not a graphkeras model: it is not IR text"),
    ("model.keras", b"PK\x03\x04", "it is not a .keras archive"),
    ("model.h5", b"\x89HDF\r\n\x1a\n", "it is not a readable HDF5 file"),
    ("noext", b"PK\x03\x04", "it is not a .keras archive"),
])
def test_not_a_model_is_one_line_and_status_2(capsys, tmp_path, verb, name,
                                              data, fragment):
    path = tmp_path / name if data is None else _write(tmp_path, name, data)
    argv = [verb, path] + ([tmp_path / "o.onnx"] if verb == "export" else [])
    rc, out, err = run(capsys, *argv)
    check_user_error(rc, out, err, verb, fragment)
    if data is None:
        assert err.strip().endswith(str(path))


def test_a_directory_is_not_a_model(capsys, tmp_path):
    check_user_error(*run(capsys, "inspect", tmp_path), "inspect",
                     "is a directory, not a model file")


def test_load_model_hook_is_what_model_files_go_through(monkeypatch, tmp_path,
                                                        capsys):
    # The saving work replaces cli._load_model; the verbs then see its
    # LoadedModel (here: the MLP with its weights and Keras names).
    args = _mlp_args(2)
    weights = {k: v for k, v in args.items() if k != "x"}

    def fake_load(path):
        return cli.LoadedModel(
            path, "keras", {"predict": mlp()}, roles={"predict": "predict"},
            weights=weights, input_names={"predict": ["input_layer"]},
            output_names={"predict": ["dense_2"]})

    monkeypatch.setattr(cli, "_load_model", fake_load)
    keras_file = tmp_path / "m.keras"
    with zipfile.ZipFile(keras_file, "w") as z:
        z.writestr("config.json", "{}")
    out_path = tmp_path / "m.onnx"
    rc, _, err = run(capsys, "export", keras_file, out_path)
    assert rc == 0, err
    model = onnx.load(str(out_path))
    assert [i.name for i in model.graph.input] == ["input_layer"]
    assert [o.name for o in model.graph.output] == ["dense_2"]
    check_same(session(model).run(None, {"input_layer": args["x"]}),
               ir.interpret(mlp(), args))
    rc, out, _ = run(capsys, "inspect", keras_file)
    assert rc == 0 and "inputs (1):\n  %x: f32[N,12]" in out


def test_flops_of_a_meta_op_are_its_body_flops():
    from graphkeras.ir import registry
    from graphkeras.ir.registry import Attr, OpDef, register_op

    @register_op
    class _CliTestKernel(OpDef):
        name, onnx, kind, num_inputs = "_cli_test_kernel", "Function", "meta", None
        attrs = {"body": Attr(lambda v: v)}  # noqa: RUF012 - as OpDefs do
        vjp = registry.NOT_DIFFERENTIABLE

        def infer(self, *types, body):
            return body.results[0].type

        def reference(self, *xs, body):
            return ir.interpret(body, list(xs))[0]

    try:
        k = ir.Builder("kernel")
        a, c = k.param("a", ("N", 5)), k.param("c", (5,))
        body = k.build([k.exp(k.add(a, c))])
        b = ir.Builder("f")
        x, w = b.param("x", ("N", 5)), b.param("w", (5,))
        y = b.op("_cli_test_kernel", x, w, body=body)
        fn = b.build([y])
        env = {"N": 3}
        assert cli.node_flops(fn.nodes[0], env) == 2 * 3 * 5
        model = cli.LoadedModel("f.gkir", "gkir", {"f": fn})
        assert "FLOPs: 10 per sample\n" in cli.inspect_text(model, fn)
    finally:
        registry._REGISTRY.pop("_cli_test_kernel", None)
