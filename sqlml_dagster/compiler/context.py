"""The state of parsing one file, which every statement kind's grammar shares: where
diagnostics go, source spans, and sqlglot's parser over the file's tokens (with the
``ML_PREDICT(m@3, …)`` pins taken out first and found again in the tree)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError
from sqlglot.tokens import Token, TokenType

from ..contract.lifecycle import ALIAS_HINT, Pin, alias_problem
from . import codes
from .diagnostics import Diagnostic, Severity, SourceFile, Span
from .names import NAME_HINT, ModelCall, QualifiedName
from .pins import ML_PREDICT, PIN_META
from .tokens import QUOTED, token_fingerprint, word_of

#: What every statement's constructor takes first: ``span``, ``text`` and ``fingerprint``
#: (and for ``<query> TO …`` the query's tree, span, tables read and model calls).
Common = dict[str, Any]


class Abort(Exception):
    """Stops parsing one statement after its diagnostic has been recorded."""


class ParseContext:
    """One file being parsed in one dialect."""

    def __init__(self, source: SourceFile, dialect: Dialect, dialect_name: str = "duckdb"):
        self.source = source
        self.dialect = dialect
        self.dialect_name = dialect_name
        self.diagnostics: list[Diagnostic] = []
        #: Whether the statement being parsed has an ``ML_PREDICT`` token at all.
        self.may_call_models = True
        self._pins: dict[int, Pin] = {}  # ML_PREDICT(m@3): offset of m → 3 (or an alias)
        self.sql_parser = dialect.parser()  # parse() resets it; one per file

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

    def common(self, tokens: list[Token]) -> Common:
        """The source facts of a statement: its span, exact text and token fingerprint."""
        return {
            "span": self.span(tokens[0], tokens[-1]),
            "text": self.source.text[tokens[0].start : tokens[-1].end + 1],
            "fingerprint": token_fingerprint(tokens),
        }

    # -- pins -------------------------------------------------------------------------

    def pin_version(self, token: Token | None, last: Token) -> Pin:
        """What follows ``@``: a positive version number, ``latest`` (→ None) or an alias
        (``champion``, lower-cased like an unquoted name; SQLML150 when it breaks the alias
        rule)."""
        if token is not None and word_of(token) == "LATEST":
            return None
        if (
            token is not None
            and token.token_type is TokenType.NUMBER
            and token.text.isdigit()
            and int(token.text) > 0
        ):
            return int(token.text)
        if (
            token is not None
            and token.text
            and token.token_type not in (TokenType.NUMBER, TokenType.SEMICOLON)
            and (token.text[0].isalpha() or token.text[0] == "_" or token.token_type in QUOTED)
        ):
            problem = alias_problem(token.text)
            if problem is None and token.token_type not in QUOTED:
                return token.text.lower()
            self.error(
                codes.BAD_ALIAS,
                f"'{token.text}' is not an alias: it "
                + (problem or "is quoted; an alias is written as a plain word"),
                token.start,
                token.end + 1,
                hint=ALIAS_HINT,
            )
            raise Abort
        at = token or last
        self.error(
            codes.ML_SYNTAX,
            "expected a version number, an alias or 'latest' after '@', found "
            f"'{token.text if token else 'the end'}'",
            at.start,
            at.end + 1,
            hint="pin a version with model@3, name an alias with model@champion, or follow "
            "the model with model@latest (the default)",
        )
        raise Abort

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

    # -- sqlglot ----------------------------------------------------------------------

    def parse_tokens(self, tokens: list[Token]) -> exp.Expr:
        """One statement's tokens as a sqlglot tree; a syntax error is a diagnostic."""
        if self.may_call_models:
            tokens = self.strip_model_pins(tokens)
        try:
            trees = self.sql_parser.parse(tokens, sql=self.source.text)
        except ParseError as e:
            self.report_parse_error(e, tokens)
            raise Abort from None
        except RecursionError:
            self.error(
                codes.SQL_SYNTAX,
                "this statement is nested too deeply to parse",
                tokens[0].start,
                tokens[0].end + 1,
                hint="flatten the nesting, e.g. with CTEs (WITH x AS (…) SELECT …)",
            )
            raise Abort from None
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
            raise Abort from None
        found = [t for t in trees if t is not None]
        if len(found) != 1:  # pragma: no cover - split guarantees one statement
            self.error(
                codes.SQL_SYNTAX,
                "expected exactly one statement",
                tokens[0].start,
                tokens[-1].end + 1,
            )
            raise Abort
        return found[0]

    def parse_error_culprit(self, error: ParseError, tokens: list[Token]) -> tuple[Token, str]:
        """The token a sqlglot syntax error is about, and sqlglot's description of it."""
        info = error.errors[0] if error.errors else {}
        line, col = info.get("line"), info.get("col")
        # sqlglot reports the line and the *last* column of the offending token.
        culprit = next((t for t in tokens if t.line == line and t.col == col), None)
        if culprit is None:
            culprit = tokens[-1]
        description = str(info.get("description") or error).split(". Line ")[0]
        return culprit, description

    def report_parse_error(self, error: ParseError, tokens: list[Token]) -> None:
        culprit, description = self.parse_error_culprit(error, tokens)
        self.error(
            codes.SQL_SYNTAX,
            f"syntax error: {description} near '{culprit.text}'",
            culprit.start,
            culprit.end + 1,
            hint=syntax_hint(culprit, tokens),
        )

    def model_calls(self, tree: exp.Expr) -> tuple[ModelCall, ...]:
        """Every ``ML_PREDICT(<model>, <expr>, …)`` in a tree: the model it names, and where."""
        calls: list[ModelCall] = []
        if not self.may_call_models:  # no ML_PREDICT token: nothing to find in the tree
            return ()
        for call in tree.find_all(exp.Anonymous):
            if str(call.this).upper() != ML_PREDICT:
                continue
            start, end = node_offsets(call, self.source.text)
            args = call.expressions
            if len(args) < 2:
                self.error(
                    codes.ML_SYNTAX,
                    "ML_PREDICT needs a model and at least one input",
                    start,
                    end,
                    hint="write ML_PREDICT(<model>, <column>, …)",
                )
                raise Abort
            model = args[0]
            m_start, m_end = node_offsets(model, self.source.text, default=(start, end))
            if not isinstance(model, exp.Column) or isinstance(model.this, exp.Star):
                self.error(
                    codes.UNSUPPORTED_STATEMENT,
                    "ML_PREDICT's first argument must name a model of the project",
                    m_start,
                    m_end,
                    hint="register a model file with CREATE MODEL m USING '<uri>', then write ML_PREDICT(m, …)",
                )
                raise Abort
            name = QualifiedName(tuple(part.name for part in model.parts))
            if name.problem is not None:
                self.error(codes.BAD_NAME, name.refusal, m_start, m_end, hint=NAME_HINT)
                raise Abort
            version = self._pins.get(m_start)
            if version is not None:
                model.meta[PIN_META] = version  # travels with the tree to execution
            calls.append(ModelCall(name, Span.of(self.source, m_start, m_end), version))
        return tuple(calls)


