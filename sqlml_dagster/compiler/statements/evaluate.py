"""``<select> TO EVALUATE <model>[@<version>] [WITH validation.metrics = "…",
check.<metric> <op> <number>] LABEL <col> INTO <table>``: scores a trained model on the
SELECT's rows into a table of metrics; ``check.*`` thresholds are quality gates on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ...contract.metrics import curve_name, side_table, split_names
from ..context import Common
from ..cursor import Cursor
from ..diagnostics import Span
from ..names import ObjectKind, QualifiedName
from ..params import MetricCheck
from ..sql_writer import SqlWriter
from ..statement import ScoresModel, WritesInto

USAGE = (
    'TO EVALUATE <model> [WITH validation.metrics = "Accuracy,AUC", validation.curves = "roc", '
    "check.accuracy >= 0.9] LABEL <column> INTO <table>"
)


@dataclass(frozen=True)
class EvaluateStatement(WritesInto, ScoresModel):
    """``<select> TO EVALUATE <model> [WITH validation.metrics = "Accuracy,AUC",
    check.accuracy >= 0.9] LABEL <col> INTO <table>``: scores a trained model on the
    SELECT's rows into a table of metrics; ``check.*`` thresholds gate the model."""

    KIND: ClassVar[str] = "evaluate"
    VERB: ClassVar[str] = "EVALUATE"
    OBJECT_KIND: ClassVar[ObjectKind] = ObjectKind.EVALUATION

    label: str
    into: QualifiedName
    into_span: Span
    #: ``WITH check.<metric> <op> <threshold>``: quality gates on the evaluated version.
    checks: tuple[MetricCheck, ...] = field(default=(), kw_only=True)

    @property
    def metrics(self) -> tuple[str, ...]:
        """``validation.metrics`` split at commas; empty means the flavor's defaults."""
        return tuple(split_names(self.param("validation.metrics")))

    @property
    def side_tables(self) -> tuple[QualifiedName, ...]:
        """``validation.curves = "roc,confusion"``: ``<into>_roc``, ``<into>_confusion``
        (unknown curve names are ``sqlml check``'s SQLML436, and the step's error)."""
        curves = [curve_name(c) for c in split_names(self.param("validation.curves"))]
        return tuple(
            QualifiedName(side_table(self.into.parts, c))
            for c in dict.fromkeys(curves)
            if isinstance(c, str)
        )

    @classmethod
    def parse_tail(cls, c: Cursor, common: Common) -> EvaluateStatement:
        model, model_span, version = c.model_pin("the name of a trained model")
        checks: list[MetricCheck] = []
        params = c.with_clause(checks) if c.at_word("WITH") else ()
        c.expect_word("LABEL", USAGE)
        label = c.label()
        c.expect_word("INTO", USAGE)
        into, into_span = c.qualified_name("a result table")
        c.expect_end()
        return cls(
            **common,
            params=params,
            model=model,
            model_span=model_span,
            label=label,
            into=into,
            into_span=into_span,
            model_version=version,
            checks=tuple(checks),
        )

    def render_tail(self, w: SqlWriter) -> str:
        return (
            w.name(self.model)
            + w.pin(self.model_version)
            + w.params(self.params, checks=self.checks)
            + f" LABEL {w.identifier(self.label)} INTO {w.name(self.into)}"
        )
