"""Warehouses: the database engines a project's tables live in (``base.Warehouse``).

DuckDB is the embedded default. Adding an engine is its module plus one line in
:data:`WAREHOUSE_KINDS`; callers get one from :func:`warehouse_from_url` or a resource
and never name its class.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..settings import load_factory
from .base import (
    FileScope,
    LoadMode,
    MlPredictStrategy,
    SqlFunction,
    SqlRefused,
    TableStats,
    Warehouse,
    WarehouseBusy,
)

#: ``SQLML_WAREHOUSE``: the warehouse URL a deployment sets without code.
WAREHOUSE_ENV = "SQLML_WAREHOUSE"
#: URL scheme → ``module:factory`` building the warehouse from the URL (imported lazily:
#: a driver is loaded only by a project that uses its engine).
WAREHOUSE_KINDS: Mapping[str, str] = {
    "duckdb": "sqlml_dagster.warehouses.duckdb:duckdb_from_url",
}


def warehouse_from_url(url: str) -> Warehouse:
    """The warehouse a URL names: ``duckdb:///path/to/file.duckdb`` (or a plain file path,
    or ``:memory:``)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else "duckdb"
    target = WAREHOUSE_KINDS.get(scheme)
    if target is None:
        raise ValueError(
            f"warehouse URL {url.split('://', 1)[0]}://…: this version connects to "
            + ", ".join(f"{kind}://" for kind in WAREHOUSE_KINDS)
        )
    warehouse: Warehouse = load_factory(target)(url)
    return warehouse


__all__ = [
    "WAREHOUSE_ENV",
    "WAREHOUSE_KINDS",
    "FileScope",
    "LoadMode",
    "MlPredictStrategy",
    "SqlFunction",
    "SqlRefused",
    "TableStats",
    "Warehouse",
    "WarehouseBusy",
    "warehouse_from_url",
]
