"""The code inside a step: ``python -m sqlml_dagster.runtime SPEC_URI``.

The same entrypoint runs as a local subprocess (the embedded default) and as the command
of a Kubernetes Job, so the default path exercises the cluster path. It talks to Dagster
only through ``dagster_pipes`` and never imports ``dagster``, which keeps step images lean.
Run by hand (no Dagster around it), it logs to stderr and prints its result as JSON.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from collections.abc import Mapping
from typing import Any, Protocol

import fsspec

from ..contract import (
    AUTO,
    FLAVORS,
    KERAS,
    SUCCESS_EXIT_CODE,
    USER_ERROR_EXIT_CODE,
    StepResult,
)
from ..contract.layout import STEP_MODEL_STORE_ENV, base_version_problem, version_uri_problem
from ..contract.spec import SpecError, StepSpec, error_uri, result_uri
from .quiet import import_quietly, preload_tensorflow, quiet_framework_env, quiet_step

__all__ = ["Reporter", "StepError", "StepSpec", "main", "run_step", "write_result"]


class StepError(Exception):
    """A problem the user can fix (bad parameter, wrong column type): reported without a
    traceback. ``code`` is the diagnostic code of a failure that has its own
    (docs/diagnostics.md), written beside the reason; None for SQLML501's."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


#: The steps that run no model, by kind: the runtime module whose ``run`` does the step.
PROGRAM_STEPS = {"run": "program", "optimize": "optimize"}


class Reporter(Protocol):
    """Where a step's logs, metrics and result go."""

    def log(self, message: str) -> None: ...

    def result(self, metadata: Mapping[str, Any], result: StepResult) -> None: ...


class _PipesReporter:
    """Reports through Dagster Pipes: logs to the step's event log, result as messages."""

    def __init__(self, pipes: Any):
        self.pipes = pipes

    def log(self, message: str) -> None:
        self.pipes.log.info(message)

    def result(self, metadata: Mapping[str, Any], result: StepResult) -> None:
        self.pipes.report_custom_message(result.to_json())
        # Not a checks-only step, and one asset: a step writing several (TO RUN … INTO a,
        # b) leaves each asset's materialization to the orchestrator, which loads them.
        if self.pipes.is_asset_step and len(self.pipes.asset_keys or ()) == 1:
            self.pipes.report_asset_materialization(metadata=dict(metadata))


class _ConsoleReporter:
    """For running a spec by hand: logs to stderr, the result as JSON on stdout."""

    def log(self, message: str) -> None:
        print(f"[sqlml] {message}", file=sys.stderr, flush=True)

    def result(self, metadata: Mapping[str, Any], result: StepResult) -> None:
        print(json.dumps({"metadata": metadata, "result": result.to_json()}, default=str, indent=2))


class _ResultFileReporter:
    """Writes the step's result beside its spec before the reporter it wraps sends it.

    The file is what the launchers read: a Pipes message travels in the pod's log, which a
    kubelet may rotate before the launcher has read it. Written in the entrypoint, so every
    flavor and every reporter gets it."""

    def __init__(self, inner: Reporter, spec_uri: str):
        self.inner = inner
        self.spec_uri = spec_uri

    def log(self, message: str) -> None:
        self.inner.log(message)

    def result(self, metadata: Mapping[str, Any], result: StepResult) -> None:
        write_result(self.spec_uri, result)
        self.inner.result(metadata, result)


def write_result(spec_uri: str, result: StepResult) -> None:
    """``result.json`` beside the spec, whole or not at all: written under a temporary name
    and moved into place (a rename on a file system; an object store's upload is atomic
    anyway), so a reader never parses half a result."""
    fs, path = fsspec.core.url_to_fs(result_uri(spec_uri))
    temporary = f"{path}.{os.getpid()}.partial"
    with fs.open(temporary, "w", encoding="utf-8") as f:
        json.dump(result.to_json(), f)
    fs.mv(temporary, path)


def load_spec(uri: str) -> StepSpec:
    with fsspec.open(uri, "r", encoding="utf-8") as f:
        return StepSpec.from_json(f.read())


