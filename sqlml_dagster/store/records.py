"""The model store's records: what a version is (:class:`ModelManifest`, written last
into its folder as ``manifest.json``), where a published or reserved one lives, a
rollback, and what a listing or a garbage collection finds. A manifest is read back
ignoring fields a newer release added, so listing a store never fails over them."""

from __future__ import annotations

import json
import posixpath
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import fsspec

from ..contract import SIGNATURE_FILE
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
    manifest_version: int = MANIFEST_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> ModelManifest:
        # Fields a newer release added are ignored: listing a store never fails over them.
        return cls(**known_fields(cls, json.loads(text)))


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
        try:
            with fsspec.open(posixpath.join(self.uri, SIGNATURE_FILE), "r", encoding="utf-8") as f:
                loaded = json.load(f)
        except FileNotFoundError:
            return {}
        return dict(loaded) if isinstance(loaded, dict) else {}

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
    """A reserved, not yet visible version folder that a training step writes into."""

    model: str
    version: int
    uri: str


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
    state: str  # "published" | "pending" | "discarded" | "broken"
    files: dict[str, int]  # name → size
    modified: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class GcResult:
    removed: list[int]
    kept: list[int]
    cleaned: list[int]  # discarded tombstones and stale pending folders
