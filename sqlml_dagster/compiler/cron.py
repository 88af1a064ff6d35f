"""Cron strings, judged the way Dagster judges them, without importing Dagster.

A ``schedule`` directive has to fail ``sqlml check`` exactly when Dagster would refuse it
at load time, and the compiler may not import Dagster (``sqlml check`` runs in CI jobs and
images without it). So this module restates what ``dagster._utils.schedules.
is_valid_cron_string`` accepts — Dagster's vendored croniter, limited to five fields —
in plain Python; ``tests/compiler/test_cron.py`` holds the two to agreement on a table
and on generated strings.

What passes (case-insensitive; fields split at whitespace):

- exactly five fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 or
  ``JAN``-``DEC``, day of week 0-7 or ``SUN``-``SAT`` (0 and 7 are Sunday). Six or seven
  fields (seconds, years) do not: Dagster schedules to the minute.
- in a field, a comma list of ``*``, ``v``, ``a-b``, ``a-b/n``, ``*/n`` and ``a/n``
  (``a`` to the field's end), ``n >= 1``. A range with ``a > b`` wraps round the field's
  end, and ``a-a`` is the whole field (croniter's reading, kept so both agree).
- ``?`` as the whole day-of-month or day-of-week field (same as ``*``); ``L`` in day of
  month (the last day; also as a range's end, ``15-L``).
- in day of week, ``d#k`` (the k-th such day of the month, k in 1-5; ``d`` may be a named
  range, ``MON-FRI#2``) and ``Ld`` (the month's last such day). These may not be mixed
  with plain days unless the field names every day.
- ``@yearly``, ``@annually``, ``@monthly``, ``@weekly``, ``@daily``, ``@midnight`` and
  ``@hourly`` as the whole string.
- not a February whose only day is the 30th or 31st (Dagster's own rule on top).

Refused on purpose, although Dagster accepts them: croniter's ``R`` fields (``R``,
``R(0-29)``, ``R/15``), a random value each process draws anew, so the webserver and the
daemon would disagree about when the asset is due.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

#: Whole-string aliases and the five fields each stands for.
ALIASES: Mapping[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")

#: A field's values: numbers, ``"*"`` (every value) and, in day of month, ``"l"`` (last).
Value = int | str


@dataclass(frozen=True)
class _Field:
    low: int
    high: int
    names: Mapping[str, int] = field(default_factory=dict)


MINUTE, HOUR, DAY, MONTH, WEEKDAY = range(5)
_FIELDS = (
    _Field(0, 59),
    _Field(0, 23),
    _Field(1, 31),
    _Field(1, 12, {name: number for number, name in enumerate(_MONTHS, start=1)}),
    _Field(0, 6, {name: number for number, name in enumerate(_WEEKDAYS)}),
)

# ``\d`` and ``\w`` are Unicode-aware on purpose: croniter's patterns are, and ``int`` reads
# any decimal digit.
_NUMBER = re.compile(r"\d+")
_EVERY = re.compile(r"\*/(\d+)")
_RANGE = re.compile(r"([^-]+)-([^-/]+)(?:/(\d+))?")
_FROM = re.compile(r"([^-]+)/(\d+)")
_DAY_NAME = "|".join(_WEEKDAYS)
_NTH_WEEKDAY = re.compile(rf"(?:(?P<days>(?:{_DAY_NAME})-(?:{_DAY_NAME})|\w+)#|l)(?P<n>\d+)")


class _Invalid(Exception):
    """A field that croniter would refuse."""


def is_valid_cron(cron: str) -> bool:
    """Whether Dagster can schedule on ``cron`` (see the module docstring for the grammar)."""
    text = cron.lower()
    fields = ALIASES.get(text, text).split()
    if len(fields) != len(_FIELDS):
        return False
    try:
        expanded = [_expand(index, item) for index, item in enumerate(fields)]
    except _Invalid:
        return False
    (days, _), (months, _), (weekdays, nth_weekdays) = (
        expanded[DAY],
        expanded[MONTH],
        expanded[WEEKDAY],
    )
    if nth_weekdays and weekdays - nth_weekdays - {"*"} and len(weekdays) != 7:
        return False  # "MON,TUE#2": croniter cannot mix plain days with k-th days
    return not (months == {2} and days in ({30}, {31}))


def _expand(index: int, text: str) -> tuple[set[Value], set[Value]]:
    """One field's values, and those of them that are a k-th or last weekday of the month."""
    if "?" in text:
        if text != "?" or index not in (DAY, WEEKDAY):
            raise _Invalid(text)
        return {"*"}, set()
    values: set[Value] = set()
    nth: set[Value] = set()
    for part in text.split(","):
        special = _NTH_WEEKDAY.fullmatch(part) if index == WEEKDAY else None
        if special is None:
            values |= _part(index, part)
            continue
        if special["days"] is not None:
            if not 1 <= int(special["n"]) <= 5:
                raise _Invalid(part)
            days = _part(index, special["days"])
        else:  # "l5": the last Friday
            days = _part(index, special["n"])
        values |= days
        nth |= days
    return values, nth


def _part(index: int, part: str) -> set[Value]:
    """The values of one comma-separated item of a field."""
    spec = _FIELDS[index]
    if part == "*":
        return {"*"}
    if every := _EVERY.fullmatch(part):
        return _span(spec, spec.low, spec.high, int(every[1]))
    if bounded := _RANGE.fullmatch(part):
        high = "31" if index == DAY and bounded[2] == "l" else bounded[2]
        step = int(bounded[3]) if bounded[3] is not None else 1
        return _span(spec, _number(index, bounded[1]), _number(index, high), step)
    if onwards := _FROM.fullmatch(part):
        return _span(spec, _number(index, onwards[1]), spec.high, int(onwards[2]))
    if index == DAY and part == "l":
        return {"l"}
    value = _number(index, part)
    if not spec.low <= value <= spec.high:
        raise _Invalid(part)
    return {value}


def _number(index: int, text: str) -> int:
    """A number or a name of the field; day of week 7 is Sunday, as 0 is."""
    names = _FIELDS[index].names
    if _NUMBER.fullmatch(text):
        value = int(text)
    elif text in names:
        value = names[text]
    else:
        raise _Invalid(text)
    return 0 if index == WEEKDAY and value == 7 else value


def _span(spec: _Field, start: int, end: int, step: int) -> set[Value]:
    """``start-end/step`` as croniter expands it: ``start > end`` wraps round, ``a-a`` is all."""
    if max(start, end) > spec.high or step == 0:
        raise _Invalid(f"{start}-{end}/{step}")
    if start == end:
        return set(range(spec.low, spec.high + 1, step))
    if start < end:
        if start < spec.low:
            raise _Invalid(f"{start}-{end}/{step}")
        return set(range(start, end + 1, step))
    head = range(start, spec.high + 1, step)
    # croniter carries the step over the wrap only when it overshoots the end by two or more
    overshoot = head[-1] + step - spec.high
    skip = overshoot if overshoot >= 2 else 0
    return {*head, *range(spec.low + skip, end + 1, step)}
