"""IR → JSON (the golden-file format) and IR → SQL text (the canonical spelling).

``parse(to_sql(statement))`` gives back a statement whose :func:`to_json` equals the
original's: the round trip the tests check for every golden statement. JSON leaves out
what is about the source rather than the meaning — spans, raw text, fingerprints. Each
statement kind spells its own clauses (``render_sql`` in ``statements/<kind>.py``).
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from sqlglot import exp

from ..contract.trials import json_value
from .feature_columns import FeatureColumn
from .names import QualifiedName
from .params import OPTIONAL_CLAUSE, DirectiveCall, DirectiveComparison, Param
from .pins import tree_sql
from .sql_writer import SqlWriter
from .statement import Statement

#: Fields that say where a statement came from, not what it means.
_SOURCE_FIELDS = frozenset({"span", "text", "fingerprint", "select_span", "tree"})


def to_json(statement: Statement, dialect: str = "duckdb") -> dict[str, Any]:
    """The meaning of one statement as plain JSON data (no spans)."""
    out: dict[str, Any] = {"type": type(statement).__name__}
    for f in dataclasses.fields(statement):
        if f.name in _SOURCE_FIELDS or f.name.endswith(("_span", "_spans")):
            continue
        if f.name == "directives":
            if statement.directives:  # comments, so left out unless written
                out[f.name] = [
                    {"key": d.key, "value": _directive_value(d.value)} for d in statement.directives
                ]
            continue
        value = getattr(statement, f.name)
        if value is None and f.metadata.get(OPTIONAL_CLAUSE):
            continue  # a clause added later, left out unless written (golden files stay)
        out[f.name] = _json_value(value, dialect)
    out.update(statement.json_extra(dialect))
    return out


def _directive_value(value: Any) -> Any:
    return str(value) if isinstance(value, (DirectiveCall, DirectiveComparison)) else value


def _json_value(value: Any, dialect: str) -> Any:
    if isinstance(value, exp.Expr):
        return tree_sql(value, dialect)
    if isinstance(value, QualifiedName):
        return str(value)
    if isinstance(value, Param):
        return {"key": value.key, "value": json_value(value.value)}
    if isinstance(value, FeatureColumn):
        return value.to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _json_value(getattr(value, f.name), dialect)
            for f in dataclasses.fields(value)
            if f.name != "span"
            and not f.name.endswith("_span")
            and not (f.metadata.get(OPTIONAL_CLAUSE) and getattr(value, f.name) is None)
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_json_value(v, dialect) for v in value]
    return value


def to_sql(statement: Statement, dialect: str = "duckdb") -> str:
    """The canonical SQL spelling of a statement (without the closing semicolon)."""
    return statement.render_sql(SqlWriter(dialect))


__all__ = ["to_json", "to_sql", "tree_sql"]
