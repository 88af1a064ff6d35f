"""IR → JSON (the golden-file format) and IR → SQL text (the canonical spelling).

``parse(to_sql(statement))`` gives back a statement whose :func:`to_json` equals the
original's: the round trip the tests check for every golden statement. JSON leaves out
what is about the source rather than the meaning — spans, raw text, fingerprints.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from sqlglot import exp

from .ir import (
    CHECK_NAMESPACE,
    ArgKind,
    CatalogStatement,
    ColumnGroup,
    ColumnName,
    CreateModelStatement,
    DirectiveCall,
    DropModelStatement,
    EvaluateStatement,
    ExplainStatement,
    FeatureColumn,
    MetricCheck,
    MLStatement,
    ModelRef,
    Param,
    ParamValue,
    PredictStatement,
    QualifiedName,
    RunStatement,
    ShowModelsStatement,
    SqlStatement,
    Statement,
    TrainStatement,
)
from .parser import PIN_META

#: Fields that say where a statement came from, not what it means.
_SOURCE_FIELDS = frozenset({"span", "text", "fingerprint", "select_span", "tree"})


def to_json(statement: Statement, dialect: str = "duckdb") -> dict[str, Any]:
    """The meaning of one statement as plain JSON data (no spans)."""
    out: dict[str, Any] = {"type": type(statement).__name__}
    for f in dataclasses.fields(statement):
        if f.name in _SOURCE_FIELDS or f.name.endswith("_span"):
            continue
        if f.name == "directives":
            if statement.directives:  # comments, so left out unless written
                out[f.name] = [
                    {"key": d.key, "value": _directive_value(d.value)} for d in statement.directives
                ]
            continue
        out[f.name] = _json_value(getattr(statement, f.name), dialect)
    if isinstance(statement, SqlStatement):
        out["sql"] = tree_sql(statement.tree, dialect)
    return out


def tree_sql(tree: exp.Expr, dialect: str = "duckdb") -> str:
    """A sqlglot tree as SQL, with pinned ``ML_PREDICT(m@3, …)`` versions written back."""
    pinned = [c for c in tree.find_all(exp.Column) if c.meta.get(PIN_META) is not None]
    if pinned:
        tree = tree.copy()
        for column in [c for c in tree.find_all(exp.Column) if c.meta.get(PIN_META) is not None]:
            column.replace(exp.var(f"{column.sql(dialect=dialect)}@{column.meta[PIN_META]}"))
    return tree.sql(dialect=dialect, comments=False)


def _directive_value(value: Any) -> Any:
    return str(value) if isinstance(value, DirectiveCall) else value


def _json_value(value: Any, dialect: str) -> Any:
    if isinstance(value, exp.Expr):
        return tree_sql(value, dialect)
    if isinstance(value, QualifiedName):
        return str(value)
    if isinstance(value, Param):
        return {"key": value.key, "value": value.value}
    if isinstance(value, FeatureColumn):
        return value.to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _json_value(getattr(value, f.name), dialect)
            for f in dataclasses.fields(value)
            if f.name != "span" and not f.name.endswith("_span")
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_json_value(v, dialect) for v in value]
    return value


# -- IR → SQL -------------------------------------------------------------------------


def to_sql(statement: Statement, dialect: str = "duckdb") -> str:
    """The canonical SQL spelling of a statement (without the closing semicolon)."""
    r = _Renderer(dialect)
    if isinstance(statement, MLStatement):
        return f"{tree_sql(statement.select, dialect)} TO {statement.VERB} {r.tail(statement)}"
    if isinstance(statement, CreateModelStatement):
        return r.create_model(statement)
    if isinstance(statement, ShowModelsStatement):
        return "SHOW MODELS"
    if isinstance(statement, DropModelStatement):
        return f"DROP MODEL {'IF EXISTS ' if statement.if_exists else ''}{r.name(statement.model)}"
    if isinstance(statement, CatalogStatement):
        model: QualifiedName = statement.model  # type: ignore[attr-defined]
        version: int | None = getattr(statement, "version", None)
        return f"{statement.KEYWORDS} {r.name(model)}{r.pin(version)}"
    if isinstance(statement, SqlStatement):
        return tree_sql(statement.tree, dialect)
    raise TypeError(f"cannot render {type(statement).__name__}")  # pragma: no cover


class _Renderer:
    def __init__(self, dialect: str):
        self.dialect = dialect

    def identifier(self, name: str) -> str:
        return exp.to_identifier(name).sql(dialect=self.dialect)  # quotes only when needed

    def name(self, name: QualifiedName) -> str:
        return ".".join(self.identifier(p) for p in name.parts)

    def pin(self, version: int | None) -> str:
        return "" if version is None else f"@{version}"

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
        return self.string(str(value))

    def params(
        self, params: tuple[Param, ...], keyword: str = "WITH", checks: tuple[MetricCheck, ...] = ()
    ) -> str:
        items = [f"{p.namespace}.{p.path} = {self.value(p.value)}" for p in params]
        items += [f"{CHECK_NAMESPACE}.{c.metric} {c.op} {self.value(c.threshold)}" for c in checks]
        return f" {keyword} {', '.join(items)}" if items else ""

    def model_ref(self, model: ModelRef) -> str:
        return f"{model.image}/{model.reference}" if model.image else model.reference

    def feature(self, column: FeatureColumn) -> str:
        if isinstance(column, ColumnName):
            return self.identifier(column.name)
        args: list[str] = []
        for arg in column.SIGNATURE:
            args.append(self.argument(getattr(column, arg.name), arg.kind))
        while len(args) > 1:  # trailing defaults go unwritten
            arg = column.SIGNATURE[len(args) - 1]
            if arg.required or getattr(column, arg.name) != arg.default:
                break
            args.pop()
        return f"{column.FUNCTION}({', '.join(args)})"

    def argument(self, value: Any, kind: ArgKind) -> str:
        if kind is ArgKind.COLUMN:
            return self.feature(value)
        if kind is ArgKind.COLUMNS:
            return "[" + ", ".join(self.feature(v) for v in value) + "]"
        if kind is ArgKind.WORD:
            return "NULL" if value is None else self.string(value)
        return self.value(value)

    def columns(self, groups: tuple[ColumnGroup, ...]) -> str:
        out = ""
        for group in groups:
            out += " COLUMN " + ", ".join(self.feature(c) for c in group.columns)
            if group.target is not None:
                out += f" FOR {self.identifier(group.target)}"
        return out

    def tail(self, statement: MLStatement) -> str:
        if isinstance(statement, TrainStatement):
            label = f" LABEL {self.identifier(statement.label)}" if statement.label else ""
            return (
                self.model_ref(statement.model)
                + self.params(statement.params)
                + self.columns(statement.columns)
                + f"{label} INTO {self.name(statement.into)}"
            )
        if isinstance(statement, PredictStatement):
            target = QualifiedName((*statement.into.parts, statement.column))
            return (
                self.name(target)
                + self.params(statement.params)
                + f" USING {self.name(statement.using)}{self.pin(statement.using_version)}"
            )
        if isinstance(statement, EvaluateStatement):
            return (
                self.name(statement.model)
                + self.pin(statement.model_version)
                + self.params(statement.params, checks=statement.checks)
                + f" LABEL {self.identifier(statement.label)} INTO {self.name(statement.into)}"
            )
        if isinstance(statement, ExplainStatement):
            text = (
                self.name(statement.model)
                + self.pin(statement.model_version)
                + self.params(statement.params)
            )
            if statement.explainer:
                text += f" USING {self.identifier(statement.explainer)}"
            if statement.into is not None:
                text += f" INTO {self.name(statement.into)}"
            return text
        if isinstance(statement, RunStatement):
            text = self.model_ref(statement.program)
            if statement.args:
                text += " CMD " + ", ".join(self.string(a) for a in statement.args)
            if statement.into is not None:
                text += f" INTO {self.name(statement.into)}"
            return text
        raise TypeError(f"cannot render {type(statement).__name__}")  # pragma: no cover

    def create_model(self, s: CreateModelStatement) -> str:
        text = "CREATE " + ("OR REPLACE " if s.replace else "") + "MODEL "
        text += ("IF NOT EXISTS " if s.if_not_exists else "") + self.name(s.name)
        if s.flavor:
            text += f" FLAVOR {self.identifier(s.flavor)}"
        if s.model_type:
            text += f" MODEL_TYPE {self.name(QualifiedName.parse(s.model_type))}"
        if s.options:
            items = ", ".join(f"{p.path} = {self.value(p.value)}" for p in s.options)
            text += f" OPTIONS ({items})"
        if s.returns:
            text += f" RETURNS {s.returns}"
        if s.uri is not None:
            text += f" USING {self.string(s.uri)}"
        return text


__all__ = ["to_json", "to_sql"]
