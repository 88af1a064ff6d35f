"""The data feed: the step's data file (Arrow IPC or Parquet) into encoded numpy
minibatches, framework-neutral, so each flavor only turns arrays into its own tensors.

The feed streams: each epoch reads the file again in record batches. When the
encoded data is small (``CACHE_BYTES``) it is kept in memory after the first epoch,
which is what makes tiny tables train fast; larger tables never are, so a step's memory
does not grow with the table."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ..data import DataFile
from ..features import Encoded, FeaturePlan
from .settings import TrainSettings
from .target import Target

#: Encoded training data up to this size stays in memory between epochs.
CACHE_BYTES = 512 * 1024 * 1024
#: Record batch size of the feed (rows); minibatches are cut from these.
READ_ROWS = 65_536
#: An epoch gathers the shuffled rows of about this many rows' minibatches at a time.
GATHER_ROWS = 65_536


@dataclass
class Arrays:
    """Encoded rows: features as numpy arrays, labels encoded by the target."""

    encoded: Encoded
    labels: np.ndarray | None

    @property
    def rows(self) -> int:
        return int(self.encoded.dense.shape[0])


@dataclass
class Feed:
    """Training (and validation) data as encoded batches, re-readable once per epoch."""

    source: DataFile
    plan: FeaturePlan
    target: Target | None
    settings: TrainSettings
    #: "train" keeps rows outside the validation split, "validation" the rows in it,
    #: "all" every row.
    part: str = "all"
    _cache: Arrays | None = field(default=None, repr=False)
    #: The rows of this part as read by the fitting pass, when they were small enough to
    #: keep: the first epoch encodes them instead of reading the file a second time.
    preloaded: list[pa.RecordBatch] | None = field(default=None, repr=False)
    _cacheable: bool = True

    def arrays(self) -> Arrays | None:
        """Every row in memory, when the data is small enough to keep (else ``None``)."""
        if self._cache is None and self._cacheable:
            parts, size = [], 0
            for part in self._read():
                size += part.encoded.dense.nbytes + sum(b.nbytes for b in part.encoded.bags)
                if size > CACHE_BYTES:  # stop before holding a table larger than memory
                    self._cacheable = False
                    return None
                parts.append(part)
            self._cache = concat(parts, self.plan)
        return self._cache

    def chunks(self) -> Iterator[Arrays]:
        """Every row in large unshuffled chunks: for scoring, where minibatches only cost."""
        cached = self.arrays()
        if cached is None:
            yield from self._read()
            return
        for start in range(0, cached.rows, READ_ROWS):
            yield _slice(cached, start, start + READ_ROWS)

    def epoch(self, rng: np.random.Generator) -> Iterator[Arrays]:
        """One epoch in minibatches of ``settings.batch_size``, shuffled when asked."""
        size = self.settings.batch_size
        for gathered in self.gathered(rng):
            for start in range(0, gathered.rows, size):
                yield _slice(gathered, start, start + size)

    def gathered(self, rng: np.random.Generator) -> Iterator[Arrays]:
        """One epoch as blocks of whole minibatches (about ``GATHER_ROWS`` rows, bags
        untrimmed): minibatch ``k`` of :meth:`epoch` is rows ``k*size:(k+1)*size`` of the
        concatenated blocks. Gathering the rows of many minibatches in one numpy call is
        what makes small batch sizes cheap; a flavor that turns a block into tensors once
        (one copy to the device) and cuts minibatches from those pays even less."""
        size = self.settings.batch_size
        cached = self.arrays()
        sources = [cached] if cached is not None else self._read()
        for source in sources:
            order = (
                rng.permutation(source.rows) if self.settings.shuffle else np.arange(source.rows)
            )
            span = size * max(1, GATHER_ROWS // size)
            for first in range(0, source.rows, span):
                yield take(source, order[first : first + span], trim=False)

    def _read(self) -> Iterator[Arrays]:
        if self.preloaded is not None:
            batches, self.preloaded = self.preloaded, None  # encoded once, then cached
            for kept in batches:
                yield encode(kept, self.plan, self.target)
            return
        for index, batch in enumerate(self.source.batches(READ_ROWS)):
            if batch.num_rows == 0:
                continue
            if self.part != "all":
                held_out = holdout(batch.num_rows, index, self.settings)
                batch = batch.filter(pa.array(held_out if self.part == "validation" else ~held_out))
                if batch.num_rows == 0:
                    continue
            yield encode(batch, self.plan, self.target)


def holdout(rows: int, batch_index: int, settings: TrainSettings) -> np.ndarray:
    """Which rows of a read batch ``validation.split`` holds out: seeded, so every epoch
    (and the validation pass) draws the same rows."""
    if settings.validation_split <= 0:
        return np.zeros(rows, dtype=bool)
    rng = np.random.default_rng([settings.seed, batch_index])
    return rng.random(rows) < settings.validation_split


def encode(data: pa.Table | pa.RecordBatch, plan: FeaturePlan, target: Target | None) -> Arrays:
    labels = None
    if target is not None and target.name in data.schema.names:
        labels = target.encode(data.column(target.name))
    return Arrays(plan.encode(data), labels)


def concat(parts: Sequence[Arrays], plan: FeaturePlan) -> Arrays:
    """One Arrays of many; bags are padded (-1) to the longest."""
    if not parts:
        return Arrays(
            Encoded(
                np.zeros((0, plan.dense_width), np.float32),
                tuple(np.zeros((0, 1), np.int64) for _ in plan.bags),
            ),
            None,
        )
    dense = np.concatenate([p.encoded.dense for p in parts])
    bags = []
    for i in range(len(plan.bags)):
        width = max(p.encoded.bags[i].shape[1] for p in parts)
        bags.append(
            np.concatenate(
                [
                    np.pad(
                        p.encoded.bags[i],
                        ((0, 0), (0, width - p.encoded.bags[i].shape[1])),
                        constant_values=-1,
                    )
                    for p in parts
                ]
            )
        )
    labels = None
    if all(p.labels is not None for p in parts):
        labels = np.concatenate([p.labels for p in parts if p.labels is not None])
    return Arrays(Encoded(dense, tuple(bags)), labels)


def take(arrays: Arrays, rows: np.ndarray, trim: bool = True) -> Arrays:
    bags = tuple(b[rows] for b in arrays.encoded.bags)
    return Arrays(
        Encoded(arrays.encoded.dense[rows], _trimmed(bags) if trim else bags),
        None if arrays.labels is None else arrays.labels[rows],
    )


def _slice(arrays: Arrays, start: int, stop: int) -> Arrays:
    """Rows ``start:stop`` as views (bags trimmed, as ``take`` trims them)."""
    bags = _trimmed(tuple(b[start:stop] for b in arrays.encoded.bags))
    return Arrays(
        Encoded(arrays.encoded.dense[start:stop], bags),
        None if arrays.labels is None else arrays.labels[start:stop],
    )


def _trimmed(bags: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Bags without the padding columns no row uses, so embeddings do less work."""
    return tuple(trimmed_bag(bag) for bag in bags)


def trimmed_bag(bag: np.ndarray) -> np.ndarray:
    """One bag without the padding columns no row uses."""
    used = int((bag >= 0).sum(axis=1).max()) if bag.size else 0
    return bag[:, : max(used, 1)]
