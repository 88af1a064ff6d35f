"""Warehouses: the database engines a project's tables live in (``base.Warehouse``).

DuckDB is the embedded default; PostgreSQL and MySQL/MariaDB are server warehouses (``server.py`` holds what
server engines share). Adding an engine is its module plus one line in
:data:`WAREHOUSE_KINDS`; callers get one from :func:`warehouse_from_url` (or
:func:`configured_warehouse`) or a resource and never name its class.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..settings import SettingError, load_factory
from .base import (
    FileScope,
    LoadMode,
    MlPredictStrategy,
    SqlFunction,
    SqlRefused,
    StatementRejected,
    TableStats,
    Warehouse,
    WarehouseAuthFailed,
    WarehouseBusy,
    WarehouseDenied,
    WarehouseFault,
    WarehouseMissing,
    WarehouseUnreachable,
)

#: ``SQLML_WAREHOUSE``: the warehouse URL a deployment sets without code.
WAREHOUSE_ENV = "SQLML_WAREHOUSE"
#: URL scheme → ``module:factory`` building the warehouse from the URL (imported lazily:
#: a driver is loaded only by a project that uses its engine).
WAREHOUSE_KINDS: Mapping[str, str] = {
    "duckdb": "sqlml_dagster.warehouses.duckdb:duckdb_from_url",
    "postgresql": "sqlml_dagster.warehouses.postgres:postgres_from_url",
    "postgres": "sqlml_dagster.warehouses.postgres:postgres_from_url",
    "mysql": "sqlml_dagster.warehouses.mysql:mysql_from_url",
    "mariadb": "sqlml_dagster.warehouses.mysql:mysql_from_url",
}


def warehouse_from_url(url: str) -> Warehouse:
    """The warehouse a URL names: ``duckdb:///path/to/file.duckdb`` (or a plain file path,
    or ``:memory:``), ``postgresql://user@host:5432/database``,
    ``mysql://user@host:3306/database`` (MySQL or MariaDB)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else "duckdb"
    target = WAREHOUSE_KINDS.get(scheme)
    if target is None:
        raise ValueError(
            f"warehouse URL {url.split('://', 1)[0]}://…: this version connects to "
            + ", ".join(f"{kind}://" for kind in WAREHOUSE_KINDS)
        )
    warehouse: Warehouse = load_factory(target)(url)
    return warehouse


def configured_warehouse(
    given: Warehouse | str | None, environ: Mapping[str, str], default: str
) -> Warehouse:
    """The warehouse a project uses: the one given (a resource or a URL), else
    ``$SQLML_WAREHOUSE``, else ``default`` (the DuckDB file in the project's state folder)."""
    if isinstance(given, str):
        return warehouse_from_url(given)
    if given is not None:
        return given
    url = environ.get(WAREHOUSE_ENV, "").strip()
    if not url:
        return warehouse_from_url(default)
    try:
        return warehouse_from_url(url)
    except ValueError as e:
        raise SettingError(f"{WAREHOUSE_ENV}={shown_url(url)!r}: {e}") from None


def shown_url(url: str) -> str:
    """A URL as messages may show it: without the password."""
    if "://" not in url or "@" not in url.split("://", 1)[1].split("/", 1)[0]:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.split("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"


__all__ = [
    "WAREHOUSE_ENV",
    "WAREHOUSE_KINDS",
    "FileScope",
    "LoadMode",
    "MlPredictStrategy",
    "SqlFunction",
    "SqlRefused",
    "StatementRejected",
    "TableStats",
    "Warehouse",
    "WarehouseAuthFailed",
    "WarehouseBusy",
    "WarehouseDenied",
    "WarehouseFault",
    "WarehouseMissing",
    "WarehouseUnreachable",
    "configured_warehouse",
    "shown_url",
    "warehouse_from_url",
]
