"""``<select> TO EXPLAIN <model>[@<version>] [WITH …] [USING <explainer>] [INTO <table>]``:
feature attributions of a trained model on the SELECT's rows, one row per feature; with
``explain.per_row = true`` every explained row's attributions in ``<into>_rows``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...contract.explain import PER_ROW_KEY, rows_table
from .. import codes
from ..context import Common
from ..cursor import Cursor
from ..diagnostics import Diagnostic, Span
from ..names import ObjectKind, QualifiedName
from ..sql_writer import SqlWriter
from ..statement import ScoresModel, WritesInto


@dataclass(frozen=True)
class ExplainStatement(WritesInto, ScoresModel):
    """``<select> TO EXPLAIN <model> [WITH …] [USING <explainer>] [INTO <table>]``."""

    KIND: ClassVar[str] = "explain"
    VERB: ClassVar[str] = "EXPLAIN"
    OBJECT_KIND: ClassVar[ObjectKind] = ObjectKind.EXPLANATION

    explainer: str | None
    into: QualifiedName | None
    into_span: Span | None

    @property
    def side_tables(self) -> tuple[QualifiedName, ...]:
        """``explain.per_row = true``: ``<into>_rows``, one row per explained row, which
        the step writes beside the INTO table (as an evaluation's ``<into>_roc``)."""
        if self.into is None or self.param(f"explain.{PER_ROW_KEY}") is not True:
            return ()
        return (QualifiedName(rows_table(self.into.parts)),)

    def why_no_asset(self) -> Diagnostic | None:
        if self.into is not None:
            return None
        return self._ignored(
            codes.NOT_EXECUTED,
            "TO EXPLAIN without INTO has nowhere to put its attributions; it creates no asset",
            hint="add INTO <table>: the table gets one row per feature and the asset a summary plot",
        )

    @classmethod
    def parse_tail(cls, c: Cursor, common: Common) -> ExplainStatement:
        model, model_span, version = c.model_pin("the name of a trained model")
        params = c.with_clause() if c.at_word("WITH") else ()
        explainer = None
        if c.at_word("USING"):
            c.next()
            explainer = c.identifier("an explainer such as TreeExplainer").text
        into, into_span = c.optional_into()
        c.expect_end("TO EXPLAIN <model> [WITH …] [USING <explainer>] [INTO <table>]")
        return cls(
            **common,
            params=params,
            model=model,
            model_span=model_span,
            explainer=explainer,
            into=into,
            into_span=into_span,
            model_version=version,
        )

    def render_tail(self, w: SqlWriter) -> str:
        text = w.name(self.model) + w.pin(self.model_version) + w.params(self.params)
        if self.explainer:
            text += f" USING {w.identifier(self.explainer)}"
        if self.into is not None:
            text += f" INTO {w.name(self.into)}"
        return text
