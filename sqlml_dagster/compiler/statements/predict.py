"""``<select> TO PREDICT <table>[.<column>] [WITH …] USING <model>[@<version>]``: the
SELECT's rows with the model's prediction added, as a table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ...contract.lifecycle import Pin
from ..context import Common
from ..cursor import Cursor
from ..diagnostics import Span
from ..names import ObjectKind, QualifiedName
from ..sql_writer import SqlWriter
from ..statement import MLStatement, WritesInto

DEFAULT_PREDICTION_COLUMN = "prediction"
USAGE = "TO PREDICT <table>.<column> [WITH …] USING <model>[@<version>]"


@dataclass(frozen=True)
class PredictStatement(WritesInto, MLStatement):
    """``<select> TO PREDICT <table>[.<column>] [WITH …] USING <model>``.

    The output table holds the SELECT's columns plus the prediction column (replacing a
    column of the same name, as SQLFlow does); ``column`` defaults to ``prediction``.
    """

    KIND: ClassVar[str] = "predict"
    VERB: ClassVar[str] = "PREDICT"
    OBJECT_KIND: ClassVar[ObjectKind] = ObjectKind.PREDICTION

    into: QualifiedName
    into_span: Span
    column: str
    using: QualifiedName
    using_span: Span
    #: ``USING m@3`` pins version 3, ``USING m@champion`` follows the alias; ``None`` (or
    #: ``@latest``) follows the model.
    using_version: Pin = field(default=None, kw_only=True)

    def uses_models(self) -> tuple[tuple[QualifiedName, Span], ...]:
        return ((self.using, self.using_span), *super().uses_models())

    @property
    def scored_model(self) -> tuple[QualifiedName, Pin]:
        return (self.using, self.using_version)

    @classmethod
    def parse_tail(cls, c: Cursor, common: Common) -> PredictStatement:
        target, target_span = c.qualified_name("a result table (table.column)", checked=False)
        column = DEFAULT_PREDICTION_COLUMN
        if len(target.parts) >= 2:
            # SQLFlow writes `TO PREDICT table.column`: the last part names the result column.
            column = target.parts[-1]
            target = QualifiedName(target.parts[:-1])
        c.check_name(target, target_span)  # the table's name: a column may be any SQL name
        params = c.with_clause() if c.at_word("WITH") else ()
        c.expect_word("USING", USAGE)
        using, using_span, using_version = c.model_pin("a model name")
        c.expect_end()
        return cls(
            **common,
            params=params,
            into=target,
            into_span=target_span,
            column=column,
            using=using,
            using_span=using_span,
            using_version=using_version,
        )

    def render_tail(self, w: SqlWriter) -> str:
        target = QualifiedName((*self.into.parts, self.column))
        return (
            w.name(target)
            + w.params(self.params)
            + f" USING {w.name(self.using)}{w.pin(self.using_version)}"
        )
