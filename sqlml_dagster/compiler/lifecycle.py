"""A model's lifecycle across statements: what a ``promote`` directive on the TO TRAIN and
the champion-relative gates of the evaluations say together, checked once the graph is
known (``sqlml check`` warns where they would quietly do nothing).

- SQLML226: ``promote = best_score(auc)`` where no version will ever record ``auc`` — no
  training records it and no evaluation of the model measures it — so ``@champion``
  never moves.
- SQLML227: ``check.auc >= champion.auc + δ`` on a model without a ``promote``
  directive: ``@champion`` then moves only by hand (``sqlml models alias``), and until it
  does the gate passes ("no champion"). ``promote = manual`` says that this is meant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..contract.lifecycle import BEST_SCORE, CHAMPION, recorded_by_training
from ..contract.metrics import DEFAULT_EVALUATION_METRICS, metric_name
from ..contract.trials import TRAINING_METRICS
from . import codes
from .diagnostics import Severity, Span
from .ir import EvaluateStatement, ObjectKind

if TYPE_CHECKING:
    from .project import Node

#: A diagnostic sink that takes a severity: (code, message, span, hint, severity).
Report = Callable[[str, str, Span, str | None, Severity], None]


def check_lifecycle(nodes: Sequence[Node], report: Report) -> None:
    """SQLML226 and SQLML227 (warnings) for the project's models."""
    recorded: dict[str, set[str]] = {}  # model key → metrics its evaluations measure
    champion_gates: dict[str, EvaluateStatement] = {}
    for node in nodes:
        statement = node.statement
        if isinstance(statement, EvaluateStatement):
            key = statement.model.key
            recorded.setdefault(key, set()).update(_measured(statement))
            if any(c.baseline for c in statement.checks):
                champion_gates.setdefault(key, statement)
    models = {n.name.key: n for n in nodes if n.kind is ObjectKind.MODEL}
    for key, node in models.items():
        policy, span = node.directives.promote, node.directives.promote_span
        if policy is None or policy.kind != BEST_SCORE or policy.metric is None or span is None:
            continue
        metric = policy.metric
        if recorded_by_training(metric) or metric in recorded.get(key, set()):
            continue
        gated = sorted(recorded.get(key, set()))
        _warn(
            report,
            codes.METRIC_NOT_RECORDED,
            f"best_score({metric}): no version of '{node.name}' records {metric}, so "
            f"@{CHAMPION} never moves",
            span,
            f"a training records {', '.join(sorted(TRAINING_METRICS))} (val_ too, with "
            "validation rows); an evaluation records what it measures"
            + (f" ({', '.join(gated)} here)" if gated else "")
            + f": measure it (TO EVALUATE {node.name} WITH validation.metrics = "
            f'"{metric}" …) or rank by a recorded metric',
        )
    for key, statement in champion_gates.items():
        trained = models.get(key)
        if trained is None or trained.directives.promote is not None:
            continue
        check = next(c for c in statement.checks if c.baseline)
        assert check.span is not None
        _warn(
            report,
            codes.CHAMPION_NEVER_MOVES,
            f"'{check.condition}' compares with @{CHAMPION}, but nothing promotes a version of "
            f"'{statement.model}' to it: until `sqlml models alias` does, the gate passes "
            "(no champion)",
            check.span,
            f"add -- sqlml: promote = best_score({check.metric}) (or most_recent) above the "
            f"TO TRAIN of {statement.model}, or promote = manual if a person moves it",
        )


def _measured(statement: EvaluateStatement) -> set[str]:
    """What an evaluation measures and records on the version it scores: its
    ``validation.metrics`` (every default when it names none: the task is not known
    before it runs) and its gates' metrics."""
    written = [metric_name(m) for m in statement.metrics] if statement.metrics else []
    named = {m for m in written if isinstance(m, str)}
    if not statement.metrics:
        named = {m for defaults in DEFAULT_EVALUATION_METRICS.values() for m in defaults}
    return named | {c.metric for c in statement.checks}


def _warn(report: Report, code: str, message: str, span: Span, hint: str) -> None:
    report(code, message, span, hint, Severity.WARNING)


__all__ = ["check_lifecycle"]
