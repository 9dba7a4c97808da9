"""A child process that turns LLVM IR text into object code.

LLVM reports some internal failures by aborting the process (an assertion
such as SimplifyCFG's "Iterative simplification didn't converge!"). Run
inside the user's Python process, that loses the process and its unsaved
work; run here, it loses this child, and the parent (codegen/isolated.py)
raises a Python error naming the layer instead.

This file is run as a script (`python compile_worker.py`) and imports
nothing of graphkeras, so a worker starts in the time llvmlite takes to
import. Protocol over stdin / stdout, one request at a time: a request is
an 8-byte little-endian length and a pickled dict

    {"text": LLVM IR, "name": str, "triple", "cpu", "features": str,
     "level": int, "ir_passes", "unroll", "vectorize": bool}

and the reply the same framing around {"object": bytes} or
{"error": str} (LLVM rejected the module with a message). A request of
length 0 ends the worker.

A request's "inject_fault" (GRAPHKERAS_INJECT_COMPILE_FAULT in the parent,
for tests of the mechanism): the worker aborts, as LLVM's assertions do,
on a module that defines a function whose name starts with a kernel
label containing that text.
"""

from __future__ import annotations

import os
import pickle
import re
import sys


def _read(f, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = f.read(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


_MACHINES: dict = {}


def _machine(triple: str, cpu: str, features: str, level: int):
    """One target machine per (host, level) for this worker's life: it
    only emits object code here (no execution engine ever owns it), and
    making one per module cost ~1 ms of a kernel's ~20-40."""
    import llvmlite.binding as llvm

    key = (triple, cpu, features, level)
    tm = _MACHINES.get(key)
    if tm is None:
        target = llvm.Target.from_triple(triple)
        tm = _MACHINES[key] = target.create_target_machine(
            cpu=cpu, features=features, opt=level, reloc="default",
            codemodel="jitdefault", jit=True)
    return tm


def _compile(req: dict) -> dict:
    import llvmlite.binding as llvm

    fault = req.get("inject_fault")
    if fault and re.search(r"^define [^@\n]*@\"?[\w.]*" + re.escape(fault),
                           req["text"], re.M):
        os.abort()
    try:
        mod = llvm.parse_assembly(req["text"])
        mod.verify()
    except RuntimeError as e:
        return {"error": f"LLVM rejected the generated module: {e}"}
    tm = _machine(req["triple"], req["cpu"], req["features"], req["level"])
    if req["ir_passes"]:
        pto = llvm.create_pipeline_tuning_options(speed_level=req["level"])
        pto.loop_vectorization = req["vectorize"]
        pto.slp_vectorization = req["vectorize"]
        pto.loop_unrolling = req["unroll"]
        pto.loop_interleaving = req["unroll"]
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(mod, pb)
    return {"object": bytes(tm.emit_object(mod))}


def main() -> None:
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()
    fin, fout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            n = int.from_bytes(_read(fin, 8), "little")
        except EOFError:
            return
        if n == 0:
            return
        reply = pickle.dumps(_compile(pickle.loads(_read(fin, n))))
        fout.write(len(reply).to_bytes(8, "little") + reply)
        fout.flush()


if __name__ == "__main__":
    main()
