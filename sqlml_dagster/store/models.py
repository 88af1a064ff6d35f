"""The versioned model store: ``<store>/<model>/<version>/`` over any fsspec URL.

Layout of one model::

    <store>/<model>/
        1/  manifest.json  model.skops  signature.json      a published version
            checks/iris_eval_accuracy.json                  a quality gate's outcome on it
        2/  .pending  .lease  model.skops                   reserved by a running training
        3/  .discarded                                      failed or cancelled (invisible)
        _promoted.json                                      a rollback: @latest → an older version
        _high_water/3                                       the highest number ever handed out
        _aliases/champion/000001.json                       a named alias's moves (aliases.py)

**Names.** Every path is joined by :func:`.paths.store_path`, which refuses a model name
that breaks the naming rule (``../x``, ``/etc``, NUL, non-ASCII, 300 characters) with
:class:`BadName` before anything is touched.

**Atomic publish.** A version folder holds the artifact files and, written last,
``manifest.json`` with each artifact's sha256 and size. Readers only see versions whose
manifest exists; loading a version (the runtime's :func:`verify_artifacts`) also checks
every sha256, so a truncated or corrupted artifact is refused instead of being unpickled.

**Reservations and leases.** A training claims the next number by creating
``<n>/.pending`` with an *exclusive create* — ``O_EXCL`` on a local disk, a conditional
``PUT`` (``If-None-Match: *``) on S3 — so two trainings of one model get distinct numbers.
The record names its owner (a secret token, the run and step, host and pid) and its lease;
the owner renews the lease (``<n>/.lease``, :class:`LeaseKeeper`) while the step runs.
Publishing, renewing and discarding check the token first, so a run only ever touches
its own reservation; :meth:`ModelStore.gc` removes a reservation only when its folder
saw no write for a whole lease plus a grace.

**Numbers are never reused.** A failed or cancelled training leaves a ``.discarded``
tombstone; before ``gc`` or ``drop`` removes any numbered folder it records the highest
number ever seen under ``_high_water/``, which neither ever removes, and
:meth:`ModelStore.reserve` counts from there. ``m@3`` names one version forever.

**@latest** is the highest published version, unless ``promote`` rolled back to an older
one: ``_promoted.json`` then names that version and the highest version at the time, and
holds until a newer version is published. For a gated model it is the newest version that
passes the gates (a promotion still wins).

**Damaged versions.** A published version whose manifest does not read, or whose
artifacts are missing or of another size, is *damaged*: listed with the file and the
reason (:meth:`ModelStore.listing`), never used. Resolution does not skip it: when
``@latest`` (or a pin) resolves to a damaged version, :meth:`ModelStore.get` raises
:class:`CorruptVersion` naming the version and the file, so no step silently uses a
version other than the one it reports. A damaged version that resolution would not pick
anyway (older, or failing its gates) is only listed.

**Aliases.** ``m@champion`` names whatever version the alias's newest move names; each
move is a new record claimed by exclusive create, so two racing moves cannot both land and
the history stays whole (:mod:`.aliases`). A pinned alias bypasses gates, like a pinned
number: someone (or a promotion policy) chose that version.

**Quality gates.** An evaluation with thresholds (``TO EVALUATE m WITH check.accuracy >=
0.9``) records each gate's outcome on the version it scored, one file per gate under
``<version>/checks/`` (one writer per file). Consumers of a gated model ask
:meth:`ModelStore.get` with its gates (:class:`Gate`).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import posixpath
import secrets
import socket
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from ..contract.layout import TRIALS_FOLDER
from ..contract.lifecycle import ALIAS_HINT, Pin, alias_problem
from ..contract.names import key_problem
from .aliases import ALIASES, AliasMove, record_name, record_seq
from .checksums import (
    file_sha256,
    read_manifest,
    sha256_and_size,
    size_problem,
    verify_artifacts,
)
from .errors import (
    AliasConflict,
    AliasNotFound,
    BadName,
    CorruptVersion,
    GateNotPassed,
    ModelNotFound,
    ReservationLost,
)
from .gates import Gate, GateResult, GateStatus
from .leases import DEFAULT_LEASE, GC_GRACE, LEGACY_LEASE, LeaseKeeper
from .metrics import EVALUATIONS, EvaluationRecord
from .paths import check_model_name, store_path
from .records import (
    MANIFEST,
    MANIFEST_VERSION,
    DamagedVersion,
    GcResult,
    Listing,
    ModelManifest,
    ModelVersion,
    Owner,
    PendingVersion,
    Promotion,
    VersionFolder,
)
from .times import last_modified, now_iso

#: A record kept in a version's folder (a gate outcome, an evaluation).
_Record = TypeVar("_Record")

# With what lived in this module before it was split by role (records, gates, errors,
# checksums, now_iso), so that `from sqlml_dagster.store.models import …` keeps working.
__all__ = [
    "MANIFEST",
    "MANIFEST_VERSION",
    "AliasConflict",
    "AliasMove",
    "AliasNotFound",
    "BadName",
    "CorruptVersion",
    "DamagedVersion",
    "Gate",
    "GateNotPassed",
    "GateResult",
    "GateStatus",
    "GcResult",
    "LeaseKeeper",
    "Listing",
    "ModelManifest",
    "ModelNotFound",
    "ModelStore",
    "ModelVersion",
    "PendingVersion",
    "Promotion",
    "ReservationLost",
    "VersionFolder",
    "file_sha256",
    "now_iso",
    "verify_artifacts",
]

PENDING = ".pending"
LEASE = ".lease"
DISCARDED = ".discarded"
#: A training's resumable state inside its reserved version (``runtime/dl/checkpoints.py``).
CHECKPOINT = ".checkpoint"
#: Where a failed training's checkpoint waits for the next try of the same training:
#: ``<model>/.checkpoints/<model fingerprint>/``.
PARKED_CHECKPOINTS = ".checkpoints"
#: How long a parked checkpoint waits for a retry before ``gc`` removes it.
PARKED_CHECKPOINT_AGE = timedelta(days=7)
PROMOTED = "_promoted.json"
#: ``_high_water/<n>``: the highest version number ever handed out (never removed).
HIGH_WATER = "_high_water"
#: How long a high-water mark stands before the marks below it are removed.
MARK_SETTLED = timedelta(minutes=10)
#: The folder of a version's quality-gate outcomes: ``checks/<gate>.json``.
CHECKS = "checks"
#: ``<version>/.trials/<n>/`` (contract.layout): where trial ``n`` of a hyper-parameter
#: search writes its model while the version is reserved; the best one's files become the
#: version's (:meth:`ModelStore.keep_trial`) and the folder goes before publishing.
TRIALS = TRIALS_FOLDER


class ModelStore:
    """Versions of every model under one fsspec URL (a local folder or ``s3://bucket/prefix``).

    ``storage_options`` go to the file system (``endpoint_url``, ``key``…); credentials
    are better left to the environment (``AWS_*``), which every process reads the same way.
    """

    def __init__(self, url: str, **storage_options: Any):
        self.url = url.rstrip("/")
        self.fs, self.root = url_to_fs(self.url, **storage_options)

    # -- paths --------------------------------------------------------------------------

    def _path(self, model: str, *parts: str) -> str:
        """Every path of the store: :func:`store_path` refuses one that would leave it."""
        return store_path(self.root, model, *parts)

    def _uri(self, path: str) -> str:
        return self.fs.unstrip_protocol(path) if "://" in self.url else path

    @property
    def root_uri(self) -> str:
        """The store's root as version URIs spell it (an absolute path, or ``s3://…``)."""
        return self._uri(self.root)

    def model_uri(self, model: str) -> str:
        return self._uri(self._path(model))

    def _remove(self, path: str, recursive: bool = False) -> None:
        """Remove a file or folder that another process (a second ``gc``) may have removed
        first: gone is gone."""
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(path, recursive=recursive)

    def _fresh(self, path: str) -> None:
        """Other processes write here too: never answer from a cached listing (s3fs)."""
        self.fs.invalidate_cache(path)

    def _entries(self, folder: str) -> list[dict[str, Any]]:
        """A folder's entries as written now (none when it does not exist)."""
        self._fresh(folder)
        try:
            return list(self.fs.ls(folder, detail=True))
        except FileNotFoundError:
            return []

    # -- reading ------------------------------------------------------------------------

    def models(self) -> list[str]:
        """Every model folder (names the naming rule refuses are not the store's)."""
        self._fresh(self.root)
        if not self.fs.exists(self.root):
            return []
        names = []
        for entry in self.fs.ls(self.root, detail=True):
            name = posixpath.basename(entry["name"].rstrip("/"))
            if entry["type"] == "directory" and key_problem(name) is None:
                names.append(name)
        return sorted(names)

    def folders(self, model: str) -> list[VersionFolder]:
        """Every numbered folder of ``model`` with its state, from one recursive listing."""
        return self._scan(model)[0]

    def high_water(self, model: str) -> int:
        """The highest version number ever handed out (0: none yet)."""
        folders, mark = self._scan(model)
        return max([mark, *(f.number for f in folders)])

    def _scan(self, model: str) -> tuple[list[VersionFolder], int]:
        """The numbered folders, then the high-water mark.

        In this order on purpose: a collector records the mark *before* it removes a
        folder, so a folder this listing missed because it was just removed has its
        number in the mark read after it (a directory listing is no snapshot)."""
        folder = self._path(model)
        self._fresh(folder)
        try:
            listing = self.fs.find(folder, detail=True)
        except FileNotFoundError:
            listing = {}
        by_number: dict[int, dict[str, dict[str, Any]]] = {}
        mark = 0
        for path, info in listing.items():
            relative = posixpath.relpath(path, folder)
            head, _, name = relative.partition("/")
            if head.isdigit() and name:
                by_number.setdefault(int(head), {})[name] = info
            elif head == HIGH_WATER and name.isdigit():
                mark = max(mark, int(name))
        mark = max(mark, self._high_water_mark(model))
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
        return out, mark

    def listing(self, model: str) -> Listing:
        """The usable and the damaged published versions, from one listing (sizes checked;
        sha256s are checked where a version is loaded)."""
        versions: list[ModelVersion] = []
        damaged: list[DamagedVersion] = []
        for entry in self.folders(model):
            if entry.state != "published":
                continue
            folder = self._path(model, str(entry.number))
            try:
                manifest = read_manifest(self.fs, folder)
            except FileNotFoundError:  # removed since the listing (gc, drop)
                continue
            except ValueError as e:
                damaged.append(DamagedVersion(entry.number, MANIFEST, str(e)))
                continue
            if manifest.version != entry.number:
                reason = f"says version {manifest.version}, but its folder is {entry.number}"
                damaged.append(DamagedVersion(entry.number, MANIFEST, reason))
                continue
            problem = size_problem(manifest, entry)
            if problem is not None:
                damaged.append(DamagedVersion(entry.number, *problem))
                continue
            versions.append(ModelVersion(manifest, self._uri(folder)))
        return Listing(versions, damaged)

    def versions(self, model: str) -> list[ModelVersion]:
        """Usable published versions, oldest first."""
        return self.listing(model).versions

    def damaged(self, model: str) -> list[DamagedVersion]:
        """Published versions that cannot be used, with the file and the reason."""
        return self.listing(model).damaged

    def promotion(self, model: str) -> Promotion | None:
        path = self._path(model, PROMOTED)
        self._fresh(path)
        try:
            # one GET: a file object reads in ranges, and a promote replacing the record
            # between them makes S3 answer "changed while reading" (s3fs' FileExpired)
            raw = json.loads(self.fs.cat_file(path).decode("utf-8"))
            return Promotion(**{k: raw[k] for k in ("version", "above", "at", "note") if k in raw})
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, AttributeError) as e:
            raise CorruptVersion(
                f"model '{model}': {PROMOTED} (a rollback) does not read ({type(e).__name__}); "
                f"promote a version again (sqlml models promote {model}@N) to replace it"
            ) from None

    def latest(self, model: str) -> ModelVersion | None:
        """The version ``@latest`` resolves to (``None`` before the first publish); raises
        :class:`CorruptVersion` when that version is damaged."""
        listing = self.listing(model)
        if not listing.numbers:
            return None
        return self.resolve_latest(model, listing)

    def latest_number(self, model: str, listing: Listing) -> int:
        """The number ``@latest`` names (ungated): the promoted one while a rollback holds,
        else the newest published — usable or damaged."""
        numbers = listing.numbers
        newest = numbers[-1]
        promoted = self.promotion(model)
        if promoted is not None and newest <= promoted.above and promoted.version in numbers:
            return promoted.version
        return newest  # no rollback, a newer version since, or the promoted one removed

    def resolve_latest(self, model: str, listing: Listing) -> ModelVersion:
        """Which version of ``listing`` ``@latest`` is; :class:`CorruptVersion` naming the
        version and file when it is damaged (never an older one in its place)."""
        return self._usable(model, listing, self.latest_number(model, listing))

    def _usable(self, model: str, listing: Listing, number: int) -> ModelVersion:
        found = listing.find(number)
        if isinstance(found, ModelVersion):
            return found
        if isinstance(found, DamagedVersion):
            raise CorruptVersion(damaged_message(model, found))
        raise ModelNotFound(f"model '{model}' has no version {number}")

    def get(self, model: str, version: Pin = None, *, gates: Sequence[Gate] = ()) -> ModelVersion:
        """A version (``None``: ``@latest``; a string: the version that alias names); raises
        :class:`ModelNotFound` naming what exists (:class:`AliasNotFound` naming the
        aliases), :class:`CorruptVersion` when the version asked for (or resolved to) is
        damaged.

        With ``gates`` (the model's quality gates, for a consumer such as a prediction),
        ``@latest`` is :meth:`resolve_gated`'s answer; a pinned version or alias bypasses
        them."""
        if isinstance(version, str):
            return self._aliased(model, self.alias(model, version))
        listing = self.listing(model)
        if not listing.numbers:
            raise ModelNotFound(
                f"model '{model}' has no published version in {self.url}; "
                "materialize its TRAIN (or CREATE MODEL) asset first"
            )
        if version is None and gates:
            gated = self.resolve_gated(model, listing, gates)
            if gated is None:
                raise GateNotPassed(self._no_passing_version(model, listing.versions, gates))
            return gated
        if version is None:
            return self.resolve_latest(model, listing)
        if listing.find(version) is not None:
            return self._usable(model, listing, version)
        raise ModelNotFound(
            f"model '{model}' has no version {version}; "
            f"versions: {', '.join(str(n) for n in listing.numbers)}"
        )

    # -- aliases ------------------------------------------------------------------------

    def _alias_folder(self, model: str, alias: str) -> str:
        problem = alias_problem(alias)
        if problem is not None or alias != alias.lower():
            raise BadName(f"'{alias}' is not an alias: it {problem or 'is not lower-case'}")
        return self._path(model, ALIASES, alias)

    def alias_history(self, model: str, alias: str) -> list[AliasMove]:
        """Every move of ``model@alias``, oldest first (empty: it never existed). The newest
        record must read — it is where the alias points, and an older one never stands in
        for it (:class:`CorruptVersion`); an older one that does not read is left out."""
        folder = self._alias_folder(model, alias)
        names = [posixpath.basename(str(e["name"])) for e in self._entries(folder)]
        numbered = sorted((seq, n) for n in names if (seq := record_seq(n)) is not None)
        moves: list[AliasMove] = []
        for position, (seq, name) in enumerate(numbered):
            try:
                move = AliasMove.from_json(self.fs.cat_file(posixpath.join(folder, name)).decode())
            except (OSError, ValueError, TypeError) as e:
                if position == len(numbered) - 1:
                    raise CorruptVersion(
                        f"model '{model}': the newest move of @{alias} ({ALIASES}/{alias}/{name}) "
                        f"does not read ({type(e).__name__}); move the alias again "
                        f"(sqlml models alias {model}@N {alias}) to replace it"
                    ) from None
                continue
            moves.append(replace(move, seq=seq, alias=alias))  # the file, not its text, counts
        return moves

    def aliases(self, model: str) -> dict[str, AliasMove]:
        """Where each of the model's aliases points now: its newest move, by name."""
        out: dict[str, AliasMove] = {}
        for entry in self._entries(self._path(model, ALIASES)):
            name = posixpath.basename(str(entry["name"]).rstrip("/"))
            if entry["type"] != "directory" or alias_problem(name) is not None:
                continue
            history = self.alias_history(model, name)
            if history:
                out[name] = history[-1]
        return dict(sorted(out.items()))

    def alias(self, model: str, alias: str) -> AliasMove:
        """Where ``model@alias`` points; :class:`AliasNotFound` naming the aliases there are."""
        alias = alias.lower()
        history = self.alias_history(model, alias)
        if history:
            return history[-1]
        raise AliasNotFound(self._no_alias(model, alias))

    def _no_alias(self, model: str, alias: str) -> str:
        existing = self.aliases(model)
        there = (
            "its aliases: " + ", ".join(f"@{a} (version {m.version})" for a, m in existing.items())
            if existing
            else "it has no aliases yet"
        )
        return (
            f"model '{model}' has no alias '{alias}'; {there}. Move one with "
            f"`sqlml models alias {model}@N {alias}`, or let a promote directive on the model's "
            "TO TRAIN move @champion"
        )

    def _aliased(self, model: str, move: AliasMove) -> ModelVersion:
        """The version a move names — never another in its place."""
        listing = self.listing(model)
        if listing.find(move.version) is None:
            raise ModelNotFound(
                f"model '{model}': @{move.alias} names version {move.version}, which no longer "
                f"exists (versions: {', '.join(map(str, listing.numbers)) or 'none'}); move it "
                f"with `sqlml models alias {model}@N {move.alias}`"
            )
        return self._usable(model, listing, move.version)

    def move_alias(
        self,
        model: str,
        alias: str,
        version: int,
        *,
        reason: str = "",
        note: str = "",
        run_id: str | None = None,
        expected: int | None = None,
    ) -> AliasMove:
        """Point ``model@alias`` at ``version`` (which must be usable) by exclusively
        creating the record that follows move ``expected`` — the move this decision was
        based on (default: the newest now; 0: the alias did not exist). When another move
        holds that number already (it landed since, or lands first), nothing is written
        and :class:`AliasConflict` says who won. A move to the version the alias already
        names writes nothing and returns that move."""
        problem = alias_problem(alias)
        if problem is not None:
            raise BadName(f"'{alias}' is not an alias: it {problem}; {ALIAS_HINT}")
        alias = alias.lower()
        self.get(model, version)  # exists and is usable: ModelNotFound / CorruptVersion
        history = self.alias_history(model, alias)
        newest = history[-1].seq if history else 0
        base = newest if expected is None else expected
        if base > newest:
            raise ValueError(f"{model}@{alias} has no move {base} (its newest is {newest})")
        # the move this one follows; a later one, if any, already holds `base + 1` and the
        # exclusive create below refuses — the same rule whoever lost the race
        current = next((m for m in reversed(history) if m.seq <= base), None) if base else None
        if current is not None and current.version == version and base == newest:
            return current
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no login name and no passwd entry (some containers)
            user = f"uid {os.getuid()}" if hasattr(os, "getuid") else "?"
        move = AliasMove(
            alias=alias,
            version=version,
            seq=base + 1,
            at=now_iso(),
            previous=current.version if current is not None else None,
            by=f"{user}@{socket.gethostname()}",
            reason=reason,
            note=note,
            dagster_run_id=run_id,
        )
        folder = self._alias_folder(model, alias)
        self.fs.makedirs(folder, exist_ok=True)
        try:
            self._create_exclusively(posixpath.join(folder, record_name(move.seq)), move.to_json())
        except FileExistsError:
            history = self.alias_history(model, alias)
            raise AliasConflict(
                self._lost(model, alias, version, history[-1] if history else None)
            ) from None
        return move

    def _lost(self, model: str, alias: str, version: int, winner: AliasMove | None) -> str:
        won = (
            f" to version {winner.version} ({winner.reason or 'moved'} by {winner.by})"
            if winner
            else ""
        )
        return (
            f"{model}@{alias} was moved{won} while this move to version {version} was being "
            f"decided; nothing was written. Run it again to move @{alias} from there"
        )

    def pin_number(self, model: str, pin: Pin) -> int | None:
        """The number a pin names now (``None`` for ``@latest``): an alias read once."""
        return self.alias(model, pin).version if isinstance(pin, str) else pin

    # -- quality gates ------------------------------------------------------------------

    def gate_results(self, model: str, version: int) -> dict[str, GateResult]:
        """The gate outcomes recorded on ``model@version``, by gate name (a damaged outcome
        counts as never evaluated: the gate is not met)."""
        found = self._version_records(model, version, CHECKS, GateResult.from_json)
        return {r.name: r for r in found}

    def _version_records(
        self, model: str, version: int, folder_name: str, parse: Callable[[str], _Record]
    ) -> list[_Record]:
        """The JSON records in one of a version's folders (``checks/``, ``evaluations/``),
        skipping temporary files and those that do not read."""
        folder = self._path(model, str(version), folder_name)
        paths = [str(e["name"]) for e in self._entries(folder)]
        out = []
        for path in sorted(paths):
            if not str(path).endswith(".json") or posixpath.basename(path).startswith("."):
                continue
            try:
                out.append(parse(self.fs.cat_file(path).decode("utf-8")))
            except (OSError, ValueError, TypeError):
                continue
        return out

    def record_gates(self, version: ModelVersion, results: Iterable[GateResult]) -> None:
        """Record gate outcomes on a published version, each in its own file written in one
        step (a temporary name then a rename locally, one PUT on S3): a reader sees the
        previous outcome or the new one, never half of either. The manifest and artifacts
        are untouched, so checksums stay valid."""
        where = (version.model, str(version.version), CHECKS)
        targets = [(self._path(*where, f"{r.name}.json"), r) for r in results]
        self.fs.makedirs(self._path(*where), exist_ok=True)
        for target, result in targets:
            self._write_atomically(target, result.to_json())

    def evaluations(self, model: str, version: int) -> dict[str, EvaluationRecord]:
        """What each ``TO EVALUATE`` measured on ``model@version``, by evaluation name."""
        found = self._version_records(model, version, EVALUATIONS, EvaluationRecord.from_json)
        return {r.evaluation: r for r in found}

    def record_evaluation(self, version: ModelVersion, record: EvaluationRecord) -> bool:
        """Record what an evaluation measured on a published version (one file, written in
        one step, beside the gate outcomes; the manifest and artifacts are untouched).
        True when the metrics are new for this version (first evaluation, or changed)."""
        before = self.evaluations(version.model, version.version).get(record.evaluation)
        where = (version.model, str(version.version), EVALUATIONS)
        self.fs.makedirs(self._path(*where), exist_ok=True)
        self._write_atomically(self._path(*where, f"{record.evaluation}.json"), record.to_json())
        return before is None or before.metrics != record.metrics

    def previous_evaluation(
        self, model: str, version: int, evaluation: str
    ) -> tuple[int, EvaluationRecord] | None:
        """The newest version below ``version`` that ``evaluation`` measured, with what it
        measured: the "previous version" an evaluation's metrics are compared with."""
        for number in reversed([n for n in self.listing(model).numbers if n < version]):
            found = self.evaluations(model, number).get(evaluation)
            if found is not None:
                return number, found
        return None

    def recorded_gates(self, model: str) -> tuple[Gate, ...]:
        """The gates as the newest evaluated version records them — what a reader without
        the project (``sqlml models`` without ``-m``) takes a model's gates to be."""
        for number in reversed(self.listing(model).numbers):
            results = self.gate_results(model, number)
            if results:
                return tuple(
                    Gate(
                        r.name,
                        r.metric,
                        r.op,
                        r.threshold,
                        evaluation=r.evaluation,
                        baseline=r.baseline,
                    )
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
            if result is None or (result.metric, result.baseline) != (gate.metric, gate.baseline):
                missing.append(gate.name)
            elif not gate.judge(result):
                failed_list.append(replace(result, op=gate.op, threshold=gate.threshold))
        return GateStatus(version, failed=tuple(failed_list), missing=tuple(missing))

    def resolve_gated(
        self, model: str, listing: Listing, gates: Sequence[Gate]
    ) -> ModelVersion | None:
        """``@latest`` for a consumer of a gated model: a promoted version (``promote``
        is a person's explicit decision and wins), else the newest version that passes
        every gate; ``None`` when none does. A damaged version is judged like any other
        and, when it would be the answer, raises :class:`CorruptVersion` — one that
        fails its gates is passed over, as any failing version is."""
        number = self.gated_number(model, listing, gates)
        return None if number is None else self._usable(model, listing, number)

    def gated_number(self, model: str, listing: Listing, gates: Sequence[Gate]) -> int | None:
        """The number :meth:`resolve_gated` picks, usable or damaged (``None``: none)."""
        numbers = listing.numbers
        if not numbers:
            return None
        promoted = self.promotion(model)
        if promoted is not None and numbers[-1] <= promoted.above and promoted.version in numbers:
            return promoted.version
        for number in reversed(numbers):
            if self.gate_status(model, number, gates).passed:
                return number
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
        # a name of its own: two writers of one record (two promotes) must not share it
        tmp = posixpath.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
        with self.fs.open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        self.fs.mv(tmp, target)

    def _create_exclusively(self, target: str, text: str) -> None:
        """Create ``target`` holding ``text`` unless it exists (:class:`FileExistsError`),
        appearing whole: a conditional PUT on S3 (``If-None-Match: *``: one request); on a
        disk a hard link of a finished temporary file (``link`` refuses an existing name,
        and a reader never sees the empty file an ``O_EXCL`` open leaves until it is
        written)."""
        if not isinstance(self.fs, LocalFileSystem):
            with self.fs.open(target, "xb") as f:
                f.write(text.encode())
            return
        folder, name = posixpath.split(target)
        tmp = posixpath.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            os.link(tmp, target)
        finally:
            os.remove(tmp)

    def reserve(
        self,
        model: str,
        run_id: str | None = None,
        *,
        step: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
    ) -> PendingVersion:
        """Claim the next version number — above every number ever handed out — by
        exclusively creating its ``.pending`` record, which names the owner and its lease.
        Keep the lease alive with :meth:`keep_alive` while the training runs.

        The exclusive create is what makes a number one reservation's: the listing only
        suggests where to try. So ``.pending`` is never removed while its folder exists
        (publishing and discarding leave it: the claim outlives the reservation), and a
        folder goes only after the high-water mark records its number."""
        check_model_name(model)
        owner = Owner(
            token=secrets.token_hex(16),
            run_id=run_id,
            step=step,
            host=socket.gethostname(),
            pid=os.getpid(),
            at=now_iso(),
            lease_seconds=lease.total_seconds(),
        )
        for _ in range(100):
            version = self.high_water(model) + 1
            folder = self._path(model, str(version))
            marker = posixpath.join(folder, PENDING)
            self.fs.makedirs(folder, exist_ok=True)
            try:
                with self.fs.open(marker, "xb") as f:
                    f.write(owner.to_json().encode())
            except FileExistsError:
                continue  # another training took this number between listing and claiming
            return PendingVersion(
                model=model,
                version=version,
                uri=self._uri(folder),
                token=owner.token,
                lease_seconds=owner.lease_seconds,
            )
        raise RuntimeError(f"could not reserve a version of {model} in {self.url}")

    def owner(self, model: str, version: int) -> Owner | None:
        """Who holds ``model@version``'s reservation (``None``: nobody, or unreadable)."""
        path = self._path(model, str(version), PENDING)
        self._fresh(posixpath.dirname(path))
        try:
            return Owner.from_json(self.fs.cat_file(path).decode("utf-8"))
        except (FileNotFoundError, ValueError, TypeError):
            return None

    def _why_not_mine(self, pending: PendingVersion) -> str | None:
        """Why ``pending`` is no longer its owner's reservation (``None``: it still is)."""
        folder = self._path(pending.model, str(pending.version))
        owner = self.owner(pending.model, pending.version)
        if self.fs.exists(posixpath.join(folder, MANIFEST)):
            return "the folder holds a published version"
        if self.fs.exists(posixpath.join(folder, DISCARDED)):
            return "it was discarded"
        if owner is None:
            return "its reservation is gone (gc removed it after its lease expired, or the model was dropped)"
        if not pending.token or owner.token != pending.token:
            return f"another owner holds it (run {owner.run_id or '?'} on {owner.host or '?'})"
        return None

    def renew(self, pending: PendingVersion) -> bool:
        """Renew the lease of an own reservation (rewrite ``.lease``); ``False`` when it is
        no longer this owner's, and then nothing is written."""
        if self._why_not_mine(pending) is not None:
            return False
        record = {"token": pending.token, "renewed_at": now_iso()}
        lease = self._path(pending.model, str(pending.version), LEASE)
        self.fs.pipe_file(lease, json.dumps(record).encode())
        return True

    def keep_alive(self, pending: PendingVersion, every: float | None = None) -> LeaseKeeper:
        """``with store.keep_alive(pending):`` renews its lease while the block runs."""
        return LeaseKeeper(self, pending, every)

    def publish(self, pending: PendingVersion, manifest: ModelManifest) -> ModelVersion:
        """Checksum the artifacts, then write the manifest — last — making the version
        visible; :class:`ReservationLost` (and nothing written) when the reservation is no
        longer this owner's."""
        folder = self._path(pending.model, str(pending.version))
        self._fresh(folder)
        why = self._why_not_mine(pending)
        if why is not None:
            raise ReservationLost(
                f"{pending.model}@{pending.version} was not published: {why}; run the step again"
            )
        artifacts, sizes = {}, {}
        for path in sorted(self.fs.find(folder)):
            name = posixpath.relpath(path, folder)
            if name in (MANIFEST, PENDING, LEASE) or name.startswith("."):
                continue
            artifacts[name], sizes[name] = sha256_and_size(self.fs, path)
        final = replace(
            manifest, artifacts=artifacts, artifact_sizes=sizes, version=pending.version
        )
        # One PUT (S3) or one write (disk) of the manifest is the moment the version exists;
        # a local write goes through a temporary name so a reader never sees half of it.
        self._write_atomically(posixpath.join(folder, MANIFEST), final.to_json())
        # `.pending` stays: the claim on the number outlives the reservation (below).
        self._remove(posixpath.join(folder, LEASE))
        self._remove(posixpath.join(folder, CHECKPOINT), recursive=True)  # not the version's
        return ModelVersion(final, pending.uri)

    def trial_uri(self, pending: PendingVersion, number: int) -> str:
        """The folder trial ``number`` of a search trains into, inside the reservation."""
        return self._uri(self._path(pending.model, str(pending.version), TRIALS, str(number)))

    def keep_trial(self, pending: PendingVersion, number: int) -> None:
        """Make trial ``number``'s files the reserved version's own and remove every
        trial's folder (the losers' models are not kept; the manifest lists their params
        and metrics). :class:`ReservationLost` when the reservation is no longer this
        owner's."""
        folder = self._path(pending.model, str(pending.version))
        self._fresh(folder)
        why = self._why_not_mine(pending)
        if why is not None:
            raise ReservationLost(f"{pending.model}@{pending.version}: {why}; run the step again")
        chosen = self._path(pending.model, str(pending.version), TRIALS, str(number))
        for path in sorted(self.fs.find(chosen)):
            target = posixpath.join(folder, posixpath.relpath(path, chosen))
            self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
            self.fs.mv(path, target)
        self._remove(self._path(pending.model, str(pending.version), TRIALS), recursive=True)

    def park_checkpoint(self, pending: PendingVersion, fingerprint: str) -> bool:
        """Move a failed training's checkpoint out of its reservation, which is about to be
        discarded, to wait for the next try of the same training (a Dagster retry reserves
        a new number): ``<model>/.checkpoints/<fingerprint>/``. ``False``: none to park."""
        folder = self._path(pending.model, str(pending.version), CHECKPOINT)
        if self._why_not_mine(pending) is not None or not self.fs.exists(folder):
            return False
        parked = self._path(pending.model, PARKED_CHECKPOINTS, fingerprint)
        self._remove(parked, recursive=True)
        moved = False
        for path in sorted(self.fs.find(folder)):
            name = posixpath.relpath(path, folder)
            if name.startswith("."):  # a half-written temporary file
                continue
            self.fs.makedirs(parked, exist_ok=True)
            self.fs.mv(path, posixpath.join(parked, name))
            moved = True
        return moved

    def adopt_checkpoint(self, pending: PendingVersion, fingerprint: str) -> bool:
        """Move the checkpoint a failed try of the same training parked (same model
        fingerprint: statement, data, image, code) into the new reservation, where the step
        resumes from it. A training with another fingerprint never finds it."""
        parked = self._path(pending.model, PARKED_CHECKPOINTS, fingerprint)
        if not self.fs.exists(parked):
            return False
        folder = self._path(pending.model, str(pending.version), CHECKPOINT)
        self.fs.makedirs(folder, exist_ok=True)
        for path in sorted(self.fs.find(parked)):
            self.fs.mv(path, posixpath.join(folder, posixpath.relpath(path, parked)))
        self._remove(parked, recursive=True)
        return True

    def discard(self, pending: PendingVersion, reason: str = "") -> bool:
        """A reserved version that will never be published (failed or cancelled step): its
        files go, a ``.discarded`` tombstone says why. Only the owner's own reservation is
        touched: when the folder is no longer its (``gc`` took it, someone else's version
        is there), nothing is deleted and ``False`` comes back."""
        folder = self._path(pending.model, str(pending.version))
        self._fresh(folder)
        if self._why_not_mine(pending) is not None:
            return False
        for path in self.fs.find(folder):
            if posixpath.basename(path) != PENDING:
                self._remove(path)
        self._remove(posixpath.join(folder, TRIALS), recursive=True)  # its empty folders
        self.fs.pipe_file(
            posixpath.join(folder, DISCARDED),
            json.dumps({"at": now_iso(), "reason": reason[:2000]}).encode(),
        )
        return True  # `.pending` stays: the claim on the number (see reserve)

    def promote(self, model: str, version: int, note: str = "") -> ModelVersion:
        """Make ``version`` what ``@latest`` resolves to — a rollback, or a roll forward to
        the newest again — until a newer version is published."""
        target = self.get(model, version)
        newest = self.listing(model).numbers[-1]
        path = self._path(model, PROMOTED)
        if version == newest:
            self._remove(path)
            return target
        record = {"version": version, "above": newest, "at": now_iso(), "note": note}
        self._write_atomically(path, json.dumps(record, indent=2))  # read whole or not at all
        return target

    def _high_water_mark(self, model: str) -> int:
        """The highest number in ``_high_water/`` (0: none)."""
        folder = self._path(model, HIGH_WATER)
        self._fresh(folder)
        try:
            names = [
                posixpath.basename(str(p).rstrip("/")) for p in self.fs.ls(folder, detail=False)
            ]
        except FileNotFoundError:
            return 0
        return max([0, *(int(n) for n in names if n.isdigit())])

    def _raise_high_water(self, model: str, number: int) -> None:
        """Record ``number`` as handed out, before any numbered folder is removed.

        One file per mark, so two collectors at once never lower it. A lower mark is
        removed only once a higher one has stood for :data:`MARK_SETTLED` — a reader
        listing the folder meanwhile sees the higher one whole (a listing may miss a file
        created or removed while it runs, never one that stood throughout)."""
        folder = self._path(model, HIGH_WATER)
        self.fs.makedirs(folder, exist_ok=True)
        self.fs.pipe_file(self._path(model, HIGH_WATER, str(number)), b"")
        self._fresh(folder)
        marks = {
            int(posixpath.basename(str(info["name"]).rstrip("/"))): last_modified([info])
            for info in self.fs.ls(folder, detail=True)
            if posixpath.basename(str(info["name"]).rstrip("/")).isdigit()
        }
        now = datetime.now(timezone.utc)
        settled = [n for n, at in marks.items() if at is not None and now - at > MARK_SETTLED]
        for lower in [n for n in marks if settled and n < max(settled)]:
            self._remove(self._path(model, HIGH_WATER, str(lower)))

    def gc(
        self,
        model: str,
        keep: int,
        *,
        pinned: Iterable[int] = (),
        grace: timedelta = GC_GRACE,
        dry_run: bool = False,
    ) -> GcResult:
        """Remove all but the newest ``keep`` published versions, never removing ``pinned``
        ones, the version ``@latest`` resolves to, nor one an alias names; also remove tombstones and the
        reservations whose lease expired (no write in their folder for a lease plus
        ``grace``). A running training's reservation stays; no number is handed out
        again (the high-water mark is raised before anything goes)."""
        if keep < 1:
            raise ValueError("keep must be at least 1: @latest always stays")
        folders, mark = self._scan(model)
        listing = self.listing(model)
        numbers = listing.numbers
        protected = set(pinned)
        if numbers:
            protected.add(self.latest_number(model, listing))
        # what an alias names stays: m@champion must keep resolving
        protected.update(move.version for move in self.aliases(model).values())
        newest = set(numbers[-keep:])
        removed = [n for n in numbers if n not in newest and n not in protected]
        kept = [n for n in numbers if n not in removed]
        now = datetime.now(timezone.utc)
        cleaned: list[int] = []
        running: list[int] = []
        for entry in folders:
            if entry.state == "discarded":
                cleaned.append(entry.number)
            elif entry.state == "pending":
                expired = self._lease_expired(model, entry, now, grace)
                (cleaned if expired else running).append(entry.number)
        if not dry_run and (removed or cleaned):
            highest = max([mark, *numbers, *(f.number for f in folders)])
            self._raise_high_water(model, highest)
            for number in sorted([*removed, *cleaned]):
                self._remove(self._path(model, str(number)), recursive=True)
        stale = self._stale_checkpoints(model, now)
        if not dry_run:
            for fingerprint in stale:
                self._remove(self._path(model, PARKED_CHECKPOINTS, fingerprint), recursive=True)
        return GcResult(
            removed=removed,
            kept=kept,
            cleaned=sorted(cleaned),
            running=running,
            checkpoints=stale,
        )

    def _stale_checkpoints(self, model: str, now: datetime) -> list[str]:
        """The parked checkpoints (by fingerprint) no file of which was written for
        ``PARKED_CHECKPOINT_AGE``: their training was not tried again."""
        folder = self._path(model, PARKED_CHECKPOINTS)
        try:
            found = self.fs.find(folder, detail=True)
        except FileNotFoundError:
            return []
        by_fingerprint: dict[str, list[dict[str, Any]]] = {}
        for path, info in found.items():
            by_fingerprint.setdefault(posixpath.relpath(path, folder).split("/")[0], []).append(
                info
            )
        return sorted(
            fingerprint
            for fingerprint, files in by_fingerprint.items()
            if (modified := last_modified(files)) is not None
            and now - modified > PARKED_CHECKPOINT_AGE
        )

    def _lease_expired(
        self, model: str, entry: VersionFolder, now: datetime, grace: timedelta
    ) -> bool:
        """Whether a reserved folder saw no write (lease renewal, artifact) for its
        owner's lease plus ``grace``; an older release's reservation has 24 hours."""
        if entry.modified is None:
            return False
        owner = self.owner(model, entry.number)
        if owner is None:  # no record (an interrupted cleanup): the default lease
            lease = DEFAULT_LEASE
        elif owner.lease_seconds > 0:
            lease = timedelta(seconds=owner.lease_seconds)
        else:
            lease = LEGACY_LEASE
        return now - entry.modified > lease + grace

    def drop(self, model: str) -> int:
        """Remove a model and every version of it; returns how many versions there were.
        The high-water mark stays, so a model of the same name trained again continues
        its numbers: ``m@3`` never names two different models."""
        folders, mark = self._scan(model)
        count = sum(1 for f in folders if f.state == "published")
        folder = self._path(model)
        if folders:
            self._raise_high_water(model, max([mark, *(f.number for f in folders)]))
        if self.fs.exists(folder):
            for path in self.fs.ls(folder, detail=False):
                if posixpath.basename(str(path).rstrip("/")) != HIGH_WATER:
                    self._remove(path, recursive=True)
        self._fresh(folder)
        return count


def damaged_message(model: str, damaged: DamagedVersion) -> str:
    """The one line a step fails with when the version it resolved to is damaged."""
    return (
        f"model '{model}' version {damaged.number} is damaged ({damaged.text}); "
        f"retrain it, promote another version (sqlml models promote {model}@N) "
        f"or pin one (USING {model}@N)"
    )
