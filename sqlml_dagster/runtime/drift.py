"""Training statistics and drift: is the data a model scores still like the data it
learned from?

**Statistics.** Every ``train`` step writes ``feature_stats.json`` beside the model (the
entrypoint does it for every flavor, :class:`TrainingStats`): per feature its row count,
NULLs and — for a number — min, max, mean, std, quantiles and the share of rows in each
of ten quantile bins of the training data; for text, the distinct count and its most
frequent categories (the rest counted as one "other"). JSON only: a drift check reads
numbers, never code (``docs/security.md``).

**Drift.** A scoring pass (TO PREDICT with ``-- sqlml: drift = …``, or the rows an
``ML_PREDICT`` call scores) counts its rows into the same bins and categories
(:class:`DriftAccumulator`); each feature's population stability index compares the two
distributions, NULLs a bucket of their own::

    PSI = Σ (scored_i - trained_i) · ln(scored_i / trained_i)

with every share floored at 1e-4 so an empty bucket counts without dividing by zero.
Below 0.1 is commonly read as no shift, 0.1 to 0.2 as a moderate one, above 0.2 as a
significant one. A categorical feature's buckets are its training categories plus
"other", so a new category shows as a change of population in "other".
"""

from __future__ import annotations

import dataclasses
import json
import math
import posixpath
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..contract import PredictionResult, StepResult, TrainingResult
from ..contract.layout import FEATURE_STATS_FILE
from ..contract.spec import StepSpec
from . import Reporter
from .data import DataFile, input_file, sample_rows

__all__ = [
    "STATS_VERSION",
    "DriftAccumulator",
    "DriftReporter",
    "TrainingStats",
    "feature_statistics",
    "psi",
    "read_feature_stats",
]

STATS_VERSION = 1
#: Quantile bins of a numeric feature (deciles).
BINS = 10
#: Categories kept by name; the rest are "other".
TOP_CATEGORIES = 20
#: Categories counted by name while scanning; beyond it new ones count as "other" at once.
MAX_TRACKED = 10_000
#: Rows the quantiles are computed from (a seeded uniform sample beyond it).
SAMPLE_ROWS = 100_000
#: The floor of a bucket's share in PSI.
EPSILON = 1e-4
_QUANTILES = {"p05": 5, "p25": 25, "p50": 50, "p75": 75, "p95": 95}


def _kind(field: pa.Field) -> str | None:
    """``numeric``, ``categorical`` or ``None`` (lists, timestamps…: not profiled)."""
    t = field.type
    if pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
        return "categorical"
    if pa.types.is_dictionary(t):
        return "categorical"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric"
    return None


def _numbers(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A numeric column's non-NULL values as float64."""
    values = pc.drop_null(column).cast(pa.float64())
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)


def _categories(column: pa.Array | pa.ChunkedArray) -> Counter[str]:
    counts: Counter[str] = Counter()
    for item in pc.value_counts(pc.drop_null(column).cast(pa.string())).to_pylist():
        counts[str(item["values"])] += int(item["counts"])
    return counts


# -- training statistics --------------------------------------------------------------------


def feature_statistics(source: DataFile, features: Iterable[str], seed: int = 0) -> dict[str, Any]:
    """The statistics of ``features`` in the step data file ``source``: one pass for the quantile
    edges (over a sample of at most :data:`SAMPLE_ROWS` rows), one streaming pass for
    counts, moments, bins and categories."""
    schema = source.schema()
    kinds = {
        name: kind
        for name in features
        if name in schema.names and (kind := _kind(schema.field(name))) is not None
    }
    numeric = [n for n, k in kinds.items() if k == "numeric"]
    sample = sample_rows(source, numeric, SAMPLE_ROWS, seed) if numeric else None
    edges: dict[str, np.ndarray] = {}
    quantiles: dict[str, dict[str, float]] = {}
    for name in numeric:
        assert sample is not None
        values = _numbers(sample.column(name))
        if len(values):
            cuts = np.percentile(values, np.linspace(0, 100, BINS + 1)[1:-1])
            edges[name] = np.unique(cuts)
            quantiles[name] = {
                k: float(v)
                for k, v in zip(
                    _QUANTILES, np.percentile(values, list(_QUANTILES.values())), strict=True
                )
            }
        else:
            edges[name] = np.array([])
    profiles = {name: _Profile(kind, edges.get(name)) for name, kind in kinds.items()}
    rows = 0
    for batch in source.batches():
        rows += batch.num_rows
        for name, profile in profiles.items():
            profile.add(batch.column(name))
    return {
        "stats_version": STATS_VERSION,
        "rows": rows,
        "features": {
            name: profile.to_json(quantiles.get(name, {})) for name, profile in profiles.items()
        },
    }


