"""Mutated model files and a crash-proof harness that loads them.

`seed_files(folder)` writes valid files of one small model (`.keras`,
legacy `.h5`, `.weights.h5`, trained one step so they hold optimizer
state). `mutate(data, name, kind, rnd)` returns those bytes damaged in
one of the ways of KINDS: bytes flipped or cut, zip entries dropped,
duplicated, replaced or named `../x`, config values replaced by wrong
types, absurd sizes (units=2**40, -1), unknown classes and modules,
lambdas, cycles in inbound nodes, deep nesting; HDF5 datasets of the
wrong dtype, shape or rank, groups in place of datasets, soft and
external links, huge declared shapes over tiny data.

`Harness` loads files in a worker process (`python -m
hostile_mutations --worker`): `load_model` and `load_weights` into the
seed model. A worker that dies (a segfault, an abort), hangs (past
`timeout`) or runs out of its memory cap is reported as such and
replaced. `acceptable(result)` is the rule every file must meet: it loads,
or it raises a ValueError / TypeError / FileNotFoundError whose message
names the file. Used by tests/saving/test_hostile_mutations.py (a few
seconds) and bench/hostile_files.py --mutations N (a larger budget).
"""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SEEDS = ("m.keras", "m.h5", "m.weights.h5")
# The worker's address-space cap: a load that tries a multi-GB
# allocation fails with MemoryError (reported) instead of swapping.
MEMORY_CAP = 3 << 30


def make_model(compile=True):
    import graphkeras as keras

    x = keras.Input((5, 3), name="series")
    h = keras.layers.LSTM(4, name="lstm")(x)
    h = keras.layers.BatchNormalization(name="bn")(h)
    out = keras.layers.Dense(2, name="out")(h)
    model = keras.Model(x, out)
    if compile:
        model.compile(keras.optimizers.Adam(0.01), "mse")
    return model


def seed_files(folder) -> dict:
    """{name: bytes} of the valid files, also written to `folder`."""
    import graphkeras as keras

    keras.utils.set_random_seed(3)
    model = make_model()
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(4, 5, 3)).astype("float32"),
              rng.normal(size=(4, 2)).astype("float32"), epochs=1,
              batch_size=4, verbose=0)
    out = {}
    for name in SEEDS:
        path = os.path.join(folder, name)
        if name.endswith(".weights.h5"):
            model.save_weights(path)
        else:
            model.save(path)
        with open(path, "rb") as f:
            out[name] = f.read()
    return out


# --- mutations ---------------------------------------------------------------------

HOSTILE_VALUES = [None, -1, 0, 2 ** 40, -(2 ** 40), 2 ** 63, 1e308, -0.5,
                  float("nan"), "x" * 3, "", [], {}, [[[[1]]]], True,
                  {"class_name": "Dense"}, [None, None], "../../etc/passwd",
                  {"module": "os", "class_name": "system", "config": "ls"}]
HOSTILE_CLASSES = [("keras.layers", "NoSuchLayer"), ("os", "system"),
                   ("builtins", "eval"), ("keras.layers", "Lambda"),
                   ("keras.src.ops.numpy", "NoSuchOp"), ("keras", "Model"),
                   ("keras.layers", "InputLayer"), (None, "Dense"),
                   ("keras.layers", "")]


