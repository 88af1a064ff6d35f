"""Stopping steps that are still running, from another thread than the one waiting.

A search runs its trials in threads (``ops/trials.py``); when the run is cancelled —
Dagster terminates it, the step's process gets SIGTERM — only the main thread hears it,
and trials that keep running would hold their CPUs, GPUs or Jobs for nothing. The search
sets a :class:`threading.Event` and runs each trial inside :func:`cancellable`; every
launcher's wait asks :func:`cancelled` between two looks at its step and, when it is set,
stops it — the local process tree killed, the Kubernetes Job deleted — and raises
:class:`StepCancelled`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar

from .base import StepFailed

_EVENT: ContextVar[threading.Event | None] = ContextVar("sqlml_step_cancel", default=None)


class StepCancelled(StepFailed):
    """The step was stopped because the run that launched it was cancelled."""


@contextlib.contextmanager
def cancellable(event: threading.Event) -> Iterator[None]:
    """Launches in this block stop when ``event`` is set (in this thread's context)."""
    token = _EVENT.set(event)
    try:
        yield
    finally:
        _EVENT.reset(token)


def cancelled() -> bool:
    """Whether the step launched in this context should stop now."""
    event = _EVENT.get()
    return event is not None and event.is_set()
