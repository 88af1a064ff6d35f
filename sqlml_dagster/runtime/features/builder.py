"""From the ``COLUMN`` clause's JSON to an unfitted plan's nodes, checked against the
data's schema: every mistake a SQL user can make (an unknown column, a string where a
number is needed, a bad combiner or shape) is a ``StepError`` that quotes the expression
as written, before any training starts."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ...contract import argument_order
from .. import StepError
from .arrow import kind_of, resolve_name
from .encoders import (
    DEFAULT_DELIMITER,
    Bucket,
    Categorical,
    CategoryHash,
    CategoryIds,
    Cross,
    Embedding,
    Feature,
    Indicator,
    Numeric,
    RawKey,
    Weighted,
)

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

_NUMERIC_FUNCTIONS = ("COLUMN", "NUMERIC", "DENSE")
_CATEGORICAL_FUNCTIONS = (
    "WEIGHTED_CATEGORY",
    "CATEGORY_ID",
    "SEQ_CATEGORY_ID",
    "CATEGORY_HASH",
    "SPARSE",
    "BUCKET",
    "CROSS",
)
_CATEGORICAL_HINT = (
    "CATEGORY_ID, SEQ_CATEGORY_ID, CATEGORY_HASH, SPARSE, BUCKET, CROSS or WEIGHTED_CATEGORY"
)
#: The value types ``DENSE``/``SPARSE``'s dtype may name (SQLFlow: float, int, string).
_NUMBER_DTYPES = ("float", "float32", "float64", "double", "int", "int32", "int64", "integer")
_ID_DTYPES = ("int", "int32", "int64", "integer", "bigint")


def bare_numeric(column: str, schema: pa.Schema) -> Numeric:
    """A column used as a plain number; anything else gets a hint how to encode it."""
    kind = kind_of(schema.field(column).type)
    if kind not in ("integer", "float", "null"):
        raise StepError(
            f"feature column '{column}' has type {schema.field(column).type}, not a number; "
            f"encode it in the COLUMN clause — COLUMN CATEGORY_ID({column}, n) learns the n "
            f"most frequent values, COLUMN CATEGORY_HASH({column}, n) hashes them into n "
            "buckets — or leave it out of the SELECT"
        )
    return Numeric("COLUMN", column)


@dataclass(frozen=True)
class Builder:
    """Checks one ``COLUMN`` expression against the schema and builds its nodes."""

    schema: pa.Schema
    excluded: set[str] = field(default_factory=set)

    def top_level(self, spec: Mapping[str, Any]) -> Feature:
        function = _function(spec)
        if function == "EMBEDDING":
            combiner = str(spec.get("combiner") or "sum").lower()
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
            category = self.categorical(spec["category"], spec)
            if isinstance(category, Weighted):
                # Weights scale each id's vector; the bags the frameworks look up carry ids
                # only, so the weighted multi-hot goes to the network, whose first layer is
                # then the (linear) weighted-sum embedding (docs/language.md).
                return Indicator(category)
            return Embedding(
                category,
                _positive(spec, "dimension"),
                combiner,
                initializer,
            )
        if function == "INDICATOR":
            return Indicator(self.categorical(spec["category"], spec))
        if function == "NUMERIC" and _function(spec["key"]) == "SPARSE":
            return Indicator(self.categorical(spec["key"], None))  # NUMERIC(SPARSE(c, n))
        if function in _NUMERIC_FUNCTIONS:
            return self.numeric(spec)
        if function in _CATEGORICAL_FUNCTIONS:
            return Indicator(self.categorical(spec, None))
        raise StepError(f"COLUMN {_sql(spec)}: unknown feature column function {function}")

    def numeric(self, spec: Mapping[str, Any]) -> Numeric:
        function = _function(spec)
        if function not in _NUMERIC_FUNCTIONS:
            raise StepError(f"{_sql(spec)} is not a number column; NUMERIC or DENSE needed here")
        if function == "COLUMN":
            return bare_numeric(self.column(spec, spec), self.schema)
        if function == "NUMERIC" and _function(spec["key"]) == "DENSE":
            inner = dict(spec["key"])  # NUMERIC(DENSE(c, 10)): the DENSE, NUMERIC's shape
            if inner.get("shape") is None and spec.get("shape") not in (None, 1):
                inner["shape"] = spec["shape"]
            return self.numeric(inner)
        column = self.column(spec["key"], spec)
        kind = kind_of(self.schema.field(column).type)
        type_ = self.schema.field(column).type
        dtype = spec.get("dtype")
        if dtype is not None and str(dtype).lower() not in _NUMBER_DTYPES:
            raise StepError(
                f"{_sql(spec)}: {function} reads numbers; dtype {dtype!r} is not one of "
                f"{', '.join(_NUMBER_DTYPES)} — for strings write CATEGORY_HASH({column}, n)"
            )
        delimiter_kv = _delimiter(spec.get("delimiter_kv"), spec)
        if spec.get("shape") is None and function == "DENSE":
            shape = _known_width(type_) if delimiter_kv is None else ()
        else:
            shape = _shape(spec)
        width = math.prod(shape) if shape else 0
        if kind not in ("integer", "float", "null", "string", "list_integer", "list_float"):
            raise StepError(
                f"{_sql(spec)}: column '{column}' has type {type_}; {function} reads numbers, "
                "lists of numbers or delimited strings of numbers — for categories write "
                f"CATEGORY_ID({column}, n)"
            )
        if shape and width > 1 and kind in ("integer", "float"):
            raise StepError(
                f"{_sql(spec)}: column '{column}' holds one number a row ({type_}); shape "
                f"{width} needs a list of numbers or a delimited string of {width} numbers"
            )
        delimiter = _delimiter(spec.get("delimiter"), spec) or DEFAULT_DELIMITER
        return Numeric(function, column, shape, delimiter, delimiter_kv=delimiter_kv)

    def categorical(self, spec: Any, parent: Mapping[str, Any] | None) -> Categorical:
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
        if function == "WEIGHTED_CATEGORY":
            inner = self.categorical(spec["category"], spec)
            if not getattr(inner, "delimiter_kv", None):
                raise StepError(
                    f"{_sql(spec)}: the weights come from key-value text — write the column "
                    'as SPARSE(col, n, ",", int, ":", float) inside '
                    "CATEGORY_ID or CATEGORY_HASH"
                )
            return Weighted(inner)
        if function == "BUCKET":
            source = self.numeric(_as_column_spec(spec["source"]))
            if source.width != 1:
                raise StepError(f"{_sql(spec)}: BUCKET needs one number a row, not {source.width}")
            boundaries = tuple(float(b) for b in spec["boundaries"] or ())
            if not boundaries or any(a >= b for a, b in itertools.pairwise(boundaries)):
                raise StepError(f"{_sql(spec)}: boundaries must be an ascending list of numbers")
            return Bucket(source, boundaries)
        if function == "CROSS":
            keys = spec.get("keys") or []
            if len(keys) < 2:
                raise StepError(f"{_sql(spec)}: CROSS needs at least two keys")
            return Cross(
                tuple(self.cross_key(key, spec) for key in keys),
                _positive(spec, "hash_bucket_size"),
            )
        field = spec
        if function != "SPARSE" and _function(spec["key"]) in ("DENSE", "SPARSE"):
            field = spec["key"]  # CATEGORY_ID(SPARSE(c, n, ",", int, ":", float), n)
        column = self.column(field["key"], spec)
        if function == "SPARSE" and spec.get("shape") is None:
            bucket_size = 0  # learned: the largest id + 1
        else:
            bucket_size = _positive(spec, "shape" if function == "SPARSE" else "bucket_size")
        delimiter = _delimiter(field.get("delimiter"), spec)
        delimiter_kv = _delimiter(field.get("delimiter_kv"), spec)
        if field is not spec and delimiter is None and delimiter_kv is not None:
            delimiter = DEFAULT_DELIMITER
        kind = kind_of(self.schema.field(column).type)
        if kind not in ("integer", "string", "null", "list_integer", "list_string"):
            raise StepError(
                f"{_sql(spec)}: column '{column}' has type {self.schema.field(column).type}; "
                f"{function} needs integer ids or strings — CAST it to INTEGER in the SELECT, "
                f"or use BUCKET({column}, [...]) for ranges of a number"
            )
        if function == "CATEGORY_HASH":
            return CategoryHash(column, bucket_size, delimiter, delimiter_kv)
        dtype = str(field.get("dtype") or "int64").lower()
        if function == "SPARSE" or _function(field) == "SPARSE":
            if delimiter_kv is None and dtype not in _ID_DTYPES:
                raise StepError(
                    f"{_sql(spec)}: {_function(field)} reads integer ids; dtype "
                    f"{field.get('dtype')!r} is not supported — hash strings with "
                    f"CATEGORY_HASH({_sql(field)}, n)"
                )
            if kind == "string":
                delimiter = delimiter or DEFAULT_DELIMITER
        if function == "SPARSE":
            return CategoryIds(function, column, bucket_size, delimiter, delimiter_kv=delimiter_kv)
        learns = kind in ("string", "list_string") and dtype not in _ID_DTYPES
        if field is spec:
            learns = kind in ("string", "list_string")
        return CategoryIds(
            function,
            column,
            bucket_size,
            delimiter,
            learns_vocabulary=learns,
            delimiter_kv=delimiter_kv,
        )

    def cross_key(self, spec: Any, parent: Mapping[str, Any]) -> Categorical | RawKey:
        if _function(spec) != "COLUMN":
            return self.categorical(spec, parent)
        column = self.column(spec, parent)
        kind = kind_of(self.schema.field(column).type)
        if kind not in ("integer", "string", "null"):
            raise StepError(
                f"{_sql(parent)}: column '{column}' has type {self.schema.field(column).type}; "
                f"CROSS combines strings and integers — use BUCKET({column}, [...]) as the key"
            )
        return RawKey(column)

    def column(self, spec: Any, parent: Mapping[str, Any]) -> str:
        """The schema's spelling of a column named in ``COLUMN`` (SQL names are
        case-insensitive unless quoted, so a unique case-insensitive match counts)."""
        if _function(spec) != "COLUMN":
            raise StepError(
                f"{_sql(parent)}: the first argument of {_function(parent)} must be a column "
                f"name, not {_sql(spec)}"
            )
        name = spec["name"] if isinstance(spec, Mapping) else str(spec)
        resolved = resolve_name(name, self.schema.names)
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


def _known_width(type_: pa.DataType) -> tuple[int, ...]:
    """``DENSE(x)`` without a shape: 1 for a number column, a fixed-size list's size;
    ``()`` — learned from the data — for text and lists of any length."""
    if pa.types.is_fixed_size_list(type_):
        return (type_.list_size,)
    if kind_of(type_) in ("integer", "float", "null"):
        return (1,)
    return ()


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
