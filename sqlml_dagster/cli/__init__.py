"""``sqlml``: check and compile SQL projects, and materialize them headless.

    sqlml check sql/                         # diagnostics; exit 1 on errors (CI)
    sqlml check                              # inside a dg project: its components
    sqlml check sql/ --format json           # or github (CI annotations), sarif (code scanning)
    sqlml check sql/ --warehouse w.duckdb    # deep checks: model params, settings, columns
    sqlml compile sql/ [--manifest [FILE]]   # the project manifest (JSON), printed or written
    sqlml compile                            # inside a dg project (or -m MODULE): its project's
    sqlml plan -m example_repo.definitions [--format json]  # reuse/retrain/recompute, why
    sqlml materialize -m example_repo.definitions [--select SELECTION …] [--force] [--changed]
    sqlml materialize --skip-unavailable     # leave out models whose framework is not installed
    sqlml materialize --select 'kind:scikitlearn'   # inside a dg project: no -m; Dagster's
                                                    # selection syntax (+iris_rf, group:iris)
    sqlml models list [MODEL] -m example_repo.definitions
    sqlml models show iris_rf@2 | diff iris_rf@1 iris_rf@2 | promote iris_rf@1
    sqlml models gc iris_rf --keep 3          # never removes pinned versions or @latest
    sqlml data gc --older-than-hours 24       # step folders of old runs
    sqlml run-sql -m example_repo.definitions "SHOW MODELS; SELECT count(*) FROM iris"
    sqlml sql -m example_repo.definitions     # the same, as a small shell
    sqlml serve iris_rf@2 --port 8080         # POST /predict, GET /healthz, GET /model

``-m MODULE`` names a code location as Dagster does (a ``@dg.definitions`` function, a
``Definitions`` object, a ``dg`` project's package or defs package); without it, inside a
``dg`` project, the project's own (``code_location.py``). The catalog commands find the
stores through that code location (the Definitions' storage resource), else
``--model-store URL``, or ``$SQLML_STATE_DIR``/``./.sqlml``, and the projects' pins and
gates in their manifests: those the Definitions carry, or ``--manifest FILE``.

User errors print as diagnostics or one-line messages — never as Python tracebacks.

One module a role: ``check.py`` (``sqlml check`` and its report formats), ``compile.py``,
``materialize.py`` (the headless run and its summary), ``plan.py`` (``sqlml plan`` and
the plan ``--changed`` follows), ``catalog.py`` (the model and data catalog commands,
``run-sql``, ``sql``, and the session they open on a project), ``serve.py`` (``sqlml
serve``);
``code_location.py`` and ``errors.py`` are what several of them share. Each registers its
own subcommands and options; :func:`main` only puts them together.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..quiet import quiet_frameworks
from .catalog import add_catalog_commands
from .check import add_check_command
from .compile import add_compile_command
from .materialize import add_materialize_command
from .plan import add_plan_command
from .serve import add_serve_command

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sqlml", description="Machine learning from SQL, on Dagster."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_check_command(commands)
    add_compile_command(commands)
    add_plan_command(commands)
    add_materialize_command(commands)
    add_catalog_commands(commands)
    add_serve_command(commands)
    args = parser.parse_args(argv)
    quiet_frameworks()  # for TensorFlow in whatever a command imports or starts
    return int(args.run(args))
