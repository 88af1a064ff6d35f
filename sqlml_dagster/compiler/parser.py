"""Text → statements, on sqlglot's tokenizer and parser.

A file is tokenized once with the source dialect's tokenizer (so strings, comments and
dollar-quotes are respected), split at top-level semicolons, and each statement is then
either

* a SQLFlow statement — a query followed by a top-level ``TO TRAIN`` / ``TO PREDICT``:
  the query tokens go to sqlglot's parser, the tail to the small recursive-descent parser
  below, which reads the same tokens; or
* ordinary SQL, parsed by sqlglot and classified by what it creates or modifies.

No regular expression ever looks at SQL text.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.helper import find_new_name
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.tokens import Token, TokenType

from ..contract import EVALUATION_METRICS
from . import codes
from .diagnostics import Diagnostic, Severity, SourceFile, Span, SqlMlCompileError
from .ir import (
    CHECK_NAMESPACE,
    CHECK_OPERATORS,
    DEFAULT_PREDICTION_COLUMN,
    FEATURE_FUNCTIONS,
    PARAM_NAMESPACES,
    ArgKind,
    CatalogStatement,
    ColumnGroup,
    ColumnName,
    CreateModelStatement,
    DescribeModelStatement,
    Directive,
    DirectiveCall,
    DropModelStatement,
    EvaluateStatement,
    ExplainStatement,
    FeatureColumn,
    MetricCheck,
    MLStatement,
    ModelCall,
    ModelRef,
    ObjectKind,
    Param,
    ParamValue,
    PredictStatement,
    QualifiedName,
    RunStatement,
    ShowModelsStatement,
    ShowTrainStatement,
    SqlFile,
    SqlStatement,
    Statement,
    TrainStatement,
)

#: The verbs that may follow ``TO`` after a query.
ML_VERBS = ("TRAIN", "PREDICT", "EVALUATE", "EXPLAIN", "RUN")

#: The function that calls a model inside a query (Rikai).
ML_PREDICT = "ML_PREDICT"
#: Where a pinned ``ML_PREDICT(m@3, …)`` keeps its version on the model's Column node.
PIN_META = "sqlml_version"

_QUOTED = (TokenType.STRING, TokenType.IDENTIFIER, TokenType.HEREDOC_STRING)
#: A quality gate's comparison tokens (``==`` tokenizes as EQ too) → the operator.
_COMPARISONS = {
    TokenType.GTE: ">=",
    TokenType.LTE: "<=",
    TokenType.GT: ">",
    TokenType.LT: "<",
    TokenType.EQ: "=",
}


def parse_sql_file(
    path: str, text: str, dialect: str = "duckdb"
) -> tuple[SqlFile, list[Diagnostic]]:
    """Parse one file; never raises for bad SQL — problems come back as diagnostics."""
    source = SourceFile(path=path, text=text)
    parser = _FileParser(source, Dialect.get_or_raise(dialect))
    statements = parser.parse()
    sql_file = SqlFile(
        path=path, statements=tuple(statements), directives=tuple(parser.file_directives)
    )
    return sql_file, parser.diagnostics


def parse_query(text: str, dialect: str = "duckdb", path: str = "<query>") -> exp.Expr:
    """One plain SQL statement as a sqlglot tree, for interactive use (``sqlml run-sql``):
    ``ML_PREDICT(m@3, …)`` pins are read as in project files. Raises
    :class:`SqlMlCompileError` with located diagnostics when it cannot be read."""
    source = SourceFile(path=path, text=text)
    parser = _FileParser(source, Dialect.get_or_raise(dialect))
    try:
        tokens = parser.dialect.tokenizer().tokenize(text)
        groups = _split_tokens(tokens)
        if len(groups) == 1:
            parser._may_call_models = _scan_statement(groups[0])[1]
            tree = parser.parse_query_tokens(groups[0])
            parser.model_calls(tree)
            if not parser.diagnostics:
                return tree
    except TokenError:
        parser.error(codes.UNTERMINATED, "unterminated string, quoted identifier or comment", 0, 1)
    except _Abort:
        pass
    if not parser.diagnostics:
        parser.error(codes.SQL_SYNTAX, "expected exactly one statement", 0, max(len(text), 1))
    raise SqlMlCompileError(parser.diagnostics)


def split_statements(text: str, dialect: str = "duckdb") -> list[str]:
    """The statements of a script as source text, without their terminating semicolons."""
    d = Dialect.get_or_raise(dialect)
    tokens = d.tokenizer().tokenize(text)
    return [text[group[0].start : group[-1].end + 1] for group in _split_tokens(tokens)]


def _split_tokens(tokens: Sequence[Token]) -> list[list[Token]]:
    groups: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type is TokenType.SEMICOLON:
            groups.append([])
        else:
            groups[-1].append(token)
    return [g for g in groups if g]


_OPENING = frozenset((TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE))
_CLOSING = frozenset((TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE))


def _scan_statement(tokens: Sequence[Token]) -> tuple[int | None, bool]:
    """One pass over a statement's tokens: the index of a top-level ``TO`` followed by an ML
    verb (None for plain SQL), and whether a token before it spells ``ML_PREDICT`` (so the
    tree walk for model calls can be skipped when none does)."""
    depth = 0
    may_call = False
    last = len(tokens) - 1
    for i, token in enumerate(tokens):
        kind = token.token_type
        if kind in _OPENING:
            depth += 1
        elif kind in _CLOSING:
            depth -= 1
        else:
            size = len(token.text)
            if size == 2:
                if (
                    depth == 0
                    and i < last
                    and kind not in _QUOTED
                    and token.text.upper() == "TO"
                    and _word(tokens[i + 1]) in ML_VERBS
                ):
                    return i, may_call
            elif size == len(ML_PREDICT) and token.text.upper() == ML_PREDICT:
                may_call = True
    return None, may_call


class _Abort(Exception):
    """Stops parsing one statement after its diagnostic has been recorded."""


class _FileParser:
    def __init__(self, source: SourceFile, dialect: Dialect):
        self.source = source
        self.dialect = dialect
        self.diagnostics: list[Diagnostic] = []
        self._may_call_models = True
        self._pins: dict[int, int | None] = {}  # ML_PREDICT(m@3): offset of m → 3
        self._sql_parser = dialect.parser()  # parse() resets it; one per file
        self.file_directives: list[Directive] = []

    # -- diagnostics ------------------------------------------------------------------

    def error(
        self,
        code: str,
        message: str,
        start: int,
        end: int,
        hint: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> Diagnostic:
        diagnostic = Diagnostic(
            code=code,
            message=message,
            span=Span.of(self.source, start, end),
            hint=hint,
            severity=severity,
            source=self.source,
        )
        self.diagnostics.append(diagnostic)
        return diagnostic

    def span(self, first: Token, last: Token) -> Span:
        return Span.of(self.source, first.start, last.end + 1)

    # -- file level -------------------------------------------------------------------

    def parse(self) -> list[Statement]:
        tokenizer = self.dialect.tokenizer()
        try:
            tokens = tokenizer.tokenize(self.source.text)
        except TokenError as e:
            core = getattr(tokenizer, "_core", tokenizer)
            start = getattr(core, "_start", None)
            if not isinstance(start, int):
                start = e.start or 0
            self.error(
                codes.UNTERMINATED,
                "unterminated string, quoted identifier or comment",
                start,
                start + 1,
                hint="close the quote or comment that starts here; every statement after it is unreadable until then",
            )
            return []
        statements: list[Statement] = []
        gap_start = 0
        for group in _split_tokens(tokens):
            above = self.directives_in(gap_start, group[0].start)
            self.warn_inner_directives(group)
            gap_start = group[-1].end + 1
            try:
                statement = self.parse_statement(group)
            except _Abort:
                continue
            if statement is not None:
                if above:
                    statement = dataclasses.replace(statement, directives=above)
                statements.append(statement)
        for orphan in self.directives_in(gap_start, len(self.source.text)):
            self.error(
                codes.BAD_DIRECTIVE,
                f"the directive '{orphan.key}' stands after the last statement",
                orphan.span.start,
                orphan.span.end,
                hint="a '-- sqlml:' comment applies to the statement below it; "
                "write '-- sqlml-file:' for the whole file",
                severity=Severity.WARNING,
            )
        return statements

    # -- directives -------------------------------------------------------------------

    def directives_in(self, start: int, end: int) -> tuple[Directive, ...]:
        """The ``-- sqlml:`` directives in ``text[start:end]``, a gap between statements
        (only whitespace, comments and ``;``). File-wide ones go to ``file_directives``."""
        text = self.source.text
        if "sqlml" not in text[start:end].lower():  # the common case, checked cheaply
            return ()
        found: list[Directive] = []
        for body_start, body_end in _comment_lines(text, start, end):
            body = text[body_start:body_end]
            stripped = body.lstrip()
            lowered = stripped.lower()
            for prefix, file_scope in (("sqlml-file:", True), ("sqlml:", False)):
                if lowered.startswith(prefix):
                    offset = body_start + len(body) - len(stripped) + len(prefix)
                    parsed = self.parse_directives(offset, body_end, file_scope)
                    if file_scope:
                        self.file_directives.extend(parsed)
                    else:
                        found.extend(parsed)
                    break
        return tuple(found)

    def parse_directives(self, start: int, end: int, file_scope: bool) -> list[Directive]:
        """``key = value, key = value`` in a directive comment, with the WITH clause's value
        grammar plus calls (``day(event_ts)``); a mistake is a diagnostic at its place."""
        body = self.source.text[start:end]
        try:
            raw = self.dialect.tokenizer().tokenize(body)
        except TokenError:
            self.error(
                codes.BAD_DIRECTIVE,
                "unterminated string in a directive",
                start,
                end,
                hint="close the quote on the same line",
            )
            return []
        tokens = [
            Token(t.token_type, t.text, t.line, t.col, t.start + start, t.end + start) for t in raw
        ]
        if not tokens:
            self.error(
                codes.BAD_DIRECTIVE,
                "empty directive",
                start - 1,
                end,
                hint='write -- sqlml: key = value, e.g. -- sqlml: schedule = "0 3 * * *"',
            )
            return []
        cursor = _Cursor(self, tokens, 0)
        directives: list[Directive] = []
        try:
            while True:
                directives.append(cursor.directive(file_scope))
                token = cursor.peek()
                if token is None:
                    return directives
                if token.token_type is not TokenType.COMMA:
                    raise cursor.fail(token, "',' between directives or the end of the comment")
                cursor.next()
        except _Abort:
            return directives

    def warn_inner_directives(self, group: list[Token]) -> None:
        """A directive written inside a statement would be silently ignored: say so."""
        for previous, token in itertools.pairwise(group):
            if token.comments and any("sqlml" in c.lower() for c in token.comments):
                for body_start, body_end in _comment_lines(
                    self.source.text, previous.end + 1, token.start
                ):
                    body = self.source.text[body_start:body_end].lstrip().lower()
                    if body.startswith(("sqlml:", "sqlml-file:")):
                        self.error(
                            codes.BAD_DIRECTIVE,
                            "a directive inside a statement is ignored",
                            body_start - 2,
                            body_end,
                            hint="move the '-- sqlml:' comment above the statement's first line",
                            severity=Severity.WARNING,
                        )

    def parse_statement(self, tokens: list[Token]) -> Statement | None:
        to_index, self._may_call_models = _scan_statement(tokens)
        if to_index is None:
            model_statement = self.parse_model_statement(tokens)
            if model_statement is not None:
                return model_statement
            return self.parse_plain(tokens)
        if to_index == 0:
            t = tokens[0]
            self.error(
                codes.ML_SYNTAX,
                f"'TO {tokens[1].text.upper()}' needs a query before it",
                t.start,
                tokens[1].end + 1,
                hint="write the data to learn from first: SELECT … FROM … TO TRAIN …",
            )
            raise _Abort
        return self.parse_ml(tokens, to_index)

    def pin_version(self, token: Token | None, last: Token) -> int | None:
        """The version after ``@``: a positive number, or ``latest`` (→ None)."""
        if token is not None and _word(token) == "LATEST":
            return None
        if (
            token is not None
            and token.token_type is TokenType.NUMBER
            and token.text.isdigit()
            and int(token.text) > 0
        ):
            return int(token.text)
        at = token or last
        self.error(
            codes.ML_SYNTAX,
            f"expected a version number or 'latest' after '@', found '{token.text if token else 'the end'}'",
            at.start,
            at.end + 1,
            hint="pin a version with model@3, or follow the model with model@latest (the default)",
        )
        raise _Abort

    def strip_model_pins(self, tokens: list[Token]) -> list[Token]:
        """``ML_PREDICT(m@3, …)`` is not SQL any dialect parses: take the ``@3`` out of the
        tokens handed to sqlglot, and remember it by the offset of the model's name."""
        self._pins = {}
        out: list[Token] = []
        i, n = 0, len(tokens)
        while i < n:
            token = tokens[i]
            out.append(token)
            i += 1
            if not (
                token.text.upper() == ML_PREDICT
                and i + 1 < n
                and tokens[i].token_type is TokenType.L_PAREN
            ):
                continue
            out.append(tokens[i])  # (
            j = i + 1
            first = j
            while j + 1 < n and tokens[j + 1].token_type is TokenType.DOT:
                j += 2
            if j + 1 < n and tokens[j + 1].text == "@":
                out.extend(tokens[first : j + 1])
                version_token = tokens[j + 2] if j + 2 < n else None
                self._pins[tokens[first].start] = self.pin_version(version_token, tokens[-1])
                i = j + 3
            else:
                i += 1
        return out

    # -- plain SQL --------------------------------------------------------------------

    def parse_query_tokens(self, tokens: list[Token]) -> exp.Expr:
        if self._may_call_models:
            tokens = self.strip_model_pins(tokens)
        try:
            trees = self._sql_parser.parse(tokens, sql=self.source.text)
        except ParseError as e:
            self._report_parse_error(e, tokens)
            raise _Abort from None
        except RecursionError:
            self.error(
                codes.SQL_SYNTAX,
                "this statement is nested too deeply to parse",
                tokens[0].start,
                tokens[0].end + 1,
                hint="flatten the nesting, e.g. with CTEs (WITH x AS (…) SELECT …)",
            )
            raise _Abort from None
        except (IndexError, KeyError, TypeError, ValueError, AttributeError) as e:
            # sqlglot's dialect parsers occasionally fail on truncated input with
            # something other than ParseError; it is still a syntax error of the user's.
            self.error(
                codes.SQL_SYNTAX,
                f"syntax error: sqlglot cannot parse this statement ({type(e).__name__})",
                tokens[-1].start,
                tokens[-1].end + 1,
                hint="the statement looks incomplete here",
            )
            raise _Abort from None
        found = [t for t in trees if t is not None]
        if len(found) != 1:  # pragma: no cover - split guarantees one statement
            self.error(
                codes.SQL_SYNTAX,
                "expected exactly one statement",
                tokens[0].start,
                tokens[-1].end + 1,
            )
            raise _Abort
        return found[0]

    def _report_parse_error(self, error: ParseError, tokens: list[Token]) -> None:
        info = error.errors[0] if error.errors else {}
        line, col = info.get("line"), info.get("col")
        # sqlglot reports the line and the *last* column of the offending token.
        culprit = next((t for t in tokens if t.line == line and t.col == col), None)
        if culprit is None:
            culprit = tokens[-1]
        description = str(info.get("description") or error).split(". Line ")[0]
        self.error(
            codes.SQL_SYNTAX,
            f"syntax error: {description} near '{culprit.text}'",
            culprit.start,
            culprit.end + 1,
            hint=_syntax_hint(culprit, tokens),
        )

    def parse_plain(self, tokens: list[Token]) -> Statement | None:
        tree = self.parse_query_tokens(tokens)
        span = self.span(tokens[0], tokens[-1])
        text = self.source.text[span.start : span.end]
        fingerprint = token_fingerprint(tokens)
        calls = self.model_calls(tree)
        if isinstance(tree, exp.Create):
            kind = str(tree.args.get("kind") or "").upper()
            if kind in ("TABLE", "VIEW"):
                target_table = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
                body = tree.expression
                return SqlStatement(
                    span=span,
                    fingerprint=fingerprint,
                    text=text,
                    tree=tree,
                    target=QualifiedName.of_table(target_table),
                    target_kind=ObjectKind.VIEW if kind == "VIEW" else ObjectKind.TABLE,
                    creates=True,
                    read_tables=tables_read(body) if body is not None else (),
                    model_calls=calls,
                )
            return SqlStatement(
                span=span, text=text, fingerprint=fingerprint, tree=tree
            )  # CREATE SCHEMA/MACRO/…: session
        if isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge)):
            target = tree.this
            if isinstance(target, exp.Schema):
                target = target.this
            if not isinstance(target, exp.Table):
                self.error(
                    codes.UNSUPPORTED_STATEMENT,
                    "cannot tell which table this statement modifies",
                    span.start,
                    span.end,
                )
                raise _Abort
            name = QualifiedName.of_table(target)
            reads = tuple(t for t in tables_read(tree) if t.key != name.key)
            return SqlStatement(
                span=span,
                text=text,
                fingerprint=fingerprint,
                tree=tree,
                target=name,
                read_tables=reads,
                model_calls=calls,
            )
        if isinstance(tree, exp.Drop):
            self.error(
                codes.IGNORED_STATEMENT,
                "DROP is ignored in project files",
                span.start,
                span.end,
                hint="assets are replaced when they materialize, so `DROP … IF EXISTS` before a CREATE is not needed",
                severity=Severity.WARNING,
            )
            return None
        if isinstance(tree, (exp.Show, exp.Describe)) or (
            isinstance(tree, exp.Command) and str(tree.this).upper() in ("SHOW", "DESCRIBE", "DESC")
        ):
            self.error(
                codes.IGNORED_STATEMENT,
                "SHOW/DESCRIBE asks the database and is ignored in project files",
                span.start,
                span.end,
                hint="a project file defines tables and models; run questions in a SQL shell",
                severity=Severity.WARNING,
            )
            return None
        if isinstance(tree, exp.Query):
            self.error(
                codes.IGNORED_STATEMENT,
                "this query produces nothing and is ignored",
                span.start,
                span.end,
                hint="make it a table (`CREATE TABLE name AS …`) or an ML statement (`… TO TRAIN …`)",
                severity=Severity.WARNING,
            )
            return None
        # SET, PRAGMA, INSTALL/LOAD, ATTACH, CREATE SCHEMA/MACRO …: run before each asset of the file.
        return SqlStatement(span=span, text=text, fingerprint=fingerprint, tree=tree)

    # -- SQLFlow statements -----------------------------------------------------------

    def model_calls(self, tree: exp.Expr) -> tuple[ModelCall, ...]:
        """Every ``ML_PREDICT(<model>, <expr>, …)`` in a tree: the model it names, and where."""
        calls: list[ModelCall] = []
        if not self._may_call_models:  # no ML_PREDICT token: nothing to find in the tree
            return ()
        for call in tree.find_all(exp.Anonymous):
            if str(call.this).upper() != ML_PREDICT:
                continue
            start, end = _node_offsets(call, self.source.text)
            args = call.expressions
            if len(args) < 2:
                self.error(
                    codes.ML_SYNTAX,
                    "ML_PREDICT needs a model and at least one input",
                    start,
                    end,
                    hint="write ML_PREDICT(<model>, <column>, …)",
                )
                raise _Abort
            model = args[0]
            m_start, m_end = _node_offsets(model, self.source.text, default=(start, end))
            if not isinstance(model, exp.Column) or isinstance(model.this, exp.Star):
                self.error(
                    codes.UNSUPPORTED_STATEMENT,
                    "ML_PREDICT's first argument must name a model of the project",
                    m_start,
                    m_end,
                    hint="register a model file with CREATE MODEL m USING '<uri>', then write ML_PREDICT(m, …)",
                )
                raise _Abort
            name = QualifiedName(tuple(part.name for part in model.parts))
            version = self._pins.get(m_start)
            if version is not None:
                model.meta[PIN_META] = version  # travels with the tree to execution
            calls.append(ModelCall(name, Span.of(self.source, m_start, m_end), version))
        return tuple(calls)

    def validation_select(self, params: tuple[Param, ...]) -> exp.Query | None:
        """``WITH validation.select = "SELECT …"``: the query yielding validation rows,
        parsed in the file's dialect so its tables join the graph and its errors point here."""
        param = next((p for p in params if p.key == "validation.select"), None)
        if param is None:
            return None
        span = param.span
        if not isinstance(param.value, str) or not param.value.strip():
            self.error(
                codes.BAD_ARGUMENT,
                "validation.select must be a quoted SELECT",
                span.start,
                span.end,
                hint='write validation.select = "SELECT * FROM iris_validation"',
            )
            raise _Abort
        try:
            tree = sqlglot.parse_one(param.value, dialect=self.dialect)
        except (ParseError, TokenError) as e:
            errors = getattr(e, "errors", None) or [{}]
            detail = errors[0].get("description") or str(e).splitlines()[0]
            self.error(
                codes.SQL_SYNTAX,
                f"validation.select is not valid SQL: {detail}",
                span.start,
                span.end,
                hint="validation.select holds a SELECT in the file's dialect, in quotes",
            )
            raise _Abort from None
        if not isinstance(tree, exp.Query):
            self.error(
                codes.BAD_ARGUMENT,
                "validation.select must be a query (SELECT …)",
                span.start,
                span.end,
                hint='write validation.select = "SELECT * FROM iris_validation"',
            )
            raise _Abort
        return tree

    def parse_ml(self, tokens: list[Token], to_index: int) -> MLStatement:
        query_tokens = tokens[:to_index]
        tree = self.parse_query_tokens(query_tokens)
        if not isinstance(tree, exp.Query):
            first = query_tokens[0]
            self.error(
                codes.ML_SYNTAX,
                "the statement before TO must be a query (SELECT …)",
                first.start,
                first.end + 1,
                hint="SQLFlow statements start with the SELECT that yields the training or prediction data",
            )
            raise _Abort
        tail = _Cursor(self, tokens, to_index + 1)
        verb = _word(tail.next())
        common = {
            "span": self.span(tokens[0], tokens[-1]),
            "fingerprint": token_fingerprint(tokens),
            "text": self.source.text[tokens[0].start : tokens[-1].end + 1],
            "select": tree,
            "select_span": self.span(query_tokens[0], query_tokens[-1]),
            "read_tables": tables_read(tree),
            "model_calls": self.model_calls(tree),
        }
        parse_tail = {
            "TRAIN": self._train,
            "PREDICT": self._predict,
            "EVALUATE": self._evaluate,
            "EXPLAIN": self._explain,
            "RUN": self._run,
        }[verb]
        return parse_tail(tail, common)

    def _train(self, c: _Cursor, common: dict[str, object]) -> TrainStatement:
        model_ref = c.model_reference()
        params = c.with_clause() if c.at_word("WITH") else ()
        columns: list[ColumnGroup] = []
        while c.at_word("COLUMN"):
            group = c.column_clause()
            if any(g.argument == group.argument for g in columns):
                assert group.span is not None
                self.error(
                    codes.DUPLICATE_PARAM,
                    f"a second COLUMN clause for '{group.argument}'",
                    group.span.start,
                    group.span.end,
                    hint="list all columns of one model argument in one COLUMN clause, or name another with FOR <argument>",
                )
            columns.append(group)
        label = None
        if c.at_word("LABEL"):
            c.next()
            label = c.identifier("a label column").text
        c.expect_word(
            "INTO", "TO TRAIN <model> [WITH …] [COLUMN … [FOR <arg>]] [LABEL <column>] INTO <name>"
        )
        into, into_span = c.qualified_name("a model name")
        c.expect_end()
        validation = self.validation_select(params)
        if validation is not None:  # its tables are inputs of the model like the SELECT's
            read = common["read_tables"]
            assert isinstance(read, tuple)
            common["read_tables"] = (
                *read,
                *(t for t in tables_read(validation) if t not in read),
            )
        return TrainStatement(
            **common,  # type: ignore[arg-type]
            validation_select=validation,
            params=params,
            model=model_ref,
            label=label,
            into=into,
            into_span=into_span,
            columns=tuple(columns),
        )

    def _predict(self, c: _Cursor, common: dict[str, object]) -> PredictStatement:
        target, target_span = c.qualified_name("a result table (table.column)")
        column = DEFAULT_PREDICTION_COLUMN
        if len(target.parts) >= 2:
            # SQLFlow writes `TO PREDICT table.column`: the last part names the result column.
            column = target.parts[-1]
            target = QualifiedName(target.parts[:-1])
        params = c.with_clause() if c.at_word("WITH") else ()
        c.expect_word("USING", "TO PREDICT <table>.<column> [WITH …] USING <model>[@<version>]")
        using, using_span, using_version = c.model_pin("a model name")
        c.expect_end()
        return PredictStatement(
            **common,  # type: ignore[arg-type]
            params=params,
            into=target,
            into_span=target_span,
            column=column,
            using=using,
            using_span=using_span,
            using_version=using_version,
        )

    def _evaluate(self, c: _Cursor, common: dict[str, object]) -> EvaluateStatement:
        usage = 'TO EVALUATE <model> [WITH validation.metrics = "Accuracy,AUC", check.accuracy >= 0.9] LABEL <column> INTO <table>'
        model, model_span, version = c.model_pin("the name of a trained model")
        checks: list[MetricCheck] = []
        params = c.with_clause(checks) if c.at_word("WITH") else ()
        c.expect_word("LABEL", usage)
        label = c.identifier("a label column").text
        c.expect_word("INTO", usage)
        into, into_span = c.qualified_name("a result table")
        c.expect_end()
        return EvaluateStatement(
            **common,  # type: ignore[arg-type]
            params=params,
            model=model,
            model_span=model_span,
            label=label,
            into=into,
            into_span=into_span,
            model_version=version,
            checks=tuple(checks),
        )

    def _explain(self, c: _Cursor, common: dict[str, object]) -> ExplainStatement:
        model, model_span, version = c.model_pin("the name of a trained model")
        params = c.with_clause() if c.at_word("WITH") else ()
        explainer = None
        if c.at_word("USING"):
            c.next()
            explainer = c.identifier("an explainer such as TreeExplainer").text
        into = into_span = None
        if c.at_word("INTO"):
            c.next()
            into, into_span = c.qualified_name("a result table")
        c.expect_end("TO EXPLAIN <model> [WITH …] [USING <explainer>] [INTO <table>]")
        return ExplainStatement(
            **common,  # type: ignore[arg-type]
            params=params,
            model=model,
            model_span=model_span,
            explainer=explainer,
            into=into,
            into_span=into_span,
            model_version=version,
        )

    def _run(self, c: _Cursor, common: dict[str, object]) -> RunStatement:
        program = c.model_reference("a program such as my_image:1.0/my_pkg.my_program")
        args: list[str] = []
        if c.at_word("CMD"):
            c.next()
            while True:
                token = c.next()
                if token.token_type not in _QUOTED:
                    raise c.fail(token, "a quoted argument", 'write CMD "--flag=value", "arg"')
                args.append(token.text)
                if (nxt := c.peek()) is None or nxt.token_type is not TokenType.COMMA:
                    break
                c.next()
        into = into_span = None
        if c.at_word("INTO"):
            c.next()
            into, into_span = c.qualified_name("a result table")
        c.expect_end('TO RUN <image/program> [CMD "arg", …] [INTO <table>]')
        return RunStatement(
            **common,  # type: ignore[arg-type]
            params=(),
            program=program,
            args=tuple(args),
            into=into,
            into_span=into_span,
        )

    # -- model statements without a query ---------------------------------------------

    def parse_model_statement(self, tokens: list[Token]) -> Statement | None:
        """Rikai's ``CREATE MODEL``/``DESCRIBE MODEL``/``SHOW MODELS``/``DROP MODEL`` and
        SQLFlow's ``SHOW TRAIN``; None when the statement is none of them."""
        words = [_word(t) for t in tokens[:4]]
        if words[:1] == ["SHOW"] and len(tokens) == 2 and tokens[1].token_type is TokenType.STRING:
            tokens = self._retokenize_command(tokens)  # dialects that read SHOW's rest as text
            words = [_word(t) for t in tokens[:4]]
        c = _Cursor(self, tokens, 0)
        common = {
            "span": self.span(tokens[0], tokens[-1]),
            "fingerprint": token_fingerprint(tokens),
            "text": self.source.text[tokens[0].start : tokens[-1].end + 1],
        }
        if words[:2] == ["CREATE", "MODEL"] or words[:4] == ["CREATE", "OR", "REPLACE", "MODEL"]:
            return self._create_model(c, common)
        if words[:2] == ["SHOW", "MODELS"]:
            c.i = 2
            c.expect_end("SHOW MODELS")
            return ShowModelsStatement(**common)  # type: ignore[arg-type]
        catalog: dict[str, type[CatalogStatement]] = {
            "SHOW TRAIN": ShowTrainStatement,
            "DESC MODEL": DescribeModelStatement,
            "DESCRIBE MODEL": DescribeModelStatement,
            "DROP MODEL": DropModelStatement,
        }
        statement_class = catalog.get(" ".join(words[:2]))
        if statement_class is None:
            return None
        c.i = 2
        extra: dict[str, object] = {}
        if statement_class is DropModelStatement:
            extra["if_exists"] = c.at_words("IF", "EXISTS")
        if c.peek() is None:
            raise c.fail(None, "a model name", f"the form is: {statement_class.KEYWORDS} <model>")
        if statement_class is DropModelStatement:
            model, model_span = c.qualified_name("a model name")
        else:
            model, model_span, extra["version"] = c.model_pin("a model name")
        c.expect_end(f"{statement_class.KEYWORDS} <model>")
        return statement_class(**common, model=model, model_span=model_span, **extra)  # type: ignore[call-arg, arg-type]

    def _retokenize_command(self, tokens: list[Token]) -> list[Token]:
        """Some dialects tokenize everything after SHOW as one string; read it as words."""
        rest = tokens[1].text
        offset = self.source.text.find(rest, tokens[0].end + 1)
        if offset < 0:  # pragma: no cover - the text came from this source
            return tokens
        try:
            words = Dialect.get_or_raise("duckdb").tokenizer().tokenize(rest)
        except TokenError:  # not words after all: leave the statement to sqlglot
            return tokens
        shifted = [
            Token(t.token_type, t.text, t.line, t.col, t.start + offset, t.end + offset)
            for t in words
        ]
        return [tokens[0], *shifted]

    def _create_model(self, c: _Cursor, common: dict[str, object]) -> CreateModelStatement:
        usage = (
            "CREATE [OR REPLACE] MODEL [IF NOT EXISTS] <name> [FLAVOR <flavor>] "
            "[MODEL_TYPE <type>] [OPTIONS (key = value, …)] [RETURNS <type>] [USING '<uri>']"
        )
        c.next()  # CREATE
        replace = c.at_words("OR", "REPLACE")
        c.next()  # MODEL
        if_not_exists_at = c.peek()
        if_not_exists = c.at_words("IF", "NOT", "EXISTS")
        if replace and if_not_exists:
            assert if_not_exists_at is not None
            self.error(
                codes.ML_SYNTAX,
                "OR REPLACE and IF NOT EXISTS cannot be combined",
                if_not_exists_at.start,
                if_not_exists_at.end + 1,
                hint="OR REPLACE always replaces the model; IF NOT EXISTS keeps an existing one — choose one",
            )
        name, name_span = c.qualified_name("a model name")
        flavor = model_type = returns = uri = None
        uri_span = None
        options: tuple[Param, ...] = ()
        if c.at_word("FLAVOR"):
            c.next()
            flavor = c.identifier("a flavor such as sklearn or pytorch").text.lower()
        if c.at_word("MODEL_TYPE"):
            c.next()
            type_name, _ = c.qualified_name("a model type such as resnet50")
            model_type = str(type_name)
        if c.at_word("OPTIONS"):
            options = c.options()
        if c.at_word("RETURNS"):
            c.next()
            returns = c.data_type()
        if c.at_word("USING"):
            c.next()
            uri_token = c.next()
            if uri_token.token_type not in _QUOTED:
                raise c.fail(uri_token, "a quoted model URI", "write USING 'path/to/model.skops'")
            uri = uri_token.text
            uri_span = self.span(uri_token, uri_token)
        after = c.peek()
        if after is not None and _word(after) == "AS":
            raise c.fail(
                after,
                "the end of the statement",
                "CREATE MODEL registers a model trained elsewhere; to train from a query "
                "write SELECT … TO TRAIN <model> … INTO <name>",
            )
        c.expect_end(usage)
        return CreateModelStatement(
            **common,  # type: ignore[arg-type]
            name=name,
            name_span=name_span,
            replace=replace,
            if_not_exists=if_not_exists,
            flavor=flavor,
            model_type=model_type,
            options=options,
            returns=returns,
            uri=uri,
            uri_span=uri_span,
        )


