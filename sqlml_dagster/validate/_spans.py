"""Where in a statement a deep check points: a WITH key or value, the model reference, the
LABEL column.

The IR keeps a span per statement, per ``WITH`` attribute, per COLUMN name and per image;
the narrower places a diagnostic wants are found by re-tokenizing that one span with the
dialect's sqlglot tokenizer — the parser's own tokens, so a quoted name or a comment in
between cannot throw the position off.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import Token, TokenType

from ..compiler.diagnostics import SourceFile, Span
from ..compiler.ir import MLStatement, Param, TrainStatement
from ..compiler.project import Project
from ..compiler.tokens import tokenizer_for


class Sources:
    """The text of the project's files, read again only for files that get a diagnostic
    (the compiler does not keep them), keyed by the path diagnostics show."""

    def __init__(self, project: Project):
        self.project = project
        root = project.root
        self.base = (root if root.is_dir() else root.parent).parent
        self._texts: dict[str, SourceFile | None] = {}

    def get(self, shown: str) -> SourceFile | None:
        if shown not in self._texts:
            path = Path(shown) if Path(shown).is_absolute() else self.base / shown
            try:
                self._texts[shown] = SourceFile(shown, path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                self._texts[shown] = None
        return self._texts[shown]


@cache
def _dialect(name: str) -> Dialect:
    return Dialect.get_or_raise(name)


def _tokens(source: SourceFile, start: int, end: int, dialect: str) -> list[Token]:
    """Tokens of ``source.text[start:end]`` with offsets into the whole file."""
    tokens = tokenizer_for(_dialect(dialect)).tokenize(source.text[start:end])
    for token in tokens:
        token.start += start
        token.end += start
    return tokens


def key_span(param: Param, source: SourceFile | None, dialect: str) -> Span:
    """The attribute's dotted name (``model.n_estimatorz``), not its value."""
    if source is None:
        return param.span
    tokens = _tokens(source, param.span.start, param.span.end, dialect)
    key = [t for t in _until(tokens, TokenType.EQ)]
    if not key:
        return param.span
    return Span.of(source, key[0].start, key[-1].end + 1)


def value_span(param: Param, source: SourceFile | None, dialect: str) -> Span:
    """The attribute's value (``"2GB"``)."""
    if source is None:
        return param.span
    tokens = _tokens(source, param.span.start, param.span.end, dialect)
    after = tokens[len(_until(tokens, TokenType.EQ)) + 1 :]
    if not after:
        return param.span
    return Span.of(source, after[0].start, after[-1].end + 1)


def _until(tokens: Sequence[Token], kind: TokenType) -> list[Token]:
    out = []
    for token in tokens:
        if token.token_type is kind:
            break
        out.append(token)
    return out


def reference_span(statement: TrainStatement, source: SourceFile | None, dialect: str) -> Span:
    """``pkg.Model`` after ``TO TRAIN`` (after the image, when there is one)."""
    reference = statement.model.reference
    if source is None:
        return statement.span
    if statement.model.image_span is not None:
        start = statement.model.image_span.end + 1  # past the '/'
    else:
        tail = _tokens(source, statement.select_span.end, statement.span.end, dialect)
        found = next(
            (
                tail[i + 1]
                for i in range(1, len(tail) - 1)
                if tail[i].text.upper() == "TRAIN" and tail[i - 1].text.upper() == "TO"
            ),
            None,
        )
        if found is None:
            return statement.span
        start = found.start
    if source.text[start : start + len(reference)] != reference:
        return statement.span
    return Span.of(source, start, start + len(reference))


def label_span(statement: MLStatement, source: SourceFile | None, dialect: str) -> Span:
    """The column after ``LABEL`` (the last ``LABEL <column> INTO`` of the tail)."""
    if source is None:
        return statement.span
    tail = _tokens(source, statement.select_span.end, statement.span.end, dialect)
    for i in range(len(tail) - 3, -1, -1):
        if tail[i].text.upper() == "LABEL" and tail[i + 2].token_type is TokenType.INTO:
            return Span.of(source, tail[i + 1].start, tail[i + 1].end + 1)
    return statement.span
