import numpy as np

from graphkeras import ir
from graphkeras.passes import differentiate


def test_mlp_step_prints_parses_and_differentiates():
    b = ir.Builder("step")
    x = b.param("x", ("N", 4))
    w = b.param("w", (4, 3))
    y = b.reduce_mean(b.square(b.relu(b.matmul(x, w))), axes=None)
    fn = differentiate(b.build([y]), ["w"])
    ir.verify(fn)
    assert ir.parse(ir.print_function(fn)) == fn
    rng = np.random.default_rng(0)
    xv = rng.normal(size=(5, 4)).astype(np.float32)
    wv = rng.normal(size=(4, 3)).astype(np.float32)
    loss, gw = ir.interpret(fn, [xv, wv])
    h = xv @ wv
    np.testing.assert_allclose(loss, np.mean(np.maximum(h, 0) ** 2), rtol=1e-5)
    np.testing.assert_allclose(gw, xv.T @ (2 * np.maximum(h, 0) / h.size),
                               rtol=1e-4, atol=1e-6)
