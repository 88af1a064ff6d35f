"""The catalog commands: ``sqlml models list/show/diff/promote/alias/aliases/gc``, ``sqlml data gc``,
``sqlml run-sql`` and the ``sqlml sql`` shell.

Each opens a session on the project's stores and warehouse — from ``-m MODULE``'s
Definitions (or, with no ``-m`` inside a ``dg`` project, the project's), else
``--model-store``/``--data-store``, or ``$SQLML_STATE_DIR``/``./.sqlml`` — with the pins
and gates of its manifests, and prints results as tables or JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .code_location import load_definitions
from .errors import CliError


def project_options(parser: argparse.ArgumentParser, formats: bool = True) -> None:
    """The options that find a project's stores, pins and gates (``_session``)."""
    parser.add_argument(
        "-m",
        "--module",
        help="module holding the project's Definitions (default: the dg project around "
        "the working directory, unless --model-store/--data-store/--manifest say where)",
    )
    parser.add_argument("--attribute", default=None, help="name of the Definitions object")
    parser.add_argument("--model-store", default=None, help="model store URL (without -m)")
    parser.add_argument("--data-store", default=None, help="data store URL (without -m)")
    parser.add_argument(
        "--manifest",
        type=Path,
        action="append",
        metavar="FILE",
        help="a project manifest (sqlml compile --manifest) whose pins and gates apply "
        "(repeatable; -m finds its projects' own)",
    )
    if formats:
        parser.add_argument("--format", choices=["human", "json"], default="human")


def add_catalog_commands(commands: Any) -> None:
    """``models``, ``data``, ``run-sql`` and ``sql``, which share the options that find a
    project's stores (``project_options``)."""

    models = commands.add_parser(
        "models", help="model versions: list, show, diff, promote, alias, aliases, gc"
    )
    verbs = models.add_subparsers(dest="verb", required=True)
    listing = verbs.add_parser("list", help="every model, or the versions of one")
    listing.add_argument("model", nargs="?")
    show = verbs.add_parser("show", help="a version's manifest: MODEL, MODEL@V or MODEL@ALIAS")
    show.add_argument("ref")
    diff = verbs.add_parser("diff", help="two versions side by side: MODEL@A MODEL@B")
    diff.add_argument("a")
    diff.add_argument("b")
    promote = verbs.add_parser("promote", help="make MODEL@V what @latest resolves to")
    promote.add_argument("ref")
    alias = verbs.add_parser(
        "alias", help="point an alias at a version: MODEL@V NAME (atomic; every move is kept)"
    )
    alias.add_argument("ref", help="MODEL@V (or MODEL@OTHER_ALIAS, MODEL for @latest)")
    alias.add_argument("name", help="the alias, e.g. champion")
    alias.add_argument("--note", default="", help="why, kept with the move")
    aliases = verbs.add_parser("aliases", help="every move of a model's aliases: MODEL")
    aliases.add_argument("model")
    gc = verbs.add_parser("gc", help="remove old versions, keeping the newest N and pinned ones")
    gc.add_argument("model", nargs="?", help="a model (default: every model)")
    gc.add_argument("--keep", type=int, required=True, help="newest versions to keep (≥ 1)")
    gc.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    gc.add_argument(
        "--ignore-pins",
        action="store_true",
        help="without the project (-m/--manifest), remove versions its SQL may pin too",
    )
    for parser in (listing, show, diff, promote, alias, aliases, gc):
        project_options(parser)
        parser.set_defaults(run=_models)

    data = commands.add_parser("data", help="the step data store")
    data_verbs = data.add_subparsers(dest="verb", required=True)
    data_gc = data_verbs.add_parser("gc", help="remove step folders of old runs")
    data_gc.add_argument("--older-than-hours", type=float, required=True)
    data_gc.add_argument("--dry-run", action="store_true")
    project_options(data_gc)
    data_gc.set_defaults(run=_data_gc)

    run_sql = commands.add_parser(
        "run-sql", help="run SQL and catalog statements (SHOW MODELS, DESCRIBE MODEL …)"
    )
    run_sql.add_argument("sql", help="one or more statements separated by ';' ('-': stdin)")
    project_options(run_sql)
    run_sql.set_defaults(run=_run_sql)

    shell = commands.add_parser("sql", help="a small SQL shell on the project")
    project_options(shell)
    shell.set_defaults(run=_sql_shell)


