"""What the bench scripts share (run.py, bench_cnn.py, bench_lstm.py): the
machine line (CPU model and the vector width graphkeras uses there), the
`--busy` competing process, per-process thread limits, and importing a
Keras-API system.

Imported by the scripts as `common` (bench/ is the script directory, also
in the workers run with the peers' Python)."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine() -> str:
    """CPU model, core count, the vector flags that matter, load average."""
    model, flags = platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    have = [f for f in ("avx512f", "avx512_bf16", "avx2", "fma") if f in flags]
    width = ("512-bit (AVX-512)" if "avx512f" in flags else
             "256-bit (AVX2)" if "avx2" in flags else "128-bit")
    return (f"{model}, {os.cpu_count()} cpus, {', '.join(have) or 'no avx'}; "
            f"graphkeras vectors {width}; "
            f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


BUSY_CODE = "while True: pass"


@contextlib.contextmanager
def busy(on: bool = True):
    """With `on`: a competing process (`python -c "while True: pass"`)
    keeps one core busy for the duration of the block, as other programs
    do on users' machines; it is stopped (by its own pid) at the end."""
    if not on:
        yield None
        return
    proc = subprocess.Popen([sys.executable, "-c", BUSY_CODE])
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def busy_note(on: bool) -> str:
    return ("; one core kept busy by a competing `python -c \"while True: "
            "pass\"` (--busy)" if on else "")


def limit_threads(system: str, threads: int) -> None:
    """Thread limits, set before the framework is imported (0: defaults)."""
    if not threads:
        return
    t = str(threads)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "GRAPHKERAS_NUM_THREADS"):
        os.environ[k] = t
    if system == "keras-jax":
        os.environ["XLA_FLAGS"] = ("--xla_cpu_multi_thread_eigen=false "
                                   f"intra_op_parallelism_threads={t}")
    if system in ("torch", "keras-torch"):
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
    if system == "keras-tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def keras_system(system: str):
    """(the Keras-API module, its version) for graphkeras or keras-<backend>;
    PyTorch flushes denormals, as our kernels do."""
    if system == "graphkeras":
        sys.path.insert(0, ROOT)
        import graphkeras as keras

        return keras, keras.__version__
    os.environ["KERAS_BACKEND"] = system.split("-", 1)[1]
    if system == "keras-torch":
        import torch

        torch.set_flush_denormal(True)
    import keras

    return keras, keras.__version__


def run_worker(system: str, cmd: list, timeout: float,
               tail: int = 1500) -> dict | None:
    """Run one benchmark worker process and return the JSON of its
    `RESULT ` line; None (saying why) when it times out or prints none."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        print(f"  {system}: timed out", flush=True)
        return None
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(f"  {system}: failed\n{r.stderr[-tail:]}", flush=True)
    return None


def export_onnx(module: str, builder: str, filename: str) -> str | None:
    """The model `builder(keras)` of bench/`module`.py exported to ONNX by
    graphkeras (model.export, in a subprocess of the project's Python, so
    the calling interpreter imports no framework); None (and why) when
    the export fails: the onnxruntime rows are skipped."""
    import tempfile

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(tempfile.mkdtemp(prefix="gk-bench-onnx-"), filename)
    code = (f"import sys; sys.path.insert(0, {ROOT!r}); "
            f"sys.path.insert(0, {here!r})\n"
            "import graphkeras as keras\n"
            f"from {module} import {builder}\n"
            f"{builder}(keras).export({path!r}, format='onnx')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, timeout=600, check=False)
    if r.returncode or not os.path.exists(path):
        print("ONNX export failed (onnxruntime skipped):\n" + r.stderr[-800:])
        return None
    return path


def add_system_args(ap, systems: str, timeout: float) -> None:
    """The options every side-by-side bench takes: --systems (comma list,
    default `systems`), --peers-python (the peers' interpreter:
    $GRAPHKERAS_PEERS_PYTHON or bench/setup_peers.sh's) and --timeout
    (seconds a worker may take)."""
    ap.add_argument("--systems", default=systems)
    ap.add_argument("--peers-python", default=os.environ.get(
        "GRAPHKERAS_PEERS_PYTHON", "/work/venv-peers/bin/python"))
    ap.add_argument("--timeout", type=float, default=timeout)

