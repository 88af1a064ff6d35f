"""``sqlml``: check and compile SQL projects, and materialize them headless.

    sqlml check sql/                         # diagnostics; exit 1 on errors (CI)
    sqlml check sql/ --format json           # or github (CI annotations), sarif (code scanning)
    sqlml check sql/ --warehouse w.duckdb    # deep checks: model params, settings, columns
    sqlml compile sql/ [--manifest [FILE]]   # the project manifest (JSON), printed or written
    sqlml materialize -m example_repo.definitions [--select KEY …] [--force]
    sqlml models list [MODEL] -m example_repo.definitions
    sqlml models show iris_rf@2 | diff iris_rf@1 iris_rf@2 | promote iris_rf@1
    sqlml models gc iris_rf --keep 3          # never removes pinned versions or @latest
    sqlml data gc --older-than-hours 24       # step folders of old runs
    sqlml run-sql -m example_repo.definitions "SHOW MODELS; SELECT count(*) FROM iris"
    sqlml sql -m example_repo.definitions     # the same, as a small shell

The catalog commands find the stores through ``-m MODULE`` (the Definitions' storage
resource), ``--model-store URL``, or ``$SQLML_STATE_DIR``/``./.sqlml``, and the projects'
pins and gates in their manifests: those ``-m``'s Definitions carry, or ``--manifest FILE``.

User errors print as diagnostics or one-line messages — never as Python tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..compiler.diagnostics import Diagnostic, Severity
from ..compiler.dialects import unknown_dialect
from ..compiler.ir import ObjectKind
from ..compiler.project import Project, check_project
from ..component_settings import CheckTarget, check_targets, shown_path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sqlml", description="Machine learning from SQL, on Dagster."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="compile a SQL folder and report every problem")
    check.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="folders of .sql files (or single files), SqlMlProject component folders (their "
        "defs.yaml), dg projects",
    )
    check.add_argument(
        "--dialect",
        default=None,
        help="source SQL dialect (default: the component's defs.yaml, else duckdb)",
    )
    check.add_argument(
        "--format",
        choices=["human", "json", "github", "sarif"],
        default="human",
        help="human (carets), json, github (Actions annotations) or sarif (code scanning)",
    )
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument(
        "--allowed-image",
        action="append",
        default=None,
        metavar="PREFIX",
        help="registry/repository prefix a statement's image must start with (repeatable; "
        "default: the component's launcher in defs.yaml, else $SQLML_K8S_ALLOWED_IMAGES)",
    )
    deep = check.add_argument_group("deep checks (docs/ci.md)")
    deep.add_argument(
        "--no-deep", action="store_true", help="only compile: no model, settings or column checks"
    )
    deep.add_argument(
        "--warehouse", type=Path, metavar="FILE.duckdb", help="describe source tables from it"
    )
    deep.add_argument(
        "--schemas", type=Path, metavar="FILE", help="source table schemas (default: schemas.yml)"
    )
    deep.add_argument(
        "--no-import",
        action="store_true",
        help="never import model classes (only those readable from source are checked)",
    )
    deep.add_argument(
        "--import-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="limit for importing model classes, all together (default: 60)",
    )
    deep.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where model signatures are cached (default: $SQLML_CACHE_DIR or ~/.cache/sqlml)",
    )
    deep.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    check.set_defaults(run=_check)

    compile_ = commands.add_parser(
        "compile", help="print the project manifest (the compiled project as JSON)"
    )
    compile_.add_argument("path")
    compile_.add_argument("--dialect", default="duckdb")
    compile_.add_argument(
        "--manifest",
        nargs="?",
        type=Path,
        const=Path("manifest.json"),
        default=None,
        metavar="FILE",
        help="write the manifest to FILE (default: manifest.json) instead of printing it "
        "(with --k8s: as well as printing the Jobs)",
    )
    compile_.add_argument(
        "--k8s",
        action="store_true",
        help="print the Kubernetes Job manifest (YAML) of every ML step instead, without a cluster",
    )
    compile_.add_argument(
        "--data-store",
        default="s3://sqlml/data",
        help="data store URL the manifests' step specs live under (with --k8s)",
    )
    compile_.add_argument(
        "--model-store", default="s3://sqlml/models", help="model store URL (with --k8s)"
    )
    compile_.set_defaults(run=_compile)

    materialize = commands.add_parser(
        "materialize", help="materialize assets headless and print a summary"
    )
    materialize.add_argument(
        "-m", "--module", required=True, help="module holding a dagster.Definitions"
    )
    materialize.add_argument(
        "--attribute", default=None, help="name of the Definitions object (default: found)"
    )
    materialize.add_argument(
        "--select", nargs="*", default=None, help="asset keys (a/b or a.b); default: all"
    )
    materialize.add_argument(
        "--log-level", default="WARNING", help="Dagster console log level (default: WARNING)"
    )
    materialize.add_argument(
        "--partition",
        default=None,
        metavar="KEY",
        help="the partition of partitioned assets to materialize, e.g. 2026-11-23 "
        "(default: the latest)",
    )
    materialize.add_argument(
        "--force",
        action="store_true",
        help="retrain models even when nothing changed (default: reuse the unchanged version)",
    )
    materialize.set_defaults(run=_materialize)

    _add_catalog_commands(commands)

    args = parser.parse_args(argv)
    return int(args.run(args))


# -- check / compile -------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    """Compile each path — with its SqlMlProject component's settings when it is one or
    belongs to one (``component_settings``) — run the deep checks on what compiled, print
    every diagnostic in the chosen format; exit 1 when any is an error (or a warning, with
    --strict)."""
    if args.dialect is not None and (wrong := unknown_dialect(args.dialect)) is not None:
        print(f"sqlml: --dialect: {wrong[0]} ({wrong[1]})", file=sys.stderr)
        return 2
    projects: list[Project] = []
    located: list[tuple[str, Diagnostic]] = []  # (path from the current directory, …)
    for path in args.paths:
        for target in check_targets(
            Path(path), dialect=args.dialect, allowed_images=args.allowed_image, environ=os.environ
        ):
            located += [(_repository_path(Path.cwd(), None, d), d) for d in target.diagnostics]
            if not target.compiles:
                continue
            if args.format == "human" and target.component is not None:
                print(_component_note(target), file=sys.stderr)
            try:
                project, found = _compile_target(target, args)
            except _CliError as e:
                print(f"sqlml: {e}", file=sys.stderr)
                return 2
            if project is not None:
                projects.append(project)
            base = target.path if target.path.is_dir() else target.path.parent
            located += [(_repository_path(base.resolve().parent, target.path, d), d) for d in found]
    diagnostics = [d for _, d in located]
    failing = [
        d for d in diagnostics if d.is_error or (args.strict and d.severity is Severity.WARNING)
    ]
    if args.format == "json":
        print(json.dumps(check_report(projects, diagnostics, ok=not failing), indent=2))
    elif args.format == "github":
        for file, d in located:
            print(_github_annotation(file, d))
    elif args.format == "sarif":
        from .. import __version__
        from ..validate.sarif import sarif_log

        print(json.dumps(sarif_log(located, version=__version__), indent=2))
    else:
        for d in diagnostics:
            print(d.render(), end="\n\n", file=sys.stderr)
        errors = sum(1 for d in diagnostics if d.is_error)
        warns = len(diagnostics) - errors
        where = ", ".join(args.paths)
        if failing:
            print(f"sqlml: {where}: {errors} error(s), {warns} warning(s)", file=sys.stderr)
        else:
            counts: dict[str, int] = {}
            for project in projects:
                for kind, n in _counts(project).items():
                    counts[kind] = counts.get(kind, 0) + n
            files = sum(len(p.files) for p in projects)
            summary = ", ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in counts.items())
            print(
                f"sqlml: {where}: ok — {files} file(s), {summary}"
                + (f"; {warns} warning(s)" if warns else "")
            )
    return 1 if failing else 0


def _compile_target(
    target: CheckTarget, args: argparse.Namespace
) -> tuple[Project | None, list[Diagnostic]]:
    if args.no_deep:
        return check_project(
            target.path, dialect=target.dialect, allowed_images=target.allowed_images
        )
    return _deep_check(target, args)


def _component_note(target: CheckTarget) -> str:
    """Which defs.yaml the settings come from: a check that differs from a plain folder's
    says why."""
    assert target.component is not None
    images = ", ".join(target.allowed_images) or "any"
    return (
        f"sqlml: {shown_path(target.path)}: SqlMlProject in {shown_path(target.component)}"
        f" (dialect {target.dialect}; images: {images})"
    )


def _deep_check(
    target: CheckTarget, args: argparse.Namespace
) -> tuple[Project | None, list[Diagnostic]]:
    """Compile and deep-check one path with the command's options; a warehouse that cannot
    be opened is a usage error (exit 2), not a diagnostic."""
    from ..validate import DeepCheckError, DeepCheckOptions, check_path, default_cache_dir

    options = DeepCheckOptions(
        imports=not args.no_import,
        import_timeout=args.import_timeout,
        cache_dir=None if args.no_cache else (args.cache_dir or default_cache_dir()),
        warehouse=args.warehouse,
        schemas=args.schemas,
    )
    try:
        return check_path(target.path, target.dialect, target.allowed_images, options)
    except DeepCheckError as e:
        raise _CliError(str(e)) from None


def _counts(project: Project) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in project.nodes:
        counts[node.kind.value] = counts.get(node.kind.value, 0) + 1
    counts["source"] = len(project.sources)
    return counts


def check_report(
    projects: Sequence[Project], diagnostics: Sequence[Diagnostic], *, ok: bool
) -> dict[str, Any]:
    """The stable JSON of ``sqlml check --format json`` (other tooling reads it)."""
    assets: list[dict[str, Any]] = []
    for project in projects:
        for source in project.sources:
            assets.append({"key": source.name.asset_path, "kind": "source", "deps": []})
        for node in project.nodes:
            kind = "table" if node.kind is ObjectKind.VIEW else node.kind.value
            assets.append(
                {
                    "key": node.name.asset_path,
                    "kind": kind,
                    "deps": [d.asset_path for d in node.deps],
                }
            )
    return {
        "ok": ok,
        "files": sum(len(p.files) for p in projects),
        "statements": sum(len(f.statements) for p in projects for f in p.files),
        "diagnostics": [d.to_json() for d in diagnostics],
        "assets": assets,
    }


def _github_annotation(file: str, d: Diagnostic) -> str:
    """``::error file=…,line=…,col=…,title=CODE::message`` — a CI annotation on the line."""
    level = "error" if d.is_error else "warning"
    message = d.message + (f" (hint: {d.hint})" if d.hint else "")
    message = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if d.span is None:
        return f"::{level} title={d.code}::{message}"
    return f"::{level} file={file},line={d.span.line},col={d.span.col},title={d.code}::{message}"


def _repository_path(base: Path, checked: Path | None, d: Diagnostic) -> str:
    """Where a diagnostic's file is relative to the current directory (the repository root
    in CI), as annotations and SARIF want it: its ``span.file`` is relative to ``base``; the
    checked path when it names no file."""
    target = base / d.span.file if d.span is not None else (checked or base).resolve()
    return Path(os.path.relpath(target)).as_posix()


def _compile(args: argparse.Namespace) -> int:
    """Print the project manifest — or write it (``--manifest FILE``) — or, with ``--k8s``,
    print the Job manifests of its steps."""
    from ..compiler.manifest import project_manifest

    allowed: list[str] = []
    if args.k8s:  # manifests respect the allow-list: an out-of-list image is SQLML208 here
        from ..contract import allowed_images_from_env

        allowed = allowed_images_from_env(os.environ)
    project, diagnostics = check_project(args.path, dialect=args.dialect, allowed_images=allowed)
    if project is None or any(d.is_error for d in diagnostics):
        for d in diagnostics:
            print(d.render(), end="\n\n", file=sys.stderr)
        return 1
    text = project_manifest(project).to_json() + "\n"
    if args.manifest is not None:
        try:
            args.manifest.parent.mkdir(parents=True, exist_ok=True)
            args.manifest.write_text(text, encoding="utf-8")
        except OSError as e:
            print(f"sqlml: cannot write {args.manifest}: {e}", file=sys.stderr)
            return 1
        print(f"sqlml: wrote {args.manifest} ({len(project.nodes)} node(s))", file=sys.stderr)
    if args.k8s:
        from ..launchers import StepFailed
        from ..ops.dry_run import job_manifests_yaml

        try:
            print(job_manifests_yaml(project, args.data_store, args.model_store), end="")
        except StepFailed as e:  # e.g. SQLML_K8S_DEFAULT_IMAGE outside the allow-list
            print(f"sqlml: {e.description}", file=sys.stderr)
            return 1
    elif args.manifest is None:
        print(text, end="")
    return 0


# -- materialize -----------------------------------------------------------------------


def _materialize(args: argparse.Namespace) -> int:
    import dagster as dg

    from ..compiler.diagnostics import SqlMlCompileError
    from ..ops.step import FORCE_TAG

    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(args.module)
    except SqlMlCompileError as e:
        print(e, file=sys.stderr)
        return 1
    except ModuleNotFoundError as e:
        print(f"sqlml: cannot import {args.module}: {e}", file=sys.stderr)
        return 2
    defs = _find_definitions(module, args.attribute)
    if defs is None:
        print(f"sqlml: {args.module} has no dagster.Definitions", file=sys.stderr)
        return 2
    specs = {spec.key: spec for spec in _asset_specs(defs)}
    assets = [a for a in (defs.assets or []) if isinstance(a, dg.AssetsDefinition)]
    selection = None
    if args.select:
        selection = [dg.AssetKey(s.replace(".", "/").split("/")) for s in args.select]
        unknown = [k for k in selection if k not in specs]
        if unknown:
            print(
                f"sqlml: unknown asset(s): {', '.join(k.to_user_string() for k in unknown)}",
                file=sys.stderr,
            )
            return 2
    instance = (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )
    started = time.monotonic()
    runs = _partitioned_runs(assets, selection, args.partition)
    events: list[Any] = []
    checks: list[Any] = []
    failed = False
    for keys, partition in runs:
        result = dg.materialize(
            assets,
            resources=dict(defs.resources or {}),
            instance=instance,
            selection=keys,
            partition_key=partition,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": args.log_level.upper()}}}},
            tags={FORCE_TAG: "true"} if args.force else None,
        )
        events += result.get_asset_materialization_events()
        checks += result.get_asset_check_evaluations()
        if not result.success:
            failed = True
            for event in result.all_events:
                if event.is_step_failure and event.step_failure_data is not None:
                    error = event.step_failure_data.error
                    user = event.step_failure_data.user_failure_data
                    reason = (user.description if user and user.description else None) or (
                        error.message.strip() if error else ""
                    )
                    print(f"\nFAILED {event.step_key}: {reason}", file=sys.stderr)
            break  # later runs read what this one failed to write
    elapsed = time.monotonic() - started
    print(_summary(events, specs, elapsed, defs))
    if checks:
        failing = [c for c in checks if not c.passed]
        line = f"\nchecks: {len(checks) - len(failing)} passed, {len(failing)} failed"
        if failing:
            line += (
                " ("
                + ", ".join(f"{c.asset_key.to_user_string()}:{c.check_name}" for c in failing)
                + ")"
            )
        print(line)
    return 1 if failed else 0


def _partitioned_runs(
    assets: Sequence[Any], selection: list[Any] | None, partition: str | None
) -> list[tuple[list[Any], str | None]]:
    """One run for the unpartitioned assets, then one per partitions definition for the
    partitioned ones (``-- sqlml: partition_by``): ``partition`` or the latest partition.
    Dagster runs one partition at a time; the unpartitioned run goes first since
    partitioned predictions read its tables and models."""
    chosen = set(selection) if selection else None
    plain: list[Any] = []
    by_definition: dict[Any, list[Any]] = {}
    for asset in assets:
        for key in asset.keys:
            if chosen is not None and key not in chosen:
                continue
            definition = asset.partitions_def
            if definition is None:
                plain.append(key)
            else:
                by_definition.setdefault(definition, []).append(key)
    runs: list[tuple[list[Any], str | None]] = [(plain, None)] if plain else []
    for definition, keys in by_definition.items():
        key = partition or definition.get_last_partition_key()
        if key is None:
            print(
                f"sqlml: {', '.join(k.to_user_string() for k in keys)}: no partition yet "
                "(partition_start lies ahead)",
                file=sys.stderr,
            )
            continue
        runs.append((keys, key))
    return runs


def _find_definitions(module: Any, attribute: str | None) -> Any:
    import dagster as dg

    if attribute:
        return getattr(module, attribute, None)
    for value in vars(module).values():
        if isinstance(value, dg.Definitions):
            return value
    return None


def _asset_specs(defs: Any) -> list[Any]:
    """Every asset spec of a user's Definitions. Resolving component-loaded Definitions,
    Dagster rebuilds their checks through a beta parameter of its own (``execution_type``):
    a warning nothing in the project can change, silenced for this call only."""
    import dagster as dg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return list(defs.resolve_all_asset_specs())


def _summary(events: Sequence[Any], specs: dict[Any, Any], elapsed: float, defs: Any) -> str:
    models: list[tuple[str, ...]] = []
    predictions: list[tuple[str, ...]] = []  # and evaluations, explanations: model outputs
    tables: list[tuple[str, ...]] = []
    for event in events:
        m = event.materialization
        metadata = {k: v.value for k, v in m.metadata.items()}
        name = m.asset_key.to_user_string()
        kind = specs[m.asset_key].tags.get("sqlml/kind") if m.asset_key in specs else None
        if kind == "model":
            metrics = " ".join(
                f"{k.split('/', 1)[1]}={v:.4f}"
                for k, v in metadata.items()
                if k.startswith("metric/")
            )
            models.append(
                (
                    name,
                    f"v{metadata.get('model_version')}",
                    "unchanged" if metadata.get("reused") else "trained",
                    str(metadata.get("model_reference", "")),
                    metrics,
                )
            )
        elif kind in ("prediction", "evaluation", "explanation"):
            count = f"{metadata.get('dagster/row_count')} rows"
            if event.partition:
                count = (
                    f"{metadata.get('partition_rows')} rows in {event.partition}, {count} in all"
                )
            predictions.append(
                (
                    name,
                    count,
                    f"(model {metadata.get('model')} v{metadata.get('model_version')}"
                    + (", pinned)" if metadata.get("model_pinned") else ")"),
                )
            )
        else:
            tables.append((name, f"{metadata.get('dagster/row_count')} rows"))
    lines = [f"sqlml: materialized {len(events)} asset(s) in {elapsed:.1f}s"]
    for title, rows in (("models", models), ("predictions", predictions), ("tables", tables)):
        if rows:
            lines += ["", title, *_columns(rows)]
    warehouse = (defs.resources or {}).get("sqlml_warehouse")
    if warehouse is not None:
        lines += ["", f"warehouse: {_short(getattr(warehouse, 'database', ''))}"]
    return "\n".join(lines)


def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _short(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


# -- the model catalog and SQL ---------------------------------------------------------


def _add_catalog_commands(commands: Any) -> None:
    def project_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("-m", "--module", help="module holding the project's Definitions")
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
        parser.add_argument("--format", choices=["human", "json"], default="human")

    models = commands.add_parser("models", help="model versions: list, show, diff, promote, gc")
    verbs = models.add_subparsers(dest="verb", required=True)
    listing = verbs.add_parser("list", help="every model, or the versions of one")
    listing.add_argument("model", nargs="?")
    show = verbs.add_parser("show", help="a version's manifest: MODEL or MODEL@V")
    show.add_argument("ref")
    diff = verbs.add_parser("diff", help="two versions side by side: MODEL@A MODEL@B")
    diff.add_argument("a")
    diff.add_argument("b")
    promote = verbs.add_parser("promote", help="make MODEL@V what @latest resolves to")
    promote.add_argument("ref")
    gc = verbs.add_parser("gc", help="remove old versions, keeping the newest N and pinned ones")
    gc.add_argument("model", nargs="?", help="a model (default: every model)")
    gc.add_argument("--keep", type=int, required=True, help="newest versions to keep (≥ 1)")
    gc.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    for parser in (listing, show, diff, promote, gc):
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
    if args.module:
        from ..compiler.diagnostics import SqlMlCompileError
        from ..definitions import project_manifests

        sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(args.module)
        except SqlMlCompileError as e:  # the project's SQL does not compile: say where
            raise _CliError(str(e)) from None
        except ModuleNotFoundError as e:
            raise _CliError(f"cannot import {args.module}: {e}") from None
        defs = _find_definitions(module, args.attribute)
        if defs is None:
            raise _CliError(f"{args.module} has no dagster.Definitions")
        resources = dict(defs.resources or {})
        storage = resources.get("sqlml_storage")
        if not isinstance(storage, SqlMlStorage):
            raise _CliError(f"{args.module}'s Definitions have no sqlml_storage resource")
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


def _read_manifest(path: Path) -> Any:
    from ..compiler.manifest import ManifestError, ProjectManifest

    try:
        return ProjectManifest.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ManifestError) as e:
        raise _CliError(f"{path}: {e}") from None


class _CliError(Exception):
    """A one-line problem with the command (exit 2)."""


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
    from ..store import ModelNotFound
    from ..store.models import CorruptVersion

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
        elif args.verb == "gc":
            rows = []
            for model in [args.model] if args.model else catalog.store.models():
                result = catalog.gc(model, args.keep, dry_run=args.dry_run)
                rows.append(
                    (
                        model,
                        " ".join(map(str, result.removed)),
                        " ".join(map(str, result.kept)),
                        " ".join(map(str, result.cleaned)),
                    )
                )
            title = "dry run: nothing removed" if args.dry_run else ""
            show(ResultTable(("model", "removed", "kept", "cleaned"), tuple(rows), title=title))
    except (ModelNotFound, CorruptVersion, ValueError, _CliError) as e:
        print(f"sqlml: {e}", file=sys.stderr)
        return 1
    return 0


def _data_gc(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from ..catalog import ResultTable

    try:
        data = _session(args).storage.data()
    except _CliError as e:
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
    except _CliError as e:
        print(f"sqlml: {e}", file=sys.stderr)
        return 2
    return run_and_show(session, text, _show(args))


def _sql_shell(args: argparse.Namespace) -> int:
    from ..shell import repl

    try:
        session = _session(args)
    except _CliError as e:
        print(f"sqlml: {e}", file=sys.stderr)
        return 2
    return repl(session, _show(args), interactive=sys.stdin.isatty())