class _Profile:
    """One feature's running counts: the training side of :func:`feature_statistics`."""

    def __init__(self, kind: str, edges: np.ndarray | None) -> None:
        self.kind = kind
        self.edges = edges if edges is not None else np.array([])
        self.count = self.nulls = 0
        self.bins = np.zeros(len(self.edges) + 1, dtype=np.int64)
        self.total = self.squares = 0.0
        self.low, self.high = math.inf, -math.inf
        self.categories: Counter[str] = Counter()
        self.untracked = 0

    def add(self, column: pa.Array | pa.ChunkedArray) -> None:
        self.count += len(column)
        self.nulls += column.null_count
        if self.kind == "numeric":
            values = _numbers(column)
            if len(values):
                self.bins += np.bincount(
                    np.searchsorted(self.edges, values, side="left"), minlength=len(self.bins)
                )
                self.total += float(values.sum())
                self.squares += float(np.square(values).sum())
                self.low = min(self.low, float(values.min()))
                self.high = max(self.high, float(values.max()))
            return
        for value, n in _categories(column).items():
            if value in self.categories or len(self.categories) < MAX_TRACKED:
                self.categories[value] += n
            else:
                self.untracked += n

    def to_json(self, quantiles: Mapping[str, float]) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "count": self.count, "nulls": self.nulls}
        present = self.count - self.nulls
        if self.kind == "numeric":
            mean = self.total / present if present else None
            variance = self.squares / present - mean**2 if mean is not None else None
            out.update(
                {
                    "min": self.low if present else None,
                    "max": self.high if present else None,
                    "mean": mean,
                    "std": math.sqrt(max(variance, 0.0)) if variance is not None else None,
                    "quantiles": dict(quantiles),
                    "edges": [float(e) for e in self.edges],
                    "bins": [int(b) for b in self.bins],
                }
            )
            return out
        top = self.categories.most_common(TOP_CATEGORIES)
        out.update(
            {
                "distinct": len(self.categories) + (1 if self.untracked else 0),
                "top": [[value, n] for value, n in top],
                "other": present - sum(n for _, n in top),
            }
        )
        return out


def read_feature_stats(model_uri: str) -> dict[str, Any] | None:
    """A version's ``feature_stats.json`` (``None`` when it has none: trained before
    there were statistics, or registered from a file), read through the store."""
    from ..store.records import json_artifact

    return json_artifact(model_uri, FEATURE_STATS_FILE)


class _Wrapping:
    """A reporter around a step's reporter that adds to the step's result."""

    def __init__(self, inner: Reporter, spec: StepSpec) -> None:
        self.inner = inner
        self.spec = spec

    def log(self, message: str) -> None:
        self.inner.log(message)


class TrainingStats(_Wrapping):
    """Wraps a train step's reporter: before the result is reported, the statistics of
    the features it names are written beside the model — one place for every flavor."""

    def result(self, metadata: Mapping[str, Any], result: StepResult) -> None:
        if isinstance(result, TrainingResult) and result.kind == "train" and self.spec.model_uri:
            features = result.features or [
                n for n in input_file(self.spec).schema().names if n != self.spec.label
            ]
            stats = feature_statistics(input_file(self.spec), features, self.spec.seed)
            with fsspec.open(
                posixpath.join(self.spec.model_uri.rstrip("/"), FEATURE_STATS_FILE), "w"
            ) as f:
                json.dump(stats, f, indent=1)
            self.inner.log(
                f"training statistics of {len(stats['features'])} feature(s) in "
                f"{FEATURE_STATS_FILE}"
            )
            result = dataclasses.replace(result, artifacts=[*result.artifacts, FEATURE_STATS_FILE])
        self.inner.result(metadata, result)


# -- drift ------------------------------------------------------------------------------------


