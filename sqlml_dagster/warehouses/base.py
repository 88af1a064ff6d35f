"""The Warehouse seam: what the orchestrator asks of the database that holds the tables.

Table assets run their SQL in it; ML steps export a SELECT's rows from it to the step's
data file (Arrow IPC or Parquet, ``contract/step_data.py``; fingerprinted on the way) and
load a step's output file back into a table; the
``sqlml sql`` shell and the training-data checks query it. Each engine is one module in
this package implementing :class:`Warehouse`; callers only ever see the protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal, Protocol, runtime_checkable

import pyarrow as pa
from sqlglot import exp

from ..compiler.file_paths import project_folder
from ..compiler.ir import QualifiedName
from ..contract.step_data import DataFormat

#: How a step's output replaces a table: all of it, added rows, or the rows of one
#: partition's window (deleted and inserted in one transaction).
LoadMode = Literal["replace", "append", "partition"]

#: How ``ML_PREDICT(model, …)`` inside a table's SQL is evaluated: ``udf`` registers the
#: model as a vectorized Python function on the connection (DuckDB: the model runs in the
#: orchestrator's process, beside the engine); ``stream`` runs the query in the warehouse
#: without the call, scores its Arrow stream in the orchestrator's process and writes the
#: result back through the bulk path (server warehouses, docs/warehouses.md).
MlPredictStrategy = Literal["udf", "stream"]


@dataclass(frozen=True)
class SqlFunction:
    """A vectorized Python function made callable from SQL for one materialization:
    Arrow arrays in (one per parameter), one Arrow array out."""

    name: str
    function: Callable[..., pa.Array]
    parameters: tuple[str, ...]
    return_type: str


@dataclass(frozen=True)
class FileScope:
    """The files one statement may open (docs/security.md, "Files"): its relative paths
    resolve against ``folder`` (the SQL file's folder), and it may read and write only
    under ``allowed`` (the project folder, plus what the warehouse's settings add).
    A statement given no scope may open no file at all."""

    folder: str
    allowed: tuple[str, ...] = ()

    @classmethod
    def of_folder(cls, folder: Path) -> FileScope:
        """Relative paths from ``folder``, and files under it only."""
        resolved = str(folder.resolve())
        return cls(folder=resolved, allowed=(resolved,))

    @classmethod
    def of_sql_file(cls, sql_file: Path, project_root: Path | None = None) -> FileScope:
        """The scope of a statement in ``sql_file`` of the project compiled from
        ``project_root`` (its SQL folder): the project folder (:func:`project_folder`)."""
        root = project_root if project_root is not None else sql_file.parent
        if not root.is_dir():
            root = root.parent
        return cls(folder=str(sql_file.parent.resolve()), allowed=(str(project_folder(root)),))


class WarehouseBusy(Exception):
    """Another process held the warehouse longer than the step would wait for it."""


class SqlRefused(Exception):
    """A statement the warehouse will not run here (an extension or ``ATTACH`` that no
    setting allows): the message says which and what setting allows it."""


class WarehouseFault(Exception):
    """A server warehouse's failure in the user's terms: what happened in one line, and
    what to do about it (``hint``). A driver's exception never reaches the user as it is:
    each engine translates it into one of the subclasses below, which ``ops/faults.py``
    gives a code.

    ``statement`` is the position, in what :meth:`Warehouse.run_statements` was given, of
    the statement the fault belongs to (0 for ``export_query``/``query``; None for a fault
    of the connection itself); the materializer that knows where that statement is
    written adds its ``file:line:col`` with :meth:`at`."""

    def __init__(
        self, message: str, *, hint: str = "", statement: int | None = None, location: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.statement = statement
        self.location = location

    def of_statement(self, index: int) -> WarehouseFault:
        """The same fault, attributed to the ``index``-th statement (kept if already set)."""
        if self.statement is None:
            self.statement = index
        return self

    def at(self, location: str) -> WarehouseFault:
        """The same fault, located at ``file:line:col`` (kept if already located)."""
        if not self.location:
            self.location = location
        return self

    @property
    def line(self) -> str:
        """``file:line:col: message (hint)``: the one line a user reads."""
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.message}" + (f" ({self.hint})" if self.hint else "")

    def __str__(self) -> str:
        return self.line


class WarehouseUnreachable(WarehouseFault):
    """No connection to the server at host:port (refused, unknown host, timed out), or the
    connection was lost in the middle of a transaction (nothing of it was committed)."""


class WarehouseAuthFailed(WarehouseFault):
    """The server refused the credentials (or the user does not exist)."""


class WarehouseMissing(WarehouseFault):
    """The database or schema the settings or a statement name does not exist."""


class WarehouseDenied(WarehouseFault):
    """The user may not do what a statement asks (create in a schema, read a table)."""


class StatementRejected(WarehouseFault):
    """The server rejected a statement: its own message, the statement's location."""


@dataclass(frozen=True)
class TableStats:
    rows: int
    columns: tuple[tuple[str, str], ...]  # (name, type)
    #: Content fingerprint of an exported query (schema + rows, independent of row order).
    fingerprint: str = ""


@runtime_checkable
class Warehouse(Protocol):
    """One database engine. ``KIND`` names it (``duckdb``) to settings and the UI."""

    KIND: ClassVar[str]
    #: The engine's own errors, whose message is the user's answer (the SQL shell shows
    #: them as they are instead of a traceback).
    ERRORS: ClassVar[tuple[type[BaseException], ...]]

    @property
    def dialect(self) -> str:
        """The sqlglot dialect statements are rendered in for this engine."""
        ...

    @property
    def location(self) -> str:
        """Where it is, for log lines (a file, a host/database; never credentials)."""
        ...

    @property
    def ml_predict(self) -> MlPredictStrategy:
        """How ``ML_PREDICT`` in a table's SQL is evaluated on this engine."""
        ...

    def run_statements(
        self,
        statements: Sequence[exp.Expr],
        *,
        files: FileScope | None = None,
        functions: Sequence[SqlFunction] = (),
    ) -> None:
        """Run statements in one transaction: a failure leaves the previous table intact."""
        ...

    def stats(self, name: QualifiedName) -> TableStats: ...

    def table_exists(self, name: QualifiedName) -> bool: ...

    def export_query(
        self,
        query: exp.Expr,
        uri: str | None,
        *,
        files: FileScope | None = None,
        functions: Sequence[SqlFunction] = (),
        data_format: DataFormat = "parquet",
    ) -> TableStats:
        """Stream a query's rows into a ``data_format`` file at any fsspec URL (whole or
        not at all), fingerprinting the content (order-independent, the same whatever the
        format) on the way; ``uri=None`` only fingerprints them, writing nothing (``sqlml
        plan``)."""
        ...

    def query(
        self,
        query: exp.Expr,
        *,
        functions: Sequence[SqlFunction] = (),
        limit: int,
        files: FileScope | None = None,
    ) -> tuple[tuple[str, ...], list[tuple[object, ...]]] | None:
        """One statement's columns and at most ``limit`` rows (``None``: no result set)."""
        ...

    def load_file(
        self,
        name: QualifiedName,
        uri: str,
        *,
        data_format: DataFormat = "parquet",
        mode: LoadMode = "replace",
        rows: exp.Expr | None = None,
    ) -> None:
        """Load a step's output file (``data_format``: Arrow IPC or Parquet) into table
        ``name`` atomically (``rows``: the predicate of the partition ``mode="partition"``
        replaces)."""
        ...
