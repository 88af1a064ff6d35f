"""Launchers run one StepSpec with ``python -m sqlml_dagster.runtime SPEC_URI``.

``launch(context, spec, spec_uri) -> StepResult`` is the whole contract. The local
launcher runs the entrypoint as a subprocess through Dagster Pipes; the Kubernetes
launcher (a later issue) runs the very same command as a Job. Choosing one is a
resource setting, never a change to the SQL.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import dagster as dg
import fsspec
from dagster._core.errors import DagsterPipesExecutionError  # not re-exported by dagster
from dagster_pipes import PipesDefaultMessageWriter
from pydantic import Field

from ..runtime.spec import StepSpec, error_uri

RUNTIME_MODULE = "sqlml_dagster.runtime"


@dataclass(frozen=True)
class StepResult:
    """What a step reported: its result payload and the materialization metadata it sent."""

    payload: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Where it ran: ``local`` or ``job/<namespace>/<name>``.
    launched_as: str = "local"
    #: The image by digest, when the launcher ran one (Kubernetes reports it).
    image_digest: str | None = None


class StepFailed(dg.Failure):
    """A step ended without a result; the description says why in the user's terms."""


class Launcher(Protocol):
    def launch(
        self,
        context: dg.AssetExecutionContext,
        spec: StepSpec,
        spec_uri: str,
        env: Mapping[str, str] | None = None,
    ) -> StepResult:
        """Run the step; ``env`` adds variables the step needs (storage settings)."""
        ...


class LocalLauncher(dg.ConfigurableResource):
    """Runs each ML step as a local subprocess (the embedded default).

    An image named in a statement is recorded in the model's manifest but not used: the
    step runs with this interpreter and the packages installed beside it.
    """

    python: str = Field(
        default="", description="Interpreter for steps; empty means the orchestrator's own."
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment variables for steps."
    )
    pythonpath: list[str] = Field(
        default_factory=list, description="Folders prepended to PYTHONPATH (model packages)."
    )

    def launch(
        self,
        context: dg.AssetExecutionContext,
        spec: StepSpec,
        spec_uri: str,
        env: Mapping[str, str] | None = None,
    ) -> StepResult:
        env = {**self.env, **(env or {})}
        paths = [*self.pythonpath, env.get("PYTHONPATH", ""), os.environ.get("PYTHONPATH", "")]
        if any(paths):
            env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        client = dg.PipesSubprocessClient(
            env=env, forward_stdio=True, message_reader=CompleteLinesMessageReader()
        )
        command = [self.python or sys.executable, "-m", RUNTIME_MODULE, spec_uri]
        try:
            invocation = client.run(context=context, command=command)
        except DagsterPipesExecutionError as e:  # the step's process exited non-zero
            raise StepFailed(description=_failure_reason(spec, spec_uri, e)) from None
        return result_of(invocation)


class CompleteLinesMessageReader(dg.PipesMessageReader):
    """Dagster's temp-file message reader, handing on only complete lines.

    Dagster's reader tails the file with ``readline()``, which returns whatever part of a
    line is on disk; a message the step is still writing (a write crossing a page boundary)
    then fails to parse and stops the reader, and the step "finishes without a result".
    A training step's per-epoch progress makes that likely enough to have failed a CI run,
    so this reader keeps a partial line until its newline arrives.
    """

    @property
    def expected_writer_count(self) -> int:
        """One step process writes the messages. Dagster's base answers the same but is
        marked preview and read for every session: stated here, no PreviewWarning per step."""
        return 1

    @contextmanager
    def read_messages(self, handler: Any) -> Iterator[dict[str, Any]]:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "messages")
            open(path, "w", encoding="utf-8").close()
            finished = threading.Event()
            reader = threading.Thread(
                target=self._read, args=(path, handler, finished), daemon=True
            )
            reader.start()
            try:
                yield {
                    PipesDefaultMessageWriter.FILE_PATH_KEY: path,
                    PipesDefaultMessageWriter.INCLUDE_STDIO_IN_MESSAGES_KEY: False,
                }
            finally:
                finished.set()
                reader.join()

    @staticmethod
    def _read(path: str, handler: Any, finished: threading.Event) -> None:
        pending = ""
        try:
            with open(path, encoding="utf-8") as messages:
                while True:
                    text = messages.readline()
                    if text:
                        pending += text
                        if pending.endswith("\n"):
                            handler.handle_message(json.loads(pending))
                            pending = ""
                    elif finished.is_set():
                        break
                    else:
                        time.sleep(0.01)
        except Exception:
            handler.report_pipes_framework_exception(
                "CompleteLinesMessageReader reader thread", sys.exc_info()
            )
            raise

    def no_messages_debug_text(self) -> str:
        return "Attempted to read messages from a local temporary file."


def result_of(invocation: dg.PipesClientCompletedInvocation) -> StepResult:
    payloads = [m for m in invocation.get_custom_messages() if isinstance(m, dict)]
    if not payloads:
        raise StepFailed(description="the step finished without reporting a result")
    # A step that ran for checks alone (quality gates without their evaluation table)
    # has no asset in scope and reports no materialization.
    reported = [
        r
        for r in invocation.get_results(implicit_materializations=False)
        if isinstance(r, dg.MaterializeResult)
    ]
    metadata = dict(invocation.get_materialize_result().metadata or {}) if reported else {}
    return StepResult(payload=payloads[-1], metadata=metadata)


def _failure_reason(spec: StepSpec, spec_uri: str, error: Exception) -> str:
    reason = str(error)
    try:
        with fsspec.open(error_uri(spec_uri), "r", encoding="utf-8") as f:
            reason = json.load(f).get("message", reason)
    except (FileNotFoundError, ValueError, OSError):
        pass
    return f"{spec.kind} step for '{spec.model_name}' failed: {reason}"
