"""``SELECT … TO RUN <image> CMD "program", … INTO a, b``: a user's program over the
SELECT's rows; each ``INTO`` table it writes becomes its asset, all of them at once.
Without ``INTO`` the run itself is the asset: nothing is loaded, and its materialization
records the exit status, the duration and the last lines the program printed."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg
from sqlglot import exp

from ...compiler.ir import QualifiedName, RunStatement
from ...compiler.project import Node
from ...contract import ProgramResult, StepSpec
from ...launchers import StepFailed
from ...warehouses import Warehouse
from ..metadata import launch_metadata, program_output_metadata, table_metadata
from .base import Materializer, StepInputs, StepResults

if TYPE_CHECKING:
    from ..step import AssetStep


def run(step: AssetStep) -> StepResults:
    """Export the SELECT, run the program, load every table it wrote in one transaction
    (a failed program, or a table missing, changes none of them), one result per asset."""
    node = step.node
    statement = node.statement
    assert isinstance(statement, RunStatement)
    # A user's program reads and writes Parquet, whatever the data store's step data format
    # (contract/programs.py): the files are its interface, not only ours.
    data, step_uri, _, exported = step.export_input(statement.select, data_format="parquet")
    step.context.log.info(f"exported {exported.rows} rows for program {statement.program}")
    spec = step_spec(node, step.places(step_uri, data_format="parquet"))
    launched = step.launch(spec, data, step_uri)
    result = launched.result
    if not isinstance(result, ProgramResult):
        raise StepFailed(description=f"a run step reported a {result.kind} result")
    common = {
        "program": statement.program,
        "image": statement.image,
        **launched.metadata,
        **launch_metadata(launched.launched_as, launched.image_digest),
    }
    if not statement.outputs:  # a run for what it does: the run is the asset
        yield dg.MaterializeResult(
            asset_key=step.output_key(node.name),
            metadata={
                **common,
                "command": " ".join(statement.command),
                "input_rows": exported.rows,
                "exit_code": result.exit_code,
                "seconds": result.seconds,
                "output": program_output_metadata(result.output_tail, result.output_lines),
            },
        )
        return
    outputs = dict(spec.outputs or [])
    load_tables(
        step.warehouse, [(name, outputs[str(name)]) for name in node.outputs], node.fingerprint
    )
    for name in node.outputs:
        yield dg.MaterializeResult(
            asset_key=step.output_key(name),
            metadata={**table_metadata(node, step.warehouse.stats(name), name), **common},
        )


def step_spec(node: Node, places: StepInputs) -> StepSpec:
    """The run step of ``node``: the SELECT's rows in ``input.parquet``, each ``INTO``
    table's Parquet in ``output-<n>.parquet`` of the step folder (none without ``INTO``)."""
    statement = node.statement
    assert isinstance(statement, RunStatement) and statement.program is not None
    offset = statement.span.start  # the SELECT as written, for SQLFLOW_TO_RUN_SELECT
    select = statement.text[
        statement.select_span.start - offset : statement.select_span.end - offset
    ]
    return StepSpec(
        kind="run",
        step_id=places.step_id,
        model_name=node.name.key,
        model_reference=statement.program,
        flavor="",
        input_uri=places.input_uri,
        image=statement.image,
        command=list(statement.command),
        outputs=[
            [str(name), places.file(f"output-{i}.parquet")]
            for i, name in enumerate(statement.outputs)
        ],
        select=select,
    )


def load_tables(
    warehouse: Warehouse, loads: Sequence[tuple[QualifiedName, str]], salt: str
) -> None:
    """Each Parquet file into its table, all or none: one file loads as it is; several are
    staged beside their tables first, then swapped in by one transaction (the warehouse's
    protocol has one table a load), the stages dropped whatever happens."""
    if len(loads) == 1:
        ((name, uri),) = loads
        warehouse.load_file(name, uri)
        return
    digest = hashlib.sha256(salt.encode()).hexdigest()[:8]
    stages = [
        QualifiedName((*name.parts[:-1], f"_sqlml_stage_{digest}_{i}"))
        for i, (name, _) in enumerate(loads)
    ]
    try:
        for stage, (_, uri) in zip(stages, loads, strict=True):
            warehouse.load_file(stage, uri)
        swaps: list[exp.Expr] = [
            exp.Create(
                this=name.to_table(),
                kind="TABLE",
                replace=True,
                expression=exp.select("*").from_(stage.to_table()),
            )
            for stage, (name, _) in zip(stages, loads, strict=True)
        ]
        warehouse.run_statements(swaps)
    finally:
        warehouse.run_statements(
            [exp.Drop(tables=[stage.to_table()], kind="TABLE", exists=True) for stage in stages]
        )


MATERIALIZER = Materializer(kind=RunStatement.KIND, run=run, step_spec=step_spec)
