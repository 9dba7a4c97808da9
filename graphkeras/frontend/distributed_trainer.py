"""What fit / evaluate / predict do differently under DataParallel with
several MPI ranks (frontend/distribution.py). The trainer asks `active()`
once per call; None (one process, or no distribution set) changes nothing.

Semantics (each rank runs the same script):
- data: every global batch is cut into one contiguous slice per rank
  (rank r takes [lo + n*r//R, lo + n*(r+1)//R) of a batch of n); an
  ArrayAdapter reads only those rows; a generator / PyDataset yields the
  global batch on each rank, which keeps its slice. A rank whose slice is
  empty (a last batch smaller than R) runs one zero row with weight 0.
- train step: the loss is multiplied by the rank's sample count n_r
  before differentiation, so the gradients, the count and the metric
  state increments travel in one flat float32 buffer through one
  `all_reduce_sum` in the compiled step; the summed gradients are divided
  by the summed count: sum_r n_r grad(L_r) / B, which is grad(L) of one
  process with the global batch B for losses that average over samples.
  Metric accumulators take old + (sum over ranks of the increments), so
  loss, metrics, History and callbacks see the global batch on every
  rank. BatchNormalization(synchronized=True) sums its moments the same
  way (sync_moments); plain BatchNormalization keeps per-rank moments.
- first call of each compiled step: the ranks compare their programs and
  per-sample input shapes (a mismatch raises on every rank, naming the
  ranks and the difference), then take rank 0's state (weights, optimizer
  slots), so every rank starts from the same weights.
- an overridden train_step / test_step: Optimizer.apply sums the
  gradients across ranks, weighted by the ranks' sample counts
  (replica_gradients), and the metric increments are summed after the
  step (finish_custom_step).
- callbacks: only rank 0 prints (verbose 0 elsewhere) and writes CSV
  logs, TensorBoard logs, backups and saved models (other ranks restore
  from rank 0's backup); stop_training is rank 0's at every epoch end.
- random draws over the batch (Dropout's masks): numbered from the rank's
  first row in the global batch (a per-call input, from one allgather of
  the ranks' counts), so the ranks draw one process's noise, row for row.
- predict: each rank predicts its slice; the slices are gathered (rank
  order, i.e. data order), so every rank returns every prediction.
"""

from __future__ import annotations

import contextlib
import hashlib

import numpy as np

from ..ir import print_function
from ..runtime import mpi as _mpi
from . import distribution as _distribution
from . import ops
from .callbacks import Callback
from .data import ArrayAdapter, DataAdapter, StandardizedAdapter
from .random import global_rng
from .variables import STORE, Variable

COUNT_INPUT = "replica_samples"  # the per-call input: this rank's samples
# the per-call input of a step that draws random numbers over the batch:
# this rank's first row in the global batch
ROW_INPUT = "replica_first_row"

_HOOKS: dict = {}


def active():
    """The hooks of the current DataParallel job, or None."""
    if _OVERRIDE:
        return _OVERRIDE[-1]
    d = _distribution.distribution()
    if not isinstance(d, _distribution.DataParallel):
        return None
    w = _mpi.world()
    if w is None:
        return None
    h = _HOOKS.get(id(w))
    if h is None:
        h = _HOOKS[id(w)] = _Hooks(w)
    return h


class _OneRank:
    """A stand-in world for tracing a rank's program in one process: its
    descriptor names one rank, so the collectives are identities."""

    rank, size = 0, 1

    def __init__(self):
        from ..ir.ops.collective import COMM_WORDS

        self.descriptor = np.zeros(COMM_WORDS, np.int64)


_OVERRIDE: list = []


@contextlib.contextmanager
def replica_tracing():
    """Within the block, programs are traced as a DataParallel rank traces
    them (`graphkeras dump --data-parallel`, tests)."""
    _OVERRIDE.append(_Hooks(_OneRank()))
    try:
        yield _OVERRIDE[-1]
    finally:
        _OVERRIDE.pop()


def _shard_range(lo: int, hi: int, rank: int, size: int) -> tuple:
    n = hi - lo
    return lo + n * rank // size, lo + n * (rank + 1) // size