def psi(expected: Iterable[float], actual: Iterable[float]) -> float:
    """The population stability index of two distributions over the same buckets (counts
    or shares; each normalized, every share floored at :data:`EPSILON`)."""
    e = np.asarray(list(expected), dtype=np.float64)
    a = np.asarray(list(actual), dtype=np.float64)
    e = np.maximum(e / e.sum() if e.sum() else e, EPSILON)
    a = np.maximum(a / a.sum() if a.sum() else a, EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


class DriftAccumulator:
    """Counts scored rows into a version's training buckets, feature by feature, and
    compares them (:meth:`report`). Fed by Arrow columns as they go by, so it holds
    counts, never rows."""

    def __init__(self, stats: Mapping[str, Any]) -> None:
        self.stats = {
            name: profile
            for name, profile in dict(stats.get("features", {})).items()
            if profile.get("kind") in ("numeric", "categorical")
        }
        self.counts: dict[str, np.ndarray] = {}
        self.rows: dict[str, int] = {}
        self.nulls: dict[str, int] = {}
        self._index: dict[str, dict[str, int]] = {
            name: {str(v): i for i, (v, _) in enumerate(p.get("top", []))}
            for name, p in self.stats.items()
            if p["kind"] == "categorical"
        }

    @property
    def features(self) -> list[str]:
        return list(self.stats)

    def add(self, name: str, column: pa.Array | pa.ChunkedArray) -> None:
        """Count one batch of feature ``name``'s scored values."""
        profile = self.stats.get(name)
        if profile is None:
            return
        self.rows[name] = self.rows.get(name, 0) + len(column)
        self.nulls[name] = self.nulls.get(name, 0) + column.null_count
        if profile["kind"] == "numeric":
            edges = np.asarray(profile.get("edges", []), dtype=np.float64)
            counts = self.counts.setdefault(name, np.zeros(len(edges) + 1, dtype=np.int64))
            values = _numbers(column)
            if len(values):
                counts += np.bincount(
                    np.searchsorted(edges, values, side="left"), minlength=len(counts)
                )
            return
        index = self._index[name]
        counts = self.counts.setdefault(name, np.zeros(len(index) + 1, dtype=np.int64))
        for value, n in _categories(column).items():
            counts[index.get(value, len(index))] += n

    def add_batch(self, batch: pa.RecordBatch | pa.Table) -> None:
        for name in self.stats:
            if name in batch.schema.names:
                self.add(name, batch.column(name))

    def report(self) -> dict[str, dict[str, Any]]:
        """Feature → ``psi`` (NULLs a bucket of their own), the scored and trained rows
        and NULL shares; features no scored row reached are left out."""
        out: dict[str, dict[str, Any]] = {}
        for name, profile in self.stats.items():
            rows = self.rows.get(name, 0)
            if not rows:
                continue
            trained = [profile.get("nulls", 0), *_trained_buckets(profile)]
            scored = [self.nulls[name], *self.counts[name].tolist()]
            out[name] = {
                "kind": profile["kind"],
                "psi": psi(trained, scored),
                "rows": rows,
                "null_share": self.nulls[name] / rows,
                "trained_null_share": profile.get("nulls", 0) / max(profile.get("count", 0), 1),
            }
            if profile["kind"] == "categorical":
                out[name]["other_share"] = int(self.counts[name][-1]) / rows
        return out


def _trained_buckets(profile: Mapping[str, Any]) -> list[int]:
    if profile["kind"] == "numeric":
        return [int(b) for b in profile.get("bins", [])]
    return [int(n) for _, n in profile.get("top", [])] + [int(profile.get("other", 0))]


class DriftReporter(_Wrapping):
    """Wraps a predict step's reporter when the spec asks for drift: the scored input is
    counted into the version's training buckets and the report rides on the result."""

    def result(self, metadata: Mapping[str, Any], result: StepResult) -> None:
        if isinstance(result, PredictionResult):
            stats = read_feature_stats(self.spec.model_uri.rstrip("/"))
            if stats is None:
                result = dataclasses.replace(
                    result,
                    drift_problem=f"{self.spec.model_name}@{self.spec.model_version} has no "
                    f"training statistics ({FEATURE_STATS_FILE}): it was registered from a "
                    "file or trained by an older release; retrain it to check drift",
                )
            else:
                accumulator = DriftAccumulator(stats)
                for batch in input_file(self.spec).batches():
                    accumulator.add_batch(batch)
                report = accumulator.report()
                worst = sorted(report.items(), key=lambda kv: -kv[1]["psi"])[:3]
                self.inner.log("drift (PSI): " + ", ".join(f"{n}={r['psi']:.4f}" for n, r in worst))
                result = dataclasses.replace(result, drift=report)
        self.inner.result(metadata, result)
