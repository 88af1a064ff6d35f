"""The compiler's cron check says yes exactly where Dagster's says yes.

``sqlml_dagster.compiler.cron`` restates Dagster's ``is_valid_cron_string`` so the
compiler need not import Dagster. The table below is the grammar as examples; the
agreement tests run Dagster's own function (a test may import Dagster; the compiler may
not) on every row and on a few thousand generated strings.
"""

from __future__ import annotations

import random

import pytest

from sqlml_dagster.compiler.cron import is_valid_cron

# (cron string, valid?, what the row shows)
CASES: list[tuple[str, bool, str]] = [
    # the five fields
    ("0 3 * * *", True, "03:00 every day"),
    ("* * * * *", True, "every minute"),
    ("59 23 31 12 6", True, "each field at its maximum"),
    ("0 0 1 1 0", True, "each field at its minimum"),
    ("60 * * * *", False, "minute 60"),
    ("0 24 * * *", False, "hour 24"),
    ("0 25 * * *", False, "hour 25"),
    ("0 0 0 * *", False, "day of month 0"),
    ("0 0 32 * *", False, "day of month 32"),
    ("0 0 * 0 *", False, "month 0"),
    ("0 0 * 13 *", False, "month 13"),
    ("0 0 * * 7", True, "day of week 7 is Sunday"),
    ("0 0 * * 8", False, "day of week 8"),
    ("0 0 05 * *", True, "leading zeros"),
    ("-1 * * * *", False, "negative numbers"),
    # how many fields
    ("0 3 * *", False, "four fields"),
    ("0 0 3 * * *", False, "six fields: croniter's seconds, not Dagster's"),
    ("0 0 3 * * * 2030", False, "seven fields: croniter's years"),
    ("", False, "empty"),
    ("  0\t3 * * *\n", True, "any whitespace separates and surrounds fields"),
    # lists, ranges, steps
    ("0,15,30,45 * * * *", True, "a list"),
    ("0,,30 * * * *", False, "an empty list item"),
    ("0, * * * *", False, "a trailing comma"),
    ("0 9-17 * * *", True, "a range"),
    ("0 22-2 * * *", True, "a range that wraps past midnight"),
    ("5-5 * * * *", True, "a-a is the whole field (croniter's reading)"),
    ("0 0 0-5 * *", False, "a range from day 0"),
    ("0 0 5-0 * *", True, "a wrapping range never reaches day 0"),
    ("0 9-24 * * *", False, "a range past the field's end"),
    ("0 1-2-3 * * *", False, "two dashes"),
    ("*/15 * * * *", True, "every 15 minutes"),
    ("*/0 * * * *", False, "a step of 0"),
    ("0-30/10 * * * *", True, "a range with a step"),
    ("0-30/0 * * * *", False, "a range with a step of 0"),
    ("10/20 * * * *", True, "a start with a step runs to the field's end"),
    ("60/5 * * * *", False, "a start past the field's end"),
    ("*/x * * * *", False, "a step that is not a number"),
    ("0-30/ * * * *", False, "a missing step"),
    ("/5 * * * *", False, "a step without a start"),
    ("** * * * *", False, "a doubled star"),
    # names
    ("0 0 1 JAN *", True, "a month name"),
    ("0 0 1 jan-mar *", True, "a range of month names, any case"),
    ("0 0 1 Jan-3 *", True, "a name and a number in one range"),
    ("0 0 * * MON-FRI", True, "a range of day names"),
    ("0 0 * * fri-mon", True, "a range of day names that wraps past Sunday"),
    ("0 0 * * MON/2", True, "a day name with a step"),
    ("0 0 * * monday", False, "full day names"),
    ("0 0 * MON *", False, "a day name in the month field"),
    ("0 0 * * JAN", False, "a month name in the day-of-week field"),
    ("0 MON * * *", False, "a name in a numeric field"),
    # ? and L
    ("0 0 ? * MON", True, "? as the day of month"),
    ("0 0 1 * ?", True, "? as the day of week"),
    ("? 0 * * *", False, "? in the minute field"),
    ("0 0 ?,1 * *", False, "? in a list"),
    ("0 0 L * *", True, "L: the month's last day"),
    ("0 0 15-L * *", True, "L as a range's end"),
    ("0 0 L-15 * *", False, "L as a range's start"),
    ("0 0 LW * *", False, "Quartz's LW"),
    ("0 0 15W * *", False, "Quartz's W"),
    # k-th and last weekday of the month
    ("0 0 * * 1#2", True, "the second Monday"),
    ("0 0 * * MON#1", True, "the first Monday, by name"),
    ("0 0 * * MON-FRI#2", True, "the second of each weekday, a named range"),
    ("0 0 * * 1-5#2", False, "a numeric range cannot take #"),
    ("0 0 * * 1#0", False, "#0"),
    ("0 0 * * 1#6", False, "#6"),
    ("0 0 * * L5", True, "the last Friday"),
    ("0 0 * * 5L", False, "Quartz's 5L"),
    ("0 0 * * 1,1#2", True, "a plain day may repeat a k-th day"),
    ("0 0 * * 2,1#2", False, "a plain day may not mix with a k-th day"),
    ("0 0 * * 0-6,1#2", True, "unless every day is listed"),
    ("0 0 * * *,0-6,1#2", False, "a star and all seven days is eight values to croniter"),
    ("0 0 1#2 * *", False, "# outside the day-of-week field"),
    # aliases
    ("@daily", True, "an alias"),
    ("@HOURLY", True, "aliases ignore case"),
    ("@yearly", True, "@yearly"),
    ("@annually", True, "@annually"),
    ("@monthly", True, "@monthly"),
    ("@weekly", True, "@weekly"),
    ("@midnight", True, "@midnight"),
    (" @daily", False, "an alias is the whole string, without spaces"),
    ("@every 5m", False, "not an alias"),
    ("@reboot", False, "not a schedule"),
    # Dagster's own rule
    ("0 0 30 2 *", False, "February 30 never comes"),
    ("0 0 31 FEB *", False, "February 31 never comes"),
    ("0 0 30 2-1/12 *", False, "a range that leaves only February"),
    ("0 0 29 2 *", True, "February 29 comes in leap years"),
    ("0 0 30 1,2 *", True, "January 30 comes"),
    ("0 0 L 2 *", True, "February's last day comes"),
    # Jenkins' hashed values need an id Dagster never passes
    ("H * * * *", False, "H"),
    ("every day", False, "words"),
]

