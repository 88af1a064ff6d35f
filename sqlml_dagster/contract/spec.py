"""StepSpec: the one JSON document a runtime step reads — the contract between the
orchestrator (``ops``) and the code inside a step's process or container (``runtime``).

It is versioned (``spec_version``) so an image built against an older release keeps
working: the orchestrator writes the oldest version that carries what a step needs, and
a runtime refuses, with a clear message, a version newer than it understands.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .versioned import check_version, known_fields

SPEC_VERSION = 3
#: The first spec version that carries each newer field; a spec that leaves them empty is
#: written as the oldest version that has what it uses, so older step images keep running it.
VERSION_2_FIELDS = ("columns", "validation_uri", "explainer")
#: A runtime that ignored ``drift`` would report no drift at all, so a spec asking for it
#: is version 3, which an older runtime refuses with a message instead.
VERSION_3_FIELDS = ("drift",)
#: Where a runtime writes a user-facing failure reason: beside its spec.
ERROR_FILE = "error.json"
#: Where a runtime writes its typed StepResult: beside its spec, where the launcher reads it
#: (a pod's log, which also carries it, can be rotated away before it is read).
RESULT_FILE = "result.json"
#: train: fit a model into a new version. predict: score rows into a table. evaluate:
#: score a model against labelled rows into a one-row metrics table. register: copy a
#: model file trained elsewhere (Rikai's CREATE MODEL … USING) into a new version.
#: explain: per-feature attributions of a model version over the SELECT's rows.
StepKind = Literal["train", "predict", "evaluate", "register", "explain"]


class SpecError(ValueError):
    """The spec cannot be read by this runtime."""


@dataclass(frozen=True)
class StepSpec:
    """Everything a step needs; nothing in it is a secret (credentials come from the environment)."""

    kind: StepKind
    step_id: str
    model_name: str
    #: Dotted Python reference of the estimator/model class, e.g. ``sklearn.svm.SVC``.
    model_reference: str
    flavor: str
    #: ``{"model": {...}, "train": {...}, ...}`` — WITH attributes by namespace, typed.
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Parquet file (any fsspec URL) holding the SELECT's result; for ``register``, the
    #: model file to register.
    input_uri: str = ""
    label: str | None = None
    #: Feature columns in order; for training ``None`` means every column but the label.
    features: list[str] | None = None
    #: train: the version folder to write artifacts into. predict: the version to load.
    model_uri: str = ""
    #: predict/evaluate: where to write the result Parquet; predict: the prediction column.
    output_uri: str | None = None
    prediction_column: str | None = None
    image: str | None = None
    seed: int = 0
    #: predict/evaluate: the version number of ``model_uri``, for lineage in outputs.
    model_version: int | None = None
    #: explain: SQLFlow's ``USING TreeExplainer`` — "auto" (None), "permutation", "shap",
    #: "TreeExplainer", "LinearExplainer" or "KernelExplainer" (see ``runtime.scoring``).
    explainer: str | None = None
    #: train: the COLUMN clauses as ``{constructor argument: [FeatureColumn.to_json(), …]}``;
    #: ``None`` means every column but the label is a numeric feature.
    columns: dict[str, list[dict[str, Any]]] | None = None
    #: train: Parquet of ``validation.select``'s rows, when the statement has one.
    validation_uri: str | None = None
    #: predict: also compare the scored rows with the version's training statistics
    #: (``feature_stats.json``) and report each feature's drift (``-- sqlml: drift``).
    drift: bool = False
    spec_version: int = SPEC_VERSION

    def to_json(self) -> str:
        raw = asdict(self)
        needs_2 = self.kind == "explain" or any(raw[name] for name in VERSION_2_FIELDS)
        needs_3 = any(raw[name] for name in VERSION_3_FIELDS)
        raw["spec_version"] = 3 if needs_3 else 2 if needs_2 else 1
        if not needs_3:
            for name in VERSION_3_FIELDS:
                raw.pop(name)
        return json.dumps(raw, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StepSpec:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(f"the step spec is not JSON: {e}") from None
        check_version(
            raw.get("spec_version"),
            SPEC_VERSION,
            what="step spec",
            reader="runtime",
            upgrade="upgrade sqlml-dagster in the step image",
            error=SpecError,
        )
        missing = {"kind", "step_id", "model_name", "model_reference", "flavor"} - raw.keys()
        if missing:
            raise SpecError(f"the step spec lacks {', '.join(sorted(missing))}")
        return cls(**known_fields(cls, raw))

    def param(self, namespace: str, key: str, default: Any = None) -> Any:
        return self.params.get(namespace, {}).get(key, default)


def error_uri(spec_uri: str) -> str:
    """The failure-reason file of a step, next to its spec (any fsspec URL)."""
    return posixpath.join(posixpath.dirname(spec_uri), ERROR_FILE)


def result_uri(spec_uri: str) -> str:
    """The result file of a step, next to its spec (any fsspec URL)."""
    return posixpath.join(posixpath.dirname(spec_uri), RESULT_FILE)
