"""MySQL and MariaDB as the project's warehouse: two drivers under ``server.py``'s shared
machinery, each doing what it measured fastest at (``bench/bench_warehouses.py``,
docs/warehouses.md):

- **reads** (a step's input, the warehouse's part of an ``ML_PREDICT`` query) go through
  connectorx, which decodes the server's rows into Arrow record batches in Rust on a
  connection of its own — no row becomes a Python object. Because that connection sees
  only committed tables, the session commits before a read (harmless: see staging below)
  and the tables a session would keep temporary (files the SQL reads, rows scored for a
  nested SELECT) are plain tables with names unique on the server, dropped when the
  session ends;
- **statements and writes** go through PyMySQL: a step's output is formatted into the
  server's tab-separated text by Arrow compute kernels (escaped, ``\\N`` for NULL) and
  bulk-loaded with ``LOAD DATA LOCAL INFILE`` — the client sends only the file this module
  wrote: a ``LOAD DATA LOCAL`` in the project's SQL is refused (it would read a file of
  the machine the step runs on).

MySQL and MariaDB commit implicitly before ``CREATE``/``DROP``/``RENAME``, so an asset's
transaction cannot hold its DDL (``TRANSACTIONAL_DDL = False``): every table an asset
rebuilds is built as a stage table, its later statements read and write the stage, and all
stages are swapped in by one ``RENAME TABLE`` (atomic) at the end; a failure drops the
stages and the old tables stay as they were. ``schema.table`` is ``database.table`` here.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from ..optional import optional_module
from .base import (
    SqlRefused,
    StatementRejected,
    WarehouseAuthFailed,
    WarehouseBusy,
    WarehouseDenied,
    WarehouseFault,
    WarehouseMissing,
    WarehouseUnreachable,
)
from .duckdb import EXPORT_BATCH_ROWS
from .server import ServerAddress, ServerSession, ServerSettings, ServerWarehouse

# The drivers of the `mysql` extra: bound when installed, else a stand-in (optional.py).
connectorx = optional_module("connectorx", "mysql")
pymysql = optional_module("pymysql", "mysql")

DEFAULT_PORT = 3306
#: The client's environment variable for the password (as the ``mysql`` client reads it).
PASSWORD_ENV = "MYSQL_PWD"


class MySqlSettings(ServerSettings):
    """MySQL/MariaDB's settings: those of every server warehouse (``ServerSettings``);
    ``default_schema`` is the database unqualified names mean (default: the URL's)."""


class MySqlWarehouse(ServerWarehouse, dg.ConfigurableResource, MySqlSettings):
    """MySQL or MariaDB as the project's warehouse (``mysql://user@host:3306/database``)."""

    KIND: ClassVar[str] = "mysql"
    ENGINE: ClassVar[str] = "MySQL/MariaDB"
    CURRENT_SCHEMA: ClassVar[str] = "DATABASE()"
    TRANSACTIONAL_DDL: ClassVar[bool] = False

    @property
    def dialect(self) -> str:
        return "mysql"

    @property
    def address(self) -> ServerAddress:
        return ServerAddress.of(self.url, DEFAULT_PORT)

    @property
    def settings(self) -> ServerSettings:
        return self

    @contextmanager
    def session(self) -> Iterator[ServerSession]:
        """A connection in the settings' database with their lock timeouts, closed after
        (and the session's own tables dropped)."""
        address = self.address
        database = self.default_schema or address.database
        try:
            connection = pymysql.connect(
                host=address.host,
                port=address.port,
                user=address.user or None,
                password=self._password(),
                database=database or None,
                connect_timeout=self.connect_timeout_seconds,
                charset="utf8mb4",
                autocommit=False,
                local_infile=True,
                program_name="sqlml_dagster",
            )
        except pymysql.MySQLError as e:
            raise fault(e, address, database) from e
        # Only this module's own LOAD DATA may send a file (see _Session.load).
        connection._local_infile = False
        session = _Session(connection, address, self._reader_url(database))
        try:
            wait = max(1, round(self.lock_timeout_seconds))
            session.execute(
                f"SET SESSION innodb_lock_wait_timeout = {wait}, lock_wait_timeout = {wait}"
            )
            # MySQL stops a recursive CTE (a DuckDB range() here) at 1,000 rows; MariaDB
            # has no such variable (its own limit is 2^32).
            with contextlib.suppress(WarehouseFault):
                session.execute("SET SESSION cte_max_recursion_depth = 4294967295")
            yield session
        finally:
            session.close()

    def swap(self, session: ServerSession, stage: exp.Table, target: exp.Table) -> None:
        self.swap_all(session, [(stage, target)])

    def swap_all(
        self, session: ServerSession, swaps: Sequence[tuple[exp.Table, exp.Table]]
    ) -> None:
        """One ``RENAME TABLE`` moves every old table aside and every stage in, atomically
        (readers see all old tables or all new ones); the old ones are dropped after. A
        view over a target keeps working: MySQL resolves a view's tables by name."""
        renames: list[str] = []
        old: list[tuple[str, exp.Table]] = []
        for stage, target in swaps:
            kind = _kind_of(session, target)
            if kind is not None:
                aside = exp.table_(
                    f"__sqlml_old_{secrets.token_hex(4)}", db=target.db or None, quoted=True
                )
                renames.append(f"{target.sql('mysql')} TO {aside.sql('mysql')}")
                old.append((kind, aside))
            renames.append(f"{stage.sql('mysql')} TO {target.sql('mysql')}")
        session.execute("RENAME TABLE " + ", ".join(renames))
        for kind, aside in old:
            session.execute(f"DROP {kind} IF EXISTS {aside.sql('mysql')}")

    def fold(self, name: str) -> str:
        """Unquoted names in lower case, as the project's other engines read them (a
        MySQL server on Linux tells ``Iris`` from ``iris``)."""
        return name.lower()

    def normalized(self, tree: exp.Expr) -> exp.Expr:
        """Unquoted table, database and alias names folded (:meth:`fold`), so a statement
        that writes ``Train`` and one that reads ``train`` mean one table, as on DuckDB."""
        for node in tree.find_all(exp.Table, exp.TableAlias, exp.Column):
            for part in ("this", "db", "catalog", "table"):
                if isinstance(node, exp.Column) and part != "table":
                    continue
                ident = node.args.get(part)
                if isinstance(ident, exp.Identifier) and not ident.quoted:
                    ident.set("this", self.fold(str(ident.this)))
        for table in list(tree.find_all(exp.Table)):
            if isinstance(table.this, exp.GenerateSeries):
                table.replace(_series(table))
        return tree

    def _password(self) -> str:
        url_password = urlsplit(self.url).password
        if url_password is not None:
            return unquote(url_password)
        return self.password or os.environ.get(PASSWORD_ENV, "")

    def _reader_url(self, database: str) -> str:
        """The URL connectorx reads with: the password added (never logged)."""
        address = self.address
        password = self._password()
        credentials = quote(address.user, safe="")
        if password:
            credentials += ":" + quote(password, safe="")
        query = dict(parse_qsl(urlsplit(self.url).query))
        suffix = f"?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else ""
        return f"mysql://{credentials}@{address.host}:{address.port}/{database}{suffix}"


class _Session:
    """One PyMySQL connection as a :class:`ServerSession`, reading through connectorx."""

    def __init__(self, connection: Any, address: ServerAddress, reader_url: str) -> None:
        self._connection = connection
        self._address = address
        self._reader_url = reader_url
        #: Tables standing for temporary ones (readable by connectorx), dropped at close.
        self._own: list[exp.Table] = []

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except pymysql.MySQLError as e:
            raise fault(e, self._address) from e
        except (AttributeError, OSError) as e:
            if getattr(self._connection, "_sock", True) is not None:
                raise
            # PyMySQL writing to a socket it closed when the server dropped the connection
            lost = pymysql.err.OperationalError(2013, "Lost connection to server during query")
            raise fault(lost, self._address) from e
        except RuntimeError as e:
            if "LOAD_LOCAL" in str(e):
                raise SqlRefused(
                    "LOAD DATA LOCAL reads a file of the machine the step runs on; the "
                    "project's SQL reads its files with read_csv('…'), read_parquet('…')"
                ) from e
            raise

    def execute(self, sql: str) -> None:
        with self._translated(), self._connection.cursor() as cursor:
            cursor.execute(sql)

    def rows(self, sql: str) -> pa.RecordBatchReader:
        self.commit()  # the reader's own connection sees committed tables only
        try:
            reader = connectorx.read_sql(
                self._reader_url, sql, return_type="arrow_stream", batch_size=EXPORT_BATCH_ROWS
            )
        except RuntimeError as e:
            raise reader_fault(e, self._address) from e
        address = self._address

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                yield from reader
            except RuntimeError as e:
                raise reader_fault(e, address) from e

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    def fetch(self, sql: str, limit: int) -> tuple[tuple[str, ...], list[tuple[Any, ...]]] | None:
        with self._translated(), self._connection.cursor() as cursor:
            cursor.execute(sql)
            if cursor.description is None:
                return None
            names = tuple(str(d[0]) for d in cursor.description)
            return names, [tuple(r) for r in cursor.fetchmany(limit)] if limit else []

    def load(self, table: exp.Table, rows: pa.RecordBatchReader, *, temporary: bool) -> int:
        """Format ``rows`` into the server's text format in a temporary file, create the
        table and ``LOAD DATA LOCAL INFILE`` it; any warning (a value the column cannot
        hold: LOCAL turns errors into warnings) fails the load."""
        if temporary:
            table = exp.table_(table.name, quoted=True)
            self._own.append(table)
        with tempfile.NamedTemporaryFile(prefix="sqlml_load_", suffix=".tsv") as f:
            widths = _write_text(rows, f)
            f.flush()
            columns = ", ".join(
                f"{exp.to_identifier(field.name, quoted=True).sql('mysql')} "
                f"{column_type(field.type, widths.get(field.name, 0))}"
                for field in rows.schema
            )
            self.execute(f"CREATE TABLE {table.sql('mysql')} ({columns})")
            variables, assignments = _load_columns(rows.schema)
            statement = (
                f"LOAD DATA LOCAL INFILE {exp.Literal.string(f.name).sql('mysql')} "
                f"INTO TABLE {table.sql('mysql')} CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
                f"({variables}){assignments}"
            )
            self._connection._local_infile = True
            try:
                with self._translated(), self._connection.cursor() as cursor:
                    loaded = cursor.execute(statement)
                    if cursor.warning_count:
                        cursor.execute("SHOW WARNINGS LIMIT 1")
                        warning = cursor.fetchone()
                        raise StatementRejected(
                            f"loading {table.sql()}: {warning[2] if warning else 'a warning'}",
                            hint="a value does not fit its column's type in MySQL/MariaDB",
                        )
            finally:
                self._connection._local_infile = False
        return int(loaded)

    def commit(self) -> None:
        with self._translated():
            self._connection.commit()

    def rollback(self) -> None:
        with self._translated():
            self._connection.rollback()

    def close(self) -> None:
        for table in self._own:
            with contextlib.suppress(WarehouseFault, pymysql.MySQLError):
                self.execute(f"DROP TABLE IF EXISTS {table.sql('mysql')}")
        with contextlib.suppress(pymysql.MySQLError):
            self._connection.close()


# -- Arrow → the server's types and text ------------------------------------------------------


def column_type(kind: pa.DataType, width: int = 0) -> str:
    """The MySQL/MariaDB column type a step's Arrow column becomes (``width``: the longest
    text value's bytes, TEXT up to 64 KiB)."""
    if pa.types.is_dictionary(kind):
        return column_type(kind.value_type, width)
    simple = {
        pa.int8(): "TINYINT",
        pa.int16(): "SMALLINT",
        pa.int32(): "INT",
        pa.int64(): "BIGINT",
        pa.uint8(): "TINYINT UNSIGNED",
        pa.uint16(): "SMALLINT UNSIGNED",
        pa.uint32(): "INT UNSIGNED",
        pa.uint64(): "BIGINT UNSIGNED",
        pa.float16(): "FLOAT",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
        pa.date32(): "DATE",
        pa.date64(): "DATE",
    }
    if kind in simple:
        return simple[kind]
    if pa.types.is_decimal(kind) and kind.precision <= 65 and kind.scale <= 30:
        return f"DECIMAL({kind.precision}, {kind.scale})"
    if pa.types.is_timestamp(kind):
        return "DATETIME(6)"
    if pa.types.is_time(kind):
        return "TIME(6)"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return "LONGBLOB"
    if pa.types.is_nested(kind):
        return "JSON"
    return "TEXT" if width < 65_536 else "LONGTEXT"


#: Characters a text value escapes in ``LOAD DATA``'s format (backslash first).
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"), ("\x00", "\\0"))
_NULL = "\\N"


def _write_text(rows: pa.RecordBatchReader, out: Any) -> dict[str, int]:
    """Every batch as tab-separated lines (no Python row in between); the longest text
    value's bytes per text column."""
    widths: dict[str, int] = {}
    for batch in rows:
        if batch.num_rows == 0:
            continue
        texts = []
        for field, column in zip(batch.schema, batch.columns, strict=True):
            text = _text(column)
            if pa.types.is_string(text.type) and _is_text(field.type):
                longest = pc.max(pc.binary_length(column.cast(pa.string()))).as_py() or 0
                widths[field.name] = max(widths.get(field.name, 0), longest)
            texts.append(text)
        line = pc.binary_join_element_wise(*texts, "\t")
        line = pc.binary_join_element_wise(line, pa.scalar("", pa.string()), "\n")
        out.write(_bytes_of(line))
    return widths


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        return _is_text(kind.value_type)
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)


