"""``python -m sqlml_dagster.runtime.score_worker``: one model version scoring Arrow record
batches for ``ML_PREDICT`` — in a process of its own, beside the orchestrator.

Why a process: ``ML_PREDICT(m, …)`` is an expression inside someone's SQL, so it is scored
while the warehouse runs the query (a vectorized DuckDB function, ``ops/model_functions.py``).
scikit-learn and XGBoost versions are loaded in the orchestrator itself (trusted types only).
A PyTorch or Keras version cannot be: loading it imports its framework and the project's
model code, which must never run in the process that holds the warehouse's credentials,
and TensorFlow's first import decides once per process what ``tf.keras`` means. So the
orchestrator starts this worker (once per version per materialization, when its function
is first called), with the environment a local predict step gets, and the function sends
each batch here and returns the answer.

The version is loaded by :func:`runtime.scoring.load_predictor` — the loader ``TO PREDICT``
and ``sqlml serve`` use — and each batch is scored as the PREDICT step scores it, so the
values are ``TO PREDICT``'s.

Protocol (stdin → worker, worker → stdout), frames of one kind byte, a 4-byte big-endian
length and the payload:

- ``S`` (once, first): JSON ``{"spec": StepSpec, "probabilities": bool}``;
- ``B``: an Arrow IPC stream of one record batch, the features named as the version names
  them; answered by a ``B`` with the batch's ``prediction`` column (and, when asked for,
  ``probabilities``: ``list<double>``, one per class in the version's class order);
- after loading, the worker sends ``R``: JSON ``{"task", "classes"}``;
- ``E``: the worker's one-line reason (a load or scoring failure), after which it exits
  with the user-error status. End of stdin ends the worker (also when the orchestrator
  dies: nothing is left running).

Anything a framework prints goes to stderr: stdout carries frames only.
"""

from __future__ import annotations

import io
import json
import os
import struct
import sys
from typing import IO, Any

import numpy as np
import pyarrow as pa

from ..contract import AUTO, KERAS, USER_ERROR_EXIT_CODE
from ..contract.spec import StepSpec

#: ``python -m`` this to start a worker.
WORKER_MODULE = __name__

SPEC, BATCH, READY, ERROR = b"S", b"B", b"R", b"E"
_HEADER = struct.Struct(">cI")
PREDICTION, PROBABILITIES = "prediction", "probabilities"


class WorkerClosed(Exception):
    """The other side closed the stream (end of input, or the process is gone)."""


def write_frame(out: IO[bytes], kind: bytes, payload: bytes) -> None:
    out.write(_HEADER.pack(kind, len(payload)))
    out.write(payload)
    out.flush()


def read_frame(source: IO[bytes]) -> tuple[bytes, bytes]:
    header = _read_exactly(source, _HEADER.size)
    kind, size = _HEADER.unpack(header)
    return kind, _read_exactly(source, size)


def _read_exactly(source: IO[bytes], size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = source.read(left)
        if not chunk:
            raise WorkerClosed()
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def batch_bytes(batch: pa.RecordBatch) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue()


def batch_of(payload: bytes) -> pa.RecordBatch:
    table = pa.ipc.open_stream(payload).read_all()
    batches = table.combine_chunks().to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema)


def one_line(error: BaseException) -> str:
    """An exception as one line: its message, or its type where it has none."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


def score(predictor: Any, batch: pa.RecordBatch, probabilities: bool) -> pa.RecordBatch:
    """One batch scored as the PREDICT step scores it (``runtime/dl/predict.py`` for the
    deep-learning flavors: the network's outputs, then its labels)."""
    if hasattr(predictor, "label_array") and hasattr(predictor, "outputs"):
        outputs = predictor.outputs(batch)
        predicted = predictor.label_array(outputs)
    else:
        values = np.asarray(predictor.predict(batch))
        predicted = pa.array(values.tolist() if values.dtype == object else values)
    columns, names = [predicted], [PREDICTION]
    if probabilities:
        proba = predictor.predict_proba(batch)
        if proba is None:
            columns.append(pa.nulls(batch.num_rows, pa.list_(pa.float64())))
        else:
            matrix = np.asarray(proba, dtype=np.float64)
            columns.append(pa.array(matrix.tolist(), pa.list_(pa.float64())))
        names.append(PROBABILITIES)
    return pa.RecordBatch.from_arrays(columns, names=names)


def serve(source: IO[bytes], out: IO[bytes]) -> int:
    """Load the version the first frame names, then answer batches until end of input."""
    from . import StepError
    from .quiet import preload_tensorflow, quiet_framework_env, quiet_step

    try:
        kind, payload = read_frame(source)
    except WorkerClosed:
        return 0
    try:
        if kind != SPEC:
            raise StepError("the scoring worker expects the version's spec first")
        header = json.loads(payload)
        spec = StepSpec.from_json(json.dumps(header["spec"]))
        probabilities = bool(header.get("probabilities"))
        quiet_framework_env()
        predictor = _load(spec, quiet_step, preload_tensorflow)
        ready = {"task": predictor.task, "classes": _plain(predictor.classes)}
        write_frame(out, READY, json.dumps(ready).encode())
    except Exception as e:  # one line back, never a traceback across the pipe
        write_frame(out, ERROR, one_line(e).encode())
        return USER_ERROR_EXIT_CODE
    while True:
        try:
            kind, payload = read_frame(source)
        except WorkerClosed:
            return 0
        try:
            answer = score(predictor, batch_of(payload), probabilities)
            write_frame(out, BATCH, batch_bytes(answer))
        except Exception as e:
            write_frame(out, ERROR, one_line(e).encode())
            return USER_ERROR_EXIT_CODE


def _load(spec: StepSpec, quiet_step: Any, preload_tensorflow: Any) -> Any:
    """The version loaded as a predict step loads it: inside the model store, framework
    threads capped, ``tf.keras`` decided before TensorFlow loads (``load_predictor``)."""
    from ..contract.layout import STEP_MODEL_STORE_ENV, version_uri_problem
    from . import StepError
    from .scoring import load_predictor
    from .threads import cap_threads

    problem = version_uri_problem(
        spec.model_uri, spec.model_name, os.environ.get(STEP_MODEL_STORE_ENV) or None
    )
    if problem is not None:
        raise StepError(problem)
    cap_threads(spec)
    if spec.flavor in (AUTO, KERAS):
        from ..contract.constructors import prefer_tf_keras

        prefer_tf_keras()
    quiet_step(spec)
    if spec.flavor == KERAS:
        preload_tensorflow()
    return load_predictor(spec)


def _plain(values: Any) -> Any:
    return None if values is None else [v.item() if hasattr(v, "item") else v for v in values]


def main() -> int:
    # Frames go to the real stdout; whatever a framework prints goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)  # as the step entrypoint: skip native libraries' exit-time destructors
