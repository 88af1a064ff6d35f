"""``SELECT … TO EXPLAIN model[@N] [USING explainer] INTO t``: one row per feature and a
summary plot (``summary.plot_type``) on the asset; with ``explain.per_row = true`` every
explained row's attributions loaded beside it as ``t_rows``. Without ``INTO`` the same step
runs and the chart and the per-feature importances are the asset (``explanation_plot``):
its tables, written to the step's scratch folder, are never loaded into the warehouse."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from ...compiler.ir import ExplainStatement, QualifiedName
from ...compiler.project import Node
from ...contract import ExplanationResult, StepSpec
from ...contract.explain import rows_table
from ..metadata import png_markdown
from .base import Materializer, StepInputs, StepResults
from .scoring import score_into_table, scoring_spec

if TYPE_CHECKING:
    from ..step import AssetStep


def run(step: AssetStep) -> StepResults:
    """``TO EXPLAIN m … [USING explainer] INTO t``: one row per feature, and the summary
    plot embedded in the materialization (the step folder it was written to is cleaned).
    Without ``INTO``: the plot and the importances only, no table."""
    statement = step.node.statement
    assert isinstance(statement, ExplainStatement)
    into = statement.into is not None
    scored = score_into_table(step, step_spec, statement.model, statement.model_version, load=into)
    result = scored.result
    assert isinstance(result, ExplanationResult)
    metadata = {
        **scored.metadata,
        "explain_method": result.method,
        "plot_type": result.plot_type,
    }
    if not into:
        metadata["explainer"] = statement.explainer or "default"
    if result.rows_uri and into:
        # a table the explain step writes, not an asset of its own: the compiler makes a
        # reader of it depend on this explanation (``ExplainStatement.side_tables``)
        name = QualifiedName(rows_table(step.node.name.parts))
        step.warehouse.load_file(name, result.rows_uri, mode="replace")  # Parquet
        metadata["per_row_table"] = str(name)
    plot_uri = result.plot_uri
    if plot_uri:
        plot = png_markdown(
            str(plot_uri), f"{step.node.name} explanation", step.context.log.warning
        )
        if plot is not None:
            metadata["plot"] = plot
            metadata["plot_uri"] = dg.MetadataValue.path(str(plot_uri))
    if result.importances:
        metadata["importances"] = dg.MetadataValue.json(result.importances)
    yield dg.MaterializeResult(metadata=metadata)


def step_spec(node: Node, places: StepInputs) -> StepSpec:
    """Scored against the model's label when the SELECT has it."""
    statement = node.statement
    assert isinstance(statement, ExplainStatement) and places.model is not None
    return scoring_spec(
        node, places, "explain", explainer=statement.explainer, label=places.model.label
    )


MATERIALIZER = Materializer(kind=ExplainStatement.KIND, run=run, step_spec=step_spec)