# Dagster accepts these and we do not: croniter's R draws a random value in each process,
# so the webserver and the daemon would disagree about when the asset is due.
REFUSED_ON_PURPOSE = ["R * * * *", "R(0-29) * * * *", "R/15 * * * *", "0 0 * * r"]


@pytest.mark.parametrize(("cron", "valid", "why"), CASES, ids=[row[2] for row in CASES])
def test_each_cron_string_is_judged_as_the_table_says(cron: str, valid: bool, why: str) -> None:
    assert is_valid_cron(cron) is valid


@pytest.mark.parametrize(("cron", "valid", "why"), CASES, ids=[row[2] for row in CASES])
def test_dagster_judges_every_row_the_same_way(cron: str, valid: bool, why: str) -> None:
    from dagster._utils.schedules import is_valid_cron_string

    assert is_valid_cron_string(cron) is valid


@pytest.mark.parametrize("cron", REFUSED_ON_PURPOSE)
def test_random_fields_are_refused_although_dagster_takes_them(cron: str) -> None:
    from dagster._utils.schedules import is_valid_cron_string

    assert is_valid_cron_string(cron) is True
    assert is_valid_cron(cron) is False


# -- generated strings --------------------------------------------------------------------

_BOUNDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
_NAMES = [[], [], ["l"], ["jan", "feb", "dec"], ["sun", "mon", "fri", "sat"]]
_STEPS = [0, 1, 2, 5, 7, 12, 31, 60]


def _value(rng: random.Random, index: int) -> str:
    low, high = _BOUNDS[index]
    roll = rng.random()
    if roll < 0.15 and _NAMES[index]:
        return rng.choice(_NAMES[index])
    if roll < 0.3:  # at and just past the edges, and February's impossible days
        return str(rng.choice([max(low - 1, 0), high, high + 1, 2, 30, 31]))
    return str(rng.randint(low, high))


def _item(rng: random.Random, index: int) -> str:
    roll = rng.random()
    item = (
        _value(rng, index)
        if roll < 0.4
        else f"{_value(rng, index)}-{_value(rng, index)}"
        if roll < 0.8
        else "*"
    )
    if rng.random() < 0.35:
        item += f"/{rng.choice(_STEPS)}"
    if index == 4 and (roll := rng.random()) < 0.3:
        item = f"{item}#{rng.randint(0, 6)}" if roll < 0.2 else f"l{_value(rng, index)}"
    return item


def _cron(rng: random.Random) -> str:
    fields = [
        rng.choice(["*", "?"])
        if rng.random() < 0.3
        else ",".join(_item(rng, index) for _ in range(rng.choice([1, 1, 2, 3])))
        for index in range(5)
    ]
    if rng.random() < 0.05:  # croniter's seconds and years fields
        fields.append("*")
    cron = " ".join(fields)
    return cron.upper() if rng.random() < 0.5 else cron


@pytest.mark.slow
def test_dagster_agrees_on_generated_strings() -> None:
    from dagster._utils.schedules import is_valid_cron_string

    rng = random.Random(14)
    crons = [_cron(rng) for _ in range(4000)]
    disagreements = [
        (cron, dagster)
        for cron in crons
        if (dagster := is_valid_cron_string(cron)) is not is_valid_cron(cron)
    ]
    assert disagreements == []
    valid = sum(is_valid_cron(cron) for cron in crons)
    assert 0.15 * len(crons) < valid < 0.85 * len(crons), "the generator tests both answers"
