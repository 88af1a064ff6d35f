"""SQLFlow's ``COLUMN`` clause at run time: one encoder from Arrow data to numpy.

``TO TRAIN m COLUMN NUMERIC(x, 1), EMBEDDING(CATEGORY_ID(city, 100), 8, mean) LABEL y``
says how the selected columns become a model's inputs. The compiler hands each expression
over as JSON (``FeatureColumn.to_json()``); this module turns that into a
:class:`FeaturePlan`, fits what needs data (vocabularies, means and standard deviations) in
one streaming pass, and encodes any batch into numbers. The fitted plan is saved as JSON
beside the model, so prediction — in another process, on another machine, months later —
encodes exactly as training did. Only numpy and pyarrow are used here: the framework layers
(``flavors/_torch_features.py``, ``flavors/_keras_features.py``) are thin shells over the
same :class:`Encoded` arrays, so PyTorch and Keras models agree on what a feature means.

An encoded batch has two parts:

* ``dense`` — float32 ``[rows, dense_width]``: numeric columns (``NUMERIC``, ``DENSE``, bare
  columns; standardized when fitted with ``normalize``) and ``INDICATOR`` multi-hots;
* ``bags`` — one int64 ``[rows, L]`` array of ids per ``EMBEDDING``, padded with ``-1`` to
  the longest row of that batch (``L`` is at least 1), for ``EmbeddingBag``-style lookups.

What each function means here:

=======================================  ==================================================
``x`` / ``NUMERIC(x[, shape])``          floats; ``shape`` > 1 reads a list column or a
                                         ``,``-separated string of exactly that many numbers
``DENSE(x, shape[, delimiter])``         the same, with a delimiter of your choice
``CATEGORY_ID(x, n[, delimiter])``       integer column: the ids themselves, outside
                                         ``[0, n)`` ignored; string column: the ``n`` most
                                         frequent values of the training data (ties by
                                         value) get ids ``0..``, unseen values are ignored;
                                         with a delimiter a row holds several
``SEQ_CATEGORY_ID(x, n[, delimiter])``   the same; ids keep the order they are written in
                                         (so do ``CATEGORY_ID``'s)
``CATEGORY_HASH(x, n[, delimiter])``     blake2b of each value's UTF-8 text (integers as
                                         decimal text) mod ``n``: stable everywhere
``SPARSE(x, shape[, delimiter, dtype])`` delimited integer ids in ``[0, shape)``; others
                                         are ignored, a token that is no integer is an error
``BUCKET(x, [b1, b2, …])``               the bucket index ``0..len(boundaries)``, like
                                         ``tf.feature_column.bucketized_column``
``CROSS([a, b, …], n)``                  a hash of the combined values mod ``n``; a key is a
                                         column (string/integer) or any categorical above;
                                         keys with several ids per row cross every pair
``INDICATOR(categorical)``               a multi-hot of width ``n`` in ``dense``
``EMBEDDING(categorical, dim[, combiner  a bag of ids; the framework layer looks up ``dim``
[, initializer]])``                      wide vectors and combines them (``mean``, ``sum``
                                         or ``sqrtn``)
=======================================  ==================================================

A categorical written at the top level without ``INDICATOR`` or ``EMBEDDING`` is read as
``INDICATOR(…)``: there is only one sensible way to feed ids to a dense model, and SQLFlow
users write ``COLUMN CATEGORY_ID(c, 10)`` expecting it to work. Missing numbers (null, NaN,
±inf) become the training mean — 0 after standardization — or 0 when the plan does not
normalize; missing categorical values (null, empty tokens) contribute no id, and a missing
number in ``BUCKET`` falls in no bucket. Everything a user can get wrong in SQL is a
:class:`~sqlml_dagster.runtime.StepError` that names the column and the function.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Generic, TypeAlias, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...contract import argument_order
from .. import StepError

__all__ = ["Bag", "Encoded", "FeaturePlan"]

#: What ``encode`` and ``fit`` read: a whole table or one record batch.
Data: TypeAlias = "pa.Table | pa.RecordBatch"

#: The format written by :meth:`FeaturePlan.to_json`; a newer one is refused on load.
PLAN_FORMAT = "sqlml.features"
PLAN_VERSION = 1

#: ``EMBEDDING``'s combiners and initializers (see the framework layers for their meaning).
COMBINERS = ("mean", "sum", "sqrtn")
INITIALIZERS = (
    "truncated_normal",
    "normal",
    "uniform",
    "zeros",
    "glorot_uniform",
    "glorot_normal",
)

#: Delimiters may be written as words, as SQLFlow's examples do (``DENSE(x, 4, COMMA)``).
DELIMITER_WORDS = {
    "COMMA": ",",
    "SPACE": " ",
    "SEMICOLON": ";",
    "TAB": "\t",
    "PIPE": "|",
    "COLON": ":",
}
DEFAULT_DELIMITER = ","


# -- the public API ----------------------------------------------------------------------


@dataclass(frozen=True)
class Bag:
    """One ``EMBEDDING``: ``num_ids`` ids (``0..num_ids-1``) looked up in a table of
    ``dimension``-wide vectors and combined per row. ``initializer`` is the one written in
    SQL (``None``: a truncated normal with std ``1/sqrt(dimension)``, TensorFlow's default
    for embedding columns)."""

    name: str
    num_ids: int
    dimension: int
    combiner: str
    initializer: str | None = None


@dataclass(frozen=True, eq=False)
class Encoded:
    """One encoded batch: ``dense`` float32 ``[n, dense_width]`` and one int64 ``[n, L]``
    array of ids per bag, ``-1`` where a row has fewer ids than the longest."""

    dense: np.ndarray
    bags: tuple[np.ndarray, ...]

    @property
    def rows(self) -> int:
        return int(self.dense.shape[0])


@dataclass(frozen=True)
class FeaturePlan:
    """How a model's input columns become numbers: built from the ``COLUMN`` clause and the
    data's schema (:meth:`infer`), fitted in one pass (:meth:`fit`), saved as JSON with the
    model and applied identically at prediction (:meth:`encode`)."""

    features: tuple[_Feature, ...]
    normalize: bool = False
    fitted: bool = False

    @classmethod
    def infer(
        cls,
        columns: Sequence[Mapping[str, Any]] | None,
        schema: pa.Schema,
        exclude: Collection[str],
    ) -> FeaturePlan:
        """An unfitted plan for ``columns`` (the ``COLUMN`` clause as JSON) over ``schema``.

        Without a ``COLUMN`` clause (``None``) every column but those in ``exclude`` (the
        label) is a numeric feature, which is what SQLFlow does for ``SELECT a, b, y``; a
        column that is not a number then fails here, before any training starts.
        """
        excluded = {name.casefold() for name in exclude}
        if columns is None:
            names = [n for n in schema.names if n.casefold() not in excluded]
            if not names:
                raise StepError(
                    "no feature columns: the SELECT must yield at least one column "
                    "besides the label"
                )
            features: list[_Feature] = [_bare_numeric(name, schema) for name in names]
        else:
            if not columns:
                raise StepError("the COLUMN clause names no feature column")
            builder = _Builder(schema, excluded)
            features = [builder.top_level(spec) for spec in columns]
        return cls(tuple(features))

    def fit(self, batches: Iterable[pa.RecordBatch | pa.Table], normalize: bool) -> FeaturePlan:
        """The plan with vocabularies (and, when ``normalize``, means and standard
        deviations) learned from ``batches`` in one pass that keeps only counters and sums,
        so the training data never has to fit in memory. A plan that needs nothing from the
        data (hashes, integer ids, no normalization) does not read ``batches`` at all."""
        fitters = [feature.fitter(normalize) for feature in self.features]
        if any(f.needs_data for f in fitters):
            for batch in batches:
                for fitter in fitters:
                    fitter.update(batch)
        return replace(
            self, features=tuple(f.finish() for f in fitters), normalize=normalize, fitted=True
        )

    def encode(self, data: pa.Table | pa.RecordBatch) -> Encoded:
        """``data`` as numbers (vectorized: Arrow compute and numpy; Python runs once per
        *distinct* value only where a value must be hashed)."""
        if not self.fitted:
            raise RuntimeError("FeaturePlan.encode needs a fitted plan: call fit() first")
        rows = data.num_rows
        dense: list[np.ndarray] = []
        bags: list[np.ndarray] = []
        for feature in self.features:
            if isinstance(feature, _Embedding):
                bags.append(feature.category.ids(data).padded())
            else:
                dense.append(feature.dense(data, self.normalize))
        matrix = np.concatenate(dense, axis=1) if dense else np.zeros((rows, 0))
        return Encoded(np.ascontiguousarray(matrix, dtype=np.float32), tuple(bags))

    @property
    def dense_width(self) -> int:
        return sum(f.width for f in self.features if not isinstance(f, _Embedding))

    @property
    def bags(self) -> tuple[Bag, ...]:
        return tuple(f.bag for f in self.features if isinstance(f, _Embedding))

    @property
    def source_columns(self) -> tuple[str, ...]:
        """The table columns the features read, in the order they are first used."""
        return _unique(c for f in self.features for c in f.source_columns)

    @property
    def dense_names(self) -> tuple[str, ...]:
        """A readable name per ``dense`` output: ``x``, ``x_0``, ``color=red``,
        ``age_bucket_1``, ``city_hash_7``."""
        return tuple(
            name for f in self.features if not isinstance(f, _Embedding) for name in f.names()
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "version": PLAN_VERSION,
            "normalize": self.normalize,
            "fitted": self.fitted,
            "features": [f.to_json() for f in self.features],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeaturePlan:
        if data.get("format") != PLAN_FORMAT:
            raise ValueError(f"not a feature plan (format {data.get('format')!r})")
        if int(data["version"]) > PLAN_VERSION:
            raise StepError(
                f"this model's feature plan has version {data['version']}; this sqlml-dagster "
                f"reads up to {PLAN_VERSION} — run the step with a newer image"
            )
        return cls(
            features=tuple(_decode_feature(f) for f in data["features"]),
            normalize=bool(data["normalize"]),
            fitted=bool(data["fitted"]),
        )


# -- top-level features: what lands in dense or in a bag ---------------------------------


@dataclass(frozen=True)
class _Numeric:
    """``NUMERIC``, ``DENSE`` or a bare column: ``width`` floats a row."""

    function: str  # COLUMN | NUMERIC | DENSE
    column: str
    shape: tuple[int, ...] = (1,)
    delimiter: str = DEFAULT_DELIMITER
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

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
        shape = self.shape[0] if len(self.shape) == 1 else list(self.shape)
        return f"{self.function}({self.column}, {shape})"

    def raw(self, data: Data) -> np.ndarray:
        """float64 ``[n, width]``; NaN where a value is missing."""
        return _numbers(_column(data, self.column), self.width, self.delimiter, self.describe())

    def dense(self, data: Data, normalize: bool) -> np.ndarray:
        values = self.raw(data)
        missing = ~np.isfinite(values)
        if normalize and self.mean is not None and self.std is not None:
            values = (values - np.asarray(self.mean)) / np.asarray(self.std)
        return np.where(missing, 0.0, values)

    def names(self) -> list[str]:
        if self.width == 1:
            return [self.column]
        return [f"{self.column}_{i}" for i in range(self.width)]

    def fitter(self, normalize: bool) -> _Fitter[_Numeric]:
        return _MomentsFitter(self) if normalize else _Done(replace(self, mean=None, std=None))

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "column": self.column,
            "shape": list(self.shape),
            "delimiter": self.delimiter,
            "mean": None if self.mean is None else list(self.mean),
            "std": None if self.std is None else list(self.std),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> _Numeric:
        return cls(
            function=d["function"],
            column=d["column"],
            shape=tuple(d["shape"]),
            delimiter=d["delimiter"],
            mean=None if d.get("mean") is None else tuple(d["mean"]),
            std=None if d.get("std") is None else tuple(d["std"]),
        )


@dataclass(frozen=True)
class _Indicator:
    """``INDICATOR(categorical)``: a multi-hot of the row's ids (counts clipped to 1)."""

    category: _Categorical

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

    def fitter(self, normalize: bool) -> _Fitter[_Indicator]:
        return _Nested([self.category.fitter()], lambda c: replace(self, category=c[0]))

    def to_json(self) -> dict[str, Any]:
        return {"function": "INDICATOR", "category": self.category.to_json()}


