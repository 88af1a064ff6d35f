"""The ``dagster.Definitions`` a command runs or inspects, found as Dagster finds them.

``sqlml materialize``, ``sqlml models …``, ``run-sql`` and ``sql`` take ``-m MODULE`` — or
nothing, inside a ``dg`` project. What a module means is Dagster's rule, applied through
Dagster's own functions so that ``sqlml`` loads exactly what ``dg dev`` and ``dg launch``
load:

- a module with a ``@dg.definitions`` function (what ``create-dagster project`` writes into
  ``definitions.py``) or a ``Definitions`` object: that (Dagster's
  ``loadable_targets_from_loaded_module``: the function first, one of each at most);
- a ``dg`` project's root package (``-m my_project``): the module its ``[tool.dg]``
  settings name (below);
- a ``dg`` project's defs package (``-m my_project.defs``, or a folder inside it): its
  components, loaded by ``dagster.components.load_defs``;
- no ``-m``: the ``dg`` project around the working directory (``pyproject.toml`` with
  ``[tool.dg]``), whose code location is what Dagster's ``get_target_from_toml_data``
  reads from it (``code_location_target_module``, else ``<root_module>.definitions``;
  ``autoload_defs``: the defs module) — the project's ``src/`` goes on ``sys.path`` when
  the project is not installed.

Loading compiles the SQL: a :class:`~sqlml_dagster.compiler.diagnostics.SqlMlCompileError`
passes through for the caller to print; everything else a user can fix is a
:class:`~.errors.CliError`, one line.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from ..dg_project import DgProject, find_dg_project
from ..quiet import dagster_internal_warnings_silenced, silence_later_dagster_warnings
from ..settings import SettingError
from .errors import CliError


def load_definitions(module_name: str | None, attribute: str | None = None) -> tuple[str, Any]:
    """``(what it is called, its Definitions)`` for ``-m module_name [--attribute a]``, or
    for the ``dg`` project around the working directory when ``module_name`` is None."""
    from ..compiler.diagnostics import SqlMlCompileError

    _on_path(os.getcwd())
    here = find_dg_project(Path.cwd())
    silence_later_dagster_warnings()  # outside the block below, which would undo it
    try:
        with dagster_internal_warnings_silenced():
            if module_name is None:
                return _load_project(here)
            if here is not None and here.is_project:
                _importable(here)
            module = importlib.import_module(module_name)
            return module_name, _definitions_of(module, attribute, here)
    except (SqlMlCompileError, CliError):
        raise
    except ModuleNotFoundError as e:
        raise CliError(f"cannot import {module_name or 'the dg project'}: {e}") from None
    except SettingError as e:  # a SQLML_* variable the definitions could not read
        raise CliError(str(e)) from None
    except Exception as e:  # Dagster's loading errors, said in one line
        compile_error = _compile_error_in(e)
        if compile_error is not None:  # a component's SQL, wrapped by Dagster's loader
            raise compile_error from None
        raise CliError(f"cannot load {module_name or 'the dg project'}: {_first_line(e)}") from None


def _load_project(project: DgProject | None) -> tuple[str, Any]:
    """The code location of the ``dg`` project around the working directory."""
    if project is None:
        raise CliError(
            "no -m MODULE, and the working directory is in no dg project (a pyproject.toml "
            "with [tool.dg], as create-dagster writes): pass -m my_project.definitions"
        )
    if not project.is_project:
        raise CliError(
            f"{project.root} is a dg workspace: run sqlml inside one of its projects, or "
            "pass -m MODULE"
        )
    from dagster._core.workspace.load_target import (
        AutoloadDefsModuleTarget,
        ModuleTarget,
        get_target_from_toml_data,
    )

    _importable(project)
    tool = project.toml.get("tool")
    # [tool.dg] of a pyproject.toml, or a dg.toml's top level, where Dagster reads [tool.dg]
    data = {"tool": {**(tool if isinstance(tool, dict) else {}), "dg": dict(project.dg)}}
    target = get_target_from_toml_data(data)
    if isinstance(target, AutoloadDefsModuleTarget):
        name = target.autoload_defs_module_name
        return name, _load_defs_folder(importlib.import_module(name), project)
    if isinstance(target, ModuleTarget):
        name = target.module_name
        return name, _definitions_of(importlib.import_module(name), target.attribute, project)
    raise CliError(
        f"{project.root / 'pyproject.toml'} names no code location module ([tool.dg.project] "
        "root_module, or [tool.dagster] module_name): pass -m MODULE"
    )


def _definitions_of(module: ModuleType, attribute: str | None, here: DgProject | None) -> Any:
    """The Definitions ``module`` holds (or ``attribute`` names), as Dagster loads a module
    target; a ``dg`` project's root or defs package stands for the project's."""
    from dagster import DagsterInvariantViolationError, Definitions
    from dagster._core.workspace.autodiscovery import loadable_targets_from_loaded_module

    name = module.__name__
    if attribute:
        if not hasattr(module, attribute):
            raise CliError(f"{name} has no attribute '{attribute}'")
        return _as_definitions(getattr(module, attribute), f"{name}.{attribute}")
    try:
        targets = loadable_targets_from_loaded_module(module)
    except DagsterInvariantViolationError as e:
        project = _project_of(module) or here
        if project is not None and project.is_project:
            if name == project.root_module:
                return _load_project(project)[1]
            defs_module = project.defs_module
            if defs_module and (name == defs_module or name.startswith(defs_module + ".")):
                return _load_defs_folder(module, project)
        if "No Definitions" in str(e):
            raise CliError(
                f"{name} has no dagster.Definitions (nor a @dg.definitions function)"
                + _hint(project)
            ) from None
        raise CliError(f"{name}: {_first_line(e)}") from None
    target = targets[0]
    value = _as_definitions(target.target_definition, f"{name}.{target.attribute}")
    if not isinstance(value, Definitions):
        raise CliError(f"{name} holds no dagster.Definitions" + _hint(_project_of(module)))
    return value


def _as_definitions(value: Any, where: str) -> Any:
    """A ``Definitions``, calling a ``@dg.definitions`` function as Dagster does."""
    from dagster import Definitions

    try:
        from dagster.components.definitions import LazyDefinitions
    except ImportError:  # a Dagster without components: no such functions
        LazyDefinitions = ()  # type: ignore[assignment,misc]
    if isinstance(value, LazyDefinitions):
        if value.has_context_arg:
            raise CliError(
                f"{where} is a @dg.definitions function that takes a ComponentLoadContext: "
                "Dagster loads such a function only from a defs folder — point -m at the "
                "project's definitions module or its root package"
            )
        value = value()
    if not isinstance(value, Definitions):
        raise CliError(f"{where} is a {type(value).__name__}, not a dagster.Definitions")
    return value


def _load_defs_folder(module: ModuleType, project: DgProject) -> Any:
    """A defs package's components, as ``dg`` autoloads them."""
    from dagster.components import load_defs

    return load_defs(module, project_root=project.root)


def _project_of(module: ModuleType) -> DgProject | None:
    file = getattr(module, "__file__", None)
    return find_dg_project(Path(file)) if file else None


def _importable(project: DgProject) -> None:
    """The project's packages importable: an installed (or editable) project already is;
    a checkout that was never installed gets its ``src/`` (or root) on ``sys.path``."""
    root_module = project.root_module
    if root_module and importlib.util.find_spec(root_module.split(".")[0]) is None:
        _on_path(str(project.source_folder))


def _on_path(folder: str) -> None:
    if folder not in sys.path:
        sys.path.insert(0, folder)


def _hint(project: DgProject | None) -> str:
    if project is None or not project.is_project or not project.root_module:
        return ""
    return f"; this dg project's definitions: -m {project.root_module} (or no -m inside it)"


def _compile_error_in(error: BaseException) -> Any:
    """The SqlMlCompileError that Dagster's component loader wrapped, if any."""
    from ..compiler.diagnostics import SqlMlCompileError

    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, SqlMlCompileError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
