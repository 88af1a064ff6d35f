"""What ``sqlml check`` compiles a path with, when a ``SqlMlProject`` defs.yaml says so.

``dg dev`` compiles a component's SQL with the ``dialect`` and the Kubernetes launcher's
``allowed_images`` of its defs.yaml; ``sqlml check`` must compile it the same way, or CI
passes what the deployment refuses (and the other way round). This module finds the
components a checked path belongs to and reads those settings with PyYAML — without
importing Dagster, which would cost ``sqlml check`` seconds — and mirrors how the component
resolves them: paths against the defs.yaml's folder, ``{{ env.NAME }}`` and
``{{ context.project_root }}`` templates rendered as Dagster renders them.

Which components a path means (docs/ci.md):

- a folder with ``SqlMlProject`` defs.yaml files at or below it (a component folder, a
  ``defs/`` folder; a ``dg`` project root means its defs folder): each component's
  ``sql_dir``, with that component's settings;
- otherwise a folder or file inside a component's ``sql_dir``: that component's settings
  (its defs.yaml is found in the path's parent folders or in the enclosing ``dg``
  project's defs folder);
- otherwise the path alone, as a plain SQL folder.

Precedence: ``--dialect`` over the defs.yaml's ``dialect`` over ``duckdb``;
``--allowed-image`` over the defs.yaml's ``launcher`` (``kind: kubernetes``: its
``allowed_images``, empty for any image; ``kind: local``: no allow-list) over
``$SQLML_K8S_ALLOWED_IMAGES``; ``--allowed-model-package`` over the defs.yaml's
``allowed_model_packages`` over ``$SQLML_ALLOWED_MODEL_PACKAGES``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .compiler import codes
from .compiler.diagnostics import Diagnostic, SourceFile, Span
from .compiler.dialects import unknown_dialect
from .compiler.transpile import dialect_of_url
from .contract import allowed_images_from_env
from .contract.model_packages import allowed_model_packages_from_env
from .dg_project import find_dg_project

#: The warehouse URL a deployment sets (``warehouses.WAREHOUSE_ENV``; not imported from
#: there, which would load pyarrow into ``sqlml check``).
WAREHOUSE_ENV = "SQLML_WAREHOUSE"
#: The folder a component's SQL is in when its defs.yaml names none.
DEFAULT_SQL_DIR = "sql"
DEFAULT_DIALECT = "duckdb"
DEFS_FILE = "defs.yaml"
#: How a defs.yaml names the component (``type:``). Subclasses cannot be told without
#: importing them; their SQL is checked as a plain folder.
COMPONENT_TYPES = frozenset({"sqlml_dagster.SqlMlProject", "sqlml_dagster.component.SqlMlProject"})
#: Folders never searched for defs.yaml files.
_SKIPPED = frozenset({"node_modules", "__pycache__", "site-packages", "venv"})


@dataclass(frozen=True)
class ComponentSettings:
    """One ``SqlMlProject`` document of a defs.yaml, as far as compiling its SQL goes.

    A value that cannot be told (a template that does not render, a wrong type, an unknown
    dialect) is None and its diagnostic is in ``problems`` under the attribute's name, so
    that a command-line option replacing the attribute also drops its problem."""

    defs_yaml: Path
    sql_dir: Path | None
    dialect: str | None = None
    #: ``local``, ``kubernetes``, or None: no ``launcher`` attribute (the environment decides).
    launcher_kind: str | None = None
    allowed_images: tuple[str, ...] = ()
    #: ``allowed_model_packages``; None: the attribute is not set (the environment decides).
    allowed_model_packages: tuple[str, ...] | None = None
    #: The dialect of a ``warehouse:`` URL (None: no URL there; the environment decides).
    warehouse_dialect: str | None = None
    problems: tuple[tuple[str, Diagnostic], ...] = ()


@dataclass(frozen=True)
class CheckTarget:
    """One compilation ``sqlml check`` runs: ``path`` with the dialect and allow-list it is
    compiled with, the defs.yaml they came from (None: a plain folder), and that file's
    diagnostics. ``compiles`` is False when the SQL folder or the dialect is unknown:
    compiling anyway would report what the project does not contain. An allow-list that
    cannot be read leaves the SQL checked without it, so its other mistakes still show."""

    path: Path
    dialect: str
    allowed_images: tuple[str, ...]
    component: Path | None = None
    allowed_model_packages: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    compiles: bool = True
    #: The dialect of the warehouse the SQL will run on (a server's is checked, SQLML118).
    warehouse_dialect: str | None = None


def check_targets(
    path: Path,
    *,
    dialect: str | None,
    allowed_images: Sequence[str] | None,
    environ: Mapping[str, str],
    allowed_model_packages: Sequence[str] | None = None,
) -> list[CheckTarget]:
    """What checking ``path`` compiles (see the module's docstring); ``dialect``,
    ``allowed_images`` and ``allowed_model_packages`` are the command-line options (None:
    not given). Raises ``ValueError`` for an unreadable ``$SQLML_ALLOWED_MODEL_PACKAGES``."""
    components = components_under(path, environ) if path.is_dir() else []
    if components:
        pairs = [(c.sql_dir or c.defs_yaml.parent, c) for c in components]
    else:
        pairs = [(path, c) for c in owning_components(path, environ)]
    if not pairs:
        images = allowed_images_from_env(environ) if allowed_images is None else allowed_images
        packages = _model_packages(None, allowed_model_packages, environ)
        return [
            CheckTarget(
                path,
                dialect or DEFAULT_DIALECT,
                tuple(images),
                allowed_model_packages=packages,
                warehouse_dialect=dialect_of_url(environ.get(WAREHOUSE_ENV, "")),
            )
        ]
    return [
        _target(p, c, dialect, allowed_images, environ, allowed_model_packages) for p, c in pairs
    ]


def _model_packages(
    component: ComponentSettings | None,
    option: Sequence[str] | None,
    environ: Mapping[str, str],
) -> tuple[str, ...]:
    if option is not None:
        return tuple(option)
    if component is not None and component.allowed_model_packages is not None:
        return component.allowed_model_packages
    return allowed_model_packages_from_env(environ)


def _target(
    path: Path,
    component: ComponentSettings,
    dialect: str | None,
    allowed_images: Sequence[str] | None,
    environ: Mapping[str, str],
    allowed_model_packages: Sequence[str] | None = None,
) -> CheckTarget:
    overridden: set[str] = set()
    if dialect is not None:
        overridden.add("dialect")
    if allowed_images is not None:
        overridden.add("launcher")
        images = tuple(allowed_images)
    elif component.launcher_kind == "kubernetes":
        images = component.allowed_images
    elif component.launcher_kind == "local":
        images = ()
    else:
        images = tuple(allowed_images_from_env(environ))
    problems = [(name, d) for name, d in component.problems if name not in overridden]
    return CheckTarget(
        path=path,
        dialect=dialect or component.dialect or DEFAULT_DIALECT,
        allowed_images=images,
        component=component.defs_yaml,
        allowed_model_packages=_model_packages(component, allowed_model_packages, environ),
        diagnostics=tuple(d for _, d in problems),
        compiles=not any(name in ("sql_dir", "dialect") for name, _ in problems),
        warehouse_dialect=component.warehouse_dialect
        or dialect_of_url(environ.get(WAREHOUSE_ENV, "")),
    )


# -- finding components ------------------------------------------------------------------


def components_under(folder: Path, environ: Mapping[str, str]) -> list[ComponentSettings]:
    """The SqlMlProject components declared at or below ``folder`` (for a ``dg`` project
    root: in its defs folder), in path order."""
    project = find_dg_project(folder)
    search = folder
    if project is not None and project.root == folder.resolve() and project.defs_folder:
        search = project.defs_folder
    found: list[ComponentSettings] = []
    for defs_yaml in sorted(_defs_files(search)):
        found += read_defs_yaml(defs_yaml, environ)
    return found


def owning_components(path: Path, environ: Mapping[str, str]) -> list[ComponentSettings]:
    """The components whose ``sql_dir`` holds ``path`` (or is it); the innermost
    ``sql_dir`` wins. Their defs.yaml is in a parent folder of ``path`` or in the
    enclosing ``dg`` project's defs folder."""
    target = path.resolve()
    candidates: set[Path] = set()
    for folder in target.parents:
        if (folder / DEFS_FILE).is_file():
            candidates.add(folder / DEFS_FILE)
    project = find_dg_project(target)
    if project is not None and project.defs_folder is not None:
        candidates.update(_defs_files(project.defs_folder))
    owners: list[ComponentSettings] = []
    for defs_yaml in sorted(candidates):
        for component in read_defs_yaml(defs_yaml, environ):
            sql_dir = component.sql_dir
            if sql_dir is not None and (target == sql_dir or sql_dir in target.parents):
                owners.append(component)
    if not owners:
        return []
    innermost = max(len(c.sql_dir.parts) for c in owners if c.sql_dir is not None)
    return [c for c in owners if c.sql_dir is not None and len(c.sql_dir.parts) == innermost]


def _defs_files(folder: Path) -> Iterator[Path]:
    for current, subfolders, files in os.walk(folder):
        subfolders[:] = [s for s in subfolders if not s.startswith(".") and s not in _SKIPPED]
        if DEFS_FILE in files:
            yield Path(current) / DEFS_FILE


# -- reading a defs.yaml -----------------------------------------------------------------


def read_defs_yaml(defs_yaml: Path, environ: Mapping[str, str]) -> list[ComponentSettings]:
    """Every SqlMlProject document of one defs.yaml (one file may declare several). A file
    that is not valid YAML is one component whose problem says so, when it names the
    component at all."""
    try:
        text = defs_yaml.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    source = SourceFile(shown_path(defs_yaml), text)
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as e:
        if not any(t in text for t in COMPONENT_TYPES):
            return []
        mark = getattr(e, "problem_mark", None)
        offset = getattr(mark, "index", 0) or 0
        reason = getattr(e, "problem", None) or str(e).splitlines()[0]
        problem = _diagnostic(
            source, offset, offset + 1, f"{DEFS_FILE} is not valid YAML: {reason}", "fix the YAML"
        )
        return [ComponentSettings(defs_yaml, None, problems=(("sql_dir", problem),))]
    found = []
    for document in documents:
        if isinstance(document, yaml.MappingNode):
            kind = _child(document, "type")
            if isinstance(kind, yaml.ScalarNode) and kind.value in COMPONENT_TYPES:
                found.append(_Reader(defs_yaml, source, environ).read(document))
    return found


def shown_path(path: Path) -> str:
    """Relative to the working directory when inside it, as the compiler shows SQL files."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class _Reader:
    defs_yaml: Path
    source: SourceFile
    environ: Mapping[str, str]

    def read(self, document: yaml.MappingNode) -> ComponentSettings:
        here = self.defs_yaml.parent
        attributes = _child(document, "attributes")
        problems: list[tuple[str, Diagnostic]] = []
        sql_dir_node = _child(attributes, "sql_dir")
        sql_dir_value: Any = DEFAULT_SQL_DIR
        if sql_dir_node is not None:
            sql_dir_value = self.text(sql_dir_node, "sql_dir", problems)
        sql_dir = None if sql_dir_value is None else (here / sql_dir_value).resolve()
        if sql_dir is not None and not sql_dir.is_dir():
            where = sql_dir_node or attributes or document
            problems.append(
                (
                    "sql_dir",
                    self.diagnostic(
                        where,
                        f"the SQL folder {sql_dir} does not exist",
                        "sql_dir is relative to the folder of this defs.yaml",
                        codes.NO_SQL_FILES,
                    ),
                )
            )
            sql_dir = None
        dialect_node = _child(attributes, "dialect")
        dialect = None
        if dialect_node is not None:
            dialect = self.text(dialect_node, "dialect", problems)
            wrong = None if dialect is None else unknown_dialect(dialect)
            if wrong is not None:
                problems.append(
                    ("dialect", self.diagnostic(dialect_node, *wrong, codes.UNKNOWN_DIALECT))
                )
                dialect = None
        kind, images = self.launcher(_child(attributes, "launcher"), problems)
        packages_node = _child(attributes, "allowed_model_packages")
        packages = None
        if packages_node is not None:
            packages = self.strings(packages_node, "allowed_model_packages", problems)
        warehouse_node = _child(attributes, "warehouse")
        warehouse = None
        if isinstance(warehouse_node, yaml.ScalarNode) and not warehouse_node.tag.endswith(":null"):
            # Only the URL's scheme matters here: a template in its credentials that does not
            # render (a password variable CI does not set) is no problem of the SQL's.
            url = self.text(warehouse_node, "warehouse", []) or str(warehouse_node.value)
            warehouse = dialect_of_url(url)
        return ComponentSettings(
            defs_yaml=self.defs_yaml,
            sql_dir=sql_dir,
            dialect=dialect,
            launcher_kind=kind,
            allowed_images=images,
            allowed_model_packages=packages,
            warehouse_dialect=warehouse,
            problems=tuple(problems),
        )

    def strings(
        self, node: yaml.Node, attribute: str, problems: list[tuple[str, Diagnostic]]
    ) -> tuple[str, ...] | None:
        """A list of strings (None: not one, and the problem recorded)."""
        if not isinstance(node, yaml.SequenceNode):
            problems.append((attribute, self.unreadable(node, f"{attribute} must be a list")))
            return None
        items = [self.text(item, attribute, problems) for item in node.value]
        return tuple(i for i in items if i is not None)

    def launcher(
        self, node: yaml.Node | None, problems: list[tuple[str, Diagnostic]]
    ) -> tuple[str | None, tuple[str, ...]]:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            return None, ()
        if not isinstance(node, yaml.MappingNode):
            problems.append(
                ("launcher", self.unreadable(node, "launcher must be a mapping with a kind"))
            )
            return None, ()
        kind_node = _child(node, "kind")
        kind = None if kind_node is None else self.text(kind_node, "launcher", problems)
        if kind not in ("local", "kubernetes"):
            if kind is not None or kind_node is None:
                problems.append(
                    (
                        "launcher",
                        self.unreadable(
                            kind_node or node, "launcher.kind must be 'local' or 'kubernetes'"
                        ),
                    )
                )
            return None, ()
        images_node = _child(node, "allowed_images")
        if kind == "local" or images_node is None:
            return kind, ()
        if not isinstance(images_node, yaml.SequenceNode):
            problems.append(
                (
                    "launcher",
                    self.unreadable(images_node, "allowed_images must be a list of image prefixes"),
                )
            )
            return kind, ()
        images = [self.text(item, "launcher", problems) for item in images_node.value]
        return kind, tuple(i for i in images if i is not None)

    def text(
        self, node: yaml.Node, attribute: str, problems: list[tuple[str, Diagnostic]]
    ) -> str | None:
        """A scalar's value as Dagster resolves it: a template is rendered, numbers and
        booleans become strings (as the component's validators turn them)."""
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
            problems.append((attribute, self.unreadable(node, "expected a string here")))
            return None
        value: Any = yaml.SafeLoader("").construct_object(node)
        if isinstance(value, str) and "{{" in value:
            rendered = render_template(value, self.environ, self.defs_yaml)
            if isinstance(rendered, _Unrendered):
                hint = (
                    "sqlml check renders env and context.project_root like Dagster: set the "
                    "variable, or pass --dialect / --allowed-image (they take precedence over "
                    "defs.yaml)"
                )
                problems.append((attribute, self.unreadable(node, rendered.reason, hint)))
                return None
            value = rendered
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def unreadable(self, node: yaml.Node, message: str, hint: str | None = None) -> Diagnostic:
        return self.diagnostic(
            node,
            message,
            hint or "see docs/component.md; `dg check yaml` explains every attribute's type",
            codes.UNREADABLE_COMPONENT,
        )

    def diagnostic(self, node: yaml.Node, message: str, hint: str, code: str) -> Diagnostic:
        stop = self.source.text.find("\n", node.start_mark.index)
        stop = len(self.source.text) if stop < 0 else stop
        end = min(node.end_mark.index, stop)
        return _diagnostic(self.source, node.start_mark.index, end, message, hint, code)


def _diagnostic(
    source: SourceFile,
    start: int,
    end: int,
    message: str,
    hint: str,
    code: str = codes.UNREADABLE_COMPONENT,
) -> Diagnostic:
    return Diagnostic(code, message, Span.of(source, start, end), hint=hint, source=source)


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if getattr(k, "value", None) == key), None)


