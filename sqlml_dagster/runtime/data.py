"""Parquet in, Parquet out, through fsspec: the data plumbing every flavor shares.

Prediction streams record batches so a step's memory does not grow with the table;
training reads what the framework needs to hold anyway.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..contract.spec import StepSpec
from . import StepError

BATCH_ROWS = 65_536


def read_table(uri: str) -> pa.Table:
    with fsspec.open(uri, "rb") as f:
        return pq.read_table(f)


def iter_batches(uri: str, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    with fsspec.open(uri, "rb") as f:
        parquet = pq.ParquetFile(f)
        yield from parquet.iter_batches(batch_size=batch_rows)


def read_schema(uri: str) -> pa.Schema:
    with fsspec.open(uri, "rb") as f:
        return pq.ParquetFile(f).schema_arrow


@contextmanager
def parquet_writer(uri: str, schema: pa.Schema) -> Iterator[pq.ParquetWriter]:
    with (
        fsspec.open(uri, "wb") as f,
        pq.ParquetWriter(f, schema, use_dictionary=dictionary_columns(schema)) as writer,
    ):
        yield writer


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """Columns worth dictionary-encoding in step Parquet files: text. Numbers are written
    plain — dictionary-encoding floats costs a third of a training feed's time and makes
    the file larger (``make bench``)."""
    return [
        f.name
        for f in schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or pa.types.is_binary(f.type)
        or pa.types.is_dictionary(f.type)
    ]


def numeric_matrix(data: pa.Table | pa.RecordBatch, features: Sequence[str]) -> np.ndarray:
    """Feature columns as one float64 matrix; non-numeric columns are a user error."""
    missing = [c for c in features if c not in data.schema.names]
    if missing:
        raise StepError(
            f"feature column(s) {', '.join(missing)} not in the data "
            f"(columns: {', '.join(data.schema.names)})"
        )
    columns = []
    for name in features:
        column = data.column(name)
        kind = column.type
        if not (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind)
            or pa.types.is_decimal(kind)
        ):
            raise StepError(
                f"feature column '{name}' has type {kind}; this model needs numeric features — "
                "leave it out of the SELECT or encode it as a number"
            )
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        values = column.cast(pa.float64()).fill_null(np.nan)
        columns.append(values.to_numpy(zero_copy_only=False))
    if not columns:
        raise StepError(
            "no feature columns: the SELECT must yield at least one column besides the label"
        )
    return np.column_stack(columns)


def label_vector(data: pa.Table, label: str) -> np.ndarray:
    if label not in data.schema.names:
        raise StepError(
            f"label column '{label}' is not in the data (columns: {', '.join(data.schema.names)})"
        )
    column = data.column(label)
    if column.null_count:
        raise StepError(
            f"label column '{label}' has {column.null_count} NULL value(s); filter them out in the SELECT"
        )
    return column.to_numpy(zero_copy_only=False)


def training_and_validation(spec: StepSpec, table: pa.Table) -> tuple[pa.Table, pa.Table | None]:
    """The training rows and the validation rows: ``validation.select``'s, else a seeded
    ``validation.split`` fraction held out of the SELECT's (the scikit-learn and XGBoost
    flavors; the deep-learning ones split while they stream, ``dl/preparation.py``)."""
    if spec.validation_uri:
        return table, read_table(spec.validation_uri)
    return holdout(spec, table)


def holdout(spec: StepSpec, table: pa.Table) -> tuple[pa.Table, pa.Table | None]:
    """``validation.split``: a seeded fraction of the rows held out (None without one)."""
    fraction = spec.param("validation", "split")
    if fraction is None:
        return table, None
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise StepError(f"validation.split must be a fraction in (0, 1), found {fraction!r}")
    if not 0 < fraction < 1:
        raise StepError(f"validation.split must be a fraction in (0, 1), found {fraction}")
    n = table.num_rows
    held = round(n * fraction)
    if held < 1 or held >= n:
        raise StepError(
            f"validation.split = {fraction} of {n} rows leaves no rows to "
            + ("validate on" if held < 1 else "train on")
        )
    order = np.random.default_rng(spec.seed).permutation(n)
    return table.take(np.sort(order[held:])), table.take(np.sort(order[:held]))
