"""What every grammar of the compiler needs from sqlglot's tokens: a script split into
statements, words, numbers, and a fingerprint of a statement's tokens.

A file is tokenized once with its dialect's tokenizer (so strings, comments and
dollar-quotes are respected); everything after that works on the tokens. No regular
expression ever looks at SQL text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import TokenizerCore
from sqlglot.tokens import Token, Tokenizer, TokenType

#: Tokens whose text is a name or a string as written, never a keyword.
QUOTED = (TokenType.STRING, TokenType.IDENTIFIER, TokenType.HEREDOC_STRING)


class _SqlFlowStringsCore(TokenizerCore):
    """sqlglot's tokenizer core, reading a backslash before ``"`` inside ``"…"`` as an
    escaped quote, as SQLFlow's lexer does (``lexString``): a quote preceded by an odd
    number of backslashes does not close the token, and becomes a plain ``"``. Every other
    backslash is kept as written (``"a\\b"`` stays ``a\\b``), so no name or value changes
    meaning unless it holds ``\\"``."""

    __slots__ = ()

    def _scan_identifier(self, identifier_end: str) -> None:
        sql = self.sql
        if identifier_end != '"' or "\\" not in sql:
            super()._scan_identifier(identifier_end)
            return
        self._advance()
        pos = i = self._current - 1
        parts: list[str] = []
        while True:
            end = sql.find('"', i)
            if end == -1:
                raise TokenError(f"Missing {identifier_end} from {self._line}:{self._start}")
            slashes = end - i - len(sql[i:end].rstrip("\\"))
            if slashes % 2:  # \" : an escaped quote
                parts.append(sql[i : end - 1] + '"')
                i = end + 1
            elif end + 1 < self.size and sql[end + 1] == '"':  # "" : SQL's own escape
                parts.append(sql[i:end] + '"')
                i = end + 2
            else:
                parts.append(sql[i:end])
                break
        newlines = sql.count("\n", pos, end)
        if newlines:
            self._line += newlines
            self._col = end - sql.rfind("\n", pos, end)
        else:
            self._col += end - pos
        self._current = end + 1
        self._end = self._current >= self.size
        self._char = sql[end]
        self._peek = "" if self._end else sql[self._current]
        self._add(TokenType.IDENTIFIER, "".join(parts))


class _DuckDBTokenizer(DuckDB.Tokenizer):
    """DuckDB's tokenizer, plus SQLFlow's ``\\"`` inside a double-quoted token.

    SQLFlow writes string values in double quotes and escapes a quote inside one with a
    backslash (``validation.select = "SELECT * FROM t WHERE name = \\"x\\""``). DuckDB
    reads ``"…"`` as a quoted name, whose only escape is ``""``, so such a value would end
    at the backslash and leave the rest of the file unterminated."""

    def _init_core(self) -> TokenizerCore:
        core = super()._init_core()
        if type(core) is TokenizerCore:  # not sqlglot's compiled core, which has no subclass
            core.__class__ = _SqlFlowStringsCore
        return core


def tokenizer_for(dialect: Dialect) -> Tokenizer:
    """The tokenizer every reading of a file uses: the dialect's own, except the default
    dialect's, which also reads SQLFlow's ``\\"`` (:class:`_DuckDBTokenizer`)."""
    if type(dialect) is DuckDB:
        return _DuckDBTokenizer(dialect)
    return dialect.tokenizer()


def split_tokens(tokens: Sequence[Token]) -> list[list[Token]]:
    """The statements of a script: its tokens split at top-level ``;``, empty ones left out."""
    groups: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type is TokenType.SEMICOLON:
            groups.append([])
        else:
            groups[-1].append(token)
    return [g for g in groups if g]


def word_of(token: Token) -> str:
    """The upper-cased text of an unquoted word token ('' for quoted or punctuation)."""
    if token.token_type in QUOTED:
        return ""
    return token.text.upper()


def number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


_VERBATIM = frozenset((*QUOTED, TokenType.NUMBER))
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
