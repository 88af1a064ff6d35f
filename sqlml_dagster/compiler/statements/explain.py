"""``<select> TO EXPLAIN <model>[@<version>] [WITH …] [USING <explainer>] [INTO <table>]``:
feature attributions of a trained model on the SELECT's rows, one row per feature; with
``explain.per_row = true`` every explained row's attributions in ``<into>_rows``.

Without ``INTO`` — SQLFlow's most common form, which draws the summary plot for the user —
the explanation is an asset without a table, of kind ``explanation_plot``: the same step
runs, and its chart and per-feature importances are the materialization's metadata. It is
named by an ``-- sqlml: asset = <name>`` directive above the statement, else after the
model (``TO EXPLAIN sqlflow_models.my_model`` → ``sqlflow_models.my_model_explanation``),
a name a user and the graph both predict from the SQL alone."""

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
from ..statement import ScoresModel, WritesInto, asset_directive, bad_asset_name

#: What a ``TO EXPLAIN`` without ``INTO`` and without an ``asset`` directive is named:
#: its model's name with this suffix, in the model's schema.
EXPLANATION_SUFFIX = "_explanation"


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

    @property
    def plot_name(self) -> tuple[QualifiedName, Span] | None:
        """The asset of an explanation without ``INTO`` and where it is named: the
        ``asset`` directive above the statement, else the model's name with
        ``_explanation`` (``sqlflow_models.my_model`` → ``sqlflow_models.my_model_explanation``);
        None with ``INTO``. The name may break the naming rule: ``why_no_asset`` says so."""
        if self.into is not None:
            return None
        named = asset_directive(self.directives)
        if named is not None:
            return QualifiedName.parse(str(named.value)), named.span
        *schema, model = self.model.parts
        return QualifiedName((*schema, model + EXPLANATION_SUFFIX)), self.model_span

    @property
    def produces(self) -> QualifiedName | None:
        if self.into is not None:
            return self.into
        plot = self.plot_name
        return plot[0] if plot is not None else None

    @property
    def produces_span(self) -> Span:
        if self.into_span is not None:
            return self.into_span
        plot = self.plot_name
        return plot[1] if plot is not None else self.span

    @property
    def object_kind(self) -> ObjectKind:
        """A table of attributions, or — without ``INTO`` — the chart and importances only."""
        return ObjectKind.EXPLANATION if self.into is not None else ObjectKind.EXPLANATION_PLOT

    @property
    def rename_hint(self) -> str | None:
        if self.into is not None:
            return None
        return (
            "a TO EXPLAIN without INTO is named after its model; name it with "
            "'-- sqlml: asset = <name>' above the statement"
        )

    def why_no_asset(self) -> Diagnostic | None:
        plot = self.plot_name
        if plot is None:
            return None
        named = asset_directive(self.directives)
        if named is None and self.model.problem is not None:
            return None  # the model's own name is the error (SQLML117), said where written
        return bad_asset_name(
            codes.BAD_EXPLANATION_NAME,
            "TO EXPLAIN",
            plot,
            named,
            "named after its model",
            "explanation",
            "its table: INTO <table>",
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
