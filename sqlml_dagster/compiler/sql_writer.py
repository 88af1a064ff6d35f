"""The canonical SQL spelling of the pieces clauses share: names (quoted only when
needed), ``@3`` pins, typed values, ``WITH`` lists with quality gates, model references
and sqlglot trees. Each statement kind's ``render_sql`` composes these in its clause
order, so ``parse(to_sql(statement))`` gives the statement back."""

from __future__ import annotations

from sqlglot import exp

from ..contract.lifecycle import Pin, margin_text, pin_text
from ..contract.trials import (
    CANDIDATES_FUNCTION,
    LOG_WORD,
    RANGE_FUNCTION,
    HparamCandidates,
    HparamRange,
)
from .names import ModelRef, QualifiedName
from .params import CHECK_NAMESPACE, MetricCheck, Param, ParamValue
from .pins import tree_sql


class SqlWriter:
    """Writes IR pieces as SQL in one dialect."""

    def __init__(self, dialect: str):
        self.dialect = dialect

    def tree(self, tree: exp.Expr) -> str:
        return tree_sql(tree, self.dialect)

    def identifier(self, name: str) -> str:
        return exp.to_identifier(name).sql(dialect=self.dialect)  # quotes only when needed

    def name(self, name: QualifiedName) -> str:
        return ".".join(self.identifier(p) for p in name.parts)

    def pin(self, version: Pin) -> str:
        return pin_text(version)

    def string(self, text: str) -> str:
        return exp.Literal.string(text).sql(dialect=self.dialect)

    def value(self, value: ParamValue) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(self.value(v) for v in value) + "]"
        if isinstance(value, HparamRange):
            log = f", {LOG_WORD}" if value.log else ""
            return f"{RANGE_FUNCTION}({self.value(value.low)}, {self.value(value.high)}{log})"
        if isinstance(value, HparamCandidates):
            return f"{CANDIDATES_FUNCTION}({self.value(value.values)})"
        return self.string(str(value))

    def params(
        self, params: tuple[Param, ...], keyword: str = "WITH", checks: tuple[MetricCheck, ...] = ()
    ) -> str:
        items = [f"{p.namespace}.{p.path} = {self.value(p.value)}" for p in params]
        items += [f"{CHECK_NAMESPACE}.{c.metric} {c.op} {self.gate_value(c)}" for c in checks]
        return f" {keyword} {', '.join(items)}" if items else ""

    def gate_value(self, check: MetricCheck) -> str:
        """What a gate compares with: ``0.9``, or ``champion.auc + 0.01``."""
        if check.baseline:
            return f"{check.baseline}.{check.metric}{margin_text(check.threshold)}"
        return self.value(check.threshold)

    def model_ref(self, model: ModelRef) -> str:
        return f"{model.image}/{model.reference}" if model.image else model.reference
