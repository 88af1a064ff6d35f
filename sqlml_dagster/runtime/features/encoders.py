"""The fitted nodes of a plan: what each ``COLUMN`` function does to a batch.

Top-level features (``NUMERIC``/``DENSE``/bare columns, ``INDICATOR``, ``EMBEDDING``) land
in ``dense`` or in a bag; categoricals (``CATEGORY_ID``, ``SEQ_CATEGORY_ID``, ``SPARSE``,
``CATEGORY_HASH``, ``BUCKET``, ``CROSS``) yield ids for them. Each node also writes and
reads its JSON, which is how a fitted plan travels with the model, and picks the fitter
that learns what it needs (:mod:`.fitting`). Checking SQL against the schema is
:mod:`.builder`'s.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrow import (
    Data,
    Ragged,
    integer_ids,
    key_values,
    read_column,
    read_numbers,
    to_mask,
    tokens_of,
)
from .encoded import Bag
from .fitting import (
    Done,
    Fitter,
    MaxIdFitter,
    MomentsFitter,
    Nested,
    ShapeFitter,
    VocabularyFitter,
)
from .hashing import hash_integers, hash_values, mix

#: What a string of several numbers (or ``SPARSE`` ids) is split at when SQL names none.
DEFAULT_DELIMITER = ","


# -- top-level features: what lands in dense or in a bag ---------------------------------


@dataclass(frozen=True)
class Numeric:
    """``NUMERIC``, ``DENSE`` or a bare column: ``width`` floats a row."""

    function: str  # COLUMN | NUMERIC | DENSE
    column: str
    #: ``()`` until fitted for ``DENSE(x)`` without a shape: the values a row holds.
    shape: tuple[int, ...] = (1,)
    delimiter: str = DEFAULT_DELIMITER
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    #: ``DENSE(x, n, ",", int, ":", float)``: ``"3:0.5,7:1"`` puts 0.5 at 3 and 1 at 7.
    delimiter_kv: str | None = None

    @property
    def width(self) -> int:
        return math.prod(self.shape)

    @property
    def source_columns(self) -> tuple[str, ...]:
        return (self.column,)

    @property
    def label(self) -> str:
        return self.column

    def describe(self) -> str:
        if self.function == "COLUMN":
            return self.column
        if not self.shape:
            return f"{self.function}({self.column})"
        shape = self.shape[0] if len(self.shape) == 1 else list(self.shape)
        return f"{self.function}({self.column}, {shape})"

    def raw(self, data: Data) -> np.ndarray:
        """float64 ``[n, width]``; NaN where a value is missing."""
        if self.delimiter_kv is not None:
            pairs = _pairs(data, self.column, self.delimiter, self.delimiter_kv, self.describe())
            pairs = pairs.keep((pairs.values >= 0) & (pairs.values < self.width))
            out = np.zeros((pairs.n, self.width))
            assert pairs.weights is not None
            np.add.at(out, (pairs.rows, pairs.values), pairs.weights)
            return out
        return read_numbers(
            read_column(data, self.column), self.width, self.delimiter, self.describe()
        )

    def dense(self, data: Data, normalize: bool) -> np.ndarray:
        """The values (standardized when ``normalize``), 0 where a value is missing (NULL,
        NaN, ±inf) — one pass over the result finds none in the common case."""
        raw = values = self.raw(data)
        if normalize and self.mean is not None and self.std is not None:
            values = np.subtract(raw, np.asarray(self.mean))  # a new array…
            np.divide(values, np.asarray(self.std), out=values)  # …divided in place
        if np.isfinite(values).all():
            return values
        missing = ~np.isfinite(raw)  # not an overflow of standardizing: that one stays
        if values is raw:
            values = values.copy()  # raw values may be a read-only view of the column
        values[missing] = 0.0
        return values

    def names(self) -> list[str]:
        if self.width == 1:
            return [self.column]
        return [f"{self.column}_{i}" for i in range(self.width)]

    def fitter(self, normalize: bool) -> Fitter[Numeric]:
        if not self.shape:
            return ShapeFitter(self, normalize)
        return MomentsFitter(self) if normalize else Done(replace(self, mean=None, std=None))

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "column": self.column,
            "shape": list(self.shape),
            "delimiter": self.delimiter,
            "mean": None if self.mean is None else list(self.mean),
            "std": None if self.std is None else list(self.std),
            "delimiter_kv": self.delimiter_kv,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Numeric:
        return cls(
            function=d["function"],
            column=d["column"],
            shape=tuple(d["shape"]),
            delimiter=d["delimiter"],
            mean=None if d.get("mean") is None else tuple(d["mean"]),
            std=None if d.get("std") is None else tuple(d["std"]),
            delimiter_kv=d.get("delimiter_kv"),
        )


@dataclass(frozen=True)
class Indicator:
    """``INDICATOR(categorical)``: a multi-hot of the row's ids (counts clipped to 1)."""

    category: Categorical

    @property
    def width(self) -> int:
        return self.category.num_ids

    @property
    def source_columns(self) -> tuple[str, ...]:
        return self.category.source_columns

    def dense(self, data: Data, normalize: bool) -> np.ndarray:
        return self.category.ids(data).multi_hot(self.width)

    def names(self) -> list[str]:
        return self.category.id_names()

    def fitter(self, normalize: bool) -> Fitter[Indicator]:
        return Nested([self.category.fitter()], lambda c: replace(self, category=c[0]))

    def to_json(self) -> dict[str, Any]:
        return {"function": "INDICATOR", "category": self.category.to_json()}


