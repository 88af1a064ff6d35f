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

from .step_data import DataFormat, check_data_format
from .versioned import check_version, known_fields

SPEC_VERSION = 3
#: The first spec version that carries each newer field; a spec that leaves them empty is
#: written as the oldest version that has what it uses, so older step images keep running
#: it — and refuse one they would misread (an image before version 3 would train a warm
#: start from scratch without a word).
VERSION_2_FIELDS = ("columns", "validation_uri", "explainer")
#: Version 3: the steps that run no model — a user's program (``TO RUN``) and a
#: mathematical program (``TO MAXIMIZE``/``TO MINIMIZE``) — and step data in Arrow IPC
#: (``data_format = "arrow"``). An older image refuses them by version, saying to
#: upgrade, instead of failing on a kind it does not know or reading Arrow as Parquet; a
#: Parquet spec of another kind stays at 1 or 2, so an older image runs it.
VERSION_3_KINDS = ("run", "optimize")
#: Version 3 too: a warm start (``USING base@v``), which an older image would ignore and
#: train from scratch, and a drift check (``drift``), which it would skip without a word.
VERSION_3_FIELDS = ("warm_start_uri", "drift")
#: Where a runtime writes a user-facing failure reason: beside its spec.
ERROR_FILE = "error.json"
#: Where a runtime writes its typed StepResult: beside its spec, where the launcher reads it
#: (a pod's log, which also carries it, can be rotated away before it is read).
RESULT_FILE = "result.json"
#: train: fit a model into a new version. predict: score rows into a table. evaluate:
#: score a model against labelled rows into a one-row metrics table. register: copy a
#: model file trained elsewhere (Rikai's CREATE MODEL … USING) into a new version.
#: explain: per-feature attributions of a model version over the SELECT's rows. run: a
#: user's program over the SELECT's rows, writing tables (``TO RUN``). optimize: solve a
#: mathematical program over the SELECT's rows (``TO MAXIMIZE``/``TO MINIMIZE``).
StepKind = Literal["train", "predict", "evaluate", "register", "explain", "run", "optimize"]


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
    #: The SELECT's result (any fsspec URL, in ``data_format``); for ``register``, the
    #: model file to register.
    input_uri: str = ""
    label: str | None = None
    #: Feature columns in order; for training ``None`` means every column but the label.
    features: list[str] | None = None
    #: train: the version folder to write artifacts into. predict: the version to load.
    model_uri: str = ""
    #: predict/evaluate/explain: where to write the result table (in ``data_format``);
    #: predict: the prediction column.
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
    #: train: ``validation.select``'s rows (in ``data_format``), when the statement has one.
    validation_uri: str | None = None
    #: run: the ``CMD`` strings — the program, then its arguments, as written.
    command: list[str] | None = None
    #: run: each ``INTO`` table (as written) with where its Parquet goes in the step folder,
    #: ``[[table, uri], …]`` in ``INTO``'s order (a JSON object would lose it: the spec is
    #: written with sorted keys).
    outputs: list[list[str]] | None = None
    #: run: the SELECT as written (``SQLFLOW_TO_RUN_SELECT``); its rows are ``input_uri``.
    select: str | None = None
    #: optimize: the mathematical program as data (``contract/optimization.py``).
    optimization: dict[str, Any] | None = None
    #: The format of ``input_uri``, ``validation_uri`` and ``output_uri``
    #: (``contract/step_data.py``): ``parquet`` (every version) or ``arrow`` (version 3).
    data_format: DataFormat = "parquet"
    #: train: ``USING base@v`` — the version folder whose weights and fitted feature plan
    #: the training starts from (warm start).
    warm_start_uri: str | None = None
    #: predict: also compare the scored rows with the version's training statistics
    #: (``feature_stats.json``) and report each feature's drift (``-- sqlml: drift``).
    drift: bool = False
    #: train: the orchestrator's fingerprint of the training (statement, data, image,
    #: code), which a ``train.checkpoint_every`` checkpoint records so that only a retry of
    #: the same training resumes it (``runtime/dl/checkpoints.py``). Older images ignore it.
    checkpoint_key: str | None = None
    spec_version: int = SPEC_VERSION

    def to_json(self) -> str:
        raw = asdict(self)
        needs_3 = any(raw[name] for name in VERSION_3_FIELDS)
        if needs_3 or self.data_format != "parquet" or self.kind in VERSION_3_KINDS:
            raw["spec_version"] = 3
        else:
            del raw["data_format"]  # what versions 1 and 2 read anyway
            needs_2 = self.kind == "explain" or any(raw[name] for name in VERSION_2_FIELDS)
            raw["spec_version"] = 2 if needs_2 else 1
        if not raw["drift"]:
            del raw["drift"]  # specs without a drift check read as they always did
        if raw["checkpoint_key"] is None:
            del raw["checkpoint_key"]  # nor do specs without a training's key
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
        try:
            check_data_format(raw.get("data_format", "parquet"))
        except ValueError as e:
            raise SpecError(f"the step spec's data_format: {e}") from None
        return cls(**known_fields(cls, raw))

    def param(self, namespace: str, key: str, default: Any = None) -> Any:
        return self.params.get(namespace, {}).get(key, default)


def error_uri(spec_uri: str) -> str:
    """The failure-reason file of a step, next to its spec (any fsspec URL)."""
    return posixpath.join(posixpath.dirname(spec_uri), ERROR_FILE)


def result_uri(spec_uri: str) -> str:
    """The result file of a step, next to its spec (any fsspec URL)."""
    return posixpath.join(posixpath.dirname(spec_uri), RESULT_FILE)
