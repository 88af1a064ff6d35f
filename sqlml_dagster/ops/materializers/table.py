"""Plain SQL: tables and views, run in the warehouse (``ML_PREDICT`` calls included)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
from sqlglot import exp

from ...compiler.ir import SqlStatement, Statement
from ...warehouses import WarehouseFault
from ..checks import drift_check_result, fail_on_blocking_drift
from ..metadata import table_metadata
from .base import Materializer, StepResults

if TYPE_CHECKING:
    from ..step import AssetStep


def run(step: AssetStep) -> StepResults:
    """A table or view: the file's session statements, the defining statement (``CREATE``
    as ``CREATE OR REPLACE``; an ``INSERT`` target created empty on its first run) and
    its followups, in one warehouse transaction."""
    node, warehouse, context = step.node, step.warehouse, step.context
    statements: list[exp.Expr] = [s.tree for s in node.session]
    written: list[Statement] = list(node.session)  # where each one is, for its faults
    defining = node.statement
    assert isinstance(defining, SqlStatement)  # the only kind registered as "sql"
    if defining.creates:
        statements.append(_as_create_or_replace(defining.tree))
    else:  # an append-only table produced by INSERT: create it empty on first run
        query = defining.tree.expression
        if isinstance(query, exp.Query) and not warehouse.table_exists(node.name):
            statements.append(
                exp.Create(
                    this=defining.tree.this.copy(),
                    kind="TABLE",
                    exists=True,
                    expression=query.copy().limit(0),
                )
            )
            written.append(defining)
        statements.append(defining.tree)
    written.append(defining)
    statements.extend(s.tree for s in node.followups)
    written.extend(node.followups)
    context.log.info(
        f"running {len(statements)} statement(s) for {node.name} in {warehouse.location}"
    )
    drift = node.directives.drift is not None
    with step.model_functions(statements, drift=drift) as calls:
        try:
            warehouse.run_statements(calls.rewritten, files=step.files, functions=calls.functions)
        except WarehouseFault as e:  # the statement's file:line:col in the one-line failure
            if e.statement is not None and e.statement < len(written):
                e.at(written[e.statement].span.location())
            raise
    metadata = table_metadata(node, warehouse.stats(node.name))
    if calls.versions:
        metadata["models"] = dg.MetadataValue.json(calls.versions)
    checks = []
    if drift:
        reports = {
            ref: found.report() for ref, found in calls.drift.items() if not isinstance(found, str)
        }
        problems = [found for found in calls.drift.values() if isinstance(found, str)]
        checks.append(drift_check_result(node, context.assets_def.key, reports, problems))
    yield dg.MaterializeResult(metadata=metadata, check_results=checks or None)
    fail_on_blocking_drift(step, checks)


def _as_create_or_replace(tree: exp.Expr) -> exp.Expr:
    """Assets are rebuilt on every materialization, so ``CREATE`` means ``CREATE OR REPLACE``."""
    create = tree.copy()
    create.set("replace", True)
    create.set("exists", False)
    return create


MATERIALIZER = Materializer(kind=SqlStatement.KIND, run=run)
