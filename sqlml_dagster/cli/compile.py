"""``sqlml compile``: the compiled project as its manifest (JSON), printed or written to
a file, or — with ``--k8s`` — the Kubernetes Jobs its steps would run, without a cluster."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..compiler.diagnostics import SqlMlCompileError
from ..compiler.project import Project, check_project
from ..component_settings import shown_path
from ..settings import SettingError
from .code_location import load_definitions
from .errors import CliError


def add_compile_command(commands: Any) -> None:
    """``sqlml compile`` and its options, on the ``sqlml`` parser's subcommands."""
    compile_ = commands.add_parser(
        "compile", help="print the project manifest (the compiled project as JSON)"
    )
    compile_.add_argument(
        "path",
        nargs="?",
        default=None,
        help="a folder of .sql files (default: the project of -m MODULE's Definitions, or of "
        "the dg project around the working directory, as sqlml plan finds it)",
    )
    compile_.add_argument(
        "-m",
        "--module",
        default=None,
        help="module holding the Definitions whose project to compile (instead of PATH)",
    )
    compile_.add_argument(
        "--attribute", default=None, help="name of the Definitions object (default: found)"
    )
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
    compile_.add_argument(
        "--serve",
        metavar="MODEL[@VERSION]",
        default=None,
        help="with --k8s: print the Deployment and Service that serve this model over HTTP "
        "(sqlml serve) instead of the Jobs",
    )
    compile_.add_argument(
        "--port", type=int, default=8080, help="the server's container port (with --serve)"
    )
    compile_.set_defaults(run=_compile)


def _compile(args: argparse.Namespace) -> int:
    """Print the project manifest — or write it (``--manifest FILE``) — or, with ``--k8s``,
    print the Job manifests of its steps."""
    from ..compiler.manifest import project_manifest

    allowed: list[str] = []
    if args.k8s:  # manifests respect the allow-list: an out-of-list image is SQLML208 here
        from ..contract import allowed_images_from_env

        allowed = allowed_images_from_env(os.environ)
    from ..contract.model_packages import allowed_model_packages_from_env

    try:  # the model packages a deployment allows (SQLML209 outside them), as build_defs
        packages = allowed_model_packages_from_env(os.environ)
    except ValueError as e:
        print(f"sqlml: {e}", file=sys.stderr)
        return 1
    if args.path is None:  # the code location's project, as sqlml plan and materialize find it
        try:
            project = _located_project(args.module, args.attribute)
        except CliError as e:
            print(f"sqlml: {e}", file=sys.stderr)
            return 2
        except SqlMlCompileError as e:
            print(e, file=sys.stderr)
            return 1
    else:
        if args.module is not None:
            print("sqlml: compile takes PATH or -m MODULE, not both", file=sys.stderr)
            return 2
        checked, diagnostics = check_project(
            args.path, dialect=args.dialect, allowed_images=allowed, allowed_model_packages=packages
        )
        if checked is None or any(d.is_error for d in diagnostics):
            for d in diagnostics:
                print(d.render(), end="\n\n", file=sys.stderr)
            return 1
        project = checked
    text = project_manifest(project).to_json() + "\n"
    if args.manifest is not None:
        try:
            args.manifest.parent.mkdir(parents=True, exist_ok=True)
            args.manifest.write_text(text, encoding="utf-8")
        except OSError as e:
            print(f"sqlml: cannot write {args.manifest}: {e}", file=sys.stderr)
            return 1
        print(f"sqlml: wrote {args.manifest} ({len(project.nodes)} node(s))", file=sys.stderr)
    if args.serve is not None and not args.k8s:
        print("sqlml: --serve prints Kubernetes manifests: add --k8s", file=sys.stderr)
        return 2
    if args.k8s:
        from ..launchers import StepFailed
        from ..ops.dry_run import job_manifests_yaml

        try:
            if args.serve is not None:
                print(
                    _serving_yaml(
                        project,
                        args.path if args.path is not None else project.root,
                        args.serve,
                        args.model_store,
                        args.port,
                    ),
                    end="",
                )
            else:
                print(job_manifests_yaml(project, args.data_store, args.model_store), end="")
        except StepFailed as e:  # e.g. SQLML_K8S_DEFAULT_IMAGE outside the allow-list
            print(f"sqlml: {e.description}", file=sys.stderr)
            return 1
        except SettingError as e:  # a SQLML_K8S_* variable that does not read
            print(f"sqlml: {e}", file=sys.stderr)
            return 1
        except ValueError as e:  # a --serve reference that does not read or names no model
            print(f"sqlml: --serve {args.serve}: {e}", file=sys.stderr)
            return 1
    elif args.manifest is None:
        print(text, end="")
    return 0


def _located_project(module: str | None, attribute: str | None) -> Project:
    """The one sqlml project in the Definitions of ``-m module`` (or of the ``dg`` project
    around the working directory), compiled as that code location compiles it — its
    component's dialect, images and model packages."""
    from ..definitions import compiled_projects

    where, defs = load_definitions(module, attribute)
    projects = compiled_projects(defs)
    if not projects:
        raise CliError(f"{where} holds no sqlml project (build_defs or a SqlMlProject component)")
    if len(projects) > 1:
        roots = ", ".join(shown_path(p.project.root) or "." for p in projects)
        raise CliError(f"{where} holds {len(projects)} sqlml projects ({roots}): give a PATH")
    return projects[0].project


def _serving_yaml(
    project: Any, path: str | Path, reference: str, model_store: str, port: int
) -> str:
    """The Deployment and Service serving ``reference``, a model the project trains or
    registers, with its training statement's image (else the launcher's default)."""
    import yaml

    from ..compiler.names import ObjectKind
    from ..contract.model_packages import ModelPackages, allowed_model_packages_from_env
    from ..launchers import launcher_from_env
    from ..launchers.kube_serve import serving_manifests
    from ..store.references import parse_reference

    ref = parse_reference(reference)
    models = {n.name.key: n for n in project.nodes if n.kind is ObjectKind.MODEL}
    node = models.get(ref.model)
    if node is None:
        raise ValueError(
            f"the project trains no model '{ref.model}' (models: {', '.join(sorted(models))})"
        )
    model_ref = node.statement.model_ref
    launcher = launcher_from_env(os.environ, kind="kubernetes")
    packages = ModelPackages.of_project(
        Path(path), allowed_model_packages_from_env(os.environ) or ()
    )
    documents = serving_manifests(
        launcher,  # type: ignore[arg-type]
        str(ref) if ref.version is not None or ref.alias is not None else ref.model,
        model_store=model_store,
        image=model_ref.image if model_ref is not None else None,
        port=port,
        model_packages=packages,
    )
    header = f"# serve {ref} ({node.file}:{node.statement.span.line})\n"
    return header + "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in documents)
