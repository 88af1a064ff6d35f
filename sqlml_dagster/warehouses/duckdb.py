"""DuckDB, the embedded default warehouse: a Dagster resource implementing ``Warehouse``.

Table assets run their SQL here; ML steps export their SELECT's result to the step's data
file (Arrow IPC or Parquet) from here and load prediction results back. Data crosses as Arrow record batches, so nothing
materializes a pandas copy of a table on the orchestrator.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import dagster as dg
import duckdb
from pydantic import BaseModel, Field
from sqlglot import exp

from ..compiler.file_paths import extension_of, file_literals, privileged_command, resolve
from ..compiler.ir import QualifiedName
from ..contract.step_data import DataFormat
from ..runtime.data import DataFile
from .base import (
    FileScope,
    LoadMode,
    MlPredictStrategy,
    SqlFunction,
    SqlRefused,
    TableStats,
    WarehouseBusy,
)
from .export import write_step_data

WAREHOUSE_DIALECT = "duckdb"
EXPORT_BATCH_ROWS = 65_536


class DuckDBSettings(BaseModel):
    """DuckDB's settings, declared once for the resource and a SqlMlProject's defs.yaml."""

    database: str = Field(
        default=".sqlml/warehouse.duckdb", description="DuckDB database file (or ':memory:')."
    )
    lock_timeout_seconds: float = Field(
        default=120.0,
        description="How long a step waits for another step's write lock on the file.",
    )
    sandbox: bool = Field(
        default=True,
        description="Let the project's SQL open files only in the project folder and "
        "allowed_directories, with no extension loaded or database attached that a setting "
        "does not allow (docs/security.md); false: any file the orchestrator can.",
    )
    allowed_directories: list[str] = Field(
        default_factory=list,
        description="Folders (or URL prefixes, s3://bucket/) the SQL may open files in "
        "besides the project folder.",
    )
    extensions: list[str] = Field(
        default_factory=list,
        description="DuckDB extensions loaded for the SQL (installed beforehand); INSTALL "
        "and LOAD of others are refused.",
    )
    allow_attach: bool = Field(
        default=False, description="Let the SQL ATTACH (and DETACH) other databases."
    )


class DuckDBWarehouse(dg.ConfigurableResource, DuckDBSettings):
    """DuckDB as the project's warehouse.

    Several Dagster steps may run at once in separate processes while DuckDB allows one
    writer per file, so connecting retries for ``lock_timeout_seconds`` before failing.
    """

    KIND: ClassVar[str] = "duckdb"
    ERRORS: ClassVar[tuple[type[BaseException], ...]] = (duckdb.Error, SqlRefused)

    @property
    def location(self) -> str:
        return self.database

    @property
    def ml_predict(self) -> MlPredictStrategy:
        return "udf"

    @property
    def dialect(self) -> str:
        return WAREHOUSE_DIALECT

    @contextmanager
    def connect(self, files: FileScope | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection, sandboxed to ``files`` (see :meth:`_sandbox`)."""
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(self.database)
                break
            except duckdb.IOException as e:
                if "lock" not in str(e).lower():
                    raise
                if time.monotonic() > deadline:
                    holder = re.search(r"held in (.+?) \(PID (\d+)\)", str(e))
                    raise WarehouseBusy(
                        f"the DuckDB warehouse {self.database} is locked by another process"
                        + (f" (PID {holder[2]}, {holder[1]})" if holder else "")
                        + " for longer than lock_timeout_seconds "
                        f"({self.lock_timeout_seconds:g} s)"
                    ) from e
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        try:
            if self.sandbox:
                self._sandbox(con, files)
            elif files is not None:
                con.execute("SET file_search_path = ?", [files.folder])
            yield con
        finally:
            con.close()

    def _sandbox(self, con: duckdb.DuckDBPyConnection, files: FileScope | None) -> None:
        """DuckDB's own enforcement: external access off except ``allowed_directories``,
        no extension auto-installed or auto-loaded, and the configuration locked so that
        no statement can turn it back on. The settings belong to the database instance,
        which connections of one process share: a second connection finds them locked and
        checks that they allow what it needs."""
        wanted = [
            _folder(d) for d in (*(files.allowed if files else ()), *self.allowed_directories)
        ]
        try:
            for extension in self.extensions:
                con.execute(f"LOAD {exp.to_identifier(extension).sql(WAREHOUSE_DIALECT)}")
            con.execute("SET allowed_directories = ?", [wanted])
            con.execute("SET enable_external_access = false")
            con.execute("SET autoinstall_known_extensions = false")
            con.execute("SET autoload_known_extensions = false")
            con.execute("SET lock_configuration = true")
        except duckdb.InvalidInputException as e:
            if "locked" not in str(e):
                raise
            row = con.execute("SELECT current_setting('allowed_directories')").fetchone()
            current = set(row[0] if row and row[0] else ())
            missing = [d for d in wanted if d not in current]
            if missing:
                raise SqlRefused(
                    f"DuckDB database {self.database} is open in this process with another "
                    f"project's file sandbox, which does not allow {', '.join(missing)}"
                ) from None

    def prepared(self, statement: exp.Expr, files: FileScope | None) -> exp.Expr | None:
        """``statement`` as it runs here: file paths resolved against the SQL file's
        folder (DuckDB's sandbox checks a path as written, so ``../data/x.csv`` must
        become the absolute path it means); ``INSTALL``/``LOAD`` of an extension the
        settings load already are skipped (None); other privileged statements refused."""
        command = privileged_command(statement)
        if command is not None and self.sandbox:
            if command in ("INSTALL", "LOAD"):
                extension = extension_of(statement)
                if extension in {e.lower() for e in self.extensions}:
                    return None
                raise SqlRefused(
                    f"{command} {extension or ''} is not allowed: the DuckDB warehouse loads "
                    "only the extensions its `extensions` setting lists "
                    f"({', '.join(self.extensions) or 'none'})"
                )
            if not self.allow_attach:
                raise SqlRefused(
                    f"{command} is not allowed: set the DuckDB warehouse's `allow_attach` to "
                    "let the project's SQL use other databases"
                )
        if files is None:
            return statement
        if next(file_literals(statement), None) is None:
            return statement
        statement = statement.copy()
        for node in file_literals(statement):
            node.set("this", resolve(str(node.this), files.folder))
        return statement

    # -- table assets -------------------------------------------------------------------

    def run_statements(
        self,
        statements: Sequence[exp.Expr],
        *,
        files: FileScope | None = None,
        functions: Sequence[SqlFunction] = (),
    ) -> None:
        """Run statements in one transaction: a failing step leaves the previous table intact.

        ``functions`` are registered on the connection first (``ML_PREDICT`` models)."""
        prepared = [p for s in statements if (p := self.prepared(s, files)) is not None]
        with self.connect(files) as con:
            register_functions(con, functions)
            con.execute("BEGIN TRANSACTION")
            try:
                for statement in prepared:
                    _ensure_schema(con, statement)
                    con.execute(statement.sql(dialect=self.dialect))
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def stats(self, name: QualifiedName) -> TableStats:
        with self.connect() as con:
            ref = quote_name(name)
            rows = con.execute(f"SELECT count(*) FROM {ref}").fetchone()
            described = con.execute(f"DESCRIBE {ref}").fetchall()
        return TableStats(
            rows=int(rows[0]) if rows else 0,
            columns=tuple((str(r[0]), str(r[1])) for r in described),
        )

    def table_exists(self, name: QualifiedName) -> bool:
        with self.connect() as con:
            return self._exists(con, name)

    @staticmethod
    def _exists(con: duckdb.DuckDBPyConnection, name: QualifiedName) -> bool:
        row = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE lower(table_name) = ? "
            "AND (? IS NULL OR lower(table_schema) = ?)",
            [name.name.lower(), _schema_of(name), _schema_of(name)],
        ).fetchone()
        return bool(row and row[0])

    # -- ML steps -----------------------------------------------------------------------

    def export_query(
        self,
        query: exp.Expr,
        uri: str | None,
        *,
        files: FileScope | None = None,
        functions: Sequence[SqlFunction] = (),
        data_format: DataFormat = "parquet",
    ) -> TableStats:
        """Stream a query's result into a ``data_format`` file at any fsspec URL,
        fingerprinting its content on the way (see :class:`ContentFingerprint`)."""
        query = self.prepared(query, files) or query
        with self.connect(files) as con:
            register_functions(con, functions)
            reader = con.sql(query.sql(dialect=self.dialect)).to_arrow_reader(EXPORT_BATCH_ROWS)
            return write_step_data(reader, uri, data_format)

    def query(
        self,
        query: exp.Expr,
        *,
        functions: Sequence[SqlFunction] = (),
        limit: int,
        files: FileScope | None = None,
    ) -> tuple[tuple[str, ...], list[tuple[object, ...]]] | None:
        """Run one statement (``sqlml run-sql``, data checks): its columns and at most
        ``limit`` rows, or ``None`` when it returns no result set."""
        prepared = self.prepared(query, files)
        if prepared is None:
            return None
        with self.connect(files) as con:
            register_functions(con, functions)
            result = con.execute(prepared.sql(dialect=self.dialect))
            if result.description is None:
                return None
            return tuple(d[0] for d in result.description), result.fetchmany(limit)

    def load_file(
        self,
        name: QualifiedName,
        uri: str,
        *,
        data_format: DataFormat = "parquet",
        mode: LoadMode = "replace",
        rows: exp.Expr | None = None,
    ) -> None:
        """``CREATE OR REPLACE TABLE name`` from a step's output file (Arrow IPC or
        Parquet), streamed batch by batch, in one transaction (a failure leaves the old
        table).

        ``append`` inserts the rows by column name (creating the table on first load);
        ``partition`` replaces only the rows matching ``rows`` (one partition's time
        window), so each partition materializes on its own and a failed run leaves the
        old rows."""
        if mode == "partition" and rows is None:
            raise ValueError("a partition load needs the partition's row predicate")
        with DataFile(uri, data_format).reader() as reader, self.connect() as con:
            view = "__sqlml_incoming"
            con.register(view, reader)
            try:
                con.execute("BEGIN TRANSACTION")
                schema = _schema_of(name)
                if schema:
                    con.execute(
                        f"CREATE SCHEMA IF NOT EXISTS {exp.to_identifier(schema).sql(self.dialect)}"
                    )
                table = quote_name(name)
                exists = self._exists(con, name)
                if mode == "partition" and rows is not None and exists:
                    con.execute(f"DELETE FROM {table} WHERE {rows.sql(self.dialect)}")
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
                elif mode == "append" and exists:
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
                else:
                    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {view}")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                con.unregister(view)


