"""Arrow columns to numpy: the vectorized reading every feature shares.

Columns are found by name as SQL finds them (case-insensitively when unambiguous), list
and delimited-string columns become :class:`Ragged` values with the row each came from,
and numbers, integer ids and masks come out as numpy arrays. Nothing here knows a
``COLUMN`` function; what a user can get wrong in the data is a ``StepError`` that names
the column.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import StepError

#: What ``encode`` and ``fit`` read: a whole table or one record batch.
Data: TypeAlias = "pa.Table | pa.RecordBatch"


@dataclass(frozen=True, eq=False)
class Ragged:
    """Any number of values per row, as parallel arrays: ``values[i]`` belongs to row
    ``rows[i]``; ``rows`` never decreases, so a row's values keep their written order."""

    values: np.ndarray
    rows: np.ndarray
    n: int
    #: ``WEIGHTED_CATEGORY``'s weight of each value (float64), ``None``: every value 1.
    weights: np.ndarray | None = None

    def keep(self, mask: np.ndarray) -> Ragged:
        weights = None if self.weights is None else self.weights[mask]
        return Ragged(self.values[mask], self.rows[mask], self.n, weights)

    def unweighted(self) -> Ragged:
        return self if self.weights is None else Ragged(self.values, self.rows, self.n)

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
        """1 where a row holds an id; weighted: the sum of the id's weights in the row (as
        TensorFlow's indicator over a ``weighted_categorical_column``)."""
        out = np.zeros((self.n, width), dtype=np.float32)
        if self.weights is None:
            out[self.rows, self.values] = 1.0
        else:
            np.add.at(out, (self.rows, self.values), self.weights.astype(np.float32))
        return out

    def cross(self, other: Ragged) -> Ragged:
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
        return Ragged(combined.astype(np.uint64), rows.astype(np.int64), self.n)


def read_column(data: Data, name: str) -> pa.Array:
    """One column as a single Arrow array, dictionary-decoded; a missing column is the
    user's problem (the prediction data lacks a column the model was trained on)."""
    resolved = resolve_name(name, data.schema.names)
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


def is_string(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def _is_list(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    )


def kind_of(kind: pa.DataType) -> str:
    """``integer``, ``float``, ``string``, ``null``, ``list_<one of those>`` or ``other``."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if _is_list(kind):
        inner = kind_of(kind.value_type)
        return f"list_{inner}" if inner in ("integer", "float", "string") else "other"
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return "integer"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "float"
    if is_string(kind):
        return "string"
    if pa.types.is_null(kind):
        return "null"
    return "other"


def to_mask(values: pa.Array) -> np.ndarray:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)


def tokens_of(array: pa.Array, delimiter: str | None) -> tuple[pa.Array, np.ndarray]:
    """The values of each row and the row each came from: list columns are flattened, a
    string column is split at ``delimiter`` (tokens trimmed, empty ones dropped), other
    columns give one value a row. Nulls are dropped."""
    rows: np.ndarray
    if _is_list(array.type):
        values, rows = _flatten(array)
        values = _plain(values)
    elif delimiter is not None and is_string(array.type):
        values, rows = _flatten(_split(array, delimiter))
        values = pc.utf8_trim_whitespace(values)
        keep = to_mask(pc.fill_null(pc.not_equal(values, ""), False))
        return values.filter(pa.array(keep)), rows[keep]
    else:
        values = array
        rows = np.arange(len(array), dtype=np.int64)
    if values.null_count:
        keep = to_mask(pc.is_valid(values))
        return values.filter(pa.array(keep)), rows[keep].astype(np.int64)
    return values, rows.astype(np.int64)


def key_values(values: pa.Array, delimiter_kv: str, what: str) -> tuple[pa.Array, np.ndarray]:
    """``"3:0.5"`` tokens (SQLFlow's key-value text, ``SPARSE(c, n, ",", int, ":", float)``)
    as their keys (text) and their weights (float64); a token without ``delimiter_kv`` or
    with a weight that is no number is an error naming the column's function."""
    text = values if is_string(values.type) else pc.cast(values, pa.large_string())
    parts = pc.split_pattern(text, delimiter_kv, max_splits=1)
    lengths = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    if len(lengths) and (lengths != 2).any():
        bad = text[int(np.argmax(lengths != 2))].as_py()
        raise StepError(
            f"{what}: {bad!r} is not a key{delimiter_kv}weight pair (written like "
            f"'3{delimiter_kv}0.5')"
        )
    keys = pc.utf8_trim_whitespace(pc.list_element(parts, 0))
    raw = pc.utf8_trim_whitespace(pc.list_element(parts, 1))
    try:
        weights = pc.cast(raw, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = next(_not_numbers(raw), None)
        raise StepError(f"{what}: the weight {bad!r} is not a number") from None
    return keys, np.asarray(weights, dtype=np.float64)


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


def integer_ids(values: pa.Array, strict: bool, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer ids from integer, boolean or string values, and which values gave one:
    text that is no integer is skipped, or an error when ``strict``."""
    kind = values.type
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind):
        ids = pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False)
        return ids.astype(np.int64), np.ones(len(ids), dtype=bool)
    if is_string(kind):
        ok = to_mask(pc.match_substring_regex(values, _INTEGER_TEXT))
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


def read_numbers(array: pa.Array, width: int, delimiter: str, what: str) -> np.ndarray:
    """float64 ``[n, width]`` from a number, list or delimited string column; NaN where a
    value is missing. A row with another count of numbers than ``width`` is an error."""
    n = len(array)
    kind = array.type
    if not (_is_list(kind) or is_string(kind)):
        if width != 1:
            raise StepError(
                f"{what}: the column holds one {kind} a row; shape {width} needs a list or "
                "a delimited string"
            )
        try:
            values = array if kind == pa.float64() else pc.cast(array, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise StepError(f"{what}: the column holds {kind} values, not numbers") from None
        if values.null_count:
            values = values.fill_null(np.nan)
        # Without nulls a DOUBLE column is read in place (a read-only view): no copy.
        out = values.to_numpy(zero_copy_only=False)
        return np.asarray(out, dtype=np.float64).reshape(n, 1)
    lists = array
    if is_string(kind):
        blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(array), ""), False)
        array = pc.if_else(blank, pa.scalar(None, kind), array)
        lists = _split(array, delimiter)
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    present = to_mask(pc.is_valid(lists))
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
    if is_string(flat.type):
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


def resolve_name(name: str, names: Sequence[str]) -> str | None:
    if name in names:
        return name
    matches = [n for n in names if n.casefold() == name.casefold()]
    return matches[0] if len(matches) == 1 else None