# -- templates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unrendered:
    reason: str


def render_template(text: str, environ: Mapping[str, str], defs_yaml: Path) -> Any:
    """``text`` rendered the way Dagster renders a defs.yaml value (Jinja, native types),
    with the scope a value of sqlml's can use without Dagster: ``env`` (``env.NAME``,
    ``env('NAME', default)``) and ``context.project_root``. Anything else, or a variable
    that is not set, is an :class:`_Unrendered` with the reason."""
    from jinja2 import Undefined
    from jinja2.exceptions import TemplateError, UndefinedError
    from jinja2.nativetypes import NativeTemplate

    project = find_dg_project(defs_yaml.parent)
    scope = {"env": _Env(environ), "context": _Context(project.root if project else None)}
    only_dagster = (
        f"'{text}' names something only Dagster knows (sqlml check renders env and "
        "context.project_root)"
    )
    try:
        value = NativeTemplate(text).render(**scope)
    except _Unresolved as e:
        return _Unrendered(f"'{text}': {e}")
    except UndefinedError as e:
        return _Unrendered(f"{only_dagster}: {e.message}")
    except (TemplateError, TypeError, ValueError, AttributeError) as e:
        return _Unrendered(f"'{text}' cannot be rendered: {e}")
    if isinstance(value, Undefined):
        return _Unrendered(only_dagster)
    if value is None:
        return _Unrendered(f"'{text}' renders to nothing")
    return value


class _Unresolved(Exception):
    """A template names something that exists in Dagster's scope but has no value here."""


class _Env:
    """Dagster's ``env`` scope: ``env.NAME`` and ``env('NAME', default)``. An unset
    ``env.NAME`` is a problem here, where Dagster renders None (``ghcr.io/None/``)."""

    def __init__(self, environ: Mapping[str, str]):
        self._environ = environ

    def __call__(self, key: str, default: Any = ...) -> Any:
        value = self._environ.get(key, default)
        if value is ...:
            raise _Unresolved(f"the environment variable {key} is not set")
        return value

    def __getattr__(self, key: str) -> str:
        if key.startswith(("jinja", "_")):
            raise AttributeError(key)
        if key not in self._environ:
            raise _Unresolved(f"the environment variable {key} is not set")
        return self._environ[key]


class _Context:
    """Dagster's ``context`` scope, as far as a path needs it: ``context.project_root``."""

    def __init__(self, root: Path | None):
        self._root = root

    @property
    def project_root(self) -> str:
        if self._root is None:
            raise _Unresolved(
                "context.project_root: this defs.yaml is in no dg project (no dg.toml, or "
                "pyproject.toml with [tool.dg], in its folder or above)"
            )
        return str(self._root.resolve())