def _text(column: pa.Array) -> pa.Array:
    """One column as LOAD DATA reads it: escaped text, ``\\N`` for NULL."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _text(column.dictionary_decode())
    if pa.types.is_null(kind):
        text = pa.nulls(len(column), pa.string())
    elif pa.types.is_boolean(kind):
        text = pc.if_else(column, "1", "0")
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = column.cast(pa.string())
        for raw, escaped in _ESCAPES:
            text = pc.replace_substring(text, raw, escaped)
    elif pa.types.is_timestamp(kind):
        naive = column.cast(pa.timestamp("us", tz=kind.tz)).cast(pa.timestamp("us"))
        text = naive.cast(pa.string())
    elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_nested(kind):
        # rare in a step's output: hex (UNHEX on load) or JSON text, value by value
        import json

        values = column.to_pylist()
        if pa.types.is_nested(kind):
            text = pa.array([None if v is None else json.dumps(v, default=str) for v in values])
        else:
            text = pa.array([None if v is None else v.hex() for v in values], pa.string())
        for raw, escaped in _ESCAPES:
            text = pc.replace_substring(text, raw, escaped)
    else:
        text = column.cast(pa.string())
    return pc.fill_null(text, _NULL)


def _bytes_of(line: pa.Array) -> memoryview:
    """The concatenated values of a string array with no NULLs: its data buffer, sliced."""
    offsets = np.frombuffer(line.buffers()[1], dtype=np.int32)[
        line.offset : line.offset + len(line) + 1
    ]
    data = line.buffers()[2]
    return memoryview(data)[int(offsets[0]) : int(offsets[-1])]


def _load_columns(schema: pa.Schema) -> tuple[str, str]:
    """LOAD DATA's column list, and the ``SET`` that decodes binary columns from hex."""
    names: list[str] = []
    sets: list[str] = []
    for index, field in enumerate(schema):
        ident = exp.to_identifier(field.name, quoted=True).sql("mysql")
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            names.append(f"@b{index}")
            sets.append(f"{ident} = UNHEX(@b{index})")
        else:
            names.append(ident)
    return ", ".join(names), (" SET " + ", ".join(sets)) if sets else ""