class _Hooks:
    def __init__(self, world):
        self.world = world
        self.rank, self.size = world.rank, world.size
        self.comm = Variable(world.descriptor.copy(), dtype="int64",
                             trainable=False, name="mpi_comm",
                             path="distribution/mpi_comm")
        # native code reads (and writes errors into) the store's buffer
        world.descriptor = STORE[self.comm.key]
        self.key = ("data_parallel", self.size)

    # --- printing and callbacks ----------------------------------------------

    @property
    def chief(self) -> bool:
        return self.rank == 0

    def verbose(self, verbose):
        return verbose if self.chief else 0

    def fit_callbacks(self, callbacks):
        """The user's callbacks, for this rank (fit start: also makes the
        shuffling generator rank 0's, so every rank draws one order)."""
        from .callbacks import CallbackList
        from .callbacks.backup_and_restore import BackupAndRestore
        from .callbacks.csv_logger import CSVLogger
        from .callbacks.tensorboard import TensorBoard

        rng = global_rng()
        rng.bit_generator.state = self.world.bcast(
            rng.bit_generator.state, "fit's start (shuffling seed)")
        if isinstance(callbacks, CallbackList):  # the caller's, as given
            return callbacks
        out = list(callbacks or [])
        if not self.chief:  # rank 0 writes the files; the others read
            out = [_RestoreOnly(c) if isinstance(c, BackupAndRestore) else c
                   for c in out if not isinstance(c, (CSVLogger, TensorBoard))]
        return out + [_SyncDecisions(self.world)]

    # --- data -------------------------------------------------------------------

    def shard(self, adapter):
        """Each rank's slice of every batch of `adapter`."""
        inner = adapter.adapter if isinstance(adapter, StandardizedAdapter) \
            else adapter
        if isinstance(inner, ArrayAdapter):
            inner.shard = (self.rank, self.size)  # reads only its rows
            return adapter
        return _ShardedAdapter(adapter, self.rank, self.size)

    # --- the traced step ------------------------------------------------------------

    def count_input(self, trace):
        """The per-call scalar input: this rank's samples in the batch (made
        once per trace, by the trainer or by a synchronized layer)."""
        count = trace.__dict__.get("_replica_samples")
        if count is None:
            count = trace.input(COUNT_INPUT, (), "float32")
            trace.__dict__["_replica_samples"] = count
            trace.__dict__["_replica_hooks"] = self  # tracing.replica_gradients
        return count

    def row_offset_input(self, trace):
        """The per-call int64 scalar input: the global batch's row where
        this rank's slice starts (the ranks' slices are contiguous, in rank
        order). A random draw over the batch numbers its elements from it
        (frontend/random.py), so the ranks draw the rows of the noise one
        process draws for the whole batch: Dropout gives every sample its
        own mask, the one a single process would give it."""
        rows = trace.__dict__.get("_replica_rows")
        if rows is None:
            rows = trace.input(ROW_INPUT, (), "int64")
            trace.__dict__["_replica_rows"] = rows
            trace.__dict__.setdefault("_late_inputs", []).append(
                rows.value.name)
        return rows

    def scale_loss(self, loss, count):
        return ops.multiply(loss, count)

    def reduce_step(self, model, trace, grads, count):
        """Sum gradients (train) and metric increments across ranks in one
        all_reduce_sum; returns the averaged gradients. Records the new
        metric values as the trace's updates."""
        with trace:
            metric_keys = [v.key for m in model.metrics for v in m.variables
                           if v.key in trace.updates]
            parts, shapes = [], []
            for g in grads:
                parts.append(ops.reshape(ops.cast(g, "float32"), (-1,)))
                shapes.append(g.shape)
            if grads:
                parts.append(ops.reshape(count, (1,)))
            keep = ops.minimum(count, 1.0)  # 0 for a rank's empty slice
            olds = []
            for k in metric_keys:
                old = trace.wrap(trace.params[k])
                new = trace.wrap(trace.updates[k])
                d = ops.subtract(ops.cast(new, "float32"),
                                 ops.cast(old, "float32"))
                parts.append(ops.reshape(ops.multiply(d, keep), (-1,)))
                olds.append(old)
            if not parts:
                return grads
            flat = parts[0] if len(parts) == 1 else ops.concatenate(parts)
            total = ops._apply("all_reduce_sum", flat, self.comm)
            offset = 0

            def take(shape):
                nonlocal offset
                n = int(np.prod(shape, dtype=np.int64))
                piece = ops.slice(total, (offset,), (n,))
                offset += n
                return ops.reshape(piece, tuple(shape))

            summed = [take(s) for s in shapes]
            out = []
            if grads:
                trace.__dict__["_replica_reduced"] = True
                samples = ops.reshape(take((1,)), ())
                out = [ops.cast(ops.divide(s, samples), ops.dtype(g))
                       for s, g in zip(summed, grads)]
            for k, old in zip(metric_keys, olds):
                inc = take(old.shape)
                new = ops.add(old, ops.cast(inc, ops.dtype(old)))
                trace.current[k] = new.value
                trace.updates[k] = new.value
            return out

    def reduce_gradients(self, trace, grads):
        """An overridden train_step's gradients (of its rank's mean loss)
        averaged over every rank's samples: sum_r n_r g_r / sum_r n_r, in
        one all_reduce_sum (Optimizer.apply calls this: tracing.replica_gradients)."""
        trace.__dict__["_replica_reduced"] = True
        count = self.count_input(trace)
        live = [i for i, g in enumerate(grads) if g is not None]
        if not live:
            return grads
        with trace:
            parts = [ops.reshape(ops.multiply(ops.cast(grads[i], "float32"),
                                              count), (-1,)) for i in live]
            parts.append(ops.reshape(count, (1,)))
            total = ops._apply("all_reduce_sum", ops.concatenate(parts),
                               self.comm)
            n = sum(int(np.prod(grads[i].shape, dtype=np.int64))
                    for i in live)
            samples = ops.reshape(ops.slice(total, (n,), (1,)), ())
            out, offset = list(grads), 0
            for i in live:
                g = grads[i]
                k = int(np.prod(g.shape, dtype=np.int64))
                piece = ops.reshape(ops.slice(total, (offset,), (k,)),
                                    tuple(g.shape))
                out[i] = ops.cast(ops.divide(piece, samples), ops.dtype(g))
                offset += k
            return out

    def finish_custom_step(self, model, trace, logs: dict) -> dict:
        """After an overridden train_step / test_step: the metric
        increments summed across ranks, and the logs that are a metric's
        result recomputed from the summed state."""
        self.reduce_step(model, trace, [], self.count_input(trace))
        by_name = {m.name: m for m in model.metrics}
        with trace:
            return {k: by_name[k].result() if k in by_name else v
                    for k, v in logs.items()}

    def sync_moments(self, x, axes):
        """Mean and variance of x over `axes` and over every rank's batch
        (BatchNormalization(synchronized=True))."""
        # a rank running a stand-in row for an empty slice adds nothing
        keep = ops.minimum(self.count_input(x.trace), 1.0)
        x32 = ops.multiply(ops.cast(x, "float32"), keep)
        s1 = ops.sum(x32, axis=axes)
        s2 = ops.sum(ops.square(x32), axis=axes)
        per_row = int(np.prod([x.shape[a] for a in axes if a != 0],
                              dtype=np.int64))
        n = ops.multiply(ops.batch_size(x), float(per_row)) if 0 in axes \
            else ops.convert_to_tensor(np.float32(per_row))
        n = ops.multiply(n, keep)
        c = s1.shape[0]
        flat = ops.concatenate([s1, s2, ops.reshape(n, (1,))])
        total = ops._apply("all_reduce_sum", flat, self.comm)
        count = ops.reshape(ops.slice(total, (2 * c,), (1,)), ())
        mean = ops.divide(ops.slice(total, (0,), (c,)), count)
        sq = ops.divide(ops.slice(total, (c,), (c,)), count)
        var = ops.maximum(ops.subtract(sq, ops.square(mean)), 0.0)
        return ops.cast(mean, ops.dtype(x)), ops.cast(var, ops.dtype(x))

    # --- executables ---------------------------------------------------------------

    def wrap(self, exe, program, kind):
        return _ReplicatedExecutable(exe, program, kind, self)


