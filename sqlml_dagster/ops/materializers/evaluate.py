"""``SELECT … TO EVALUATE model[@N] WITH validation.metrics = "…" [, check.m >= x] LABEL y
INTO t``: one row of metrics, and quality gates as blocking checks on the model.

A champion-relative gate (``check.auc >= champion.auc + 0.01``) scores the version
``@champion`` names on the same exported rows in the same step, and records both values
on the candidate; with no champion (or when the candidate is the champion) it passes and
says why. After the outcomes are recorded the model's promotion policy runs
(``ops/promotion.py``): a version that now passes may become ``@champion``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dagster as dg

from ...compiler.ir import EvaluateStatement, QualifiedName
from ...compiler.project import Node
from ...contract import DEFAULT_EVALUATION_METRICS, EvaluationResult, StepSpec
from ...contract.lifecycle import CHAMPION
from ...contract.metrics import metric_name, side_table
from ...store import Gate, GateResult, ModelNotFound
from ...store.metrics import EvaluationRecord
from ...store.models import CorruptVersion, now_iso
from ..checks import gate_check_results, node_gates
from ..metadata import metrics_table, png_markdown
from ..promotion import promote
from .base import Materializer, StepInputs, StepResults
from .scoring import Scored, score_again, score_into_table, scoring_spec
from .versions import VERSION_TAG

if TYPE_CHECKING:
    from ..step import AssetStep


def run(step: AssetStep) -> StepResults:
    """With ``check.*`` thresholds the evaluation also judges its model's quality gates."""
    statement = step.node.statement
    assert isinstance(statement, EvaluateStatement)
    if statement.checks:
        yield from _evaluate_with_gates(step)
    else:
        yield from _evaluate(step)


def _evaluate(step: AssetStep) -> StepResults:
    """``TO EVALUATE m … LABEL y INTO t``: one row of metrics for the current version of m."""
    statement = step.node.statement
    assert isinstance(statement, EvaluateStatement)
    scored = score_into_table(step, step_spec, statement.model, statement.model_version)
    metrics = _metrics(scored)
    compared = _record(step, scored, metrics)
    yield dg.MaterializeResult(
        metadata={**scored.metadata, **compared.metadata, **_curves_and_residuals(step, scored)}
    )
    yield from compared.observations


def _curves_and_residuals(step: AssetStep, scored: Scored) -> dict[str, Any]:
    """``validation.curves``: each curve's table loaded beside the evaluation as
    ``<into>_<curve>`` (``churn_eval_roc``) and its chart embedded; a regressor's residual
    summary. Tables the evaluate step writes, not assets of their own: the compiler makes
    a reader of ``churn_eval_roc`` depend on the evaluation (``Statement.side_tables``)."""
    result = scored.result
    assert isinstance(result, EvaluationResult)
    metadata: dict[str, Any] = {}
    tables: dict[str, str] = {}
    for curve, uri in result.curves.items():
        name = QualifiedName(side_table(step.node.name.parts, curve))
        step.warehouse.load_file(name, uri, mode="replace")  # Parquet (runtime/evaluation.py)
        tables[curve] = str(name)
        chart = result.plots.get(curve)
        plot = png_markdown(chart, f"{name} {curve}", step.context.log.warning) if chart else None
        if plot is not None:
            metadata[f"plot/{curve}"] = plot
    if tables:
        metadata["curves"] = dg.MetadataValue.json(tables)
    if result.residuals:
        metadata["residuals"] = dg.MetadataValue.json(result.residuals)
    return metadata


