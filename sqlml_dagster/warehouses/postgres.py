"""PostgreSQL as the project's warehouse: the driver under ``server.py``'s shared machinery.

The driver is ADBC's PostgreSQL driver (``adbc-driver-postgresql``), chosen by measurement
(``bench/bench_warehouses.py``, docs/warehouses.md): it reads a query's rows with
``COPY … TO STDOUT (FORMAT binary)`` and decodes them into Arrow record batches in C, and
it bulk-loads Arrow batches with ``COPY … FROM STDIN (FORMAT binary)``, so no row ever
becomes a Python object — faster both ways than connectorx, psycopg's ``COPY`` or pandas.
Its libpq underneath reads the usual ``PG*`` environment variables and ``~/.pgpass``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from ..optional import optional_module
from .base import (
    StatementRejected,
    WarehouseAuthFailed,
    WarehouseBusy,
    WarehouseDenied,
    WarehouseFault,
    WarehouseMissing,
    WarehouseUnreachable,
)
from .server import ServerAddress, ServerSession, ServerSettings, ServerWarehouse

# The driver of the `postgres` extra: bound when installed, else a stand-in (optional.py).
adbc_driver_manager = optional_module("adbc_driver_manager", "postgres")
pg = optional_module("adbc_driver_postgresql.dbapi", "postgres")

DEFAULT_PORT = 5432
#: Identifies the warehouse's sessions in ``pg_stat_activity``.
APPLICATION_NAME = "sqlml_dagster"


class PostgresSettings(ServerSettings):
    """PostgreSQL's settings: those of every server warehouse (``ServerSettings``)."""


