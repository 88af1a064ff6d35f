"""What ``-- sqlml:`` comment directives mean: automation, partitions, owners and tags.

The parser keeps directives as written (:class:`~.ir.Directive`: key, value, span); this
module checks them against the statement they sit on and turns them into one typed
:class:`Directives` per asset, which the Dagster layer maps to ``AutomationCondition``\\ s,
partitions, freshness policies, owners and tags. Keeping the meaning here, not in the
translator, lets ``sqlml check`` report a bad cron string with file:line:col without
building any Dagster object.

    -- sqlml-file: owner = "team-ml@example.com", tags.domain = "botany"
    -- sqlml: schedule = "0 3 * * *", timezone = "Europe/Berlin"
    SELECT … TO TRAIN … INTO iris_rf;

    -- sqlml: on_new_model = eager, partition_by = day(observed_at), partition_start = "2026-01-01"
    SELECT … TO PREDICT scored.class USING iris_rf;

    -- sqlml: promote = best_score(accuracy)
    SELECT … TO TRAIN … INTO churn_model;
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from ..contract.lifecycle import (
    BEST_SCORE,
    CHAMPION,
    POLICIES,
    PromotionPolicy,
    known_metrics,
    metric_direction,
)
from . import codes
from .cron import is_valid_cron
from .diagnostics import Span
from .ir import Directive, DirectiveCall, DirectiveComparison, ObjectKind

#: A diagnostic sink: (code, message, span, hint).
Report = Callable[[str, str, Span, str | None], None]

#: Directive keys and what their values are; ``tags.<name>`` is open-ended.
KEYS: dict[str, str] = {
    "schedule": 'a cron string such as "0 3 * * *" (the asset materializes on each tick)',
    "timezone": 'an IANA time zone such as "Europe/Berlin" for schedule (default UTC)',
    "automation": "eager (whenever an input updates), on_change (when its statement or an "
    "input's data version changes) or on_missing (once, when never run)",
    "on_new_model": "eager: rerun when a model this statement uses gets a new version "
    "(for m@alias: when the alias moves)",
    "promote": "best_score(metric), most_recent or manual: which version becomes "
    f"@{CHAMPION} (on a TO TRAIN or CREATE MODEL)",
    "freshness": 'how old the asset may get before it counts as stale, e.g. "26h" or "7d"',
    "partition_by": "hour(col), day(col), week(col) or month(col): one partition per period",
    "partition_start": 'the first partition\'s date, e.g. "2026-01-01"',
    "owner": 'an e-mail address or "team:name" (a list for several)',
    "owners": 'an e-mail address or "team:name" (a list for several)',
    "group": "the Dagster asset group (default: the file's name)",
    "drift": "warn(psi > 0.2) or block(psi > 0.2): an asset check comparing the scored "
    "inputs with the model's training data (TO PREDICT, or a table calling ML_PREDICT)",
    "asset": "the name of the asset of a TO RUN without INTO (default: its program's "
    "file name without the suffix) or a TO EXPLAIN without INTO (default: "
    "<model>_explanation)",
    "tags.<name>": "a tag shown and searchable in the Dagster UI",
}

PARTITION_GRAINS = ("hour", "day", "week", "month")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_DURATION_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG_KEY = re.compile(r"^[A-Za-z0-9_.\-/]{1,63}$")
_MODEL_USERS = (
    ObjectKind.PREDICTION,
    ObjectKind.EVALUATION,
    ObjectKind.EXPLANATION,
    ObjectKind.EXPLANATION_PLOT,
)
#: The kinds whose asset writes no table, named by the ``asset`` directive.
_NAMED_BY_DIRECTIVE = (ObjectKind.PROGRAM_RUN, ObjectKind.EXPLANATION_PLOT)


@dataclass(frozen=True)
class Partitioning:
    """``partition_by = day(col)``: one partition per period of ``column``, from ``start``."""

    grain: str
    column: str
    start: str
    span: Span


#: ``drift = warn(…)`` / ``block(…)``: what a failed drift check does.
DRIFT_ACTIONS = ("warn", "block")
#: The drift measures a condition may compare (PSI: population stability index).
DRIFT_MEASURES = ("psi",)
#: ``drift = warn`` without a condition: PSI above 0.2, the usual "significant shift".
DEFAULT_DRIFT = ("psi", ">", 0.2)


@dataclass(frozen=True)
class Drift:
    """``drift = block(psi > 0.25)``: the scored inputs drift when a feature's ``measure``
    compares to ``threshold`` as ``op`` says; ``block`` makes the check blocking (severity
    ERROR), ``warn`` a warning."""

    action: str
    measure: str
    op: str
    threshold: float
    span: Span

    @property
    def condition(self) -> str:
        """``psi > 0.2``: the drift condition as messages and the UI show it."""
        return f"{self.measure} {self.op} {self.threshold:g}"

    def drifted(self, value: float) -> bool:
        """Whether one feature's measure meets the drift condition."""
        return {
            ">": value > self.threshold,
            ">=": value >= self.threshold,
            "<": value < self.threshold,
            "<=": value <= self.threshold,
            "=": value == self.threshold,
        }[self.op]