def run_step(spec: StepSpec, reporter: Reporter) -> None:
    """Dispatch one step to its flavor's implementation (a step that runs no model, to
    its own module: ``PROGRAM_STEPS``)."""
    if spec.kind in PROGRAM_STEPS:
        module = importlib.import_module(f"{__name__}.{PROGRAM_STEPS[spec.kind]}")
        reporter.log(f"{spec.kind} {spec.model_name} ({spec.model_reference})")
        module.run(spec, reporter)
        return
    if spec.model_uri:  # never write or load a version outside the model store
        store_root = os.environ.get(STEP_MODEL_STORE_ENV) or None
        problem = version_uri_problem(spec.model_uri, spec.model_name, store_root)
        if problem is not None:
            raise StepError(problem)
    if spec.warm_start_uri:  # a base version is loaded like a scored one: checked first
        problem = base_version_problem(
            spec.warm_start_uri, os.environ.get(STEP_MODEL_STORE_ENV) or None
        )
        if problem is not None:
            raise StepError(problem)
        from ..store.models import CorruptVersion, verify_artifacts

        try:
            verify_artifacts(spec.warm_start_uri)
        except CorruptVersion as e:
            raise StepError(str(e)) from None
    from .threads import cap_threads

    budget = cap_threads(spec)  # before any framework loads: they read it when they do
    if spec.flavor in (AUTO, KERAS):
        # Before TensorFlow or a model module is imported: tf.keras must mean the Keras 2
        # API that SQLFlow's model-zoo files are written against (see flavors/_keras_train).
        from .flavors._keras_train import use_tf_keras_for_tf_dot_keras

        use_tf_keras_for_tf_dot_keras()
    quiet_step(spec)  # before anything is imported for the step (quiet.py)
    if spec.flavor == KERAS:  # loaded now, without its banners
        preload_tensorflow()
    try:
        flavor = import_quietly(f"{__name__}.flavors.{spec.flavor}")
    except ModuleNotFoundError:
        raise StepError(
            f"no runtime for flavor '{spec.flavor}' (model {spec.model_reference}); "
            f"this version runs {', '.join(n for n in FLAVORS if n != AUTO)} models "
            f"(and {AUTO}: a class it imports)"
        ) from None
    step = getattr(flavor, spec.kind, None)
    if step is None:
        raise StepError(f"flavor '{spec.flavor}' cannot {spec.kind}")
    reporter.log(
        f"{spec.kind} {spec.model_name} ({spec.model_reference}, flavor {spec.flavor}); "
        f"CPU budget {budget} thread(s)"
    )
    # What every flavor's train and predict get without writing it: the version's training
    # statistics, and — asked for by `-- sqlml: drift` — the scored rows' drift from them.
    if spec.kind == "train" or (spec.kind == "predict" and spec.drift):
        from .drift import DriftReporter, TrainingStats

        reporter = (
            TrainingStats(reporter, spec) if spec.kind == "train" else DriftReporter(reporter, spec)
        )
    if spec.kind in ("predict", "explain"):
        from ..contract.explain import DEFAULT_PLOT_TYPE, PLOT_TYPES
        from ..contract.settings import scoring_verdict

        # a chart's own keys are judged for the chart drawn (an unknown plot type is the
        # explain step's SQLML539)
        chart = str(spec.params.get("summary", {}).get("plot_type", DEFAULT_PLOT_TYPE)).lower()
        chart = chart if chart in PLOT_TYPES else DEFAULT_PLOT_TYPE
        for namespace, values in spec.params.items():
            for key in values:
                verdict, why = scoring_verdict(f"{namespace}.{key}", chart)
                if verdict in ("ignored", "unknown"):
                    reporter.log(
                        f"warning: {namespace}.{key} is ignored here: "
                        + (why if verdict == "ignored" else f"the step never reads it; {why}")
                    )
    if spec.kind in ("predict", "evaluate", "explain"):
        # Checked here, where the artifact is loaded, so no orchestrator has to read the
        # whole model first: a damaged or altered file is never unpickled.
        from ..store.models import CorruptVersion, verify_artifacts

        try:
            verify_artifacts(spec.model_uri)
        except CorruptVersion as e:
            raise StepError(str(e)) from None
    step(spec, reporter)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python -m sqlml_dagster.runtime SPEC_URI", file=sys.stderr)
        return 2
    quiet_framework_env()  # before anything imports a framework
    from dagster_pipes import PipesEnvVarParamsLoader, open_dagster_pipes

    if not PipesEnvVarParamsLoader().is_dagster_pipes_process():
        return _run(args[0], _ConsoleReporter())
    with open_dagster_pipes() as pipes:
        return _run(args[0], _PipesReporter(pipes))


def _run(spec_uri: str, reporter: Reporter) -> int:
    try:
        run_step(load_spec(spec_uri), _ResultFileReporter(reporter, spec_uri))
    except (StepError, SpecError) as e:
        # A user-fixable problem: one clear line, no traceback, the user-error exit status
        # (a Job's podFailurePolicy fails at once on it; a crash exits 1 and may be
        # retried) — and the reason beside the spec, where the orchestrator reads it.
        reporter.log(f"step failed: {e}")
        print(f"sqlml step failed: {e}", file=sys.stderr, flush=True)
        _write_error(spec_uri, str(e), getattr(e, "code", None))
        return USER_ERROR_EXIT_CODE
    except Exception as e:
        reporter.log("step failed with an internal error:\n" + traceback.format_exc())
        _write_error(spec_uri, f"{type(e).__name__}: {e}")
        raise
    return SUCCESS_EXIT_CODE


def _write_error(spec_uri: str, message: str, code: str | None = None) -> None:
    try:
        with fsspec.open(error_uri(spec_uri), "w", encoding="utf-8") as f:
            json.dump({"message": message, **({"code": code} if code else {})}, f)
    except OSError:  # the reason still went to the log; never mask the original failure
        pass