def _session(args: argparse.Namespace) -> Any:
    """The project's stores and warehouse, from ``-m`` or the defaults; its pins, gates,
    models and dialect from the project manifests (those ``-m``'s Definitions carry, or the
    ``--manifest`` files ``sqlml compile --manifest`` wrote)."""
    from ..ops.storage import SqlMlStorage
    from ..shell import SqlSession
    from ..warehouses import Warehouse, warehouse_from_url

    manifests = [_read_manifest(path) for path in args.manifest or ()]
    explicit_stores = args.model_store or args.data_store or args.manifest
    if args.module or (not explicit_stores and _in_dg_project()):
        from ..compiler.diagnostics import SqlMlCompileError
        from ..definitions import project_manifests

        try:
            name, defs = load_definitions(args.module, args.attribute)
        except SqlMlCompileError as e:  # the project's SQL does not compile: say where
            raise CliError(str(e)) from None
        resources = dict(defs.resources or {})
        storage = resources.get("sqlml_storage")
        if not isinstance(storage, SqlMlStorage):
            raise CliError(f"{name}'s Definitions have no sqlml_storage resource")
        warehouse = resources.get("sqlml_warehouse")
        return SqlSession.of_projects(
            storage,
            warehouse if isinstance(warehouse, Warehouse) else None,
            [*project_manifests(defs), *manifests],
        )
    state = Path(os.environ.get("SQLML_STATE_DIR") or ".sqlml")
    storage = SqlMlStorage(
        model_store=args.model_store
        or os.environ.get("SQLML_MODEL_STORE")
        or str(state / "models"),
        data_store=args.data_store or os.environ.get("SQLML_DATA_STORE") or str(state / "data"),
    )
    database = state / "warehouse.duckdb"
    return SqlSession.of_projects(
        storage,
        warehouse_from_url(str(database)) if database.exists() else None,
        manifests,
    )


def _in_dg_project() -> bool:
    """Run inside a ``dg`` project: its definitions say where the stores are."""
    from ..dg_project import find_dg_project

    project = find_dg_project(Path.cwd())
    return project is not None and project.is_project


def _read_manifest(path: Path) -> Any:
    from ..compiler.manifest import ManifestError, ProjectManifest

    try:
        return ProjectManifest.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ManifestError) as e:
        raise CliError(f"{path}: {e}") from None


def _show(args: argparse.Namespace) -> Any:
    from ..catalog import ResultTable

    def show(result: ResultTable | str) -> None:
        if args.format == "json":
            payload = result.to_json() if isinstance(result, ResultTable) else {"message": result}
            print(json.dumps(payload, default=str, indent=2))
        else:
            print(result.render() if isinstance(result, ResultTable) else result)

    return show


def _models(args: argparse.Namespace) -> int:
    from ..catalog import ResultTable, parse_ref
    from ..compiler import codes
    from ..store import ModelNotFound
    from ..store.models import AliasConflict, AliasNotFound, CorruptVersion

    show = _show(args)
    try:
        catalog = _session(args).catalog
        if args.verb == "list":
            show(catalog.list_versions(args.model) if args.model else catalog.show_models())
        elif args.verb == "show":
            model, version = parse_ref(args.ref)
            show(catalog.describe(model, version))
        elif args.verb == "diff":
            show(catalog.diff(args.a, args.b))
        elif args.verb == "promote":
            promoted = catalog.promote(args.ref)
            show(f"{promoted.model}@latest is now version {promoted.version}")
        elif args.verb == "alias":
            move = catalog.alias(args.ref, args.name, note=args.note)
            model = parse_ref(args.ref)[0]
            was = "" if move.previous is None else f" (was {move.previous})"
            show(f"{model}@{move.alias} is now version {move.version}{was}")
        elif args.verb == "aliases":
            show(catalog.alias_history(args.model))
        elif args.verb == "gc":
            rows = []
            for model in [args.model] if args.model else catalog.store.models():
                result = catalog.gc(
                    model, args.keep, dry_run=args.dry_run, ignore_pins=args.ignore_pins
                )
                rows.append(
                    (
                        model,
                        " ".join(map(str, result.removed)),
                        " ".join(map(str, result.kept)),
                        " ".join(map(str, result.cleaned)),
                        " ".join(map(str, result.running)),
                    )
                )
            title = "dry run: nothing removed" if args.dry_run else ""
            if not catalog.pins_known:
                title = ", ".join(x for x in (title, "the project's pins not known") if x)
            columns = ("model", "removed", "kept", "cleaned", "training")
            show(ResultTable(columns, tuple(rows), title=title))
    except (AliasNotFound, AliasConflict) as e:  # a step's code for the same fault
        code = codes.ALIAS_NOT_FOUND if isinstance(e, AliasNotFound) else codes.ALIAS_CONFLICT
        print(f"sqlml: {code}: {e}", file=sys.stderr)
        return 1
    except (ModelNotFound, CorruptVersion, ValueError, CliError) as e:
        print(f"sqlml: {e}", file=sys.stderr)
        return 1
    return 0


def _data_gc(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from ..catalog import ResultTable

    try:
        data = _session(args).storage.data()
    except CliError as e:
        print(f"sqlml: {e}", file=sys.stderr)
        return 2
    removed = data.gc(timedelta(hours=args.older_than_hours), dry_run=args.dry_run)
    rows = tuple((r.run_id, str(r.modified or ""), r.files, r.bytes) for r in removed)
    title = "dry run: nothing removed" if args.dry_run else "removed"
    _show(args)(ResultTable(("run", "last written", "files", "bytes"), rows, title=title))
    return 0


def _run_sql(args: argparse.Namespace) -> int:
    from ..shell import run_and_show

    text = sys.stdin.read() if args.sql == "-" else args.sql
    try:
        session = _session(args)
    except CliError as e:
        print(f"sqlml: {e}", file=sys.stderr)
        return 2
    return run_and_show(session, text, _show(args))


def _sql_shell(args: argparse.Namespace) -> int:
    from ..shell import repl

    try:
        session = _session(args)
    except CliError as e:
        print(f"sqlml: {e}", file=sys.stderr)
        return 2
    return repl(session, _show(args), interactive=sys.stdin.isatty())
