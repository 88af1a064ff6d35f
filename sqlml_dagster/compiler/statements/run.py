"""``<select> TO RUN <image> [CMD "program", "arg", …] [INTO <table>, …]``: SQLFlow's way
to run a program over a query's rows (``doc/design/to_run.md``, ``doc/language_guide.md``).

The image holds the program in a cluster; on the orchestrator's machine the program comes
from the project folder (``runtime/program.py``). ``CMD``'s strings are the program and
its arguments, as SQLFlow passes them; each ``INTO`` table becomes an asset, all of them
written by one step (``Statement.produces_more``).

Without ``INTO`` the program runs for what it does (SQLFlow shows its output): the run is
the asset, of kind ``program_run``, named by an ``-- sqlml: asset = <name>`` directive
above the statement or else after the program's file (``CMD "reports/nightly.py"`` →
``nightly``) — a name both a user and the graph can predict from the SQL alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import ClassVar

from sqlglot.tokens import TokenType

from ...contract.programs import PROGRAM_FORM, program_path_problem
from .. import codes
from ..context import Abort, Common
from ..cursor import Cursor
from ..diagnostics import Diagnostic, Severity, Span
from ..names import ModelRef, ObjectKind, QualifiedName
from ..sql_writer import SqlWriter
from ..statement import MLStatement, asset_directive, bad_asset_name
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
    def run_name(self) -> tuple[QualifiedName, Span] | None:
        """The asset of a run without ``INTO`` and where it is named: the ``asset``
        directive above the statement, else the program's file name without its suffix
        (``CMD "reports/nightly.py"`` → ``nightly``); None with ``INTO`` or without
        ``CMD`` (SQLML125). The name may break the naming rule: ``why_no_asset`` says so."""
        if self.outputs or self.program is None:
            return None
        named = asset_directive(self.directives)
        if named is not None:
            return QualifiedName.parse(str(named.value)), named.span
        assert self.command_span is not None
        return QualifiedName((PurePosixPath(self.program).stem,)), self.command_span

    @property
    def produces(self) -> QualifiedName | None:
        if self.outputs:
            return self.outputs[0]
        run = self.run_name
        return run[0] if run is not None else None

    @property
    def produces_span(self) -> Span:
        if self.output_spans:
            return self.output_spans[0]
        run = self.run_name
        return run[1] if run is not None else self.span

    @property
    def object_kind(self) -> ObjectKind:
        """A table the program writes, or — without ``INTO`` — the program's run."""
        return ObjectKind.PROGRAM_OUTPUT if self.outputs else ObjectKind.PROGRAM_RUN

    @property
    def rename_hint(self) -> str | None:
        if self.outputs:
            return None
        return (
            "a TO RUN without INTO is named after its program; name it with "
            "'-- sqlml: asset = <name>' above the statement"
        )

    @property
    def produces_more(self) -> tuple[tuple[QualifiedName, Span], ...]:
        return tuple(zip(self.outputs[1:], self.output_spans[1:], strict=True))

    @property
    def model_ref(self) -> ModelRef:
        """The image the program runs from: what the image allow-list (SQLML208) checks."""
        return ModelRef(reference=self.program or "", image=self.image, image_span=self.image_span)

    def why_no_asset(self) -> Diagnostic | None:
        if self.program is None:
            # With INTO, tables are promised that nothing would write: an error. Without,
            # nothing is promised (SQLFlow's own tests parse such a statement): a warning
            # that it does not run.
            return Diagnostic(
                codes.RUN_WITHOUT_PROGRAM,
                "TO RUN names no program to run: CMD is missing"
                + ("" if self.outputs else "; it creates no asset and does not run"),
                self.image_span,
                hint=f"write the program and its arguments after CMD: {PROGRAM_FORM}",
                severity=Severity.ERROR if self.outputs else Severity.WARNING,
            )
        run = self.run_name
        if run is None:
            return None
        return bad_asset_name(
            codes.BAD_RUN_NAME,
            "TO RUN",
            run,
            asset_directive(self.directives),
            "named after its program",
            "run",
            "its tables: " + PROGRAM_FORM,
        )

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
