"""``sqlml serve M[@V] --port 8080``: a model version behind HTTP (``serving.py``).

The store is found as the catalog commands find it (``-m MODULE``, ``--model-store``,
``$SQLML_STATE_DIR``/``./.sqlml``), and so are the project's quality gates, which decide
what ``M`` (``@latest``) means for a gated model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .catalog import _session, project_options
from .errors import CliError


def add_serve_command(commands: Any) -> None:
    """``sqlml serve`` and its options."""
    serve = commands.add_parser(
        "serve",
        help="serve a model version over HTTP: POST /predict, GET /healthz, GET /model",
    )
    serve.add_argument("ref", metavar="MODEL[@VERSION]", help="churn, churn@7 or churn@latest")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--poll",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how often a moving reference (MODEL, MODEL@latest) is resolved again "
        "(default 10; 0: never)",
    )
    serve.add_argument(
        "--models",
        type=Path,
        default=None,
        metavar="DIR",
        help="the project's model packages, for versions of its own model classes "
        "(default: the models/ folder beside -m's module, or in the working directory)",
    )
    project_options(serve, formats=False)
    serve.set_defaults(run=_serve)


def models_folder(args: argparse.Namespace) -> Path | None:
    """The folder of the project's own model packages a served version may come from:
    ``--models``, else ``models/`` beside (or above) ``-m``'s module, else in the working
    directory — where the project's steps found them."""
    import importlib.util

    if args.models is not None:
        if not args.models.is_dir():
            raise CliError(f"--models {args.models}: no such folder")
        return Path(args.models).resolve()
    candidates = [Path.cwd() / "models"]
    if args.module:
        spec = importlib.util.find_spec(args.module.split(":")[0])
        if spec is not None and spec.origin:
            here = Path(spec.origin).parent
            candidates = [here / "models", here.parent / "models", *candidates]
    return next((c.resolve() for c in candidates if c.is_dir()), None)


def _serve(args: argparse.Namespace) -> int:
    from ..serving import (
        DEFAULT_POLL_SECONDS,
        ServedModel,
        ServeError,
        allow_project_models,
        serve,
    )
    from ..store import GateNotPassed, ModelNotFound
    from ..store.models import CorruptVersion
    from ..store.references import BadReference, parse_reference

    try:
        reference = parse_reference(args.ref)
        session = _session(args)
        allow_project_models(models_folder(args))
        store = session.storage.models()
        # the project's gates; without a project, those the store has outcomes of
        gates = (
            session.gates.get(reference.model, ())
            if session.gates is not None
            else store.recorded_gates(reference.model)
        )
        served = ServedModel(store, reference, gates)
    except (
        BadReference,
        ModelNotFound,
        CorruptVersion,
        GateNotPassed,
        ServeError,
        CliError,
    ) as e:
        print(f"sqlml: {e}", file=sys.stderr)
        return 1
    version = served.current.version
    poll = DEFAULT_POLL_SECONDS if args.poll is None else args.poll
    print(
        f"sqlml: serving {version.ref} ({reference}) on http://{args.host}:{args.port}"
        + (f", resolving {reference} again every {poll:g} s" if reference.moves and poll else ""),
        file=sys.stderr,
        flush=True,
    )
    serve(served, host=args.host, port=args.port, poll_seconds=poll)
    return 0
