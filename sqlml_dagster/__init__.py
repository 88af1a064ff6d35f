"""sqlml_dagster: machine learning from SQL files, as a Dagster asset graph.

from sqlml_dagster import build_defs
defs = build_defs("sql/")
"""

from .compiler import SqlMlCompileError, check_project, compile_project
from .definitions import build_assets, build_defs
from .ops.launcher import LocalLauncher
from .ops.steps import SqlMlStorage
from .ops.warehouse import DuckDBWarehouse
from .translator import SqlMlTranslator

__version__ = "0.1.0"

__all__ = [
    "DuckDBWarehouse",
    "LocalLauncher",
    "SqlMlCompileError",
    "SqlMlStorage",
    "SqlMlTranslator",
    "__version__",
    "build_assets",
    "build_defs",
    "check_project",
    "compile_project",
]
