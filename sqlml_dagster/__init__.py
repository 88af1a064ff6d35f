"""sqlml_dagster: machine learning from SQL files, as a Dagster asset graph.

from sqlml_dagster import build_defs
defs = build_defs("sql/")

The public names load lazily (PEP 562), so ``python -m sqlml_dagster.runtime`` inside a
step image imports neither Dagster nor the compiler: the runtime needs only
``sqlml-dagster[runtime]``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .quiet import silence_later_dagster_warnings

__version__ = "0.1.0"

# One warning Dagster raises about its own internals long after our code ran (quiet.py).
silence_later_dagster_warnings()

_EXPORTS = {
    "SqlMlCompileError": ".compiler",
    "check_project": ".compiler",
    "compile_project": ".compiler",
    "SqlMlProject": ".component",
    "build_assets": ".definitions",
    "build_defs": ".definitions",
    "KubernetesLauncher": ".launchers.kubernetes",
    "LocalLauncher": ".launchers.local",
    "SqlMlStorage": ".ops.storage",
    "DuckDBWarehouse": ".warehouses.duckdb",
    "PostgresWarehouse": ".warehouses.postgres",
    "MySqlWarehouse": ".warehouses.mysql",
    "SqlMlTranslator": ".translator",
    "model_factory": ".contract.model_packages",
}

if TYPE_CHECKING:
    from .compiler import SqlMlCompileError, check_project, compile_project
    from .component import SqlMlProject
    from .contract.model_packages import model_factory
    from .definitions import build_assets, build_defs
    from .launchers.kubernetes import KubernetesLauncher
    from .launchers.local import LocalLauncher
    from .ops.storage import SqlMlStorage
    from .translator import SqlMlTranslator
    from .warehouses.duckdb import DuckDBWarehouse
    from .warehouses.mysql import MySqlWarehouse
    from .warehouses.postgres import PostgresWarehouse


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sqlml_dagster' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


def __dir__() -> list[str]:
    """The lazy names too: `dg list components` finds components through ``dir()``."""
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "DuckDBWarehouse",
    "KubernetesLauncher",
    "LocalLauncher",
    "MySqlWarehouse",
    "PostgresWarehouse",
    "SqlMlCompileError",
    "SqlMlProject",
    "SqlMlStorage",
    "SqlMlTranslator",
    "__version__",
    "build_assets",
    "build_defs",
    "check_project",
    "compile_project",
    "model_factory",
]
