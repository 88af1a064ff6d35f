"""The intermediate representation: what a SQL file *means*, independent of Dagster.

Every statement is a frozen dataclass carrying its source :class:`Span`. Plain SQL keeps
its sqlglot tree; ML statements keep their SELECT as a sqlglot tree plus their own fields.
The project graph (``project.py``) and the Dagster layer only ever read these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, TypeAlias

from sqlglot import exp

from ..contract import FEATURE_SIGNATURES, Arg, ArgKind, flavor_of_reference
from .diagnostics import Span

# A WITH value, typed from its SQL literal: 100 -> int, 0.1 -> float, "x" -> str,
# true -> bool, [1, 2] -> list, a bare identifier -> str.
ParamValue: TypeAlias = Any

#: The namespaces a ``WITH`` key may use. A key without one is a model parameter,
#: as SQLFlow's XGBoost examples write ``WITH objective = "reg:squarederror"``.
PARAM_NAMESPACES = ("model", "train", "validation", "predict", "explain", "summary", "resources")

#: ``WITH check.<metric> >= <threshold>`` on TO EVALUATE: a quality gate, not a parameter.
CHECK_NAMESPACE = "check"
#: The comparisons a quality gate may use, longest first (the parser's token order).
CHECK_OPERATORS = (">=", "<=", ">", "<", "=")
#: EVALUATE's metric names and defaults live in ``contract/metrics.py``, which the runtime shares.


class ObjectKind(str, Enum):
    """What a name in the project denotes. Tables and models share one namespace."""

    TABLE = "table"
    VIEW = "view"
    MODEL = "model"
    PREDICTION = "prediction"
    EVALUATION = "evaluation"
    EXPLANATION = "explanation"


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
class MetricCheck:
    """``check.accuracy >= 0.9`` in TO EVALUATE's WITH: a threshold the evaluated version
    must meet. It becomes a blocking Dagster asset check on the model, so predictions of a
    version below the threshold do not run (see ``docs/quality-gates.md``)."""

    metric: str  # canonical (EVALUATION_METRICS' values)
    op: str  # one of CHECK_OPERATORS
    threshold: int | float
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def condition(self) -> str:
        """``accuracy >= 0.9``: how the gate reads in the UI, the catalog and messages."""
        return f"{self.metric} {self.op} {self.threshold!r}"


@dataclass(frozen=True)
class ModelRef:
    """What a TRAIN statement trains: a dotted Python reference, optionally from an image.

    ``image`` is recorded here from the start so the Kubernetes launcher can use it; the
    local launcher records it but runs the reference from the local environment.
    """

    reference: str
    image: str | None = None
    image_span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def flavor(self) -> str:
        """The framework family when the reference tells it: SQLFlow's built-in estimator
        names (``DNNClassifier``) run on PyTorch, a package name (``sklearn.…``,
        ``torch.…``, ``keras.…``) names its framework; ``auto`` lets the runtime decide by
        importing the class (a user's own ``my_models.MyModel``)."""
        return flavor_of_reference(self.reference)


# -- COLUMN clauses -------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureColumn:
    """One expression of a ``COLUMN`` clause (SQLFlow's feature columns).

    Each function is its own class; ``FUNCTION`` and ``SIGNATURE`` drive parsing, error
    messages and rendering back to SQL, so adding a function is one small class.
    """

    FUNCTION: ClassVar[str] = ""
    SIGNATURE: ClassVar[tuple[Arg, ...]] = ()

    span: Span | None = field(default=None, kw_only=True, compare=False, repr=False)

    @classmethod
    def usage(cls) -> str:
        """``EMBEDDING(category, dimension[, combiner[, initializer]])`` for hints."""
        required = [a.name for a in cls.SIGNATURE if a.required]
        optional = [a.name for a in cls.SIGNATURE if not a.required]
        text = ", ".join(required)
        for name in optional:
            text += f"[, {name}"
        return f"{cls.FUNCTION}({text}{']' * len(optional)})"

    def to_json(self) -> dict[str, Any]:
        """The runtime's form (``StepSpec.columns``): ``{"function": "EMBEDDING",
        "category": {…}, "dimension": 8, "combiner": "mean", "initializer": None}``; a bare
        column is ``{"function": "COLUMN", "name": "x"}``. Shapes and lists become lists."""
        out: dict[str, Any] = {"function": self.FUNCTION}
        for arg in self.SIGNATURE:
            out[arg.name] = _json_value(getattr(self, arg.name))
        return out

    @property
    def source_columns(self) -> tuple[str, ...]:
        """The table columns this feature column reads, in order."""
        found: list[str] = []
        for arg in self.SIGNATURE:
            value = getattr(self, arg.name)
            values = value if arg.kind is ArgKind.COLUMNS else (value,)
            for item in values:
                if isinstance(item, FeatureColumn):
                    found.extend(c for c in item.source_columns if c not in found)
        return tuple(found)


def _json_value(value: Any) -> Any:
    if isinstance(value, FeatureColumn):
        return value.to_json()
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return value


@dataclass(frozen=True)
class ColumnName(FeatureColumn):
    """A bare column: a numeric feature unless the model decides otherwise."""

    FUNCTION = "COLUMN"
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"function": self.FUNCTION, "name": self.name}

    @property
    def source_columns(self) -> tuple[str, ...]:
        return (self.name,)


