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
import queue
import threading
from collections.abc import Iterator

import pyarrow as pa

from ..contract.step_data import DataFormat
from ..runtime.data import DataFile
from .base import TableStats
from .fingerprint import ContentFingerprint

#: Batches read ahead of the writer: enough to keep both threads busy, bounded memory.
READ_AHEAD = 2


def write_step_data(
    reader: pa.RecordBatchReader, uri: str, data_format: DataFormat = "parquet"
) -> TableStats:
    """Stream ``reader`` into a ``data_format`` file at any fsspec URL (whole or not at
    all); the row count, the columns and the content fingerprint
    (:class:`ContentFingerprint`) of what was written."""
    rows = 0
    content = ContentFingerprint()
    schema = reader.schema
    with DataFile(uri, data_format).writer(schema) as writer:
        for batch in read_ahead(reader):
            writer.write_batch(batch)
            content.add(batch)
            rows += batch.num_rows
    columns = tuple((f.name, str(f.type)) for f in schema)
    return TableStats(rows=rows, columns=columns, fingerprint=content.hexdigest(columns))


def read_ahead(reader: pa.RecordBatchReader, depth: int = READ_AHEAD) -> Iterator[pa.RecordBatch]:
    """``reader``'s batches, the next ones read by a second thread while the caller works
    on the current one; the reader's error is raised here, in the caller's thread."""
    batches: queue.Queue[pa.RecordBatch | BaseException | None] = queue.Queue(depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in reader:
                if stop.is_set():
                    return
                batches.put(batch)
        except BaseException as e:  # handed to the caller's thread
            batches.put(e)
            return
        batches.put(None)

    thread = threading.Thread(target=produce, name="sqlml-read-ahead", daemon=True)
    thread.start()
    try:
        while (item := batches.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.05)
        thread.join()
