"""keras.distribution: data-parallel training across processes, on MPI.

Under `mpiexec -n R python train.py` each process (rank) is one device.
With `set_distribution(DataParallel())` the script's fit / evaluate /
predict become collective: every global batch is split across the ranks,
the step's gradients are summed across ranks inside the compiled step
(ir op `all_reduce_sum`), and every rank holds the same weights after
every step (frontend/distributed_trainer.py). In a process started
without mpiexec, or with one rank, the API answers for one CPU device,
DataParallel changes nothing and mpi4py is never imported.

Keras 3's names: list_devices, DeviceMesh, DataParallel, set_distribution,
distribution, initialize (keras.distribution, which Keras implements for
JAX only).
"""

from __future__ import annotations

import contextlib

from ..runtime import mpi as _mpi

_STATE: dict = {"distribution": None}


def initialize(job_addresses=None, num_processes=None, process_id=None):
    """Join the job the process was started in (MPI_Init through mpi4py).

    Under mpiexec the launcher gives the ranks and their addresses, so the
    arguments are only checked against it. Called for you by
    `list_devices()` and `DataParallel()`; calling it in a process started
    without mpiexec does nothing.

    Args:
        job_addresses: accepted for Keras compatibility; MPI's launcher
            connects the processes (give hosts in an mpiexec hostfile).
        num_processes: if given, must equal the number of ranks.
        process_id: if given, must equal this process's rank.
    """
    w = _mpi.initialize()
    size, rank = (w.size, w.rank) if w is not None else (1, 0)
    if num_processes is not None and int(num_processes) != size:
        raise ValueError(
            f"initialize(num_processes={num_processes}) does not match the "
            f"job: mpiexec started {size} process(es). Start the script "
            f"with `mpiexec -n {num_processes} python ...`.")
    if process_id is not None and int(process_id) != rank:
        raise ValueError(
            f"initialize(process_id={process_id}) does not match this "
            f"process's MPI rank {rank}.")


def _world():
    return _mpi.world()


def process_index() -> int:
    """This process's rank (0 without MPI)."""
    w = _world()
    return 0 if w is None else w.rank


def process_count() -> int:
    """The number of ranks (1 without MPI)."""
    w = _world()
    return 1 if w is None else w.size


def list_devices(device_type=None) -> list:
    """The devices of the job: one "cpu:R" per rank.

    Args:
        device_type: "cpu" or None (graphkeras runs on CPUs only).

    Returns:
        A list of device names, ["cpu:0"] in a single process.

    Example:
        >>> list_devices()
        ['cpu:0']
    """
    if device_type is not None and str(device_type).lower() != "cpu":
        raise ValueError(
            f"graphkeras runs on CPUs: list_devices(device_type="
            f"{device_type!r}) has no devices. Use 'cpu' or None.")
    return [f"cpu:{r}" for r in range(process_count())]


class DeviceMesh:
    """A grid of devices with named axes.

    Args:
        shape: the mesh shape, e.g. (R,) for R ranks.
        axis_names: one name per mesh axis, e.g. ["batch"].
        devices: the device names (list_devices() by default), as many as
            the mesh holds.
    """

    def __init__(self, shape, axis_names, devices=None):
        shape = tuple(int(d) for d in shape)
        axis_names = [str(a) for a in axis_names]
        if not shape:
            raise ValueError("DeviceMesh: shape must not be empty, received "
                             "shape=().")
        if len(axis_names) != len(shape):
            raise ValueError(
                f"DeviceMesh: shape {shape} and axis_names {axis_names} "
                "should have the same length.")
        devices = list_devices() if devices is None else list(devices)
        n = 1
        for d in shape:
            n *= d
        if n != len(devices):
            raise ValueError(
                f"DeviceMesh: shape {shape} holds {n} devices, but "
                f"{len(devices)} were given ({devices}).")
        self._shape = shape
        self._axis_names = axis_names
        self._devices = devices

    @property
    def shape(self) -> tuple:
        return self._shape

    @property
    def axis_names(self) -> list:
        return list(self._axis_names)

    @property
    def devices(self) -> list:
        return list(self._devices)

    def __repr__(self) -> str:
        return (f"<DeviceMesh shape={self._shape}, axis_names="
                f"{self._axis_names}>")


class Distribution:
    """Base class of the distributions (Keras 3's)."""

    def __init__(self, device_mesh: DeviceMesh, batch_dim_name=None):
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name

    @property
    def device_mesh(self) -> DeviceMesh:
        return self._device_mesh

    @property
    def batch_dim_name(self):
        return self._batch_dim_name

    @contextlib.contextmanager
    def scope(self):
        """Make this the current distribution inside a `with` block."""
        old = distribution()
        set_distribution(self)
        try:
            yield
        finally:
            set_distribution(old)


class DataParallel(Distribution):
    """Replicate the model on every device (rank); split each batch.

    Every global batch of fit / evaluate / predict is cut into one slice
    per rank (sizes differ by at most one sample); each rank reads only
    its slice of arrays (a PyDataset or generator yields the global batch
    on every rank, which keeps its slice). The gradients are summed across
    ranks inside the compiled train step, weighted by each rank's number
    of samples, so R ranks with a global batch B compute what one process
    computes with batch B. Weights start from rank 0's; metrics, losses
    and callbacks see the global batch; only rank 0 prints and writes
    files.

    Args:
        device_mesh: a one-axis DeviceMesh over all ranks (optional).
        devices: the devices, list_devices() by default: every rank.

    Example:
        >>> dp = DataParallel()
        >>> dp.device_mesh.shape[0] == len(list_devices())
        True
    """

    def __init__(self, device_mesh=None, devices=None,
                 auto_shard_dataset=True):
        if device_mesh is None:
            devices = list_devices() if devices is None else list(devices)
            device_mesh = DeviceMesh((len(devices),), ["batch"], devices)
        elif devices is not None:
            raise ValueError(
                "DataParallel: pass device_mesh or devices, not both.")
        if len(device_mesh.shape) != 1:
            raise ValueError(
                f"DataParallel needs a one-axis DeviceMesh, received shape "
                f"{device_mesh.shape}.")
        if sorted(device_mesh.devices) != sorted(list_devices()):
            raise ValueError(
                f"DataParallel over {device_mesh.devices}: graphkeras "
                f"replicates over every rank of the job ({list_devices()}).")
        super().__init__(device_mesh, device_mesh.axis_names[0])
        self.auto_shard_dataset = bool(auto_shard_dataset)

    def __repr__(self) -> str:
        return f"<DataParallel over {len(self.device_mesh.devices)} device(s)>"


class ModelParallel(Distribution):
    """Keras 3's model-parallel distribution: not supported."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            "graphkeras.distribution supports DataParallel only: "
            "ModelParallel (sharded weights) is not implemented.")


def set_distribution(value) -> None:
    """Set the distribution fit / evaluate / predict use (None: none)."""
    if value is not None and not isinstance(value, Distribution):
        raise ValueError(
            f"set_distribution expects a Distribution (DataParallel) or "
            f"None, received {value!r}.")
    _STATE["distribution"] = value


def distribution():
    """The current distribution, or None."""
    return _STATE["distribution"]


def is_chief() -> bool:
    """Whether this process writes files and prints (rank 0, or alone)."""
    if _STATE["distribution"] is None:
        return True
    return process_index() == 0


__all__ = [
    "DataParallel", "DeviceMesh", "Distribution", "ModelParallel",
    "distribution", "initialize", "list_devices", "process_count",
    "process_index", "set_distribution",
]