@dataclass(frozen=True)
class Numeric(FeatureColumn):
    FUNCTION = "NUMERIC"
    SIGNATURE = FEATURE_SIGNATURES["NUMERIC"]
    key: FeatureColumn
    shape: int | tuple[int, ...] = 1


@dataclass(frozen=True)
class CategoryId(FeatureColumn):
    FUNCTION = "CATEGORY_ID"
    SIGNATURE = FEATURE_SIGNATURES["CATEGORY_ID"]
    key: FeatureColumn
    bucket_size: int
    delimiter: str | None = None


@dataclass(frozen=True)
class SeqCategoryId(FeatureColumn):
    FUNCTION = "SEQ_CATEGORY_ID"
    SIGNATURE = FEATURE_SIGNATURES["SEQ_CATEGORY_ID"]
    key: FeatureColumn
    bucket_size: int
    delimiter: str | None = None


@dataclass(frozen=True)
class CategoryHash(FeatureColumn):
    FUNCTION = "CATEGORY_HASH"
    SIGNATURE = FEATURE_SIGNATURES["CATEGORY_HASH"]
    key: FeatureColumn
    bucket_size: int
    delimiter: str | None = None


@dataclass(frozen=True)
class Embedding(FeatureColumn):
    FUNCTION = "EMBEDDING"
    SIGNATURE = FEATURE_SIGNATURES["EMBEDDING"]
    category: FeatureColumn
    dimension: int
    combiner: str = "mean"
    initializer: str | None = None


@dataclass(frozen=True)
class Bucket(FeatureColumn):
    FUNCTION = "BUCKET"
    SIGNATURE = FEATURE_SIGNATURES["BUCKET"]
    source: FeatureColumn
    boundaries: tuple[int | float, ...]


@dataclass(frozen=True)
class Cross(FeatureColumn):
    FUNCTION = "CROSS"
    SIGNATURE = FEATURE_SIGNATURES["CROSS"]
    keys: tuple[FeatureColumn, ...]
    hash_bucket_size: int


@dataclass(frozen=True)
class Indicator(FeatureColumn):
    FUNCTION = "INDICATOR"
    SIGNATURE = FEATURE_SIGNATURES["INDICATOR"]
    category: FeatureColumn


@dataclass(frozen=True)
class Dense(FeatureColumn):
    FUNCTION = "DENSE"
    SIGNATURE = FEATURE_SIGNATURES["DENSE"]
    key: FeatureColumn
    shape: int | tuple[int, ...]
    delimiter: str | None = None


@dataclass(frozen=True)
class Sparse(FeatureColumn):
    FUNCTION = "SPARSE"
    SIGNATURE = FEATURE_SIGNATURES["SPARSE"]
    key: FeatureColumn
    shape: int | tuple[int, ...]
    delimiter: str | None = None
    dtype: str | None = None


#: Function name → class, for the parser.
FEATURE_FUNCTIONS: dict[str, type[FeatureColumn]] = {
    cls.FUNCTION: cls
    for cls in (
        Numeric,
        CategoryId,
        SeqCategoryId,
        CategoryHash,
        Embedding,
        Bucket,
        Cross,
        Indicator,
        Dense,
        Sparse,
    )
}


@dataclass(frozen=True)
class ColumnGroup:
    """``COLUMN a, NUMERIC(b, 1) [FOR name]``: the feature columns handed to the model's
    constructor argument ``name`` (``feature_columns`` when no ``FOR`` is written)."""

    columns: tuple[FeatureColumn, ...]
    target: str | None = None
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def argument(self) -> str:
        return self.target or "feature_columns"


@dataclass(frozen=True)
class ModelCall:
    """``ML_PREDICT(<model>[@<version>], …)`` inside a query: which model, and where it is
    named. ``version`` is a pinned version number; ``None`` means ``@latest``."""

    model: QualifiedName
    span: Span
    version: int | None = None


@dataclass(frozen=True)
class DirectiveCall:
    """A call written as a directive value: ``day(event_ts)``."""

    function: str
    args: tuple[ParamValue, ...]

    def __str__(self) -> str:
        return f"{self.function}({', '.join(str(a) for a in self.args)})"


