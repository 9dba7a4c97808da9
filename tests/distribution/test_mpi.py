"""DataParallel across two MPI ranks (`mpiexec -n 2`, launched as a
subprocess with a timeout): the semantics against one process, and the
faults. Needs mpi4py and an MPI (the `mpi` extra, which CI installs);
each launch costs seconds, so one launch runs several scenarios.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="the `mpi` extra (mpi4py + an MPI) is "
                    "not installed: pip install -e '.[mpi]'")

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
import mpi_worker  # noqa: E402

TOL = dict(rtol=2e-5, atol=2e-6)


def mpiexec() -> str:
    exe = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or \
        shutil.which("mpiexec")
    if exe is None:
        pytest.fail("mpi4py is installed but no mpiexec was found next to "
                    f"{sys.executable} or on PATH")
    return exe


def launch(args, tmp, timeout=90, env=None, n=2):
    """Run `mpiexec -n 2 python args...` (as root too: Open MPI's
    allow-run-as-root switches; 2 ranks may oversubscribe 2 cores)."""
    e = dict(os.environ)
    e.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
             OMPI_MCA_rmaps_base_oversubscribe="1",
             PYTHONPATH=os.pathsep.join(
                 [str(ROOT), os.environ.get("PYTHONPATH", "")]),
             GRAPHKERAS_NUM_THREADS="1",
             # the passes are verified elsewhere; here it would triple the
             # compile time of every rank
             GRAPHKERAS_VERIFY="0")
    e.update(env or {})
    t0 = time.monotonic()
    p = subprocess.run([mpiexec(), "-n", str(n), sys.executable, *args],
                       cwd=tmp, env=e, capture_output=True, text=True,
                       timeout=timeout)
    return p, time.monotonic() - t0


def run_scenarios(names, tmp, **kw):
    p, _ = launch([str(HERE / "mpi_worker.py"), ",".join(names), str(tmp)],
                  tmp, **kw)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return [dict(np.load(tmp / f"rank{r}.npz")) for r in (0, 1)]


@pytest.fixture(scope="module")
def semantics(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mpi")
    names = ["sgd", "adam", "noise", "sync_bn", "streams", "custom_step",
             "plain_bn", "callbacks", "mismatch"]
    return tmp, run_scenarios(names, tmp)


@pytest.mark.parametrize("name", ["sgd", "adam", "noise", "sync_bn",
                                  "streams", "custom_step"])
def test_two_ranks_train_as_one_process(semantics, name, tmp_path):
    # N ranks with global batch B: the weights, History (loss, metrics,
    # validation), evaluate and predict of one process with batch B; every
    # rank the same (synchronized BN reduces its moments across ranks)
    _, ranks = semantics
    one = mpi_worker.run(name, str(tmp_path), distributed=False)
    for r, res in enumerate(ranks):
        got = {k.split(".", 1)[1]: v for k, v in res.items()
               if k.startswith(name + ".")}
        assert sorted(got) == sorted(one), (sorted(got), sorted(one))
        for k in one:
            np.testing.assert_allclose(got[k], one[k], err_msg=f"rank {r} {k}",
                                       **TOL)

    def weights(res):
        return [v for k, v in res.items() if k.startswith(name + ".")
                and re.fullmatch(r"(\w+_)?w\d+", k.split(".", 1)[1])]

    w0, w1 = weights(ranks[0]), weights(ranks[1])
    assert w0 and len(w0) == len(w1)
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(a, b)


def test_plain_batch_normalization_keeps_per_rank_moments(semantics):
    _, ranks = semantics
    x = ranks[0]["plain_bn.x"]
    for r, (lo, hi) in enumerate([(0, 5), (5, 10)]):
        # one step, momentum 0.99 from zeros: 0.01 * the mean of its rows
        np.testing.assert_allclose(ranks[r]["plain_bn.moving_mean"],
                                   0.01 * x[lo:hi].mean(axis=0), rtol=1e-5)


def test_callbacks_decide_alike_and_only_rank_0_writes(semantics):
    tmp, ranks = semantics
    for res in ranks:
        assert int(res["callbacks.epochs_overruled"]) == 3
        assert int(res["callbacks.epochs_early"]) == 2
        assert int(res["callbacks.epochs_resumed"]) == 1  # epoch 3 of 3
    assert not ranks[0]["callbacks.backup_left"]  # rank 0 deleted it
    np.testing.assert_array_equal(ranks[0]["callbacks.loss_early"],
                                  ranks[1]["callbacks.loss_early"])
    assert list(ranks[0]["callbacks.files"]) == [
        "ckpt.weights.h5", "log.csv", "model.keras"]
    assert list(ranks[1]["callbacks.files"]) == [""]
    log = (tmp / "files0" / "log.csv").read_text().splitlines()
    assert len(log) == 3 and log[0].startswith("epoch")


def test_ranks_that_disagree_are_named(semantics):
    # detected at the first step, raised on every rank (none hangs)
    _, ranks = semantics
    for res in ranks:
        shapes = str(res["mismatch.shapes"])
        assert "rank 1 runs batches of another shape" in shapes, shapes
        assert "(6, 4)" in shapes and "(5, 4)" in shapes, shapes
        models = str(res["mismatch.models"])
        assert "rank 1 runs a different model" in models, models
        assert "(8, 17)" in models and "(8, 16)" in models, models


@pytest.mark.parametrize("kind,expect", [
    ("raise", "rank 1 of 2 raised an exception; aborting all ranks"),
    ("die", None),
    ("stall", "waited more than 3 s (GRAPHKERAS_MPI_TIMEOUT)"),
])
def test_a_failing_rank_stops_the_job(tmp_path, kind, expect):
    p, took = launch([str(HERE / "mpi_worker.py"), f"fault_{kind}",
                      str(tmp_path)], tmp_path, timeout=60,
                     env={"GRAPHKERAS_MPI_TIMEOUT": "3"})
    assert p.returncode != 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert not (tmp_path / "rank0.npz").exists()
    if expect is not None:
        assert expect in p.stderr, p.stderr[-3000:]
    if kind == "raise":
        assert "rank 1 fails on purpose" in p.stderr


def test_distributed_mnist_example_trains_as_one_process(tmp_path):
    # examples/distributed_mnist.py as the README runs it, under mpiexec
    # and alone: the same weights (to float rounding)
    script = str(ROOT / "examples" / "distributed_mnist.py")
    args = [script, "--epochs", "2"]
    p, _ = launch(args + ["--save", str(tmp_path / "two.npz")], tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "2 rank(s): test loss" in p.stdout
    assert p.stdout.count("Epoch 1/2") == 1  # rank 0 alone prints
    one = subprocess.run([sys.executable, *args, "--save",
                          str(tmp_path / "one.npz")], capture_output=True,
                         text=True, timeout=90, cwd=tmp_path,
                         env=dict(os.environ, GRAPHKERAS_NUM_THREADS="1",
                                  GRAPHKERAS_VERIFY="0",
                                  PYTHONPATH=str(ROOT)))
    assert one.returncode == 0, one.stderr[-3000:]
    a, b = np.load(tmp_path / "one.npz"), np.load(tmp_path / "two.npz")
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-4, atol=1e-5)
