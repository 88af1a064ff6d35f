"""Durations as a statement writes them (``WITH train.max_runtime = "6h"``).

``sqlml check`` refuses what the Kubernetes launcher could not turn into a Job's
``activeDeadlineSeconds``, and the launcher reads the same value with the same parser, so
the two never disagree on what ``"90m"`` means.
"""

from __future__ import annotations

import re

#: Units a duration may use, in seconds (Go's ``time.ParseDuration`` spelling, as kubectl
#: and the Kubernetes docs write durations, plus days).
UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)(d|h|m|s)")
#: A step stopped for running longer than its ``train.max_runtime`` (the local launcher's
#: timeout; on Kubernetes the Job's ``DeadlineExceeded``).
STEP_TIMED_OUT = "SQLML534"
_EXAMPLES = 'a number of seconds or a duration such as "6h", "90m", "1h30m", "3600s"'


class DurationError(ValueError):
    """A value that is not a positive duration; ``hint`` says what to write."""

    def __init__(self, message: str, hint: str = _EXAMPLES):
        super().__init__(message)
        self.hint = hint


def parse_duration(value: object) -> int:
    """Whole seconds (at least 1) of ``3600``, ``"3600s"``, ``"90m"``, ``"6h"``, ``"1h30m"``
    or ``"2d"``; raises :class:`DurationError` for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DurationError(f"{value!r} is not a duration")
    text = str(value).strip()
    if isinstance(value, (int, float)) or re.fullmatch(r"\d+(?:\.\d+)?", text):
        seconds = float(text)
    else:
        parts = _PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise DurationError(f"'{text}' is not a duration")
        seconds = sum(float(n) * UNITS[u] for n, u in parts)
    if seconds < 1:
        raise DurationError(f"'{text}' is shorter than a second", "a step may run at least 1s")
    return round(seconds)
