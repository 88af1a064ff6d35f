"""What the model-producing kinds share: reuse an unchanged version, or reserve, fill
and publish a new one atomically (discarded on any failure or cancellation)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import dagster as dg

from ...contract import StepSpec, TrainingResult
from ...launchers import LaunchResult, StepFailed
from ...store import DataStore, ModelManifest, ModelVersion, PendingVersion
from ...store.models import CorruptVersion, ReservationLost, now_iso
from ..metadata import history_table, model_metadata

if TYPE_CHECKING:
    from ..step import AssetStep


def unchanged_version(step: AssetStep, fingerprint: str) -> dg.MaterializeResult | None:
    """The result that reuses an existing version when nothing changed, else ``None``.

    Reused: the version ``@latest`` resolves to, when its fingerprint matches. After a
    rollback (``sqlml models promote m@2`` while v3 is newest), inputs equal to v3's keep
    the rollback rather than retraining v3's model again; new inputs train a new version.
    """
    if step.force:
        step.context.log.info("train.force: training a new version even if nothing changed")
        return None
    context, name = step.context, step.node.name.key
    models = step.storage.models()
    listing = models.listing(name)
    versions = listing.versions
    if not versions:
        return None
    try:
        latest = models.resolve_latest(name, listing)
    except CorruptVersion as e:  # never reuse around a damaged @latest: train a new one
        context.log.warning(f"{e} — training a new version")
        return None
    if latest.manifest.fingerprint == fingerprint:
        context.log.info(
            f"{name}: statement, params, data and image are unchanged since version "
            f"{latest.version} (fingerprint {fingerprint}); reusing it — set "
            "train.force = true or run with config force: true to retrain"
        )
    elif latest.version != versions[-1].version and versions[-1].manifest.fingerprint == (
        fingerprint
    ):
        context.log.info(
            f"{name}: inputs equal those of version {versions[-1].version}, which was rolled "
            f"back to version {latest.version} (sqlml models promote); keeping the rollback"
        )
    else:
        return None
    previous = next((v for v in reversed(versions) if v.version < latest.version), None)
    return dg.MaterializeResult(
        metadata={"reused": True, **model_metadata(latest, previous)},  # first in the UI
        data_version=dg.DataVersion(latest.manifest.fingerprint),
    )


def publish_new_version(
    step: AssetStep,
    data: DataStore,
    step_uri: str,
    spec_for: Callable[[str], StepSpec],
    *,
    fingerprint: str,
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
            fingerprint=fingerprint,
            statement_fingerprint=node.fingerprint,
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
        if not models.discard(pending, reason=failure_reason(e)):
            context.log.warning(
                f"{node.name} version {pending.version} is no longer this run's reservation: "
                "left as it is"
            )
        raise
    context.log.info(f"published {node.name} version {published.version} at {published.uri}")
    if result.history:
        metadata = {**(metadata or {}), "epochs": history_table(result.history)}
    shown = model_metadata(published, previous)  # first: the UI keeps this order
    shown.update({k: v for k, v in launched.metadata.items() if k not in shown})
    return dg.MaterializeResult(
        metadata={**shown, **(metadata or {})}, data_version=dg.DataVersion(fingerprint)
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


def digest(*parts: Any) -> str:
    """A short, stable digest of JSON-able parts (fingerprints)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]
