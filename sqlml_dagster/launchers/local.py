"""The local launcher: each ML step as a subprocess of the orchestrator (the default).

It runs exactly the command a Kubernetes Job runs (``python -m sqlml_dagster.runtime
SPEC_URI``) with the same StepSpec, so the embedded default exercises the cluster path
everywhere except the launch itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any, ClassVar

import dagster as dg
from dagster._core.errors import DagsterPipesExecutionError  # not re-exported by dagster
from pydantic import BaseModel, Field

from ..contract import StepSpec
from ..contract.durations import STEP_TIMED_OUT
from ..contract.threads import STEP_CPUS_ENV
from ..settings import settings_from_env
from .base import (
    RUNTIME_MODULE,
    LaunchResult,
    StepFailed,
    failure_reason,
    max_runtime,
    result_of,
)
from .local_process import StepTimedOut, WatchedSubprocessClient
from .local_steps import LocalSteps
from .pipes import CompleteLinesMessageReader


class LocalSettings(BaseModel):
    """The local launcher's settings, declared once: the resource and the ``kind: local``
    launcher of a SqlMlProject's defs.yaml both take exactly these."""

    python: str = Field(
        default="", description="Interpreter for steps; empty: the orchestrator's own."
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment variables for steps."
    )
    pythonpath: list[str] = Field(
        default_factory=list,
        description="Folders prepended to the steps' PYTHONPATH; the project's models/ "
        "folder is added anyway.",
    )


class LocalLauncher(dg.ConfigurableResource, LocalSettings):
    """Runs each ML step as a local subprocess (the embedded default).

    An image named in a statement is recorded in the model's manifest but not used: the
    step runs with this interpreter and the packages installed beside it.
    """

    KIND: ClassVar[str] = "local"

    @property
    def shares_filesystem(self) -> bool:
        return True

    def launch(
        self,
        context: dg.AssetExecutionContext,
        spec: StepSpec,
        spec_uri: str,
        env: Mapping[str, str] | None = None,
    ) -> LaunchResult:
        env = {**self.env, **(env or {})}
        paths = [*self.pythonpath, env.get("PYTHONPATH", ""), os.environ.get("PYTHONPATH", "")]
        if any(paths):
            env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        command = [self.python or sys.executable, "-m", RUNTIME_MODULE, spec_uri]
        with LocalSteps().running() as share:
            # The cores divided among the local steps running now (a caller's smaller
            # budget — a search's, for its trials — stands); the step caps its threads.
            handed = env.get(STEP_CPUS_ENV, "")
            env[STEP_CPUS_ENV] = str(min(share, int(handed)) if handed.isdigit() else share)
            deadline = max_runtime(spec)
            client = WatchedSubprocessClient(
                env=env,
                forward_stdio=True,
                message_reader=CompleteLinesMessageReader(),
                deadline_seconds=deadline,
            )
            try:
                invocation = client.run(context=context, command=command)
            except DagsterPipesExecutionError as e:  # the step's process exited non-zero
                raise StepFailed(description=failure_reason(spec, spec_uri, e)) from None
            except StepTimedOut:
                raise StepFailed(
                    description=f"{STEP_TIMED_OUT}: {spec.kind} step for '{spec.model_name}' "
                    f"ran longer than train.max_runtime = "
                    f"{spec.params['train']['max_runtime']!r} ({deadline} s): stopped, with "
                    "every process it started; raise train.max_runtime or make it faster"
                ) from None
        return result_of(invocation, spec_uri)


def from_settings(settings: Mapping[str, Any]) -> LocalLauncher:
    """The launcher from a defs.yaml's ``launcher: {kind: local, …}``."""
    return LocalLauncher(**settings)


def from_env(environ: Mapping[str, str]) -> LocalLauncher:
    """The local launcher; ``SQLML_LOCAL_PYTHON`` etc. set its settings."""
    return LocalLauncher(**settings_from_env(LocalSettings, environ, prefix="SQLML_LOCAL_"))