def _series(table: exp.Table) -> exp.Subquery:
    """DuckDB's ``range(a, b[, step])`` / ``generate_series(a, b[, step])`` as a table, which
    MySQL/MariaDB lack: a recursive CTE in a derived table (one BIGINT column, named by the
    alias's column or as DuckDB names it)."""
    series = table.this
    start, end = series.args["start"], series.args["end"]
    step = series.args.get("step") or exp.Literal.number(1)
    down = isinstance(step, exp.Neg) or (
        isinstance(step, exp.Literal) and str(step.this).startswith("-")
    )
    exclusive = bool(series.args.get("is_end_exclusive"))
    compare = {
        (False, True): exp.LT,
        (False, False): exp.LTE,
        (True, True): exp.GT,
        (True, False): exp.GTE,
    }[(down, exclusive)]
    alias = table.args.get("alias")
    columns = alias.args.get("columns") if alias is not None else None
    column = columns[0].name if columns else ("range" if exclusive else "generate_series")
    value = exp.column("v", table="__sqlml_series")
    anchor = exp.select(exp.cast(start.copy(), "BIGINT").as_("v")).where(
        compare(this=start.copy(), expression=end.copy())
    )
    after = exp.Add(this=value, expression=step.copy())
    recursive = (
        exp.select(after.as_("v"))
        .from_("__sqlml_series")
        .where(compare(this=after.copy(), expression=end.copy()))
    )
    cte = exp.CTE(
        this=exp.union(anchor, recursive, distinct=False),
        alias=exp.TableAlias(this=exp.to_identifier("__sqlml_series")),
    )
    body = exp.select(exp.column("v").as_(column)).from_("__sqlml_series")
    body.set("with_", exp.With(expressions=[cte], recursive=True))
    name = alias.this.copy() if alias is not None and alias.this else exp.to_identifier(column)
    return body.subquery(name)


