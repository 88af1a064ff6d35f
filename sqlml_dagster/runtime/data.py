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


def row_count(uri: str) -> int:
    with fsspec.open(uri, "rb") as f:
        return int(pq.ParquetFile(f).metadata.num_rows)


def sample_rows(uri: str, columns: list[str], max_rows: int, seed: int) -> pa.Table:
    """At most ``max_rows`` rows, chosen uniformly with ``seed``, streaming the file once:
    the row numbers are drawn first from the Parquet footer's count, then taken batch by
    batch, so memory holds the sample and one batch, never the table."""
    total = row_count(uri)
    keep = None
    if total > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(total, size=max_rows, replace=False))
    pieces: list[pa.RecordBatch] = []
    offset = 0
    for batch in iter_batches(uri):
        part = batch.select(columns)
        if keep is None:
            pieces.append(part)
        else:
            lo, hi = np.searchsorted(keep, [offset, offset + part.num_rows])
            if hi > lo:
                pieces.append(part.take(pa.array(keep[lo:hi] - offset)))
        offset += part.num_rows
    schema = read_schema(uri)
    schema = pa.schema([schema.field(c) for c in columns])
    return pa.Table.from_batches(pieces, schema=schema).combine_chunks()


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