@dataclass(frozen=True)
class _Embedding:
    """``EMBEDDING(categorical, dimension, combiner, initializer)``: a bag of ids."""

    category: _Categorical
    dimension: int
    combiner: str = "mean"
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

    def fitter(self, normalize: bool) -> _Fitter[_Embedding]:
        return _Nested([self.category.fitter()], lambda c: replace(self, category=c[0]))

    def to_json(self) -> dict[str, Any]:
        return {
            "function": "EMBEDDING",
            "category": self.category.to_json(),
            "dimension": self.dimension,
            "combiner": self.combiner,
            "initializer": self.initializer,
        }


_Feature: TypeAlias = "_Numeric | _Indicator | _Embedding"


def _decode_feature(d: Mapping[str, Any]) -> _Feature:
    if d["function"] == "INDICATOR":
        return _Indicator(_decode_categorical(d["category"]))
    if d["function"] == "EMBEDDING":
        return _Embedding(
            _decode_categorical(d["category"]), d["dimension"], d["combiner"], d["initializer"]
        )
    return _Numeric.from_json(d)


# -- categoricals: columns that become ids -----------------------------------------------


class _Categorical(ABC):
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
    def ids(self, data: Data) -> _Ragged: ...

    @abstractmethod
    def id_names(self) -> list[str]: ...

    @abstractmethod
    def to_json(self) -> dict[str, Any]: ...

    def fitter(self) -> _Fitter[_Categorical]:
        return _Done(self)

    def hashes(self, data: Data) -> _Ragged:
        """What ``CROSS`` combines: a stable 64-bit hash per id (of its decimal text)."""
        ids = self.ids(data)
        return _Ragged(_hash_integers(ids.values), ids.rows, ids.n)


