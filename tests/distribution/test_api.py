"""graphkeras.distribution in one process: Keras 3's names answer for one
CPU device, DataParallel changes nothing, and mpi4py is never imported."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import graphkeras as keras
from graphkeras import distribution
from graphkeras.frontend.distributed_trainer import replica_tracing
from graphkeras.frontend.trainer_steps import trace_step
from graphkeras.ir import print_function


def test_one_process_is_one_device():
    assert distribution.list_devices() == ["cpu:0"]
    assert distribution.list_devices("cpu") == ["cpu:0"]
    with pytest.raises(ValueError, match="graphkeras runs on CPUs"):
        distribution.list_devices("gpu")
    mesh = distribution.DeviceMesh((1,), ["batch"])
    assert mesh.shape == (1,) and mesh.devices == ["cpu:0"]
    with pytest.raises(ValueError, match="should have the same length"):
        distribution.DeviceMesh((1,), ["batch", "model"])
    dp = distribution.DataParallel(mesh)
    assert dp.batch_dim_name == "batch"
    assert distribution.distribution() is None
    with dp.scope():
        assert distribution.distribution() is dp
    assert distribution.distribution() is None
    distribution.initialize(num_processes=1, process_id=0)
    with pytest.raises(ValueError, match="mpiexec started 1 process"):
        distribution.initialize(num_processes=4)
    with pytest.raises(NotImplementedError, match="DataParallel only"):
        distribution.ModelParallel()


def test_data_parallel_alone_changes_nothing_and_imports_no_mpi():
    code = """
import sys, numpy as np, graphkeras as keras
from graphkeras import distribution
def train():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    m.compile("adam", "mse")
    x = np.arange(30, dtype="float32").reshape(10, 3) / 30
    m.fit(x, x[:, :2], batch_size=4, epochs=2, verbose=0)
    return m.get_weights()
a = train()
distribution.set_distribution(distribution.DataParallel())
b = train()
assert all(np.array_equal(u, v) for u, v in zip(a, b))
assert "mpi4py" not in sys.modules, "mpi4py was imported"
print("ok")
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0 and "ok" in p.stdout, p.stderr[-3000:]


def test_the_train_step_holds_one_collective_over_the_gradients():
    # what `graphkeras dump --program train --data-parallel` prints: the
    # gradients, the sample count and the metric increments summed in
    # one all_reduce_sum; with a one-rank descriptor the step trains as
    # one process does
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    m.compile("sgd", "mse", metrics=["mae"])
    x = np.ones((4, 3), "float32")
    with replica_tracing():
        m._distributed()
        prog = trace_step(m, "train", [x], [x[:, :2]], None, None)
    text = print_function(prog.fn)
    lines = [ln for ln in text.splitlines() if "all_reduce_sum" in ln]
    # 6 + 2 gradient elements, 1 count, loss and mae totals and counts
    assert len(lines) == 1 and ": f32[13]" in lines[0], lines
    assert "%replica_samples: f32[]" in text


def test_dump_shows_the_collective_with_data_parallel(tmp_path, capsys):
    from graphkeras.cli import main

    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2),
                          keras.layers.BatchNormalization(synchronized=True,
                                                          name="bn")])
    m.compile("sgd", "mse")
    path = str(tmp_path / "m.keras")
    m.save(path)
    assert main(["dump", path, "--program", "train"]) == 0
    assert "all_reduce_sum" not in capsys.readouterr().out
    assert main(["dump", path, "--program", "train", "--data-parallel"]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if "= all_reduce_sum" in ln]
    # the BN moments (forward, and their cotangent backward), then the
    # gradients (6 + 2 + 2 + 2) with the count and the loss total and count
    assert len(lines) == 3, lines
    assert ": f32[15]" in lines[-1]
    assert sum('loc("bn")' in ln for ln in lines) == 2