# -- the catalog ---------------------------------------------------------------------------------


def _kind_of(session: ServerSession, table: exp.Table) -> str | None:
    """``TABLE``, ``VIEW`` or None (no such relation)."""
    schema = exp.Literal.string(table.db).sql("mysql") if table.db else "DATABASE()"
    found = session.fetch(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = "
        f"{schema} AND table_name = {exp.Literal.string(table.name).sql('mysql')}",
        1,
    )
    if not (found and found[1]):
        return None
    return "VIEW" if str(found[1][0][0]).upper() == "VIEW" else "TABLE"


# -- faults ----------------------------------------------------------------------------------------

#: Client error codes: no connection (2003 refused/timed out, 2005 unknown host) and a
#: connection lost (2006 gone away, 2013 lost during a query, 1927/1053 killed/shutdown).
_UNREACHABLE_CODES = frozenset({2003, 2005})
_LOST_CODES = frozenset({2006, 2013, 2055, 1927, 1053, 1152, 1158, 1159, 1160, 1161})
_DENIED_CODES = frozenset({1044, 1142, 1143, 1227, 1370})


def fault(
    error: Exception,  # pymysql.MySQLError (the driver is optional: optional.py)
    address: ServerAddress,
    database: str = "",
) -> WarehouseFault | WarehouseBusy:
    """PyMySQL's error in the user's terms, by the server's (or client's) error code."""
    code = int(error.args[0]) if error.args and isinstance(error.args[0], int) else 0
    said = str(error.args[1]) if len(error.args) > 1 else str(error)
    where = address.endpoint
    user = address.user or "(default)"
    if code in (1045, 1698, 1251):
        return WarehouseAuthFailed(
            f"MySQL/MariaDB at {where} refused user '{user}': {said}",
            hint="check the user and password: in the URL, MYSQL_PWD, or the warehouse's "
            "password setting",
        )
    if code == 1049:
        name = database or address.database
        return WarehouseMissing(
            f"database '{name}' does not exist on MySQL/MariaDB at {where}",
            hint="create it (CREATE DATABASE …) or fix the database in the warehouse URL "
            "(or its default_schema)",
        )
    if code in _DENIED_CODES:
        return WarehouseDenied(
            said, hint=f"grant user '{user}' the privilege, or write to a database it may create in"
        )
    if code in (1205, 1213):
        return WarehouseBusy(f"MySQL/MariaDB at {where}: {said} (lock_timeout_seconds)")
    if code in _UNREACHABLE_CODES:
        return _unreachable(where, said)
    if code in _LOST_CODES:
        return WarehouseUnreachable(
            f"lost the connection to MySQL/MariaDB at {where}: {said}",
            hint="nothing of this step was swapped in, the tables are as they were; run it again",
        )
    return StatementRejected(said)


