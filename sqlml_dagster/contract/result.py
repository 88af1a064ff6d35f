"""StepResult: what a step reports back to the orchestrator, typed and versioned.

The runtime builds one of these at the end of every step, writes it (``to_json``) to
``result.json`` beside the StepSpec and also sends it as a Dagster Pipes custom message;
the orchestrator reads the file — a pod's log, which carries the message, may be rotated
away — falling back to the message for an older step image, with :func:`result_from_json`,
and never looks into an untyped dict. Like the StepSpec it is versioned: a result from an
older step image still reads (missing fields take their defaults), one from a newer image
that this orchestrator cannot read is refused with a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from .versioned import check_version, known_fields

RESULT_VERSION = 1


class ResultError(ValueError):
    """A step result this orchestrator cannot read."""


@dataclass(frozen=True)
class StepResult:
    """The base of every step's result; ``KINDS`` are the StepSpec kinds it answers."""

    KINDS: ClassVar[tuple[str, ...]] = ()

    kind: str

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "result_version": RESULT_VERSION}


@dataclass(frozen=True)
class TrainingResult(StepResult):
    """``train`` (a model fitted into the reserved version folder) and ``register`` (a
    model file checked and copied into it): what the version's manifest records."""

    KINDS = ("train", "register")

    flavor: str = ""
    #: The input columns the model reads, in order.
    features: list[str] = field(default_factory=list)
    #: The files written into the version folder (relative names).
    artifacts: list[str] = field(default_factory=list)
    #: What ``signature.json`` holds: task, classes, feature plan, format.
    signature: dict[str, Any] = field(default_factory=dict)
    frameworks: dict[str, str] = field(default_factory=dict)
    #: The constructor arguments the model was built with (final, JSON-safe).
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    #: Per-epoch rows of the deep-learning flavors.
    history: list[dict[str, Any]] = field(default_factory=list)
    training_rows: int | None = None
    training_seconds: float | None = None
    label: str | None = None
    #: register: the class the file turned out to hold.
    model_reference: str | None = None
    #: ``train.early_stop``: ``{"metric", "patience", "best_epoch", "stopped_epoch"}``.
    early_stopping: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PredictionResult(StepResult):
    """``predict``: rows scored into the output Parquet."""

    KINDS = ("predict",)

    rows: int = 0
    seconds: float | None = None
    #: Asked for (``StepSpec.drift``): feature → how far the scored rows are from the
    #: training rows (``psi``, ``kind``, ``rows``, null shares; ``runtime/drift.py``).
    drift: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Why no drift could be measured (a version trained before training statistics).
    drift_problem: str | None = None


@dataclass(frozen=True)
class EvaluationResult(StepResult):
    """``evaluate``: the metrics written as one row into the output Parquet."""

    KINDS = ("evaluate",)

    metrics: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    #: ``validation.curves``: curve name (``roc``, ``pr``, ``confusion``) → its Parquet,
    #: which the orchestrator loads as ``<into>_<curve>``.
    curves: dict[str, str] = field(default_factory=dict)
    #: curve name → its PNG chart (none without matplotlib in the step image).
    plots: dict[str, str] = field(default_factory=dict)
    #: A regressor's residual summary (label - prediction): mean, std, min, p05, median,
    #: p95, max; empty for other models.
    residuals: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ExplanationResult(StepResult):
    """``explain``: per-feature attributions (one output row each) and a summary plot."""

    KINDS = ("explain",)

    method: str = ""
    measure: str = ""
    rows: int = 0
    importances: dict[str, float] = field(default_factory=dict)
    plot_uri: str | None = None
    #: ``summary.plot_type``: the chart at ``plot_uri`` (bar, dot, violin, decision).
    plot_type: str = "bar"
    #: ``explain.per_row = true``: every explained row's attributions (Parquet), which the
    #: orchestrator loads as ``<into>_rows``; None when not asked for.
    rows_uri: str | None = None


@dataclass(frozen=True)
class ProgramResult(StepResult):
    """``run``: a user's program ran and wrote each ``INTO`` table's Parquet, checked (none
    without ``INTO``: it ran for what it does, and its output is what a user reads)."""

    KINDS = ("run",)

    #: Rows of each table it wrote (by the name as written in ``INTO``).
    rows: dict[str, int] = field(default_factory=dict)
    #: Columns of each table, ``[[name, Arrow type], …]``.
    columns: dict[str, list[list[str]]] = field(default_factory=dict)
    seconds: float | None = None
    #: The program's exit status (0: a failed program reports no result).
    exit_code: int = 0
    #: The last lines of what it printed (stdout and stderr together), for the UI the way
    #: SQLFlow shows a program's output; ``output_lines`` counts every line it printed.
    output_tail: str = ""
    output_lines: int = 0


@dataclass(frozen=True)
class OptimizationResult(StepResult):
    """``optimize``: the solved values, one row per input row, in the output Parquet."""

    KINDS = ("optimize",)

    #: The objective's value at the optimum.
    objective: float | None = None
    #: The solver that solved it and how it ended (``optimal``).
    solver: str = ""
    status: str = ""
    rows: int = 0
    #: The output column holding the solved values.
    result_column: str = ""
    seconds: float | None = None


_BY_KIND: dict[str, type[StepResult]] = {
    kind: cls
    for cls in (
        TrainingResult,
        PredictionResult,
        EvaluationResult,
        ExplanationResult,
        ProgramResult,
        OptimizationResult,
    )
    for kind in cls.KINDS
}


def result_from_json(raw: Mapping[str, Any]) -> StepResult:
    """The typed result of a result file or Pipes message; unknown fields (a newer image)
    are ignored."""
    check_version(
        raw.get("result_version", 1),
        RESULT_VERSION,
        what="step result",
        reader="orchestrator",
        upgrade="upgrade sqlml-dagster where Dagster runs",
        error=ResultError,
    )
    cls = _BY_KIND.get(str(raw.get("kind")))
    if cls is None:
        raise ResultError(f"a step reported a result of unknown kind {raw.get('kind')!r}")
    return cls(**known_fields(cls, raw))


def is_step_result(message: object) -> bool:
    """Whether a Pipes custom message is a step's result (and not something else a user's
    model code reported)."""
    return isinstance(message, Mapping) and message.get("kind") in _BY_KIND
