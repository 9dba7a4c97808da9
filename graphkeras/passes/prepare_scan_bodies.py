"""The last pass before codegen: the storage plan of a program, with the
bodies of its scans prepared as codegen lowers them.

    plan_storage(fn, state, inputs, updates, outputs) -> StorageLayout

assign_storage (plan_memory.py) maps fn's values to storages; then every
scan kernel's body is compiled like a program (compile_pipeline:
simplify, materialize_results, fusion) and laid out the same way,
recursively, into `layout.bodies`. Codegen only lowers what it is given
(codegen/scan.py reads the body from there): no pass runs at lowering
time.

Requires: fn is prepare_for_codegen's output. Ensures: layout.bodies maps
the body Function of every scan kernel to (prepared body, its layout), and
each body layout carries its own scans' bodies.
"""

from __future__ import annotations

from ..ir import Function
from ..ir.plan import StorageLayout
from .compile_pipeline import prepare_for_codegen
from .plan_memory import assign_storage


def plan_storage(fn: Function, state: tuple, inputs: tuple, updates: tuple,
                 outputs: tuple) -> StorageLayout:
    """assign_storage, then prepare_scan_bodies (arguments as
    assign_storage's)."""
    return prepare_scan_bodies(assign_storage(fn, state, inputs, updates,
                                              outputs))


def prepare_scan_bodies(layout: StorageLayout) -> StorageLayout:
    """Fill layout.bodies for every scan kernel (see the module docstring)."""
    for node in layout.kernels:
        if node.op == "scan":
            body = node.attrs["body"]
            layout.bodies[body] = _prepared_body(body)
    return layout


def _prepared_body(body: Function) -> tuple:
    hit = _PREPARED.get(body)
    if hit is None:
        used = tuple(range(len(body.results)))
        fn = prepare_for_codegen(body, used)
        hit = (fn, plan_storage(fn, (), tuple(p.name for p in fn.params),
                                (), used))
        if len(_PREPARED) >= _PREPARED_MAX:
            _PREPARED.clear()
        _PREPARED[body] = hit
    return hit


_PREPARED: dict = {}  # body Function -> (prepared body, its layout)
_PREPARED_MAX = 256
