"""``sqlml plan``: what ``sqlml materialize`` would do to each asset, and why, without
running anything — and the plan ``sqlml materialize --changed`` follows (``ops/plan.py``)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any

from ..settings import SettingError
from .code_location import find_definitions
from .errors import CliError


def add_plan_command(commands: Any) -> None:
    """``sqlml plan`` and its options, on the ``sqlml`` parser's subcommands."""
    plan = commands.add_parser(
        "plan",
        help="what a run would reuse, retrain or recompute, and why (runs nothing)",
    )
    plan.add_argument("-m", "--module", required=True, help="module holding a dagster.Definitions")
    plan.add_argument(
        "--attribute", default=None, help="name of the Definitions object (default: found)"
    )
    plan.add_argument("--format", choices=["human", "json"], default="human")
    plan.add_argument(
        "--force", action="store_true", help="plan as sqlml materialize --force would run"
    )
    plan.set_defaults(run=_plan)


def _plan(args: argparse.Namespace) -> int:
    try:
        defs = load_definitions(args.module, args.attribute)
        plan = plan_of(defs, force=args.force)
    except CliError as e:
        print(f"sqlml: {e}", file=sys.stderr)
        return 2
    except SettingError as e:
        print(f"sqlml: {e}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(plan.to_json(), indent=2))
    else:
        print(plan.render())
    return 0


def load_definitions(module_name: str, attribute: str | None) -> Any:
    """The module's Definitions, or a :class:`CliError` saying why not (its SQL does not
    compile: the diagnostics; it cannot be imported; it holds none)."""
    from ..compiler.diagnostics import SqlMlCompileError

    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
        defs = find_definitions(module, attribute)
    except SqlMlCompileError as e:
        raise CliError(str(e)) from None
    except ModuleNotFoundError as e:
        raise CliError(f"cannot import {module_name}: {e}") from None
    if defs is None:
        raise CliError(f"{module_name} has no dagster.Definitions")
    return defs


def plan_of(defs: Any, *, force: bool = False) -> Any:
    """The plan of every sqlml project in ``defs``, judged with its resources."""
    from ..definitions import STORAGE_KEY, WAREHOUSE_KEY, compiled_projects
    from ..ops.plan import plan_projects
    from ..ops.storage import SqlMlStorage
    from ..warehouses import Warehouse

    resources = dict(defs.resources or {})
    storage, warehouse = resources.get(STORAGE_KEY), resources.get(WAREHOUSE_KEY)
    if not isinstance(storage, SqlMlStorage) or not isinstance(warehouse, Warehouse):
        raise CliError("the Definitions have no sqlml_storage and sqlml_warehouse resources")
    return plan_projects(compiled_projects(defs), warehouse, storage, force=force)
