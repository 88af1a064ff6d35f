"""The end of a training step, whatever the framework: what the flavor trained is written
into the reserved version folder with ``signature.json``, and reported as one
``TrainingResult``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...contract import TrainingResult
from ...contract.spec import StepSpec
from .. import Reporter
from .history import History
from .preparation import Prepared


@dataclass(frozen=True)
class Trained:
    """What a deep-learning flavor hands back after training, to be written and reported
    the same way whatever the framework."""

    flavor: str
    #: The saved-model format in ``signature.json`` (how ``load_predictor`` rebuilds it).
    format: str
    files: Mapping[str, bytes]
    constructor: Mapping[str, Any]
    parameters: int
    frameworks: Mapping[str, str]
    metrics: Mapping[str, float]
    history: History
    seconds: float
    extra_signature: Mapping[str, Any] = field(default_factory=dict)
    #: ``train.early_stop``: the rule's summary (``EarlyStopping.summary``).
    early_stopping: Mapping[str, Any] = field(default_factory=dict)


def _typed_features(spec: StepSpec, columns: Sequence[str]) -> list[dict[str, str]]:
    """Each source column with the Arrow type it had in training: what ``ML_PREDICT``
    declares its arguments as, and how ``sqlml serve`` types a request's fields."""
    from ..data import input_file

    try:
        schema = input_file(spec).schema() if spec.input_uri else None
    except (OSError, ValueError):
        schema = None
    return [
        {"name": c, "type": str(schema.field(c).type)}
        if schema is not None and c in schema.names
        else {"name": c}
        for c in columns
    ]


def publish_training(
    spec: StepSpec, reporter: Reporter, prepared: Prepared, trained: Trained
) -> None:
    """Write artifacts and ``signature.json`` (class, constructor arguments, feature plan,
    target) into the version folder, and report metrics, history and lineage."""
    from ..flavors._register import frameworks, plain, write_version

    target = prepared.target
    signature = {
        "format": trained.format,
        "model_class": spec.model_reference,
        "constructor": plain(dict(trained.constructor)),
        **trained.extra_signature,
        "feature_plan": prepared.plan.to_json(),
        "target": target.to_json() if target else None,
        "features": _typed_features(spec, prepared.plan.source_columns),
        "label": {"name": spec.label, "type": target.arrow_type} if target and spec.label else None,
        "classes": list(target.classes) if target and target.classes else None,
        "task": target.task if target else "unsupervised",
        "parameters": trained.parameters,
    }
    artifacts = write_version(spec.model_uri, trained.files, signature)
    metrics = dict(trained.metrics)
    reporter.result(
        metadata={
            **{f"metric/{k}": v for k, v in metrics.items()},
            "training_rows": prepared.rows,
            "training_seconds": round(trained.seconds, 3),
        },
        result=TrainingResult(
            kind="train",
            flavor=trained.flavor,
            metrics=metrics,
            history=trained.history.rows,
            training_rows=prepared.rows,
            training_seconds=trained.seconds,
            features=list(prepared.plan.source_columns),
            label=spec.label,
            artifacts=artifacts,
            signature=plain(signature),
            frameworks=frameworks(**trained.frameworks),
            params=plain(dict(trained.constructor)),
            early_stopping=plain(dict(trained.early_stopping)),
        ),
    )
