"""A query's rows into the step's Parquet file, fingerprinted on the way: what every engine's
``export_query`` ends with, so the file and the fingerprint cannot differ between engines.

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

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from ..runtime.data import dictionary_columns
from .base import TableStats
from .fingerprint import ContentFingerprint

#: Batches read ahead of the writer: enough to keep both threads busy, bounded memory.
READ_AHEAD = 2


def write_parquet(reader: pa.RecordBatchReader, uri: str | None) -> TableStats:
    """Stream ``reader`` into a Parquet file at any fsspec URL; the row count, the columns
    and the content fingerprint (:class:`ContentFingerprint`) of what was written. With no
    ``uri`` the rows are only fingerprinted: what ``sqlml plan`` asks, writing nothing."""
    rows = 0
    content = ContentFingerprint()
    schema = reader.schema
    with contextlib.ExitStack() as files:
        writer = None
        if uri is not None:
            f = files.enter_context(fsspec.open(uri, "wb"))
            writer = files.enter_context(
                pq.ParquetWriter(f, schema, use_dictionary=dictionary_columns(schema))
            )
        for batch in read_ahead(reader):
            if writer is not None:
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
