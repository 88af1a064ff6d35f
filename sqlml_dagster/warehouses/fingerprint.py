"""What a query's rows *are*, independent of their order: the training-data fingerprint."""

from __future__ import annotations

import hashlib
import json
import os
import threading

import duckdb
import pyarrow as pa

_database: tuple[int, duckdb.DuckDBPyConnection] | None = None
_lock = threading.Lock()


def _hasher() -> duckdb.DuckDBPyConnection:
    """A connection of its own to this process's one in-memory DuckDB database. Opening a
    database costs about 20 ms — a fifth of exporting 200,000 rows (``make bench``) — and
    a cursor on an open one almost nothing; a forked child opens its own. One thread: the
    export's reader already runs beside it, and a batch of 65,536 rows is too small to
    share out (no slower on one thread in the measurements behind docs/benchmarks.md)."""
    global _database
    with _lock:
        if _database is None or _database[0] != os.getpid():
            _database = (os.getpid(), duckdb.connect(config={"threads": 1}))
        return _database[1].cursor()


class ContentFingerprint:
    """What the training data *is*, not how it was laid out: the schema, the row count and
    the sum of DuckDB's hash of every row (an embedded DuckDB hashes the Arrow batches
    whatever engine exported them) — equal for the same rows in any order, so an
    unchanged table gives an unchanged fingerprint even when a parallel scan reorders it
    (the Parquet bytes would not). Computed batch by batch beside the export."""

    def __init__(self) -> None:
        self._hasher = _hasher()
        self._sum = 0
        self._rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self._hasher.register("__sqlml_batch", pa.Table.from_batches([batch]))
        ((total,),) = self._hasher.execute(
            "SELECT coalesce(sum(hash(r)), 0)::VARCHAR FROM __sqlml_batch AS r"
        ).fetchall()
        self._hasher.unregister("__sqlml_batch")
        self._sum = (self._sum + int(total)) % (1 << 128)
        self._rows += batch.num_rows

    def hexdigest(self, columns: tuple[tuple[str, str], ...]) -> str:
        self._hasher.close()
        text = json.dumps([columns, self._rows, str(self._sum)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]
