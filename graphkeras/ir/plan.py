"""The memory plan's data: what passes/plan_memory.py decides and what
codegen and the runtime consume (storages, the value -> storage map, the
kernel order, arena offsets).

Plain data only; the planning itself lives in passes/plan_memory.py.

Invariant: the distinct storages one kernel touches never overlap in
memory, so codegen may mark kernel pointers `noalias`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .function import Value
from .types import TensorType


@dataclass
class Storage:
    id: int
    kind: str  # "input", "state", "output", "arena", "const"
    name: str  # parameter name, "out<i>" or the defining value's name
    type: TensorType  # type of the defining value (its byte size)
    first: int = -1  # kernel that writes it first (-1: before the step)
    last: int = -1  # last kernel reading it (n_kernels: read at the end)

    def nbytes(self, env: dict) -> int:
        return self.type.num_elements(env) * self.type.dtype.itemsize


@dataclass
class StorageLayout:
    kernels: list  # the Nodes that run as kernels, in order
    storages: list  # Storage, indexed by id
    value_storage: dict  # value name -> storage id
    end_copies: list = field(default_factory=list)  # (src id, dst id)
    inplace: list = field(default_factory=list)  # (kernel idx, in, out names)
    const_values: dict = field(default_factory=dict)  # value -> ConstArray
    # scan body Function -> (prepared body, its StorageLayout), for every
    # scan kernel (passes/prepare_scan_bodies.py); codegen lowers
    # a scan's body from here
    bodies: dict = field(default_factory=dict)

    def storage_of(self, v) -> Storage:
        name = v.name if isinstance(v, Value) else v
        return self.storages[self.value_storage[name]]

    def describe(self) -> str:
        """A stable text form (part of the compile-cache key)."""
        lines = []
        by_storage: dict = {}  # one pass: linear in the program's size
        for k, v in self.value_storage.items():
            by_storage.setdefault(v, []).append(k)
        for s in self.storages:
            members = sorted(by_storage.get(s.id, ()))
            lines.append(f"s{s.id} {s.kind} {s.name} {s.type} [{s.first},"
                         f"{s.last}] {' '.join(members)}")
        lines += [f"copy s{a} -> s{b}" for a, b in self.end_copies]
        return "\n".join(lines)


@dataclass
class MemoryPlan:
    offsets: dict  # storage id -> byte offset in the arena
    arena_bytes: int
    total_bytes: int  # sum of every arena storage's size
    lower_bound: int  # max over kernels of the bytes live at that kernel

    def report(self) -> str:
        mb = 1 / 2**20
        return (f"arena {self.arena_bytes * mb:.3f} MiB, sum of buffers "
                f"{self.total_bytes * mb:.3f} MiB, liveness lower bound "
                f"{self.lower_bound * mb:.3f} MiB")
