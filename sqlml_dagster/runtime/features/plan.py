"""The package's entry point: :class:`FeaturePlan`, built from the ``COLUMN`` clause
(:mod:`.builder`), fitted in one pass (:mod:`.fitting`), applied to batches
(:mod:`.encoders`), and saved beside the model as versioned JSON."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa

from .. import StepError
from .builder import Builder, bare_numeric
from .encoded import Bag, Encoded
from .encoders import Embedding, Feature, decode_feature, unique

#: The format written by :meth:`FeaturePlan.to_json`; a newer one is refused on load.
PLAN_FORMAT = "sqlml.features"
PLAN_VERSION = 1


@dataclass(frozen=True)
class FeaturePlan:
    """How a model's input columns become numbers: built from the ``COLUMN`` clause and the
    data's schema (:meth:`infer`), fitted in one pass (:meth:`fit`), saved as JSON with the
    model and applied identically at prediction (:meth:`encode`)."""

    features: tuple[Feature, ...]
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
            features: list[Feature] = [bare_numeric(name, schema) for name in names]
        else:
            if not columns:
                raise StepError("the COLUMN clause names no feature column")
            features = _build(Builder(schema, excluded), columns, schema, excluded)
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
        # Each feature writes its columns into one float32 matrix (rounded as astype
        # rounds): no concatenated float64 copy of the batch to convert afterwards.
        dense = np.empty((data.num_rows, self.dense_width), dtype=np.float32)
        bags: list[np.ndarray] = []
        first = 0
        for feature in self.features:
            if isinstance(feature, Embedding):
                bags.append(feature.category.ids(data).padded())
            else:
                dense[:, first : first + feature.width] = feature.dense(data, self.normalize)
                first += feature.width
        return Encoded(dense, tuple(bags))

    @property
    def dense_width(self) -> int:
        return sum(f.width for f in self.features if not isinstance(f, Embedding))

    @property
    def bags(self) -> tuple[Bag, ...]:
        return tuple(f.bag for f in self.features if isinstance(f, Embedding))

    @property
    def source_columns(self) -> tuple[str, ...]:
        """The table columns the features read, in the order they are first used."""
        return unique(c for f in self.features for c in f.source_columns)

    @property
    def dense_names(self) -> tuple[str, ...]:
        """A readable name per ``dense`` output: ``x``, ``x_0``, ``color=red``,
        ``age_bucket_1``, ``city_hash_7``."""
        return tuple(
            name for f in self.features if not isinstance(f, Embedding) for name in f.names()
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
            features=tuple(decode_feature(f) for f in data["features"]),
            normalize=bool(data["normalize"]),
            fitted=bool(data["fitted"]),
        )


def _build(
    builder: Builder,
    columns: Sequence[Mapping[str, Any]],
    schema: pa.Schema,
    excluded: set[str],
) -> list[Feature]:
    """Every expression's feature, ``COLUMN *`` (SQLFlow's "all columns as raw features")
    expanded in its place to each selected column that is neither the label nor read by
    another expression. Every wrong expression is reported, in one error, not only the
    first."""
    built: list[Feature | None] = []
    problems: list[str] = []
    for spec in columns:
        if _is_star(spec):
            built.append(None)
            continue
        try:
            built.append(builder.top_level(spec))
        except StepError as e:
            problems.append(str(e))
    if len(problems) == 1:
        raise StepError(problems[0])
    if problems:
        raise StepError(
            f"{len(problems)} feature columns are wrong: "
            + "; ".join(f"({i}) {p}" for i, p in enumerate(problems, 1))
        )
    used = {c.casefold() for f in built if f is not None for c in f.source_columns}
    features: list[Feature] = []
    for feature in built:
        if feature is not None:
            features.append(feature)
            continue
        rest = [n for n in schema.names if n.casefold() not in excluded | used]
        used |= {n.casefold() for n in rest}
        features.extend(bare_numeric(name, schema) for name in rest)
    if not features:
        raise StepError("COLUMN *: the SELECT yields no column besides the label")
    return features


def _is_star(spec: Any) -> bool:
    return (
        isinstance(spec, Mapping) and spec.get("function") == "COLUMN" and spec.get("name") == "*"
    )