@dataclass(frozen=True)
class Directives:
    """The checked directives of one asset (file-wide ones merged under its own)."""

    schedule: str | None = None
    timezone: str = "UTC"
    automation: str | None = None
    on_new_model: str | None = None
    freshness: timedelta | None = None
    partition: Partitioning | None = None
    owners: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    group: str | None = None
    #: ``promote = best_score(metric) | most_recent | manual`` on a model: who moves
    #: ``@champion`` (``contract/lifecycle.py``).
    promote: PromotionPolicy | None = None
    #: Where ``promote`` is written (``sqlml check``'s project-wide lifecycle warnings).
    promote_span: Span | None = field(default=None, compare=False)
    drift: Drift | None = None

    @property
    def automated(self) -> bool:
        return bool(self.schedule or self.automation or self.on_new_model)


NO_DIRECTIVES = Directives()


def resolve(
    file_directives: Sequence[Directive],
    statement_directives: Sequence[Directive],
    kind: ObjectKind,
    uses_models: bool,
    report: Report,
) -> Directives:
    """Check one asset's directives and type them; the statement's own win over the file's
    (a file-wide owner, a statement's schedule)."""
    if not file_directives and not statement_directives:
        return NO_DIRECTIVES
    by_key: dict[str, Directive] = {}
    for directive in (*file_directives, *statement_directives):
        by_key[_normal_key(directive.key)] = directive
    values: dict[str, object] = {}
    tags: dict[str, str] = {}
    for key, directive in by_key.items():
        if key.startswith("tags.") or key.startswith("tag."):
            name = directive.key.split(".", 1)[1]
            tag = _tag(name, directive, report)
            if tag is not None:
                tags[name] = tag
            continue
        checker = _CHECKERS.get(key)
        if checker is None:
            close = difflib.get_close_matches(key, list(_CHECKERS), n=1)
            report(
                codes.BAD_DIRECTIVE,
                f"unknown directive '{directive.key}'",
                directive.span,
                (f"did you mean '{close[0]}'? " if close else "")
                + "directives are: "
                + ", ".join(KEYS),
            )
            continue
        value = checker(directive, kind, uses_models, report)
        if value is not None:
            values[key] = value
    partition = values.get("partition_by")
    if "partition_start" in values and "partition_by" not in by_key:  # not: written badly
        _bad(report, by_key["partition_start"], "partition_start needs partition_by")
    if isinstance(partition, tuple):
        grain, column = partition
        start = values.get("partition_start")
        if start is None and "partition_start" in by_key:
            partition = None  # written badly: already reported
        elif start is None:
            report(
                codes.BAD_DIRECTIVE,
                "partition_by needs partition_start: the date of the first partition",
                by_key["partition_by"].span,
                'add partition_start = "2026-01-01" (or your first day of data)',
            )
            partition = None
        else:
            partition = Partitioning(
                grain=grain, column=column, start=str(start), span=by_key["partition_by"].span
            )
    if "timezone" in values and "schedule" not in values and "partition_by" not in values:
        _bad(report, by_key["timezone"], "timezone applies to schedule and partition_by")
    owners = values.get("owners", values.get("owner", ()))
    promote = values.get("promote")
    return Directives(
        schedule=_str_or_none(values.get("schedule")),
        timezone=str(values.get("timezone", "UTC")),
        automation=_str_or_none(values.get("automation")),
        on_new_model=_str_or_none(values.get("on_new_model")),
        freshness=values.get("freshness")
        if isinstance(values.get("freshness"), timedelta)
        else None,  # type: ignore[arg-type]
        partition=partition if isinstance(partition, Partitioning) else None,
        owners=tuple(owners) if isinstance(owners, tuple) else (),
        tags=tuple(sorted(tags.items())),
        group=_str_or_none(values.get("group")),
        promote=promote if isinstance(promote, PromotionPolicy) else None,
        promote_span=by_key["promote"].span if isinstance(promote, PromotionPolicy) else None,
        drift=values.get("drift") if isinstance(values.get("drift"), Drift) else None,  # type: ignore[arg-type]
    )


