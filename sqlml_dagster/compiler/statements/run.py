"""``<select> TO RUN <image/program> [CMD "arg", …] [INTO <table>]``: a user program (from
an image, like a model reference) that reads the SELECT and writes a table. Understood, not
executed by this version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sqlglot.tokens import TokenType

from .. import codes
from ..context import Common
from ..cursor import Cursor
from ..diagnostics import Diagnostic, Span
from ..names import ModelRef, QualifiedName
from ..sql_writer import SqlWriter
from ..statement import MLStatement, WritesInto
from ..tokens import QUOTED


@dataclass(frozen=True)
class RunStatement(WritesInto, MLStatement):
    """``<select> TO RUN <image/program> [CMD "arg", …] [INTO <table>]``: a user program
    (from an image, like a model reference) that reads the SELECT and writes a table."""

    KIND: ClassVar[str] = "run"
    VERB: ClassVar[str] = "RUN"

    program: ModelRef
    args: tuple[str, ...]
    into: QualifiedName | None
    into_span: Span | None

    @property
    def model_ref(self) -> ModelRef:
        return self.program

    def why_no_asset(self) -> Diagnostic | None:
        return self._ignored(
            codes.NOT_EXECUTED,
            f"TO {self.VERB} is understood but not executed by this version; it creates no asset",
            hint="TO TRAIN, TO PREDICT, TO EVALUATE, TO EXPLAIN and CREATE MODEL … USING run today",
        )

    @classmethod
    def parse_tail(cls, c: Cursor, common: Common) -> RunStatement:
        program = c.model_reference("a program such as my_image:1.0/my_pkg.my_program")
        args: list[str] = []
        if c.at_word("CMD"):
            c.next()
            while True:
                token = c.next()
                if token.token_type not in QUOTED:
                    raise c.fail(token, "a quoted argument", 'write CMD "--flag=value", "arg"')
                args.append(token.text)
                if (nxt := c.peek()) is None or nxt.token_type is not TokenType.COMMA:
                    break
                c.next()
        into, into_span = c.optional_into()
        c.expect_end('TO RUN <image/program> [CMD "arg", …] [INTO <table>]')
        return cls(
            **common,
            params=(),
            program=program,
            args=tuple(args),
            into=into,
            into_span=into_span,
        )

    def render_tail(self, w: SqlWriter) -> str:
        text = w.model_ref(self.program)
        if self.args:
            text += " CMD " + ", ".join(w.string(a) for a in self.args)
        if self.into is not None:
            text += f" INTO {w.name(self.into)}"
        return text
