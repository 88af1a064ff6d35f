"""``<select> TO TRAIN <model> [WITH …] [COLUMN … [FOR <arg>]] [LABEL <col>] INTO <name>``:
trains a model class (optionally from a container image) on the SELECT's rows into a new
version of the model ``<name>``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from .. import codes
from ..context import Abort, Common, ParseContext
from ..cursor import Cursor
from ..diagnostics import Span
from ..feature_columns import ColumnGroup, column_clause
from ..names import NAME_HINT, ModelRef, ObjectKind, QualifiedName
from ..params import Param
from ..sql_writer import SqlWriter
from ..statement import MLStatement, WritesInto
from ..tables import tables_read

USAGE = (
    "TO TRAIN <model> [WITH …] [COLUMN … [FOR <arg>]] [LABEL <column>] "
    "[USING <trained model>] INTO <name>"
)
#: The flavors whose step can continue training from a trained model's version.
WARM_START_FLAVORS = ("xgboost",)


@dataclass(frozen=True)
class TrainStatement(WritesInto, MLStatement):
    """``<select> TO TRAIN <model> [WITH …] [LABEL <col>] INTO <name>``."""

    KIND: ClassVar[str] = "train"
    VERB: ClassVar[str] = "TRAIN"
    OBJECT_KIND: ClassVar[ObjectKind] = ObjectKind.MODEL
    JSON_WHEN_SET: ClassVar[frozenset[str]] = frozenset({"warm_start", "warm_start_version"})

    model: ModelRef
    label: str | None
    into: QualifiedName
    into_span: Span
    columns: tuple[ColumnGroup, ...] = ()
    #: SQLFlow's ``USING <trained model>``: training continues from that model's version
    #: (``@latest`` unless pinned); the model itself (``USING m INTO m``) continues from its
    #: own latest version, or starts fresh when it has none.
    warm_start: QualifiedName | None = field(default=None, kw_only=True)
    warm_start_span: Span | None = field(default=None, compare=False, kw_only=True)
    warm_start_version: int | None = field(default=None, kw_only=True)
    #: ``WITH validation.select = "SELECT …"`` parsed; its tables are in ``read_tables``.
    validation_select: exp.Query | None = field(default=None, compare=False, kw_only=True)

    @property
    def model_ref(self) -> ModelRef:
        return self.model

    def imported_references(self) -> tuple[tuple[str, Span], ...]:
        return ((self.model.reference, self.model.span or self.span),)

    @property
    def continues_itself(self) -> bool:
        """``USING m INTO m``: incremental training of the model itself, which is no
        dependency of its own (the previous version is read when the step starts)."""
        return self.warm_start is not None and self.warm_start.key == self.into.key

    def uses_models(self) -> tuple[tuple[QualifiedName, Span], ...]:
        used = super().uses_models()
        if self.warm_start is None or self.continues_itself:
            return used
        return ((self.warm_start, self.warm_start_span or self.span), *used)

    def model_pins(self) -> tuple[tuple[QualifiedName, int | None], ...]:
        pins = super().model_pins()
        if self.warm_start is None or self.continues_itself:
            return pins
        return (*pins, (self.warm_start, self.warm_start_version))

    @classmethod
    def parse_tail(cls, c: Cursor, common: Common) -> TrainStatement:
        model_ref = c.model_reference()
        params = c.with_clause() if c.at_word("WITH") else ()
        columns: list[ColumnGroup] = []
        while c.at_word("COLUMN"):
            group = column_clause(c)
            if any(g.argument == group.argument for g in columns):
                assert group.span is not None
                c.p.error(
                    codes.DUPLICATE_PARAM,
                    f"a second COLUMN clause for '{group.argument}'",
                    group.span.start,
                    group.span.end,
                    hint="list all columns of one model argument in one COLUMN clause, or name another with FOR <argument>",
                )
            columns.append(group)
        label = None
        if c.at_word("LABEL"):
            c.next()
            label = c.label()
        warm_start = warm_start_span = warm_start_version = None
        if c.at_word("USING"):  # SQLFlow's pre-trained model (go/parser: optional_using)
            using = c.next()
            warm_start, warm_start_span, warm_start_version = c.model_pin("a trained model")
            if model_ref.flavor not in (*WARM_START_FLAVORS, "auto"):
                c.p.error(
                    codes.WARM_START_UNSUPPORTED,
                    f"{model_ref.reference} cannot continue training from a trained model "
                    f"here: {model_ref.flavor} models always train from scratch",
                    using.start,
                    warm_start_span.end,
                    hint="remove USING …; XGBoost estimators (xgboost.gbtree …) continue "
                    "boosting from a trained model's version",
                )
        c.expect_word("INTO", USAGE)
        into, into_span = c.qualified_name("a model name")
        c.expect_end()
        validation = _validation_select(c.p, params)
        if validation is not None:  # its tables are inputs of the model like the SELECT's
            read = common["read_tables"]
            common["read_tables"] = (
                *read,
                *(t for t in tables_read(validation) if t not in read),
            )
        return cls(
            **common,
            validation_select=validation,
            params=params,
            model=model_ref,
            label=label,
            into=into,
            into_span=into_span,
            columns=tuple(columns),
            warm_start=warm_start,
            warm_start_span=warm_start_span,
            warm_start_version=warm_start_version,
        )

    def render_tail(self, w: SqlWriter) -> str:
        label = f" LABEL {w.identifier(self.label)}" if self.label else ""
        return (
            w.model_ref(self.model)
            + w.params(self.params)
            + "".join(group.render_sql(w) for group in self.columns)
            + label
            + (
                f" USING {w.name(self.warm_start)}{w.pin(self.warm_start_version)}"
                if self.warm_start is not None
                else ""
            )
            + f" INTO {w.name(self.into)}"
        )


def _validation_select(p: ParseContext, params: tuple[Param, ...]) -> exp.Query | None:
    """``WITH validation.select = "SELECT …"``: the query yielding validation rows,
    parsed in the file's dialect so its tables join the graph and its errors point here."""
    param = next((x for x in params if x.key == "validation.select"), None)
    if param is None:
        return None
    span = param.span
    if not isinstance(param.value, str) or not param.value.strip():
        p.error(
            codes.BAD_ARGUMENT,
            "validation.select must be a quoted SELECT",
            span.start,
            span.end,
            hint='write validation.select = "SELECT * FROM iris_validation"',
        )
        raise Abort
    try:
        tree = sqlglot.parse_one(param.value, dialect=p.dialect)
    except (ParseError, TokenError) as e:
        errors = getattr(e, "errors", None) or [{}]
        detail = errors[0].get("description") or str(e).splitlines()[0]
        p.error(
            codes.SQL_SYNTAX,
            f"validation.select is not valid SQL: {detail}",
            span.start,
            span.end,
            hint="validation.select holds a SELECT in the file's dialect, in quotes",
        )
        raise Abort from None
    if not isinstance(tree, exp.Query):
        p.error(
            codes.BAD_ARGUMENT,
            "validation.select must be a query (SELECT …)",
            span.start,
            span.end,
            hint='write validation.select = "SELECT * FROM iris_validation"',
        )
        raise Abort
    for table in tables_read(tree):  # positions inside the string are not the file's
        if table.problem is not None:
            p.error(codes.BAD_NAME, table.refusal, span.start, span.end, hint=NAME_HINT)
    return tree
