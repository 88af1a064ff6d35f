"""Quality gates: a threshold on an evaluated metric (``TO EVALUATE m WITH
check.accuracy >= 0.9``), the outcome an evaluation records on a version, and how a
version fares against a model's gates. An outcome keeps the metric's value, so a
threshold changed since is judged again without evaluating the version again.

A *champion-relative* gate (``check.auc >= champion.auc + 0.01``) compares the candidate
with the version ``@champion`` names, both scored on the same rows in the same step; its
outcome keeps both values (and which version the champion was), so it too is re-judged
from the record. With no champion — or when the candidate *is* the champion — it passes,
and the outcome says why (``note``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ..contract.lifecycle import gate_condition, margin_text
from ..contract.versioned import known_fields


@dataclass(frozen=True)
class Gate:
    """A quality gate the project sets on a model: check ``name`` passes when the evaluated
    metric compares to ``threshold`` as ``op`` says (``accuracy >= 0.9``)."""

    name: str
    metric: str
    op: str
    threshold: float
    #: The evaluation (table) that runs the gate, and where it is written (file:line:col).
    evaluation: str = ""
    location: str = ""
    #: ``champion``: ``threshold`` is a margin over the champion's value of the metric.
    baseline: str = ""

    @property
    def condition(self) -> str:
        """``accuracy >= 0.9`` or ``auc >= champion.auc + 0.01``."""
        return gate_condition(self.metric, self.op, self.threshold, self.baseline)

    def passes(self, value: float | None, baseline_value: float | None = None) -> bool:
        """``value <op> threshold`` — for a champion-relative gate ``value <op> champion's
        value + margin``; a missing or NaN metric (either) never passes."""
        if value is None or value != value:
            return False
        bound = self.threshold
        if self.baseline:
            if baseline_value is None or baseline_value != baseline_value:
                return False
            bound = baseline_value + self.threshold
        return {
            ">=": value >= bound,
            ">": value > bound,
            "<=": value <= bound,
            "<": value < bound,
            "=": value == bound,
        }[self.op]

    def judge(self, result: GateResult | None) -> bool:
        """Whether a recorded outcome meets this gate *as it is written now*: the recorded
        metric value is compared again, so a changed threshold re-judges old versions. A
        champion-relative outcome recorded without a champion (or against itself) passed
        by rule and still does."""
        if result is None or result.metric != self.metric or result.baseline != self.baseline:
            return False
        if self.baseline and result.champion_value is None:
            return result.passed and result.value is not None
        return self.passes(result.value, result.champion_value)


@dataclass(frozen=True)
class GateResult:
    """One gate's outcome on one version (``<version>/checks/<name>.json``)."""

    name: str
    metric: str
    op: str
    threshold: float
    value: float | None
    passed: bool
    evaluated_at: str
    evaluation: str = ""
    dagster_run_id: str | None = None
    #: A champion-relative gate: ``champion``, the version it named when the candidate was
    #: scored, that version's value on the same rows (``None``: no champion, or the
    #: candidate is the champion), and why it passed without one.
    baseline: str = ""
    champion_version: int | None = None
    champion_value: float | None = None
    note: str = ""

    @property
    def text(self) -> str:
        """``accuracy = 0.83 (needs >= 0.9)``, ``auc = 0.91 (needs >= champion.auc + 0.01:
        champion v2 = 0.93)`` or ``auc = 0.91 (passes: no champion yet)``."""
        shown = "missing" if self.value is None else f"{self.value:.4g}"
        if not self.baseline:
            return f"{self.metric} = {shown} (needs {self.op} {self.threshold!r})"
        if self.champion_value is None:
            return f"{self.metric} = {shown} ({self.note or 'no champion'})"
        offset = margin_text(self.threshold)
        return (
            f"{self.metric} = {shown} (needs {self.op} {self.baseline}.{self.metric}{offset}: "
            f"champion v{self.champion_version} = {self.champion_value:.4g})"
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GateResult:
        return cls(**known_fields(cls, json.loads(text)))


@dataclass(frozen=True)
class GateStatus:
    """How one version fares against a model's gates."""

    version: int
    failed: tuple[GateResult, ...] = ()
    missing: tuple[str, ...] = ()  # gates never evaluated on this version

    @property
    def passed(self) -> bool:
        return not self.failed and not self.missing

    @property
    def text(self) -> str:
        """``passed``, ``failed: iris_eval_accuracy (accuracy = 0.83 (needs >= 0.9))`` or
        ``not evaluated: iris_eval_accuracy``."""
        if self.passed:
            return "passed"
        parts = [f"{r.name} ({r.text})" for r in self.failed]
        if self.failed:
            head = "failed: " + "; ".join(parts)
            return head + (f"; not evaluated: {', '.join(self.missing)}" if self.missing else "")
        return "not evaluated: " + ", ".join(self.missing)
