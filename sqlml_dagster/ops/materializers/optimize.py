"""``SELECT … TO MAXIMIZE|MINIMIZE … INTO t``: solve a mathematical program over the
SELECT's rows; the table holds the variables' columns and the solved value of each row."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from ...compiler.ir import OptimizeStatement
from ...compiler.project import Node
from ...contract import OptimizationResult, StepSpec
from ...contract.optimization import SOLVER
from ...launchers import StepFailed
from ..metadata import launch_metadata, table_metadata
from .base import Materializer, StepInputs, StepResults

if TYPE_CHECKING:
    from ..step import AssetStep


def run(step: AssetStep) -> StepResults:
    """Export the SELECT, solve, load the solved values as the table."""
    node = step.node
    statement = node.statement
    assert isinstance(statement, OptimizeStatement)
    data, step_uri, _, exported = step.export_input(statement.select)
    step.context.log.info(
        f"{statement.direction} over {exported.rows} rows ({len(statement.constraints)} "
        "constraint(s)), solved with HiGHS"
    )
    spec = step_spec(node, step.places(step_uri))
    launched = step.launch(spec, data, step_uri)
    result = launched.result
    if not isinstance(result, OptimizationResult):
        raise StepFailed(description=f"an optimize step reported a {result.kind} result")
    step.warehouse.load_file(node.name, str(spec.output_uri), data_format=spec.data_format)
    yield dg.MaterializeResult(
        metadata={
            **table_metadata(node, step.warehouse.stats(node.name)),
            "objective": result.objective,
            "direction": statement.direction,
            "solver": result.solver,
            "status": result.status,
            "result_column": result.result_column,
            **launch_metadata(launched.launched_as, launched.image_digest),
        }
    )


def step_spec(node: Node, places: StepInputs) -> StepSpec:
    """The optimize step of ``node``: the SELECT's rows in the step's input file, the
    solved values in its output file (in the data store's step data format); the program
    travels as data."""
    statement = node.statement
    assert isinstance(statement, OptimizeStatement)
    return StepSpec(
        kind="optimize",
        step_id=places.step_id,
        model_name=node.name.key,
        model_reference=SOLVER,
        flavor="",
        input_uri=places.input_uri,
        output_uri=places.output_uri,
        optimization=statement.program(),
        data_format=places.data_format,
    )


MATERIALIZER = Materializer(kind=OptimizeStatement.KIND, run=run, step_spec=step_spec)