@dataclass(frozen=True)
class _CategoryIds(_Categorical):
    """``CATEGORY_ID``, ``SEQ_CATEGORY_ID`` and ``SPARSE``: ids written in the data, or —
    for a string column of ``CATEGORY_ID`` — ids from a vocabulary learned by ``fit``.

    ``num_ids`` is always ``bucket_size``, also when the vocabulary turns out smaller, so a
    model's shape follows from the SQL alone; slots no value took just never occur.
    """

    function: str  # CATEGORY_ID | SEQ_CATEGORY_ID | SPARSE
    column: str
    bucket_size: int
    delimiter: str | None = None
    learns_vocabulary: bool = False
    vocabulary: tuple[str, ...] | None = None

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

    def ids(self, data: Data) -> _Ragged:
        column = _column(data, self.column)
        values, rows = _tokens(column, self.delimiter)
        n = len(column)
        if self.learns_vocabulary:
            index = pc.index_in(pc.cast(values, pa.large_string()), value_set=self._value_set)
            found = _mask(pc.is_valid(index))
            ids = index.filter(pa.array(found)).to_numpy(zero_copy_only=False).astype(np.int64)
            return _Ragged(ids, rows[found], n)
        ids, ok = _integers(values, strict=self.function == "SPARSE", what=self.describe())
        ragged = _Ragged(ids, rows[ok], n)
        return ragged.keep((ids >= 0) & (ids < self.bucket_size))

    def id_names(self) -> list[str]:
        if not self.learns_vocabulary:
            return [f"{self.column}={i}" for i in range(self.bucket_size)]
        words = list(self.vocabulary or ())
        return [
            f"{self.column}={words[i]}" if i < len(words) else f"{self.column}[{i}]"
            for i in range(self.bucket_size)
        ]

    def fitter(self) -> _Fitter[_Categorical]:
        return _VocabularyFitter(self) if self.learns_vocabulary else _Done(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "column": self.column,
            "bucket_size": self.bucket_size,
            "delimiter": self.delimiter,
            "learns_vocabulary": self.learns_vocabulary,
            "vocabulary": None if self.vocabulary is None else list(self.vocabulary),
        }


