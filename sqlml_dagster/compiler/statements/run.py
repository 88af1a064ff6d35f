"""``<select> TO RUN <image> [CMD "program", "arg", …] [INTO <table>, …]``: SQLFlow's way
to run a program over a query's rows (``doc/design/to_run.md``, ``doc/language_guide.md``).

The image holds the program in a cluster; on the orchestrator's machine the program comes
from the project folder (``runtime/program.py``). ``CMD``'s strings are the program and
its arguments, as SQLFlow passes them; each ``INTO`` table becomes an asset, all of them
written by one step (``Statement.produces_more``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sqlglot.tokens import TokenType

from ...contract.programs import PROGRAM_FORM, program_path_problem
from .. import codes
from ..context import Abort, Common
from ..cursor import Cursor
from ..diagnostics import Diagnostic, Span
from ..names import ModelRef, ObjectKind, QualifiedName
from ..sql_writer import SqlWriter
from ..statement import MLStatement
from ..tokens import QUOTED


@dataclass(frozen=True)
class RunStatement(MLStatement):
    """``<select> TO RUN <image> [CMD "program", "arg", …] [INTO <table>, …]``: a user's
    program (from the image, or locally the project folder) that reads the SELECT's rows
    and writes each ``INTO`` table."""

    KIND: ClassVar[str] = "run"
    VERB: ClassVar[str] = "RUN"
    OBJECT_KIND: ClassVar[ObjectKind] = ObjectKind.PROGRAM_OUTPUT

    image: str
    image_span: Span
    #: The ``CMD`` strings: the program first, then its arguments.
    command: tuple[str, ...]
    command_span: Span | None
    outputs: tuple[QualifiedName, ...]
    output_spans: tuple[Span, ...]

    @property
    def program(self) -> str | None:
        """The program to run (``CMD``'s first string), if the statement names one."""
        return self.command[0] if self.command else None

    @property
    def args(self) -> tuple[str, ...]:
        return self.command[1:]

    @property
    def produces(self) -> QualifiedName | None:
        return self.outputs[0] if self.outputs else None

    @property
    def produces_span(self) -> Span:
        return self.output_spans[0] if self.output_spans else self.span

    @property
    def produces_more(self) -> tuple[tuple[QualifiedName, Span], ...]:
        return tuple(zip(self.outputs[1:], self.output_spans[1:], strict=True))

    @property
    def model_ref(self) -> ModelRef:
        """The image the program runs from: what the image allow-list (SQLML208) checks."""
        return ModelRef(reference=self.program or "", image=self.image, image_span=self.image_span)

    def why_no_asset(self) -> Diagnostic | None:
        if not self.outputs:
            return self._ignored(
                codes.NOT_EXECUTED,
                "TO RUN without INTO writes no table; it creates no asset and does not run",
                hint=f"name the tables the program writes: {PROGRAM_FORM}",
            )
        if self.program is None:
            return Diagnostic(
                codes.RUN_WITHOUT_PROGRAM,
                "TO RUN names no program to run: CMD is missing",
                self.image_span,
                hint=f"write the program and its arguments after CMD: {PROGRAM_FORM}",
            )
        return None

    @classmethod
    def parse_tail(cls, c: Cursor, common: Common) -> RunStatement:
        image, image_span = c.image_reference(
            "a container image such as a_data_scientist/ts_data_processor:1.0", PROGRAM_FORM
        )
        command: list[str] = []
        command_span = None
        if c.at_word("CMD"):
            c.next()
            first = c.peek()
            while True:
                token = c.next()
                if token.token_type not in QUOTED:
                    raise c.fail(
                        token,
                        "a quoted program or argument",
                        'CMD takes quoted strings: CMD "program.py", "--flag=value"',
                    )
                command.append(token.text)
                if (nxt := c.peek()) is None or nxt.token_type is not TokenType.COMMA:
                    break
                c.next()
            assert first is not None
            command_span = c.p.span(first, token)
            problem = program_path_problem(command[0])
            if problem is not None:
                c.p.error(
                    codes.BAD_PROGRAM,
                    f"'{command[0]}' cannot be run: {problem}",
                    first.start,
                    first.end + 1,
                    hint="name the program relative to the project folder (locally) or as "
                    'the image knows it: CMD "binning.py", "--bins=10"',
                )
                raise Abort
        outputs: list[QualifiedName] = []
        spans: list[Span] = []
        if c.at_word("INTO"):
            c.next()
            while True:
                name, span = c.qualified_name("a result table")
                if any(o.key == name.key for o in outputs):
                    c.p.error(
                        codes.DUPLICATE_PRODUCER,
                        f"'{name}' is named twice in INTO",
                        span.start,
                        span.end,
                        hint="each table the program writes is named once",
                    )
                    raise Abort
                outputs.append(name)
                spans.append(span)
                if (nxt := c.peek()) is None or nxt.token_type is not TokenType.COMMA:
                    break
                c.next()
        c.expect_end(PROGRAM_FORM)
        return cls(
            **common,
            params=(),
            image=image,
            image_span=image_span,
            command=tuple(command),
            command_span=command_span,
            outputs=tuple(outputs),
            output_spans=tuple(spans),
        )

    def render_tail(self, w: SqlWriter) -> str:
        text = self.image
        if self.command:
            text += " CMD " + ", ".join(w.string(a) for a in self.command)
        if self.outputs:
            text += " INTO " + ", ".join(w.name(o) for o in self.outputs)
        return text
