"""The README's main job. Until the Keras frontend lands it trains a
2-layer MLP written directly in IR on the shipped digits data with the
reference interpreter."""

from __future__ import annotations


def run_demo(epochs: int = 20) -> int:
    raise SystemExit("graphkeras demo: the Keras frontend has not landed yet.")