#: How deep WITH lists, COLUMN expressions and RETURNS types may nest.
MAX_NESTING = 32


@dataclass
class _Cursor:
    """A position in one statement's tokens, with the small grammar of the SQLFlow tail."""

    p: _FileParser
    tokens: list[Token]
    i: int
    depth: int = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1]
            self.p.error(codes.ML_SYNTAX, "statement ends too early", last.end, last.end + 1)
            raise _Abort
        self.i += 1
        return token

    def at_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and _word(token) == word

    def fail(self, token: Token | None, expected: str, hint: str | None = None) -> _Abort:
        if token is None:
            last = self.tokens[-1]
            self.p.error(
                codes.ML_SYNTAX,
                f"expected {expected} but the statement ends",
                last.end,
                last.end + 1,
                hint,
            )
        else:
            self.p.error(
                codes.ML_SYNTAX,
                f"expected {expected}, found '{token.text}'",
                token.start,
                token.end + 1,
                hint,
            )
        return _Abort()

    def expect_word(self, word: str, usage: str) -> Token:
        token = self.peek()
        if token is None or _word(token) != word:
            hint = f"the form is: {usage}"
            if token is not None and token.token_type not in _QUOTED:
                close = difflib.get_close_matches(token.text.upper(), [word], n=1, cutoff=0.6)
                if close:
                    hint = f"did you mean {close[0]}? The form is: {usage}"
            raise self.fail(token, word, hint)
        return self.next()

    def at_words(self, *words: str) -> bool:
        """Consume ``words`` if they come next (``OR REPLACE``, ``IF NOT EXISTS``)."""
        ahead = self.tokens[self.i : self.i + len(words)]
        if len(ahead) == len(words) and all(
            _word(t) == w for t, w in zip(ahead, words, strict=True)
        ):
            self.i += len(words)
            return True
        return False

    def expect_end(self, usage: str | None = None) -> None:
        token = self.peek()
        if token is not None:
            hint = "is a ';' missing before this?"
            if usage:
                hint += f" The form is: {usage}"
            raise self.fail(token, "the end of the statement", hint)

    def identifier(self, what: str) -> Token:
        token = self.peek()
        if (
            token is None
            or token.token_type in (TokenType.STRING, TokenType.NUMBER, TokenType.SEMICOLON)
            or not token.text
        ):
            raise self.fail(token, what)
        if token.token_type in (
            TokenType.DOT,
            TokenType.COMMA,
            TokenType.EQ,
            TokenType.L_PAREN,
            TokenType.R_PAREN,
        ):
            raise self.fail(token, what)
        return self.next()

    def dotted(self, what: str) -> tuple[list[Token], Span]:
        """``a.b.c``: the name tokens and the span covering them."""
        tokens = [self.identifier(what)]
        while (token := self.peek()) is not None and token.token_type is TokenType.DOT:
            self.next()
            tokens.append(self.identifier(what))
        return tokens, self.p.span(tokens[0], tokens[-1])

    def qualified_name(self, what: str) -> tuple[QualifiedName, Span]:
        tokens, span = self.dotted(what)
        return QualifiedName(tuple(t.text for t in tokens)), span

    def model_pin(self, what: str) -> tuple[QualifiedName, Span, int | None]:
        """``model``, ``model@3`` or ``model@latest``: the name, its span and the pinned
        version (``None`` for latest)."""
        name, span = self.qualified_name(what)
        token = self.peek()
        if token is None or token.text != "@":
            return name, span, None
        self.next()
        version = self.p.pin_version(self.peek(), self.tokens[-1])
        self.next()
        return name, span, version

    def model_reference(
        self, what: str = "a model reference such as sklearn.ensemble.RandomForestClassifier"
    ) -> ModelRef:
        """``pkg.mod.Class``, optionally prefixed by a container image:
        ``registry.example.com:5000/team/models:1.2/my_models.MyClassifier`` or
        ``ghcr.io/org/img@sha256:<digest>/pkg.Model``.

        The reference is the run of tokens with no whitespace between them; the image is
        everything before its last ``/``.
        """
        nxt = self.peek()
        if nxt is not None and nxt.token_type is TokenType.NUMBER:  # 123456789012.dkr.ecr…/…
            first = self.next()
        else:
            first = self.identifier(what)
        last = first
        while (token := self.peek()) is not None and token.start == last.end + 1:
            last = self.next()
        text = self.p.source.text[first.start : last.end + 1]
        image, slash, reference = text.rpartition("/")
        ref_start = first.start + len(image) + len(slash)
        if not reference or not all(part.isidentifier() for part in reference.split(".")):
            self.p.error(
                codes.ML_SYNTAX,
                f"'{reference or text}' is not a Python reference such as my_models.MyClassifier",
                ref_start,
                last.end + 1,
                hint="a model is a dotted Python name, optionally after an image: registry/repo:tag/pkg.Model",
            )
            raise _Abort
        if slash:
            problem = image_reference_problem(image)
            if problem:
                self.p.error(
                    codes.BAD_IMAGE,
                    f"'{image}' is not a valid container image reference: {problem}",
                    first.start,
                    ref_start - 1,
                    hint="write [registry[:port]/]repository[:tag][@sha256:<digest>] before /pkg.Model",
                )
                raise _Abort
        image_span = Span.of(self.p.source, first.start, ref_start - 1) if slash else None
        return ModelRef(reference=reference, image=image or None, image_span=image_span)

    # -- COLUMN clauses ---------------------------------------------------------------

    def column_clause(self) -> ColumnGroup:
        """``COLUMN <feature>, … [FOR <argument>]``."""
        first = self.next()  # COLUMN
        columns = [self.feature_column()]
        while (token := self.peek()) is not None and token.token_type is TokenType.COMMA:
            self.next()
            columns.append(self.feature_column())
        target = None
        last = self.tokens[self.i - 1]
        if self.at_word("FOR"):
            self.next()
            last = self.identifier("the model argument the columns are for")
            target = last.text
        return ColumnGroup(tuple(columns), target, self.p.span(first, last))

    def feature_column(self) -> FeatureColumn:
        raw = self.feature_argument()
        if raw.kind == "call":
            assert isinstance(raw.value, FeatureColumn)
            return raw.value
        if raw.kind == "name":
            return ColumnName(str(raw.value), span=raw.span)
        self.p.error(
            codes.ML_SYNTAX,
            f"expected a column or a feature column such as NUMERIC(x, 1), found '{raw.text}'",
            raw.span.start,
            raw.span.end,
            hint="feature columns: " + ", ".join(FEATURE_FUNCTIONS),
        )
        raise _Abort

    def feature_argument(self) -> _RawArg:
        self.nest()
        try:
            return self._feature_argument()
        finally:
            self.depth -= 1

    def _feature_argument(self) -> _RawArg:
        """One argument as written; its meaning comes from the function's signature."""
        token = self.peek()
        if token is None:
            raise self.fail(token, "a column or a value")
        if token.token_type is TokenType.L_BRACKET:
            first = self.next()
            items: list[_RawArg] = []
            if (nxt := self.peek()) is not None and nxt.token_type is TokenType.R_BRACKET:
                closing = self.next()
            else:
                while True:
                    items.append(self.feature_argument())
                    closing = self.next()
                    if closing.token_type is TokenType.R_BRACKET:
                        break
                    if closing.token_type is not TokenType.COMMA:
                        raise self.fail(closing, "',' or ']' in a list")
            return _RawArg("list", None, self.p.span(first, closing), "[…]", tuple(items))
        if token.token_type in (TokenType.NUMBER, TokenType.DASH, TokenType.PLUS):
            value, end = self.value()
            return _RawArg("number", value, Span.of(self.p.source, token.start, end), token.text)
        if token.token_type is TokenType.STRING:
            self.next()
            return _RawArg("string", token.text, self.p.span(token, token), token.text)
        name_token = self.identifier("a column or a feature column such as NUMERIC(x, 1)")
        nxt = self.peek()
        if (
            nxt is not None
            and nxt.token_type is TokenType.L_PAREN
            and name_token.token_type not in _QUOTED
        ):
            call = self.feature_call(name_token)
            return _RawArg(
                "call", call, call.span or self.p.span(name_token, name_token), name_token.text
            )
        kind = "quoted" if name_token.token_type in _QUOTED else "name"
        return _RawArg(kind, name_token.text, self.p.span(name_token, name_token), name_token.text)

    def feature_call(self, name_token: Token) -> FeatureColumn:
        function = name_token.text.upper()
        cls = FEATURE_FUNCTIONS.get(function)
        if cls is None:
            close = difflib.get_close_matches(function, list(FEATURE_FUNCTIONS), n=1)
            self.p.error(
                codes.UNKNOWN_FUNCTION,
                f"unknown feature column '{name_token.text}'",
                name_token.start,
                name_token.end + 1,
                hint=(f"did you mean {close[0]}? " if close else "")
                + "feature columns: "
                + ", ".join(FEATURE_FUNCTIONS),
            )
            raise _Abort
        self.next()  # (
        raw: list[_RawArg] = []
        if (nxt := self.peek()) is not None and nxt.token_type is TokenType.R_PAREN:
            closing = self.next()
        else:
            while True:
                raw.append(self.feature_argument())
                closing = self.next()
                if closing.token_type is TokenType.R_PAREN:
                    break
                if closing.token_type is not TokenType.COMMA:
                    raise self.fail(
                        closing, f"',' or ')' in {function}(…)", f"the form is {cls.usage()}"
                    )
        span = self.p.span(name_token, closing)
        if len(raw) > len(cls.SIGNATURE):
            extra = raw[len(cls.SIGNATURE)]
            self.p.error(
                codes.BAD_ARGUMENT,
                f"{function} takes at most {len(cls.SIGNATURE)} arguments",
                extra.span.start,
                raw[-1].span.end,
                hint=f"the form is {cls.usage()}",
            )
            raise _Abort
        values: dict[str, object] = {}
        for i, arg in enumerate(cls.SIGNATURE):
            if i >= len(raw):
                if arg.required:
                    self.p.error(
                        codes.BAD_ARGUMENT,
                        f"{function} needs its {arg.name} argument",
                        closing.start,
                        closing.end + 1,
                        hint=f"the form is {cls.usage()}",
                    )
                    raise _Abort
                continue
            values[arg.name] = self.convert_argument(raw[i], arg.kind, cls, arg.name)
        return cls(**values, span=span)

    def convert_argument(
        self, raw: _RawArg, kind: ArgKind, cls: type[FeatureColumn], name: str
    ) -> object:
        """A raw argument as the signature wants it, or a diagnostic saying what was expected."""
        expected = {
            ArgKind.COLUMN: "a column or a feature column",
            ArgKind.COLUMNS: "a list of columns such as [a, b]",
            ArgKind.INT: "a positive integer",
            ArgKind.SHAPE: "a positive integer or a list of them",
            ArgKind.NUMBERS: "an ascending list of numbers such as [0, 10, 100]",
            ArgKind.WORD: "a word or a string",
        }[kind]
        value: object = None
        if kind is ArgKind.COLUMN:
            if raw.kind in ("name", "quoted"):
                value = ColumnName(str(raw.value), span=raw.span)
            elif raw.kind == "call":
                value = raw.value
        elif kind is ArgKind.COLUMNS:
            if raw.kind == "list" and raw.items:
                value = tuple(
                    self.convert_argument(item, ArgKind.COLUMN, cls, name) for item in raw.items
                )
        elif kind is ArgKind.INT:
            if raw.kind == "number" and _is_positive_int(raw.value):
                value = raw.value
        elif kind is ArgKind.SHAPE:
            if raw.kind == "number" and _is_positive_int(raw.value):
                value = raw.value
            elif (
                raw.kind == "list"
                and raw.items
                and all(i.kind == "number" and _is_positive_int(i.value) for i in raw.items)
            ):
                value = tuple(i.value for i in raw.items)
        elif kind is ArgKind.NUMBERS:
            if raw.kind == "list" and raw.items and all(i.kind == "number" for i in raw.items):
                numbers: list[Any] = [i.value for i in raw.items]
                if all(a < b for a, b in itertools.pairwise(numbers)):
                    value = tuple(numbers)
                else:
                    expected = "in ascending order"
        elif raw.kind == "name" and raw.text.upper() == "NULL":
            return None  # an optional word left out before a later one
        elif raw.kind in ("name", "quoted", "string"):
            value = str(raw.value)
        if value is None:
            self.p.error(
                codes.BAD_ARGUMENT,
                f"{cls.FUNCTION}'s {name} must be {expected}, found "
                f"'{self.p.source.text[raw.span.start : raw.span.end]}'",
                raw.span.start,
                raw.span.end,
                hint=f"the form is {cls.usage()}",
            )
            raise _Abort
        return value

    # -- Rikai's OPTIONS and RETURNS -----------------------------------------------------

    def options(self) -> tuple[Param, ...]:
        """``OPTIONS (key = value, …)``: dotted keys, typed values."""
        self.next()  # OPTIONS
        opening = self.next()
        if opening.token_type is not TokenType.L_PAREN:
            raise self.fail(opening, "'(' after OPTIONS", "write OPTIONS (key = value, …)")
        params: list[Param] = []
        seen: set[str] = set()
        if (nxt := self.peek()) is not None and nxt.token_type is TokenType.R_PAREN:
            self.next()
            return ()
        while True:
            tokens, key_span = self.dotted("an option name")
            key = ".".join(t.text for t in tokens)
            token = self.peek()
            if token is None or token.token_type is not TokenType.EQ:
                raise self.fail(token, "'=' after the option name", f"write {key} = <value>")
            self.next()
            value, value_end = self.value()
            param = Param("options", key, value, Span.of(self.p.source, key_span.start, value_end))
            if key in seen:
                self.p.error(
                    codes.DUPLICATE_PARAM,
                    f"option '{key}' is set twice",
                    param.span.start,
                    param.span.end,
                )
            seen.add(key)
            params.append(param)
            closing = self.next()
            if closing.token_type is TokenType.R_PAREN:
                return tuple(params)
            if closing.token_type is not TokenType.COMMA:
                raise self.fail(closing, "',' or ')' in OPTIONS")

    def data_type(self) -> str:
        self.nest()
        try:
            return self._data_type()
        finally:
            self.depth -= 1

    def _data_type(self) -> str:
        """Rikai's ``RETURNS`` type: ``STRUCT<name:type, …>``, ``ARRAY<type>`` or a name,
        in a canonical lower-case spelling."""
        name = self.identifier("a type such as int, array<float> or struct<label:int>")
        word = name.text.lower()
        if word not in ("struct", "array"):
            return word
        self.expect_angle("<", f"'<' after {word.upper()}")
        if word == "array":
            inner = self.data_type()
            self.expect_angle(">", "'>' to close ARRAY<…>")
            return f"array<{inner}>"
        fields = []
        while True:
            field_name = self.identifier("a field name").text
            colon = self.next()
            if colon.token_type is not TokenType.COLON:
                raise self.fail(
                    colon, "':' between a field name and its type", "write STRUCT<name:type, …>"
                )
            fields.append(f"{field_name}:{self.data_type()}")
            if (nxt := self.peek()) is not None and nxt.token_type is TokenType.COMMA:
                self.next()
                continue
            self.expect_angle(">", "',' or '>' in STRUCT<…>")
            return "struct<" + ", ".join(fields) + ">"

    def expect_angle(self, bracket: str, expected: str) -> None:
        """``<`` or ``>``; a ``>>`` token closes two levels (``ARRAY<ARRAY<int>>``)."""
        token = self.peek()
        if token is None or not token.text.startswith(bracket) or set(token.text) != {bracket}:
            raise self.fail(token, expected)
        if len(token.text) == 1:
            self.next()
        else:  # split '>>' into two closings, in place
            self.tokens[self.i] = Token(
                token.token_type, token.text[1:], token.line, token.col, token.start + 1, token.end
            )

    # -- WITH -------------------------------------------------------------------------

    def with_clause(self, checks: list[MetricCheck] | None = None) -> tuple[Param, ...]:
        """``WITH key = value, …``. TO EVALUATE passes ``checks``, which collects its quality
        gates (``check.accuracy >= 0.9``); on any other statement a gate is an error."""
        self.next()  # WITH
        params: list[Param] = []
        seen: dict[str, Span] = {}
        while True:
            item = self.attribute()
            assert item.span is not None
            key = f"{CHECK_NAMESPACE}.{item.metric}" if isinstance(item, MetricCheck) else item.key
            if key in seen:
                self.p.error(
                    codes.DUPLICATE_PARAM,
                    f"'{key}' is set twice",
                    item.span.start,
                    item.span.end,
                    hint=f"the first value is at {seen[key].location()}",
                )
            seen[key] = item.span
            if isinstance(item, Param):
                params.append(item)
            elif checks is not None:
                checks.append(item)
            else:
                self.p.error(
                    codes.MISPLACED_CHECK,
                    f"quality gate '{key} {item.op} {item.threshold!r}' outside TO EVALUATE",
                    item.span.start,
                    item.span.end,
                    hint="a gate judges an evaluation: SELECT … TO EVALUATE <model> "
                    f"WITH {key} {item.op} {item.threshold!r} LABEL <column> INTO <table>",
                )
            if (token := self.peek()) is not None and token.token_type is TokenType.COMMA:
                self.next()
                continue
            return tuple(params)

    def attribute(self) -> Param | MetricCheck:
        tokens, key_span = self.dotted("an attribute name such as model.n_estimators")
        first, parts = tokens[0], [t.text for t in tokens]
        if len(parts) > 1 and parts[0].lower() == CHECK_NAMESPACE:
            return self.metric_check(tokens)
        if len(parts) == 1:
            namespace, path = "model", parts[0]
        else:
            namespace, path = parts[0].lower(), ".".join(parts[1:])
            if namespace not in PARAM_NAMESPACES:
                known = (*PARAM_NAMESPACES, CHECK_NAMESPACE)
                close = difflib.get_close_matches(namespace, known, n=1)
                hint = f"did you mean '{close[0]}.{path}'?" if close else None
                self.p.error(
                    codes.UNKNOWN_NAMESPACE,
                    f"unknown attribute namespace '{parts[0]}'",
                    first.start,
                    first.end + 1,
                    hint=(hint + " " if hint else "")
                    + f"namespaces are: {', '.join(PARAM_NAMESPACES)}"
                    + f" (and {CHECK_NAMESPACE}.<metric> thresholds on TO EVALUATE)",
                )
        token = self.peek()
        if token is not None and _COMPARISONS.get(token.token_type, "=") != "=":
            written = ".".join(parts)
            self.p.error(
                codes.MISPLACED_CHECK,
                f"'{written}' is a parameter and takes '=', not '{token.text}'",
                token.start,
                token.end + 1,
                hint=f"write {written} = <value>; thresholds are quality gates on TO EVALUATE "
                f"(WITH {CHECK_NAMESPACE}.<metric> {token.text} <number>)",
            )
            raise _Abort
        if token is None or token.token_type is not TokenType.EQ:
            raise self.fail(
                token, "'=' after the attribute name", f"write {'.'.join(parts)} = <value>"
            )
        self.next()
        value, value_end = self.value()
        return Param(
            namespace=namespace,
            path=path,
            value=value,
            span=Span.of(self.p.source, key_span.start, value_end),
        )

    def metric_check(self, tokens: list[Token]) -> MetricCheck:
        """``check.<metric> <op> <number>``: the metric is one EVALUATE computes (any
        spelling ``validation.metrics`` accepts), the threshold a number."""
        written = ".".join(t.text for t in tokens[1:])
        name_start, name_end = tokens[1].start, tokens[-1].end + 1
        metric = EVALUATION_METRICS.get(written.lower().replace("_", ""))
        if metric is None:
            known = sorted(set(EVALUATION_METRICS.values()))
            close = difflib.get_close_matches(written.lower(), list(EVALUATION_METRICS), n=1)
            hint = f"did you mean '{EVALUATION_METRICS[close[0]]}'? " if close else ""
            self.p.error(
                codes.BAD_CHECK,
                f"unknown metric '{written}' in a quality gate",
                name_start,
                name_end,
                hint=f"{hint}gates compare a metric EVALUATE computes: {', '.join(known)}",
            )
            raise _Abort
        usage = (
            f"write {CHECK_NAMESPACE}.{metric} >= 0.9 (comparisons: {', '.join(CHECK_OPERATORS)})"
        )
        token = self.peek()
        if token is None or token.token_type not in _COMPARISONS:
            raise self.fail(token, f"a comparison after '{CHECK_NAMESPACE}.{written}'", usage)
        self.next()
        value_token = self.peek()
        value, value_end = self.value()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            at = value_token or token
            self.p.error(
                codes.BAD_CHECK,
                f"the threshold of '{CHECK_NAMESPACE}.{metric}' must be a number",
                at.start,
                max(value_end, at.start + 1),
                hint=usage,
            )
            raise _Abort
        return MetricCheck(
            metric=metric,
            op=_COMPARISONS[token.token_type],
            threshold=value,
            span=Span.of(self.p.source, tokens[0].start, value_end),
        )

    def directive(self, file_scope: bool) -> Directive:
        tokens, key_span = self.dotted("a directive name such as schedule or owner")
        key = ".".join(t.text for t in tokens)
        token = self.peek()
        if token is None or token.token_type is not TokenType.EQ:
            raise self.fail(token, "'=' after the directive name", f"write {key} = <value>")
        self.next()
        value, value_end = self.value()
        if (
            isinstance(value, str)
            and (token := self.peek()) is not None
            and token.token_type is TokenType.L_PAREN
            and self.tokens[self.i - 1].token_type not in _QUOTED
        ):
            self.next()
            args: list[ParamValue] = []
            while True:
                if (token := self.peek()) is not None and token.token_type is TokenType.R_PAREN:
                    value_end = self.next().end + 1
                    break
                arg, _ = self.value()
                args.append(arg)
                closing = self.peek()
                if closing is not None and closing.token_type is TokenType.COMMA:
                    self.next()
                elif closing is None or closing.token_type is not TokenType.R_PAREN:
                    raise self.fail(closing, "',' or ')' in the call")
            value = DirectiveCall(function=value, args=tuple(args))
        return Directive(
            key=key,
            value=value,
            span=Span.of(self.p.source, key_span.start, value_end),
            file_scope=file_scope,
        )

    def number(self, token: Token) -> int | float:
        try:
            return _number(token.text)
        except ValueError:
            raise self.fail(token, "a number", "write 10, 0.5 or 1e-3") from None

    def nest(self) -> None:
        """Guards the recursive rules (lists, nested feature columns, types)."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            token = self.peek() or self.tokens[-1]
            self.p.error(
                codes.ML_SYNTAX,
                f"nested more than {MAX_NESTING} levels deep",
                token.start,
                token.end + 1,
                hint="lists, feature columns and types nest at most this deep",
            )
            raise _Abort

    def value(self) -> tuple[ParamValue, int]:
        self.nest()
        try:
            return self._value()
        finally:
            self.depth -= 1

    def _value(self) -> tuple[ParamValue, int]:
        """A typed literal; returns the value and the end offset of its last token."""
        token = self.next()
        tt = token.token_type
        if tt is TokenType.DASH or tt is TokenType.PLUS:
            number = self.next()
            if number.token_type is not TokenType.NUMBER:
                raise self.fail(number, "a number after the sign")
            value = self.number(number)
            return (-value if tt is TokenType.DASH else value), number.end + 1
        if tt is TokenType.NUMBER:
            return self.number(token), token.end + 1
        if tt in _QUOTED:
            # SQLFlow writes strings in double quotes; many dialects tokenize those as
            # quoted identifiers, which in a WITH value can only mean a string.
            return token.text, token.end + 1
        if tt is TokenType.L_BRACKET:
            items: list[ParamValue] = []
            if (nxt := self.peek()) is not None and nxt.token_type is TokenType.R_BRACKET:
                return items, self.next().end + 1
            while True:
                item, _ = self.value()
                items.append(item)
                closing = self.next()
                if closing.token_type is TokenType.R_BRACKET:
                    return items, closing.end + 1
                if closing.token_type is not TokenType.COMMA:
                    raise self.fail(closing, "',' or ']' in a list")
        word = _word(token)
        if word in ("TRUE", "FALSE"):
            return word == "TRUE", token.end + 1
        if word == "NULL":
            return None, token.end + 1
        if tt in (
            TokenType.COMMA,
            TokenType.EQ,
            TokenType.R_BRACKET,
            TokenType.L_PAREN,
            TokenType.R_PAREN,
        ):
            raise self.fail(token, "a value (number, string, true/false, [list] or name)")
        # A bare name, possibly dotted (e.g. an activation function `tf.nn.relu`).
        self.i -= 1
        tokens, span = self.dotted("a name")
        return ".".join(t.text for t in tokens), span.end


@dataclass(frozen=True)
class _RawArg:
    """A feature-column argument before the signature gives it a meaning."""

    kind: str  # name | quoted | string | number | list | call
    value: object
    span: Span
    text: str
    items: tuple[_RawArg, ...] = ()


def _comment_lines(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The ``[start, end)`` of each comment line's body in ``text[start:end]``, a gap the
    tokenizer found no token in (so only whitespace, ``;`` and comments): ``-- x`` and
    ``# x`` bodies, and each line of a ``/* … */`` block."""
    i = start
    while i < end:
        char = text[i]
        if char.isspace() or char == ";":
            i += 1
        elif text.startswith("--", i) or char == "#":
            body = i + (1 if char == "#" else 2)
            newline = text.find("\n", body, end)
            stop = end if newline < 0 else newline
            yield body, stop
            i = stop
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2, end)
            stop = end if close < 0 else close
            line = i + 2
            while line < stop:
                newline = text.find("\n", line, stop)
                line_end = stop if newline < 0 else newline
                yield line, line_end
                line = line_end + 1
            i = stop + 2
        else:
            i += 1  # not reached for a true gap; never loop forever


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _node_offsets(
    node: exp.Expr, text: str, default: tuple[int, int] | None = None
) -> tuple[int, int]:
    """Source offsets ``[start, end)`` of a sqlglot node, from the token positions sqlglot
    keeps in ``meta`` (its own, else those of the names and literals under it)."""
    meta = node.meta
    if "start" in meta:
        return meta["start"], meta["end"] + 1
    starts, ends = [], []
    for child in node.walk():
        m = child.meta
        if "start" in m:
            starts.append(m["start"])
            ends.append(m["end"] + 1)
    if starts:
        return min(starts), max(ends)
    return default or (0, len(text))