class _SyncDecisions(Callback):
    """Every rank takes rank 0's stop_training at each epoch end (the logs
    are the same everywhere, so this only guards against a callback that
    decides on something rank-local)."""

    def __init__(self, world):
        super().__init__()
        self._world = world

    def on_epoch_end(self, epoch, logs=None):
        m = self.model
        m.stop_training = bool(self._world.bcast(
            bool(m.stop_training), "an epoch end (callbacks' decisions)"))


class _RestoreOnly(Callback):
    """A BackupAndRestore on a rank other than 0: it resumes from rank 0's
    backup like every rank, and writes or deletes nothing."""

    def __init__(self, inner):
        super().__init__()
        self._inner = inner

    def set_model(self, model):
        super().set_model(model)
        self._inner.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self._inner.set_params(params)

    def on_train_begin(self, logs=None):
        self._inner.on_train_begin(logs)


class _ShardedAdapter(DataAdapter):
    """This rank's slice of each batch of another adapter."""

    def __init__(self, adapter, rank, size):
        self.adapter = adapter
        self.rank, self.size = rank, size
        self.num_batches = adapter.num_batches
        self.x_template = adapter.x_template
        self.y_template = adapter.y_template
        self.sw_template = adapter.sw_template

    def epoch(self):
        for xs, ys, sws in self.adapter.epoch():
            lo, hi = _shard_range(0, len(xs[0]), self.rank, self.size)
            cut = (lambda arrays: None if arrays is None else
                   [a[lo:hi] for a in arrays])
            yield cut(xs), cut(ys), cut(sws)

    def on_epoch_end(self):
        self.adapter.on_epoch_end()


def _signature(program, inputs) -> tuple:
    text = print_function(program.fn)
    return (
        program.fn.name,
        hashlib.sha256(text.encode()).hexdigest()[:16],
        tuple((n, a.shape[1:], a.dtype.str) for n, a in
              zip(program.inputs, inputs) if n != COUNT_INPUT),
        tuple((p.name, tuple(p.type.shape), p.type.dtype.long_name)
              for p in program.state_params),
    )


