#!/usr/bin/env bash
# Create a virtual environment holding graphkeras's peers for bench/run.py:
# Keras 3 with the JAX, TensorFlow and PyTorch backends, PyTorch (eager and
# torch.compile), ONNX Runtime, NumPy. It is a separate environment, never
# the project's own: graphkeras itself needs none of these.
#
#   bash bench/setup_peers.sh [VENV_DIR]      (default: ../venv-peers)
#   python bench/run.py --peers-python VENV_DIR/bin/python
#
# PyTorch is pinned to exactly 2.13.0: on these machines that takes the CPU
# wheel already on disk, where a plain `torch` pulls a CUDA build of
# several GB (shared/WORKLOADS.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-${GRAPHKERAS_PEERS_VENV:-$here/../../venv-peers}}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --upgrade pip
"$venv/bin/python" -m pip install "torch==2.13.0"
"$venv/bin/python" -m pip install keras "jax[cpu]" tensorflow-cpu \
    onnxruntime onnx numpy
"$venv/bin/python" - <<'PY'
import importlib
for name in ("keras", "jax", "tensorflow", "torch", "onnxruntime", "numpy"):
    try:
        mod = importlib.import_module(name)
        print(f"{name:12} {getattr(mod, '__version__', '?')}")
    except Exception as e:  # report, do not fail: run.py skips what is missing
        print(f"{name:12} not importable: {e}")
PY
echo "peers ready: python bench/run.py --peers-python $venv/bin/python"
