"""What the model-producing kinds share: reuse an unchanged version, or reserve, fill
and publish a new one atomically (discarded on any failure or cancellation) — and then
apply the model's promotion policy (``ops/promotion.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dagster as dg

from ...contract import StepSpec, TrainingResult
from ...launchers import LaunchResult, StepFailed
from ...store import DataStore, ModelManifest, ModelStore, ModelVersion, PendingVersion
from ...store.models import CorruptVersion, ReservationLost, now_iso
from ..changes import Reason
from ..metadata import history_table, model_metadata, reused_metadata
from ..promotion import promote

if TYPE_CHECKING:
    from ..step import AssetStep


@dataclass(frozen=True)
class ModelInputs:
    """What a model version is made from: each part's fingerprint by name (the statement,
    the training data, the image, …), and the model fingerprint.

    The fingerprint is computed by each kind as releases before this one computed it, so
    versions they trained are still recognized as unchanged; the parts are kept in the
    manifest (``inputs``) so that a retrain can say which part changed."""

    parts: tuple[tuple[str, str], ...]
    fingerprint: str

    def part(self, name: str) -> str | None:
        return dict(self.parts).get(name)


@dataclass(frozen=True)
class VersionDecision:
    """Reuse a version, or train a new one — and why. ``reuse`` is the version kept
    (``None``: train); ``previous`` the version before it, for the UI's comparison."""

    reuse: ModelVersion | None
    reasons: tuple[Reason, ...]
    previous: ModelVersion | None = None

    @property
    def trains(self) -> bool:
        return self.reuse is None


def decide_version(
    models: ModelStore, name: str, inputs: ModelInputs, *, force: bool, statement: str
) -> VersionDecision:
    """The one place that decides "reuse or train" — for a materialization
    (:func:`unchanged_version`) and for ``sqlml plan`` alike.

    Reused: the version ``@latest`` resolves to, when its fingerprint matches. After a
    rollback (``sqlml models promote m@2`` while v3 is newest), inputs equal to v3's keep
    the rollback rather than retraining v3's model again; new inputs train a new version.
    ``statement`` is the node's token fingerprint, which older manifests compare by."""
    if force:
        return VersionDecision(None, (Reason("forced", FORCED),))
    listing = models.listing(name)
    versions = listing.versions
    if not versions:
        return VersionDecision(None, (Reason("never", "no version yet"),))
    try:
        latest = models.resolve_latest(name, listing)
    except CorruptVersion as e:  # never reuse around a damaged @latest: train a new one
        return VersionDecision(None, (Reason("damaged", f"{e} — training a new version"),))
    fingerprint = inputs.fingerprint
    previous = next((v for v in reversed(versions) if v.version < latest.version), None)
    if latest.manifest.fingerprint == fingerprint:
        reason = Reason(
            "unchanged",
            f"statement, params, data and image are unchanged since version {latest.version} "
            f"(fingerprint {fingerprint})",
        )
        return VersionDecision(latest, (reason,), previous)
    newest = versions[-1]
    if latest.version != newest.version and newest.manifest.fingerprint == fingerprint:
        reason = Reason(
            "rolled_back",
            f"inputs equal those of version {newest.version}, which was rolled back to "
            f"version {latest.version} (sqlml models promote); keeping the rollback",
        )
        return VersionDecision(latest, (reason,), previous)
    return VersionDecision(None, differences(latest.manifest, inputs, statement))


#: Why a forced training trains.
FORCED = "forced (train.force, run config force: true, or --force): training even if unchanged"

#: Model input parts → (reason code, what people call it).
_PARTS = {
    "statement": ("statement", "statement or params"),
    "statement_node": ("statement", "statement or params"),
    "session": ("session", "the file's session statements"),
    "data": ("data", "training data"),
    "model": ("model", "model"),
    "model_code": ("model_code", "model code in models/"),
    "image": ("image", "image"),
    "source": ("source", "registered model file"),
    "options": ("statement", "options"),
}


def differences(trained: ModelManifest, inputs: ModelInputs, statement: str) -> tuple[Reason, ...]:
    """Which inputs differ from those ``trained`` was made from. A manifest written before
    parts were kept is compared by the fields it has."""
    recorded = dict(trained.inputs)
    if not recorded:  # an older manifest: what it kept
        recorded = {
            "statement_node": trained.statement_fingerprint,
            "data": trained.training_data_fingerprint,
            "model": trained.model_reference,
            "image": trained.image or "",
        }
        current = {**dict(inputs.parts), "statement_node": statement}
        if "source" in current:  # CREATE MODEL: its data is the registered file
            current["data"] = current.pop("source")
            recorded.pop("model")
    else:
        current = dict(inputs.parts)
    reasons = []
    for part, now in current.items():
        before = recorded.get(part)
        if before is None or before == now:
            continue
        code, what = _PARTS.get(part, ("statement", "statement"))
        if part in ("model", "image"):
            text = f"{what} changed: {before or '(none)'} → {now or '(none)'}"
        else:
            text = f"{what} changed since version {trained.version}"
        reasons.append(Reason(code, text))
    if not reasons:
        reasons.append(Reason("statement", f"inputs differ from version {trained.version}'s"))
    return tuple(reasons)


