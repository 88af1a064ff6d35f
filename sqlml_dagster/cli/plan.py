"""``sqlml plan``: what ``sqlml materialize`` would do to each asset, and why, without
running anything — and the plan ``sqlml materialize --changed`` follows (``ops/plan.py``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..settings import SettingError
from .code_location import load_definitions
from .errors import CliError


def add_plan_command(commands: Any) -> None:
    """``sqlml plan`` and its options, on the ``sqlml`` parser's subcommands."""
    plan = commands.add_parser(
        "plan",
        help="what a run would reuse, retrain or recompute, and why (runs nothing)",
    )
    plan.add_argument(
        "-m",
        "--module",
        help="module holding the project's Definitions (default: the dg project around "
        "the working directory)",
    )
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
        _, defs = load_definitions(args.module, args.attribute)
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