def _normal_key(key: str) -> str:
    head, _, rest = key.partition(".")
    return head.lower() + ("." + rest if rest else "")


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _bad(report: Report, directive: Directive, message: str, hint: str | None = None) -> None:
    report(codes.BAD_DIRECTIVE, message, directive.span, hint)


# -- one checker per key ------------------------------------------------------------------


def _schedule(d: Directive, kind: ObjectKind, uses_models: bool, report: Report) -> object:
    if not isinstance(d.value, str) or not is_valid_cron(d.value):
        _bad(
            report,
            d,
            f"invalid cron string {d.value!r}",
            'five fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * *" '
            '(03:00 daily) or "@daily"',
        )
        return None
    return d.value


def _timezone(d: Directive, kind: ObjectKind, uses_models: bool, report: Report) -> object:
    if not isinstance(d.value, str) or not _known_timezone(d.value):
        _bad(report, d, f"unknown time zone {d.value!r}", 'an IANA name such as "Europe/Berlin"')
        return None
    return d.value


def _automation(d: Directive, kind: ObjectKind, uses_models: bool, report: Report) -> object:
    return _choice(d, ("eager", "on_change", "on_missing"), report)


def _on_new_model(d: Directive, kind: ObjectKind, uses_models: bool, report: Report) -> object:
    if not uses_models and kind not in _MODEL_USERS:
        _bad(
            report,
            d,
            "on_new_model applies to statements that use a model",
            "put it above a TO PREDICT / TO EVALUATE / TO EXPLAIN, or a query calling "
            "ML_PREDICT; for other assets write automation = eager",
        )
        return None
    return _choice(d, ("eager",), report)


