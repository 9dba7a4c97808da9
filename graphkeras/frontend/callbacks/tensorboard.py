"""TensorBoard: Keras's callback, writing event files without TensorFlow.

The events are written with tensorboard's own writer (EventFileWriter and
its protocol buffers, the `tensorboard` extra), in Keras 3's layout:
`log_dir/train` and `log_dir/validation`, scalars `epoch_<metric>` (plus
`epoch_learning_rate`, `epoch_steps_per_second`), `batch_<metric>` every
`update_freq` batches, `evaluation_<metric>_vs_iterations`, weight
histograms and images, the embeddings' projector config and checkpoints.

Beyond Keras:

- `write_graph` puts the *compiled* train program in the Graphs tab: one
  node per kernel after fusion (a fused kernel lists its ops), grouped by
  the layer that produced it, edges labelled with shapes, the program's
  inputs and state as Placeholder / Variable nodes. The Keras model config
  goes beside it ("keras" tag) as Keras writes it.
- `profile_batch` records each kernel's time over the batches named (the
  real training steps, not a replay): a text table under
  `profile/kernels` (what `graphkeras inspect --profile` prints), a scalar
  per kernel under `profile/`, and run metadata so the Graphs tab can
  colour the kernels by compute time ("batch_<n>" in its Run dropdown).

NOTE: histogram and image tags use the weight's path (`dense/kernel`),
not Keras 3's bare name (`kernel`), which repeats across layers.
"""

from __future__ import annotations

import json
import os
import re
import struct
import time
import types
import zlib

import numpy as np

from ..families import family_objects
from .callback import Callback


def _tb():
    try:
        from tensorboard.compat.proto import (
            attr_value_pb2,
            config_pb2,
            event_pb2,
            graph_pb2,
            node_def_pb2,
            step_stats_pb2,
            summary_pb2,
            tensor_pb2,
            tensor_shape_pb2,
        )
        from tensorboard.summary.writer.event_file_writer import (
            EventFileWriter,
        )
    except ImportError as e:
        raise ImportError(
            "callbacks.TensorBoard needs the `tensorboard` package (its own "
            f"event writer; TensorFlow is not needed), which is not installed "
            f"({e}). Install the extra: pip install 'graphkeras[tensorboard]'."
        ) from None
    return {
        "attr": attr_value_pb2, "config": config_pb2, "event": event_pb2,
        "graph": graph_pb2, "node": node_def_pb2, "stats": step_stats_pb2,
        "summary": summary_pb2, "tensor": tensor_pb2,
        "shape": tensor_shape_pb2, "Writer": EventFileWriter,
    }


# --- summaries ------------------------------------------------------------------


def _png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 image (H, W, C) with C in 1, 3, 4."""
    h, w, c = image.shape
    color = {1: 0, 3: 2, 4: 6}[c]
    raw = b"".join(b"\x00" + image[i].tobytes() for i in range(h))

    def chunk(tag, data):
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(
            ">I", zlib.crc32(body) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def _histogram(pb, values: np.ndarray, bins: int = 30):
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return pb["summary"].HistogramProto()
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return pb["summary"].HistogramProto(
        min=float(v.min()), max=float(v.max()), num=float(v.size),
        sum=float(v.sum()), sum_squares=float(np.dot(v, v)),
        bucket_limit=[float(e) for e in edges[1:]],
        bucket=[float(c) for c in counts])


def _text_value(pb, tag: str, text: str, plugin: str = "text"):
    tensor = pb["tensor"].TensorProto(
        dtype=7, string_val=[text.encode("utf-8")],  # DT_STRING
        tensor_shape=pb["shape"].TensorShapeProto())
    meta = pb["summary"].SummaryMetadata(
        plugin_data=pb["summary"].SummaryMetadata.PluginData(
            plugin_name=plugin))
    return pb["summary"].Summary.Value(tag=tag, tensor=tensor, metadata=meta)


def _weight_image(w: np.ndarray):
    """Keras's picture of a weight: (rows, cols, 1) of uint8, or None."""
    img = np.squeeze(np.asarray(w, dtype=np.float64))
    if img.ndim == 1:
        img = img[None, :]
    elif img.ndim == 2:
        if img.shape[0] > img.shape[1]:
            img = img.T
    elif img.ndim == 3:  # channels last: one picture per output channel
        img = np.concatenate(list(np.transpose(img, (2, 0, 1))), axis=1)
    else:
        return None
    lo, hi = img.min(), img.max()
    scaled = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    return (scaled * 255).round().astype(np.uint8)[:, :, None]