def check_table_names(p: ParseContext, tree: exp.Expr, names: Iterable[QualifiedName]) -> None:
    """SQLML117 at each of ``names`` (tables a statement creates, modifies or reads) that
    breaks the naming rule, pointing at its first mention in ``tree``. Names are checked
    first, so a statement with none wrong never walks its tree again."""
    bad = {name.key: name for name in names if name.problem is not None}
    if not bad:
        return
    for table in tree.find_all(exp.Table):
        name = QualifiedName.of_table(table)
        if name.key in bad:
            start, end = node_offsets(table, p.source.text, default=(0, len(p.source.text)))
            p.error(codes.BAD_NAME, bad.pop(name.key).refusal, start, end, hint=NAME_HINT)
    for name in bad.values():  # pragma: no cover - every name read comes from a Table
        p.error(codes.BAD_NAME, name.refusal, 0, len(p.source.text), hint=NAME_HINT)


def node_offsets(
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


#: Keywords a misspelled word in a syntax error is compared with.
HINT_KEYWORDS = (
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


def syntax_hint(culprit: Token, tokens: list[Token]) -> str | None:
    """``did you mean SELECT?`` when the culprit, or the word before it, is a misspelled
    keyword."""
    close = difflib.get_close_matches(culprit.text.upper(), HINT_KEYWORDS, n=1, cutoff=0.75)
    if close and close[0] != culprit.text.upper():
        return f"did you mean {close[0]}?"
    # A misspelled keyword often parses as an alias and the error lands on the next token.
    index = tokens.index(culprit) if culprit in tokens else -1
    if index > 0:
        before = tokens[index - 1]
        close = difflib.get_close_matches(before.text.upper(), HINT_KEYWORDS, n=1, cutoff=0.75)
        if close and close[0] != before.text.upper():
            return f"did you mean {close[0]} instead of '{before.text}'?"
    return None