def _promote(d: Directive, kind: ObjectKind, uses_models: bool, report: Report) -> object:
    """``best_score(metric)``, ``most_recent`` or ``manual`` on a statement that makes a
    model: SQLML151 for anything else, SQLML152 for a metric nothing records."""
    usage = "write promote = best_score(<metric>), most_recent or manual"
    if kind is not ObjectKind.MODEL:
        report(
            codes.BAD_PROMOTION,
            "promote applies to statements that make a model",
            d.span,
            f"put it above the model's TO TRAIN (or CREATE MODEL); {usage}",
        )
        return None
    value = d.value
    if isinstance(value, str) and value.lower() in POLICIES and value.lower() != BEST_SCORE:
        return PromotionPolicy(value.lower())
    if isinstance(value, DirectiveCall) and value.function.lower() == BEST_SCORE:
        if len(value.args) != 1 or not isinstance(value.args[0], str):
            report(
                codes.BAD_PROMOTION,
                f"best_score takes one metric name, found {value}",
                d.span,
                "write promote = best_score(accuracy) (or auc, r2, rmse, val_loss, …)",
            )
            return None
        metric = value.args[0].lower()
        if metric_direction(metric) is None:
            close = difflib.get_close_matches(metric, known_metrics(), n=1)
            report(
                codes.UNKNOWN_PROMOTION_METRIC,
                f"unknown metric '{value.args[0]}' in best_score",
                d.span,
                (f"did you mean '{close[0]}'? " if close else "")
                + "best_score compares a metric a training or an evaluation records: "
                + ", ".join(known_metrics())
                + " (a val_ prefix for a validation split's)",
            )
            return None
        return PromotionPolicy(BEST_SCORE, metric)
    shown = str(value)
    close = difflib.get_close_matches(shown.split("(")[0].lower(), POLICIES, n=1, cutoff=0.5)
    report(
        codes.BAD_PROMOTION,
        f"unknown promotion policy {shown!r}"
        if not (isinstance(value, str) and value.lower() == BEST_SCORE)
        else "best_score needs the metric it compares",
        d.span,
        (f"did you mean '{close[0]}'? " if close and close[0] != shown.lower() else "") + usage,
    )
    return None


def _freshness(d: Directive, kind: ObjectKind, uses_models: bool, report: Report) -> object:
    duration = parse_duration(d.value)
    if duration is None:
        _bad(
            report,
            d,
            f"invalid duration {d.value!r}",
            'a number and a unit: "90m", "26h", "7d", "2w"',
        )
    return duration


def _partition_by(d: Directive, kind: ObjectKind, uses_models: bool, report: Report) -> object:
    if kind is not ObjectKind.PREDICTION:
        _bad(
            report,
            d,
            "partition_by applies to TO PREDICT statements",
            "each period's predictions then materialize separately, with the model "
            "version current when they run",
        )
        return None
    value = d.value
    if (
        not isinstance(value, DirectiveCall)
        or value.function.lower() not in PARTITION_GRAINS
        or len(value.args) != 1
        or not isinstance(value.args[0], str)
    ):
        _bad(
            report,
            d,
            f"invalid partitioning {value}",
            "write " + ", ".join(f"{g}(column)" for g in PARTITION_GRAINS),
        )
        return None
    return value.function.lower(), str(value.args[0])


def _partition_start(d: Directive, kind: ObjectKind, uses_models: bool, report: Report) -> object:
    try:
        return date.fromisoformat(str(d.value)).isoformat()
    except ValueError:
        _bad(report, d, f"invalid date {d.value!r}", 'write an ISO date such as "2026-01-01"')
        return None


def _owners(d: Directive, kind: ObjectKind, uses_models: bool, report: Report) -> object:
    owners = d.value if isinstance(d.value, list) else [d.value]
    for owner in owners:
        if not isinstance(owner, str) or not (
            _EMAIL.match(owner) or (owner.startswith("team:") and len(owner) > 5)
        ):
            _bad(
                report,
                d,
                f"invalid owner {owner!r}",
                'an e-mail address ("ml@example.com") or a team ("team:ml")',
            )
            return None
    return tuple(owners)


def _asset(d: Directive, kind: ObjectKind, uses_models: bool, report: Report) -> object:
    """``asset = <name>``: read by the TO RUN or TO EXPLAIN statement itself
    (``statements/run.py``, ``statements/explain.py``), which it names; anywhere else it
    would name nothing (SQLML141)."""
    if kind not in _NAMED_BY_DIRECTIVE or d.file_scope:
        report(
            codes.MISPLACED_ASSET_DIRECTIVE,
            "asset names the asset of one TO RUN or TO EXPLAIN without INTO"
            + (
                ", not every statement of a file"
                if d.file_scope
                else "; this statement's asset is named in its SQL"
            ),
            d.span,
            "put '-- sqlml: asset = <name>' right above a SELECT … TO RUN … CMD … or a "
            "SELECT … TO EXPLAIN … without INTO; other statements are named by INTO, "
            "CREATE TABLE or CREATE MODEL",
        )
    return None


