"""Damaged model files never take the process down (hostile_mutations.py):
every mutation of a valid .keras / .h5 / .weights.h5 (bytes flipped or
cut, zip entries dropped, duplicated or named ../x, config values of the
wrong type or absurd size, unknown classes, lambdas, cycles, deep
nesting, HDF5 datasets of the wrong dtype / shape / rank, soft and
external links, huge declared shapes) loads or raises a ValueError /
TypeError / FileNotFoundError naming the file. The files are loaded in a
worker process with a memory cap and a timeout, so a segfault, an abort,
a hang or a multi-GB allocation is reported as a failure, not suffered.

Fast here (one case per kind, and a few hypothesis draws);
`python bench/hostile_files.py --mutations 2000` runs a larger budget.
"""

import os
import random
import warnings

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import hostile_mutations as hm


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    import h5py
    import numpy as np

    d = tmp_path_factory.mktemp("hostile")
    seeds = hm.seed_files(str(d))
    extra = str(d / "other.h5")  # the target of external links
    with h5py.File(extra, "w") as f:
        f["data"] = np.zeros((3, 3))
    harness = hm.Harness(str(d), timeout=10)
    yield d, seeds, extra, harness
    harness.close()


def check_case(lab, name, kind, seed):
    d, seeds, extra, harness = lab
    rnd = random.Random(seed)
    data = hm.mutate(seeds[name], name, kind, rnd, extra)
    path = str(d / f"{kind}-{seed}-{name}")
    with open(path, "wb") as f:
        f.write(data)
    try:
        results = harness.load(path)
    finally:
        os.unlink(path)
    steps = ("load_model", "load_weights")
    for step, result in zip(steps, results):
        if step == "load_model" and name.endswith(".weights.h5"):
            continue  # (refused: not a model file; checked elsewhere)
        if result["outcome"] == "hung" and result.get("in_h5py"):
            # NOTE: a known limit (docs/saving.md): libhdf5 itself can
            # loop on a damaged file (a zeroed attribute heap); no Python
            # code runs meanwhile, so graphkeras cannot stop it
            warnings.warn(f"{kind} (seed {seed}) of {name}: {step} hung "
                          "inside libhdf5", stacklevel=2)
            continue
        assert hm.acceptable(result), (
            f"{kind} (seed {seed}) of {name}, {step}: {result['outcome']} "
            f"{result['type']}: {result['message'][:500]}")
    return results


@pytest.mark.parametrize("kind", hm.KINDS)
def test_each_mutation_is_loaded_or_refused_clearly(lab, kind):
    # one seed file per kind, in turn (the bench covers every pairing)
    names = [n for n in hm.SEEDS if hm.applicable(n, kind)]
    name = names[hm.KINDS.index(kind) % len(names)]
    check_case(lab, name, kind, seed=2)


@settings(max_examples=8, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much])
@given(name=st.sampled_from(hm.SEEDS), kind=st.sampled_from(hm.KINDS),
       seed=st.integers(0, 2 ** 16))
def test_random_mutations_are_loaded_or_refused_clearly(lab, name, kind,
                                                         seed):
    assume(hm.applicable(name, kind))
    check_case(lab, name, kind, seed)


def test_external_link_is_refused_naming_it(lab, tmp_path):
    import h5py

    d, seeds, extra, _ = lab
    path = tmp_path / "ext.weights.h5"
    path.write_bytes(seeds["m.weights.h5"])
    with h5py.File(path, "a") as f:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = h5py.ExternalLink("/etc/passwd", "/x")
    model = hm.make_model()
    with pytest.raises(ValueError) as e:
        model.load_weights(path)
    msg = str(e.value)
    assert str(path) in msg and "external link" in msg and \
        "/etc/passwd" in msg, msg


def test_harness_reports_a_crash_and_recovers(lab):
    # a worker that dies mid-load (here: abort()) is reported as crashed,
    # and the next file gets a fresh worker
    d, _, _, harness = lab
    results = harness.load("::abort::")
    assert [r["outcome"] for r in results] == ["crashed", "crashed"]
    results = harness.load(str(d / "m.keras"))
    assert [r["outcome"] for r in results] == ["loaded", "loaded"]


@pytest.mark.parametrize("name", ["m.keras", "m.h5"])
def test_small_file_declaring_a_huge_model_is_refused_before_allocating(
        lab, tmp_path, name):
    import io
    import json
    import tracemalloc
    import zipfile

    import h5py

    from graphkeras.saving import load_model

    d, seeds, _, _ = lab
    path = tmp_path / name

    def grow(cfg):  # the Dense "out": 2 -> 2**29 units (8 GB of kernel)
        for layer in cfg["config"]["layers"]:
            if layer["class_name"] == "Dense":
                layer["config"]["units"] = 2 ** 29
        return cfg

    if name.endswith(".keras"):
        with zipfile.ZipFile(io.BytesIO(seeds[name])) as z:
            entries = {n: z.read(n) for n in z.namelist()}
        entries["config.json"] = json.dumps(
            grow(json.loads(entries["config.json"]))).encode()
        with zipfile.ZipFile(path, "w") as z:
            for n, b in entries.items():
                z.writestr(n, b)
    else:
        path.write_bytes(seeds[name])
        with h5py.File(path, "a") as f:
            f.attrs["model_config"] = json.dumps(
                grow(json.loads(f.attrs["model_config"])))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as e:
            load_model(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    msg = str(e.value)
    assert str(path) in msg and "out/kernel" in msg and "536870912" in msg \
        and "small file declaring a huge model" in msg, msg
    assert peak < 64 << 20, peak
