"""A step's data files in, a step's table out, in the format the StepSpec names: the data
plumbing every flavor — and the warehouses' export and load — shares.

Two formats (``contract/step_data.py`` says which goes where and why): Arrow IPC files,
uncompressed, memory-mapped on a file system so a batch's columns are the file's bytes;
Parquet, for object stores. Both read as record batches of the same sizes (``batches``
re-cuts an IPC file's batches as Parquet's reader does), so a step sees the same batches —
and the same seeded validation split — whichever format carried them. Both are written
under a temporary name and moved into place (a rename on disk; on an object store the
upload is completed only when the last batch is written, and aborted otherwise), so a
reader never finds half a file.

Prediction streams record batches so a step's memory does not grow with the table;
training reads what the framework needs to hold anyway.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem
from fsspec.spec import AbstractBufferedFile

from ..contract.spec import StepSpec
from ..contract.step_data import DataFormat
from . import StepError

BATCH_ROWS = 65_536


class BatchWriter(Protocol):
    """What a step writes its table through, whatever the format."""

    def write_batch(self, batch: pa.RecordBatch) -> None: ...

    def write_table(self, table: pa.Table) -> None: ...


@dataclass(frozen=True)
class DataFile:
    """One step data file: where it is (any fsspec URL) and its format."""

    uri: str
    format: DataFormat = "parquet"

    def batches(self, batch_rows: int = BATCH_ROWS) -> Generator[pa.RecordBatch, None, None]:
        """The rows in record batches of ``batch_rows`` (the last one shorter)."""
        if self.format == "arrow":
            with self._ipc() as reader:
                yield from _recut(
                    (reader.get_batch(i) for i in range(reader.num_record_batches)), batch_rows
                )
            return
        with self._parquet() as parquet:
            yield from parquet.iter_batches(batch_size=batch_rows)

    def schema(self) -> pa.Schema:
        if self.format == "arrow":
            with self._ipc() as reader:
                return reader.schema
        with self._parquet() as parquet:
            return parquet.schema_arrow

    def table(self) -> pa.Table:
        """Every row; zero-copy from a memory-mapped Arrow file."""
        if self.format == "arrow":
            with self._ipc() as reader:
                return reader.read_all()
        with self._parquet() as parquet:
            return parquet.read()

    def num_rows(self) -> int:
        if self.format == "arrow":
            with self._ipc() as reader:
                return int(reader.count_rows())  # the batches' headers only
        with self._parquet() as parquet:
            return int(parquet.metadata.num_rows)

    @contextlib.contextmanager
    def reader(self, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatchReader]:
        """The rows as one RecordBatchReader (what a warehouse's bulk load takes)."""
        batches = self.batches(batch_rows)
        try:
            yield pa.RecordBatchReader.from_batches(self.schema(), batches)
        finally:
            batches.close()

    @contextlib.contextmanager
    def writer(self, schema: pa.Schema) -> Iterator[BatchWriter]:
        """A writer of ``schema``'s batches; the file appears whole when the block ends
        without an error, and not at all otherwise."""
        with _atomic_sink(self.uri) as sink:
            if self.format == "arrow":
                plain = _without_dictionaries(schema)
                with ipc.new_file(sink, plain) as writer:
                    yield _DictionaryDecoding(writer) if plain != schema else writer
            else:
                with pq.ParquetWriter(
                    sink, schema, use_dictionary=dictionary_columns(schema)
                ) as parquet:
                    yield parquet

    @contextlib.contextmanager
    def _ipc(self) -> Iterator[ipc.RecordBatchFileReader]:
        local = _local_path(self.uri)
        if local is not None:
            # Memory-mapped: batches are views of the page cache, read only where touched.
            with pa.memory_map(local, "r") as source:
                yield ipc.open_file(source)
            return
        with fsspec.open(self.uri, "rb") as f:
            yield ipc.open_file(f)

    @contextlib.contextmanager
    def _parquet(self) -> Iterator[pq.ParquetFile]:
        local = _local_path(self.uri)
        if local is not None:  # Arrow's own file reader: no Python call per read
            with pq.ParquetFile(local) as parquet:
                yield parquet
            return
        with fsspec.open(self.uri, "rb") as f:
            yield pq.ParquetFile(f)


def input_file(spec: StepSpec) -> DataFile:
    """The SELECT's rows a step reads."""
    return DataFile(spec.input_uri, spec.data_format)


def validation_file(spec: StepSpec) -> DataFile | None:
    """``validation.select``'s rows, when the training statement has one."""
    return DataFile(spec.validation_uri, spec.data_format) if spec.validation_uri else None


def output_file(spec: StepSpec) -> DataFile:
    """The table a predict, evaluate or explain step writes."""
    if not spec.output_uri:
        raise StepError(f"a {spec.kind} step needs output_uri")
    return DataFile(spec.output_uri, spec.data_format)


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


def sample_row_numbers(total: int, max_rows: int, seed: int) -> np.ndarray | None:
    """The (sorted, 0-based) numbers of the rows :func:`sample_rows` keeps of ``total``;
    None when it keeps them all. EXPLAIN's per-row table names its rows by them."""
    if total <= max_rows:
        return None
    return np.sort(np.random.default_rng(seed).choice(total, size=max_rows, replace=False))


def sample_rows(source: DataFile, columns: list[str], max_rows: int, seed: int) -> pa.Table:
    """At most ``max_rows`` rows, chosen uniformly with ``seed``, streaming the file once:
    the row numbers are drawn first from the file's count (Parquet's footer, the IPC
    file's batch headers), then taken batch by batch, so memory holds the sample and one
    batch, never the table."""
    keep = sample_row_numbers(source.num_rows(), max_rows, seed)
    pieces: list[pa.RecordBatch] = []
    offset = 0
    for batch in source.batches():
        part = batch.select(columns)
        if keep is None:
            pieces.append(part)
        else:
            lo, hi = np.searchsorted(keep, [offset, offset + part.num_rows])
            if hi > lo:
                pieces.append(part.take(pa.array(keep[lo:hi] - offset)))
        offset += part.num_rows
    schema = source.schema()
    schema = pa.schema([schema.field(c) for c in columns])
    return pa.Table.from_batches(pieces, schema=schema).combine_chunks()


# -- permutation importance -------------------------------------------------------------


# -- the file formats' details -------------------------------------------------------------


def _local_path(uri: str) -> str | None:
    """The path of ``uri`` when it is on this machine's file system, else None."""
    fs, path = fsspec.core.url_to_fs(uri)
    return str(path) if isinstance(fs, LocalFileSystem) else None


@contextlib.contextmanager
def _atomic_sink(uri: str) -> Iterator[Any]:
    """Where a writer writes ``uri``: on disk a temporary file beside it, renamed over it
    at the end (removed on an error); elsewhere fsspec's file, whose upload an error
    aborts (S3's multipart upload; a small file's single PUT is never sent)."""
    local = _local_path(uri)
    if local is not None:
        folder, name = os.path.split(local)
        os.makedirs(folder or ".", exist_ok=True)  # as fsspec.open(…, "wb") does
        temporary = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.partial")
        try:
            with pa.OSFile(temporary, "wb") as sink:
                yield sink
            os.replace(temporary, local)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)
            raise
        return
    fs, path = fsspec.core.url_to_fs(uri)
    fs.makedirs(fs._parent(path), exist_ok=True)  # as fsspec.open(…, "wb") does
    f = fs.open(path, "wb")
    try:
        yield f
    except BaseException:
        _abandon(f, fs, path)
        raise
    f.close()


