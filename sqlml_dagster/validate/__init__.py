"""Deep checks: what ``sqlml check`` verifies beyond compiling (docs/ci.md).

Compiling proves a project is well formed; these checks prove it will run: every
``WITH model.*`` is a parameter of the model's constructor and every required one is set
(``models.py``), every ``train.*``/``validation.*``/``resources.*`` key is one the runtime
reads and every resource amount one Kubernetes accepts (``settings.py``), every LABEL and
COLUMN name is a column of its SELECT and every scoring SELECT has the model's features
(``schemas.py``). Each finding is an ordinary :class:`Diagnostic` with a 4xx code.

They run outside the compiler (which is pure and runs inside ``build_defs``) because they
do I/O: a child process imports model classes, DuckDB describes files and warehouses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..compiler.diagnostics import Diagnostic, sorted_diagnostics
from ..compiler.project import Project, check_project
from ..contract.model_packages import ModelPackages
from ._spans import Sources
from .models import ModelChecks, default_cache_dir
from .schemas import (
    Columns,
    DeepCheckError,
    Schemas,
    check_columns,
    describe_warehouse,
    find_schema_file,
    load_schema_file,
)
from .settings import check_settings


@dataclass(frozen=True)
class DeepCheckOptions:
    """``imports``: import model classes that cannot be read from source (in a child
    process, at most ``import_timeout`` seconds in all); ``cache_dir``: where answers are
    kept between runs (None: no cache); ``warehouse``: a DuckDB file to describe source
    tables from; ``schemas``: a ``schemas.yml`` (default: found beside the SQL)."""

    imports: bool = True
    import_timeout: float = 60.0
    cache_dir: Path | None = None
    warehouse: Path | None = None
    schemas: Path | None = None


@dataclass(frozen=True)
class CheckedPath:
    """What checking one path found: the project (None if it did not compile), every
    diagnostic, and the modules imported to check model classes (the report lists them:
    ``sqlml check`` runs code only from the project's model packages, and says which)."""

    project: Project | None
    diagnostics: list[Diagnostic]
    imported: tuple[str, ...] = ()


def check_path(
    path: str | Path,
    dialect: str = "duckdb",
    allowed_images: Sequence[str] = (),
    options: DeepCheckOptions | None = None,
    allowed_model_packages: Sequence[str] = (),
    target_dialect: str | None = None,
) -> CheckedPath:
    """``check_project`` plus the deep checks — what ``sqlml check`` runs per path. The
    model classes the files name start importing before compilation, so the two overlap
    (only those in allowed model packages: the same rule the compiler applies)."""
    options = options or DeepCheckOptions(cache_dir=default_cache_dir())
    packages = ModelPackages.of_project(Path(path), allowed_model_packages)
    models = _model_checks(Path(path), options, packages)
    models.prefetch(dialect)
    try:
        project, found = check_project(
            path,
            dialect=dialect,
            allowed_images=allowed_images,
            allowed_model_packages=allowed_model_packages,
            target_dialect=target_dialect,
        )
    except BaseException:
        models.abandon()
        raise
    if project is None:
        models.abandon()
        return CheckedPath(None, found, models.imported_modules)
    diagnostics = sorted_diagnostics([*found, *deep_check(project, options, models)])
    return CheckedPath(project, diagnostics, models.imported_modules)


def deep_check(
    project: Project, options: DeepCheckOptions | None = None, models: ModelChecks | None = None
) -> list[Diagnostic]:
    """Every deep-check diagnostic of a compiled project, in reading order. Raises
    :class:`DeepCheckError` when the warehouse cannot be opened."""
    options = options or DeepCheckOptions(cache_dir=default_cache_dir())
    models = models or _model_checks(project.root, options, project.model_packages)
    try:
        declared: dict[str, Columns] = {}
        if options.warehouse is not None:
            declared.update(describe_warehouse(options.warehouse))
        if options.schemas is not None and not options.schemas.is_file():
            raise DeepCheckError(f"schemas file {options.schemas} does not exist")
    except DeepCheckError:
        models.abandon()
        raise
    sources = Sources(project)
    models.start(project, sources)  # the import process runs while the checks below do
    try:
        found = check_settings(project, sources)
        schema_file = options.schemas or find_schema_file(project)
        if schema_file is not None:
            tables, problems = load_schema_file(schema_file, _shown(schema_file, sources.base))
            declared.update(tables)
            found += problems
        schemas = Schemas(project, declared)
        try:
            found += check_columns(project, sources, schemas)
        finally:
            schemas.close()
    finally:
        found_models = models.finish()
    return sorted_diagnostics([*found, *found_models])


def _model_checks(
    path: Path, options: DeepCheckOptions, packages: ModelPackages | None = None
) -> ModelChecks:
    return ModelChecks(
        path,
        imports=options.imports,
        import_timeout=options.import_timeout,
        cache_dir=options.cache_dir,
        packages=packages,
    )


def _shown(path: Path, base: Path) -> str:
    """A path as diagnostics show SQL files: relative to the folder holding the SQL folder."""
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


__all__ = [
    "CheckedPath",
    "DeepCheckError",
    "DeepCheckOptions",
    "check_path",
    "deep_check",
    "default_cache_dir",
]
