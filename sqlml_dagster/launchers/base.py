"""The Launcher seam: how the orchestrator runs one StepSpec, wherever it runs.

Every launcher runs the same command — ``python -m sqlml_dagster.runtime SPEC_URI`` — in
some process (a local subprocess, a Kubernetes Job's pod), talks to it through Dagster
Pipes, and hands back a :class:`LaunchResult`. Which launcher runs a project is a resource
setting, never a change to its SQL; no caller names a concrete launcher class.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import dagster as dg
import fsspec

from ..contract import ResultError, StepResult, StepSpec, error_uri, is_step_result, result_uri
from ..contract import result_from_json as _result_from_json
from ..contract.durations import DurationError, parse_duration

#: The step entrypoint every launcher runs.
RUNTIME_MODULE = "sqlml_dagster.runtime"


@dataclass(frozen=True)
class LaunchResult:
    """What a launched step reported, and where it ran."""

    result: StepResult
    #: The materialization metadata the step reported (``metric/*``, row counts, …).
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Where it ran: ``local`` or ``job/<namespace>/<name>``.
    launched_as: str = "local"
    #: The image by digest, when the launcher ran one (Kubernetes reports it).
    image_digest: str | None = None


class StepFailed(dg.Failure):
    """A step ended without a result; the description says why in the user's terms."""


def max_runtime(spec: StepSpec) -> int | None:
    """``train.max_runtime`` in seconds — a Job's ``activeDeadlineSeconds``, a local step's
    timeout — or ``None`` when the statement does not write it."""
    written = (spec.params.get("train") or {}).get("max_runtime")
    if written is None:
        return None
    try:
        return parse_duration(written)
    except DurationError as e:
        raise StepFailed(
            description=f"{spec.kind} step for '{spec.model_name}': train.max_runtime: "
            f"{e} ({e.hint}; `sqlml check` reports it as SQLML411)"
        ) from None


@runtime_checkable
class Launcher(Protocol):
    """Runs one step. ``KIND`` names it in settings (``SQLML_LAUNCHER``, ``kind:`` in
    defs.yaml) and to the translator (a ``kubernetes`` kind on step-running assets)."""

    KIND: ClassVar[str]

    @property
    def shares_filesystem(self) -> bool:
        """Whether the step sees the orchestrator's files: then the project's ``models/``
        folder goes on its ``PYTHONPATH`` (in a cluster, the image holds the code)."""
        ...

    def launch(
        self,
        context: dg.AssetExecutionContext,
        spec: StepSpec,
        spec_uri: str,
        env: Mapping[str, str] | None = None,
    ) -> LaunchResult:
        """Run the step; ``env`` adds variables the step needs (storage settings)."""
        ...


def result_of(invocation: dg.PipesClientCompletedInvocation, spec_uri: str) -> LaunchResult:
    """What a finished step reported: its typed result (:func:`step_result`) and the
    materialization metadata of its Pipes messages."""
    result = step_result(spec_uri, invocation.get_custom_messages())
    # A step that ran for checks alone (quality gates without their evaluation table)
    # has no asset in scope and reports no materialization; nor does one whose messages
    # were lost with a rotated log.
    materialized = [
        r
        for r in invocation.get_results(implicit_materializations=False)
        if isinstance(r, dg.MaterializeResult)
    ]
    metadata = dict(invocation.get_materialize_result().metadata or {}) if materialized else {}
    return LaunchResult(result=result, metadata=metadata)


def step_result(spec_uri: str, messages: Sequence[Any]) -> StepResult:
    """The step's typed result: ``result.json`` beside its spec, the source of truth — a
    pod's log, which carries the Pipes messages, can be rotated or cut before it is read —
    else the last result among its Pipes ``messages`` (a step image older than the file)."""
    raw = _result_file(spec_uri)
    if raw is None:
        reported = [m for m in messages if is_step_result(m)]
        if not reported:
            raise StepFailed(description="the step finished without reporting a result")
        raw = reported[-1]
    try:
        return _result_from_json(raw)
    except ResultError as e:
        raise StepFailed(description=str(e)) from None


def _result_file(spec_uri: str) -> Mapping[str, Any] | None:
    """The result file's content; None when there is none (an older image) or it does not
    read as a result (never expected: the runtime moves a whole file into place)."""
    try:
        with fsspec.open(result_uri(spec_uri), "r", encoding="utf-8") as f:
            raw = json.load(f)
    except (FileNotFoundError, ValueError, OSError):
        return None
    return raw if is_step_result(raw) else None


def failure_reason(spec: StepSpec, spec_uri: str, error: Exception) -> str:
    """The user-facing reason a step wrote beside its spec, else the launcher's error."""
    reason, code = step_error(spec_uri)
    return f"{code_prefix(code)}{spec.kind} step for '{spec.model_name}' failed: {reason or error}"


def step_error(spec_uri: str) -> tuple[str | None, str]:
    """The runtime's one-line reason (``error.json`` beside the spec) and the diagnostic
    code it wrote with it ('' for none), when it wrote one."""
    try:
        with fsspec.open(error_uri(spec_uri), "r", encoding="utf-8") as f:
            written = json.load(f)
        return str(written.get("message") or "") or None, str(written.get("code") or "")
    except (OSError, ValueError, AttributeError):
        return None, ""


def code_prefix(code: str) -> str:
    """``SQLML525: `` for a failure with a code of its own (a TO RUN program's, an
    optimization's): it leads the line, as every SQLML5xx line does (docs/diagnostics.md)."""
    return f"{code}: " if code.startswith("SQLML5") and code[5:].isdigit() else ""
