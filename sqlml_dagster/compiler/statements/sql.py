"""Ordinary SQL: parsed by sqlglot in the file's dialect and classified by what it does to
the project — creates a table or view (an asset), modifies one (a followup of the file's
CREATE), prepares the connection (a session statement, run before each asset of the
file), or asks something and is ignored with a warning.

A statement sqlglot cannot parse usually raises a syntax error; some it reads only as an
opaque ``Command`` instead. That is right for the connection commands it does not model
(``LOAD``, ``CALL``, ``VACUUM``…), which run as written, but a ``CREATE TABLE``/``VIEW``
read that way would silently define nothing, so it is an error (SQLML114).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.tokens import Token, TokenType

from .. import codes
from ..context import HINT_KEYWORDS, Abort, ParseContext, check_table_names
from ..diagnostics import Diagnostic, Severity
from ..names import ModelCall, ObjectKind, QualifiedName
from ..pins import tree_sql
from ..sql_writer import SqlWriter
from ..statement import ReadsQuery, Statement
from ..tables import tables_read
from ..tokens import word_of


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
                target = QualifiedName.of_table(target_table)
                reads = tables_read(body) if body is not None else ()
                check_table_names(p, tree, (target, *reads))
                return cls(
                    **common,
                    tree=tree,
                    target=target,
                    target_kind=ObjectKind.VIEW if kind == "VIEW" else ObjectKind.TABLE,
                    creates=True,
                    read_tables=reads,
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
            check_table_names(p, tree, (name, *reads))
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
        if isinstance(tree, exp.Command):
            _refuse_unread_definition(p, tokens)
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


def _refuse_unread_definition(p: ParseContext, tokens: list[Token]) -> None:
    """A ``CREATE TABLE``/``VIEW`` that sqlglot read only as an opaque ``Command`` (it
    gives up on the whole statement at the first thing it does not understand) would be
    taken for a session statement and define no asset: report it, at the misspelled
    keyword or the culprit when the query after ``AS`` alone shows one."""
    kind = _defined_kind(p, tokens)
    if kind is None:
        return
    what = f"CREATE {word_of(kind)}"
    message = f"this {what} cannot be read, so it would define no asset"
    reading = f"sqlglot could not parse this as a statement of dialect '{p.dialect_name}'"
    body = _query_after_as(tokens, tokens.index(kind))
    culprit = _body_culprit(p, body) if body else None
    if culprit is None:
        p.error(
            codes.UNREAD_STATEMENT,
            message,
            tokens[0].start,
            kind.end + 1,
            hint=f"{reading}; check the spelling after '{what}', or write it in syntax "
            "sqlglot supports",
        )
        raise Abort
    token, description = culprit
    meant = _misspelled_keyword(body, token)
    if meant is not None:
        token, keyword = meant
        detail = f"did you mean {keyword}?"
    else:
        detail = description
    p.error(
        codes.UNREAD_STATEMENT,
        message,
        token.start,
        token.end + 1,
        hint=f"{reading}; check the spelling near '{token.text}': {detail}",
    )
    raise Abort


def _body_culprit(p: ParseContext, body: list[Token]) -> tuple[Token, str] | None:
    """Where sqlglot's parser fails on a CTAS's query read alone, and why (None when the
    query alone parses: the trouble is before AS)."""
    try:
        tokens = p.strip_model_pins(body) if p.may_call_models else body
        p.sql_parser.parse(tokens, sql=p.source.text)
    except ParseError as e:
        return p.parse_error_culprit(e, body)
    except (RecursionError, IndexError, KeyError, TypeError, ValueError, AttributeError):
        return None  # a dialect parser's own failure says nothing more precise
    return None


def _misspelled_keyword(tokens: list[Token], culprit: Token) -> tuple[Token, str] | None:
    """A word at or just before the culprit that looks like a misspelled keyword
    (``SELEC``, ``FORM``, ``LIMT``): sqlglot took it for a name and failed a little later."""
    index = tokens.index(culprit) if culprit in tokens else len(tokens) - 1
    for token in reversed(tokens[max(0, index - 2) : index + 1]):
        if token.token_type is not TokenType.VAR:
            continue
        written = token.text.upper()
        close = difflib.get_close_matches(written, HINT_KEYWORDS, n=1, cutoff=0.75)
        if close and close[0] != written:
            return token, close[0]
    return None


def _defined_kind(p: ParseContext, tokens: list[Token]) -> Token | None:
    """The ``TABLE`` or ``VIEW`` token of ``CREATE [OR REPLACE] [TEMP …] TABLE|VIEW``: the
    first object type sqlglot knows after CREATE, before any parenthesis or AS."""
    if word_of(tokens[0]) != "CREATE":
        return None
    creatables = p.sql_parser.CREATABLES
    for i, token in enumerate(tokens[1:], start=1):
        kind = token.token_type
        if kind in (TokenType.L_PAREN, TokenType.ALIAS):
            return None
        if kind in creatables:
            if kind is TokenType.VIEW:
                return token
            table_function = i + 1 < len(tokens) and tokens[i + 1].token_type is TokenType.FUNCTION
            return token if kind is TokenType.TABLE and not table_function else None
    return None


def _query_after_as(tokens: list[Token], start: int) -> list[Token]:
    """The tokens after the first top-level ``AS`` from ``start``: a CTAS's query."""
    depth = 0
    for i in range(start, len(tokens)):
        kind = tokens[i].token_type
        if kind is TokenType.L_PAREN:
            depth += 1
        elif kind is TokenType.R_PAREN:
            depth -= 1
        elif kind is TokenType.ALIAS and depth == 0:
            return tokens[i + 1 :]
    return []


__all__ = ["SqlStatement"]