@dataclass(frozen=True)
class _CategoryHash(_Categorical):
    """``CATEGORY_HASH(column, n[, delimiter])``: no vocabulary, nothing to fit."""

    column: str
    bucket_size: int
    delimiter: str | None = None

    @property
    def num_ids(self) -> int:
        return self.bucket_size

    @property
    def label(self) -> str:
        return f"{self.column}_hash"

    @property
    def source_columns(self) -> tuple[str, ...]:
        return (self.column,)

    def ids(self, data: Data) -> _Ragged:
        hashed = _RawKey(self.column, self.delimiter).hashes(data)
        return _Ragged(
            (hashed.values % np.uint64(self.bucket_size)).astype(np.int64), hashed.rows, hashed.n
        )

    def id_names(self) -> list[str]:
        return [f"{self.label}_{i}" for i in range(self.bucket_size)]

    def to_json(self) -> dict[str, Any]:
        return {
            "function": "CATEGORY_HASH",
            "column": self.column,
            "bucket_size": self.bucket_size,
            "delimiter": self.delimiter,
        }


@dataclass(frozen=True)
class _Bucket(_Categorical):
    """``BUCKET(x, boundaries)``: ``x < b1`` → 0, ``b1 <= x < b2`` → 1, …, ``x >= bk`` → k."""

    source: _Numeric
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

    def ids(self, data: Data) -> _Ragged:
        values = self.source.raw(data)[:, 0]
        (rows,) = np.nonzero(np.isfinite(values))
        ids = np.searchsorted(np.asarray(self.boundaries), values[rows], side="right")
        return _Ragged(ids.astype(np.int64), rows.astype(np.int64), len(values))

    def id_names(self) -> list[str]:
        return [f"{self.label}_{i}" for i in range(self.num_ids)]

    def to_json(self) -> dict[str, Any]:
        return {
            "function": "BUCKET",
            "source": self.source.to_json(),
            "boundaries": list(self.boundaries),
        }


@dataclass(frozen=True)
class _RawKey:
    """A plain string or integer column as one key of ``CROSS`` (and the values that
    ``CATEGORY_HASH`` hashes): a stable 64-bit hash per value."""

    column: str
    delimiter: str | None = None

    @property
    def label(self) -> str:
        return self.column

    @property
    def source_columns(self) -> tuple[str, ...]:
        return (self.column,)

    def hashes(self, data: Data) -> _Ragged:
        column = _column(data, self.column)
        values, rows = _tokens(column, self.delimiter)
        return _Ragged(_hash_values(values, f"the values of {self.column}"), rows, len(column))

    def fitter(self) -> _Fitter[_RawKey]:
        return _Done(self)

    def to_json(self) -> dict[str, Any]:
        return {"function": "COLUMN", "column": self.column}


@dataclass(frozen=True)
class _Cross(_Categorical):
    """``CROSS([a, b, …], n)``: the keys' hashes combined in order, mod ``n``."""

    keys: tuple[_Categorical | _RawKey, ...]
    bucket_size: int

    @property
    def num_ids(self) -> int:
        return self.bucket_size

    @property
    def label(self) -> str:
        return "_x_".join(key.label for key in self.keys) + "_cross"

    @property
    def source_columns(self) -> tuple[str, ...]:
        return _unique(c for key in self.keys for c in key.source_columns)

    def ids(self, data: Data) -> _Ragged:
        crossed = self.keys[0].hashes(data)
        for key in self.keys[1:]:
            crossed = crossed.cross(key.hashes(data))
        ids = _mix(crossed.values) % np.uint64(self.bucket_size)
        return _Ragged(ids.astype(np.int64), crossed.rows, crossed.n)

    def id_names(self) -> list[str]:
        return [f"{self.label}_{i}" for i in range(self.bucket_size)]

    def fitter(self) -> _Fitter[_Categorical]:
        return _Nested(
            [key.fitter() for key in self.keys], lambda keys: replace(self, keys=tuple(keys))
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "function": "CROSS",
            "keys": [key.to_json() for key in self.keys],
            "bucket_size": self.bucket_size,
        }


def _decode_categorical(d: Mapping[str, Any]) -> _Categorical:
    function = d["function"]
    if function in ("CATEGORY_ID", "SEQ_CATEGORY_ID", "SPARSE"):
        vocabulary = d.get("vocabulary")
        return _CategoryIds(
            function=function,
            column=d["column"],
            bucket_size=d["bucket_size"],
            delimiter=d["delimiter"],
            learns_vocabulary=d["learns_vocabulary"],
            vocabulary=None if vocabulary is None else tuple(vocabulary),
        )
    if function == "CATEGORY_HASH":
        return _CategoryHash(d["column"], d["bucket_size"], d["delimiter"])
    if function == "BUCKET":
        return _Bucket(_Numeric.from_json(d["source"]), tuple(d["boundaries"]))
    if function == "CROSS":
        keys = tuple(
            _RawKey(k["column"]) if k["function"] == "COLUMN" else _decode_categorical(k)
            for k in d["keys"]
        )
        return _Cross(keys, d["bucket_size"])
    raise ValueError(f"unknown categorical {function!r} in a feature plan")


# -- from the COLUMN clause's JSON to a plan ---------------------------------------------

_NUMERIC_FUNCTIONS = ("COLUMN", "NUMERIC", "DENSE")
_CATEGORICAL_FUNCTIONS = (
    "CATEGORY_ID",
    "SEQ_CATEGORY_ID",
    "CATEGORY_HASH",
    "SPARSE",
    "BUCKET",
    "CROSS",
)
_CATEGORICAL_HINT = "CATEGORY_ID, SEQ_CATEGORY_ID, CATEGORY_HASH, SPARSE, BUCKET or CROSS"


def _bare_numeric(column: str, schema: pa.Schema) -> _Numeric:
    """A column used as a plain number; anything else gets a hint how to encode it."""
    kind = _kind(schema.field(column).type)
    if kind not in ("integer", "float", "null"):
        raise StepError(
            f"feature column '{column}' has type {schema.field(column).type}, not a number; "
            f"encode it in the COLUMN clause — COLUMN CATEGORY_ID({column}, n) learns the n "
            f"most frequent values, COLUMN CATEGORY_HASH({column}, n) hashes them into n "
            "buckets — or leave it out of the SELECT"
        )
    return _Numeric("COLUMN", column)