# --- the compiled program as a GraphDef ----------------------------------------


def _clean(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-/]", "_", name) or "_"


def _shape_proto(pb, t):
    dims = [pb["shape"].TensorShapeProto.Dim(size=d if isinstance(d, int)
                                              else -1)
            for d in t.shape]
    return pb["shape"].TensorShapeProto(dim=dims)


def _dtype_enum(t) -> int:
    # tensorflow DataType numbers, for the Graphs tab's node info
    return {"f32": 1, "f64": 2, "i32": 3, "u8": 4, "i8": 6, "i64": 9,
            "bool": 10, "f16": 19}.get(str(t.dtype), 0)


def kernel_names(exe) -> list:
    """The GraphDef node name of each kernel of `exe` (layer scope / k<i>)."""
    from ...runtime.profile import kernel_label

    names = []
    for i, node in enumerate(exe.layout.kernels):
        op = kernel_label(node).split(" -> ")[0]
        op = op.split("(")[0]
        scope = _clean(node.loc) + "/" if node.loc else "step/"
        names.append(f"{scope}k{i}_{_clean(op)}")
    return names


def program_graph(pb, exe):
    """GraphDef of a compiled program: kernels after fusion with their
    output shapes, inputs and state as Placeholder / VariableV2 nodes."""
    from ...runtime.profile import kernel_label

    prog = exe.program
    graph = pb["graph"].GraphDef()
    producer: dict = {}
    state = set(prog.state)
    # the compiled program's parameters are the caller's, renamed by
    # position (runtime/compiled.canonical_program)
    compiled_params = getattr(exe, "fn", prog.fn).params
    for p, original in zip(compiled_params, prog.fn.params):
        label = original.name
        kind = "VariableV2" if label in state else "Placeholder"
        scope = "state/" if label in state else "inputs/"
        node = graph.node.add(name=scope + _clean(label), op=kind)
        node.attr["dtype"].type = _dtype_enum(p.type)
        node.attr["_output_shapes"].list.shape.extend(
            [_shape_proto(pb, p.type)])
        node.attr["shape"].shape.CopyFrom(_shape_proto(pb, p.type))
        producer[p.name] = (node.name, 0)
    for name, node_ir in zip(kernel_names(exe), exe.layout.kernels):
        node = graph.node.add(name=name, op=kernel_label(node_ir).split(
            " -> ")[0][:200])
        for v in node_ir.inputs:
            if v.name not in producer:  # a constant folded into the plan
                const = graph.node.add(name=f"constants/{_clean(v.name)}",
                                       op="Const")
                const.attr["_output_shapes"].list.shape.extend(
                    [_shape_proto(pb, v.type)])
                producer[v.name] = (const.name, 0)
            src, k = producer[v.name]
            node.input.append(src if k == 0 else f"{src}:{k}")
        node.attr["_output_shapes"].list.shape.extend(
            [_shape_proto(pb, o.type) for o in node_ir.outputs])
        node.attr["outputs"].s = ", ".join(
            str(o.type) for o in node_ir.outputs).encode()
        if node_ir.loc:
            node.attr["layer"].s = node_ir.loc.encode()
        for k, o in enumerate(node_ir.outputs):
            producer[o.name] = (name, k)
    return graph


class _Interpreted:
    """A train program that the reference interpreter runs
    (`run_eagerly=True`), seen as one "kernel" per IR node for the graph."""

    def __init__(self, program):
        self.program = program
        self.fn = program.fn
        self.layout = types.SimpleNamespace(kernels=tuple(program.fn.nodes))