_DIGEST_ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}


def image_reference_problem(image: str) -> str | None:
    """Why ``image`` is not a valid OCI image reference, or None. (An image, not SQL.)"""
    name, at, digest = image.partition("@")
    if at:
        algorithm, colon, hexdigest = digest.partition(":")
        if not colon or algorithm not in _DIGEST_ALGORITHMS:
            return "a digest is written @sha256:<hex>"
        if len(hexdigest) != _DIGEST_ALGORITHMS[algorithm] or any(
            c not in "0123456789abcdef" for c in hexdigest
        ):
            return f"a {algorithm} digest has {_DIGEST_ALGORITHMS[algorithm]} lower-case hex digits"
    components = name.split("/")
    last = components[-1]
    if ":" in last:
        last, _, tag = last.partition(":")
        if (
            not tag
            or len(tag) > 128
            or not (tag[0].isalnum() or tag[0] == "_")
            or any(not (c.isalnum() or c in "._-") for c in tag)
        ):
            return f"invalid tag '{tag}'"
        components[-1] = last
    registry = (
        components[0]
        if len(components) > 1
        and ("." in components[0] or ":" in components[0] or components[0] == "localhost")
        else None
    )
    path = components[1:] if registry else components
    if registry is not None:
        host, _, port = registry.partition(":")
        if not host or (port and not port.isdigit()):
            return f"invalid registry '{registry}'"
    for component in path:
        if (
            not component
            or component != component.lower()
            or not component[0].isalnum()
            or any(not (c.isalnum() or c in "._-") for c in component)
        ):
            return f"invalid repository component '{component}' (lower-case letters, digits, '.', '_', '-')"
    return None