@dataclass(frozen=True)
class Embedding:
    """``EMBEDDING(categorical, dimension, combiner, initializer)``: a bag of ids."""

    category: Categorical
    dimension: int
    combiner: str = "sum"
    initializer: str | None = None

    @property
    def source_columns(self) -> tuple[str, ...]:
        return self.category.source_columns

    @property
    def bag(self) -> Bag:
        return Bag(
            name=f"{self.category.label}_embedding",
            num_ids=self.category.num_ids,
            dimension=self.dimension,
            combiner=self.combiner,
            initializer=self.initializer,
        )

    def fitter(self, normalize: bool) -> Fitter[Embedding]:
        return Nested([self.category.fitter()], lambda c: replace(self, category=c[0]))

    def to_json(self) -> dict[str, Any]:
        return {
            "function": "EMBEDDING",
            "category": self.category.to_json(),
            "dimension": self.dimension,
            "combiner": self.combiner,
            "initializer": self.initializer,
        }


Feature: TypeAlias = "Numeric | Indicator | Embedding"


def decode_feature(d: Mapping[str, Any]) -> Feature:
    if d["function"] == "INDICATOR":
        return Indicator(_decode_categorical(d["category"]))
    if d["function"] == "EMBEDDING":
        return Embedding(
            _decode_categorical(d["category"]), d["dimension"], d["combiner"], d["initializer"]
        )
    return Numeric.from_json(d)


# -- categoricals: columns that become ids -----------------------------------------------


class Categorical(ABC):
    """Something that yields ``num_ids`` possible ids, any number of them per row."""

    @property
    @abstractmethod
    def num_ids(self) -> int: ...

    @property
    @abstractmethod
    def label(self) -> str:
        """A short name for dense names and bag names: ``city``, ``age_bucket``."""

    @property
    @abstractmethod
    def source_columns(self) -> tuple[str, ...]: ...

    @abstractmethod
    def ids(self, data: Data) -> Ragged: ...

    def weighted_ids(self, data: Data) -> Ragged:
        """The ids with the weights of key-value text (``WEIGHTED_CATEGORY``'s input);
        without weights where the data has none."""
        return self.ids(data)

    @abstractmethod
    def id_names(self) -> list[str]: ...

    @abstractmethod
    def to_json(self) -> dict[str, Any]: ...

    def fitter(self) -> Fitter[Categorical]:
        return Done(self)

    def hashes(self, data: Data) -> Ragged:
        """What ``CROSS`` combines: a stable 64-bit hash per id (of its decimal text)."""
        ids = self.ids(data)
        return Ragged(hash_integers(ids.values), ids.rows, ids.n)


