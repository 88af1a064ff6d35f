"""A local step's process, watched: stopped — with every process it started — when it
outlives ``train.max_runtime``, when the run is cancelled, or when the launch that waits
for it is cancelled from another thread (a search's trials, ``cancel.py``).

Why a process group: a step may start processes of its own (a distributed training's
workers, a TO RUN program); started in a session of its own, the step and all of them are
one group that one signal stops, and no worker outlives a timed-out step. Why not
Dagster's ``PipesSubprocessClient.run`` itself: it waits without a timeout and forwards
an interrupt to the step's process only, so this client waits in short slices instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster._core.errors import DagsterPipesExecutionError  # not re-exported by dagster

from .cancel import StepCancelled, cancelled

#: How often the wait looks at the clock and the cancellation (seconds).
POLL_SECONDS = 0.1
#: How long a stopped step gets to end after SIGTERM before SIGKILL.
GRACE_SECONDS = 5.0


class StepTimedOut(Exception):
    """The step ran longer than its deadline and was stopped."""


class WatchedSubprocessClient(dg.PipesSubprocessClient):
    """Dagster's subprocess Pipes client with a deadline and cancellation (see above)."""

    def __init__(self, *, deadline_seconds: float | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._deadline_seconds = deadline_seconds

    def run(  # type: ignore[override]
        self,
        *,
        context: dg.AssetExecutionContext,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        extras: Mapping[str, Any] | None = None,
        cwd: str | None = None,
    ) -> dg.PipesClientCompletedInvocation:
        with dg.open_pipes_session(
            context=context,
            context_injector=self.context_injector,
            message_reader=self.message_reader,
            extras=extras,
        ) as session:
            process = subprocess.Popen(
                list(command),
                cwd=cwd or self.cwd,
                env={
                    **os.environ,
                    **self.env,
                    **(env or {}),
                    **session.get_bootstrap_env_vars(),
                },
                start_new_session=True,  # the step and what it starts: one group
            )
            try:
                wait(process, self._deadline_seconds)
            except BaseException:  # timed out, cancelled, interrupted: nothing left running
                stop(process)
                raise
            if process.returncode != 0:
                raise DagsterPipesExecutionError(
                    f"External execution process failed with code {process.returncode}"
                )
        return dg.PipesClientCompletedInvocation(session)


def wait(process: subprocess.Popen[bytes], deadline_seconds: float | None) -> None:
    """Wait for ``process``; :class:`StepTimedOut` past the deadline,
    :class:`StepCancelled` when this launch is cancelled."""
    ends = time.monotonic() + deadline_seconds if deadline_seconds else None
    while True:
        try:
            process.wait(timeout=POLL_SECONDS)
            return
        except subprocess.TimeoutExpired:
            pass
        if cancelled():
            raise StepCancelled(description="the run was cancelled: the step was stopped")
        if ends is not None and time.monotonic() >= ends:
            raise StepTimedOut()


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the step's process group, SIGKILL after the grace period; then reap."""
    for sig, patience in ((signal.SIGTERM, GRACE_SECONDS), (signal.SIGKILL, GRACE_SECONDS)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=patience)
        except subprocess.TimeoutExpired:
            continue
        # the leader is gone; what it started may not be: the group goes too
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        return
