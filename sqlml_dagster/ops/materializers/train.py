"""``SELECT … TO TRAIN model WITH … [COLUMN …] LABEL y [USING base] INTO m``: a new model
version — from one step, or the best of a hyper-parameter search's trials (``ops/trials.py``)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import dagster as dg

from ...compiler.ir import TrainStatement
from ...compiler.project import Node
from ...compiler.render import to_sql
from ...contract import StepSpec
from ...contract.trials import json_value, with_values
from ...launchers import LaunchResult
from ...store import DataStore, ModelVersion, PendingVersion
from ..changes import digest
from ..trials import Outcome, Search, TrialsFailed, run_search
from .base import Materializer, StepInputs, StepResults
from .versions import ModelInputs, publish_new_version, unchanged_version

if TYPE_CHECKING:
    from ..step import AssetStep


def run(step: AssetStep) -> StepResults:
    """``TO TRAIN``: export the SELECT, train into a new version, publish it — unless the
    fingerprint (normalized statement, params, training data, image) equals that of the
    version ``@latest`` resolves to, which is then reused."""
    node = step.node
    statement = node.statement
    assert isinstance(statement, TrainStatement)
    data, step_uri, input_uri, exported = step.export_input(statement.select)
    step.context.log.info(f"exported {exported.rows} training rows to {input_uri}")
    validated = None
    if statement.validation_select is not None:
        _, _, validation_uri, validated = step.export_input(
            statement.validation_select, "validation"
        )
        step.context.log.info(f"exported {validated.rows} validation rows to {validation_uri}")
    data_fingerprint = training_data_fingerprint(
        exported.fingerprint, validated.fingerprint if validated else None
    )
    params = spec_params(statement)
    model = statement.model
    base = warm_start_version(step, statement)
    # A new base version retrains the fine-tuned model; a model continuing itself
    # (USING m INTO m) retrains when its statement or data change, not at every run.
    inputs = training_inputs(
        node,
        data_fingerprint,
        step.model_code_fingerprint(model.reference),
        base if base is not None and not statement.continues_itself else None,
    )
    unchanged = unchanged_version(step, inputs)
    if unchanged is not None:
        yield unchanged
        return

    def spec_for(model_uri: str) -> StepSpec:
        places = step.places(step_uri, model_uri=model_uri)
        spec = step_spec(node, places, warm_start_uri=base.uri if base else None)
        # a checkpoint records it: only a retry of this very training resumes one
        return dataclasses.replace(spec, checkpoint_key=inputs.fingerprint)

    search = Search.of(statement.params_by_namespace())
    searched: list[Outcome] = []

    def trials(pending: PendingVersion, spec: StepSpec) -> LaunchResult:
        assert search is not None
        outcome = run_trials(step, data, step_uri, search, pending, spec)
        searched.append(outcome)
        return outcome.launched

    def manifest_fields(result: Any) -> dict[str, Any]:
        written = params
        fields: dict[str, Any] = {}
        if searched:
            outcome = searched[0]
            best = next(t for t in outcome.trials if t.number == outcome.best)
            written = with_values(params, best.params)
            fields = {
                "trials": [t.to_json() for t in outcome.trials],
                "objective": outcome.objective,
                "best_trial": outcome.best,
            }
        return {
            "model_reference": model.reference,
            "image": model.image,
            "params": {**written, "model": result.params or written.get("model", {})},
            "metrics": dict(result.metrics),
            "label": statement.label,
            "training_rows": result.training_rows
            if result.training_rows is not None
            else exported.rows,
            "warm_start_from": base.ref if base else None,
            "early_stopping": dict(result.early_stopping),
            **fields,
        }

    yield publish_new_version(
        step,
        data,
        step_uri,
        spec_for,
        inputs=inputs,
        data_fingerprint=data_fingerprint,
        manifest_fields=manifest_fields,
        fill=trials if search is not None else None,
    )


def run_trials(
    step: AssetStep,
    data: DataStore,
    step_uri: str,
    search: Search,
    pending: PendingVersion,
    spec: StepSpec,
) -> Outcome:
    """Every trial of ``search`` as a step of its own — its spec is ``spec`` with the
    trial's values, its folder ``trial-<n>`` beside the statement's, its model in the
    reservation's ``.trials/<n>`` — then the best trial's files become the version's."""
    models = step.storage.models()

    def run_trial(number: int, values: dict[str, Any]) -> LaunchResult:
        trial = dataclasses.replace(
            spec,
            step_id=f"{spec.step_id}/trial-{number}",
            params=with_values(spec.params, values),
            model_uri=models.trial_uri(pending, number),
        )
        folder = data.folder(step_uri, f"trial-{number}")
        return step.launch(trial, data, folder, siblings=search.max_parallel)

    try:
        outcome = run_search(search, run_trial, step.context.log.info)
    except TrialsFailed as e:
        raise dg.Failure(description=f"{step.node.name}: {e}") from None
    models.keep_trial(pending, outcome.best)
    return outcome