def unchanged_version(step: AssetStep, inputs: ModelInputs) -> dg.MaterializeResult | None:
    """The result that reuses an existing version when nothing changed, else ``None``
    (having logged why it trains). A reuse is tagged ``sqlml/reused`` and reports no
    plotted numbers, so the asset's history and Plots tab show versions, not runs."""
    context, name = step.context, step.node.name.key
    decision = decide_version(
        step.storage.models(), name, inputs, force=step.force, statement=step.node.fingerprint
    )
    why = "; ".join(r.text for r in decision.reasons)
    if decision.reuse is None:
        warn = any(r.code == "damaged" for r in decision.reasons)
        (context.log.warning if warn else context.log.info)(f"{name}: training — {why}")
        return None
    latest, previous = decision.reuse, decision.previous
    context.log.info(
        f"{name}: {why}; reusing it — set train.force = true or run with config force: true "
        "to retrain"
    )
    models = step.storage.models()
    return dg.MaterializeResult(
        metadata={
            **reused_metadata(
                latest,
                previous,
                models.evaluations(name, latest.version),
                models.evaluations(name, previous.version) if previous else None,
            ),
            **promote(step, name),  # the policy may pick it now (gates recorded since)
        },
        data_version=dg.DataVersion(latest.manifest.fingerprint),
        tags={REUSED_TAG: "true", VERSION_TAG: str(latest.version)},
    )


#: A materialization that reused a version rather than training one carries this tag.
REUSED_TAG = "sqlml/reused"
#: The model version a model's materialization stands for.
VERSION_TAG = "sqlml/model_version"


def publish_new_version(
    step: AssetStep,
    data: DataStore,
    step_uri: str,
    spec_for: Callable[[str], StepSpec],
    *,
    inputs: ModelInputs,
    data_fingerprint: str,
    manifest_fields: Callable[[TrainingResult], dict[str, Any]],
    metadata: dict[str, Any] | None = None,
    fill: Callable[[PendingVersion, StepSpec], LaunchResult] | None = None,
) -> dg.MaterializeResult:
    """Reserve a version, run the step that fills it, publish its manifest — or discard the
    version if anything fails or the run is cancelled, so nothing partial stays behind.
    ``fill`` replaces the one step of ``spec_for``'s spec (a hyper-parameter search runs a
    step per trial and keeps the best one's files)."""
    context, node = step.context, step.node
    models = step.storage.models()
    previous = _previous(step)
    pending = models.reserve(node.name.key, run_id=context.run_id, step=str(node.name))
    context.log.info(f"reserved {node.name} version {pending.version} at {pending.uri}")
    if models.adopt_checkpoint(pending, inputs.fingerprint):
        context.log.info(f"{node.name}: a failed try of this training left a checkpoint: resuming")
    try:
        spec = spec_for(pending.uri)
        # The lease tells `sqlml models gc` this training is alive, however long it runs.
        with models.keep_alive(pending):
            if fill is not None:
                launched = fill(pending, spec)
            else:
                launched = step.launch(spec, data, step_uri)
        result = launched.result
        if not isinstance(result, TrainingResult):
            raise StepFailed(description=f"a {spec.kind} step reported a {result.kind} result")
        manifest = ModelManifest(
            model=node.name.key,
            version=pending.version,
            created_at=now_iso(),
            flavor=result.flavor or spec.flavor,
            fingerprint=inputs.fingerprint,
            statement_fingerprint=node.fingerprint,
            inputs=dict(inputs.parts),
            training_data_fingerprint=data_fingerprint,
            features=list(result.features),
            frameworks=dict(result.frameworks),
            dagster_run_id=context.run_id,
            statement=node.text,
            launched_as=launched.launched_as,
            image_digest=launched.image_digest,
            **manifest_fields(result),
        )
        published = models.publish(pending, manifest)
    except ReservationLost as e:  # gc or a DROP MODEL took the folder: it is not ours
        raise dg.Failure(description=str(e)) from None
    except BaseException as e:
        if models.park_checkpoint(pending, inputs.fingerprint):
            context.log.info(f"{node.name}: its checkpoint is kept for a retry of this training")
        if not models.discard(pending, reason=failure_reason(e)):
            context.log.warning(
                f"{node.name} version {pending.version} is no longer this run's reservation: "
                "left as it is"
            )
        raise
    context.log.info(f"published {node.name} version {published.version} at {published.uri}")
    if result.history:
        metadata = {**(metadata or {}), "epochs": history_table(result.history)}
    shown = model_metadata(  # first: the UI keeps this order
        published,
        previous,
        previous_evaluations=models.evaluations(node.name.key, previous.version)
        if previous
        else None,
    )
    shown.update({k: v for k, v in launched.metadata.items() if k not in shown})
    return dg.MaterializeResult(
        metadata={**shown, **(metadata or {}), **promote(step, node.name.key)},
        data_version=dg.DataVersion(inputs.fingerprint),
        tags={VERSION_TAG: str(published.version)},
    )


def _previous(step: AssetStep) -> ModelVersion | None:
    """The version ``@latest`` is before this training, for the comparison the UI shows;
    none when it is damaged (the training goes ahead: it makes a new one)."""
    try:
        return step.storage.models().latest(step.node.name.key)
    except CorruptVersion as e:
        step.context.log.warning(str(e))
        return None


def failure_reason(error: BaseException) -> str:
    """Why a step failed, for a discarded version's tombstone."""
    if isinstance(error, dg.Failure) and error.description:
        return error.description
    return f"{type(error).__name__}: {error}"