@dataclass(frozen=True)
class _Builder:
    """Checks one ``COLUMN`` expression against the schema and builds its nodes."""

    schema: pa.Schema
    excluded: set[str] = field(default_factory=set)

    def top_level(self, spec: Mapping[str, Any]) -> _Feature:
        function = _function(spec)
        if function == "EMBEDDING":
            combiner = str(spec.get("combiner") or "mean").lower()
            if combiner not in COMBINERS:
                raise StepError(
                    f"{_sql(spec)}: combiner {spec.get('combiner')!r} is not one of "
                    f"{', '.join(COMBINERS)}"
                )
            initializer = spec.get("initializer")
            if initializer is not None:
                initializer = str(initializer).lower()
                if initializer not in INITIALIZERS:
                    raise StepError(
                        f"{_sql(spec)}: initializer {spec.get('initializer')!r} is not one of "
                        f"{', '.join(INITIALIZERS)}"
                    )
            return _Embedding(
                self.categorical(spec["category"], spec),
                _positive(spec, "dimension"),
                combiner,
                initializer,
            )
        if function == "INDICATOR":
            return _Indicator(self.categorical(spec["category"], spec))
        if function in _NUMERIC_FUNCTIONS:
            return self.numeric(spec)
        if function in _CATEGORICAL_FUNCTIONS:
            return _Indicator(self.categorical(spec, None))
        raise StepError(f"COLUMN {_sql(spec)}: unknown feature column function {function}")

    def numeric(self, spec: Mapping[str, Any]) -> _Numeric:
        function = _function(spec)
        if function not in _NUMERIC_FUNCTIONS:
            raise StepError(f"{_sql(spec)} is not a number column; NUMERIC or DENSE needed here")
        if function == "COLUMN":
            return _bare_numeric(self.column(spec, spec), self.schema)
        column = self.column(spec["key"], spec)
        shape = _shape(spec)
        width = math.prod(shape)
        kind = _kind(self.schema.field(column).type)
        type_ = self.schema.field(column).type
        if kind not in ("integer", "float", "null", "string", "list_integer", "list_float"):
            raise StepError(
                f"{_sql(spec)}: column '{column}' has type {type_}; {function} reads numbers, "
                "lists of numbers or delimited strings of numbers — for categories write "
                f"CATEGORY_ID({column}, n)"
            )
        if width > 1 and kind in ("integer", "float"):
            raise StepError(
                f"{_sql(spec)}: column '{column}' holds one number a row ({type_}); shape "
                f"{width} needs a list of numbers or a delimited string of {width} numbers"
            )
        delimiter = _delimiter(spec.get("delimiter"), spec) or DEFAULT_DELIMITER
        return _Numeric(function, column, shape, delimiter)

    def categorical(self, spec: Any, parent: Mapping[str, Any] | None) -> _Categorical:
        function = _function(spec)
        if function not in _CATEGORICAL_FUNCTIONS:
            where = f"{_sql(parent)} needs" if parent else "needs"
            hint = ""
            if function == "COLUMN" and parent is not None:
                name = _sql(spec)
                hint = (
                    f"; write {_function(parent)}(CATEGORY_ID({name}, n), …) or "
                    f"{_function(parent)}(CATEGORY_HASH({name}, n), …)"
                )
            raise StepError(
                f"{where} a categorical column ({_CATEGORICAL_HINT}), not {_sql(spec)}{hint}"
            )
        if function == "BUCKET":
            source = self.numeric(_as_column_spec(spec["source"]))
            if source.width != 1:
                raise StepError(f"{_sql(spec)}: BUCKET needs one number a row, not {source.width}")
            boundaries = tuple(float(b) for b in spec["boundaries"] or ())
            if not boundaries or any(a >= b for a, b in itertools.pairwise(boundaries)):
                raise StepError(f"{_sql(spec)}: boundaries must be an ascending list of numbers")
            return _Bucket(source, boundaries)
        if function == "CROSS":
            keys = spec.get("keys") or []
            if len(keys) < 2:
                raise StepError(f"{_sql(spec)}: CROSS needs at least two keys")
            return _Cross(
                tuple(self.cross_key(key, spec) for key in keys),
                _positive(spec, "hash_bucket_size"),
            )
        column = self.column(spec["key"], spec)
        bucket_size = _positive(spec, "shape" if function == "SPARSE" else "bucket_size")
        delimiter = _delimiter(spec.get("delimiter"), spec)
        kind = _kind(self.schema.field(column).type)
        if kind not in ("integer", "string", "null", "list_integer", "list_string"):
            raise StepError(
                f"{_sql(spec)}: column '{column}' has type {self.schema.field(column).type}; "
                f"{function} needs integer ids or strings — CAST it to INTEGER in the SELECT, "
                f"or use BUCKET({column}, [...]) for ranges of a number"
            )
        if function == "CATEGORY_HASH":
            return _CategoryHash(column, bucket_size, delimiter)
        if function == "SPARSE":
            dtype = str(spec.get("dtype") or "int64").lower()
            if dtype not in ("int", "int32", "int64", "integer", "bigint"):
                raise StepError(
                    f"{_sql(spec)}: SPARSE reads integer ids; dtype {spec.get('dtype')!r} is "
                    "not supported"
                )
            if kind == "string":
                delimiter = delimiter or DEFAULT_DELIMITER
            return _CategoryIds(function, column, bucket_size, delimiter)
        learns = kind in ("string", "list_string")
        return _CategoryIds(function, column, bucket_size, delimiter, learns_vocabulary=learns)

    def cross_key(self, spec: Any, parent: Mapping[str, Any]) -> _Categorical | _RawKey:
        if _function(spec) != "COLUMN":
            return self.categorical(spec, parent)
        column = self.column(spec, parent)
        kind = _kind(self.schema.field(column).type)
        if kind not in ("integer", "string", "null"):
            raise StepError(
                f"{_sql(parent)}: column '{column}' has type {self.schema.field(column).type}; "
                f"CROSS combines strings and integers — use BUCKET({column}, [...]) as the key"
            )
        return _RawKey(column)

    def column(self, spec: Any, parent: Mapping[str, Any]) -> str:
        """The schema's spelling of a column named in ``COLUMN`` (SQL names are
        case-insensitive unless quoted, so a unique case-insensitive match counts)."""
        if _function(spec) != "COLUMN":
            raise StepError(
                f"{_sql(parent)}: the first argument of {_function(parent)} must be a column "
                f"name, not {_sql(spec)}"
            )
        name = spec["name"] if isinstance(spec, Mapping) else str(spec)
        resolved = _resolve(name, self.schema.names)
        if resolved is None:
            raise StepError(
                f"COLUMN {_sql(parent)} reads column '{name}', which the SELECT does not "
                f"produce (columns: {', '.join(self.schema.names)})"
            )
        if resolved.casefold() in self.excluded:
            raise StepError(
                f"COLUMN {_sql(parent)}: '{resolved}' is the label, so it cannot also be a feature"
            )
        return resolved


