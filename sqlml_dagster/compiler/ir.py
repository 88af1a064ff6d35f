"""The intermediate representation: what a SQL file *means*, independent of Dagster.

Every statement is a frozen dataclass carrying its source :class:`Span`. Plain SQL keeps
its sqlglot tree; ML statements keep their SELECT as a sqlglot tree plus their own fields.
The project graph (``project.py``) and the Dagster layer only ever read these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeAlias

from sqlglot import exp

from .diagnostics import Span

# A WITH value, typed from its SQL literal: 100 -> int, 0.1 -> float, "x" -> str,
# true -> bool, [1, 2] -> list, a bare identifier -> str.
ParamValue: TypeAlias = Any

#: The namespaces a ``WITH`` key may use. A key without one is a model parameter,
#: as SQLFlow's XGBoost examples write ``WITH objective = "reg:squarederror"``.
PARAM_NAMESPACES = ("model", "train", "validation", "predict", "explain", "summary", "resources")


class ObjectKind(str, Enum):
    """What a name in the project denotes. Tables and models share one namespace."""

    TABLE = "table"
    VIEW = "view"
    MODEL = "model"
    PREDICTION = "prediction"


@dataclass(frozen=True, order=True)
class QualifiedName:
    """``catalog.schema.name`` as written, compared case-insensitively like SQL does."""

    parts: tuple[str, ...]

    @classmethod
    def parse(cls, dotted: str) -> QualifiedName:
        return cls(tuple(p for p in dotted.split(".") if p))

    @classmethod
    def of_table(cls, table: exp.Table) -> QualifiedName:
        parts = [table.catalog, table.db, table.name]
        return cls(tuple(p for p in parts if p))

    @property
    def key(self) -> str:
        """Identity used for graph lookups: lower-case, dot-joined."""
        return ".".join(p.lower() for p in self.parts)

    @property
    def name(self) -> str:
        return self.parts[-1]

    @property
    def asset_path(self) -> list[str]:
        """The default asset key: ``Schema.Table`` → ``["schema", "table"]`` (lower-case,
        characters Dagster does not accept become ``_``)."""
        return [
            "".join(c if c.isalnum() or c == "_" else "_" for c in p.lower()) or "_"
            for p in self.parts
        ]

    def __str__(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Param:
    """One ``WITH`` attribute: ``namespace.path = value``."""

    namespace: str
    path: str
    value: ParamValue
    span: Span

    @property
    def key(self) -> str:
        return f"{self.namespace}.{self.path}"


@dataclass(frozen=True)
class ModelRef:
    """What a TRAIN statement trains: a dotted Python reference, optionally from an image.

    ``image`` is recorded here from the start so the Kubernetes launcher can use it; the
    local launcher records it but runs the reference from the local environment.
    """

    reference: str
    image: str | None = None

    @property
    def flavor(self) -> str:
        """The framework family when the reference's package tells it; ``auto`` lets the
        runtime decide by importing the class (a user's own ``my_models.MyModel``)."""
        top = self.reference.split(".", 1)[0].lower()
        return {"sklearn": "sklearn", "xgboost": "sklearn", "lightgbm": "sklearn"}.get(top, "auto")


@dataclass(frozen=True)
class Statement:
    """Base of all statements: the exact source text, where it stands, and a fingerprint of
    its normalized tokens (comments, layout and unquoted-name case do not count)."""

    span: Span
    text: str
    fingerprint: str

    @property
    def produces(self) -> QualifiedName | None:
        """The object this statement defines, if any."""
        return None

    def reads(self) -> tuple[QualifiedName, ...]:
        """Tables this statement reads (from its sqlglot tree)."""
        return ()

    def uses_models(self) -> tuple[tuple[QualifiedName, Span], ...]:
        """Models this statement needs, with the span naming each."""
        return ()


@dataclass(frozen=True)
class SqlStatement(Statement):
    """Ordinary SQL, kept as its sqlglot tree.

    ``target`` is the table it creates or modifies (None for session statements such as
    ``SET`` or ``CREATE MACRO``); ``creates`` distinguishes ``CREATE`` from
    ``INSERT``/``UPDATE``/``DELETE`` which modify a table defined elsewhere in the file.
    """

    tree: exp.Expr = field(compare=False)
    target: QualifiedName | None = None
    target_kind: ObjectKind = ObjectKind.TABLE
    creates: bool = False
    read_tables: tuple[QualifiedName, ...] = ()

    @property
    def produces(self) -> QualifiedName | None:
        return self.target if self.creates else None

    def reads(self) -> tuple[QualifiedName, ...]:
        return self.read_tables


@dataclass(frozen=True)
class MLStatement(Statement):
    """A SQLFlow statement: ``<select> TO <verb> …``; the SELECT stays a sqlglot tree."""

    select: exp.Query = field(compare=False)
    select_span: Span
    read_tables: tuple[QualifiedName, ...]
    params: tuple[Param, ...]

    def reads(self) -> tuple[QualifiedName, ...]:
        return self.read_tables

    def params_by_namespace(self) -> dict[str, dict[str, ParamValue]]:
        """``{"model": {"n_estimators": 100}, "train": {...}}`` — the StepSpec's ``params``."""
        grouped: dict[str, dict[str, ParamValue]] = {}
        for p in self.params:
            grouped.setdefault(p.namespace, {})[p.path] = p.value
        return grouped


@dataclass(frozen=True)
class TrainStatement(MLStatement):
    """``<select> TO TRAIN <model> [WITH …] [LABEL <col>] INTO <name>``."""

    model: ModelRef
    label: str | None
    into: QualifiedName
    into_span: Span

    @property
    def produces(self) -> QualifiedName:
        return self.into


@dataclass(frozen=True)
class PredictStatement(MLStatement):
    """``<select> TO PREDICT <table>[.<column>] [WITH …] USING <model>``.

    The output table holds the SELECT's columns plus the prediction column (replacing a
    column of the same name, as SQLFlow does); ``column`` defaults to ``prediction``.
    """

    into: QualifiedName
    into_span: Span
    column: str
    using: QualifiedName
    using_span: Span

    @property
    def produces(self) -> QualifiedName:
        return self.into

    def uses_models(self) -> tuple[tuple[QualifiedName, Span], ...]:
        return ((self.using, self.using_span),)


DEFAULT_PREDICTION_COLUMN = "prediction"


@dataclass(frozen=True)
class SqlFile:
    """One parsed ``.sql`` file: its statements in order."""

    path: str
    statements: tuple[Statement, ...]

    @property
    def stem(self) -> str:
        name = self.path.replace("\\", "/").rsplit("/", 1)[-1]
        return name[:-4] if name.lower().endswith(".sql") else name
