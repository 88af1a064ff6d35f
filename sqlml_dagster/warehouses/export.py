"""A query's rows into the step's data file, fingerprinted on the way: what every engine's
``export_query`` ends with, so the file and the fingerprint cannot differ between engines
— nor between formats: the fingerprint is taken of the batches as they stream, before
either writer sees them (``contract/step_data.py``: Arrow IPC on a file system, Parquet on
an object store).

The rows arrive as Arrow record batches from whichever driver the engine uses; reading the
next batch (the driver's work, which releases the GIL) overlaps with writing and hashing
the previous one in a second thread, so the export costs little more than the driver's
own read (``make bench``, docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
from contextlib import closing

import pyarrow as pa

from ..contract.step_data import DataFormat
from ..runtime.data import DataFile
from ..runtime.pipeline import read_ahead
from .base import TableStats
from .fingerprint import ContentFingerprint


def write_step_data(
    reader: pa.RecordBatchReader, uri: str | None, data_format: DataFormat = "parquet"
) -> TableStats:
    """Stream ``reader`` into a ``data_format`` file at any fsspec URL (whole or not at
    all); the row count, the columns and the content fingerprint
    (:class:`ContentFingerprint`) of what was written. With no ``uri`` the rows are only
    fingerprinted: what ``sqlml plan`` asks, writing nothing."""
    rows = 0
    content = ContentFingerprint()
    schema = reader.schema
    with contextlib.ExitStack() as files:
        writer = (
            files.enter_context(DataFile(uri, data_format).writer(schema))
            if uri is not None
            else None
        )
        batches = files.enter_context(closing(read_ahead(reader, name="export")))
        for batch in batches:
            if writer is not None:
                writer.write_batch(batch)
            content.add(batch)
            rows += batch.num_rows
    columns = tuple((f.name, str(f.type)) for f in schema)
    return TableStats(rows=rows, columns=columns, fingerprint=content.hexdigest(columns))
