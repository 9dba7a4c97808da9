"""The process group of a data-parallel job, on MPI through mpi4py.

`world()` is None in a process started without an MPI launcher (or by one
with a single rank): then mpi4py is never imported. Under `mpiexec -n R`
it is a `World`: this rank, the number of ranks, a private communicator
(a duplicate of MPI_COMM_WORLD, so user MPI traffic never pairs with
ours) and the *communicator descriptor* that compiled programs read
(ir/ops/collective.py): the address of `MPI_Allreduce` in the libmpi that
mpi4py loaded and the handles of the communicator, MPI_FLOAT, MPI_DOUBLE
and MPI_SUM. Codegen calls the function the descriptor names; it never
sees mpi4py.

Faults never hang silently:
- an exception that escapes on one rank prints its traceback, prefixed by
  the rank, and aborts the job (MPI_Abort: mpiexec stops every rank);
- a rank that dies is noticed by mpiexec, which stops the others;
- a watchdog aborts the job when one collective call (a step, a
  broadcast) has waited longer than GRAPHKERAS_MPI_TIMEOUT seconds
  (default 300): a rank stuck in a collective its peers never reach.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
import time
import traceback

import numpy as np

from .. import flags
from ..ir.ops.collective import (
    COMM_DOUBLE,
    COMM_DTYPE,
    COMM_ERROR,
    COMM_FN,
    COMM_HANDLE,
    COMM_OP,
    COMM_RANK,
    COMM_SIZE,
    COMM_WORDS,
)

# environment variables by which launchers tell a process its job size
_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE",
              "MPI_LOCALNRANKS", "SLURM_NTASKS")

_WORLD: list = []  # [World] once initialized


def launched_ranks() -> int:
    """The job size the launcher announced in the environment (1 when the
    process was not started by mpiexec), read without importing MPI."""
    for name in _SIZE_VARS[:4]:
        v = os.environ.get(name)
        if v and v.isdigit():
            return int(v)
    return 1


def _share_cores() -> None:
    """Before MPI_Init: ranks on one host share its cores. Unless the user
    set them, each rank runs cores / (ranks on this host) threads, and with
    as many ranks as cores (or more) Open MPI yields while it waits: a
    rank spinning in a collective takes the core the rank it waits for
    needs (measured on 2 cores: a 2 MB allreduce ~65 ms spinning, 1-5 ms
    yielding)."""
    local = os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE",
                           os.environ.get("MPI_LOCALNRANKS", ""))
    if not local.isdigit() or int(local) < 1:
        return
    ranks, cores = int(local), os.cpu_count() or 1
    try:
        mine = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        mine = cores
    # bound by the launcher (mpiexec --bind-to core, the default for few
    # ranks): its cores are this rank's share already
    share = mine if mine < cores else max(1, cores // ranks)
    os.environ.setdefault("GRAPHKERAS_NUM_THREADS", str(share))
    if ranks >= cores:
        os.environ.setdefault("OMPI_MCA_mpi_yield_when_idle", "1")


def _libmpi_path(MPI) -> str:
    """The path of the libmpi that mpi4py's extension module loaded."""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.rsplit(None, 1)[-1]
                base = os.path.basename(path)
                if base.startswith(("libmpi.so", "libmpich.so")):
                    return path
    except OSError:
        pass
    import ctypes.util

    for name in ("mpi", "mpich"):
        found = ctypes.util.find_library(name)
        if found:
            return found
    raise RuntimeError(
        "graphkeras.distribution: cannot find the MPI library mpi4py "
        f"loaded ({MPI.Get_library_version().splitlines()[0]}).")


