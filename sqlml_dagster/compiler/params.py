"""``key = value`` as statements write it: ``WITH`` attributes (:class:`Param`), quality
gates (:class:`MetricCheck`) and ``-- sqlml:`` directives (:class:`Directive`). One value
grammar reads all three (``cursor.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from ..contract.lifecycle import gate_condition
from .diagnostics import Span

# A WITH value, typed from its SQL literal: 100 -> int, 0.1 -> float, "x" -> str,
# true -> bool, [1, 2] -> list, a bare identifier -> str.
ParamValue: TypeAlias = Any

#: The namespaces a ``WITH`` key may use. A key without one is a model parameter,
#: as SQLFlow's XGBoost examples write ``WITH objective = "reg:squarederror"``.
#: ``optimizer`` (and SQLFlow's ``dnn_optimizer``/``linear_optimizer`` of its
#: DNNLinearCombined estimators) hold the optimizer's arguments; what each flavor does with
#: each key is ``contract.setting_verdict``'s, which ``sqlml check`` reports.
PARAM_NAMESPACES = (
    "model",
    "train",
    "validation",
    "predict",
    "explain",
    "summary",
    "resources",
    "optimizer",
    "dnn_optimizer",
    "linear_optimizer",
)

#: ``WITH check.<metric> >= <threshold>`` on TO EVALUATE: a quality gate, not a parameter.
CHECK_NAMESPACE = "check"
#: The comparisons a quality gate may use, longest first (the parser's token order).
CHECK_OPERATORS = (">=", "<=", ">", "<", "=")
#: EVALUATE's metric names and defaults live in ``contract.py``, which the runtime shares.

#: Field metadata of a clause added after the golden files were written: the JSON
#: (``render.to_json``) leaves it out when the statement does not write it (``None``).
OPTIONAL_CLAUSE = "optional_clause"


@dataclass(frozen=True)
class Param:
    """One ``WITH`` attribute: ``namespace.path = value``."""

    namespace: str
    path: str
    value: ParamValue
    span: Span

    @property
    def key(self) -> str:
        return f"{self.namespace}.{self.path}"


@dataclass(frozen=True)
class MetricCheck:
    """``check.accuracy >= 0.9`` in TO EVALUATE's WITH: a threshold the evaluated version
    must meet. It becomes a blocking Dagster asset check on the model, so predictions of a
    version below the threshold do not run (see ``docs/quality-gates.md``)."""

    metric: str  # canonical (EVALUATION_METRICS' values)
    op: str  # one of CHECK_OPERATORS
    #: The number compared with; for a champion-relative gate, the margin δ added to the
    #: champion's value (``check.auc >= champion.auc + 0.01``: 0.01).
    threshold: int | float
    span: Span | None = field(default=None, compare=False, repr=False)
    #: ``champion`` for ``check.auc >= champion.auc + δ``: the candidate is compared with
    #: the version ``@champion`` names, scored on the same rows in the same step.
    baseline: str | None = field(default=None, kw_only=True, metadata={OPTIONAL_CLAUSE: True})

    @property
    def condition(self) -> str:
        """``accuracy >= 0.9`` or ``auc >= champion.auc + 0.01``: how the gate reads in the
        UI, the catalog and messages."""
        return gate_condition(self.metric, self.op, self.threshold, self.baseline)


@dataclass(frozen=True)
class DirectiveComparison:
    """A comparison written as a directive call's argument: ``psi > 0.2`` in
    ``drift = warn(psi > 0.2)``."""

    name: str
    op: str  # one of CHECK_OPERATORS
    value: ParamValue

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.value!r}"


@dataclass(frozen=True)
class DirectiveCall:
    """A call written as a directive value: ``day(event_ts)``."""

    function: str
    args: tuple[ParamValue, ...]

    def __str__(self) -> str:
        return f"{self.function}({', '.join(str(a) for a in self.args)})"


@dataclass(frozen=True)
class Directive:
    """One ``-- sqlml: key = value`` comment above a statement (or ``-- sqlml-file:`` for
    every statement of its file): how Dagster schedules, partitions and labels the asset.
    Directives live in comments so the SQL stays runnable by any engine; their meaning is
    checked in ``directives.py``."""

    key: str
    value: ParamValue
    span: Span
    file_scope: bool = False
