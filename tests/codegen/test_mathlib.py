"""Our own exp, log, log1p, expm1, tanh, sigmoid, erf and pow, compiled,
against NumPy over the whole float32 range (random bit patterns: every
exponent, denormals, huge values), a dense grid, and the special values
(+-0, +-inf, nan, overflow and underflow edges). The bounds are the ones
stated in graphkeras/codegen/mathlib.py.

The native step runs with DAZ/FTZ: a denormal input counts as zero and a
result below the smallest normal may be flushed to zero."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from compiled_helpers import compile_function

from graphkeras import ir
from graphkeras.ir.scalar import np_erf

ULP = {  # name: (float32 bound, float64 bound), from mathlib's docstring
    "exp": (1, 1), "log": (3, 2), "log1p": (4, 4), "expm1": (2, 2),
    "tanh": (3, 3), "sigmoid": (3, 4), "erf": (3, 1),
}
SPECIAL = [0.0, -0.0, math.inf, -math.inf, math.nan, 1.0, -1.0, 0.5, 1e-8,
           -1e-8, 88.72, 88.73, -87.3, -103.9, -104.0, 89.0, 709.78, 709.79,
           -745.0, 710.0, 3.4e38, -3.4e38, 1e-45, -1e-45, 1e-39, 1e-310]


def _inputs(dt):
    rng = np.random.default_rng(7)
    if dt == np.float32:
        x = rng.integers(0, 2**32, size=150_000, dtype=np.uint64).astype(
            np.uint32).view(np.float32)
    else:
        x = rng.integers(0, 2**64 - 1, size=100_000, dtype=np.uint64).view(
            np.float64)
    grid = np.linspace(-40, 40, 80_001)
    with np.errstate(all="ignore"):
        return np.concatenate([x, grid.astype(dt), np.array(SPECIAL).astype(dt)])


def _exact(name, x):
    """float64 (or exact-ish) reference of the function at x (float64)."""
    with np.errstate(all="ignore"):
        if name == "sigmoid":
            return 1 / (1 + np.exp(-x))
        if name == "erf":
            return np.array([math.erf(v) for v in x]) if x.dtype == np.float32 \
                else np_erf(x)
        return getattr(np, name)(x)


@pytest.fixture(scope="module", params=[np.float32, np.float64],
                ids=["f32", "f64"])
def computed(request):
    dt = request.param
    x = _inputs(dt)
    b = ir.Builder("math")
    p = b.param("x", (x.size,), ir.as_dtype(dt))
    fn = b.build([getattr(b, n)(p) for n in ULP])
    outs = compile_function(fn).run([x])
    return dt, x, dict(zip(ULP, outs))


@pytest.mark.parametrize("name", list(ULP))
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_within_stated_ulp(computed, name):
    dt, x, outs = computed
    got = outs[name]
    tiny = np.finfo(dt).tiny
    xd = x.astype(np.float64)
    daz = np.where(np.abs(xd) < tiny, np.copysign(0.0, xd), xd)
    ref = _exact(name, daz)
    refc = ref.astype(dt)
    # nan exactly where the reference has nan; inf where it overflows
    np.testing.assert_array_equal(np.isnan(got), np.isnan(refc),
                                  err_msg=f"{name}: nan positions")
    flushed = np.abs(refc) < tiny
    np.testing.assert_array_equal(np.isinf(got)[~flushed], np.isinf(refc)[~flushed],
                                  err_msg=f"{name}: inf positions")
    assert np.all(np.sign(got[np.isinf(refc)]) == np.sign(refc[np.isinf(refc)]))
    # results below the smallest normal: exact value or flushed to zero
    assert np.all(np.abs(got[flushed & ~np.isnan(refc)]) <= 2 * tiny), name
    fin = np.isfinite(refc) & ~flushed
    err = np.abs(got[fin].astype(np.float64) - ref[fin]) / np.spacing(
        np.abs(refc[fin])).astype(np.float64)
    bound = ULP[name][0 if dt == np.float32 else 1]
    if name == "erf" and dt == np.float64:  # libm fallback vs math.erf
        bound = 1
    worst = int(np.argmax(err))
    assert err[worst] <= bound, (
        f"{name} {dt.__name__}: {err[worst]:.2f} ulp at x={x[fin][worst]!r} "
        f"(got {got[fin][worst]!r}, want {ref[fin][worst]!r})")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_pow_float32_matches_numpy_and_c99_special_cases():
    vals = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0,
                     math.inf, -math.inf, math.nan, 1e-30, 1e30, 7.5, -7.5],
                    np.float32)
    x, y = np.meshgrid(vals, vals, indexing="ij")
    rng = np.random.default_rng(3)
    xr = rng.uniform(0, 50, 20000).astype(np.float32)
    yr = rng.uniform(-30, 30, 20000).astype(np.float32)
    x = np.concatenate([x.ravel(), xr])
    y = np.concatenate([y.ravel(), yr])
    b = ir.Builder("pow")
    px, py = b.param("x", (x.size,)), b.param("y", (x.size,))
    got = compile_function(b.build([b.pow(px, py)])).run([x, y])[0]
    with np.errstate(all="ignore"):
        ref = np.power(x.astype(np.float64), y.astype(np.float64))
    refc = ref.astype(np.float32)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(refc))
    tiny = np.finfo(np.float32).tiny
    ok = np.isfinite(refc) & (np.abs(refc) >= tiny)
    np.testing.assert_array_equal(got[np.isinf(refc)], refc[np.isinf(refc)])
    err = np.abs(got[ok] - ref[ok]) / np.spacing(np.abs(refc[ok])).astype(np.float64)
    assert err.max() <= 1.0
    np.testing.assert_array_equal(np.signbit(got[refc == 0]), np.signbit(refc[refc == 0]))


def test_asm_dump_shows_vector_code(tmp_path, monkeypatch):
    """GRAPHKERAS_DUMP=asm writes the assembly; the fused exp/mul kernel in
    it uses vector registers (ymm with AVX2, zmm with AVX-512)."""
    monkeypatch.setenv("GRAPHKERAS_DUMP", "asm,llvm,llvm-opt")
    monkeypatch.setenv("GRAPHKERAS_DUMP_DIR", str(tmp_path))
    monkeypatch.setenv("GRAPHKERAS_CACHE", "0")
    b = ir.Builder("vec")
    x = b.param("x", ("N", 64))
    y = b.param("y", ("N", 64))
    fn = b.build([b.mul(b.exp(x), b.add(y, b.constant(1.0)))])
    compile_function(fn)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert any(f.endswith(".s") for f in files), files
    assert any(f.endswith(".opt.ll") for f in files), files
    # the kernel's module (a program's kernels and its step are modules of
    # their own, and a library may be dumped alongside)
    # (a kernel's functions are named after its module's hash)
    name = re.compile(r"^gk[0-9a-f]{24}_fused\w*:", re.M)
    asm = next(t for t in (p.read_text() for p in sorted(tmp_path.iterdir())
                           if p.name.endswith(".s")) if name.search(t))
    kernel = asm[name.search(asm).start():]
    kernel = kernel[:kernel.index(".Lfunc_end")]
    assert "%ymm" in kernel or "%zmm" in kernel
