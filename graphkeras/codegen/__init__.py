"""graphkeras.codegen: lowering prepared programs to native code with
llvmlite.

    target.py   host CPU, target machines, optimisation pipeline, dumps
    scalar.py   LLVMScalar, the ScalarBuilder that elementwise ops emit into
    mathlib.py  vectorisable exp, log, log1p, expm1, tanh, sigmoid, erf, pow
    loops.py    loop helpers
    kernels.py  pointwise (fused) kernels, reductions, argmax, softmax,
                scatter_add; the lowering table (`has_lowering`)
    matmul.py   the GEMM (library objects shared by every program)
    epilogue.py a product with its fused elementwise epilogue
    step_module.py  one module per program: kernels, the schedule of
                units, the native `gk_step`
    work_sharing.py work sharing between threads, the worker loop (a
                library)
    jit.py      object code, engines, the compile cache (cache.py)

Imports only graphkeras.ir (with the memory plan's data types, ir/plan.py)
and graphkeras.config; the runtime drives it (runtime/compiled.py).
"""
