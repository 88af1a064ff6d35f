"""Ordinary SQL: parsed by sqlglot in the file's dialect and classified by what it does to
the project — creates a table or view (an asset), modifies one (a followup of the file's
CREATE), prepares the connection (a session statement, run before each asset of the
file), or asks something and is ignored with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlglot import exp
from sqlglot.tokens import Token

from .. import codes
from ..context import Abort, ParseContext
from ..diagnostics import Diagnostic, Severity
from ..names import ModelCall, ObjectKind, QualifiedName
from ..pins import tree_sql
from ..sql_writer import SqlWriter
from ..statement import ReadsQuery, Statement
from ..tables import tables_read


@dataclass(frozen=True)
class SqlStatement(ReadsQuery, Statement):
    """Ordinary SQL, kept as its sqlglot tree.

    ``target`` is the table it creates or modifies (None for session statements such as
    ``SET`` or ``CREATE MACRO``); ``creates`` distinguishes ``CREATE`` from
    ``INSERT``/``UPDATE``/``DELETE`` which modify a table defined elsewhere in the file.
    """

    KIND: ClassVar[str] = "sql"

    tree: exp.Expr = field(compare=False)
    target: QualifiedName | None = None
    target_kind: ObjectKind = ObjectKind.TABLE
    creates: bool = False
    read_tables: tuple[QualifiedName, ...] = ()
    model_calls: tuple[ModelCall, ...] = ()

    @property
    def produces(self) -> QualifiedName | None:
        return self.target if self.creates else None

    @property
    def object_kind(self) -> ObjectKind:
        return self.target_kind

    def why_no_asset(self) -> Diagnostic | None:
        if self.model_calls and self.target_kind is ObjectKind.VIEW:
            return Diagnostic(
                codes.MODEL_IN_VIEW,
                "ML_PREDICT cannot be used in a view",
                self.model_calls[0].span,
                hint="a model runs when its table materializes: write CREATE TABLE … AS SELECT … ML_PREDICT(…)",
            )
        return None

    def render_sql(self, w: SqlWriter) -> str:
        return w.tree(self.tree)

    def json_extra(self, dialect: str) -> dict[str, Any]:
        return {"sql": tree_sql(self.tree, dialect)}

    @classmethod
    def parse_plain(cls, p: ParseContext, tokens: list[Token]) -> SqlStatement | None:
        """Plain SQL, classified; None (after a warning) for a statement that is ignored."""
        tree = p.parse_tokens(tokens)
        common = p.common(tokens)
        span = common["span"]
        calls = p.model_calls(tree)
        if isinstance(tree, exp.Create):
            kind = str(tree.args.get("kind") or "").upper()
            if kind in ("TABLE", "VIEW"):
                target_table = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
                body = tree.expression
                return cls(
                    **common,
                    tree=tree,
                    target=QualifiedName.of_table(target_table),
                    target_kind=ObjectKind.VIEW if kind == "VIEW" else ObjectKind.TABLE,
                    creates=True,
                    read_tables=tables_read(body) if body is not None else (),
                    model_calls=calls,
                )
            return cls(**common, tree=tree)  # CREATE SCHEMA/MACRO/…: session
        if isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge)):
            target = tree.this
            if isinstance(target, exp.Schema):
                target = target.this
            if not isinstance(target, exp.Table):
                p.error(
                    codes.UNSUPPORTED_STATEMENT,
                    "cannot tell which table this statement modifies",
                    span.start,
                    span.end,
                )
                raise Abort
            name = QualifiedName.of_table(target)
            reads = tuple(t for t in tables_read(tree) if t.key != name.key)
            return cls(**common, tree=tree, target=name, read_tables=reads, model_calls=calls)
        ignored = _why_ignored(tree)
        if ignored is not None:
            message, hint = ignored
            p.error(
                codes.IGNORED_STATEMENT,
                message,
                span.start,
                span.end,
                hint=hint,
                severity=Severity.WARNING,
            )
            return None
        # SET, PRAGMA, INSTALL/LOAD, ATTACH, CREATE SCHEMA/MACRO …: run before each asset of the file.
        return cls(**common, tree=tree)


def _why_ignored(tree: exp.Expr) -> tuple[str, str] | None:
    """Why a statement that produces nothing is ignored, and what to do: (message, hint)."""
    if isinstance(tree, exp.Drop):
        return (
            "DROP is ignored in project files",
            "assets are replaced when they materialize, so `DROP … IF EXISTS` before a CREATE is not needed",
        )
    if isinstance(tree, (exp.Show, exp.Describe)) or (
        isinstance(tree, exp.Command) and str(tree.this).upper() in ("SHOW", "DESCRIBE", "DESC")
    ):
        return (
            "SHOW/DESCRIBE asks the database and is ignored in project files",
            "a project file defines tables and models; run questions in a SQL shell",
        )
    if isinstance(tree, exp.Query):
        return (
            "this query produces nothing and is ignored",
            "make it a table (`CREATE TABLE name AS …`) or an ML statement (`… TO TRAIN …`)",
        )
    return None


__all__ = ["SqlStatement"]
