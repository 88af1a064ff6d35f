"""An optional dependency (a package of one of the extras) imported when first used.

``import sqlml_dagster`` and everything a scikit-learn project runs must work in the lean
install (``pip install 'sqlml-dagster[sklearn]'``). Some modules hold a class a user may
never touch but that is *reachable*: ``dg`` and ``dg dev`` list a package's component types
by reading every public name of ``sqlml_dagster`` (``PostgresWarehouse``,
``MySqlWarehouse``), which imports their modules — and a module-level ``import
connectorx`` there would break every ``dg`` command of a project without the ``mysql``
extra. Such a module binds its driver with :func:`optional_module` instead: the real module
when installed, else a stand-in whose first attribute read raises one ``ImportError`` line
naming the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class MissingModule:
    """Stands for a module that is not installed; any use says which extra brings it."""

    def __init__(self, name: str, extra: str) -> None:
        self._name = name
        self._extra = extra

    def __getattr__(self, attribute: str) -> Any:
        raise ImportError(
            f"{self._name} is not installed: pip install 'sqlml-dagster[{self._extra}]'",
            name=self._name,
        )

    def __bool__(self) -> bool:
        return False


def optional_module(name: str, extra: str) -> ModuleType | Any:
    """``import name``, or a :class:`MissingModule` when the package is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return MissingModule(name, extra)
