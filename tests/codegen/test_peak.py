"""The measured FMA peak (codegen/peak.py) that profiles divide by."""

from graphkeras.codegen.peak import ACCUMULATORS, _kernel_module, fma_gflops
from graphkeras.codegen.target import host
from graphkeras.runtime.profile import peak_gflops


def test_peak_is_a_plausible_rate():
    lanes = max(1, host().vector_bytes // 4)
    g = fma_gflops()
    # at least one lane's FMA at 0.1 GHz; at most 4 FMA units of the
    # widest vectors at 6 GHz (no x86 core does more)
    assert 0.1 * 2 * lanes < g < 4 * 2 * lanes * 6.0, g
    assert fma_gflops() == g  # measured once per process
    assert peak_gflops(2) == 2 * g


def test_kernel_keeps_every_chain():
    text = str(_kernel_module(8))
    assert text.count("call <8 x float> @\"llvm.fma.v8f32\"") == ACCUMULATORS
