"""The orchestrator's end of a scoring worker (``runtime/score_worker.py``): a PyTorch or
Keras version that ``ML_PREDICT`` calls, scored in a process of its own.

One :class:`ScoringWorker` per version per materialization, started when its SQL function
is first called (a query that scores no row starts nothing), fed one Arrow batch at a time
and answering one. It ends with the materialization (:meth:`ScoringWorker.close`, from
``ModelFunctions``' ``with`` block): end of input asks it to leave, and a worker that does
not, or one that failed, is killed with its process group — a run cancelled or failed
leaves no process behind. A worker's failure is kept as one line (``failure``), which the
``with`` block turns into the step's ``dg.Failure``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from ..contract.layout import STEP_MODEL_STORE_ENV
from ..contract.model_packages import ModelPackages
from ..runtime.score_worker import (
    BATCH,
    ERROR,
    READY,
    SPEC,
    WORKER_MODULE,
    WorkerClosed,
    batch_bytes,
    batch_of,
    read_frame,
    write_frame,
)
from ..runtime.scoring import version_spec
from ..store import ModelVersion

#: How long a worker asked to leave (end of input) gets before it is killed.
CLOSE_SECONDS = 10.0


class ScoringFailed(Exception):
    """A scoring worker could not load its version or score a batch: ``str()`` says why
    in one line (the worker's own message)."""


@dataclass(frozen=True)
class WorkerSetup:
    """How a scoring worker starts: the interpreter, and what its environment adds to this
    process's — what a local predict step gets (``AssetStep.launch``): the stores'
    options, the allowed model packages, the model store it may load from, and the
    project's ``models/`` folder first on ``PYTHONPATH``."""

    python: str = field(default_factory=lambda: sys.executable)
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def local_step(
        cls,
        *,
        packages: ModelPackages | None = None,
        store_env: Mapping[str, str] | None = None,
        model_store: str | None = None,
        models_dir: Path | None = None,
        python: str = "",
        extra_env: Mapping[str, str] | None = None,
        pythonpath: tuple[str, ...] = (),
    ) -> WorkerSetup:
        env = {**(extra_env or {}), **(store_env or {})}
        if packages is not None and (packages.project or packages.allowed):
            env.update(packages.step_env())
        if model_store:
            env[STEP_MODEL_STORE_ENV] = model_store
        paths = [
            *([str(models_dir)] if models_dir is not None else []),
            *pythonpath,
            os.environ.get("PYTHONPATH", ""),
        ]
        if any(paths):
            env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        return cls(python=python or sys.executable, env=env)


class ScoringWorker:
    """One version's worker process; :meth:`score` is safe to call from several threads
    (one batch at a time: the pipe is a conversation)."""

    def __init__(
        self, version: ModelVersion, setup: WorkerSetup, *, probabilities: bool = False
    ) -> None:
        self.version = version
        self.setup = setup
        self.probabilities = probabilities
        self.failure: str | None = None
        self.classes: list[Any] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        return self.version.ref

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def score(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The worker's answer for ``batch`` (a ``prediction`` column, and ``probabilities``
        when asked for); :class:`ScoringFailed` once the worker has failed."""
        with self._lock:
            if self.failure is not None:
                raise ScoringFailed(self.failure)
            try:
                if self._process is None:
                    self._start()
                process = self._process
                assert process is not None and process.stdin and process.stdout
                write_frame(process.stdin, BATCH, batch_bytes(batch))
                return self._answer(process.stdout, BATCH, batch_of)
            except (WorkerClosed, BrokenPipeError, OSError):
                self._fail(self._exit_reason())
            raise ScoringFailed(self.failure or "")

    def _start(self) -> None:
        spec = version_spec(
            self.version, f"ml_predict/{self.version.ref}", self.version.manifest.features
        )
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._process = subprocess.Popen(
            [self.setup.python, "-m", WORKER_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**os.environ, **self.setup.env},
            start_new_session=True,  # the worker and what it starts: one group to stop
        )
        assert self._process.stdin and self._process.stdout
        header = {"spec": json.loads(spec.to_json()), "probabilities": self.probabilities}
        write_frame(self._process.stdin, SPEC, json.dumps(header).encode())
        ready = self._answer(self._process.stdout, READY, json.loads)
        self.classes = ready.get("classes")

    def _answer(self, stdout: IO[bytes], expected: bytes, read: Any) -> Any:
        kind, payload = read_frame(stdout)
        if kind == ERROR:
            self._fail(payload.decode("utf-8", "replace"))
            raise ScoringFailed(self.failure)
        if kind != expected:
            self._fail(f"the scoring worker answered {kind!r} where {expected!r} was due")
            raise ScoringFailed(self.failure)
        return read(payload)

    def _fail(self, reason: str) -> None:
        if self.failure is None:
            self.failure = f"{self.label}: {reason}"
        self._stop()

    def _exit_reason(self) -> str:
        """Why a worker went away without saying so: its status and last stderr line."""
        process = self._process
        status = process.poll() if process is not None else None
        if process is not None and status is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                status = process.wait(timeout=CLOSE_SECONDS)
        last = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            lines = [
                ln.strip() for ln in self._stderr.read().decode("utf-8", "replace").splitlines()
            ]
            last = next((ln for ln in reversed(lines) if ln), "")
        return f"the scoring worker exited with status {status}" + (f": {last}" if last else "")

    def close(self, *, kill: bool = False) -> None:
        """End the worker: end of input asks it to leave; killed if it does not in time,
        or at once with ``kill`` (the step failed or was cancelled)."""
        process = self._process
        if process is not None and process.poll() is None and not kill:
            with contextlib.suppress(OSError):
                assert process.stdin is not None
                process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=CLOSE_SECONDS)
        self._stop()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _stop(self) -> None:
        """Kill the worker's process group (what it started too) and reap it."""
        process = self._process
        if process is None:
            return
        if process.returncode is None:  # not reaped yet: the group id is still its own
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=CLOSE_SECONDS)
        for pipe in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()