@dataclass(frozen=True)
class CategoryIds(Categorical):
    """``CATEGORY_ID``, ``SEQ_CATEGORY_ID`` and ``SPARSE``: ids written in the data, or —
    for a string column of ``CATEGORY_ID`` — ids from a vocabulary learned by ``fit``.

    ``num_ids`` is always ``bucket_size``, also when the vocabulary turns out smaller, so a
    model's shape follows from the SQL alone; slots no value took just never occur.
    """

    function: str  # CATEGORY_ID | SEQ_CATEGORY_ID | SPARSE
    column: str
    bucket_size: int  # 0 until fitted for SPARSE(x) without a shape: the largest id + 1
    delimiter: str | None = None
    learns_vocabulary: bool = False
    vocabulary: tuple[str, ...] | None = None
    #: Key-value text (``SPARSE(x, n, ",", int, ":", float)``): the keys are the ids.
    delimiter_kv: str | None = None

    @property
    def num_ids(self) -> int:
        return self.bucket_size

    @property
    def label(self) -> str:
        return self.column

    @property
    def source_columns(self) -> tuple[str, ...]:
        return (self.column,)

    def describe(self) -> str:
        return f"{self.function}({self.column}, {self.bucket_size})"

    @cached_property
    def _value_set(self) -> pa.Array:
        return pa.array(self.vocabulary or (), pa.large_string())

    def ids(self, data: Data) -> Ragged:
        return self.weighted_ids(data).unweighted()

    def weighted_ids(self, data: Data) -> Ragged:
        column = read_column(data, self.column)
        values, rows = tokens_of(column, self.delimiter)
        n = len(column)
        weights = None
        if self.delimiter_kv is not None:
            values, weights = key_values(values, self.delimiter_kv, self.describe())
        if self.learns_vocabulary:
            index = pc.index_in(pc.cast(values, pa.large_string()), value_set=self._value_set)
            found = to_mask(pc.is_valid(index))
            ids = index.filter(pa.array(found)).to_numpy(zero_copy_only=False).astype(np.int64)
            return Ragged(ids, rows[found], n, None if weights is None else weights[found])
        ids, ok = integer_ids(values, strict=self.function == "SPARSE", what=self.describe())
        ragged = Ragged(ids, rows[ok], n, None if weights is None else weights[ok])
        return ragged.keep((ids >= 0) & (ids < self.bucket_size))

    def id_names(self) -> list[str]:
        if not self.learns_vocabulary:
            return [f"{self.column}={i}" for i in range(self.bucket_size)]
        words = list(self.vocabulary or ())
        return [
            f"{self.column}={words[i]}" if i < len(words) else f"{self.column}[{i}]"
            for i in range(self.bucket_size)
        ]

    def fitter(self) -> Fitter[Categorical]:
        if not self.bucket_size:
            return MaxIdFitter(self)
        return VocabularyFitter(self) if self.learns_vocabulary else Done(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "column": self.column,
            "bucket_size": self.bucket_size,
            "delimiter": self.delimiter,
            "learns_vocabulary": self.learns_vocabulary,
            "vocabulary": None if self.vocabulary is None else list(self.vocabulary),
            "delimiter_kv": self.delimiter_kv,
        }


@dataclass(frozen=True)
class CategoryHash(Categorical):
    """``CATEGORY_HASH(column, n[, delimiter])``: no vocabulary, nothing to fit."""

    column: str
    bucket_size: int
    delimiter: str | None = None
    #: Key-value text: the keys are hashed, their weights kept for ``WEIGHTED_CATEGORY``.
    delimiter_kv: str | None = None

    @property
    def num_ids(self) -> int:
        return self.bucket_size

    @property
    def label(self) -> str:
        return f"{self.column}_hash"

    @property
    def source_columns(self) -> tuple[str, ...]:
        return (self.column,)

    def ids(self, data: Data) -> Ragged:
        return self.weighted_ids(data).unweighted()

    def weighted_ids(self, data: Data) -> Ragged:
        hashed = RawKey(self.column, self.delimiter, self.delimiter_kv).hashes(data)
        return Ragged(
            (hashed.values % np.uint64(self.bucket_size)).astype(np.int64),
            hashed.rows,
            hashed.n,
            hashed.weights,
        )

    def id_names(self) -> list[str]:
        return [f"{self.label}_{i}" for i in range(self.bucket_size)]

    def to_json(self) -> dict[str, Any]:
        return {
            "function": "CATEGORY_HASH",
            "column": self.column,
            "bucket_size": self.bucket_size,
            "delimiter": self.delimiter,
            "delimiter_kv": self.delimiter_kv,
        }


@dataclass(frozen=True)
class Bucket(Categorical):
    """``BUCKET(x, boundaries)``: ``x < b1`` → 0, ``b1 <= x < b2`` → 1, …, ``x >= bk`` → k."""

    source: Numeric
    boundaries: tuple[float, ...]

    @property
    def num_ids(self) -> int:
        return len(self.boundaries) + 1

    @property
    def label(self) -> str:
        return f"{self.source.column}_bucket"

    @property
    def source_columns(self) -> tuple[str, ...]:
        return self.source.source_columns

    def ids(self, data: Data) -> Ragged:
        values = self.source.raw(data)[:, 0]
        (rows,) = np.nonzero(np.isfinite(values))
        ids = np.searchsorted(np.asarray(self.boundaries), values[rows], side="right")
        return Ragged(ids.astype(np.int64), rows.astype(np.int64), len(values))

    def id_names(self) -> list[str]:
        return [f"{self.label}_{i}" for i in range(self.num_ids)]

    def to_json(self) -> dict[str, Any]:
        return {
            "function": "BUCKET",
            "source": self.source.to_json(),
            "boundaries": list(self.boundaries),
        }