def _evaluate_with_gates(step: AssetStep) -> StepResults:
    """``TO EVALUATE m WITH check.accuracy >= 0.9 … INTO t``: score the *candidate* — the
    version plain ``@latest`` names (newest, or promoted), not the last one that passed —
    record each gate's outcome on that version, and report them as blocking checks on
    ``m``. A failure fails this step after the table is written, which is how Dagster
    keeps the run's predictions of ``m`` from running."""
    context, node, statement = step.context, step.node, step.node.statement
    assert isinstance(statement, EvaluateStatement)
    gates = node_gates(node)
    table_selected = bool(context.selected_asset_keys)
    scored = score_into_table(
        step, step_spec, statement.model, statement.model_version, gated=False, load=table_selected
    )
    metrics = _metrics(scored)
    compared = _record(step, scored, metrics)
    champion = _champion(step, scored) if any(g.baseline for g in gates) else None
    results = [_outcome(gate, metrics, champion, context.run_id) for gate in gates]
    step.storage.models().record_gates(scored.version, results)
    promotion = promote(step, statement.model.key)
    for r in results:
        log = context.log.info if r.passed else context.log.error
        log(
            f"quality gate {r.name} on {scored.version.ref}: {r.text} — "
            + ("passed" if r.passed else "FAILED")
        )
    selected = {k.name: k.asset_key for k in context.selected_asset_check_keys}
    checks = gate_check_results(gates, results, scored.version, selected)
    if table_selected:
        yield dg.MaterializeResult(
            metadata={
                **scored.metadata,
                **compared.metadata,
                **_curves_and_residuals(step, scored),
                "gates": dg.MetadataValue.json(
                    {r.name: "passed" if r.passed else f"failed: {r.text}" for r in results}
                ),
                **(champion.metadata if champion is not None else {}),
                **promotion,
            },
            check_results=checks,
        )
    else:
        yield from checks
    yield from compared.observations
    failed = [r for r in results if not r.passed and r.name in selected]
    if failed:
        # Dagster would fail the step for a failed blocking check anyway; saying why in
        # the user's terms replaces its generic "blocking asset check failed".
        raise dg.Failure(
            description=f"quality gate{'s' if len(failed) > 1 else ''} failed on "
            f"{scored.version.ref}: "
            + "; ".join(f"{r.name}: {r.text}" for r in failed)
            + f". Steps using {statement.model} in this run do not run; @latest keeps "
            "the newest version that passed (docs/quality-gates.md)"
        )


@dataclass(frozen=True)
class Compared:
    """An evaluation's metrics beside the previous version's, for its own table, and the
    observation that puts them on the model's page."""

    metadata: dict[str, Any]
    observations: list[dg.AssetObservation]


def _record(step: AssetStep, scored: Scored, metrics: dict[str, float]) -> Compared:
    """Record what this evaluation measured on the version it scored (``<version>/
    evaluations/``), compare it with what it measured on the previous version, and — the
    first time it measures this version, or when the numbers moved — observe them on the
    model's asset, so the model's page says how this version fares on held-out rows
    (an unchanged re-evaluation adds nothing: history shows versions, not runs)."""
    models = step.storage.models()
    name, version = step.node.name.key, scored.version
    record = EvaluationRecord(
        evaluation=name,
        metrics=metrics,
        evaluated_at=now_iso(),
        dagster_run_id=step.context.run_id,
    )
    new = models.record_evaluation(version, record)
    prior = models.previous_evaluation(version.model, version.version, name)
    table = metrics_table(metrics, prior[1].metrics if prior else {})
    metadata: dict[str, Any] = {"metrics": table}
    if prior is not None:
        metadata["previous_version"] = prior[0]
    model_key = step.model_keys.get(version.model)
    if not new or model_key is None:
        return Compared(metadata, [])
    observed: dict[str, Any] = {
        "evaluation": name,
        "model_version": version.version,
        "metrics": table,
        **{f"eval/{name}/{k}": v for k, v in metrics.items()},
    }
    if prior is not None:
        observed["previous_version"] = prior[0]
    tags = {VERSION_TAG: str(version.version)}
    return Compared(
        metadata, [dg.AssetObservation(asset_key=model_key, metadata=observed, tags=tags)]
    )


@dataclass(frozen=True)
class Champion:
    """The version ``@champion`` named when the candidate was scored, and its metrics on
    the same rows; no version (or the candidate itself) leaves ``metrics`` empty and
    ``note`` says why the relative gates pass."""

    version: int | None
    metrics: dict[str, float]
    note: str = ""

    @property
    def metadata(self) -> dict[str, Any]:
        if self.version is None or not self.metrics:
            return {"compared_with": self.note}
        return {
            "compared_with": f"@{CHAMPION} = v{self.version}",
            "champion_metrics": dg.MetadataValue.json(self.metrics),
        }


