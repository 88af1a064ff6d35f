"""``-- sqlml: key = value`` comments: found in the gaps between statements, where the
tokenizer saw only whitespace, comments and ``;`` (so no SQL is scanned), and read with
the WITH clause's value grammar plus calls (``day(event_ts)``). What they mean is
``directives.py``'s business."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from . import codes
from .context import Abort, ParseContext
from .cursor import Cursor
from .diagnostics import Severity
from .params import Directive
from .tokens import tokenizer_for


def directives_in(
    p: ParseContext, start: int, end: int, file_directives: list[Directive]
) -> tuple[Directive, ...]:
    """The ``-- sqlml:`` directives in ``text[start:end]``, a gap between statements
    (only whitespace, comments and ``;``). File-wide ones go to ``file_directives``."""
    text = p.source.text
    if "sqlml" not in text[start:end].lower():  # the common case, checked cheaply
        return ()
    found: list[Directive] = []
    for body_start, body_end in comment_lines(text, start, end):
        body = text[body_start:body_end]
        stripped = body.lstrip()
        lowered = stripped.lower()
        for prefix, file_scope in (("sqlml-file:", True), ("sqlml:", False)):
            if lowered.startswith(prefix):
                offset = body_start + len(body) - len(stripped) + len(prefix)
                parsed = parse_directives(p, offset, body_end, file_scope)
                if file_scope:
                    file_directives.extend(parsed)
                else:
                    found.extend(parsed)
                break
    return tuple(found)


def parse_directives(p: ParseContext, start: int, end: int, file_scope: bool) -> list[Directive]:
    """``key = value, key = value`` in a directive comment, with the WITH clause's value
    grammar plus calls (``day(event_ts)``); a mistake is a diagnostic at its place."""
    body = p.source.text[start:end]
    try:
        raw = tokenizer_for(p.dialect).tokenize(body)
    except TokenError:
        p.error(
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
        p.error(
            codes.BAD_DIRECTIVE,
            "empty directive",
            start - 1,
            end,
            hint='write -- sqlml: key = value, e.g. -- sqlml: schedule = "0 3 * * *"',
        )
        return []
    cursor = Cursor(p, tokens, 0)
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
    except Abort:
        return directives


def warn_inner_directives(p: ParseContext, group: list[Token]) -> None:
    """A directive written inside a statement would be silently ignored: say so."""
    for previous, token in itertools.pairwise(group):
        if token.comments and any("sqlml" in c.lower() for c in token.comments):
            for body_start, body_end in comment_lines(p.source.text, previous.end + 1, token.start):
                body = p.source.text[body_start:body_end].lstrip().lower()
                if body.startswith(("sqlml:", "sqlml-file:")):
                    p.error(
                        codes.BAD_DIRECTIVE,
                        "a directive inside a statement is ignored",
                        body_start - 2,
                        body_end,
                        hint="move the '-- sqlml:' comment above the statement's first line",
                        severity=Severity.WARNING,
                    )


def comment_lines(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
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
