"""Quality gates and data checks: what a project asserts about its models and their data,
as blocking Dagster asset checks.

* **Quality gates** — ``TO EVALUATE m … WITH check.accuracy >= 0.9 … INTO t``: each
  threshold is an ``AssetCheckSpec`` on the *model* ``m``, declared by the evaluation's own
  ``multi_asset`` (the step that computes the metric is the one that can judge it). Dagster
  makes every step downstream of ``m`` in the same run wait for blocking checks on ``m``
  and skips it when one fails; the evaluation itself is exempt (it performs the check).
  The outcome is also recorded on the version in the model store, which is what
  ``@latest`` consults across runs (``ModelStore.get(…, gates=…)``).
* **Data checks** — for each ``TO TRAIN``: ``<model>_features_exist`` (the label and the
  COLUMN clause's columns are in the SELECT's output) and ``<model>_label_not_null`` (no
  training row has a NULL label), run against the warehouse as a ``multi_asset_check`` on
  the SELECT's input table. They are blocking, so a failing check stops the training in
  the same run, before any data is exported.

See ``docs/quality-gates.md``. (No postponed annotations here: Dagster inspects the
check function's ``context`` annotation.)
"""

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from sqlglot import exp

from ..compiler import gates as compiler_gates
from ..compiler.gates import GateSpec
from ..compiler.ir import QualifiedName, TrainStatement
from ..compiler.parser import tables_read
from ..compiler.project import Node, Project
from ..store import Gate, GateResult, ModelVersion
from ..warehouses import FileScope, Warehouse

#: Check metadata naming the gate's condition (shown in the UI; the CLI reads gates from the
#: project manifest, never from here).
GATE_METADATA = "sqlml/gate"
#: Check metadata telling data checks apart from gates.
DATA_CHECK_METADATA = "sqlml/data_check"


# -- quality gates ----------------------------------------------------------------------


def store_gates(specs: Iterable[GateSpec]) -> tuple[Gate, ...]:
    """The compiler's gate declarations as the model store judges versions by them."""
    return tuple(Gate(**dataclasses.asdict(spec)) for spec in specs)


def node_gates(node: Node) -> tuple[Gate, ...]:
    """The gates an evaluation node sets on its model (none for other nodes)."""
    return store_gates(compiler_gates.node_gates(node))


def project_gates(gates: Mapping[str, Iterable[GateSpec]]) -> dict[str, tuple[Gate, ...]]:
    """Gates by model key (``QualifiedName.key``, the store's key) from the compiler's
    (``compiler.gates.project_gates``) or a manifest's ``gates``."""
    return {model: store_gates(specs) for model, specs in gates.items()}


