"""Fitting: the one streaming pass over the training data (:meth:`FeaturePlan.fit`).

A fitter keeps only counters and sums — value counts merged as they grow, Chan et al.'s
pairwise moments — so the training data never has to fit in memory. Each node of
:mod:`.encoders` picks its fitter (``fitter()``): one that reads nothing when it learns
nothing, so a plan of only those does not read the data at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrow import Data, integer_ids, key_values, read_column, tokens_of

if TYPE_CHECKING:  # the nodes pick their fitters: encoders imports this module
    from .encoders import Categorical, CategoryIds, Numeric

_T = TypeVar("_T")


class Fitter(Generic[_T]):
    """Statistics of one feature over a stream of batches; ``finish`` returns the feature
    fitted with them."""

    needs_data: bool = True

    def update(self, data: Data) -> None:
        pass

    def finish(self) -> _T:
        raise NotImplementedError


class Done(Fitter[_T]):
    """For features that need nothing from the data."""

    needs_data = False

    def __init__(self, node: _T):
        self.node = node

    def finish(self) -> _T:
        return self.node


class Nested(Fitter[_T]):
    """A feature whose parts fit themselves (``INDICATOR``, ``EMBEDDING``, ``CROSS``)."""

    def __init__(self, parts: list[Fitter[Any]], rebuild: Callable[[list[Any]], _T]):
        self.parts = parts
        self.rebuild = rebuild
        self.needs_data = any(p.needs_data for p in parts)

    def update(self, data: Data) -> None:
        for part in self.parts:
            part.update(data)

    def finish(self) -> _T:
        return self.rebuild([p.finish() for p in self.parts])


class MomentsFitter(Fitter["Numeric"]):
    """Mean and standard deviation per output, merged batch by batch with Chan et al.'s
    pairwise update (no catastrophic cancellation from a running sum of squares)."""

    def __init__(self, node: Numeric):
        self.node = node
        self.count = np.zeros(node.width)
        self.mean = np.zeros(node.width)
        self.m2 = np.zeros(node.width)

    def update(self, data: Data) -> None:
        values = self.node.raw(data)
        ok = np.isfinite(values)
        count = ok.sum(axis=0).astype(np.float64)
        if ok.all():  # the same sums without copying the batch twice to mask nothing
            mean = values.sum(axis=0) / np.maximum(count, 1)
            m2 = ((values - mean) ** 2).sum(axis=0)
        else:
            mean = np.where(ok, values, 0.0).sum(axis=0) / np.maximum(count, 1)
            m2 = (np.where(ok, values - mean, 0.0) ** 2).sum(axis=0)
        total = self.count + count
        delta = mean - self.mean
        share = count / np.maximum(total, 1)
        self.mean = self.mean + delta * share
        self.m2 = self.m2 + m2 + delta**2 * self.count * share
        self.count = total

    def finish(self) -> Numeric:
        std = np.sqrt(self.m2 / np.maximum(self.count, 1))
        std[~(std > 0)] = 1.0
        return replace(
            self.node,
            mean=tuple(float(v) for v in self.mean),
            std=tuple(float(v) for v in std),
        )


class ShapeFitter(Fitter["Numeric"]):
    """``DENSE(x)`` without a shape (SQLFlow's feature derivation): the width is the
    number of values in the column's first non-empty row — one number a row for a number
    column, the largest key + 1 for key-value text — and the moments, when normalizing,
    are fitted over the same batches once it is known. A row of another length still fails
    when it is read, naming the row."""

    def __init__(self, node: Numeric, normalize: bool):
        self.node = node
        self.normalize = normalize
        self.width = 0
        self.moments: MomentsFitter | None = None
        self.seen: list[Data] = []

    def update(self, data: Data) -> None:
        if not self.width:
            self.width = _width(self.node, data)
            if not self.width:
                self.seen.append(data)
                return
        if self.node.delimiter_kv is not None:  # the largest key of every row counts
            self.width = max(self.width, _width(self.node, data))
            self.seen.append(data)
            return
        if self.normalize:
            if self.moments is None:
                self.moments = MomentsFitter(replace(self.node, shape=(self.width,)))
                for earlier in self.seen:
                    self.moments.update(earlier)
                self.seen = []
            self.moments.update(data)

    def finish(self) -> Numeric:
        sized = replace(self.node, shape=(max(self.width, 1),))
        if not self.normalize:
            return sized
        if self.moments is None or self.node.delimiter_kv is not None:
            moments = MomentsFitter(sized)
            for earlier in self.seen:
                moments.update(earlier)
            return moments.finish()
        return self.moments.finish()


def _width(node: Numeric, data: Data) -> int:
    column = read_column(data, node.column)
    values, rows = tokens_of(column, node.delimiter)
    if node.delimiter_kv is not None:
        keys, _ = key_values(values, node.delimiter_kv, node.describe())
        ids, _ = integer_ids(keys, strict=True, what=node.describe())
        return int(ids.max()) + 1 if len(ids) else 0
    if not len(rows):
        return 0
    return int(np.count_nonzero(rows == rows[0]))


class MaxIdFitter(Fitter["Categorical"]):
    """``SPARSE(x)`` without a shape: the number of ids is the largest id in the training
    data + 1, as SQLFlow derives a sparse column's shape."""

    def __init__(self, node: CategoryIds):
        self.node = node
        self.largest = -1

    def update(self, data: Data) -> None:
        values, _ = tokens_of(read_column(data, self.node.column), self.node.delimiter)
        if self.node.delimiter_kv is not None:
            values, _ = key_values(values, self.node.delimiter_kv, self.node.describe())
        ids, _ = integer_ids(values, strict=True, what=self.node.describe())
        if len(ids):
            self.largest = max(self.largest, int(ids.max()))

    def finish(self) -> Categorical:
        return replace(self.node, bucket_size=max(self.largest + 1, 1))


#: Partial value counts are merged once they hold this many rows (and the merged table
#: is at least half of them), so memory follows the number of distinct values.
_COMPACT_ROWS = 1 << 20


class VocabularyFitter(Fitter["Categorical"]):
    """Counts of every distinct value (Arrow tables, merged with ``group_by``); the
    ``bucket_size`` most frequent, ties broken by value, become the vocabulary."""

    def __init__(self, node: CategoryIds):
        self.node = node
        self.parts: list[pa.Table] = []
        self.rows = 0
        self.compact_at = _COMPACT_ROWS

    def update(self, data: Data) -> None:
        values, _ = tokens_of(read_column(data, self.node.column), self.node.delimiter)
        counts = pc.value_counts(pc.cast(values, pa.large_string()))
        self.parts.append(
            pa.table({"value": counts.field("values"), "count": counts.field("counts")})
        )
        self.rows += len(counts)
        if self.rows >= self.compact_at:
            self._compact()
            self.compact_at = max(_COMPACT_ROWS, 2 * self.rows)

    def _compact(self) -> pa.Table:
        merged = pa.concat_tables(self.parts).group_by("value").aggregate([("count", "sum")])
        table = pa.table({"value": merged["value"], "count": merged["count_sum"]})
        self.parts, self.rows = [table], len(table)
        return table

    def finish(self) -> Categorical:
        if not self.parts:
            return replace(self.node, vocabulary=())
        table = self._compact()
        order = pc.sort_indices(table, sort_keys=[("count", "descending"), ("value", "ascending")])
        top = table["value"].take(order[: self.node.bucket_size])
        return replace(self.node, vocabulary=tuple(top.to_pylist()))
