"""What every grammar of the compiler needs from sqlglot's tokens: a script split into
statements, words, numbers, and a fingerprint of a statement's tokens.

A file is tokenized once with its dialect's tokenizer (so strings, comments and
dollar-quotes are respected); everything after that works on the tokens. No regular
expression ever looks at SQL text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import ClassVar

from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.tokens import Token, Tokenizer, TokenType

#: Tokens whose text is a name or a string as written, never a keyword.
QUOTED = (TokenType.STRING, TokenType.IDENTIFIER, TokenType.HEREDOC_STRING)


class _DuckDBTokenizer(DuckDB.Tokenizer):
    """DuckDB's tokenizer, plus ``\\"`` inside a double-quoted token.

    SQLFlow writes string values in double quotes and escapes a quote inside one with a
    backslash (``validation.select = "SELECT * FROM t WHERE name = \\"x\\""``, its lexer's
    ``lexString``). DuckDB reads ``"…"`` as a quoted name, whose only escape is ``""``, so
    such a value would end at the backslash and leave the rest of the file unterminated.
    In the default dialect a backslash before ``"`` (or another backslash) inside ``"…"``
    is an escape; a name that really ends in a backslash is written ``"a\\\\"``."""

    IDENTIFIER_ESCAPES: ClassVar[list[str]] = ["\\"]


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
