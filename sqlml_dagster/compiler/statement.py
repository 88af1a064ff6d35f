"""What every statement kind is: a frozen dataclass with its source span, and the
questions the project graph, the renderer and the Dagster layer ask of any statement.

Each kind answers them in its own module under ``statements/`` — its fields, its clause
grammar, its canonical SQL and what it means for the graph — and ``statements/__init__.py``
registers it. Callers ask these methods, or compare ``KIND``; they do not test classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from ..contract.lifecycle import Pin
from .diagnostics import Diagnostic, Severity, Span
from .names import ModelCall, ModelRef, ObjectKind, QualifiedName
from .params import Directive, Param, ParamValue

if TYPE_CHECKING:
    from typing import Self

    from .context import Common
    from .cursor import Cursor
    from .sql_writer import SqlWriter


@dataclass(frozen=True)
class Statement:
    """Base of all statements: the exact source text, where it stands, and a fingerprint of
    its normalized tokens (comments, layout and unquoted-name case do not count)."""

    span: Span
    text: str
    fingerprint: str
    directives: tuple[Directive, ...] = field(default=(), kw_only=True, compare=False)

    #: Which kind of statement this is (``"train"``, ``"sql"``, …): what the materializers
    #: and every other caller dispatch on.
    KIND: ClassVar[str] = ""
    #: The words that open a statement of this kind when it has no query before them
    #: (``("CREATE", "MODEL")``); the parser matches them before sqlglot sees the tokens.
    LEADING: ClassVar[tuple[tuple[str, ...], ...]] = ()
    #: What the object it produces is (``object_kind``).
    OBJECT_KIND: ClassVar[ObjectKind] = ObjectKind.TABLE

    @classmethod
    def parse(cls, c: Cursor, common: Common) -> Self:
        """A statement that opens with ``LEADING``, from a cursor at its first token."""
        raise NotImplementedError(cls.__name__)

    @property
    def produces(self) -> QualifiedName | None:
        """The object this statement defines, if any."""
        return None

    @property
    def produces_span(self) -> Span:
        """Where the statement names what it produces (the whole statement otherwise)."""
        return self.span

    @property
    def produces_more(self) -> tuple[tuple[QualifiedName, Span], ...]:
        """Further tables the same step writes, with where each is named (``TO RUN …
        INTO a, b``: ``b``): assets of the node ``produces`` names, materialized with it in
        one step, so all of them change together or none does."""
        return ()

    @property
    def rename_hint(self) -> str | None:
        """How to rename what it produces when the name clashes, if renaming it is not just
        editing the name in the SQL (a TO RUN without INTO is named after its program)."""
        return None

    @property
    def side_tables(self) -> tuple[QualifiedName, ...]:
        """Tables its step writes besides what it produces (an evaluation's curves): no
        assets of their own, but a query reading one depends on this statement's asset."""
        return ()

    @property
    def object_kind(self) -> ObjectKind:
        """What the object it produces is."""
        return self.OBJECT_KIND

    @property
    def model_ref(self) -> ModelRef | None:
        """The Python reference (and image) this statement runs, if it runs one."""
        return None

    def imported_references(self) -> tuple[tuple[str, Span], ...]:
        """The dotted Python references a step of this statement imports and calls, with
        where each is written: what the model-package rule (SQLML209) checks."""
        return ()

    def reads(self) -> tuple[QualifiedName, ...]:
        """Tables this statement reads (from its sqlglot tree)."""
        return ()

    def warm_start_base(self) -> tuple[QualifiedName, Span] | None:
        """The other model a training starts from (``USING base``), and where it is named."""
        return None

    def uses_models(self) -> tuple[tuple[QualifiedName, Span], ...]:
        """Models this statement needs, with the span naming each."""
        return ()

    @property
    def scored_model(self) -> tuple[QualifiedName, Pin] | None:
        """The model a scoring statement (PREDICT, EVALUATE, EXPLAIN) loads, and its pin."""
        return None

    def model_pins(self) -> tuple[tuple[QualifiedName, Pin], ...]:
        """Each model it uses with the version or alias it pins (``None``: ``@latest``)."""
        return ()

    def why_no_asset(self) -> Diagnostic | None:
        """Why the statement makes no asset although it parsed (a diagnostic without its
        source, which the project attaches), or None when it makes one."""
        return None

    def render_sql(self, w: SqlWriter) -> str:
        """The canonical SQL spelling, without the closing semicolon."""
        raise TypeError(f"cannot render {type(self).__name__}")  # pragma: no cover

    def json_extra(self, dialect: str) -> dict[str, Any]:
        """What the golden JSON adds to the statement's fields."""
        return {}

    def _ignored(self, code: str, message: str, hint: str) -> Diagnostic:
        """A ``why_no_asset`` warning about the whole statement."""
        return Diagnostic(code, message, self.span, hint=hint, severity=Severity.WARNING)


class ReadsQuery:
    """A statement with a query: what it reads and the models it calls come from it."""

    read_tables: tuple[QualifiedName, ...]
    model_calls: tuple[ModelCall, ...]

    def reads(self) -> tuple[QualifiedName, ...]:
        return self.read_tables

    def uses_models(self) -> tuple[tuple[QualifiedName, Span], ...]:
        return tuple((call.model, call.span) for call in self.model_calls)

    def model_pins(self) -> tuple[tuple[QualifiedName, Pin], ...]:
        pins = tuple((call.model, call.version) for call in self.model_calls)
        scored = self.scored_model
        return pins if scored is None else (*pins, scored)

    @property
    def scored_model(self) -> tuple[QualifiedName, Pin] | None:
        return None


class WritesInto:
    """A statement that writes ``INTO <name>``: it produces that name, and names it there."""

    into: QualifiedName | None
    into_span: Span | None
    span: Span

    @property
    def produces(self) -> QualifiedName | None:
        return self.into

    @property
    def produces_span(self) -> Span:
        return self.into_span or self.span


@dataclass(frozen=True)
class MLStatement(ReadsQuery, Statement):
    """A SQLFlow statement: ``<select> TO <verb> …``; the SELECT stays a sqlglot tree."""

    select: exp.Query = field(compare=False)
    select_span: Span
    read_tables: tuple[QualifiedName, ...]
    params: tuple[Param, ...]
    #: ``ML_PREDICT`` calls inside the SELECT (a model feeding the data of another step).
    model_calls: tuple[ModelCall, ...] = field(default=(), kw_only=True)

    #: The word after ``TO`` (``TRAIN``); the parser finds the kind by it.
    VERB: ClassVar[str] = ""
    #: Further words that open the same kind (``MINIMIZE`` beside ``MAXIMIZE``).
    OTHER_VERBS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def parse_tail(cls, c: Cursor, common: Common) -> Self:
        """The clauses after ``TO <verb>``; ``common`` holds the query's facts."""
        raise NotImplementedError(cls.__name__)

    def render_sql(self, w: SqlWriter) -> str:
        return f"{w.tree(self.select)} TO {self.VERB} {self.render_tail(w)}"

    def render_tail(self, w: SqlWriter) -> str:
        """The clauses after ``TO <verb>`` in their canonical spelling."""
        raise TypeError(f"cannot render {type(self).__name__}")  # pragma: no cover

    def param(self, key: str, default: ParamValue = None) -> ParamValue:
        """The value of ``namespace.path`` as written, or ``default``."""
        for p in self.params:
            if p.key == key:
                return p.value
        return default

    def params_by_namespace(self) -> dict[str, dict[str, ParamValue]]:
        """``{"model": {"n_estimators": 100}, "train": {...}}`` — the StepSpec's ``params``."""
        grouped: dict[str, dict[str, ParamValue]] = {}
        for p in self.params:
            grouped.setdefault(p.namespace, {})[p.path] = p.value
        return grouped


@dataclass(frozen=True)
class ScoresModel(MLStatement):
    """``<select> TO <VERB> <model>[@<version>] …``: loads a trained model and scores the
    SELECT's rows with it (EVALUATE, EXPLAIN)."""

    model: QualifiedName
    model_span: Span
    model_version: Pin = field(default=None, kw_only=True)

    def uses_models(self) -> tuple[tuple[QualifiedName, Span], ...]:
        return ((self.model, self.model_span), *super().uses_models())

    @property
    def scored_model(self) -> tuple[QualifiedName, Pin]:
        return (self.model, self.model_version)


#: The directive naming the asset of a statement that writes no table — a ``TO RUN`` or
#: ``TO EXPLAIN`` without ``INTO`` (``directives.py`` checks where it stands; the
#: statement reads its value).
ASSET_DIRECTIVE = "asset"


def asset_directive(directives: tuple[Directive, ...]) -> Directive | None:
    """The statement's own ``-- sqlml: asset = <name>``, the last one written (a file-wide
    one names no single statement: SQLML141)."""
    own = [d for d in directives if not d.file_scope and d.key.lower() == ASSET_DIRECTIVE]
    return own[-1] if own else None


def bad_asset_name(
    code: str,
    verb: str,
    asset: tuple[QualifiedName, Span],
    directive: Directive | None,
    default: str,
    what: str,
    instead: str,
) -> Diagnostic | None:
    """Why the asset of a ``verb`` without ``INTO`` has no valid name (SQLML140 for TO RUN,
    SQLML142 for TO EXPLAIN), or None: the ``asset`` directive's value — or, without
    one, the name derived as ``default`` says — breaks the naming rule or is no text."""
    name, span = asset
    not_text = directive is not None and not isinstance(directive.value, str)
    if name.problem is None and not not_text:
        return None
    whence = "the asset directive's value" if directive is not None else default
    return Diagnostic(
        code,
        f"{verb} without INTO needs an asset name, and '{name}' ({whence}) "
        + ("is no name" if not_text else f"is not a valid one: it {name.problem}"),
        span,
        hint=f"name the {what}'s asset with '-- sqlml: asset = <name>' above the statement "
        f"(letters, digits, '_' and '-'), or write {instead}",
    )


@dataclass(frozen=True)
class SqlFile:
    """One parsed ``.sql`` file: its statements in order."""

    path: str
    statements: tuple[Statement, ...]
    #: ``-- sqlml-file:`` directives, which apply to every statement of the file.
    directives: tuple[Directive, ...] = ()

    @property
    def stem(self) -> str:
        name = self.path.replace("\\", "/").rsplit("/", 1)[-1]
        return name[:-4] if name.lower().endswith(".sql") else name
