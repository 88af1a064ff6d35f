"""Diagnostics: every user mistake becomes a code, a file:line:col, a caret excerpt and a hint.

The compiler never lets a sqlglot exception or a Python traceback reach the user; it
collects :class:`Diagnostic` objects and raises them together as one
:class:`SqlMlCompileError`, rendered the way a good compiler renders errors::

    error[SQLML203]: unknown model 'iris_rff'
     --> sql/iris.sql:12:7
      |
    12 | USING iris_rff;
      |       ^^^^^^^^
      = hint: did you mean 'iris_rf'?
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

#: Characters str.splitlines() breaks at besides "\n"; they never end a line here.
_OTHER_LINE_BREAKS = frozenset("\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


@dataclass(frozen=True)
class SourceFile:
    """A file the compiler read, kept so diagnostics can quote the offending line."""

    path: str
    text: str

    def line_text(self, line: int) -> str:
        """Line ``line`` as positions count them (only ``\n`` ends a line, like the
        tokenizer), with other break characters shown as spaces so carets stay aligned."""
        lines = self.text.split("\n")
        if not 0 < line <= len(lines):
            return ""
        return "".join(" " if c in _OTHER_LINE_BREAKS else c for c in lines[line - 1])

    @cached_property
    def _line_starts(self) -> list[int]:
        """Offset of the first character of every line, computed once per file."""
        starts = [0]
        find = self.text.find
        newline = find("\n")
        while newline >= 0:
            starts.append(newline + 1)
            newline = find("\n", newline + 1)
        return starts

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a 0-based character offset."""
        offset = max(0, min(offset, len(self.text)))
        starts = self._line_starts
        line = bisect.bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1


@dataclass(frozen=True)
class Span:
    """A half-open character range [start, end) in one file, with 1-based line/col of start."""

    file: str
    start: int
    end: int
    line: int
    col: int

    @classmethod
    def of(cls, source: SourceFile, start: int, end: int) -> Span:
        line, col = source.position(start)
        return cls(file=source.path, start=start, end=max(end, start + 1), line=line, col=col)

    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One finding. ``code`` is stable (documented in docs/diagnostics.md); the text may improve."""

    code: str
    message: str
    span: Span | None
    hint: str | None = None
    severity: Severity = Severity.ERROR
    source: SourceFile | None = field(default=None, compare=False, repr=False)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def render(self) -> str:
        head = f"{self.severity.value}[{self.code}]: {self.message}"
        if self.span is None:
            return head + (f"\n  = hint: {self.hint}" if self.hint else "")
        gutter = str(self.span.line)
        pad = " " * len(gutter)
        out = [head, f"{pad}--> {self.span.location()}"]
        if self.source is not None:
            text = self.source.line_text(self.span.line)
            line_end = self.source.text.find("\n", self.span.start)
            line_end = len(self.source.text) if line_end < 0 else line_end
            width = max(1, min(self.span.end, line_end) - self.span.start)
            out += [
                f"{pad} |",
                f"{gutter} | {text}",
                f"{pad} | {' ' * (self.span.col - 1)}{'^' * width}",
            ]
        if self.hint:
            out.append(f"{pad} = hint: {self.hint}")
        return "\n".join(out)

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "file": self.span.file if self.span else None,
            "line": self.span.line if self.span else None,
            "column": self.span.col if self.span else None,
        }


def sorted_diagnostics(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """In reading order: by file, line, column."""
    return sorted(diagnostics, key=_sort_key)


class SqlMlCompileError(Exception):
    """All errors of one compilation, raised together so a user fixes them in one pass."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted_diagnostics(diagnostics)
        errors = sum(1 for d in self.diagnostics if d.is_error)
        summary = f"sqlml: {errors} error{'s' if errors != 1 else ''} in SQL project"
        super().__init__("\n\n".join([summary, *(d.render() for d in self.diagnostics)]))

    def to_json(self) -> str:
        return json.dumps([d.to_json() for d in self.diagnostics], indent=2)


def _sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    if d.span is None:
        return ("", 0, 0, d.code)
    return (d.span.file, d.span.line, d.span.col, d.code)
