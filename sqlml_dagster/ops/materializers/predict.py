"""``SELECT … TO PREDICT table.column USING model[@N]``: a prediction table."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from ...compiler.ir import PredictStatement
from ...compiler.project import Node
from ...contract import PredictionResult, StepSpec
from ..checks import drift_check_result, fail_on_blocking_drift
from .base import Materializer, StepInputs, StepResults
from .scoring import partition_rows, score_into_table, scoring_spec

if TYPE_CHECKING:
    from ..step import AssetStep


def run(step: AssetStep) -> StepResults:
    """``TO PREDICT t.column USING m``: the SELECT's rows with the prediction column (only
    one partition's rows for a partitioned table)."""
    statement = step.node.statement
    assert isinstance(statement, PredictStatement)
    rows = partition_rows(step)
    scored = score_into_table(step, step_spec, statement.using, statement.using_version, rows=rows)
    checks = []
    drift = step.node.directives.drift
    if drift is not None:
        result = scored.result
        assert isinstance(result, PredictionResult)
        key = step.context.assets_def.key
        checks.append(
            drift_check_result(
                step.node,
                key,
                {scored.version.ref: result.drift} if not result.drift_problem else {},
                [result.drift_problem] if result.drift_problem else [],
            )
        )
    yield dg.MaterializeResult(
        metadata={
            **scored.metadata,
            "model_uri": dg.MetadataValue.path(scored.version.uri),
            "model_fingerprint": scored.manifest.fingerprint,
        },
        check_results=checks or None,
    )
    fail_on_blocking_drift(step, checks)


def step_spec(node: Node, places: StepInputs) -> StepSpec:
    statement = node.statement
    assert isinstance(statement, PredictStatement)
    return scoring_spec(
        node,
        places,
        "predict",
        prediction_column=statement.column,
        drift=node.directives.drift is not None,
    )


MATERIALIZER = Materializer(kind=PredictStatement.KIND, run=run, step_spec=step_spec)