def image_allowed(image: str, prefixes: Sequence[str]) -> bool:
    """Whether ``image`` starts with one of ``prefixes`` at a path boundary
    (``registry.example.com/team`` allows ``registry.example.com/team/models:1.2``)."""
    if not prefixes:
        return True
    for prefix in prefixes:
        if image == prefix or (prefix.endswith(("/", ":", "@")) and image.startswith(prefix)):
            return True
        if image.startswith(prefix) and image[len(prefix)] in "/:@":
            return True
    return False


_VERBATIM = frozenset((*_QUOTED, TokenType.NUMBER))
_KIND_PREFIX = {kind: f"{kind.name}\x1f" for kind in TokenType}


def token_fingerprint(tokens: Sequence[Token]) -> str:
    """sha256 of the statement's tokens: comments and layout never reach the tokens, unquoted
    names are compared lower-case as SQL does, strings and quoted names exactly."""
    parts: list[str] = []
    append = parts.append
    var = TokenType.VAR
    for token in tokens:
        kind = token.token_type
        text = token.text
        if kind is var:
            text = text.lower()
        elif kind not in _VERBATIM:
            text = text.upper()
        append(_KIND_PREFIX[kind])
        append(text)
        append("\x1e")
    return hashlib.sha256("".join(parts).encode()).hexdigest()


