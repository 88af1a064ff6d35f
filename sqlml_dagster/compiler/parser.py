"""Text → statements: the file-level driver of the compiler's grammars.

A file is tokenized once with the source dialect's tokenizer (so strings, comments and
dollar-quotes are respected), split at top-level semicolons, and each statement is then

* a SQLFlow statement — a query followed by a top-level ``TO <VERB>``: the query tokens go
  to sqlglot's parser, the clauses after the verb to that kind's grammar
  (``statements/<kind>.py``), which reads the same tokens;
* a statement opening with a kind's ``LEADING`` words (``CREATE MODEL``, ``SHOW TRAIN``…),
  read by that kind's grammar before sqlglot sees it; or
* ordinary SQL, parsed by sqlglot and classified by what it creates or modifies
  (``statements/sql.py``).

``-- sqlml:`` directives are read from the gaps between statements
(``directive_comments.py``). No regular expression ever looks at SQL text.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from . import codes
from .context import Abort, ParseContext, check_table_names
from .cursor import Cursor
from .diagnostics import Diagnostic, Severity, SourceFile, SqlMlCompileError
from .directive_comments import directives_in, warn_inner_directives
from .params import Directive
from .pins import ML_PREDICT, PIN_META
from .statement import MLStatement, SqlFile, Statement
from .statements import BY_LEADING, BY_VERB, LEADING_LENGTHS, SqlStatement
from .tables import tables_read
from .tokens import QUOTED, split_tokens, tokenizer_for, word_of


def parse_sql_file(
    path: str, text: str, dialect: str = "duckdb"
) -> tuple[SqlFile, list[Diagnostic]]:
    """Parse one file; never raises for bad SQL — problems come back as diagnostics."""
    source = SourceFile(path=path, text=text)
    parser = _FileParser(ParseContext(source, Dialect.get_or_raise(dialect), dialect))
    statements = parser.parse()
    sql_file = SqlFile(
        path=path, statements=tuple(statements), directives=tuple(parser.file_directives)
    )
    return sql_file, parser.p.diagnostics


def parse_query(text: str, dialect: str = "duckdb", path: str = "<query>") -> exp.Expr:
    """One plain SQL statement as a sqlglot tree, for interactive use (``sqlml run-sql``):
    ``ML_PREDICT(m@3, …)`` pins are read as in project files. Raises
    :class:`SqlMlCompileError` with located diagnostics when it cannot be read."""
    source = SourceFile(path=path, text=text)
    p = ParseContext(source, Dialect.get_or_raise(dialect), dialect)
    try:
        tokens = tokenizer_for(p.dialect).tokenize(text)
        groups = split_tokens(tokens)
        if len(groups) == 1:
            p.may_call_models = _scan_statement(groups[0])[1]
            tree = p.parse_tokens(groups[0])
            p.model_calls(tree)
            if not p.diagnostics:
                return tree
    except TokenError:
        p.error(codes.UNTERMINATED, "unterminated string, quoted identifier or comment", 0, 1)
    except Abort:
        pass
    if not p.diagnostics:
        p.error(codes.SQL_SYNTAX, "expected exactly one statement", 0, max(len(text), 1))
    raise SqlMlCompileError(p.diagnostics)


def split_statements(text: str, dialect: str = "duckdb") -> list[str]:
    """The statements of a script as source text, without their terminating semicolons."""
    d = Dialect.get_or_raise(dialect)
    tokens = tokenizer_for(d).tokenize(text)
    return [text[group[0].start : group[-1].end + 1] for group in split_tokens(tokens)]


_OPENING = frozenset((TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE))
_CLOSING = frozenset((TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE))


def _scan_statement(tokens: Sequence[Token]) -> tuple[int | None, bool, int | None]:
    """One pass over a statement's tokens: the index of a top-level ``TO`` followed by an ML
    verb (None for plain SQL), whether a token before it spells ``ML_PREDICT`` (so the
    tree walk for model calls can be skipped when none does), and the index of the first
    top-level ``TO`` followed by another word (for :func:`_misspelled_verb`)."""
    depth = 0
    may_call = False
    stray: int | None = None
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
                if depth == 0 and i < last and kind not in QUOTED and token.text.upper() == "TO":
                    if word_of(tokens[i + 1]) in BY_VERB:
                        return i, may_call, stray
                    if stray is None:
                        stray = i
            elif size == len(ML_PREDICT) and token.text.upper() == ML_PREDICT:
                may_call = True
    return None, may_call, stray


#: What a statement that means to be SQLFlow's opens with: a query.
_QUERY_OPENINGS = frozenset(("SELECT", "WITH", "FROM", "VALUES"))


def _misspelled_verb(tokens: Sequence[Token], stray: int | None) -> tuple[Token, str] | None:
    """A query followed by a top-level ``TO <word>`` (at ``stray``) whose word is close to
    an ML verb (``TO TRIAN``): the word's token and the verb meant. Asked only of a
    statement that has no verb and opens like a query, so valid SQL (``RENAME TO``,
    ``GRANT … TO``) never reaches it."""
    if stray is None or word_of(tokens[0]) not in _QUERY_OPENINGS:
        return None
    word = word_of(tokens[stray + 1])
    close = difflib.get_close_matches(word, list(BY_VERB), n=1, cutoff=0.7) if word else []
    return (tokens[stray + 1], close[0]) if close else None


class _FileParser:
    def __init__(self, p: ParseContext):
        self.p = p
        self.file_directives: list[Directive] = []

    def parse(self) -> list[Statement]:
        p = self.p
        tokenizer = tokenizer_for(p.dialect)
        try:
            tokens = tokenizer.tokenize(p.source.text)
        except TokenError as e:
            core = getattr(tokenizer, "_core", tokenizer)
            start = getattr(core, "_start", None)
            if not isinstance(start, int):
                start = e.start or 0
            p.error(
                codes.UNTERMINATED,
                "unterminated string, quoted identifier or comment",
                start,
                start + 1,
                hint="close the quote or comment that starts here; every statement after it is unreadable until then",
            )
            return []
        statements: list[Statement] = []
        gap_start = 0
        for group in split_tokens(tokens):
            above = directives_in(p, gap_start, group[0].start, self.file_directives)
            warn_inner_directives(p, group)
            gap_start = group[-1].end + 1
            try:
                statement = self.parse_statement(group)
            except Abort:
                continue
            if statement is not None:
                if above:
                    statement = dataclasses.replace(statement, directives=above)
                statements.append(statement)
        for orphan in directives_in(p, gap_start, len(p.source.text), self.file_directives):
            p.error(
                codes.BAD_DIRECTIVE,
                f"the directive '{orphan.key}' stands after the last statement",
                orphan.span.start,
                orphan.span.end,
                hint="a '-- sqlml:' comment applies to the statement below it; "
                "write '-- sqlml-file:' for the whole file",
                severity=Severity.WARNING,
            )
        return statements

    def parse_statement(self, tokens: list[Token]) -> Statement | None:
        to_index, self.p.may_call_models, stray = _scan_statement(tokens)
        if to_index is None and (near := _misspelled_verb(tokens, stray)) is not None:
            token, verb = near
            self.p.error(
                codes.ML_SYNTAX,
                f"'TO {token.text}' is no SQLFlow statement; did you mean TO {verb}?",
                token.start,
                token.end + 1,
                hint="the verbs after a query are " + ", ".join(f"TO {v}" for v in BY_VERB),
            )
            raise Abort
        if to_index is None:
            keyword_statement = self.parse_keyword_statement(tokens)
            if keyword_statement is not None:
                return keyword_statement
            return SqlStatement.parse_plain(self.p, tokens)
        if to_index == 0:
            t = tokens[0]
            self.p.error(
                codes.ML_SYNTAX,
                f"'TO {tokens[1].text.upper()}' needs a query before it",
                t.start,
                tokens[1].end + 1,
                hint="write the data to learn from first: SELECT … FROM … TO TRAIN …",
            )
            raise Abort
        return self.parse_ml(tokens, to_index)

    def parse_ml(self, tokens: list[Token], to_index: int) -> MLStatement:
        """``<query> TO <VERB> <clauses>``: the query by sqlglot, the clauses by the kind."""
        p = self.p
        query_tokens = tokens[:to_index]
        tree = p.parse_tokens(query_tokens)
        if not isinstance(tree, exp.Query):
            first = query_tokens[0]
            p.error(
                codes.ML_SYNTAX,
                "the statement before TO must be a query (SELECT …)",
                first.start,
                first.end + 1,
                hint="SQLFlow statements start with the SELECT that yields the training or prediction data",
            )
            raise Abort
        tail = Cursor(p, tokens, to_index + 1)
        kind = BY_VERB[word_of(tail.next())]
        common = p.common(tokens)
        reads = tables_read(tree)
        check_table_names(p, tree, reads)
        common.update(
            select=tree,
            select_span=p.span(query_tokens[0], query_tokens[-1]),
            read_tables=reads,
            model_calls=p.model_calls(tree),
        )
        return kind.parse_tail(tail, common)

    def parse_keyword_statement(self, tokens: list[Token]) -> Statement | None:
        """A statement without a query that opens with a kind's ``LEADING`` words (Rikai's
        ``CREATE MODEL``, the catalog statements); None when no kind's words open it."""
        if (
            word_of(tokens[0]) == "SHOW"
            and len(tokens) == 2
            and tokens[1].token_type is TokenType.STRING
        ):
            tokens = self._retokenize_command(tokens)  # dialects that read SHOW's rest as text
        words = tuple(word_of(t) for t in tokens[: LEADING_LENGTHS[0]])
        for length in LEADING_LENGTHS:
            kind = BY_LEADING.get(words[:length])
            if kind is not None:
                return kind.parse(Cursor(self.p, tokens, 0), self.p.common(tokens))
        return None

    def _retokenize_command(self, tokens: list[Token]) -> list[Token]:
        """Some dialects tokenize everything after SHOW as one string; read it as words."""
        rest = tokens[1].text
        offset = self.p.source.text.find(rest, tokens[0].end + 1)
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


__all__ = [
    "ML_PREDICT",
    "PIN_META",
    "parse_query",
    "parse_sql_file",
    "split_statements",
    "tables_read",
]
