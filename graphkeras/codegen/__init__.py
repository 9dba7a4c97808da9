"""graphkeras.codegen: lowering prepared programs to native code with
llvmlite. Codegen only lowers: programs arrive fused and laid out (scan
bodies included, passes/plan_memory.py); nothing here runs a pass.

    target.py          host CPU, target machines, optimisation pipeline,
                       dumps
    scalar.py          LLVMScalar, the ScalarBuilder elementwise ops emit into
    mathlib.py         vectorisable exp, log, log1p, expm1, tanh, sigmoid,
                       erf, pow
    loops.py           loop helpers
    lowering.py        the one table of kernel kinds (LOWERINGS[kind]) and
                       the Lowering protocol each kind implements
    kernel_function.py one kernel node -> one LLVM function, via the table
    kernels.py         the kernel context, index objects, the pointwise
                       expression generator; kinds reduce, arg, softmax,
                       scatter (and view, const: no kernel)
    pointwise.py       kind pointwise (loop nests, shared flat loops)
    matmul.py          the GEMM (library objects shared by every program);
                       kind matmul
    narrow.py          narrow products (few columns)
    epilogue.py        kind matmul_epilogue: a product with its fused
                       elementwise epilogue
    conv.py            kinds conv, conv_filter_grad, pool, resize_grad
    scan.py            kind scan: a native loop over a body's kernels
    collective.py      kind collective: MPI all-reduce
    step_module.py     one module per program: kernels, the schedule of
                       units, the native `gk_step`
    dispatch.py        the step body: loops over tables of kernel entries
    work_sharing.py    work sharing between threads, the worker loop (a
                       library)
    jit.py             object code, engines, the compile cache (cache.py)

Imports only graphkeras.ir (with the memory plan's data types, ir/plan.py)
and graphkeras.config; the runtime drives it (runtime/compiled.py).
"""

# NOTE: each kind's file registers its Lowering when imported; importing
# them here fills codegen.lowering.LOWERINGS whenever codegen is used.
from . import (  # noqa: F401
    collective,
    conv,
    epilogue,
    kernels,
    matmul,
    pointwise,
    scan,
)