def _group(d: Directive, kind: ObjectKind, uses_models: bool, report: Report) -> object:
    if not isinstance(d.value, str) or not re.fullmatch(r"[A-Za-z0-9_]+", d.value):
        _bad(report, d, f"invalid group name {d.value!r}", "letters, digits and underscores")
        return None
    return d.value


def _drift(d: Directive, kind: ObjectKind, uses_models: bool, report: Report) -> object:
    if kind is not ObjectKind.PREDICTION and not (kind is ObjectKind.TABLE and uses_models):
        _bad(
            report,
            d,
            "drift applies to TO PREDICT statements and tables that call ML_PREDICT",
            "it compares the rows a model scores with the data the model was trained on",
        )
        return None
    usage = "write warn(psi > 0.2) or block(psi > 0.25) (or warn/block: psi > 0.2)"
    value = d.value
    if isinstance(value, str) and value.lower() in DRIFT_ACTIONS:
        measure, op, threshold = DEFAULT_DRIFT
        return Drift(value.lower(), measure, op, threshold, d.span)
    if (
        not isinstance(value, DirectiveCall)
        or value.function.lower() not in DRIFT_ACTIONS
        or len(value.args) != 1
        or not isinstance(value.args[0], DirectiveComparison)
    ):
        _bad(report, d, f"invalid drift check {value}", usage)
        return None
    (comparison,) = value.args
    if comparison.name.lower() not in DRIFT_MEASURES:
        close = difflib.get_close_matches(comparison.name.lower(), DRIFT_MEASURES, n=1)
        _bad(
            report,
            d,
            f"unknown drift measure '{comparison.name}'",
            (f"did you mean '{close[0]}'? " if close else "")
            + "measures: psi (population stability index: numeric features by the training "
            "quantiles, categorical by category)",
        )
        return None
    bound = comparison.value
    if isinstance(bound, bool) or not isinstance(bound, (int, float)) or bound < 0:
        _bad(report, d, f"the drift threshold must be a number ≥ 0, not {bound!r}", usage)
        return None
    return Drift(
        value.function.lower(), comparison.name.lower(), comparison.op, float(bound), d.span
    )


def _tag(name: str, d: Directive, report: Report) -> str | None:
    value = d.value
    if not _TAG_KEY.match(name):
        _bad(report, d, f"invalid tag name {name!r}", "letters, digits, '_', '-', '.', '/'")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        _bad(report, d, f"invalid tag value {value!r}", "a string or a number")
        return None
    text = str(value)
    if len(text) > 63 or not re.fullmatch(r"[A-Za-z0-9_.\-]*", text):
        _bad(
            report,
            d,
            f"invalid tag value {text!r}",
            "Dagster allows at most 63 characters: letters, digits, '_', '-', '.'",
        )
        return None
    return text


def _choice(d: Directive, choices: Sequence[str], report: Report) -> object:
    if isinstance(d.value, str) and d.value.lower() in choices:
        return d.value.lower()
    _bad(report, d, f"invalid value {d.value!r} for {d.key}", "one of: " + ", ".join(choices))
    return None


_CHECKERS: dict[str, Callable[[Directive, ObjectKind, bool, Report], object]] = {
    "schedule": _schedule,
    "timezone": _timezone,
    "automation": _automation,
    "on_new_model": _on_new_model,
    "freshness": _freshness,
    "partition_by": _partition_by,
    "partition_start": _partition_start,
    "owner": _owners,
    "owners": _owners,
    "group": _group,
    "promote": _promote,
    "drift": _drift,
    "asset": _asset,
}


# -- values -------------------------------------------------------------------------------


def parse_duration(value: object) -> timedelta | None:
    """``"26h"`` → 26 hours; ``None`` for anything else."""
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if match is None:
        return None
    amount, unit = float(match.group(1)), _DURATION_UNITS[match.group(2).lower()]
    duration = timedelta(**{unit: amount})
    return duration if duration > timedelta(0) else None


@cache
def _known_timezone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
