"""Overlapping a stream's stages in threads: reading ahead of the caller, writing behind it.

Why threads: the work of each stage — a driver producing Arrow batches, numpy encoding a
batch, Arrow writing one, the framework running the network — runs in C with the GIL
released, so a stage in a second thread runs beside the caller's on another core. A
PREDICT step then costs about its slowest stage rather than the sum of its stages
(``make bench``, docs/benchmarks.md); the warehouses' export reads the driver's next batch
while it writes and hashes the last one. Each thread holds at most ``depth`` items, so
memory stays bounded, and an error in a thread is raised in the caller's.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import pyarrow as pa

T = TypeVar("T")

#: Items read ahead of the caller: enough to keep both threads busy, bounded memory.
READ_AHEAD = 2


def read_ahead(
    items: Iterable[T], depth: int = READ_AHEAD, name: str = "read-ahead"
) -> Generator[T, None, None]:
    """``items``, the next ones produced by a second thread while the caller works on the
    current one; the producer's error is raised here, in the caller's thread. Close the
    generator (``contextlib.closing``) to stop the producer when leaving early."""
    ready: queue.Queue[tuple[T] | BaseException | None] = queue.Queue(depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                ready.put((item,))
        except BaseException as e:  # handed to the caller's thread
            ready.put(e)
            return
        ready.put(None)

    thread = threading.Thread(target=produce, name=f"sqlml-{name}", daemon=True)
    thread.start()
    try:
        while (got := ready.get()) is not None:
            if isinstance(got, BaseException):
                raise got
            yield got[0]
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.05)
        thread.join()


class _Writer(Protocol):
    def write_batch(self, batch: pa.RecordBatch) -> None: ...

    def write_table(self, table: pa.Table) -> None: ...


class _WriteBehind:
    """A writer whose ``write_batch`` runs in a second thread, one batch behind the caller."""

    def __init__(self, writer: _Writer, pool: ThreadPoolExecutor):
        self.writer, self.pool = writer, pool
        self.pending: Future[Any] | None = None

    def write_batch(self, batch: pa.RecordBatch) -> None:
        self.wait()
        self.pending = self.pool.submit(self.writer.write_batch, batch)

    def write_table(self, table: pa.Table) -> None:
        self.wait()
        self.writer.write_table(table)

    def wait(self) -> None:
        """Until the last batch is written; its error, if it failed."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()


@contextlib.contextmanager
def write_behind(writer: _Writer) -> Iterator[_Writer]:
    """``writer`` with each batch written in a second thread while the caller computes
    the next one. Leaving the block waits for the last write (and raises its error); an
    error in the block still lets a write under way finish before the file is abandoned."""
    with ThreadPoolExecutor(1, thread_name_prefix="sqlml-write-behind") as pool:
        behind = _WriteBehind(writer, pool)
        yield behind
        behind.wait()
