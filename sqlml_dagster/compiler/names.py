"""What statements name: tables and models (:class:`QualifiedName`), model classes and
programs from container images (:class:`ModelRef`), and models called inside a query
(:class:`ModelCall`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from sqlglot import exp

from ..contract import flavor_of_reference
from ..contract.lifecycle import Pin
from ..contract.names import NAME_MAX, name_problem, normalized, printable
from .diagnostics import Span

#: What every refused name's diagnostic (SQLML117) suggests.
NAME_HINT = (
    f"a name is ASCII letters, digits, '_' and '-', at most {NAME_MAX} characters a part: "
    "it becomes a Dagster asset key, a folder of the model store and a Kubernetes label"
)


class ObjectKind(str, Enum):
    """What a name in the project denotes. Tables and models share one namespace."""

    TABLE = "table"
    VIEW = "view"
    MODEL = "model"
    PREDICTION = "prediction"
    EVALUATION = "evaluation"
    EXPLANATION = "explanation"
    #: A model's explanation without a table (``TO EXPLAIN`` without ``INTO``): its summary
    #: chart and per-feature importances, shown in the materialization.
    EXPLANATION_PLOT = "explanation_plot"
    #: A table a user's program wrote (``TO RUN … INTO``).
    PROGRAM_OUTPUT = "program_output"
    #: A user's program run for what it does, writing no table (``TO RUN`` without
    #: ``INTO``): its asset is the run itself, its output shown in the materialization.
    PROGRAM_RUN = "program_run"
    #: The solved values of a mathematical program (``TO MAXIMIZE``/``TO MINIMIZE … INTO``).
    SOLUTION = "solution"


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

    def to_table(self) -> exp.Table:
        """The name as a sqlglot table (``catalog.schema.table``), the inverse of
        :meth:`of_table`."""
        parts = self.parts
        return exp.table_(
            parts[-1],
            db=parts[-2] if len(parts) > 1 else None,
            catalog=parts[-3] if len(parts) > 2 else None,
        )

    @property
    def key(self) -> str:
        """Identity used for graph lookups: lower-case, dot-joined."""
        return ".".join(p.lower() for p in self.parts)

    @property
    def name(self) -> str:
        return self.parts[-1]

    @property
    def problem(self) -> str | None:
        """Why the name breaks the project's naming rule (:mod:`..contract.names`), or None."""
        return name_problem(self.parts)

    @property
    def refusal(self) -> str:
        """The SQLML117 message for a name with a :attr:`problem`."""
        return f"'{printable(str(self))}' is not a valid name: it {self.problem}"

    @property
    def normal_form(self) -> tuple[str, ...]:
        """The name as an asset key sees it (lower-case, ``-`` as ``_``): two names with one
        normal form collide (SQLML210)."""
        return normalized(self.parts)

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
class ModelRef:
    """What a TRAIN statement trains: a dotted Python reference, optionally from an image.

    ``image`` is recorded here from the start so the Kubernetes launcher can use it; the
    local launcher records it but runs the reference from the local environment.
    """

    reference: str
    image: str | None = None
    image_span: Span | None = field(default=None, compare=False, repr=False)
    #: Where the dotted reference itself is written (after the image, if any).
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def flavor(self) -> str:
        """The framework family when the reference tells it: SQLFlow's built-in estimator
        names (``DNNClassifier``) run on PyTorch, a package name (``sklearn.…``,
        ``torch.…``, ``keras.…``) names its framework; ``auto`` lets the runtime decide by
        importing the class (a user's own ``my_models.MyModel``)."""
        return flavor_of_reference(self.reference)


@dataclass(frozen=True)
class ModelCall:
    """``ML_PREDICT(<model>[@<version>], …)`` inside a query: which model, and where it is
    named. ``version`` is a pinned version number or an alias (``m@champion``); ``None``
    means ``@latest``."""

    model: QualifiedName
    span: Span
    version: Pin = None
