"""DuckDB, the embedded default warehouse: a Dagster resource implementing ``Warehouse``.

Table assets run their SQL here; ML steps export their SELECT's result to Parquet from
here and load prediction results back. Data crosses as Arrow record batches, so nothing
materializes a pandas copy of a table on the orchestrator.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import dagster as dg
import duckdb
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, Field
from sqlglot import exp

from ..compiler.ir import QualifiedName
from ..runtime.data import dictionary_columns
from .base import LoadMode, MlPredictStrategy, SqlFunction, TableStats
from .fingerprint import ContentFingerprint

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


class DuckDBWarehouse(dg.ConfigurableResource, DuckDBSettings):
    """DuckDB as the project's warehouse.

    Several Dagster steps may run at once in separate processes while DuckDB allows one
    writer per file, so connecting retries for ``lock_timeout_seconds`` before failing.
    """

    KIND: ClassVar[str] = "duckdb"
    ERRORS: ClassVar[tuple[type[BaseException], ...]] = (duckdb.Error,)

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
    def connect(self, search_path: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection; ``search_path`` makes relative file paths (``read_csv('../data/x.csv')``)
        resolve against the folder of the SQL file that names them."""
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(self.database)
                break
            except duckdb.IOException as e:
                if "lock" not in str(e).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        try:
            if search_path:
                con.execute("SET file_search_path = ?", [search_path])
            yield con
        finally:
            con.close()

    # -- table assets -------------------------------------------------------------------

    def run_statements(
        self,
        statements: Sequence[exp.Expr],
        *,
        search_path: str | None = None,
        functions: Sequence[SqlFunction] = (),
    ) -> None:
        """Run statements in one transaction: a failing step leaves the previous table intact.

        ``functions`` are registered on the connection first (``ML_PREDICT`` models)."""
        with self.connect(search_path) as con:
            _register(con, functions)
            con.execute("BEGIN TRANSACTION")
            try:
                for statement in statements:
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
        uri: str,
        *,
        search_path: str | None = None,
        functions: Sequence[SqlFunction] = (),
    ) -> TableStats:
        """Stream a query's result into a Parquet file at any fsspec URL, fingerprinting its
        content on the way (see :class:`ContentFingerprint`)."""
        rows = 0
        content = ContentFingerprint()
        with self.connect(search_path) as con:
            _register(con, functions)
            reader = con.sql(query.sql(dialect=self.dialect)).to_arrow_reader(EXPORT_BATCH_ROWS)
            schema = reader.schema
            with (
                fsspec.open(uri, "wb") as f,
                pq.ParquetWriter(f, schema, use_dictionary=dictionary_columns(schema)) as writer,
            ):
                for batch in reader:
                    writer.write_batch(batch)
                    content.add(batch)
                    rows += batch.num_rows
        columns = tuple((f.name, str(f.type)) for f in schema)
        return TableStats(rows=rows, columns=columns, fingerprint=content.hexdigest(columns))

    def query(
        self,
        query: exp.Expr,
        *,
        functions: Sequence[SqlFunction] = (),
        limit: int,
        search_path: str | None = None,
    ) -> tuple[tuple[str, ...], list[tuple[object, ...]]] | None:
        """Run one statement (``sqlml run-sql``, data checks): its columns and at most
        ``limit`` rows, or ``None`` when it returns no result set."""
        with self.connect(search_path) as con:
            _register(con, functions)
            result = con.execute(query.sql(dialect=self.dialect))
            if result.description is None:
                return None
            return tuple(d[0] for d in result.description), result.fetchmany(limit)

    def load_parquet(
        self,
        name: QualifiedName,
        uri: str,
        *,
        mode: LoadMode = "replace",
        rows: exp.Expr | None = None,
    ) -> None:
        """``CREATE OR REPLACE TABLE name`` from a Parquet file, streamed batch by batch, in
        one transaction (a failure leaves the old table).

        ``append`` inserts the rows by column name (creating the table on first load);
        ``partition`` replaces only the rows matching ``rows`` (one partition's time
        window), so each partition materializes on its own and a failed run leaves the
        old rows."""
        if mode == "partition" and rows is None:
            raise ValueError("a partition load needs the partition's row predicate")
        with fsspec.open(uri, "rb") as f, self.connect() as con:
            parquet = pq.ParquetFile(f)
            reader = pa.RecordBatchReader.from_batches(parquet.schema_arrow, parquet.iter_batches())
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


def _register(con: duckdb.DuckDBPyConnection, functions: Sequence[SqlFunction]) -> None:
    for function in functions:
        con.create_function(  # type: ignore[call-overload]
            function.name,
            function.function,
            [duckdb.sqltype(t) for t in function.parameters],
            duckdb.sqltype(function.return_type),
            type="arrow",
        )


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
