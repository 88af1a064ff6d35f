"""A PREDICT step for every deep-learning flavor: the SELECT's rows scored batch by batch
into the step's output file, so a step's memory does not grow with the table."""

from __future__ import annotations

import time
from contextlib import ExitStack, closing

import numpy as np
import pyarrow as pa

from ...contract import PredictionResult
from ...contract.spec import StepSpec
from .. import Reporter, StepError
from ..data import input_file, output_file
from ..pipeline import read_ahead, write_behind
from .metrics import probabilities
from .predictor import DLPredictor
from .target import Target


def prediction_columns(
    column: str, target: Target | None, proba: np.ndarray | None
) -> list[tuple[str, pa.Array]]:
    """``predict.probabilities = true``: one ``<column>_probability_<class>`` per class."""
    if target is None or proba is None or not target.classes:
        return []
    return [
        (f"{column}_probability_{value}", pa.array(proba[:, i], pa.float64()))
        for i, value in enumerate(target.classes)
    ]


def predict_step(spec: StepSpec, predictor: DLPredictor, reporter: Reporter) -> None:
    """Score the SELECT's rows batch by batch into ``output_uri``: the selected columns
    (minus one named like the prediction column), the prediction, and — with
    ``predict.probabilities = true`` — a probability column per class."""
    if not spec.output_uri or not spec.prediction_column:
        raise StepError("a predict step needs output_uri and prediction_column")
    column = spec.prediction_column
    with_proba = bool(spec.param("predict", "probabilities", False))
    if with_proba and (predictor.target is None or predictor.target.task != "classification"):
        raise StepError("predict.probabilities needs a classifier; this model is a regressor")
    source, target = input_file(spec), output_file(spec)
    rows = 0
    started = time.perf_counter()
    # Three stages in three threads (runtime/pipeline.py): the next batches are read and
    # encoded while the network scores this one, and the last one is written meanwhile.
    encoded = (
        (batch, predictor.plan.encode(batch)) for batch in source.batches() if batch.num_rows
    )
    with ExitStack() as stack:
        writer = None
        ahead = stack.enter_context(closing(read_ahead(encoded, name="encode")))
        for batch, features in ahead:
            outputs = predictor.outputs_of(features)
            predicted = predictor.label_array(outputs)
            kept = [f for f in batch.schema if f.name != column]
            extra = (
                prediction_columns(
                    column, predictor.target, probabilities(outputs, predictor.target)
                )
                if with_proba and predictor.target is not None
                else []
            )
            out = pa.RecordBatch.from_arrays(
                [batch.column(f.name) for f in kept] + [predicted] + [a for _, a in extra],
                schema=pa.schema(
                    [*kept, pa.field(column, predicted.type)]
                    + [pa.field(n, a.type) for n, a in extra]
                ),
            )
            if writer is None:
                writer = stack.enter_context(
                    write_behind(stack.enter_context(target.writer(out.schema)))
                )
            writer.write_batch(out)
            rows += batch.num_rows
        if writer is None:
            schema = source.schema()
            kind = (
                pa.type_for_alias(predictor.target.arrow_type)
                if predictor.target and predictor.target.task == "classification"
                else pa.float64()
            )
            fields = [f for f in schema if f.name != column] + [pa.field(column, kind)]
            with target.writer(pa.schema(fields)) as empty:
                empty.write_table(pa.schema(fields).empty_table())
    seconds = time.perf_counter() - started
    reporter.log(f"predicted {rows} rows into column '{column}' in {seconds:.2f}s")
    reporter.result(
        metadata={"predicted_rows": rows},
        result=PredictionResult(kind="predict", rows=rows, seconds=seconds),
    )