def _word(token: Token) -> str:
    """The upper-cased text of an unquoted word token ('' for quoted or punctuation)."""
    if token.token_type in _QUOTED:
        return ""
    return token.text.upper()


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


_KEYWORDS_FOR_HINTS = (
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "ORDER",
    "JOIN",
    "LIMIT",
    "HAVING",
    "UNION",
    "TABLE",
    "INSERT",
)


def _syntax_hint(culprit: Token, tokens: list[Token]) -> str | None:
    close = difflib.get_close_matches(culprit.text.upper(), _KEYWORDS_FOR_HINTS, n=1, cutoff=0.75)
    if close and close[0] != culprit.text.upper():
        return f"did you mean {close[0]}?"
    # A misspelled keyword often parses as an alias and the error lands on the next token.
    index = tokens.index(culprit) if culprit in tokens else -1
    if index > 0:
        before = tokens[index - 1]
        close = difflib.get_close_matches(
            before.text.upper(), _KEYWORDS_FOR_HINTS, n=1, cutoff=0.75
        )
        if close and close[0] != before.text.upper():
            return f"did you mean {close[0]} instead of '{before.text}'?"
    return None


def tables_read(tree: exp.Expr) -> tuple[QualifiedName, ...]:
    """The tables a statement reads, in order of appearance, without CTE names and table functions.

    Uses sqlglot's scope analysis so a CTE shadows a table of the same name only where it
    is visible; falls back to a plain tree walk for statements scopes do not cover.
    """
    found: dict[str, QualifiedName] = {}

    def add(table: exp.Table) -> None:
        if isinstance(table.this, exp.Identifier) and not _is_file_reference(table):
            name = QualifiedName.of_table(table)
            found.setdefault(name.key, name)

    if isinstance(tree, exp.Query):
        fast = _scope_tables(tree)
        if fast is not None:
            for table in fast:
                add(table)
            return tuple(found.values())
    try:
        scopes = traverse_scope(tree) if isinstance(tree, exp.Query) else []
    except Exception:  # scope building rejects some valid-but-unusual trees
        scopes = []
    if scopes:
        for scope in scopes:
            for source in scope.sources.values():
                if isinstance(source, exp.Table):
                    add(source)
        return tuple(found.values())
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.db or table.name.lower() not in cte_names:
            add(table)
    return tuple(found.values())