@dataclass(frozen=True)
class Directive:
    """One ``-- sqlml: key = value`` comment above a statement (or ``-- sqlml-file:`` for
    every statement of its file): how Dagster schedules, partitions and labels the asset.
    Directives live in comments so the SQL stays runnable by any engine; their meaning is
    checked in ``directives.py``."""

    key: str
    value: ParamValue
    span: Span
    file_scope: bool = False


@dataclass(frozen=True)
class Statement:
    """Base of all statements: the exact source text, where it stands, and a fingerprint of
    its normalized tokens (comments, layout and unquoted-name case do not count)."""

    KIND: ClassVar[str] = ""

    span: Span
    text: str
    fingerprint: str
    directives: tuple[Directive, ...] = field(default=(), kw_only=True, compare=False)

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

    @property
    def scored_model(self) -> tuple[QualifiedName, int | None] | None:
        """The model a scoring statement (PREDICT, EVALUATE, EXPLAIN) loads, and its pin."""
        return None


@dataclass(frozen=True)
class SqlStatement(Statement):
    """Ordinary SQL, kept as its sqlglot tree.

    ``target`` is the table it creates or modifies (None for session statements such as
    ``SET`` or ``CREATE MACRO``); ``creates`` distinguishes ``CREATE`` from
    ``INSERT``/``UPDATE``/``DELETE`` which modify a table defined elsewhere in the file.
    """

    KIND: ClassVar[str] = "sql"

    tree: exp.Expr = field(compare=False)
    target: QualifiedName | None = None
    target_kind: ObjectKind = ObjectKind.TABLE
    creates: bool = False
    read_tables: tuple[QualifiedName, ...] = ()
    model_calls: tuple[ModelCall, ...] = ()

    @property
    def produces(self) -> QualifiedName | None:
        return self.target if self.creates else None

    def reads(self) -> tuple[QualifiedName, ...]:
        return self.read_tables

    def uses_models(self) -> tuple[tuple[QualifiedName, Span], ...]:
        return tuple((call.model, call.span) for call in self.model_calls)


@dataclass(frozen=True)
class MLStatement(Statement):
    """A SQLFlow statement: ``<select> TO <verb> …``; the SELECT stays a sqlglot tree."""

    select: exp.Query = field(compare=False)
    select_span: Span
    read_tables: tuple[QualifiedName, ...]
    params: tuple[Param, ...]
    #: ``ML_PREDICT`` calls inside the SELECT (a model feeding the data of another step).
    model_calls: tuple[ModelCall, ...] = field(default=(), kw_only=True)

    VERB: ClassVar[str] = ""

    def reads(self) -> tuple[QualifiedName, ...]:
        return self.read_tables

    def uses_models(self) -> tuple[tuple[QualifiedName, Span], ...]:
        return tuple((call.model, call.span) for call in self.model_calls)

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
class TrainStatement(MLStatement):
    """``<select> TO TRAIN <model> [WITH …] [LABEL <col>] INTO <name>``."""

    KIND: ClassVar[str] = "train"

    model: ModelRef
    label: str | None
    into: QualifiedName
    into_span: Span
    columns: tuple[ColumnGroup, ...] = ()
    #: ``WITH validation.select = "SELECT …"`` parsed; its tables are in ``read_tables``.
    validation_select: exp.Query | None = field(default=None, compare=False, kw_only=True)

    VERB = "TRAIN"

    @property
    def produces(self) -> QualifiedName:
        return self.into


@dataclass(frozen=True)
class PredictStatement(MLStatement):
    """``<select> TO PREDICT <table>[.<column>] [WITH …] USING <model>``.

    The output table holds the SELECT's columns plus the prediction column (replacing a
    column of the same name, as SQLFlow does); ``column`` defaults to ``prediction``.
    """

    KIND: ClassVar[str] = "predict"

    into: QualifiedName
    into_span: Span
    column: str
    using: QualifiedName
    using_span: Span
    #: ``USING m@3`` pins version 3; ``None`` (or ``@latest``) follows the model.
    using_version: int | None = field(default=None, kw_only=True)

    VERB = "PREDICT"

    @property
    def produces(self) -> QualifiedName:
        return self.into

    def uses_models(self) -> tuple[tuple[QualifiedName, Span], ...]:
        return ((self.using, self.using_span), *super().uses_models())

    @property
    def scored_model(self) -> tuple[QualifiedName, int | None]:
        return (self.using, self.using_version)