def _function(spec: Any) -> str:
    if isinstance(spec, str):
        return "COLUMN"
    return str(spec["function"]).upper()


def _as_column_spec(spec: Any) -> Mapping[str, Any]:
    return {"function": "COLUMN", "name": spec} if isinstance(spec, str) else spec


def _positive(spec: Mapping[str, Any], name: str) -> int:
    value = spec.get(name)
    if isinstance(value, list | tuple):
        value = math.prod(value) if value else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise StepError(f"{_sql(spec)}: {name} must be a positive integer, not {value!r}")
    return value


def _shape(spec: Mapping[str, Any]) -> tuple[int, ...]:
    shape = spec.get("shape", 1)
    shape = list(shape) if isinstance(shape, list | tuple) else [1 if shape is None else shape]
    if not shape or not all(
        isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape
    ):
        raise StepError(f"{_sql(spec)}: shape must be a positive integer or a list of them")
    return tuple(shape)


def _delimiter(value: Any, spec: Mapping[str, Any]) -> str | None:
    if value is None:
        return None
    text = str(value)
    text = DELIMITER_WORDS.get(text.upper(), text)
    if not text:
        raise StepError(f"{_sql(spec)}: the delimiter must not be empty")
    return text


def _resolve(name: str, names: Sequence[str]) -> str | None:
    if name in names:
        return name
    matches = [n for n in names if n.casefold() == name.casefold()]
    return matches[0] if len(matches) == 1 else None


def _sql(spec: Any) -> str:
    """The expression as a user wrote it, near enough, for error messages."""
    if isinstance(spec, str):
        return spec
    if not isinstance(spec, Mapping):
        return repr(spec)
    if _function(spec) == "COLUMN":
        return str(spec.get("name"))
    args = []
    order = argument_order(_function(spec))
    keys = [k for k in order if k in spec] + [k for k in spec if k not in order]
    for key in keys:
        value = spec[key]
        if key == "function" or value is None:
            continue
        if isinstance(value, Mapping):
            args.append(_sql(value))
        elif isinstance(value, list):
            args.append(
                "[" + ", ".join(_sql(v) if isinstance(v, Mapping) else str(v) for v in value) + "]"
            )
        else:
            args.append(str(value))
    return f"{_function(spec)}({', '.join(args)})"


# -- fitting: one streaming pass ---------------------------------------------------------

_T = TypeVar("_T")


class _Fitter(Generic[_T]):
    """Statistics of one feature over a stream of batches; ``finish`` returns the feature
    fitted with them."""

    needs_data: bool = True

    def update(self, data: Data) -> None:
        pass

    def finish(self) -> _T:
        raise NotImplementedError


class _Done(_Fitter[_T]):
    """For features that need nothing from the data."""

    needs_data = False

    def __init__(self, node: _T):
        self.node = node

    def finish(self) -> _T:
        return self.node


class _Nested(_Fitter[_T]):
    """A feature whose parts fit themselves (``INDICATOR``, ``EMBEDDING``, ``CROSS``)."""

    def __init__(self, parts: list[_Fitter[Any]], rebuild: Callable[[list[Any]], _T]):
        self.parts = parts
        self.rebuild = rebuild
        self.needs_data = any(p.needs_data for p in parts)

    def update(self, data: Data) -> None:
        for part in self.parts:
            part.update(data)

    def finish(self) -> _T:
        return self.rebuild([p.finish() for p in self.parts])


