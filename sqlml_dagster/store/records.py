"""The model store's records: what a version is (:class:`ModelManifest`, written last
into its folder as ``manifest.json``), where a published or reserved one lives, a
rollback, and what a listing or a garbage collection finds. A manifest is read back
ignoring fields a newer release added, so listing a store never fails over them."""

from __future__ import annotations

import json
import posixpath
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

import fsspec

from ..contract import SIGNATURE_FILE
from ..contract.layout import FEATURE_STATS_FILE
from ..contract.versioned import known_fields

#: A version's manifest, written last: a numbered folder that has one is published.
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class ModelManifest:
    """What a version is: enough to answer "which model made these predictions, from what"."""

    model: str
    version: int
    created_at: str
    flavor: str
    model_reference: str
    fingerprint: str
    statement_fingerprint: str
    training_data_fingerprint: str
    image: str | None = None
    image_digest: str | None = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    label: str | None = None
    frameworks: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)  # file name → sha256
    artifact_sizes: dict[str, int] = field(default_factory=dict)  # file name → bytes
    training_rows: int = 0
    dagster_run_id: str | None = None
    statement: str = ""
    #: Registered models (CREATE MODEL … USING): the file the version was copied from.
    source_uri: str | None = None
    #: Where the step ran: ``local`` or the Kubernetes Job's name.
    launched_as: str | None = None
    #: A hyper-parameter search: every trial (number, params, metrics, status, seconds,
    #: error), the metric that ranked them and the trial this version is.
    trials: list[dict[str, Any]] = field(default_factory=list)
    objective: str | None = None
    best_trial: int | None = None
    #: ``USING base@v``: the version whose weights this training started from.
    warm_start_from: str | None = None
    #: ``train.early_stop``: the metric watched, the best and the last epoch run.
    early_stopping: dict[str, Any] = field(default_factory=dict)
    #: The fingerprint of each part the version was made from (``statement``, ``data``,
    #: ``image``, …): what ``sqlml plan`` and a retrain's log name as changed.
    inputs: dict[str, str] = field(default_factory=dict)
    manifest_version: int = MANIFEST_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> ModelManifest:
        """The manifest in ``text``; a :class:`ValueError` saying what is wrong when it is
        not one (not JSON, not an object, required fields missing or of the wrong type)."""
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError(f"holds a JSON {type(raw).__name__}, not an object")
        missing = sorted(_REQUIRED - raw.keys())
        if missing:
            raise ValueError(f"lacks {', '.join(missing)}")
        if not isinstance(raw["version"], int) or isinstance(raw["version"], bool):
            raise ValueError(f"has version {raw['version']!r}, not a number")
        for name in ("artifacts", "artifact_sizes", "params", "metrics", "inputs"):
            if name in raw and not isinstance(raw[name], dict):
                raise ValueError(f"has {name} that is not an object")
        # Fields a newer release added are ignored: listing a store never fails over them.
        return cls(**known_fields(cls, raw))


_REQUIRED = {f.name for f in fields(ModelManifest) if f.default is MISSING}
_REQUIRED -= {f.name for f in fields(ModelManifest) if f.default_factory is not MISSING}


def json_artifact(version_uri: str, name: str) -> dict[str, Any] | None:
    """A JSON artifact of a version folder as an object (``None``: no such file, or not an
    object). JSON only: what a version says about itself is read, never run (the trust
    rules of ``docs/security.md``)."""
    try:
        with fsspec.open(posixpath.join(version_uri, name), "r", encoding="utf-8") as f:
            loaded = json.load(f)
    except FileNotFoundError:
        return None
    return dict(loaded) if isinstance(loaded, dict) else None


@dataclass(frozen=True)
class ModelVersion:
    """A published version: its manifest and where its files are."""

    manifest: ModelManifest
    uri: str

    @property
    def signature(self) -> dict[str, Any]:
        """What the model reads and returns (task, classes, feature plan, format): the
        version's ``signature.json`` artifact, the one copy the runtime loads too (older
        manifests also carried it inline; it is no longer duplicated there)."""
        return json_artifact(self.uri, SIGNATURE_FILE) or {}

    @property
    def feature_stats(self) -> dict[str, Any] | None:
        """Per-feature statistics of the training rows (``feature_stats.json``, written by
        the train step; what drift checks compare scored rows with), or ``None`` for a
        version without them (registered from a file, or trained by an older release)."""
        return json_artifact(self.uri, FEATURE_STATS_FILE)

    @property
    def version(self) -> int:
        return self.manifest.version

    @property
    def model(self) -> str:
        return self.manifest.model

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"


@dataclass(frozen=True)
class PendingVersion:
    """A reserved, not yet visible version folder that a training step writes into.

    ``token`` is its owner's secret: publishing, renewing the lease and discarding check
    it against the folder's ``.pending`` record, so a run only ever touches its own
    reservation. ``lease_seconds``: how long the reservation lives without a renewal."""

    model: str
    version: int
    uri: str
    token: str = ""
    lease_seconds: float = 0.0


@dataclass(frozen=True)
class Owner:
    """Who reserved a version (``<n>/.pending``): the run and step, the host and process,
    when, and the lease it keeps renewing (``lease_seconds``; 0 for a reservation an
    older release wrote, which had none)."""

    token: str
    run_id: str | None = None
    step: str | None = None
    host: str = ""
    pid: int = 0
    at: str = ""
    lease_seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Owner:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        # An older release wrote {"run_id", "at"} and no token: nobody can claim it.
        return cls(**known_fields(cls, {"token": "", **raw}))


@dataclass(frozen=True)
class DamagedVersion:
    """A published version (its folder has a manifest) that cannot be used: which file is
    wrong and why. Listed by ``sqlml models list``; never used in place of another."""

    number: int
    file: str
    reason: str

    @property
    def text(self) -> str:
        """``model.skops: has 3 bytes, the manifest says 9``."""
        return f"{self.file}: {self.reason}"


@dataclass(frozen=True)
class Listing:
    """One model's published versions as one listing finds them: the usable ones (oldest
    first) and the damaged ones. Resolution (``@latest``) looks at both, so a damaged
    newest version is never silently replaced by an older one."""

    versions: list[ModelVersion]
    damaged: list[DamagedVersion]

    @property
    def numbers(self) -> list[int]:
        """Every published number, usable or damaged, ascending."""
        return sorted({v.version for v in self.versions} | {d.number for d in self.damaged})

    def find(self, number: int) -> ModelVersion | DamagedVersion | None:
        for v in self.versions:
            if v.version == number:
                return v
        return next((d for d in self.damaged if d.number == number), None)


@dataclass(frozen=True)
class Promotion:
    """A rollback: ``@latest`` resolves to ``version`` until a version above ``above`` lands."""

    version: int
    above: int
    at: str
    note: str = ""


@dataclass(frozen=True)
class VersionFolder:
    """One numbered folder as found in the store, whatever its state."""

    number: int
    state: str  # "published" | "pending" | "discarded"
    files: dict[str, int]  # name → size
    modified: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class GcResult:
    removed: list[int]
    kept: list[int]
    #: Tombstones of failed trainings and reservations whose lease expired.
    cleaned: list[int]
    #: Reservations of trainings still running (their lease is being renewed): kept.
    running: list[int] = field(default_factory=list)
    #: Checkpoints of failed trainings parked longer than ``PARKED_CHECKPOINT_AGE``, by
    #: fingerprint: removed (no retry of theirs came).
    checkpoints: list[str] = field(default_factory=list)