def gate_check_specs(node: Node, model_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """The blocking checks an evaluation node declares on its model."""
    return [
        dg.AssetCheckSpec(
            name=gate.name,
            asset=model_key,
            blocking=True,
            description=(
                f"Quality gate `{gate.condition}` on the version `{gate.evaluation}` scores "
                f"({gate.location}). Blocking: when it fails, this run's predictions of the "
                "model do not run, and `@latest` keeps the newest version that passed."
            ),
            metadata={
                GATE_METADATA: {
                    "metric": gate.metric,
                    "op": gate.op,
                    "threshold": gate.threshold,
                    "evaluation": gate.evaluation,
                    "location": gate.location,
                    **({"baseline": gate.baseline} if gate.baseline else {}),
                }
            },
        )
        for gate in node_gates(node)
    ]


def gate_check_results(
    gates: Sequence[Gate],
    results: Sequence[GateResult],
    version: ModelVersion,
    keys: Mapping[str, dg.AssetKey],
) -> list[dg.AssetCheckResult]:
    """Dagster's view of recorded outcomes: ERROR severity, so a failure blocks."""
    by_name = {r.name: r for r in results}
    out = []
    for gate in gates:
        if gate.name not in keys:
            continue  # not selected in this run
        result = by_name[gate.name]
        metadata: dict[str, Any] = {
            "metric": gate.metric,
            "condition": gate.condition,
            "threshold": float(gate.threshold),
            **({"baseline": gate.baseline} if gate.baseline else {}),
            "model": version.model,
            "model_version": version.version,
            "evaluation": gate.evaluation,
        }
        if result.value is not None:
            metadata["value"] = float(result.value)
        if result.baseline:  # champion-relative: both values, or why it passed without one
            if result.champion_value is not None:
                metadata["champion_version"] = result.champion_version
                metadata["champion_value"] = float(result.champion_value)
            if result.note:
                metadata["note"] = result.note
        verdict = "meets" if result.passed else "does not meet"
        out.append(
            dg.AssetCheckResult(
                asset_key=keys[gate.name],
                check_name=gate.name,
                passed=result.passed,
                severity=dg.AssetCheckSeverity.ERROR,
                description=f"{version.ref}: {result.text} — {verdict} `{gate.condition}`",
                metadata=metadata,
            )
        )
    return out


# -- data checks ------------------------------------------------------------------------


def data_checks(
    project: Project,
    asset_key: Callable[[QualifiedName], dg.AssetKey],
    sql_path: Callable[[Node], Path],
    warehouse_key: str,
) -> list[dg.AssetChecksDefinition]:
    """One ``multi_asset_check`` per TRAIN statement: features exist, label not null.

    ``asset_key`` maps a table name to its asset key (the translator's), ``sql_path`` a
    node to its SQL file (relative paths in the SELECT resolve against its folder).

    The checks target one table the SELECT reads — the *last* in the project's dependency
    order (sources first) — and list the others as additional deps, so they run after
    every input is materialized and no two checks can wait for each other. A SELECT that
    calls ``ML_PREDICT`` gets none: its rows depend on a model the check would have to wait
    for (and that model's own gates).
    """
    rank = {s.name.key: i for i, s in enumerate(project.sources)}
    rank.update({n.name.key: len(rank) + i for i, n in enumerate(project.nodes)})
    out: list[dg.AssetChecksDefinition] = []
    for node in project.nodes:
        statement = node.statement
        if not isinstance(statement, TrainStatement) or statement.model_calls:
            continue
        inputs = [t for t in tables_read(statement.select) if t.key in rank]
        if not inputs:
            continue
        target = max(inputs, key=lambda t: rank[t.key])
        others = [asset_key(t) for t in inputs if t.key != target.key]
        out.append(
            _data_check(
                node,
                statement,
                asset_key(target),
                others,
                FileScope.of_sql_file(sql_path(node), project.root),
                warehouse_key,
            )
        )
    return out


def _data_check(
    node: Node,
    statement: TrainStatement,
    target: dg.AssetKey,
    others: list[dg.AssetKey],
    files: FileScope,
    warehouse_key: str,
) -> dg.AssetChecksDefinition:
    model = "_".join(node.name.asset_path)
    required = required_columns(statement)
    specs = [
        dg.AssetCheckSpec(
            name=f"{model}_features_exist",
            asset=target,
            additional_deps=others,
            blocking=True,
            description=(
                f"The SELECT that trains `{node.name}` ({statement.span.location()}) has the "
                f"columns it names: {', '.join(required) or 'at least one feature'}. Blocking: "
                "the training does not run when it fails."
            ),
            metadata={DATA_CHECK_METADATA: "features_exist"},
        )
    ]
    if statement.label:
        specs.append(
            dg.AssetCheckSpec(
                name=f"{model}_label_not_null",
                asset=target,
                additional_deps=others,
                blocking=True,
                description=(
                    f"No row of the SELECT that trains `{node.name}` "
                    f"({statement.span.location()}) has a NULL `{statement.label}`. Blocking: "
                    "the training does not run when it fails."
                ),
                metadata={DATA_CHECK_METADATA: "label_not_null"},
            )
        )

    @dg.multi_asset_check(
        specs=specs,
        name="sqlml_data__" + "__".join(node.name.asset_path),
        required_resource_keys={warehouse_key},
        can_subset=True,
    )
    def _check(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        warehouse: Warehouse = getattr(context.resources, warehouse_key)
        selected = {k.name for k in context.selected_asset_check_keys}
        for result in run_data_checks(warehouse, statement, files, target, model):
            if result.check_name in selected:
                yield result

    return _check


def required_columns(statement: TrainStatement) -> list[str]:
    """The label and every column the COLUMN clauses read, in order, once each."""
    names = [statement.label] if statement.label else []
    for group in statement.columns:
        for column in group.columns:
            names.extend(c for c in column.source_columns if c not in names)
    return names


def run_data_checks(
    warehouse: Warehouse,
    statement: TrainStatement,
    files: FileScope,
    target: dg.AssetKey,
    model: str,
) -> list[dg.AssetCheckResult]:
    """Run the training SELECT's data checks in the warehouse: its output columns (no rows
    fetched), then — when the label exists — one pass counting rows and NULL labels."""
    rows = statement.select.subquery("_sqlml_training_rows")
    described = warehouse.query(exp.select("*").from_(rows.copy()).limit(0), limit=0, files=files)
    columns = [str(c) for c in described[0]] if described else []
    lower = {c.lower() for c in columns}
    required = required_columns(statement)
    missing = [c for c in required if c.lower() not in lower]
    label = statement.label
    features = [c for c in columns if label is None or c.lower() != label.lower()]
    null_labels = total = None
    if label is not None and label.lower() in lower:
        column = exp.column(label, quoted=True)
        count_nulls = exp.Sum(
            this=exp.Case()
            .when(column.is_(exp.null()), exp.Literal.number(1))
            .else_(exp.Literal.number(0))
        )
        query = exp.select(exp.Count(this=exp.Star()), count_nulls).from_(rows.copy())
        counted = warehouse.query(query, limit=1, files=files)
        fetched = counted[1][0] if counted and counted[1] else (0, 0)
        total, null_labels = int(str(fetched[0] or 0)), int(str(fetched[1] or 0))
    results = []
    exist_ok = not missing and bool(features)
    results.append(
        dg.AssetCheckResult(
            asset_key=target,
            check_name=f"{model}_features_exist",
            passed=exist_ok,
            severity=dg.AssetCheckSeverity.ERROR,
            description=(
                "the SELECT has every column the statement names"
                if exist_ok
                else f"the SELECT has no column {', '.join(repr(c) for c in missing)}"
                if missing
                else "the SELECT has no feature column besides the label"
            ),
            metadata={
                "columns": dg.MetadataValue.json(columns),
                "required": dg.MetadataValue.json(required),
                "missing": dg.MetadataValue.json(missing),
            },
        )
    )
    if label is not None:
        passed = null_labels == 0
        if null_labels is None:
            text = f"the SELECT has no label column '{label}'"
        elif passed:
            text = f"no NULL '{label}' in {total} training rows"
        else:
            text = (
                f"{null_labels} of {total} training rows have a NULL '{label}'; "
                f"filter them out (WHERE {label} IS NOT NULL) or fix the data"
            )
        results.append(
            dg.AssetCheckResult(
                asset_key=target,
                check_name=f"{model}_label_not_null",
                passed=passed,
                severity=dg.AssetCheckSeverity.ERROR,
                description=text,
                metadata=(
                    {"null_labels": null_labels, "rows": total or 0}
                    if null_labels is not None
                    else {"missing": dg.MetadataValue.json([label])}
                ),
            )
        )
    return results


# -- drift ------------------------------------------------------------------------------

#: The check name of ``-- sqlml: drift = …`` on the asset it is written above.
DRIFT_CHECK = "drift"
#: How many of the most drifted features a drift check names.
WORST_SHOWN = 5


def drift_check_specs(node: Node, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """``-- sqlml: drift = block(psi > 0.25)`` above a TO PREDICT (or a table calling
    ML_PREDICT): a check on that asset, blocking for ``block``."""
    drift = node.directives.drift
    if drift is None:
        return []
    return [
        dg.AssetCheckSpec(
            name=DRIFT_CHECK,
            asset=key,
            blocking=drift.action == "block",
            description=(
                f"Drift of the scored rows from the model's training data: fails when a "
                f"feature's {drift.condition} (population stability index over the training "
                f"quantile bins or categories; {drift.span.location()}). "
                + (
                    "Blocking: assets downstream of this one do not run in the same run."
                    if drift.action == "block"
                    else "A warning: nothing downstream waits on it."
                )
            ),
            metadata={"sqlml/drift": {"action": drift.action, "condition": drift.condition}},
        )
    ]


def drift_check_result(
    node: Node,
    key: dg.AssetKey,
    reports: Mapping[str, Mapping[str, Mapping[str, Any]]],
    problems: Sequence[str] = (),
) -> dg.AssetCheckResult:
    """The drift check's verdict on the reports of the models a step scored (model ref →
    feature → ``psi``…): failed when any feature meets the condition, or when a model has
    no training statistics to compare with (``problems``); the worst features named."""
    drift = node.directives.drift
    assert drift is not None
    several = len(reports) > 1
    features = [
        (f"{ref}:{name}" if several else name, report)
        for ref, found in reports.items()
        for name, report in found.items()
    ]
    features.sort(key=lambda item: -float(item[1]["psi"]))
    drifted = [name for name, report in features if drift.drifted(float(report["psi"]))]
    worst = [
        {"feature": name, "kind": report["kind"], "psi": round(float(report["psi"]), 6)}
        for name, report in features[:WORST_SHOWN]
    ]
    shown = ", ".join(f"{w['feature']} psi={w['psi']:.3f}" for w in worst)
    if problems:
        description = "; ".join(problems)
    elif drifted:
        description = (
            f"{len(drifted)} of {len(features)} feature(s) drifted ({drift.condition}): "
            + ", ".join(
                f"{w['feature']} psi={w['psi']:.3f}" for w in worst if w["feature"] in drifted
            )
        )
    else:
        description = f"no feature drifted ({drift.condition})" + (
            f"; the most changed: {shown}" if shown else ""
        )
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=DRIFT_CHECK,
        passed=not drifted and not problems,
        severity=dg.AssetCheckSeverity.ERROR
        if drift.action == "block"
        else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "condition": drift.condition,
            "action": drift.action,
            "models": dg.MetadataValue.json(list(reports)),
            "worst_features": dg.MetadataValue.json(worst),
            "drifted": dg.MetadataValue.json(drifted),
            "features_checked": len(features),
        },
    )


def fail_on_blocking_drift(step: Any, checks: Sequence[dg.AssetCheckResult]) -> None:
    """After the asset and its drift check are reported: a failed ``block`` check fails
    the step in the user's words (Dagster would fail it for the blocking check anyway), so
    nothing downstream runs."""
    drift = step.node.directives.drift
    for check in checks:
        if drift is not None and drift.action == "block" and not check.passed:
            raise dg.Failure(
                description=f"drift check on {step.node.name} failed: {check.description}. "
                f"Assets downstream of {step.node.name} do not run "
                "(-- sqlml: drift = block(…); docs/quality-gates.md)"
            )