def _is_file_reference(table: exp.Table) -> bool:
    """DuckDB reads files by quoted path: ``FROM 'data/x.parquet'`` is not a table."""
    ident = table.this
    return bool(
        isinstance(ident, exp.Identifier) and ident.quoted and any(c in ident.name for c in "./\\")
    )


# -- tables_read without building scopes ------------------------------------------------
#
# ``traverse_scope`` builds a Scope per query and classifies every column of it; the graph
# only needs each scope's Table sources, in traverse_scope's order. The functions below
# follow sqlglot's own traversal (optimizer/scope.py: _traverse_select, _traverse_ctes,
# _traverse_tables, _traverse_subqueries, walk_in_scope) for SELECTs, set operations,
# CTEs, joins, derived tables and subqueries, and give up (None) on anything else —
# recursive CTEs, LATERAL, UNNEST/VALUES/table functions in FROM, PIVOT — which then
# takes the traverse_scope path, so the result is the same either way.


class _Unmodelled(Exception):
    """A construct the fast path does not model; traverse_scope handles the statement."""


def _scope_tables(tree: exp.Query) -> list[exp.Table] | None:
    out: list[exp.Table] = []
    try:
        _visit_scope(tree, {}, out)
    except (_Unmodelled, RecursionError):  # RecursionError: traverse_scope's path reports it
        return None
    return out


