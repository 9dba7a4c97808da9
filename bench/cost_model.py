"""The data-parallel cost model of docs/distributed.md, as a table.

    python bench/cost_model.py

Per step, every rank sends and receives the gradient buffer through a ring
allreduce: 2 (p - 1) / p x S bytes over its link, in 2 (p - 1) messages,

    T_allreduce(p) = 2 (p - 1) / p x S / bandwidth + 2 (p - 1) x latency

and graphkeras runs it after the backward pass (one buffer, no overlap),
so the efficiency with p machines is T_compute / (T_compute + T_allreduce)
(weak scaling: each machine keeps its batch, the global batch grows with
p). The compute times are assumptions stated in the table (one 2-core
AVX-512 machine like the one the benches run on); put your own in
COMPUTE_S to predict another machine.
"""

from __future__ import annotations

# (name, trainable float32 parameters, per-machine batch, seconds per step
# on one machine at that batch)
WORKLOADS = (
    # 784*512+512 + 512*256+256 + 256*10+10; W1 one thread ~27k samples/s
    ("W1 MLP", 535_818, 128, 128 / 27_000),
    # conv 3x3x1x32+32, conv 3x3x32x64+64, dense 1600x10+10; ~4k samples/s
    ("W2 CNN", 34_826, 128, 128 / 4_000),
    # Keras ResNet50, 1000 classes; ~12.3 GFLOP a sample trained, at an
    # assumed 100 GFLOP/s on 2 AVX-512 cores
    ("ResNet50", 25_583_592, 32, 32 * 12.3e9 / 100e9),
)
LINKS = (("10 Gb/s", 10e9 / 8, 30e-6), ("100 Gb/s", 100e9 / 8, 5e-6))
MACHINES = (2, 4, 8, 16, 32, 64)
EXTRA_WORDS = 5  # the sample count and metric totals ride along


def allreduce_seconds(nbytes: float, p: int, bandwidth: float,
                      latency: float) -> float:
    return 2 * (p - 1) / p * nbytes / bandwidth + 2 * (p - 1) * latency


def table() -> str:
    lines = []
    for name, params, batch, compute in WORKLOADS:
        nbytes = 4 * (params + EXTRA_WORDS)
        lines.append(f"{name}: {nbytes / 1e6:.2f} MB of gradients a step, "
                     f"batch {batch} a machine, compute {compute * 1e3:.1f} "
                     "ms a step")
        for link, bw, lat in LINKS:
            ts = [allreduce_seconds(nbytes, p, bw, lat) for p in MACHINES]
            eff = [compute / (compute + t) for t in ts]
            lines.append(
                f"  {link:8s} allreduce ms "
                + " ".join(f"{t * 1e3:7.2f}" for t in ts))
            lines.append(
                f"  {link:8s} efficiency   "
                + " ".join(f"{e:7.0%}" for e in eff))
    head = "machines" + " " * 23 + " ".join(f"{p:7d}" for p in MACHINES)
    return head + "\n" + "\n".join(lines)


if __name__ == "__main__":
    print(table())
