"""A version's metrics as people compare versions: held-out ones first.

"Is this version better?" is answered by metrics on rows the model did not train on —
``val_*`` from ``validation.select``/``validation.split`` while training, and every
``TO EVALUATE`` that scored the version — not by its training-set score, which a bigger
model always improves. The model page (``ops/metadata.py``) and ``sqlml models diff``
(``catalog.py``) both list a version's metrics through :func:`version_metrics`, so they
show the same rows in the same order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from ..contract.versioned import known_fields
from .records import ModelManifest

#: Prefixes of training-time metrics computed on held-out rows (``val_accuracy``).
HELD_OUT_PREFIXES = ("val_", "validation_", "test_", "eval_")
#: A version's folder of evaluation records, one ``<evaluation>.json`` each.
EVALUATIONS = "evaluations"


@dataclass(frozen=True)
class Metric:
    """One row: its name (``val_accuracy``, ``iris_evaluation.accuracy``), where it was
    measured (``evaluation``, ``validation`` or ``training``) and its value."""

    name: str
    split: str
    value: float

    @property
    def held_out(self) -> bool:
        return self.split != "training"


@dataclass(frozen=True)
class EvaluationRecord:
    """What one ``TO EVALUATE`` measured on a version (``<version>/evaluations/``)."""

    evaluation: str
    metrics: dict[str, float] = field(default_factory=dict)
    evaluated_at: str = ""
    dagster_run_id: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EvaluationRecord:
        raw = json.loads(text)
        if not isinstance(raw, dict) or not isinstance(raw.get("metrics", {}), dict):
            raise ValueError("not an evaluation record")
        return cls(**known_fields(cls, raw))


def split_of(name: str) -> str:
    """``validation`` for a held-out training metric, ``training`` otherwise."""
    return "validation" if name.startswith(HELD_OUT_PREFIXES) else "training"


def version_metrics(
    manifest: ModelManifest, evaluations: Mapping[str, EvaluationRecord] | None = None
) -> list[Metric]:
    """Every metric of a version, held-out first: evaluations (by evaluation name), then
    the training's validation metrics, then its training-set metrics."""
    rows = [
        Metric(f"{name}.{metric}", "evaluation", float(value))
        for name, record in sorted((evaluations or {}).items())
        for metric, value in record.metrics.items()
    ]
    training = [Metric(k, split_of(k), float(v)) for k, v in manifest.metrics.items()]
    rows += [m for m in training if m.held_out] + [m for m in training if not m.held_out]
    return rows
