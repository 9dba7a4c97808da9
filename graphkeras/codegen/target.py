"""The host target: LLVM initialisation, CPU name and features, target
machines, the optimisation pipeline and the GRAPHKERAS_DUMP files.

Invariants:
- LLVM's native target is initialised once per process (`ensure_llvm`).
- `new_target_machine()` makes a *fresh* machine every time: an MCJIT
  engine takes ownership of the machine it is created with, and a machine
  reused after its engine is gone crashed the process (CODEGEN-NOTES.md).
  Nothing in graphkeras keeps a target machine beyond one compilation.
- Vector width follows the host: 512-bit registers where AVX-512F is present
  (with `-prefer-256-bit`, so compute-bound loops really use zmm), 256-bit
  with AVX2, 128-bit otherwise. GRAPHKERAS_ISA=avx2 (or sse) turns the
  features above that set off, so an AVX-512 machine generates, runs and
  tests the code an AVX2-only (or SSE) machine gets.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

import llvmlite.binding as llvm

from .. import flags

OPT_LEVEL = 2  # O3 measured no faster for our kernels and compiles 2-3x slower


@functools.cache
def ensure_llvm() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()


@dataclass(frozen=True)
class HostInfo:
    triple: str
    cpu: str
    features: str  # the flattened "+a,-b" string handed to LLVM
    vector_bytes: int  # widest profitable vector register

    @property
    def is_x86(self) -> bool:
        return self.triple.startswith(("x86_64", "i686", "i386"))

    def key(self) -> str:
        """What a compile-cache key needs to know of the machine."""
        return f"{self.triple}|{self.cpu}|{self.features}|{self.vector_bytes}"


# what each GRAPHKERAS_ISA turns off (prefixes of LLVM feature names)
_ABOVE = {"avx2": ("avx512", "amx", "avxvnni", "avxifma", "avxneconvert",
                   "avx10", "evex512"),
          "sse": ("avx", "fma", "f16c", "amx", "evex512", "vaes",
                  "vpclmulqdq")}


def _narrowed(feats, isa: str):
    """The host's feature map with what lies above `isa` turned off."""
    if isa in ("", "avx512"):
        if isa and not feats.get("avx512f"):
            raise ValueError("GRAPHKERAS_ISA=avx512 asks for AVX-512, which "
                             "this CPU does not have.")
        return feats
    if isa == "avx2" and not feats.get("avx2"):
        raise ValueError("GRAPHKERAS_ISA=avx2 asks for AVX2, which this CPU "
                         "does not have.")
    for name in list(feats):
        if name.startswith(_ABOVE[isa]):
            feats[name] = False
    return feats


@functools.cache
def host() -> HostInfo:
    ensure_llvm()
    feats = _narrowed(llvm.get_host_cpu_features(), flags.isa())
    flat = feats.flatten()
    if feats.get("avx512f"):
        vbytes = 64
        # icelake-class CPUs prefer 256-bit vectors unless told otherwise;
        # 512 bits measured 1.3-1.4x faster for compute-bound polynomials.
        flat += ",-prefer-256-bit"
    elif feats.get("avx2") or feats.get("avx"):
        vbytes = 32
    else:
        vbytes = 16
    return HostInfo(llvm.get_process_triple(), llvm.get_host_cpu_name(), flat,
                    vbytes)


def has_feature(name: str) -> bool:
    return bool(re.search(r"(^|,)\+" + re.escape(name) + r"(,|$)", host().features))


def new_target_machine(opt: int = OPT_LEVEL):
    """A fresh target machine for the host (never shared, see above)."""
    ensure_llvm()
    h = host()
    target = llvm.Target.from_triple(h.triple)
    return target.create_target_machine(cpu=h.cpu, features=h.features,
                                        opt=opt, reloc="default",
                                        codemodel="jitdefault", jit=True)


def optimize(module, tm, speed_level: int = OPT_LEVEL, *,
             unroll: bool = True, vectorize: bool = True) -> None:
    """Run the new pass manager's O<speed_level> pipeline with loop and SLP
    vectorisation on `module` (a parsed llvmlite ModuleRef), in place.

    `unroll=False` turns off loop unrolling and interleaving: for program
    kernels (memory-bound loops) that halves compile time at no measured
    cost in speed. `vectorize=False` leaves the loop and SLP vectorisers
    out: the GEMM library is explicit vector code already, and without
    them it compiles ~3x faster."""
    pto = llvm.create_pipeline_tuning_options(speed_level=speed_level)
    pto.loop_vectorization = vectorize
    pto.slp_vectorization = vectorize
    pto.loop_unrolling = unroll
    pto.loop_interleaving = unroll
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(module, pb)


def dump(kind: str, name: str, text_fn) -> str | None:
    """Write `text_fn()` to the dump directory when GRAPHKERAS_DUMP holds
    `kind`; return the path written (or None). text_fn is only called when
    the dump is on, so disabled dumps cost nothing."""
    if kind not in flags.dump_kinds():
        return None
    ext = {"ir": "gkir", "llvm": "ll", "llvm-opt": "opt.ll", "asm": "s"}[kind]
    d = flags.dump_dir()
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f"{name}.{ext}")
    with open(path, "w") as f:
        f.write(text_fn())
    return path
