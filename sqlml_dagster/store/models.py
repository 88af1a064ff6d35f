"""The versioned model store: ``<store>/<model>/<version>/`` over any fsspec URL.

Layout of one model::

    <store>/<model>/
        1/  manifest.json  model.skops  signature.json      a published version
            checks/iris_eval_accuracy.json                  a quality gate's outcome on it
        2/  .pending       model.skops                      being written (invisible)
        3/  .discarded                                      failed or cancelled (invisible)
        _promoted.json                                      a rollback: @latest → an older version

**Atomic publish.** A version folder holds the artifact files and, written last,
``manifest.json`` with each artifact's sha256 and size. Readers only see versions whose
manifest exists and whose artifacts are all present with their recorded sizes; loading a
version (the runtime's :func:`verify_artifacts`) also checks every sha256, so a truncated or
corrupted artifact is refused with a clear error instead of being unpickled.

**Reserving numbers.** A training claims the next number by creating ``<n>/.pending`` with
an *exclusive create* — ``O_EXCL`` on a local disk, a conditional ``PUT`` (``If-None-Match:
*``) on S3 — so two trainings of one model running at once get distinct numbers and neither
is lost. A number is never reused: a failed or cancelled training leaves a ``.discarded``
tombstone in place of its files, and a training killed outright leaves its ``.pending``
folder (invisible, removed by :meth:`ModelStore.gc` once stale).

**@latest** is the highest published version, unless ``promote`` rolled back to an older
one: ``_promoted.json`` then names that version and the highest version at the time, and
holds until a newer version is published.

**Quality gates.** An evaluation with thresholds (``TO EVALUATE m WITH check.accuracy >=
0.9``) records each gate's outcome on the version it scored, one file per gate under
``<version>/checks/`` (one writer per file: two evaluations of a version never race on a
shared file). Consumers of a gated model ask :meth:`ModelStore.get` with its gates
(:class:`Gate`): ``@latest`` is then the newest version whose recorded metric values meet
every gate's current threshold — a failing version stays published and inspectable, and
``promote`` still wins.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from fsspec.core import url_to_fs

from .checksums import file_sha256, sha256_and_size, size_problem, verify_artifacts
from .errors import CorruptVersion, GateNotPassed, ModelNotFound
from .gates import Gate, GateResult, GateStatus
from .records import (
    MANIFEST,
    MANIFEST_VERSION,
    GcResult,
    ModelManifest,
    ModelVersion,
    PendingVersion,
    Promotion,
    VersionFolder,
)
from .times import last_modified, now_iso

# With what lived in this module before it was split by role (records, gates, errors,
# checksums, now_iso), so that `from sqlml_dagster.store.models import …` keeps working.
__all__ = [
    "MANIFEST",
    "MANIFEST_VERSION",
    "CorruptVersion",
    "Gate",
    "GateNotPassed",
    "GateResult",
    "GateStatus",
    "GcResult",
    "ModelManifest",
    "ModelNotFound",
    "ModelStore",
    "ModelVersion",
    "PendingVersion",
    "Promotion",
    "VersionFolder",
    "file_sha256",
    "now_iso",
    "verify_artifacts",
]

PENDING = ".pending"
DISCARDED = ".discarded"
PROMOTED = "_promoted.json"
#: The folder of a version's quality-gate outcomes: ``checks/<gate>.json``.
CHECKS = "checks"
#: A ``.pending`` folder older than this belongs to a training that was killed outright.
STALE_PENDING = timedelta(hours=24)


class ModelStore:
    """Versions of every model under one fsspec URL (a local folder or ``s3://bucket/prefix``).

    ``storage_options`` go to the file system (``endpoint_url``, ``key``…); credentials
    are better left to the environment (``AWS_*``), which every process reads the same way.
    """

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

    def _fresh(self, path: str) -> None:
        """Other processes write here too: never answer from a cached listing (s3fs)."""
        self.fs.invalidate_cache(path)

    # -- reading ------------------------------------------------------------------------

    def models(self) -> list[str]:
        self._fresh(self.root)
        if not self.fs.exists(self.root):
            return []
        names = []
        for entry in self.fs.ls(self.root, detail=True):
            name = posixpath.basename(entry["name"].rstrip("/"))
            if entry["type"] == "directory" and not name.startswith((".", "_")):
                names.append(name)
        return sorted(names)

    def folders(self, model: str) -> list[VersionFolder]:
        """Every numbered folder of ``model`` with its state, from one recursive listing."""
        folder = self._path(model)
        self._fresh(folder)
        try:
            listing = self.fs.find(folder, detail=True)
        except FileNotFoundError:
            return []
        by_number: dict[int, dict[str, dict[str, Any]]] = {}
        for path, info in listing.items():
            relative = posixpath.relpath(path, folder)
            head, _, name = relative.partition("/")
            if head.isdigit() and name:
                by_number.setdefault(int(head), {})[name] = info
        out = []
        for number in sorted(by_number):
            files = by_number[number]
            sizes = {name: int(info.get("size") or 0) for name, info in files.items()}
            modified = last_modified(files.values())
            if MANIFEST in files:
                out.append(VersionFolder(number, "published", sizes, modified))
            elif DISCARDED in files:
                out.append(VersionFolder(number, "discarded", sizes, modified))
            else:
                out.append(VersionFolder(number, "pending", sizes, modified))
        return out

    def versions(self, model: str) -> list[ModelVersion]:
        """Published versions, oldest first: a manifest, and every artifact at its size."""
        return [v for v, problem in self._published(model) if not problem]

    def broken(self, model: str) -> list[tuple[int, str]]:
        """Versions with a manifest whose artifacts are missing or of the wrong size."""
        return [(v.version, problem) for v, problem in self._published(model) if problem]

    def _published(self, model: str) -> list[tuple[ModelVersion, str]]:
        out = []
        for entry in self.folders(model):
            if entry.state != "published":
                continue
            folder = self._path(model, str(entry.number))
            with self.fs.open(posixpath.join(folder, MANIFEST), "r", encoding="utf-8") as f:
                manifest = ModelManifest.from_json(f.read())
            out.append((ModelVersion(manifest, self._uri(folder)), size_problem(manifest, entry)))
        return out

    def promotion(self, model: str) -> Promotion | None:
        path = self._path(model, PROMOTED)
        self._fresh(path)
        try:
            with self.fs.open(path, "r", encoding="utf-8") as f:
                raw = json.load(f)
        except FileNotFoundError:
            return None
        return Promotion(**{k: raw[k] for k in ("version", "above", "at", "note") if k in raw})

    def latest(self, model: str) -> ModelVersion | None:
        """The version ``@latest`` resolves to (``None`` before the first publish)."""
        versions = self.versions(model)
        if not versions:
            return None
        return self.resolve_latest(model, versions)

    def resolve_latest(self, model: str, versions: list[ModelVersion]) -> ModelVersion:
        """Which of already-listed ``versions`` ``@latest`` is (saves listing them again)."""
        newest = versions[-1]
        promoted = self.promotion(model)
        if promoted is None or newest.version > promoted.above:
            return newest
        for candidate in versions:
            if candidate.version == promoted.version:
                return candidate
        return newest  # the promoted version was removed since: fall back to the newest

    def get(
        self, model: str, version: int | None = None, *, gates: Sequence[Gate] = ()
    ) -> ModelVersion:
        """A version (``None``: ``@latest``); raises :class:`ModelNotFound` naming what exists.

        With ``gates`` (the model's quality gates, for a consumer such as a prediction),
        ``@latest`` is :meth:`resolve_gated`'s answer; a pinned version bypasses them."""
        versions = self.versions(model)
        if not versions:
            broken = self.broken(model)
            detail = f" ({_broken_text(broken)})" if broken else ""
            raise ModelNotFound(
                f"model '{model}' has no published version in {self.url}{detail}; "
                "materialize its TRAIN (or CREATE MODEL) asset first"
            )
        if version is None and gates:
            gated = self.resolve_gated(model, versions, gates)
            if gated is None:
                raise GateNotPassed(self._no_passing_version(model, versions, gates))
            return gated
        if version is None:
            return self.resolve_latest(model, versions)
        for candidate in versions:
            if candidate.version == version:
                return candidate
        unusable = dict(self.broken(model))
        if version in unusable:
            raise CorruptVersion(f"{model}@{version} is unusable: {unusable[version]}")
        raise ModelNotFound(
            f"model '{model}' has no version {version}; "
            f"versions: {', '.join(str(v.version) for v in versions)}"
        )

    # -- quality gates ------------------------------------------------------------------

    def gate_results(self, model: str, version: int) -> dict[str, GateResult]:
        """The gate outcomes recorded on ``model@version``, by gate name."""
        folder = self._path(model, str(version), CHECKS)
        self._fresh(folder)
        try:
            paths = self.fs.ls(folder, detail=False)
        except FileNotFoundError:
            return {}
        out: dict[str, GateResult] = {}
        for path in sorted(paths):
            if not str(path).endswith(".json") or posixpath.basename(path).startswith("."):
                continue
            with self.fs.open(path, "r", encoding="utf-8") as f:
                result = GateResult.from_json(f.read())
            out[result.name] = result
        return out

    def record_gates(self, version: ModelVersion, results: Iterable[GateResult]) -> None:
        """Record gate outcomes on a published version, each in its own file written in one
        step (a temporary name then a rename locally, one PUT on S3): a reader sees the
        previous outcome or the new one, never half of either. The manifest and artifacts
        are untouched, so checksums stay valid."""
        folder = self._path(version.model, str(version.version), CHECKS)
        self.fs.makedirs(folder, exist_ok=True)
        for result in results:
            target = posixpath.join(folder, f"{result.name}.json")
            self._write_atomically(target, result.to_json())

    def recorded_gates(self, model: str) -> tuple[Gate, ...]:
        """The gates as the newest evaluated version records them — what a reader without
        the project (``sqlml models`` without ``-m``) takes a model's gates to be."""
        for version in reversed(self.versions(model)):
            results = self.gate_results(model, version.version)
            if results:
                return tuple(
                    Gate(r.name, r.metric, r.op, r.threshold, evaluation=r.evaluation)
                    for r in results.values()
                )
        return ()

    def gate_status(
        self, model: str, version: int, gates: Sequence[Gate] | None = None
    ) -> GateStatus:
        """How ``model@version`` fares against ``gates`` (re-judged at their current
        thresholds), or — when the project's gates are not known — against the outcomes
        recorded on it."""
        results = self.gate_results(model, version)
        if gates is None:
            failed = tuple(r for r in results.values() if not r.passed)
            return GateStatus(version, failed=failed)
        failed_list: list[GateResult] = []
        missing: list[str] = []
        for gate in gates:
            result = results.get(gate.name)
            if result is None or result.metric != gate.metric:
                missing.append(gate.name)
            elif not gate.judge(result):
                failed_list.append(replace(result, op=gate.op, threshold=gate.threshold))
        return GateStatus(version, failed=tuple(failed_list), missing=tuple(missing))

    def resolve_gated(
        self, model: str, versions: list[ModelVersion], gates: Sequence[Gate]
    ) -> ModelVersion | None:
        """``@latest`` for a consumer of a gated model: a promoted version (``promote``
        is a person's explicit decision and wins), else the newest version that passes
        every gate; ``None`` when none does."""
        if not versions:
            return None
        promoted = self.promotion(model)
        if promoted is not None and versions[-1].version <= promoted.above:
            for candidate in versions:
                if candidate.version == promoted.version:
                    return candidate
        for candidate in reversed(versions):
            if self.gate_status(model, candidate.version, gates).passed:
                return candidate
        return None

    def _no_passing_version(
        self, model: str, versions: list[ModelVersion], gates: Sequence[Gate]
    ) -> str:
        wanted = ", ".join(
            f"{g.name}: {g.condition}" + (f" at {g.location}" if g.location else "") for g in gates
        )
        shown = [
            f"version {v.version}: {self.gate_status(model, v.version, gates).text}"
            for v in reversed(versions[-5:])
        ]
        evaluations = sorted({g.evaluation for g in gates if g.evaluation})
        return (
            f"model '{model}' has no version that passed its quality gates ({wanted}); "
            + "; ".join(shown)
            + ". Materialize "
            + (" and ".join(evaluations) if evaluations else "its evaluation")
            + f" to gate the newest version, promote a version (sqlml models promote {model}@N)"
            + f" or pin one (USING {model}@N)"
        )

    # -- writing ------------------------------------------------------------------------

    def _write_atomically(self, target: str, text: str) -> None:
        """One PUT (S3) or a write to a temporary name then a rename (disk)."""
        if "://" in self.url and not self.url.startswith("file://"):
            self.fs.pipe_file(target, text.encode())
            return
        folder, name = posixpath.split(target)
        tmp = posixpath.join(folder, f".{name}.tmp")
        with self.fs.open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        self.fs.mv(tmp, target)

    def reserve(self, model: str, run_id: str | None = None) -> PendingVersion:
        """Claim the next version number by exclusively creating its ``.pending`` marker."""
        for _ in range(100):
            numbers = [f.number for f in self.folders(model)]
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
        self._fresh(folder)
        artifacts, sizes = {}, {}
        for path in sorted(self.fs.find(folder)):
            name = posixpath.relpath(path, folder)
            if name in (MANIFEST, PENDING) or name.startswith("."):
                continue
            artifacts[name], sizes[name] = sha256_and_size(self.fs, path)
        final = replace(
            manifest, artifacts=artifacts, artifact_sizes=sizes, version=pending.version
        )
        # One PUT (S3) or one write (disk) of the manifest is the moment the version exists;
        # a local write goes through a temporary name so a reader never sees half of it.
        self._write_atomically(posixpath.join(folder, MANIFEST), final.to_json())
        self.fs.rm(posixpath.join(folder, PENDING))
        return ModelVersion(final, pending.uri)

    def discard(self, pending: PendingVersion, reason: str = "") -> None:
        """A reserved version that will never be published (failed or cancelled step): its
        files go, a ``.discarded`` tombstone keeps the number from coming back."""
        folder = self._path(pending.model, str(pending.version))
        self._fresh(folder)
        for path in self.fs.find(folder):
            if posixpath.basename(path) != PENDING:
                self.fs.rm(path)
        self.fs.pipe_file(
            posixpath.join(folder, DISCARDED),
            json.dumps({"at": now_iso(), "reason": reason[:2000]}).encode(),
        )
        if self.fs.exists(posixpath.join(folder, PENDING)):
            self.fs.rm(posixpath.join(folder, PENDING))

    def promote(self, model: str, version: int, note: str = "") -> ModelVersion:
        """Make ``version`` what ``@latest`` resolves to — a rollback, or a roll forward to
        the newest again — until a newer version is published."""
        target = self.get(model, version)
        newest = self.versions(model)[-1].version
        path = self._path(model, PROMOTED)
        if version == newest:
            if self.fs.exists(path):
                self.fs.rm(path)
            return target
        record = {"version": version, "above": newest, "at": now_iso(), "note": note}
        self.fs.pipe_file(path, json.dumps(record, indent=2).encode())
        return target

    def gc(
        self,
        model: str,
        keep: int,
        *,
        pinned: Iterable[int] = (),
        stale_pending: timedelta = STALE_PENDING,
        dry_run: bool = False,
    ) -> GcResult:
        """Remove all but the newest ``keep`` published versions, never removing ``pinned``
        ones nor the version ``@latest`` resolves to; also clean tombstones and stale
        ``.pending`` folders (trainings killed outright)."""
        if keep < 1:
            raise ValueError("keep must be at least 1: @latest always stays")
        versions = self.versions(model)
        protected = set(pinned)
        if versions:
            protected.add(self.resolve_latest(model, versions).version)
        newest = {v.version for v in versions[-keep:]}
        removed = [
            v.version for v in versions if v.version not in newest and v.version not in protected
        ]
        kept = [v.version for v in versions if v.version not in removed]
        now = datetime.now(timezone.utc)
        folders = self.folders(model)
        highest = folders[-1].number if folders else 0
        cleaned = [
            f.number
            for f in folders
            # the highest tombstone stays: it keeps its number from being handed out again
            if (f.state == "discarded" and f.number != highest)
            or (
                f.state == "pending" and f.modified is not None and now - f.modified > stale_pending
            )
        ]
        if not dry_run:
            for number in [*removed, *cleaned]:
                self.fs.rm(self._path(model, str(number)), recursive=True)
        return GcResult(removed=removed, kept=kept, cleaned=cleaned)

    def drop(self, model: str) -> int:
        """Remove a model and every version of it; returns how many versions there were."""
        count = len(self.versions(model))
        folder = self._path(model)
        if self.fs.exists(folder):
            self.fs.rm(folder, recursive=True)
        self._fresh(folder)
        return count


def _broken_text(broken: list[tuple[int, str]]) -> str:
    return "; ".join(f"version {n}: {problem}" for n, problem in broken)