def _champion(step: AssetStep, scored: Scored) -> Champion:
    """Score ``@champion`` on the candidate's rows, unless there is none or it is the
    candidate; a champion that cannot be loaded fails the step (never another version in
    its place)."""
    model = scored.version.model
    store = step.storage.models()
    try:
        move = store.aliases(model).get(CHAMPION)
        version = None if move is None else store.get(model, CHAMPION)
    except (ModelNotFound, CorruptVersion) as e:
        raise dg.Failure(description=f"the champion-relative gates cannot run: {e}") from None
    if version is None:
        return Champion(None, {}, f"no champion yet: {model} has no @{CHAMPION}, so it passes")
    if version.version == scored.version.version:
        return Champion(
            version.version, {}, f"v{version.version} is the champion itself, so it passes"
        )
    result = score_again(step, _champion_spec, scored, version, CHAMPION)
    assert isinstance(result, EvaluationResult)
    metrics = {str(k): float(v) for k, v in result.metrics.items()}
    step.context.log.info(
        f"{model}@{CHAMPION} (v{version.version}) on the same rows: "
        + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items())
    )
    return Champion(version.version, metrics)


def _champion_spec(node: Node, places: StepInputs) -> StepSpec:
    """The champion's evaluate step: the candidate's metrics, no curves (they would be
    computed and thrown away: only the candidate's side tables are loaded)."""
    spec = step_spec(node, places)
    validation = {k: v for k, v in spec.params.get("validation", {}).items() if k != "curves"}
    return dataclasses.replace(spec, params={**spec.params, "validation": validation})


def _outcome(
    gate: Gate, metrics: dict[str, float], champion: Champion | None, run_id: str
) -> GateResult:
    """One gate's outcome on the candidate; a relative gate records the champion's value."""
    value = metrics.get(gate.metric)
    baseline: dict[str, Any] = {}
    if gate.baseline and champion is not None:
        theirs = champion.metrics.get(gate.metric)
        baseline = {
            "baseline": gate.baseline,
            "champion_version": champion.version,
            "champion_value": theirs,
            "note": champion.note,
        }
        if not champion.metrics:  # no champion, or the candidate is it: passes, says why
            passed = value is not None and value == value
        else:
            passed = gate.passes(value, theirs)
    else:
        passed = gate.passes(value)
    return GateResult(
        name=gate.name,
        metric=gate.metric,
        op=gate.op,
        threshold=gate.threshold,
        value=value,
        passed=passed,
        evaluated_at=now_iso(),
        evaluation=gate.evaluation,
        dagster_run_id=run_id,
        **baseline,
    )


def step_spec(node: Node, places: StepInputs) -> StepSpec:
    statement = node.statement
    assert isinstance(statement, EvaluateStatement) and places.model is not None
    params = _with_gate_metrics(statement, places.model.task)
    return scoring_spec(node, places, "evaluate", params=params, label=statement.label)


def _metrics(scored: Scored) -> dict[str, float]:
    result = scored.result
    assert isinstance(result, EvaluationResult)
    return {str(k): float(v) for k, v in result.metrics.items()}


def _with_gate_metrics(statement: EvaluateStatement, task: str) -> dict[str, dict[str, Any]]:
    """The step's params; an evaluation with gates also computes every gated metric — the
    written ``validation.metrics`` (or the task's defaults) plus those it lacks."""
    params = statement.params_by_namespace()
    if not statement.checks:
        return params
    written = statement.metrics
    names = list(written) if written else list(DEFAULT_EVALUATION_METRICS.get(task, ("accuracy",)))
    known = {m if isinstance(m := metric_name(n), str) else n for n in names}
    names += [c.metric for c in statement.checks if c.metric not in known]
    return {**params, "validation": {**params.get("validation", {}), "metrics": names}}


MATERIALIZER = Materializer(kind=EvaluateStatement.KIND, run=run, step_spec=step_spec)