def _unreachable(where: str, said: str) -> WarehouseUnreachable:
    found = re.search(r"\((?:\[Errno -?\d+\] )?([^()]*)\)\s*$", said)
    reason = found.group(1).lower() if found else said
    return WarehouseUnreachable(
        f"cannot reach MySQL/MariaDB at {where}: {reason}",
        hint="is the server running there and accepting TCP connections? check the host and "
        "port of the warehouse URL",
    )


def reader_fault(error: RuntimeError, address: ServerAddress) -> WarehouseFault:
    """connectorx's error (its Rust driver's message as text) in the user's terms."""
    text = str(error)
    found = re.search(r"ERROR (\d{4}) \([0-9A-Z]{5}\): ([^\"\n]*)", text) or re.search(
        r"code: (\d{4}).*?message: \"([^\"]*)\"", text
    )
    if found:
        translated = fault(pymysql.MySQLError(int(found.group(1)), found.group(2)), address)
        if isinstance(translated, WarehouseFault):
            return translated
        return StatementRejected(str(translated))
    if re.search(r"Connection refused|timed out|failed to lookup|No route", text, re.IGNORECASE):
        return _unreachable(address.endpoint, text.splitlines()[0])
    first = text.strip().splitlines()[0] if text.strip() else "the read failed"
    return StatementRejected(first)


def mysql_from_url(url: str) -> MySqlWarehouse:
    """``mysql://user[:password]@host[:port]/database`` (or ``mariadb://…``)."""
    return MySqlWarehouse(url=url)