def _difference(mine: tuple, ref: tuple) -> str:
    if mine[3] != ref[3]:
        a, b = dict((n, s) for n, *s in mine[3]), dict((n, s) for n, *s in ref[3])
        only_mine = sorted(set(a) - set(b))
        only_ref = sorted(set(b) - set(a))
        if only_mine or only_ref:
            return (f"a different model: weights {only_mine[:3]} that rank "
                    f"0 lacks, lacking {only_ref[:3]} that rank 0 has")
        diff = next(n for n in a if a[n] != b[n])
        return (f"a different model: weight \"{diff}\" is {a[diff]}, on rank 0 "
                f"{b[diff]}")
    if mine[2] != ref[2]:
        for (n, s, d), (_, s0, d0) in zip(mine[2], ref[2]):
            if (s, d) != (s0, d0):
                return (f"batches of another shape: input \"{n}\" has "
                        f"per-sample shape {s} ({np.dtype(d).name}), on rank 0 "
                        f"{s0} ({np.dtype(d0).name})")
        return f"other inputs: {[n for n, *_ in mine[2]]}, on rank 0 " \
            f"{[n for n, *_ in ref[2]]}"
    return (f"a different {mine[0]} program (another loss, metrics, "
            "optimizer or layer configuration)")


class _ReplicatedExecutable:
    """One rank's view of a collective step: appends the sample count,
    stands in for an empty slice, checks the ranks agree before the first
    step, gathers predictions."""

    def __init__(self, exe, program, kind, hooks):
        self._exe = exe
        self._program = program
        self._kind = kind
        self._hooks = hooks
        self._world = hooks.world
        self._checked = False
        # the per-call inputs this wrapper supplies, in the program's order
        self._extra = [n for n in program.inputs
                       if n in (COUNT_INPUT, ROW_INPUT)]

    def __getattr__(self, name):
        return getattr(self._exe, name)

    def _first_call(self, inputs) -> None:
        w = self._world
        sigs = w.allgather(_signature(self._program, inputs),
                           f"the first {self._kind} step (comparing ranks)")
        bad = [r for r, s in enumerate(sigs) if s != sigs[0]]
        if bad:
            lines = [f"rank {r} runs {_difference(sigs[r], sigs[0])}"
                     for r in bad]
            raise ValueError(
                f"graphkeras.distribution: the ranks disagree at their first "
                f"{self._kind} step: " + "; ".join(lines) + ". Every rank "
                "must run the same script on data of the same shapes.")
        for name in self._program.state:
            if name != self._hooks.comm.key:
                w.broadcast_array(STORE[name], "the first step (weights "
                                  "from rank 0)")
        self._checked = True

    def _local(self, inputs):
        """(inputs for this rank, its sample count): an empty slice runs
        one zero row that counts for nothing."""
        n = len(inputs[0]) if inputs and np.ndim(inputs[0]) else 0
        if n == 0 and inputs:
            inputs = [np.zeros((1,) + np.shape(a)[1:], np.asarray(a).dtype)
                      for a in inputs]
        return list(inputs), n

    def _first_rows(self, counts: list) -> list:
        """Each batch's first row of this rank in the global batch, from
        the sample counts of this rank's batches (one allgather, only for a
        step that draws over the batch)."""
        if ROW_INPUT not in self._extra:
            return [0] * len(counts)
        w = self._world
        every = w.allgather(counts, "the ranks' sample counts")
        return [sum(every[r][i] for r in range(w.rank))
                for i in range(len(counts))]

    def _append_extra(self, args: list, n: int, first_row: int) -> list:
        for name in self._extra:
            args.append(np.array(n, np.float32) if name == COUNT_INPUT
                        else np.array(first_row, np.int64))
        return args

    def run(self, inputs):
        if not self._checked:
            self._first_call(inputs)
        args, n = self._local(inputs)
        self._append_extra(args, n, self._first_rows([n])[0])
        w = self._world
        with w.collective(f"a {self._kind} step"):
            out = self._exe.run(args)
        w.check_descriptor()
        if self._kind != "predict":
            return out
        out = [o[:n] for o in out]
        parts = w.allgather(out, "gathering predictions")
        return [np.concatenate([p[i] for p in parts], axis=0)
                for i in range(len(out))]

    def run_steps(self, batches):
        if not self._checked and batches:
            self._first_call(batches[0])
        local = [self._local(b) for b in batches]
        rows = self._first_rows([n for _, n in local])
        local = [self._append_extra(args, n, row)
                 for (args, n), row in zip(local, rows)]
        w = self._world
        with w.collective(f"{len(batches)} {self._kind} steps"):
            out = self._exe.run_steps(local)
        w.check_descriptor()
        return out
