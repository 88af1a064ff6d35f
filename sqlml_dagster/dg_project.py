"""The ``dg`` project a path is in, read as ``dg`` reads it — without importing Dagster.

``create-dagster project`` lays a project out as ``pyproject.toml`` (``[tool.dg]``,
``directory_type = "project"``, ``[tool.dg.project] root_module = …``), ``src/<pkg>/``
with a ``definitions.py`` (a ``@dg.definitions`` function over ``load_from_defs_folder``)
and ``src/<pkg>/defs/``. Three places need to know that layout without paying for
Dagster's import: ``sqlml check`` (which components a path means), every ``sqlml``
command run inside a project with no ``-m`` (which module holds its definitions), and the
default state folder (``.sqlml/`` at the project root, never inside an installed package).

What module a project's code location is, and how ``[tool.dg]`` names its defs folder, is
Dagster's rule (``dagster._core.workspace.load_target.get_target_from_toml_data`` and
``dagster_dg_core``'s ``DgContext.defs_module_name``); this module finds the file and
reads the same keys, and the CLI hands the parsed file to Dagster's own function.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The project-state folder's name (warehouse file, model store, step data).
STATE_FOLDER = ".sqlml"
#: The environment variable that moves the default state folder.
STATE_DIR_ENV = "SQLML_STATE_DIR"
#: Folders of installed distributions: state never goes there.
_INSTALLED_PARTS = frozenset({"site-packages", "dist-packages"})


@dataclass(frozen=True)
class DgProject:
    """A ``dg`` project (or workspace) root and its parsed configuration file."""

    #: The folder of the ``pyproject.toml`` with ``[tool.dg]`` (or of the ``dg.toml``).
    root: Path
    #: The whole parsed file (``[tool.dg]`` sits under ``tool``; a ``dg.toml`` at top level).
    toml: Mapping[str, Any] = field(repr=False)
    #: ``[tool.dg]`` (or the ``dg.toml``) itself.
    dg: Mapping[str, Any] = field(repr=False)

    @property
    def is_project(self) -> bool:
        """A project (``[tool.dg.project]``), not a workspace of several."""
        return isinstance(self.dg.get("project"), dict)

    @property
    def root_module(self) -> str | None:
        project = self.dg.get("project")
        module = project.get("root_module") if isinstance(project, dict) else None
        return module if isinstance(module, str) and module else None

    @property
    def defs_module(self) -> str | None:
        """``defs_module``, else ``<root_module>.defs`` (dg's default)."""
        project = self.dg.get("project")
        if not isinstance(project, dict):
            return None
        module = project.get("defs_module")
        if isinstance(module, str) and module:
            return module
        return f"{self.root_module}.defs" if self.root_module else None

    @property
    def defs_folder(self) -> Path | None:
        """The defs module's folder, under ``src/`` or the root (None if it is not there)."""
        module = self.defs_module
        if module is None:
            return None
        for base in (self.root / "src", self.root):
            folder = base.joinpath(*module.split("."))
            if folder.is_dir():
                return folder
        return None

    @property
    def source_folder(self) -> Path:
        """Where the root module lives: ``src/`` (create-dagster's layout) or the root —
        what an editable install puts on ``sys.path``."""
        module = self.root_module
        src = self.root / "src"
        if module and (src / module.split(".")[0]).exists():
            return src
        return self.root

    @property
    def installed(self) -> bool:
        """The project as a wheel installed it (``create-dagster`` force-includes
        ``pyproject.toml`` into the wheel): not a place to write state into."""
        return is_installed_path(self.root)


def find_dg_project(path: Path) -> DgProject | None:
    """The ``dg`` project or workspace ``path`` is in: the nearest folder at or above it
    with a ``dg.toml``, or a ``pyproject.toml`` with ``[tool.dg]`` — as ``dg`` finds it."""
    start = path.resolve()
    for folder in (start, *start.parents) if start.is_dir() else start.parents:
        for name, section in (("dg.toml", ()), ("pyproject.toml", ("tool", "dg"))):
            toml = read_toml(folder / name)
            config: Any = toml
            for key in section:
                config = config.get(key) if isinstance(config, dict) else None
            if isinstance(config, dict) and isinstance(toml, dict):
                return DgProject(folder, toml, config)
    return None


def read_toml(path: Path) -> Any:
    """A TOML file's contents, or None when it is missing or not valid TOML."""
    if not path.is_file():
        return None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: tomlkit comes with Dagster
        import tomlkit

        try:
            return tomlkit.parse(path.read_text(encoding="utf-8")).unwrap()
        except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError):
            return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


def is_installed_path(path: Path) -> bool:
    """Inside an installed distribution (``site-packages``/``dist-packages``)."""
    return any(part in _INSTALLED_PARTS for part in path.resolve().parts)


def default_state_dir(project_root: Path | None, environ: Mapping[str, str] = os.environ) -> Path:
    """Where a project keeps its warehouse file, models and step data when nothing says:
    ``$SQLML_STATE_DIR``, else ``.sqlml/`` at the project root — the ``dg`` project root,
    the folder a user works in and ignores in git — else, for a project that runs from an
    installed package (or has no root), ``.sqlml/`` in the working directory: state is
    never written into ``site-packages``."""
    configured = environ.get(STATE_DIR_ENV, "").strip()
    if configured:
        return Path(configured)
    if project_root is not None and not is_installed_path(project_root):
        return project_root / STATE_FOLDER
    return Path.cwd() / STATE_FOLDER