def _visit_scope(query: exp.Expr, inherited: dict[str, None], out: list[exp.Table]) -> None:
    """One scope: its child scopes first (post-order), then its own Table sources.

    ``inherited`` are the CTE names visible from the enclosing scopes (the Scope's
    ``cte_sources``); source dicts map a name to its Table, or None for a scope."""
    if isinstance(query, exp.Select):
        ctes = _visit_ctes(query, inherited, out)
        sources: dict[str, exp.Table | None] = dict(ctes)
        local: dict[str, exp.Table | None] = {}
        from_ = query.args.get("from_")
        pending: list[exp.Expr] = [from_.this] if from_ else []
        pending.extend(join.this for join in query.args.get("joins") or [])
        if query.args.get("laterals"):
            raise _Unmodelled
        for node in pending:  # grows while iterating, like _traverse_tables
            if isinstance(node, exp.Final):
                node = node.this
            if isinstance(node, exp.Table):
                if node.args.get("pivots"):
                    raise _Unmodelled
                name, source_name = node.name, node.alias_or_name
                if name in sources and not node.db:
                    local[source_name] = None  # a CTE of an enclosing WITH
                elif source_name in local:
                    local[find_new_name(local, name)] = node
                else:
                    local[source_name] = node
                pending.extend(join.this for join in node.args.get("joins") or [])
                continue
            if not isinstance(node, exp.DerivedTable):
                continue
            if isinstance(node, exp.UDTF) or node.args.get("pivots"):
                raise _Unmodelled
            if _is_derived_table(node):
                _visit_scope(node.unnest(), ctes, out)
                local[_source_alias(node)] = None
            else:  # (a JOIN b) without an alias: its tables belong to this scope
                pending.append(node.this)
            pending.extend(join.this for join in node.args.get("joins") or [])
        sources.update(local)
        for subquery in _subqueries(query):
            _visit_scope(subquery, ctes, out)
        out.extend(source for source in sources.values() if source is not None)
    elif isinstance(query, exp.SetOperation):
        ctes = _visit_ctes(query, inherited, out)
        for operand in (query.this, query.expression):
            _visit_scope(operand.unnest(), ctes, out)
    else:
        raise _Unmodelled