def _train_executable(model, compiled_only=True):
    """The most recently used compiled train program of `model`, or None
    (not built yet; or, with compiled_only, run eagerly by the reference
    interpreter, else that program as an _Interpreted)."""
    steps = getattr(model, "_steps", None)  # trainer's StepCache
    entries = getattr(steps, "_entries", {})  # least recently used first
    found = [e for k, e in entries.items() if k and k[0] == "train"]
    if not found:
        return None
    exe = found[-1].executable
    if hasattr(exe, "layout"):
        return exe
    program = getattr(found[-1], "program", None)
    if compiled_only or program is None:
        return None
    return _Interpreted(program)


class TensorBoard(Callback):
    """Write logs for TensorBoard (scalars, histograms, images, the compiled
    train graph, kernel profiles), as `keras.callbacks.TensorBoard`.

    Needs the `tensorboard` package (`pip install
    'graphkeras[tensorboard]'`), not TensorFlow. View with
    `tensorboard --logdir=path_to_your_logs`.

    Args:
        log_dir: directory for the event files ("logs"): `train/` and
            `validation/` beneath it.
        histogram_freq: epochs between weight histograms (0: none).
        write_graph: write the compiled train program to the Graphs tab
            (and the Keras model config beside it).
        write_images: also write each weight as an image.
        write_steps_per_second: log steps per second (per epoch and, with
            batch logging, per batch).
        update_freq: "epoch", "batch", or an int N: batch-level scalars
            every N batches.
        profile_batch: 0 (none), a batch number, or (start, stop): record
            each compiled kernel's time over those batches (counted from 1
            over the whole fit).
        embeddings_freq: epochs between embedding checkpoints (0: none).
        embeddings_metadata: a file name, or {layer name: file name}.

    Example:

    ```python
    tb = graphkeras.callbacks.TensorBoard("logs", histogram_freq=1)
    model.fit(x, y, epochs=3, callbacks=[tb])
    ```
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True,
                 write_images=False, write_steps_per_second=False,
                 update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        self._pb = _tb()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.write_graph = bool(write_graph)
        self.write_images = bool(write_images)
        self.write_steps_per_second = bool(write_steps_per_second)
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (
                isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(
                "update_freq must be 'epoch', 'batch' or a positive integer. "
                f"Received: update_freq={update_freq!r}"
            )
        self.update_freq = update_freq
        self.embeddings_freq = int(embeddings_freq)
        self.embeddings_metadata = embeddings_metadata
        self._start_batch, self._stop_batch = self._profile_range(
            profile_batch)
        self._writers: dict = {}
        self._global_train_batch = 0
        self._recorder = None
        self._graph_written = False

    @staticmethod
    def _profile_range(profile_batch):
        msg = ("profile_batch must be a non-negative integer or 2-tuple of "
               "positive integers. A pair of positive integers signifies a "
               f"range of batches to profile. Found: {profile_batch}")
        pb = profile_batch
        if isinstance(pb, str):
            try:
                pb = [int(s) for s in pb.split(",")]
            except ValueError:
                raise ValueError(msg) from None
            pb = pb[0] if len(pb) == 1 else pb
        if isinstance(pb, (int, np.integer)) and not isinstance(pb, bool):
            start = stop = int(pb)
        elif isinstance(pb, (tuple, list)) and len(pb) == 2:
            start, stop = int(pb[0]), int(pb[1])
        else:
            raise ValueError(msg)
        if start < 0 or stop < start or (start == 0 and stop != 0):
            raise ValueError(msg)
        return start, stop

    # --- writers -----------------------------------------------------------

    def _writer(self, which: str):
        if which not in self._writers:
            path = os.path.join(self.log_dir, which)
            os.makedirs(path, exist_ok=True)
            self._writers[which] = self._pb["Writer"](path)
        return self._writers[which]

    def _event(self, which: str, step: int, **fields):
        ev = self._pb["event"].Event(wall_time=time.time(), step=int(step),
                                     **fields)
        self._writer(which).add_event(ev)

    def _summary(self, which: str, step: int, values: list):
        self._event(which, step,
                    summary=self._pb["summary"].Summary(value=values))

    def _scalars(self, which: str, step: int, logs: dict, prefix: str):
        values = []
        for name, v in logs.items():
            a = np.asarray(v)
            if a.size != 1 or not np.issubdtype(a.dtype, np.number):
                continue
            values.append(self._pb["summary"].Summary.Value(
                tag=prefix + name, simple_value=float(a.reshape(()))))
        if values:
            self._summary(which, step, values)

    # --- hooks -------------------------------------------------------------

    def set_model(self, model):
        super().set_model(model)
        self._writers = {}
        self._graph_written = not self.write_graph
        if self.write_graph:
            self._write_keras_model_config()
        if self.embeddings_freq:
            self._configure_embeddings()

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0

    def on_train_end(self, logs=None):
        if self._recorder is not None:
            self._finish_profile()
        for w in self._writers.values():
            w.close()
        self._writers = {}

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()
        self._epoch_iterations = self._iterations()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        self._batch_start = time.time()
        if self._start_batch and self._recorder is None and \
                self._start_batch <= self._global_train_batch <= \
                self._stop_batch:
            self._start_profile()
        if self._recorder is not None:
            self._recorder.start()

    def on_train_batch_end(self, batch, logs=None):
        if self._recorder is not None:
            self._recorder.stop()
            if self._global_train_batch >= self._stop_batch:
                self._finish_profile()
        if not self._graph_written:
            self._write_program_graph()
        step = self._global_train_batch
        if self.update_freq != "epoch" and step % self.update_freq == 0:
            out = dict(logs or {})
            if self.write_steps_per_second:
                out["steps_per_second"] = 1.0 / max(
                    time.time() - self._batch_start, 1e-9)
            self._scalars("train", step, out, "batch_")

    def on_test_end(self, logs=None):
        opt = getattr(self.model, "optimizer", None)
        if opt is None or not logs:
            return
        self._scalars("validation", self._iterations(), {
            f"evaluation_{k}_vs_iterations": v for k, v in logs.items()}, "")
        self._writer("validation").flush()  # evaluate() has no train end

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        opt = getattr(self.model, "optimizer", None)
        if opt is not None and hasattr(opt, "learning_rate"):
            try:
                train["learning_rate"] = float(np.asarray(
                    getattr(opt.learning_rate, "numpy", lambda: opt.
                            learning_rate)()))
            except (TypeError, ValueError):
                pass
        if self.write_steps_per_second:
            took = max(time.time() - getattr(self, "_epoch_start",
                                             time.time()), 1e-9)
            done = self._iterations() - getattr(self, "_epoch_iterations", 0)
            train["steps_per_second"] = done / took
        self._scalars("train", epoch, train, "epoch_")
        if val:
            self._scalars("validation", epoch, val, "epoch_")
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            path = os.path.join(self.log_dir, "train",
                                f"keras_embedding.ckpt-{epoch}.weights.h5")
            self.model.save_weights(path)
        for w in self._writers.values():
            w.flush()

    # --- pieces ------------------------------------------------------------

    def _iterations(self) -> int:
        opt = getattr(self.model, "optimizer", None)
        it = getattr(opt, "iterations", None)
        if it is None:
            return 0
        return int(np.asarray(getattr(it, "numpy", lambda: it)()))

    def _log_weights(self, epoch: int):
        values = []
        for layer in self.model.layers:
            for w in layer.weights:
                tag = _clean(getattr(w, "path", None) or w.name)
                arr = np.asarray(w.numpy())
                values.append(self._pb["summary"].Summary.Value(
                    tag=f"{tag}/histogram", histo=_histogram(self._pb, arr)))
                if self.write_images:
                    img = _weight_image(arr)
                    if img is not None:
                        values.append(self._pb["summary"].Summary.Value(
                            tag=f"{tag}/image",
                            image=self._pb["summary"].Summary.Image(
                                height=img.shape[0], width=img.shape[1],
                                colorspace=1, encoded_image_string=_png(img))))
        if values:
            self._summary("train", epoch, values)

    def _write_keras_model_config(self):
        # the model classes by name (the models family, frontend/families.py)
        models = family_objects("models")
        if not isinstance(self.model, (models["Functional"],
                                       models["Sequential"])):
            return  # Keras writes it for Functional and Sequential only
        try:
            text = self.model.to_json()
        except (TypeError, ValueError, NotImplementedError):
            return
        self._summary("train", 0, [_text_value(self._pb, "keras", text,
                                               "graph_keras_model")])

    def _write_program_graph(self):
        exe = _train_executable(self.model, compiled_only=False)
        self._graph_written = True
        if exe is None:
            return
        graph = program_graph(self._pb, exe)
        self._event("train", 0, graph_def=graph.SerializeToString())
        self._writer("train").flush()

    def _start_profile(self):
        from ...runtime.profile import KernelRecorder

        exe = _train_executable(self.model)
        if exe is None:
            # the first batch builds the program: profile from the next
            self._start_batch = self._global_train_batch + 1
            self._stop_batch = max(self._stop_batch, self._start_batch)
            return
        self._recorder = KernelRecorder(exe)
        self._profile_first = self._global_train_batch

    def _finish_profile(self):
        rec, self._recorder = self._recorder, None
        prof = rec.profile()
        first, last = self._profile_first, self._global_train_batch
        step = last
        pb = self._pb
        head = (f"compiled kernels of batches {first}-{last} "
                f"({prof.runs} step{'s' if prof.runs != 1 else ''})\n\n")
        values = [_text_value(pb, "profile/kernels",
                              head + "    " + prof.table().replace(
                                  "\n", "\n    "))]
        names = kernel_names(rec.exe)
        for k in prof.kernels:
            values.append(pb["summary"].Summary.Value(
                tag=f"profile/{names[k.index]}_us",
                simple_value=k.seconds * 1e6))
        values.append(pb["summary"].Summary.Value(
            tag="profile/step_ms", simple_value=prof.step_seconds * 1e3))
        self._summary("train", step, values)
        # run metadata: the Graphs tab colours kernels by compute time
        stats = pb["stats"].StepStats()
        dev = stats.dev_stats.add(device="/cpu:0")
        t0 = 0
        for k in prof.kernels:
            us = max(int(round(k.seconds * 1e6)), 1)
            dev.node_stats.add(node_name=names[k.index], all_start_micros=t0,
                               op_start_rel_micros=0, op_end_rel_micros=us,
                               all_end_rel_micros=us)
            t0 += us
        meta = pb["config"].RunMetadata(step_stats=stats)
        tagged = pb["event"].TaggedRunMetadata(
            tag=f"batch_{last}", run_metadata=meta.SerializeToString())
        self._event("train", step, tagged_run_metadata=tagged)
        self._writer("train").flush()

    def _configure_embeddings(self):
        from ..layers.embedding import Embedding

        lines = []
        meta = self.embeddings_metadata
        remaining = dict(meta) if isinstance(meta, dict) else None
        for layer in self.model.layers:
            if isinstance(layer, Embedding):
                lines.append("embeddings {")
                lines.append('  tensor_name: "layer_with_weights-0/'
                             'embeddings/.ATTRIBUTES/VARIABLE_VALUE"')
                path = meta if isinstance(meta, str) else (
                    remaining.pop(layer.name, None) if remaining is not None
                    else None)
                if path:
                    lines.append(f"  metadata_path: {json.dumps(path)}")
                lines.append("}")
        if remaining:
            raise ValueError(
                "Unrecognized `Embedding` layer names passed to "
                "`keras.callbacks.TensorBoard` `embeddings_metadata` "
                f"argument: {remaining.keys()}"
            )
        os.makedirs(self.log_dir, exist_ok=True)
        with open(os.path.join(self.log_dir, "projector_config.pbtxt"),
                  "w") as f:
            f.write("\n".join(lines) + ("\n" if lines else ""))