def _zip_entries(data: bytes) -> list:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def _zip_bytes(entries, compression=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, blob in entries:
            z.writestr(name, blob)
    return out.getvalue()


def _json_paths(obj, path=()):
    yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _json_paths(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _json_paths(v, path + (i,))


def _json_set(obj, path, value):
    if not path:
        return value
    parent = obj
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    return obj


def _layer_dicts(obj):
    """Every dict of the config that has a class_name (layers, ops,
    initializers, optimizers...)."""
    for path in _json_paths(obj):
        node = obj
        for p in path:
            node = node[p]
        if isinstance(node, dict) and "class_name" in node:
            yield node


def mutate_json(cfg, kind: str, rnd):
    """A config (dict) damaged by one JSON mutation."""
    if kind == "json_value":
        paths = [p for p in _json_paths(cfg) if p]
        path = rnd.choice(paths)
        return _json_set(cfg, path, rnd.choice(HOSTILE_VALUES))
    if kind == "json_key_drop":
        dicts = [p for p in _json_paths(cfg) if p and isinstance(
            _get(cfg, p[:-1]), dict)]
        path = rnd.choice(dicts)
        del _get(cfg, path[:-1])[path[-1]]
        return cfg
    if kind == "json_class":
        node = rnd.choice(list(_layer_dicts(cfg)))
        module, name = rnd.choice(HOSTILE_CLASSES)
        node["class_name"] = name
        if module is None:
            node.pop("module", None)
        else:
            node["module"] = module
        if name == "Lambda" and isinstance(node.get("config"), dict):
            node["config"]["function"] = {
                "class_name": "__lambda__", "config": {
                    "code": "4wEAAAAAAAAA", "defaults": None,
                    "closure": None}}
        return cfg
    if kind == "json_cycle":
        layers = [n for n in _layer_dicts(cfg) if n.get("inbound_nodes")]
        if not layers:
            return mutate_json(cfg, "json_value", rnd)
        node = rnd.choice(layers)
        target = rnd.choice(layers).get("name", node.get("name"))
        text = json.dumps(node["inbound_nodes"])
        names = {n.get("name") for n in _layer_dicts(cfg)}
        for other in names:
            if other and f'"{other}"' in text:
                text = text.replace(f'"{other}"', json.dumps(target), 1)
                break
        node["inbound_nodes"] = json.loads(text)
        return cfg
    if kind == "json_deep":
        paths = [p for p in _json_paths(cfg) if p]
        path = rnd.choice(paths)
        deep = rnd.choice([1, 2])
        value = _get(cfg, path)
        # (json.dumps's own limit is ~1000 levels; a Sequential is 3)
        for _ in range(rnd.choice([50, 300, 900] if deep == 1 else [50, 300])):
            value = [value] if deep == 1 else {"class_name": "Sequential",
                                               "config": {"layers": [value]}}
        return _json_set(cfg, path, value)
    if kind == "json_shape":
        dicts = [n for n in _json_paths(cfg) if n and n[-1] in (
            "units", "filters", "batch_shape", "input_dim", "output_dim",
            "kernel_size", "shape", "axis", "num_heads", "key_dim",
            "target_shape", "size", "rate", "groups", "input_shape")]
        if not dicts:
            return mutate_json(cfg, "json_value", rnd)
        path = rnd.choice(dicts)
        return _json_set(cfg, path, rnd.choice(
            [2 ** 40, -3, 0, [2 ** 31, 2 ** 31], [None, -1], [0, 0, 0],
             [2 ** 20, 2 ** 20, 2 ** 20], 1.5, "12", [[2]]]))
    raise ValueError(kind)


def _get(obj, path):
    for p in path:
        obj = obj[p]
    return obj


def mutate_h5(data: bytes, kind: str, rnd, extra_file: str) -> bytes:
    """HDF5 bytes damaged by one h5 mutation on a random dataset (or a
    legacy file's attributes)."""
    import h5py

    buf = io.BytesIO(data)
    with h5py.File(buf, "a") as f:
        names = []
        f.visititems(lambda n, o: names.append(n)
                     if isinstance(o, h5py.Dataset) else None)
        if kind == "h5_attr":
            groups = [f] + [f[n.rsplit("/", 1)[0]] for n in names
                            if "/" in n]
            g = rnd.choice(groups)
            keys = list(g.attrs) or ["layer_names"]
            key = rnd.choice(keys)
            g.attrs[key] = rnd.choice([
                np.array([b"nope", b"../x"]), np.int64(7), b"\xff\xfe",
                np.zeros((3, 3)), np.array([], dtype="float64"), "{[",
                json.dumps({"class_name": "Sequential", "config": 3})])
            return _after(f, buf)
        if not names:
            return data
        name = rnd.choice(names)
        old = f[name]
        shape, dtype = old.shape, old.dtype
        del f[name]
        if kind == "h5_dtype":
            choice = rnd.choice(["str", "compound", "complex", "bool",
                                 "float16", "int8", "vlen", "object"])
            n = int(np.prod(shape)) if shape else 1
            if choice == "str":
                f.create_dataset(name, data=np.array([b"abc"] * max(n, 1)))
            elif choice == "compound":
                f.create_dataset(name, shape=shape or (1,), dtype=np.dtype(
                    [("a", "f4"), ("b", "i4")]))
            elif choice == "complex":
                f.create_dataset(name, shape=shape, dtype="complex64")
            elif choice == "vlen":
                dt = h5py.vlen_dtype(np.dtype("float32"))
                d = f.create_dataset(name, shape=(2,), dtype=dt)
                d[0] = np.arange(3, dtype="float32")
            elif choice == "object":
                f.create_dataset(name, data=h5py.Empty("f"))
            else:
                f.create_dataset(name, shape=shape, dtype=choice)
        elif kind == "h5_shape":
            new = rnd.choice([(), (0,), tuple(reversed(shape)) or (2,),
                              shape + (1,), shape[:-1],
                              tuple(s + 1 for s in shape) or (3,)])
            f.create_dataset(name, shape=new, dtype=dtype)
        elif kind == "h5_group":
            f.create_group(name).create_dataset("0", data=np.zeros(2))
        elif kind == "h5_softlink":
            target = rnd.choice(["/nowhere", "/" + name, "/" + rnd.choice(
                names), "/"])
            f[name] = h5py.SoftLink(target)
        elif kind == "h5_extlink":
            f[name] = h5py.ExternalLink(
                rnd.choice([extra_file, "/etc/passwd", "/dev/zero",
                            "missing.h5"]), "/data")
        elif kind == "h5_huge":
            f.create_dataset(name, shape=(1 << 20,) * max(len(shape), 2),
                             dtype=dtype, chunks=(64,) * max(len(shape), 2),
                             compression=rnd.choice([None, "gzip"]))
        else:
            raise ValueError(kind)
        return _after(f, buf)


def _after(f, buf) -> bytes:
    """The bytes of the in-memory file once `f` is closed."""
    f.close()
    return buf.getvalue()


BYTE_KINDS = ["flip", "truncate", "zero_block", "append"]
ZIP_KINDS = ["zip_drop", "zip_dup", "zip_replace", "zip_traversal",
             "zip_deflate_damage", "zip_extra_entries"]
JSON_KINDS = ["json_value", "json_key_drop", "json_class", "json_cycle",
              "json_deep", "json_shape"]
H5_KINDS = ["h5_dtype", "h5_shape", "h5_group", "h5_softlink",
            "h5_extlink", "h5_huge", "h5_attr"]
KINDS = BYTE_KINDS + ZIP_KINDS + JSON_KINDS + H5_KINDS


def applicable(name: str, kind: str) -> bool:
    if kind in ZIP_KINDS:
        return name.endswith(".keras")
    if kind in JSON_KINDS:
        return not name.endswith(".weights.h5")
    return True


def mutate(data: bytes, name: str, kind: str, rnd, extra_file="") -> bytes:
    """`data` (the bytes of seed file `name`) damaged by mutation `kind`;
    `rnd` is a random.Random that picks where and how."""
    n = len(data)
    if kind == "flip":
        out = bytearray(data)
        for _ in range(rnd.choice([1, 4, 64])):
            out[rnd.randrange(n)] ^= 1 << rnd.randrange(8)
        return bytes(out)
    if kind == "truncate":
        return data[:rnd.randrange(n)]
    if kind == "zero_block":
        at = rnd.randrange(n)
        size = rnd.choice([16, 512, 4096])
        return data[:at] + bytes(min(size, n - at)) + data[at + size:]
    if kind == "append":
        return data + bytes(rnd.randrange(256) for _ in range(64))
    if name.endswith(".keras"):
        entries = _zip_entries(data)
        names = [e[0] for e in entries]
        if kind == "zip_drop":
            entries.pop(rnd.randrange(len(entries)))
        elif kind == "zip_dup":
            i = rnd.randrange(len(entries))
            entries.append((entries[i][0], rnd.choice(
                [b"", b"{}", entries[(i + 1) % len(entries)][1]])))
        elif kind == "zip_replace":
            i = rnd.randrange(len(entries))
            entries[i] = (entries[i][0], rnd.choice(
                [b"", b"\x00" * 100, b"null", b"[]", b'"text"',
                 b"\x89HDF\r\n\x1a\n" + bytes(100), entries[i][1][:50]]))
        elif kind == "zip_traversal":
            entries.append((rnd.choice(["../evil.txt", "/abs/evil",
                                        "C:\\evil", "assets/../../x",
                                        "assets/a\x00b"]), b"x"))
        elif kind == "zip_deflate_damage":
            raw = bytearray(_zip_bytes(entries, zipfile.ZIP_DEFLATED))
            for _ in range(8):
                at = rnd.randrange(len(raw) // 2)
                raw[at] ^= 0xFF
            return bytes(raw)
        elif kind == "zip_extra_entries":
            entries += [(f"assets/layers/{rnd.choice(['lstm', 'out'])}/"
                         f"vocabulary.txt", b"1\n2\n"),
                        ("model.weights.npz", b"x"), ("assets/", b"")]
        elif kind in JSON_KINDS:
            i = names.index("config.json")
            cfg = json.loads(entries[i][1])
            cfg = mutate_json(cfg, kind, rnd)
            entries[i] = ("config.json", json.dumps(cfg).encode())
        elif kind in H5_KINDS:
            i = names.index("model.weights.h5")
            entries[i] = (entries[i][0], mutate_h5(entries[i][1], kind, rnd,
                                                   extra_file))
        return _zip_bytes(entries)
    if kind in JSON_KINDS:  # a legacy .h5: its model_config attribute
        import h5py

        buf = io.BytesIO(data)
        with h5py.File(buf, "a") as f:
            cfg = json.loads(f.attrs["model_config"])
            f.attrs["model_config"] = json.dumps(mutate_json(cfg, kind, rnd))
            return _after(f, buf)
    return mutate_h5(data, kind, rnd, extra_file)


# --- the harness -------------------------------------------------------------------


def acceptable(result: dict) -> bool:
    """A file loads, or its error is a ValueError / TypeError /
    FileNotFoundError naming the file."""
    if result["outcome"] == "loaded":
        return True
    if result["outcome"] != "error":
        return False  # crashed, hung, or out of memory
    return result["clear_type"] and result["path"] in result["message"]


class Harness:
    """Loads files in a worker process; survives the worker's death."""

    def __init__(self, seed_dir: str, timeout: float = 60.0):
        self.seed_dir, self.timeout = seed_dir, timeout
        self.proc = None

    def _start(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [ROOT, HERE, os.environ.get("PYTHONPATH", "")]))
        self._err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hostile_mutations", "--worker",
             self.seed_dir, str(self.timeout)], cwd=HERE, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err)
        self._buf = b""
        self._read(120.0)  # "ready"

    def _read(self, timeout):
        """The worker's next JSON line, None if it dies or says nothing
        for `timeout` seconds. NOTE: reads the pipe's fd itself: a
        buffered readline could swallow two lines at once, and select()
        would then wait for one already read."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def load(self, path: str) -> list:
        """[result of load_model, result of load_weights] for `path`;
        each {"outcome": loaded | error | crashed | hung, "type",
        "message", "path"}."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write((path + "\n").encode())
        self.proc.stdin.flush()
        results = []
        for step in ("load_model", "load_weights"):
            # the worker dumps its stack and exits after `timeout`
            got = self._read(self.timeout + 15)
            if got is None:
                try:  # a dead worker's pipe closes before it is reaped
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                hung = self.proc.poll() is None
                self.close()
                self._err.seek(0)
                err = self._err.read().decode("utf-8", "replace")
                outcome = "hung" if hung or "Timeout (" in err else "crashed"
                # the innermost frame: where it hung or died
                frames = [ln.strip() for ln in err.splitlines()
                          if ln.strip().startswith("File ")]
                where = frames[0] if frames else "(no stack)"
                results.append({"outcome": outcome, "type": "", "path": path,
                                "in_h5py": "/h5py/" in where,
                                "message": f"{step}: worker {outcome} at "
                                f"{where}"})
                while len(results) < 2:
                    results.append(dict(results[-1]))
                return results
            results.append(got)
        return results

    def close(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None


def _worker(seed_dir, timeout):
    import faulthandler
    import resource
    import warnings

    warnings.simplefilter("ignore")
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    from graphkeras.saving import load_model

    target = make_model(compile=True)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        path = line.rstrip("\n")
        if path == "::abort::":  # the harness's own test: a dying worker
            os.abort()
        for load in (lambda p: load_model(p, safe_mode=True),
                     target.load_weights):
            # a hang (inside libhdf5, say) dumps the stack and exits
            faulthandler.dump_traceback_later(timeout, exit=True)
            try:
                load(path)
                result = {"outcome": "loaded", "type": "", "message": ""}
            except MemoryError as e:
                result = {"outcome": "out of memory", "type": "MemoryError",
                          "message": str(e)[:500]}
            except Exception as e:  # noqa: BLE001 - classified by acceptable
                result = {"outcome": "error", "type": type(e).__name__,
                          "message": str(e)[:2000], "clear_type": isinstance(
                              e, (ValueError, TypeError, FileNotFoundError))}
            faulthandler.cancel_dump_traceback_later()
            result["path"] = path
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker(sys.argv[2], float(sys.argv[3]))