class _MomentsFitter(_Fitter[_Numeric]):
    """Mean and standard deviation per output, merged batch by batch with Chan et al.'s
    pairwise update (no catastrophic cancellation from a running sum of squares)."""

    def __init__(self, node: _Numeric):
        self.node = node
        self.count = np.zeros(node.width)
        self.mean = np.zeros(node.width)
        self.m2 = np.zeros(node.width)

    def update(self, data: Data) -> None:
        values = self.node.raw(data)
        ok = np.isfinite(values)
        count = ok.sum(axis=0).astype(np.float64)
        mean = np.where(ok, values, 0.0).sum(axis=0) / np.maximum(count, 1)
        m2 = (np.where(ok, values - mean, 0.0) ** 2).sum(axis=0)
        total = self.count + count
        delta = mean - self.mean
        share = count / np.maximum(total, 1)
        self.mean = self.mean + delta * share
        self.m2 = self.m2 + m2 + delta**2 * self.count * share
        self.count = total

    def finish(self) -> _Numeric:
        std = np.sqrt(self.m2 / np.maximum(self.count, 1))
        std[~(std > 0)] = 1.0
        return replace(
            self.node,
            mean=tuple(float(v) for v in self.mean),
            std=tuple(float(v) for v in std),
        )


#: Partial value counts are merged once they hold this many rows (and the merged table
#: is at least half of them), so memory follows the number of distinct values.
_COMPACT_ROWS = 1 << 20


class _VocabularyFitter(_Fitter[_Categorical]):
    """Counts of every distinct value (Arrow tables, merged with ``group_by``); the
    ``bucket_size`` most frequent, ties broken by value, become the vocabulary."""

    def __init__(self, node: _CategoryIds):
        self.node = node
        self.parts: list[pa.Table] = []
        self.rows = 0
        self.compact_at = _COMPACT_ROWS

    def update(self, data: Data) -> None:
        values, _ = _tokens(_column(data, self.node.column), self.node.delimiter)
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

    def finish(self) -> _Categorical:
        if not self.parts:
            return replace(self.node, vocabulary=())
        table = self._compact()
        order = pc.sort_indices(table, sort_keys=[("count", "descending"), ("value", "ascending")])
        top = table["value"].take(order[: self.node.bucket_size])
        return replace(self.node, vocabulary=tuple(top.to_pylist()))


# -- Arrow to numpy ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Ragged:
    """Any number of values per row, as parallel arrays: ``values[i]`` belongs to row
    ``rows[i]``; ``rows`` never decreases, so a row's values keep their written order."""

    values: np.ndarray
    rows: np.ndarray
    n: int

    def keep(self, mask: np.ndarray) -> _Ragged:
        return _Ragged(self.values[mask], self.rows[mask], self.n)

    def _counts(self) -> np.ndarray:
        return np.bincount(self.rows, minlength=self.n)

    def padded(self) -> np.ndarray:
        """int64 ``[n, L]``, ``L`` = the longest row (at least 1), ``-1`` after a row's ids."""
        counts = self._counts()
        width = max(1, int(counts.max()) if self.n else 1)
        starts = np.cumsum(counts) - counts
        position = np.arange(len(self.values)) - starts[self.rows]
        out = np.full((self.n, width), -1, dtype=np.int64)
        out[self.rows, position] = self.values
        return out

    def multi_hot(self, width: int) -> np.ndarray:
        out = np.zeros((self.n, width), dtype=np.float32)
        out[self.rows, self.values] = 1.0
        return out

    def cross(self, other: _Ragged) -> _Ragged:
        """Every pair of a row's values from ``self`` and ``other``, combined into one hash
        (vectorized: each of ``self``'s values repeats once per value ``other`` has in its
        row)."""
        other_counts = np.bincount(other.rows, minlength=self.n)
        other_starts = np.cumsum(other_counts) - other_counts
        repeats = other_counts[self.rows]
        rows = np.repeat(self.rows, repeats)
        left = np.repeat(self.values, repeats)
        group_starts = np.cumsum(repeats) - repeats
        within = np.arange(len(rows)) - np.repeat(group_starts, repeats)
        right = other.values[np.repeat(other_starts[self.rows], repeats) + within]
        combined = left * np.uint64(0x100000001B3) + right
        return _Ragged(combined.astype(np.uint64), rows.astype(np.int64), self.n)


def _column(data: Data, name: str) -> pa.Array:
    """One column as a single Arrow array, dictionary-decoded; a missing column is the
    user's problem (the prediction data lacks a column the model was trained on)."""
    resolved = _resolve(name, data.schema.names)
    if resolved is None:
        raise StepError(
            f"the model's features read column '{name}', which the data does not have "
            f"(columns: {', '.join(data.schema.names)})"
        )
    column = data.column(resolved)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return _plain(column)


