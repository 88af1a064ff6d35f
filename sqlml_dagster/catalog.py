"""The model catalog: what ``sqlml models …`` and the SQL statements ``SHOW MODELS``,
``DESCRIBE MODEL m[@v|@alias]``, ``SHOW TRAIN m[@v|@alias]`` and ``DROP MODEL m`` answer.

Every question returns a :class:`ResultTable` — columns and rows of plain values — so the
CLI prints it, ``--format json`` dumps it and tests compare it, all from one place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .contract.lifecycle import Pin
from .store import Gate, ModelNotFound, ModelStore, ModelVersion
from .store.aliases import AliasMove
from .store.metrics import version_metrics
from .store.models import CorruptVersion, DamagedVersion, GcResult, Listing
from .store.paths import check_model_name
from .store.references import parse_reference


@dataclass(frozen=True)
class ResultTable:
    """A small result: a title, column names, rows."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    title: str = ""
    #: What ``--format json`` adds beside the rows as structured data (a version's
    #: ``trials``), which the text shows as rows.
    extra: dict[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        """Aligned text, like a SQL shell prints it."""
        cells = [list(self.columns)] + [[_cell(v) for v in row] for row in self.rows]
        widths = [
            max(len(line) for c in col for line in c.split("\n"))
            for col in zip(*cells, strict=True)
        ]
        out = [self.title] if self.title else []
        out.append("  ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)).rstrip())
        out.append("  ".join("-" * w for w in widths))
        for row in cells[1:]:
            lines = [c.split("\n") for c in row]
            for i in range(max(len(x) for x in lines)):
                out.append(
                    "  ".join(
                        (x[i] if i < len(x) else "").ljust(w)
                        for x, w in zip(lines, widths, strict=True)
                    ).rstrip()
                )
        out.append(f"({len(self.rows)} row{'s' if len(self.rows) != 1 else ''})")
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "columns": list(self.columns),
            "rows": [dict(zip(self.columns, row, strict=True)) for row in self.rows],
            **self.extra,
        }


def parse_ref(text: str) -> tuple[str, Pin]:
    """``iris_rf``, ``iris_rf@3``, ``iris_rf@champion`` or ``iris_rf@latest`` → (model,
    version, alias or None); :class:`BadReference` (a ``ValueError``) otherwise."""
    check_model_name(text.partition("@")[0])  # the store's one line for a name that leaves it
    ref = parse_reference(text)
    return ref.model, ref.pin


class Catalog:
    """Questions and changes to the versions in one model store."""

    def __init__(
        self,
        store: ModelStore,
        pinned: dict[str, set[int]] | None = None,
        gates: dict[str, tuple[Gate, ...]] | None = None,
    ):
        self.store = store
        #: Versions the project's SQL pins (``USING m@3``), kept by :meth:`gc`; ``None``
        #: when the project is not known, and then :meth:`gc` refuses unless told to
        #: ignore pins.
        self.pins_known = pinned is not None
        self.pinned = pinned or {}
        #: The project's quality gates by model; ``None`` when the project is not known,
        #: and then a model's gates are those recorded on its newest evaluated version.
        self.gates = gates

    def gates_of(self, model: str) -> tuple[Gate, ...]:
        if self.gates is not None:
            return self.gates.get(model, ())
        return self.store.recorded_gates(model)

    def latest(self, model: str, listing: Listing) -> ModelVersion | None:
        """What ``@latest`` means for the model's consumers: gated, when it has gates.
        Raises :class:`CorruptVersion` when that is a damaged version."""
        gates = self.gates_of(model)
        if gates:
            return self.store.resolve_gated(model, listing, gates)
        return self.store.resolve_latest(model, listing) if listing.numbers else None

    def latest_or_damage(
        self, model: str, listing: Listing
    ) -> tuple[ModelVersion | None, DamagedVersion | None]:
        """For a listing: ``@latest`` — or the damaged version it resolves to."""
        try:
            return self.latest(model, listing), None
        except CorruptVersion:
            gates = self.gates_of(model)
            number = (
                self.store.gated_number(model, listing, gates)
                if gates
                else self.store.latest_number(model, listing)
            )
            found = None if number is None else listing.find(number)
            return None, found if isinstance(found, DamagedVersion) else None

    def alias_marks(self, model: str) -> dict[int, list[str]]:
        """``{3: ["@champion"], 1: ["@prod"]}``: which aliases name which version."""
        marks: dict[int, list[str]] = {}
        for alias, move in self.store.aliases(model).items():
            marks.setdefault(move.version, []).append(f"@{alias}")
        return marks

    def gate_text(self, model: str, version: int) -> str:
        """``passed``, ``failed: …``, ``not evaluated: …`` — or empty for an ungated model."""
        gates = self.gates_of(model)
        return self.store.gate_status(model, version, gates).text if gates else ""

    # -- questions --------------------------------------------------------------------

    def show_models(self) -> ResultTable:
        rows = []
        for model in self.store.models():
            listing = self.store.listing(model)
            versions = listing.versions
            if not listing.numbers:
                continue
            latest, damaged = self.latest_or_damage(model, listing)
            if damaged is not None:
                shown = f"{damaged.number} damaged ({damaged.text})"
            elif latest is not None:
                shown = _latest_text(latest, listing.numbers)
            else:
                shown = "none passed its gates"
            m = (latest or versions[-1]).manifest if versions else None
            aliases = " ".join(
                f"{a}={move.version}" for a, move in self.store.aliases(model).items()
            )
            rows.append(
                (
                    model,
                    len(listing.numbers),
                    shown,
                    aliases,
                    m.flavor if m else "",
                    m.model_reference if m else "",
                    m.created_at if m else "",
                    _metrics_text(m.metrics) if m else "",
                )
            )
        return ResultTable(
            (
                "model",
                "versions",
                "latest",
                "aliases",
                "flavor",
                "reference",
                "created_at",
                "metrics",
            ),
            tuple(rows),
        )

    def list_versions(self, model: str) -> ResultTable:
        """Every published version, usable or damaged (which file, and why)."""
        listing = self.store.listing(model)
        versions = listing.versions
        if not listing.numbers:
            self.store.get(model)  # raises ModelNotFound with what exists
        latest, latest_damaged = self.latest_or_damage(model, listing)
        pinned = self.pinned.get(model, set())
        aliased = self.alias_marks(model)
        rows: list[tuple[Any, ...]] = []
        for v in versions:
            m = v.manifest
            marks = [
                label
                for label, on in (
                    ("@latest", latest is not None and v.version == latest.version),
                    ("pinned", v.version in pinned),
                )
                if on
            ] + aliased.get(v.version, [])
            rows.append(
                (
                    v.version,
                    " ".join(marks),
                    m.created_at,
                    m.fingerprint,
                    m.training_data_fingerprint,
                    m.training_rows,
                    _metrics_text(m.metrics),
                    self.gate_text(model, v.version),
                    m.dagster_run_id or "",
                )
            )
        for damaged in listing.damaged:
            marks = [
                label
                for label, on in (
                    ("@latest", latest_damaged is not None and latest_damaged == damaged),
                    ("pinned", damaged.number in pinned),
                )
                if on
            ] + aliased.get(damaged.number, [])
            shown = " ".join([*marks, f"damaged: {damaged.text}"])
            rows.append((damaged.number, shown, "", "", "", "", "", "", ""))
        rows.sort(key=lambda r: int(r[0]))
        return ResultTable(
            ("version", "", "created_at", "fingerprint", "data", "rows", "metrics", "gates", "run"),
            tuple(rows),
            title=f"model {model}",
        )

    def describe(self, model: str, version: Pin = None) -> ResultTable:
        """Rikai's ``DESCRIBE MODEL``: one version's manifest as property/value rows (the
        aliases that name it, with their last move, among them)."""
        v = self.store.get(model, version)
        m = v.manifest
        latest, _ = self.latest_or_damage(model, self.store.listing(model))
        rows: list[tuple[str, Any]] = [
            ("model", m.model),
            ("version", m.version),
            ("is @latest", latest is not None and latest.version == m.version),
            *(
                (f"alias @{alias}", move.text)
                for alias, move in self.store.aliases(model).items()
                if move.version == m.version
            ),
            ("gates", self.gate_text(model, m.version)),
            ("created_at", m.created_at),
            ("flavor", m.flavor),
            ("reference", m.model_reference),
            ("uri", v.uri),
            ("fingerprint", m.fingerprint),
            ("statement fingerprint", m.statement_fingerprint),
            ("training data fingerprint", m.training_data_fingerprint),
            ("training rows", m.training_rows),
            ("label", m.label or ""),
            ("features", ", ".join(m.features)),
            ("image", m.image or ""),
            ("image digest", m.image_digest or ""),
            ("ran as", m.launched_as or ""),
            ("source", m.source_uri or ""),
            ("dagster run", m.dagster_run_id or ""),
        ]
        rows += [(f"param {k}", _value(val)) for k, val in _flat_params(m.params)]
        rows += [
            (f"{x.split} {x.name}", x.value)
            for x in version_metrics(m, self.store.evaluations(model, m.version))
        ]
        if m.warm_start_from:
            rows.append(("warm start from", m.warm_start_from))
        rows += [(f"early stopping {k}", val) for k, val in m.early_stopping.items()]
        if m.trials:
            rows.append(("objective", m.objective or ""))
        rows += [_trial_row(trial, m.best_trial) for trial in m.trials]
        recorded = self.store.gate_results(model, m.version)
        rows += [
            (f"gate {name}", f"{r.text}: {'passed' if r.passed else 'failed'} ({r.evaluated_at})")
            for name, r in sorted(recorded.items())
        ]
        rows += [(f"framework {k}", val) for k, val in m.frameworks.items()]
        rows += [(f"artifact {k}", f"sha256 {sha[:16]}…") for k, sha in m.artifacts.items()]
        extra = {"trials": m.trials} if m.trials else {}
        return ResultTable(("property", "value"), tuple(rows), title=f"{v.ref}", extra=extra)

    def show_train(self, model: str, version: Pin = None) -> ResultTable:
        """SQLFlow's ``SHOW TRAIN``: the statement that trained a version, and its params."""
        v = self.store.get(model, version)
        m = v.manifest
        params = "\n".join(f"{k} = {_value(val)}" for k, val in _flat_params(m.params))
        return ResultTable(
            ("model", "version", "statement", "params"),
            ((m.model, m.version, m.statement.strip(), params),),
        )

    def diff(self, a: str, b: str) -> ResultTable:
        """Two versions side by side — "is this version better?": held-out metrics first
        (each evaluation that measured either version, then validation), then training
        metrics, as the model page lists them (``store/metrics.py``), then what differs
        in provenance and params."""
        (ma, va), (mb, vb) = parse_ref(a), parse_ref(b)
        left, right = self.store.get(ma, va), self.store.get(mb, vb)
        rows: list[tuple[str, Any, Any, str]] = []

        def add(key: str, x: Any, y: Any, numeric: bool = False) -> None:
            change = ""
            if numeric and isinstance(x, (int, float)) and isinstance(y, (int, float)):
                change = f"{y - x:+.4g}" if x != y else ""
            elif x != y:
                change = "changed"
            rows.append(
                (
                    key,
                    _value(x) if x is not None else "",
                    _value(y) if y is not None else "",
                    change,
                )
            )

        lm, rm = left.manifest, right.manifest
        before = {m.name: m for m in version_metrics(lm, self.store.evaluations(ma, lm.version))}
        after = {m.name: m for m in version_metrics(rm, self.store.evaluations(mb, rm.version))}
        names = list(dict.fromkeys([*after, *before]))
        names.sort(key=lambda n: (after.get(n) or before[n]).split == "training")
        for name in names:
            split = (after.get(name) or before[name]).split
            x, y = before.get(name), after.get(name)
            add(
                f"{split} {name}",
                x.value if x else None,
                y.value if y else None,
                numeric=True,
            )
        for key in ("model_reference", "flavor", "image", "label", "training_rows"):
            add(key, getattr(lm, key), getattr(rm, key), numeric=key == "training_rows")
        add("training data", lm.training_data_fingerprint, rm.training_data_fingerprint)
        add("statement", lm.statement_fingerprint, rm.statement_fingerprint)
        lp, rp = dict(_flat_params(lm.params)), dict(_flat_params(rm.params))
        for key in sorted(lp.keys() | rp.keys()):
            add(f"param {key}", lp.get(key), rp.get(key))
        return ResultTable(("", left.ref, right.ref, "change"), tuple(rows))

    # -- changes ----------------------------------------------------------------------

    def promote(self, ref: str) -> ModelVersion:
        model, pin = parse_ref(ref)
        version = self.store.pin_number(model, pin)  # m@champion: the version it names
        if version is None:
            raise ValueError(f"'{ref}': name the version to promote, e.g. {model}@2")
        return self.store.promote(model, version)

    def alias(self, ref: str, alias: str, note: str = "") -> AliasMove:
        """``sqlml models alias m@7 champion``: move the alias (one exclusive create; a
        concurrent move of the same alias wins or loses whole)."""
        model, version = parse_ref(ref)
        if isinstance(version, str):
            version = self.store.alias(model, version).version  # m@staging champion
        if version is None:
            listing = self.store.listing(model)
            if not listing.numbers:
                self.store.get(model)  # raises ModelNotFound with what exists
            resolved = self.latest(model, listing)
            if resolved is None:
                raise ModelNotFound(f"model '{model}' has no version that passed its gates")
            version = resolved.version
        return self.store.move_alias(model, alias, version, reason="sqlml models alias", note=note)

    def alias_history(self, model: str) -> ResultTable:
        """Every move of every alias of ``model``, oldest first per alias."""
        rows = [
            (
                move.alias,
                move.seq,
                move.version,
                "" if move.previous is None else move.previous,
                move.at,
                move.by,
                move.reason,
                move.note,
            )
            for alias in self.store.aliases(model)
            for move in self.store.alias_history(model, alias)
        ]
        return ResultTable(
            ("alias", "move", "version", "was", "at", "by", "reason", "note"),
            tuple(rows),
            title=f"aliases of {model}",
        )

    def gc(
        self, model: str, keep: int, *, dry_run: bool = False, ignore_pins: bool = False
    ) -> GcResult:
        """Retention for one model: the newest ``keep``, the project's pinned versions and
        what its consumers' ``@latest`` is stay. Without the project's pins (no ``-m`` or
        ``--manifest``) it refuses to remove anything unless ``ignore_pins``."""
        if not self.pins_known and not ignore_pins and not dry_run:
            raise ValueError(
                "gc does not know which versions the project pins (USING m@3, "
                "ML_PREDICT(m@3, …)): give the project (-m MODULE or --manifest FILE), "
                "or pass --ignore-pins to remove pinned versions too"
            )
        keep_too = set(self.pinned.get(model, set()))
        gates = self.gates_of(model)
        if gates:  # a gated model's consumers use the newest passing version: it stays
            try:
                gated = self.store.resolve_gated(model, self.store.listing(model), gates)
            except CorruptVersion:
                gated = None
            if gated is not None:
                keep_too.add(gated.version)
        return self.store.gc(model, keep, pinned=keep_too, dry_run=dry_run)

    def drop(self, model: str, *, if_exists: bool = False) -> int:
        if not self.store.folders(model):
            if if_exists:
                return 0
            raise ModelNotFound(f"model '{model}' does not exist in {self.store.url}")
        return self.store.drop(model)


def _latest_text(latest: ModelVersion, numbers: Sequence[int]) -> str:
    newest = numbers[-1]
    if latest.version == newest:
        return str(latest.version)
    return f"{latest.version} (promoted; newest {newest})"


def _metrics_text(metrics: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in list(metrics.items())[:4])


def _trial_row(trial: dict[str, Any], best: int | None) -> tuple[str, str]:
    """``trial 3 (best)`` → ``succeeded in 1.2s: model.max_depth = 4; val_accuracy = 0.93``."""
    number = trial.get("number")
    params = ", ".join(f"{k} = {_value(v)}" for k, v in (trial.get("params") or {}).items())
    if trial.get("status") == "succeeded":
        outcome = ", ".join(f"{k} = {v:.4g}" for k, v in (trial.get("metrics") or {}).items())
    else:
        outcome = str(trial.get("error") or "")
    mark = " (best)" if number == best else ""
    return (
        f"trial {number}{mark}",
        f"{trial.get('status')} in {trial.get('seconds', 0):.1f}s: {params}; {outcome}",
    )


def _flat_params(params: dict[str, dict[str, Any]]) -> Iterable[tuple[str, Any]]:
    for namespace, values in sorted(params.items()):
        for key, value in sorted(values.items()):
            yield f"{namespace}.{key}", value


def _value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