def warm_start_version(step: AssetStep, statement: TrainStatement) -> ModelVersion | None:
    """``USING base[@v]``: the version this training starts from. A model continuing
    itself (``USING m INTO m``) with no version yet trains from scratch."""
    if statement.warm_start is None:
        return None
    if statement.continues_itself and statement.warm_start_version is None:
        latest = step.storage.models().latest(statement.warm_start.key)
        if latest is None:
            step.context.log.info(
                f"{statement.into}: no version to continue from yet — training from scratch"
            )
        return latest
    return step.model_version(statement.warm_start, statement.warm_start_version)


def training_data_fingerprint(rows: str, validation_rows: str | None) -> str:
    """The training data's fingerprint: the SELECT's rows, with ``validation.select``'s."""
    return rows if validation_rows is None else digest(rows, validation_rows)


def training_inputs(
    node: Node,
    data_fingerprint: str,
    model_code: str | None,
    base: ModelVersion | None = None,
) -> ModelInputs:
    """What a version of ``node``'s model is made from — the training's fingerprint and
    its parts: the normalized statement (params included, ``train.force`` not), the
    file's session statements, the training data, the model reference and image, and the
    model's code when it lives in the project's ``models/`` (``AssetStep.model_code_
    fingerprint``), and the base version of a warm start (``USING base``: a new base
    version retrains the fine-tuned model). The step and ``sqlml plan`` both call this."""
    statement = node.statement
    assert isinstance(statement, TrainStatement)
    normalized = _normalized(statement)
    session = [s.fingerprint for s in node.session]
    model = statement.model
    return ModelInputs(
        parts=(
            ("statement", digest(normalized)),
            ("session", digest(session)),
            ("data", data_fingerprint),
            ("model", model.reference),
            ("image", model.image or ""),
            ("model_code", model_code or ""),
            *((("base", base.ref),) if base is not None else ()),
        ),
        fingerprint=digest(
            normalized,
            session,
            data_fingerprint,
            model.reference,
            model.image,
            *(code for code in [model_code] if code),
            *([base.ref, base.manifest.fingerprint] if base is not None else []),
        ),
    )


def step_spec(node: Node, places: StepInputs, warm_start_uri: str | None = None) -> StepSpec:
    """The train step of ``node``: its SELECT's rows in ``input.arrow`` or
    ``input.parquet`` (and ``validation.select``'s in ``validation.*``), fitted into
    ``places.model_uri``
    (from ``warm_start_uri``'s weights when the statement says ``USING base``). With a
    search space its params show the space (``{"hparam_range": [2, 8]}``); each trial's
    spec carries its own values instead (:func:`run_trials`)."""
    statement = node.statement
    assert isinstance(statement, TrainStatement)
    params = spec_params(statement)
    return StepSpec(
        kind="train",
        step_id=places.step_id,
        model_name=node.name.key,
        model_reference=statement.model.reference,
        flavor=statement.model.flavor,
        params=params,
        input_uri=places.input_uri,
        label=statement.label,
        model_uri=places.model_uri,
        image=statement.model.image,
        seed=int(params.get("train", {}).get("seed", 0)),
        columns=feature_columns(statement),
        validation_uri=places.validation_uri if statement.validation_select is not None else None,
        data_format=places.data_format,
        warm_start_uri=warm_start_uri,
    )


def spec_params(statement: TrainStatement) -> dict[str, dict[str, Any]]:
    """The statement's params by namespace as JSON (a search space as its JSON form)."""
    return {
        namespace: {key: json_value(value) for key, value in values.items()}
        for namespace, values in statement.params_by_namespace().items()
    }


def feature_columns(statement: TrainStatement) -> dict[str, list[dict[str, Any]]] | None:
    """The COLUMN clauses as the runtime reads them: constructor argument → columns."""
    if not statement.columns:
        return None
    return {g.argument: [c.to_json() for c in g.columns] for g in statement.columns}


def _normalized(statement: TrainStatement) -> str:
    """The statement's canonical SQL without ``train.force``, which says *whether* to
    train, not *what*: toggling it must not change the fingerprint."""
    kept = tuple(p for p in statement.params if p.key != "train.force")
    return to_sql(dataclasses.replace(statement, params=kept))


MATERIALIZER = Materializer(kind=TrainStatement.KIND, run=run, step_spec=step_spec)