def _abandon(f: Any, fs: Any, path: str) -> None:
    """Drop an unfinished upload without completing it."""
    if isinstance(f, AbstractBufferedFile):
        f.discard()
        f.closed = True  # close() would complete the upload with what was written
        return
    f.close()  # a file system without uploads to abort: remove what was written
    with contextlib.suppress(OSError):
        fs.rm(path)


def _recut(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """``batches`` as batches of exactly ``rows`` rows (the last one shorter), as
    Parquet's ``iter_batches`` cuts them: slices are views, and only a batch that spans
    two of the file's is copied."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        offset = 0
        while offset < batch.num_rows:
            taken = min(rows - held, batch.num_rows - offset)
            pending.append(batch if taken == batch.num_rows else batch.slice(offset, taken))
            held += taken
            offset += taken
            if held == rows:
                yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)
                pending, held = [], 0
    if pending:
        yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)


def _without_dictionaries(schema: pa.Schema) -> pa.Schema:
    """``schema`` with dictionary columns as their values: an IPC file holds one dictionary
    per column, and batches from a query may each bring their own. Loaded into a
    warehouse, a dictionary column is its values anyway."""
    return pa.schema(
        [f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in schema],
        metadata=schema.metadata,
    )


class _DictionaryDecoding:
    """An IPC writer that decodes dictionary columns first (see ``_without_dictionaries``)."""

    def __init__(self, writer: ipc.RecordBatchFileWriter):
        self.writer = writer

    def write_batch(self, batch: pa.RecordBatch) -> None:
        columns = [
            c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns
        ]
        self.writer.write_batch(
            pa.RecordBatch.from_arrays(columns, schema=_without_dictionaries(batch.schema))
        )

    def write_table(self, table: pa.Table) -> None:
        for batch in table.to_batches():
            self.write_batch(batch)


# -- columns as numpy -----------------------------------------------------------------------


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
        if not is_numeric(kind):
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


def is_numeric(kind: pa.DataType) -> bool:
    """Whether a column of this type computes as numbers (booleans as 0 and 1)."""
    return (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_decimal(kind)
    )


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
        return table, DataFile(spec.validation_uri, spec.data_format).table()
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
