"""``sqlml serve M[@V]``: one model version behind HTTP, for services that score rows one
request at a time.

An ASGI app (Starlette, served by uvicorn) with three routes:

- ``POST /predict`` — body ``{"rows": [{column: value, …}, …]}``, answer
  ``{"model": …, "version": …, "predictions": […]}``, one prediction per row: the values
  ``TO PREDICT`` writes for those rows, because the same code scores them — the version
  is loaded by its flavor as the runtime's :class:`~.runtime.scoring.Predictor` and the
  rows become the Arrow columns it reads, typed as the version's signature says
  (``runtime.scoring.rows_table``). A row that lacks a feature or has a value of the
  wrong type is a ``422`` naming the row and the field.
- ``GET /healthz`` — ``200`` while a version is loaded.
- ``GET /model`` — the version served, its features and types, task, classes, metrics.

**Reload.** A reference that can move (``M`` / ``M@latest``, an alias) is resolved again
every ``poll_seconds`` through :func:`~.store.references.resolve_reference` — the one
function that says which version a reference names — and a new version is loaded beside
the old one and swapped in whole; requests in flight finish on the version they started
with. A failing poll (the store unreachable, a damaged version) keeps the version served
and is logged. ``M@7`` names one version forever and is not polled.

No Dagster here: a serving image needs the ``serve`` extra, the store's filesystem and
the model's framework.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .contract.model_packages import ModelPackages
from .runtime import StepError
from .runtime.scoring import (
    Predictor,
    RowError,
    load_predictor,
    plain_values,
    rows_table,
    version_spec,
)
from .store import Gate, ModelStore, ModelVersion
from .store.models import now_iso
from .store.references import ModelReference, parse_reference, resolve_reference

__all__ = [
    "DEFAULT_POLL_SECONDS",
    "Loaded",
    "ServedModel",
    "allow_project_models",
    "create_app",
    "serve",
]

#: How often a moving reference is resolved again.
DEFAULT_POLL_SECONDS = 10.0

log = logging.getLogger("sqlml.serve")


class ServeError(Exception):
    """A version that cannot be served (no features named, a flavor that cannot load)."""


@dataclass(frozen=True)
class Loaded:
    """One loaded version: what a request is scored with, from start to end."""

    version: ModelVersion
    predictor: Predictor
    #: The features a row must have, with the Arrow type each was trained with.
    fields: tuple[tuple[str, str], ...]
    signature: dict[str, Any]
    loaded_at: str

    def describe(self, reference: ModelReference) -> dict[str, Any]:
        """``GET /model``: what is served and what a row must hold."""
        m = self.version.manifest
        return {
            "model": m.model,
            "version": m.version,
            "reference": str(reference),
            "flavor": m.flavor,
            "model_reference": m.model_reference,
            "task": self.signature.get("task"),
            "classes": self.signature.get("classes"),
            "label": m.label,
            "features": [{"name": n, "type": t} for n, t in self.fields],
            "metrics": m.metrics,
            "created_at": m.created_at,
            "loaded_at": self.loaded_at,
        }


def load_version(version: ModelVersion) -> Loaded:
    """Load ``version`` as the runtime does for a predict step (sha256s checked first)."""
    m = version.manifest
    signature = version.signature
    declared = [f for f in signature.get("features") or [] if isinstance(f, dict)]
    fields = tuple((str(f["name"]), str(f.get("type", "double"))) for f in declared)
    if not fields and m.features:
        fields = tuple((name, "double") for name in m.features)
    if not fields:
        raise ServeError(
            f"{version.ref} names no features (a model registered without feature names): "
            "a request's rows could not be matched to its inputs"
        )
    spec = version_spec(version, f"serve/{version.ref}", [name for name, _ in fields])
    try:
        predictor = load_predictor(spec)
    except StepError as e:
        raise ServeError(f"cannot load {version.ref}: {e}") from None
    return Loaded(version, predictor, fields, signature, now_iso())


def allow_project_models(models_dir: Path | None, allowed: Sequence[str] = ()) -> ModelPackages:
    """Let this process load versions of the project's own model classes, as a local step
    may: the ``models/`` folder's packages (and the operator's ``allowed``) become
    ``$SQLML_ALLOWED_MODEL_PACKAGES`` and the folder goes first on ``sys.path``. Only the
    operator who starts the server decides this (its ``-m``/``--models``), never a version:
    a manifest naming another package is still refused when it loads."""
    from .contract.model_packages import allowed_model_packages_from_env, project_packages

    packages = ModelPackages(
        project_packages(models_dir),
        tuple(dict.fromkeys([*allowed, *allowed_model_packages_from_env(os.environ)])),
    )
    os.environ.update(packages.step_env())
    if models_dir is not None and str(models_dir) not in sys.path:
        sys.path.insert(0, str(models_dir))
    return packages


class ServedModel:
    """The reference a server serves and the version loaded for it now."""

    def __init__(
        self, store: ModelStore, reference: ModelReference | str, gates: Sequence[Gate] = ()
    ) -> None:
        self.store = store
        self.reference = parse_reference(reference) if isinstance(reference, str) else reference
        self.gates = tuple(gates)
        self._lock = threading.Lock()
        self._current = load_version(self.resolve())

    def resolve(self) -> ModelVersion:
        return resolve_reference(self.store, self.reference, gates=self.gates)

    @property
    def current(self) -> Loaded:
        return self._current

    def refresh(self) -> bool:
        """Resolve the reference again; load and swap in the version it names now when
        that is another one. Whether it swapped."""
        with self._lock:  # one reload at a time; readers never wait
            version = self.resolve()
            if version.version == self._current.version.version:
                return False
            loaded = load_version(version)
            previous, self._current = self._current.version.ref, loaded
        log.warning(f"sqlml serve: {self.reference} now resolves to {version.ref} (was {previous})")
        return True


def create_app(served: ServedModel, poll_seconds: float = DEFAULT_POLL_SECONDS) -> Any:
    """The Starlette app serving ``served``; polls for a new version while it runs when
    the reference moves."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def problem(status: int, message: str, **where: Any) -> JSONResponse:
        return JSONResponse({"detail": [{"msg": message, **where}]}, status_code=status)

    async def predict(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            return problem(400, f"the body is not JSON: {e}")
        if not isinstance(body, dict) or not isinstance(body.get("rows"), list):
            return problem(422, 'the body must be {"rows": [{column: value, …}, …]}', loc=["rows"])
        loaded = served.current  # this request's version, whatever a reload does
        rows = body["rows"]
        try:
            table = rows_table(rows, loaded.fields)
            predicted = (
                plain_values(await run_in_threadpool(loaded.predictor.predict, table))
                if rows
                else []
            )
        except RowError as e:
            return problem(422, str(e), loc=["rows", e.row, e.field], row=e.row, field=e.field)
        except StepError as e:
            return problem(422, str(e))
        m = loaded.version.manifest
        return JSONResponse({"model": m.model, "version": m.version, "predictions": predicted})

    async def healthz(request: Request) -> JSONResponse:
        m = served.current.version.manifest
        return JSONResponse({"status": "ok", "model": m.model, "version": m.version})

    async def model(request: Request) -> JSONResponse:
        return JSONResponse(served.current.describe(served.reference))

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        task = None
        if served.reference.moves and poll_seconds > 0:
            task = asyncio.create_task(_poll(served, poll_seconds))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return Starlette(
        routes=[
            Route("/predict", predict, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/model", model, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def _poll(served: ServedModel, seconds: float) -> None:
    from starlette.concurrency import run_in_threadpool

    while True:
        await asyncio.sleep(seconds)
        try:
            await run_in_threadpool(served.refresh)
        except Exception as e:  # keep serving what is loaded; say why the reload failed
            log.warning(f"sqlml serve: could not reload {served.reference}: {e}")


def serve(
    served: ServedModel,
    host: str = "127.0.0.1",
    port: int = 8080,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
) -> None:
    """Run the server until interrupted (uvicorn, one process; scale with replicas)."""
    import uvicorn

    uvicorn.run(
        create_app(served, poll_seconds),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sqlml_dagster.serving M[@V] --model-store URL``: what a serving pod
    runs (``sqlml compile --k8s --serve``) — no Dagster, no project: the store's recorded
    quality-gate outcomes say what ``@latest`` of a gated model is, as the catalog does
    without a project. ``sqlml serve`` is the same server for a project's checkout."""
    from .store import GateNotPassed, ModelNotFound
    from .store.models import CorruptVersion
    from .store.references import BadReference

    parser = argparse.ArgumentParser(prog="python -m sqlml_dagster.serving")
    parser.add_argument("ref", metavar="MODEL[@VERSION]")
    parser.add_argument("--model-store", default=os.environ.get("SQLML_MODEL_STORE"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--poll", type=float, default=DEFAULT_POLL_SECONDS, metavar="SECONDS")
    args = parser.parse_args(argv)
    if not args.model_store:
        print("sqlml serve: --model-store (or $SQLML_MODEL_STORE) is required", file=sys.stderr)
        return 2
    try:
        reference = parse_reference(args.ref)
        store = ModelStore(args.model_store)
        served = ServedModel(store, reference, store.recorded_gates(reference.model))
    except (BadReference, ModelNotFound, CorruptVersion, GateNotPassed, ServeError) as e:
        print(f"sqlml serve: {e}", file=sys.stderr)
        return 1
    print(
        f"sqlml serve: serving {served.current.version.ref} ({reference}) on "
        f"http://{args.host}:{args.port}",
        file=sys.stderr,
        flush=True,
    )
    serve(served, host=args.host, port=args.port, poll_seconds=args.poll)
    return 0


if __name__ == "__main__":
    sys.exit(main())