@dataclass(frozen=True)
class Weighted(Categorical):
    """``WEIGHTED_CATEGORY(categorical)``: its ids, each with the weight written beside it
    in key-value text — an ``INDICATOR`` sums a row's weights per id instead of marking
    it 1 (TensorFlow's ``weighted_categorical_column``)."""

    category: Categorical

    @property
    def num_ids(self) -> int:
        return self.category.num_ids

    @property
    def label(self) -> str:
        return f"{self.category.label}_weighted"

    @property
    def source_columns(self) -> tuple[str, ...]:
        return self.category.source_columns

    def ids(self, data: Data) -> Ragged:
        return self.category.weighted_ids(data)

    def weighted_ids(self, data: Data) -> Ragged:
        return self.ids(data)

    def id_names(self) -> list[str]:
        return self.category.id_names()

    def fitter(self) -> Fitter[Categorical]:
        return Nested([self.category.fitter()], lambda c: replace(self, category=c[0]))

    def to_json(self) -> dict[str, Any]:
        return {"function": "WEIGHTED_CATEGORY", "category": self.category.to_json()}


@dataclass(frozen=True)
class RawKey:
    """A plain string or integer column as one key of ``CROSS`` (and the values that
    ``CATEGORY_HASH`` hashes): a stable 64-bit hash per value."""

    column: str
    delimiter: str | None = None
    delimiter_kv: str | None = None

    @property
    def label(self) -> str:
        return self.column

    @property
    def source_columns(self) -> tuple[str, ...]:
        return (self.column,)

    def hashes(self, data: Data) -> Ragged:
        column = read_column(data, self.column)
        values, rows = tokens_of(column, self.delimiter)
        weights = None
        if self.delimiter_kv is not None:
            values, weights = key_values(values, self.delimiter_kv, f"the values of {self.column}")
        hashed = hash_values(values, f"the values of {self.column}")
        return Ragged(hashed, rows, len(column), weights)

    def fitter(self) -> Fitter[RawKey]:
        return Done(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "function": "COLUMN",
            "column": self.column,
            "delimiter": self.delimiter,
            "delimiter_kv": self.delimiter_kv,
        }


@dataclass(frozen=True)
class Cross(Categorical):
    """``CROSS([a, b, …], n)``: the keys' hashes combined in order, mod ``n``."""

    keys: tuple[Categorical | RawKey, ...]
    bucket_size: int

    @property
    def num_ids(self) -> int:
        return self.bucket_size

    @property
    def label(self) -> str:
        return "_x_".join(key.label for key in self.keys) + "_cross"

    @property
    def source_columns(self) -> tuple[str, ...]:
        return unique(c for key in self.keys for c in key.source_columns)

    def ids(self, data: Data) -> Ragged:
        crossed = self.keys[0].hashes(data)
        for key in self.keys[1:]:
            crossed = crossed.cross(key.hashes(data))
        ids = mix(crossed.values) % np.uint64(self.bucket_size)
        return Ragged(ids.astype(np.int64), crossed.rows, crossed.n)

    def id_names(self) -> list[str]:
        return [f"{self.label}_{i}" for i in range(self.bucket_size)]

    def fitter(self) -> Fitter[Categorical]:
        return Nested(
            [key.fitter() for key in self.keys], lambda keys: replace(self, keys=tuple(keys))
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "function": "CROSS",
            "keys": [key.to_json() for key in self.keys],
            "bucket_size": self.bucket_size,
        }


def _decode_categorical(d: Mapping[str, Any]) -> Categorical:
    function = d["function"]
    if function in ("CATEGORY_ID", "SEQ_CATEGORY_ID", "SPARSE"):
        vocabulary = d.get("vocabulary")
        return CategoryIds(
            function=function,
            column=d["column"],
            bucket_size=d["bucket_size"],
            delimiter=d["delimiter"],
            learns_vocabulary=d["learns_vocabulary"],
            vocabulary=None if vocabulary is None else tuple(vocabulary),
            delimiter_kv=d.get("delimiter_kv"),
        )
    if function == "CATEGORY_HASH":
        return CategoryHash(d["column"], d["bucket_size"], d["delimiter"], d.get("delimiter_kv"))
    if function == "WEIGHTED_CATEGORY":
        return Weighted(_decode_categorical(d["category"]))
    if function == "BUCKET":
        return Bucket(Numeric.from_json(d["source"]), tuple(d["boundaries"]))
    if function == "CROSS":
        keys = tuple(
            RawKey(k["column"], k.get("delimiter"), k.get("delimiter_kv"))
            if k["function"] == "COLUMN"
            else _decode_categorical(k)
            for k in d["keys"]
        )
        return Cross(keys, d["bucket_size"])
    raise ValueError(f"unknown categorical {function!r} in a feature plan")


def _pairs(data: Data, column: str, delimiter: str, delimiter_kv: str, what: str) -> Ragged:
    """Key-value text as integer keys with their weights (``DENSE``'s key-value form)."""
    array = read_column(data, column)
    values, rows = tokens_of(array, delimiter)
    keys, weights = key_values(values, delimiter_kv, what)
    ids, ok = integer_ids(keys, strict=True, what=what)
    return Ragged(ids, rows[ok], len(array), weights[ok])


def unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
