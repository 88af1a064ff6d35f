"""Quality gates: a threshold on an evaluated metric (``TO EVALUATE m WITH
check.accuracy >= 0.9``), the outcome an evaluation records on a version, and how a
version fares against a model's gates. An outcome keeps the metric's value, so a
threshold changed since is judged again without evaluating the version again."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

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

    @property
    def condition(self) -> str:
        return f"{self.metric} {self.op} {self.threshold!r}"

    def passes(self, value: float | None) -> bool:
        """``value <op> threshold``; a missing or NaN metric never passes."""
        if value is None or value != value:
            return False
        return {
            ">=": value >= self.threshold,
            ">": value > self.threshold,
            "<=": value <= self.threshold,
            "<": value < self.threshold,
            "=": value == self.threshold,
        }[self.op]

    def judge(self, result: GateResult | None) -> bool:
        """Whether a recorded outcome meets this gate *as it is written now*: the recorded
        metric value is compared again, so a changed threshold re-judges old versions."""
        return result is not None and result.metric == self.metric and self.passes(result.value)


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

    @property
    def text(self) -> str:
        """``accuracy = 0.83 (needs >= 0.9)``."""
        shown = "missing" if self.value is None else f"{self.value:.4g}"
        return f"{self.metric} = {shown} (needs {self.op} {self.threshold!r})"

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
