"""``sqlml check``: compile SQL folders and components, run the deep checks, report.

Every diagnostic comes out in the format CI asks for — carets for people, the stable JSON
of :func:`check_report` for tools, GitHub annotations, or SARIF for code scanning — with
paths relative to the current directory (the repository root in CI); the exit status is
1 when any diagnostic is an error (or a warning, with ``--strict``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..compiler.diagnostics import Diagnostic, Severity
from ..compiler.dialects import unknown_dialect
from ..compiler.ir import ObjectKind
from ..compiler.project import Project, check_project
from ..component_settings import CheckTarget, check_targets, shown_path
from ..dg_project import find_dg_project
from .errors import CliError

#: What checking one target found: the project, its diagnostics, the modules imported.
Checked = tuple[Project | None, list[Diagnostic], tuple[str, ...]]


def add_check_command(commands: Any) -> None:
    """``sqlml check`` and its options, on the ``sqlml`` parser's subcommands."""
    check = commands.add_parser("check", help="compile a SQL folder and report every problem")
    check.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="folders of .sql files (or single files), SqlMlProject component folders (their "
        "defs.yaml), dg projects (default: the dg project around the working directory)",
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
    check.add_argument(
        "--allowed-model-package",
        action="append",
        default=None,
        metavar="PACKAGE",
        help="a package TO TRAIN may name besides the built-ins and the project's models/ "
        "(repeatable; default: the component's allowed_model_packages in defs.yaml, else "
        "$SQLML_ALLOWED_MODEL_PACKAGES)",
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


def _check(args: argparse.Namespace) -> int:
    """Compile each path — with its SqlMlProject component's settings when it is one or
    belongs to one (``component_settings``) — run the deep checks on what compiled, print
    every diagnostic in the chosen format; exit 1 when any is an error (or a warning, with
    --strict)."""
    if args.dialect is not None and (wrong := unknown_dialect(args.dialect)) is not None:
        print(f"sqlml: --dialect: {wrong[0]} ({wrong[1]})", file=sys.stderr)
        return 2
    if not args.paths:  # inside a dg project: every component of it
        dg_project = find_dg_project(Path.cwd())
        if dg_project is None or not dg_project.is_project:
            print(
                "sqlml check: give a PATH (a folder of .sql files, a component, a dg "
                "project), or run it inside a dg project",
                file=sys.stderr,
            )
            return 2
        args.paths = [shown_path(dg_project.root) or "."]
    projects: list[Project] = []
    located: list[tuple[str, Diagnostic]] = []  # (path from the current directory, …)
    imported: list[str] = []  # modules the deep check imported (model packages only)
    try:
        targets = [
            target
            for path in args.paths
            for target in check_targets(
                Path(path),
                dialect=args.dialect,
                allowed_images=args.allowed_image,
                environ=os.environ,
                allowed_model_packages=args.allowed_model_package,
            )
        ]
    except ValueError as e:  # $SQLML_ALLOWED_MODEL_PACKAGES that does not read
        print(f"sqlml: {e}", file=sys.stderr)
        return 2
    for target in targets:
        located += [(_repository_path(Path.cwd(), None, d), d) for d in target.diagnostics]
        if not target.compiles:
            continue
        if args.format == "human" and target.component is not None:
            print(_component_note(target), file=sys.stderr)
        try:
            project, found, modules = _compile_target(target, args)
        except CliError as e:
            print(f"sqlml: {e}", file=sys.stderr)
            return 2
        imported += [m for m in modules if m not in imported]
        if project is not None:
            projects.append(project)
        base = target.path if target.path.is_dir() else target.path.parent
        located += [(_repository_path(base.resolve().parent, target.path, d), d) for d in found]
    diagnostics = [d for _, d in located]
    failing = [
        d for d in diagnostics if d.is_error or (args.strict and d.severity is Severity.WARNING)
    ]
    if args.format == "json":
        report = check_report(projects, diagnostics, ok=not failing, imported=imported)
        print(json.dumps(report, indent=2))
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
        if imported:  # code ran: say which (docs/security.md, What sqlml check imports)
            print(f"sqlml: imported to check model classes: {', '.join(imported)}", file=sys.stderr)
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
            summary = ", ".join(
                f"{n} {kind.replace('_', ' ')}{'' if n == 1 else 's'}" for kind, n in counts.items()
            )
            print(
                f"sqlml: {where}: ok — {files} file(s), {summary}"
                + (f"; {warns} warning(s)" if warns else "")
            )
    return 1 if failing else 0


def _compile_target(target: CheckTarget, args: argparse.Namespace) -> Checked:
    if args.no_deep:
        project, found = check_project(
            target.path,
            dialect=target.dialect,
            allowed_images=target.allowed_images,
            allowed_model_packages=target.allowed_model_packages,
            target_dialect=target.warehouse_dialect,
        )
        return project, found, ()
    return _deep_check(target, args)


def _component_note(target: CheckTarget) -> str:
    """Which defs.yaml the settings come from: a check that differs from a plain folder's
    says why."""
    assert target.component is not None
    images = ", ".join(target.allowed_images) or "any"
    return (
        f"sqlml: {shown_path(target.path)}: SqlMlProject in {shown_path(target.component)}"
        f" (dialect {target.dialect}; images: {images}"
        + (f"; warehouse {target.warehouse_dialect}" if target.warehouse_dialect else "")
        + ")"
    )


def _deep_check(target: CheckTarget, args: argparse.Namespace) -> Checked:
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
        checked = check_path(
            target.path,
            target.dialect,
            target.allowed_images,
            options,
            allowed_model_packages=target.allowed_model_packages,
            target_dialect=target.warehouse_dialect,
        )
        return checked.project, checked.diagnostics, checked.imported
    except DeepCheckError as e:
        raise CliError(str(e)) from None


def _counts(project: Project) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in project.nodes:
        counts[node.kind.value] = counts.get(node.kind.value, 0) + len(node.outputs)
    counts["source"] = len(project.sources)
    return counts


def check_report(
    projects: Sequence[Project],
    diagnostics: Sequence[Diagnostic],
    *,
    ok: bool,
    imported: Sequence[str] = (),
) -> dict[str, Any]:
    """The stable JSON of ``sqlml check --format json`` (other tooling reads it);
    ``imported``: the modules the deep check imported."""
    assets: list[dict[str, Any]] = []
    for project in projects:
        for source in project.sources:
            assets.append({"key": source.name.asset_path, "kind": "source", "deps": []})
        for node in project.nodes:
            kind = "table" if node.kind is ObjectKind.VIEW else node.kind.value
            assets.extend(
                {
                    "key": name.asset_path,
                    "kind": kind,
                    "deps": [d.asset_path for d in node.deps],
                }
                for name in node.outputs
            )
    return {
        "ok": ok,
        "files": sum(len(p.files) for p in projects),
        "statements": sum(len(f.statements) for p in projects for f in p.files),
        "diagnostics": [d.to_json() for d in diagnostics],
        "assets": assets,
        "imported": list(imported),
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