def register_functions(con: duckdb.DuckDBPyConnection, functions: Sequence[SqlFunction]) -> None:
    """Make ``functions`` callable from SQL on ``con`` as vectorized (Arrow) functions."""
    for function in functions:
        con.create_function(  # type: ignore[call-overload]
            function.name,
            function.function,
            [duckdb.sqltype(t) for t in function.parameters],
            duckdb.sqltype(function.return_type),
            type="arrow",
        )


def _folder(path: str) -> str:
    """A folder as DuckDB's ``allowed_directories`` wants it: absolute, ending in ``/``."""
    if "://" not in path:
        path = str(Path(path).expanduser().resolve())
    return path if path.endswith("/") else path + "/"


def quote_name(name: QualifiedName) -> str:
    return exp.table_(
        name.parts[-1],
        db=name.parts[-2] if len(name.parts) > 1 else None,
        catalog=name.parts[-3] if len(name.parts) > 2 else None,
        quoted=True,
    ).sql(dialect=WAREHOUSE_DIALECT)


def _schema_of(name: QualifiedName) -> str | None:
    return name.parts[-2].lower() if len(name.parts) > 1 else None


def _ensure_schema(con: duckdb.DuckDBPyConnection, statement: exp.Expr) -> None:
    """``CREATE TABLE analytics.x`` works without a separate ``CREATE SCHEMA``."""
    if not isinstance(statement, exp.Create):
        return
    target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
    if isinstance(target, exp.Table) and target.db:
        schema = exp.to_identifier(target.db).sql(WAREHOUSE_DIALECT)
        prefix = (
            f"{exp.to_identifier(target.catalog).sql(WAREHOUSE_DIALECT)}." if target.catalog else ""
        )
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {prefix}{schema}")


def duckdb_from_url(url: str) -> DuckDBWarehouse:
    """``duckdb:///abs/path.duckdb``, ``duckdb://relative.duckdb``, a plain path or
    ``:memory:``."""
    database = url.split("://", 1)[1] if "://" in url else url
    return DuckDBWarehouse(database=database or ":memory:")