class World:
    """This process's place in the job (use `world()`)."""

    def __init__(self):
        _share_cores()
        from mpi4py import MPI

        self.MPI = MPI
        if MPI.Query_thread() < MPI.THREAD_SERIALIZED:
            raise RuntimeError(
                "graphkeras.distribution needs MPI initialized with at "
                "least MPI_THREAD_SERIALIZED (a worker thread may run the "
                "step's collective); mpi4py's default, 'multiple', does.")
        self.comm = MPI.COMM_WORLD.Dup()
        self.comm.Set_errhandler(MPI.ERRORS_RETURN)
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self._lib = ctypes.CDLL(_libmpi_path(MPI))
        fn = ctypes.cast(self._lib.MPI_Allreduce, ctypes.c_void_p).value
        d = np.zeros(COMM_WORDS, np.int64)
        d[COMM_FN] = fn
        d[COMM_HANDLE] = MPI._handleof(self.comm)
        d[COMM_DTYPE] = MPI._handleof(MPI.FLOAT)
        d[COMM_DOUBLE] = MPI._handleof(MPI.DOUBLE)
        d[COMM_OP] = MPI._handleof(MPI.SUM)
        d[COMM_SIZE] = self.size
        d[COMM_RANK] = self.rank
        self.descriptor = d
        self.timeout = flags.mpi_timeout()
        self._waiting_since = None
        self._waiting_for = ""
        self._lock = threading.Lock()
        if self.size > 1:
            self._install_fault_handlers()

    # --- faults --------------------------------------------------------------

    def _install_fault_handlers(self) -> None:
        previous = sys.excepthook

        def abort_on_error(kind, value, tb):
            text = "".join(traceback.format_exception(kind, value, tb))
            sys.stderr.write(
                f"graphkeras.distribution: rank {self.rank} of {self.size} "
                f"raised an exception; aborting all ranks.\n{text}")
            sys.stderr.flush()
            if previous is not sys.__excepthook__:
                with contextlib.suppress(Exception):
                    previous(kind, value, tb)
            self.abort(1)

        sys.excepthook = abort_on_error
        t = threading.Thread(target=self._watch, name="graphkeras-mpi-watchdog",
                             daemon=True)
        t.start()

    def _watch(self) -> None:
        while True:
            time.sleep(min(1.0, self.timeout / 4))
            since = self._waiting_since
            if since is not None and time.monotonic() - since > self.timeout:
                sys.stderr.write(
                    f"graphkeras.distribution: rank {self.rank} of "
                    f"{self.size} waited more than {self.timeout:g} s "
                    f"(GRAPHKERAS_MPI_TIMEOUT) in {self._waiting_for}: "
                    "another rank stopped, hangs or runs different "
                    "steps. Aborting all ranks.\n")
                sys.stderr.flush()
                self.abort(2)

    @contextlib.contextmanager
    def collective(self, what: str):
        """Mark a blocking collective: the watchdog aborts the job when it
        takes longer than the timeout."""
        self._waiting_for = what
        self._waiting_since = time.monotonic()
        try:
            yield
        finally:
            self._waiting_since = None

    def abort(self, code: int = 1) -> None:
        with contextlib.suppress(Exception):
            self.MPI.COMM_WORLD.Abort(code)
        os._exit(code)  # Abort returned: make sure this rank stops

    def check_descriptor(self) -> None:
        """Raise if the last native collective reported an MPI error."""
        err = int(self.descriptor[COMM_ERROR])
        if err:
            self.descriptor[COMM_ERROR] = 0
            if err == -1:
                raise RuntimeError(
                    "graphkeras.distribution: a gradient buffer of more than "
                    "2**31 - 1 elements cannot be reduced in one MPI call.")
            raise RuntimeError(
                f"graphkeras.distribution: MPI_Allreduce failed on rank "
                f"{self.rank}: {self.MPI.Get_error_string(err)} (code {err}).")

    # --- Python-side collectives (setup, checks, predictions) ---------------

    def bcast(self, obj, what="a broadcast"):
        with self.collective(what):
            return self.comm.bcast(obj, root=0)

    def allgather(self, obj, what="an allgather"):
        with self.collective(what):
            return self.comm.allgather(obj)

    def broadcast_array(self, a: np.ndarray, what="a broadcast") -> None:
        """Overwrite a (C-contiguous) with rank 0's values, in place."""
        with self.collective(what):
            self.comm.Bcast(a, root=0)


def world() -> World | None:
    """The job's World, or None with one process (mpi4py not imported)."""
    if _WORLD:
        return _WORLD[0]
    if launched_ranks() < 2:
        return None
    return initialize()


def initialize() -> World | None:
    """Join the job (import mpi4py, which initializes MPI). Returns None
    when the process runs alone."""
    if _WORLD:
        return _WORLD[0]
    if launched_ranks() < 2 and "mpi4py" not in sys.modules:
        return None
    w = World()
    if w.size < 2:
        return None
    _WORLD.append(w)
    return w
