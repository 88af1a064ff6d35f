"""The versioned model store: ``<store>/<model>/<version>/`` over any fsspec URL.

A version folder holds the artifact files and, written last, ``manifest.json``. Readers
only see versions whose manifest exists, so publishing is atomic: a training that fails
or is cancelled before its manifest lands leaves nothing visible, and the orchestrator
removes its folder. Version numbers are reserved by creating the folder's ``.pending``
marker before the step starts, so a crashed step never makes a number come back.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import fsspec
from fsspec.core import url_to_fs

MANIFEST = "manifest.json"
PENDING = ".pending"
MANIFEST_VERSION = 1


class ModelNotFound(LookupError):
    """A model or a version of it does not exist; the message names those that do."""


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
    signature: dict[str, Any] = field(default_factory=dict)
    frameworks: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)  # file name → sha256
    training_rows: int = 0
    dagster_run_id: str | None = None
    statement: str = ""
    #: Registered models (CREATE MODEL … USING): the file the version was copied from.
    source_uri: str | None = None
    manifest_version: int = MANIFEST_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> ModelManifest:
        raw = json.loads(text)
        known = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in raw.items() if k in known})


@dataclass(frozen=True)
class ModelVersion:
    """A published version: its manifest and where its files are."""

    manifest: ModelManifest
    uri: str

    @property
    def version(self) -> int:
        return self.manifest.version

    @property
    def model(self) -> str:
        return self.manifest.model


@dataclass(frozen=True)
class PendingVersion:
    """A reserved, not yet visible version folder that a training step writes into."""

    model: str
    version: int
    uri: str


class ModelStore:
    """Versions of every model under one fsspec URL (a local folder or ``s3://bucket/prefix``)."""

    def __init__(self, url: str, **storage_options: Any):
        self.url = url.rstrip("/")
        self.fs, self.root = url_to_fs(self.url, **storage_options)

    # -- paths --------------------------------------------------------------------------

    def _path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def _uri(self, path: str) -> str:
        return self.fs.unstrip_protocol(path) if "://" in self.url else path

    def model_uri(self, model: str) -> str:
        return self._uri(self._path(model))

    # -- reading ------------------------------------------------------------------------

    def models(self) -> list[str]:
        if not self.fs.exists(self.root):
            return []
        return sorted(
            posixpath.basename(p.rstrip("/"))
            for p in self.fs.ls(self.root, detail=False)
            if self.fs.isdir(p)
        )

    def versions(self, model: str) -> list[ModelVersion]:
        """Published versions, oldest first."""
        out = []
        for number in self._numbers(model):
            folder = self._path(model, str(number))
            manifest_path = posixpath.join(folder, MANIFEST)
            if self.fs.exists(manifest_path):
                with self.fs.open(manifest_path, "r", encoding="utf-8") as f:
                    out.append(ModelVersion(ModelManifest.from_json(f.read()), self._uri(folder)))
        return out

    def latest(self, model: str) -> ModelVersion | None:
        versions = self.versions(model)
        return versions[-1] if versions else None

    def get(self, model: str, version: int | None = None) -> ModelVersion:
        """A version (``None``: the latest); raises :class:`ModelNotFound` naming what exists."""
        versions = self.versions(model)
        if not versions:
            raise ModelNotFound(
                f"model '{model}' has no published version in {self.url}; materialize its TRAIN asset first"
            )
        if version is None:
            return versions[-1]
        for candidate in versions:
            if candidate.version == version:
                return candidate
        raise ModelNotFound(
            f"model '{model}' has no version {version}; versions: {', '.join(str(v.version) for v in versions)}"
        )

    def _numbers(self, model: str) -> list[int]:
        folder = self._path(model)
        if not self.fs.exists(folder):
            return []
        numbers = []
        for entry in self.fs.ls(folder, detail=False):
            name = posixpath.basename(entry.rstrip("/"))
            if name.isdigit():
                numbers.append(int(name))
        return sorted(numbers)

    # -- writing ------------------------------------------------------------------------

    def reserve(self, model: str, run_id: str | None = None) -> PendingVersion:
        """Claim the next version number by creating its folder's ``.pending`` marker."""
        for _ in range(100):
            numbers = self._numbers(model)
            version = (numbers[-1] + 1) if numbers else 1
            folder = self._path(model, str(version))
            marker = posixpath.join(folder, PENDING)
            self.fs.makedirs(folder, exist_ok=True)
            try:
                with self.fs.open(marker, "xb") as f:
                    f.write(json.dumps({"run_id": run_id, "at": now_iso()}).encode())
            except FileExistsError:
                continue  # another training took this number between listing and claiming
            return PendingVersion(model=model, version=version, uri=self._uri(folder))
        raise RuntimeError(f"could not reserve a version of {model} in {self.url}")

    def publish(self, pending: PendingVersion, manifest: ModelManifest) -> ModelVersion:
        """Checksum the artifacts, then write the manifest — last — making the version visible."""
        folder = self._path(pending.model, str(pending.version))
        artifacts = {}
        for path in sorted(self.fs.find(folder)):
            name = posixpath.relpath(path, folder)
            if name in (MANIFEST, PENDING):
                continue
            artifacts[name] = _sha256(self.fs, path)
        final = ModelManifest(
            **{**asdict(manifest), "artifacts": artifacts, "version": pending.version}
        )
        tmp = posixpath.join(folder, f".{MANIFEST}.tmp")
        with self.fs.open(tmp, "w", encoding="utf-8") as f:
            f.write(final.to_json())
        self.fs.mv(tmp, posixpath.join(folder, MANIFEST))
        self.fs.rm(posixpath.join(folder, PENDING))
        return ModelVersion(final, pending.uri)

    def discard(self, pending: PendingVersion) -> None:
        """Remove a reserved version that will never be published (failed or cancelled step)."""
        folder = self._path(pending.model, str(pending.version))
        if self.fs.exists(folder):
            self.fs.rm(folder, recursive=True)


def file_sha256(uri: str) -> str:
    """sha256 of a file at any fsspec URL, read in 1 MiB chunks."""
    fs, path = url_to_fs(uri)
    return _sha256(fs, path)


def _sha256(fs: fsspec.AbstractFileSystem, path: str) -> str:
    digest = hashlib.sha256()
    with fs.open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