class PostgresWarehouse(ServerWarehouse, dg.ConfigurableResource, PostgresSettings):
    """PostgreSQL as the project's warehouse (``postgresql://user@host:5432/database``)."""

    KIND: ClassVar[str] = "postgres"
    ENGINE: ClassVar[str] = "PostgreSQL"
    CURRENT_SCHEMA: ClassVar[str] = "current_schema()"

    @property
    def dialect(self) -> str:
        return "postgres"

    @property
    def address(self) -> ServerAddress:
        return ServerAddress.of(self.url, DEFAULT_PORT)

    @property
    def settings(self) -> ServerSettings:
        return self

    @contextmanager
    def session(self) -> Iterator[ServerSession]:
        """A connection with the lock timeout and schema of the settings, closed after."""
        address = self.address
        try:
            connection = pg.connect(self._driver_uri())
        except adbc_driver_manager.Error as e:
            raise fault(e, address) from e
        session = _Session(connection, address)
        try:
            session.execute(f"SET lock_timeout = {int(self.lock_timeout_seconds * 1000)}")
            if self.default_schema:
                schema = exp.Literal.string(self.default_schema).sql(self.dialect)
                found = session.fetch(f"SELECT 1 FROM pg_namespace WHERE nspname = {schema}", 1)
                if not (found and found[1]):
                    raise WarehouseMissing(
                        f"schema '{self.default_schema}' does not exist in database "
                        f"'{address.database}' at {address.endpoint}",
                        hint="create it (CREATE SCHEMA …) or fix the warehouse's default_schema",
                    )
                name = exp.to_identifier(self.default_schema, quoted=True).sql(self.dialect)
                session.execute(f"SET search_path TO {name}, public")
            session.commit()  # the settings outlive the transactions that follow
            yield session
        finally:
            session.close()

    def normalized(self, tree: exp.Expr) -> exp.Expr:
        """DuckDB's ``range(n)`` names its column ``range``; PostgreSQL's
        ``generate_series`` (what sqlglot writes for it) names it ``generate_series``
        unless the alias says otherwise: the alias says ``range``."""
        for table in tree.find_all(exp.Table):
            series = table.this
            if not isinstance(series, exp.GenerateSeries):
                continue
            alias = table.args.get("alias")
            if alias is not None and alias.args.get("columns"):
                continue
            column = "range" if series.args.get("is_end_exclusive") else "generate_series"
            name = (
                alias.this.copy() if alias is not None and alias.this else exp.to_identifier(column)
            )
            table.set("alias", exp.TableAlias(this=name, columns=[exp.to_identifier(column)]))
        return tree

    def swap(self, session: ServerSession, stage: exp.Table, target: exp.Table) -> None:
        """Drop ``target`` and rename the stage to it — all inside the transaction, so
        readers see the old table until the commit. A table that views depend on keeps its
        identity instead (the views would go with it): its rows are replaced by the
        stage's, which must then have the same columns."""
        ref, staged = target.sql(self.dialect), stage.sql(self.dialect)
        name = exp.to_identifier(target.name, quoted=True).sql(self.dialect)
        kind = _kind_of(session, target, self.CURRENT_SCHEMA)
        if kind is None:
            session.execute(f"ALTER TABLE {staged} RENAME TO {name}")
            return
        views = _dependent_views(session, ref)
        if kind == "VIEW" or not views:
            session.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {ref}")
            session.execute(f"ALTER TABLE {staged} RENAME TO {name}")
            return
        old, new = _columns(session, ref), _columns(session, staged)
        if old != new:
            raise StatementRejected(
                f"cannot replace {target.sql()}: view(s) {', '.join(views)} depend on it and "
                f"its columns change from ({_shown(old)}) to ({_shown(new)})",
                hint="drop or recreate the views, or keep the table's columns",
            )
        session.execute(f"TRUNCATE {ref}")
        session.execute(f"INSERT INTO {ref} SELECT * FROM {staged}")
        session.execute(f"DROP TABLE {staged}")

    def _driver_uri(self) -> str:
        """The URL libpq connects with: the password added (never logged), the
        application's name and connect timeout unless the URL sets them."""
        parts = urlsplit(self.url)
        netloc = parts.netloc
        if self.password and "@" in netloc and ":" not in netloc.split("@", 1)[0]:
            user, host = netloc.split("@", 1)
            netloc = f"{user}:{quote(self.password, safe='')}@{host}"
        elif self.password and "@" not in netloc:
            netloc = f":{quote(self.password, safe='')}@{netloc}"
        query = dict(parse_qsl(parts.query))
        query.setdefault("application_name", APPLICATION_NAME)
        query.setdefault("connect_timeout", str(self.connect_timeout_seconds))
        return urlunsplit(("postgresql", netloc, parts.path, urlencode(query), ""))


class _Session:
    """One ADBC connection as a :class:`ServerSession`."""

    def __init__(self, connection: Any, address: ServerAddress) -> None:
        self._connection = connection
        self._address = address
        self._cursors: list[Any] = []

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except adbc_driver_manager.Error as e:
            raise fault(e, self._address) from e

    def _cursor(self) -> Any:
        cursor = self._connection.cursor()
        self._cursors.append(cursor)
        return cursor

    def _done(self, cursor: Any) -> None:
        cursor.close()
        self._cursors.remove(cursor)

    def execute(self, sql: str) -> None:
        cursor = self._cursor()
        try:
            with self._translated():
                cursor.execute(sql)
        finally:
            self._done(cursor)

    def rows(self, sql: str) -> pa.RecordBatchReader:
        cursor = self._cursor()
        with self._translated():
            cursor.execute(sql)
            reader = cursor.fetch_record_batch()
        schema = arrow_schema(reader.schema)

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                with self._translated():
                    for batch in reader:
                        yield plain_batch(batch, schema)
            finally:
                self._done(cursor)

        return pa.RecordBatchReader.from_batches(schema, batches())

    def fetch(self, sql: str, limit: int) -> tuple[tuple[str, ...], list[tuple[Any, ...]]] | None:
        cursor = self._cursor()
        try:
            with self._translated():
                cursor.execute(sql)
                if cursor.description is None:
                    return None
                names = tuple(str(d[0]) for d in cursor.description)
                return names, [tuple(r) for r in cursor.fetchmany(limit)] if limit else []
        finally:
            self._done(cursor)

    def load(self, table: exp.Table, rows: pa.RecordBatchReader, *, temporary: bool) -> int:
        schema = pa.schema([pa.field(f.name, _loadable(f.type)) for f in rows.schema])
        plain = pa.RecordBatchReader.from_batches(schema, (batch.cast(schema) for batch in rows))
        cursor = self._cursor()
        try:
            with self._translated():
                loaded = cursor.adbc_ingest(
                    table.name,
                    plain,
                    mode="create",
                    temporary=temporary,
                    db_schema_name=None if temporary else (table.db or None),
                )
            return int(loaded)
        finally:
            self._done(cursor)

    def commit(self) -> None:
        with self._translated():
            self._connection.commit()

    def rollback(self) -> None:
        with self._translated():
            self._connection.rollback()

    def close(self) -> None:
        for cursor in list(self._cursors):
            try:
                self._done(cursor)
            except adbc_driver_manager.Error:
                self._cursors.remove(cursor)
        with contextlib.suppress(adbc_driver_manager.Error):  # closed by the server already
            self._connection.close()