def _visit_ctes(
    query: exp.Expr, inherited: dict[str, None], out: list[exp.Table]
) -> dict[str, None]:
    with_ = query.args.get("with_")
    if not with_:
        return inherited
    if with_.recursive:
        raise _Unmodelled
    visible = dict(inherited)
    for cte in with_.expressions:
        _visit_scope(cte.this.unnest(), visible, out)
        visible[cte.alias] = None
    return visible


def _subqueries(scope_query: exp.Expr) -> list[exp.Expr]:
    """The queries that start subquery scopes directly inside ``scope_query``, in
    walk_in_scope's order (what Scope.subqueries collects)."""
    found: list[exp.Expr] = []
    stack: list[exp.Expr] = [scope_query]
    while stack:
        node = stack.pop()
        if node is not scope_query and isinstance(node, (exp.CTE, exp.Query)):
            if isinstance(node, exp.CTE):
                continue
            parent = node.parent
            if isinstance(parent, (exp.From, exp.Join)) and _is_derived_table(node):
                if (
                    isinstance(node, exp.UDTF)
                    or node.args.get("laterals")
                    or node.args.get("pivots")
                ):
                    raise _Unmodelled
                stack.extend(reversed(node.args.get("joins") or []))
                continue
            if isinstance(parent, exp.UDTF):
                raise _Unmodelled
            if isinstance(node, exp.UNWRAPPED_QUERIES):
                if not _is_from_or_join(node):
                    found.append(node)
                continue
        for value in reversed(node.args.values()):
            if value.__class__ is list:
                for item in reversed(value):
                    if isinstance(item, exp.Expr):
                        stack.append(item)
            elif isinstance(value, exp.Expr):
                stack.append(value)
    return found


def _is_derived_table(node: exp.Expr) -> bool:
    return isinstance(node, exp.Subquery) and bool(
        node.alias or node.args.get("pivots") or isinstance(node.this, exp.UNWRAPPED_QUERIES)
    )


def _is_from_or_join(node: exp.Expr) -> bool:
    parent = node.parent
    while type(parent) is exp.Subquery:
        parent = parent.parent
    return type(parent) in (exp.From, exp.Join)


def _source_alias(node: exp.Expr) -> str:
    alias_arg = node.args.get("alias")
    alias = node.alias
    if not alias and isinstance(alias_arg, exp.TableAlias) and len(alias_arg.columns) == 1:
        alias = alias_arg.columns[0].name
    return alias