@dataclass(frozen=True)
class EvaluateStatement(MLStatement):
    """``<select> TO EVALUATE <model> [WITH validation.metrics = "Accuracy,AUC",
    check.accuracy >= 0.9] LABEL <col> INTO <table>``: scores a trained model on the
    SELECT's rows into a table of metrics; ``check.*`` thresholds gate the model."""

    KIND: ClassVar[str] = "evaluate"

    model: QualifiedName
    model_span: Span
    label: str
    into: QualifiedName
    into_span: Span
    model_version: int | None = field(default=None, kw_only=True)
    #: ``WITH check.<metric> <op> <threshold>``: quality gates on the evaluated version.
    checks: tuple[MetricCheck, ...] = field(default=(), kw_only=True)

    VERB = "EVALUATE"

    @property
    def produces(self) -> QualifiedName:
        return self.into

    @property
    def metrics(self) -> tuple[str, ...]:
        """``validation.metrics`` split at commas; empty means the flavor's defaults."""
        written = self.param("validation.metrics")
        if written is None:
            return ()
        items = written if isinstance(written, list) else str(written).split(",")
        return tuple(str(m).strip() for m in items if str(m).strip())

    def uses_models(self) -> tuple[tuple[QualifiedName, Span], ...]:
        return ((self.model, self.model_span), *super().uses_models())

    @property
    def scored_model(self) -> tuple[QualifiedName, int | None]:
        return (self.model, self.model_version)


@dataclass(frozen=True)
class ExplainStatement(MLStatement):
    """``<select> TO EXPLAIN <model> [WITH …] [USING <explainer>] [INTO <table>]``."""

    KIND: ClassVar[str] = "explain"

    model: QualifiedName
    model_span: Span
    explainer: str | None
    into: QualifiedName | None
    into_span: Span | None
    model_version: int | None = field(default=None, kw_only=True)

    VERB = "EXPLAIN"

    @property
    def produces(self) -> QualifiedName | None:
        return self.into

    def uses_models(self) -> tuple[tuple[QualifiedName, Span], ...]:
        return ((self.model, self.model_span), *super().uses_models())

    @property
    def scored_model(self) -> tuple[QualifiedName, int | None]:
        return (self.model, self.model_version)


@dataclass(frozen=True)
class RunStatement(MLStatement):
    """``<select> TO RUN <image/program> [CMD "arg", …] [INTO <table>]``: a user program
    (from an image, like a model reference) that reads the SELECT and writes a table."""

    KIND: ClassVar[str] = "run"

    program: ModelRef
    args: tuple[str, ...]
    into: QualifiedName | None
    into_span: Span | None

    VERB = "RUN"

    @property
    def produces(self) -> QualifiedName | None:
        return self.into


# -- model statements without a query (Rikai's DDL, SQLFlow's SHOW TRAIN) -------------


@dataclass(frozen=True)
class CreateModelStatement(Statement):
    """Rikai: ``CREATE [OR REPLACE] MODEL [IF NOT EXISTS] <name> [FLAVOR <f>]
    [MODEL_TYPE <t>] [OPTIONS (k = v, …)] [RETURNS <type>] [USING '<uri>']`` — registers a
    model trained elsewhere; it is a model asset like one from TO TRAIN."""

    KIND: ClassVar[str] = "create_model"

    name: QualifiedName
    name_span: Span
    replace: bool
    if_not_exists: bool
    flavor: str | None
    model_type: str | None
    options: tuple[Param, ...]
    returns: str | None
    uri: str | None
    uri_span: Span | None

    @property
    def produces(self) -> QualifiedName:
        return self.name


@dataclass(frozen=True)
class CatalogStatement(Statement):
    """A question to (or change of) the model catalog; interactive, not a project asset."""

    KEYWORDS: ClassVar[str] = ""


@dataclass(frozen=True)
class ShowModelsStatement(CatalogStatement):
    """``SHOW MODELS``."""

    KIND: ClassVar[str] = "show_models"

    KEYWORDS = "SHOW MODELS"


@dataclass(frozen=True)
class DescribeModelStatement(CatalogStatement):
    """``{DESC | DESCRIBE} MODEL <name>[@<version>]``."""

    KIND: ClassVar[str] = "describe_model"

    KEYWORDS = "DESCRIBE MODEL"
    model: QualifiedName
    model_span: Span
    version: int | None = None


@dataclass(frozen=True)
class ShowTrainStatement(CatalogStatement):
    """SQLFlow's ``SHOW TRAIN <model>[@<version>]``: the statement and params that trained it."""

    KIND: ClassVar[str] = "show_train"

    KEYWORDS = "SHOW TRAIN"
    model: QualifiedName
    model_span: Span
    version: int | None = None


@dataclass(frozen=True)
class DropModelStatement(CatalogStatement):
    """``DROP MODEL [IF EXISTS] <name>``."""

    KIND: ClassVar[str] = "drop_model"

    KEYWORDS = "DROP MODEL"
    model: QualifiedName
    model_span: Span
    if_exists: bool = False


DEFAULT_PREDICTION_COLUMN = "prediction"


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