# -- Arrow types --------------------------------------------------------------------------------


def arrow_schema(schema: pa.Schema) -> pa.Schema:
    """The driver's schema in engine-neutral types: PostgreSQL's ``numeric`` (which the
    driver hands over as text) as ``decimal128(p, s)`` when declared with a precision up to
    38, else ``float64``; other driver-specific (extension) types as their storage; no
    driver metadata on the fields (the step's Parquet file is the same whatever engine
    wrote it)."""
    return pa.schema([pa.field(f.name, _neutral(f)) for f in schema])


def plain_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    columns = []
    for column, field in zip(batch.columns, schema, strict=True):
        if isinstance(column.type, pa.BaseExtensionType):
            column = column.storage
        columns.append(column if column.type == field.type else pc.cast(column, field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _neutral(field: pa.Field) -> pa.DataType:
    kind = field.type
    metadata = field.metadata or {}
    if isinstance(kind, pa.BaseExtensionType):
        if getattr(kind, "type_name", None) == "numeric":
            typmod = int(metadata.get(b"POSTGRESQL:typmod", b"-1"))
            precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
            if typmod >= 4 and 0 < precision <= 38:
                return pa.decimal128(precision, scale)
            return pa.float64()
        return kind.storage_type
    return kind


def _loadable(kind: pa.DataType) -> pa.DataType:
    """What the driver's bulk load takes for ``kind``: dictionaries decoded, an all-NULL
    column of no type as text."""
    if pa.types.is_dictionary(kind):
        return _loadable(kind.value_type)
    if pa.types.is_null(kind):
        return pa.string()
    if pa.types.is_large_string(kind):
        return pa.string()
    return kind


# -- the catalog ----------------------------------------------------------------------------------


def _kind_of(session: ServerSession, table: exp.Table, current_schema: str) -> str | None:
    """``TABLE``, ``VIEW`` or None (no such relation)."""
    schema = exp.Literal.string(table.db).sql("postgres") if table.db else current_schema
    found = session.fetch(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = "
        f"{schema} AND table_name = {exp.Literal.string(table.name).sql('postgres')}",
        1,
    )
    if not (found and found[1]):
        return None
    return "VIEW" if str(found[1][0][0]).upper() == "VIEW" else "TABLE"


def _dependent_views(session: ServerSession, ref: str) -> list[str]:
    found = session.fetch(
        "SELECT DISTINCT r.ev_class::regclass::text FROM pg_depend d "
        "JOIN pg_rewrite r ON r.oid = d.objid "
        f"WHERE d.refobjid = {exp.Literal.string(ref).sql('postgres')}::regclass "
        "AND r.ev_class <> d.refobjid ORDER BY 1",
        1000,
    )
    return [str(r[0]) for r in found[1]] if found else []


def _columns(session: ServerSession, ref: str) -> list[tuple[str, str]]:
    found = session.fetch(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        f"WHERE attrelid = {exp.Literal.string(ref).sql('postgres')}::regclass "
        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        10_000,
    )
    return [(str(r[0]), str(r[1])) for r in found[1]] if found else []


def _shown(columns: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in columns)


# -- faults ----------------------------------------------------------------------------------------

_SERVER_LINE = re.compile(r"(?:ERROR|FATAL|PANIC):\s+(.*)")
_LOST = re.compile(
    r"server closed the connection|terminating connection|connection to server was lost|"
    r"no connection to the server|could not receive data|could not send data",
    re.IGNORECASE,
)
_UNREACHABLE = re.compile(
    r"Connection refused|could not translate host name|timeout expired|Connection timed out|"
    r"No route to host|Network is unreachable|Name or service not known",
    re.IGNORECASE,
)


def fault(
    error: Exception,  # adbc_driver_manager.Error (the driver is optional: optional.py)
    address: ServerAddress,
) -> WarehouseFault | WarehouseBusy:
    """The driver's error in the user's terms, by SQLSTATE where the server sent one and by
    libpq's words where it could not (a connection that never opened or broke)."""
    text = str(error)
    state = str(getattr(error, "sqlstate", None) or _sqlstate(text) or "")
    said = _server_line(text)
    where = address.endpoint
    if state.startswith("28") or re.search(
        r"password authentication failed|no pg_hba\.conf entry|role \".*\" does not exist", text
    ):
        return WarehouseAuthFailed(
            f"PostgreSQL at {where} refused user '{address.user or '(default)'}': {said}",
            hint="check the user and password: in the URL, PGPASSWORD/~/.pgpass, or the "
            "warehouse's password setting",
        )
    if state == "3D000" or re.search(r"database \".*\" does not exist", text):
        return WarehouseMissing(
            f"database '{address.database}' does not exist on PostgreSQL at {where}",
            hint="create it (CREATE DATABASE …) or fix the database in the warehouse URL",
        )
    if state == "3F000":
        return WarehouseMissing(said, hint="create the schema (CREATE SCHEMA …) or fix the name")
    if state == "42501":
        return WarehouseDenied(
            said,
            hint=f"grant user '{address.user or '(default)'}' the privilege, or write "
            "to a schema it may create in",
        )
    if state == "55P03":
        return WarehouseBusy(f"PostgreSQL at {where}: {said} (lock_timeout_seconds)")
    if state.startswith(("08", "57P")) or _LOST.search(text):
        if _UNREACHABLE.search(text):
            return _unreachable(where, text)
        return WarehouseUnreachable(
            f"lost the connection to PostgreSQL at {where}: {said}",
            hint="nothing of this step was committed, the tables are as they were; run it again",
        )
    if _UNREACHABLE.search(text) or "Failed to connect" in text:
        return _unreachable(where, text)
    return StatementRejected(said)


def _unreachable(where: str, text: str) -> WarehouseUnreachable:
    found = _UNREACHABLE.search(text)
    reason = found.group(0).lower() if found else _server_line(text)
    return WarehouseUnreachable(
        f"cannot reach PostgreSQL at {where}: {reason}",
        hint="is the server running there and accepting TCP connections? check the host and "
        "port of the warehouse URL",
    )


def _server_line(text: str) -> str:
    """The server's own message (the line after ``ERROR:``), else the driver's first line."""
    found = _SERVER_LINE.search(text)
    if found:
        return found.group(1).strip()
    first = text.strip().splitlines()[0] if text.strip() else "the warehouse failed"
    return re.sub(r"^[A-Z_]+: (\[libpq\] )?", "", first)


def _sqlstate(text: str) -> str | None:
    found = re.search(r"SQLSTATE: ([0-9A-Z]{5})", text)
    return found.group(1) if found else None


def postgres_from_url(url: str) -> PostgresWarehouse:
    """``postgresql://user[:password]@host[:port]/database[?param=value]``."""
    return PostgresWarehouse(url=url)