def _plain(array: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_string_view(array.type):
        array = array.cast(pa.large_string())
    return array


def _is_string(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def _is_list(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    )


def _kind(kind: pa.DataType) -> str:
    """``integer``, ``float``, ``string``, ``null``, ``list_<one of those>`` or ``other``."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if _is_list(kind):
        inner = _kind(kind.value_type)
        return f"list_{inner}" if inner in ("integer", "float", "string") else "other"
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return "integer"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "float"
    if _is_string(kind):
        return "string"
    if pa.types.is_null(kind):
        return "null"
    return "other"


def _mask(values: pa.Array) -> np.ndarray:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)


def _tokens(array: pa.Array, delimiter: str | None) -> tuple[pa.Array, np.ndarray]:
    """The values of each row and the row each came from: list columns are flattened, a
    string column is split at ``delimiter`` (tokens trimmed, empty ones dropped), other
    columns give one value a row. Nulls are dropped."""
    rows: np.ndarray
    if _is_list(array.type):
        values, rows = _flatten(array)
        values = _plain(values)
    elif delimiter is not None and _is_string(array.type):
        values, rows = _flatten(_split(array, delimiter))
        values = pc.utf8_trim_whitespace(values)
        keep = _mask(pc.fill_null(pc.not_equal(values, ""), False))
        return values.filter(pa.array(keep)), rows[keep]
    else:
        values = array
        rows = np.arange(len(array), dtype=np.int64)
    if values.null_count:
        keep = _mask(pc.is_valid(values))
        return values.filter(pa.array(keep)), rows[keep].astype(np.int64)
    return values, rows.astype(np.int64)


def _split(array: pa.Array, delimiter: str) -> pa.Array:
    """Strings split at ``delimiter``; ``SPACE`` splits at runs of whitespace."""
    if delimiter == " ":
        return pc.utf8_split_whitespace(pc.utf8_trim_whitespace(array))
    return pc.split_pattern(array, delimiter)


def _flatten(lists: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """A list array's values and the row of each. Rows come from the lengths, not from
    ``list_parent_indices``, which also counts values hidden under null lists that
    ``list_flatten`` skips."""
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    rows = np.repeat(np.arange(len(lists), dtype=np.int64), lengths)
    return pc.list_flatten(lists), rows


_INTEGER_TEXT = r"^[+-]?[0-9]{1,18}$"


def _integers(values: pa.Array, strict: bool, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer ids from integer, boolean or string values, and which values gave one:
    text that is no integer is skipped, or an error when ``strict``."""
    kind = values.type
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind):
        ids = pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False)
        return ids.astype(np.int64), np.ones(len(ids), dtype=bool)
    if _is_string(kind):
        ok = _mask(pc.match_substring_regex(values, _INTEGER_TEXT))
        if strict and not ok.all():
            bad = values[int(np.argmin(ok))].as_py()
            raise StepError(f"{what}: {bad!r} is not an integer id")
        ids = pc.cast(values.filter(pa.array(ok)), pa.int64()).to_numpy(zero_copy_only=False)
        return ids.astype(np.int64), ok
    try:
        ids = pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise StepError(f"{what}: the column holds {kind} values, not integer ids") from None
    return ids.astype(np.int64), np.ones(len(ids), dtype=bool)


def _numbers(array: pa.Array, width: int, delimiter: str, what: str) -> np.ndarray:
    """float64 ``[n, width]`` from a number, list or delimited string column; NaN where a
    value is missing. A row with another count of numbers than ``width`` is an error."""
    n = len(array)
    kind = array.type
    if not (_is_list(kind) or _is_string(kind)):
        if width != 1:
            raise StepError(
                f"{what}: the column holds one {kind} a row; shape {width} needs a list or "
                "a delimited string"
            )
        try:
            values = pc.cast(array, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise StepError(f"{what}: the column holds {kind} values, not numbers") from None
        out = values.fill_null(np.nan).to_numpy(zero_copy_only=False)
        return np.asarray(out, dtype=np.float64).reshape(n, 1)
    lists = array
    if _is_string(kind):
        blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(array), ""), False)
        array = pc.if_else(blank, pa.scalar(None, kind), array)
        lists = _split(array, delimiter)
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    present = _mask(pc.is_valid(lists))
    wrong = present & (np.nan_to_num(lengths.astype(np.float64), nan=width) != width)
    if wrong.any():
        first = int(np.argmax(wrong))
        shown = str(array[first].as_py())
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise StepError(
            f"{what}: {int(wrong.sum())} row(s) do not hold exactly {width} number(s); the "
            f"first holds {int(lengths[first])}: {shown!r}"
        )
    flat = _plain(pc.list_flatten(lists))
    if _is_string(flat.type):
        flat = pc.utf8_trim_whitespace(flat)
        flat = pc.if_else(pc.equal(flat, ""), pa.scalar(None, flat.type), flat)
    try:
        numbers = pc.cast(flat, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = next(_not_numbers(flat), None)
        raise StepError(f"{what}: {bad!r} is not a number") from None
    out = np.full((n, width), np.nan)
    values = numbers.fill_null(np.nan).to_numpy(zero_copy_only=False)
    out[present] = np.asarray(values, dtype=np.float64).reshape(-1, width)
    return out


def _not_numbers(values: pa.Array) -> Iterator[Any]:
    """The values that do not parse as numbers (only ever asked for after a failure)."""
    for value in values.to_pylist():
        try:
            float(value)
        except (TypeError, ValueError):
            if value is not None:
                yield value


# -- stable hashing ----------------------------------------------------------------------


def _hash_text(texts: Iterable[str], count: int) -> np.ndarray:
    """blake2b (8 bytes, little-endian) of each text: the same in every process and on
    every platform, unlike Python's ``hash``."""
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
            for t in texts
        ),
        dtype=np.uint64,
        count=count,
    )


def _hash_integers(values: np.ndarray) -> np.ndarray:
    distinct, inverse = np.unique(values, return_inverse=True)
    hashes = _hash_text((str(int(v)) for v in distinct), len(distinct))
    return hashes[inverse.reshape(-1)] if len(values) else np.zeros(0, dtype=np.uint64)


def _hash_values(values: pa.Array, what: str) -> np.ndarray:
    """A 64-bit hash per value; strings and integers alike hash their text, once per
    distinct value."""
    kind = values.type
    if _is_string(kind):
        encoded = pc.cast(values, pa.large_string()).dictionary_encode()
        words = encoded.dictionary.to_pylist()
        hashes = _hash_text(words, len(words))
        return hashes[encoded.indices.to_numpy(zero_copy_only=False)]
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind):
        ints = pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False)
        return _hash_integers(np.asarray(ints, dtype=np.int64))
    raise StepError(f"{what} are {kind}; only strings and integers can be hashed")


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: spreads combined hashes before ``mod n``."""
    z = values.astype(np.uint64)
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return np.asarray(z ^ (z >> np.uint64(31)), dtype=np.uint64)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
