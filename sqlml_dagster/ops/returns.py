"""``CREATE MODEL … RETURNS <type>``: ``ML_PREDICT`` of such a version returns the declared
type, filled from what the model produces (``contract/returns.py`` says what fills what).

The register step keeps the type in the version's manifest (``params.returns.type``), so
a version answers with the type it was registered with, whatever the SQL says now. A value
that does not fit, or a field the model cannot produce (a score of a regressor), is one
line naming the field and the type (SQLML536).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..compiler import codes
from ..contract.returns import (
    FIELD_SOURCES,
    PREDICTION,
    PROBABILITIES,
    SCORE,
    ReturnType,
    parse_return_type,
    return_type_problems,
)
from ..store import ModelVersion

_ARROW_SCALARS = {
    "TINYINT": pa.int8(),
    "SMALLINT": pa.int16(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "FLOAT": pa.float32(),
    "DOUBLE": pa.float64(),
    "VARCHAR": pa.string(),
    "BOOLEAN": pa.bool_(),
}


class ReturnsNotFilled(Exception):
    """What the model produced does not fill the declared type: ``str()`` says which field
    and type, in one line."""


def declared_returns(version: ModelVersion) -> ReturnType | None:
    """The ``RETURNS`` type the version was registered with; None without one.
    :class:`ReturnsNotFilled` for one no ``ML_PREDICT`` can fill (a version registered
    before ``sqlml check`` refused it, SQLML136)."""
    returns = version.manifest.params.get("returns") or {}
    text = returns.get("type") if isinstance(returns, dict) else None
    if not text:
        return None
    try:
        returned = parse_return_type(str(text))
        problems = return_type_problems(returned)
    except ValueError as e:
        problems = [str(e)]
    if problems:
        raise ReturnsNotFilled(
            f"{codes.RETURNS_NOT_FILLED}: {version.ref} RETURNS {text}: {problems[0]}"
        )
    return returned


def arrow_type(returned: ReturnType) -> pa.DataType:
    if returned.name == "array":
        assert returned.item is not None
        return pa.list_(arrow_type(returned.item))
    if returned.name == "struct":
        return pa.struct([pa.field(n, arrow_type(t)) for n, t in returned.fields])
    return _ARROW_SCALARS[returned.sql()]


@dataclass(frozen=True)
class Filler:
    """Fills one version's declared type from a batch's predictions and probabilities."""

    returned: ReturnType
    ref: str

    @property
    def needs_probabilities(self) -> bool:
        return bool(self.returned.sources & {SCORE, PROBABILITIES})

    def fill(
        self, prediction: pa.Array, proba: np.ndarray | None, classes: Sequence[Any] | None
    ) -> pa.Array:
        if self.returned.name == "struct":
            arrays = [
                self._value(FIELD_SOURCES[name.lower()], name, t, prediction, proba, classes)
                for name, t in self.returned.fields
            ]
            return pa.StructArray.from_arrays(
                arrays, fields=[pa.field(n, arrow_type(t)) for n, t in self.returned.fields]
            )
        source = PROBABILITIES if self.returned.name == "array" else PREDICTION
        return self._value(source, None, self.returned, prediction, proba, classes)

    def _value(
        self,
        source: str,
        name: str | None,
        declared: ReturnType,
        prediction: pa.Array,
        proba: np.ndarray | None,
        classes: Sequence[Any] | None,
    ) -> pa.Array:
        where = f"field '{name}' ({declared})" if name else f"type {declared}"
        target = arrow_type(declared)
        if source == PREDICTION:
            try:
                return prediction.cast(target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                value = _first_misfit(prediction, target)
                raise self._problem(
                    f"{where}: the model predicted {value!r}, which is not {declared}"
                ) from None
        if proba is None:
            raise self._no_probabilities(where)
        if source == PROBABILITIES:
            return pa.array(proba.tolist(), pa.list_(pa.float64())).cast(target)
        index = {c: i for i, c in enumerate(classes or ())}
        predicted = prediction.to_pylist()
        scores = [
            float(row[index[p]]) if p in index else float(row.max())
            for p, row in zip(predicted, proba, strict=True)
        ]
        return pa.array(scores, pa.float64()).cast(target)

    def fill_problem_without_probabilities(self) -> ReturnsNotFilled:
        """The failure of a model that gives no probabilities, for the first part of the
        declared type that needs them."""
        if self.returned.name == "struct":
            for name, declared in self.returned.fields:
                if FIELD_SOURCES[name.lower()] != PREDICTION:
                    return self._no_probabilities(f"field '{name}' ({declared})")
        return self._no_probabilities(f"type {self.returned}")

    def _no_probabilities(self, where: str) -> ReturnsNotFilled:
        return self._problem(
            f"{where} needs class probabilities; {self.ref} gives none (a regressor, "
            "or a classifier without predict_proba)"
        )

    def _problem(self, text: str) -> ReturnsNotFilled:
        return ReturnsNotFilled(
            f"{codes.RETURNS_NOT_FILLED}: ML_PREDICT({self.ref}) RETURNS {self.returned}: {text}"
        )


def _first_misfit(values: pa.Array, target: pa.DataType) -> Any:
    for value in values.to_pylist():
        try:
            pa.array([value]).cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return value
    return None
