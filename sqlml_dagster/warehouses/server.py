"""What server warehouses share (PostgreSQL now, MySQL/MariaDB next): the ``Warehouse``
protocol over one driver session, so an engine module supplies only its driver.

An engine gives a :class:`ServerSession` (execute a statement, stream a query's rows as
Arrow batches, bulk-load Arrow batches into a new table, commit/roll back — each turning
the driver's exceptions into :class:`~.base.WarehouseFault` s) and :meth:`swap`, how a
staged table replaces another on that server. Everything else is here, once:

- **one transaction per asset**: a table's statements, or a step output's load, commit
  together or not at all (a failure, a lost connection, a killed server leave the old
  table as it was);
- **staging and swap**: a table is rebuilt into a stage table beside it and swapped in at
  the end (``CREATE TABLE x AS …`` and a step's output alike), so readers wait only for
  the swap; ``append`` and ``partition`` go through a temporary table and one
  ``INSERT … SELECT`` (by column name, as DuckDB's ``INSERT … BY NAME``);
- **files the SQL reads** (``read_csv('…')``) are read by a sandboxed DuckDB and staged
  into temporary tables (``file_reads.py``);
- **ML_PREDICT** by the ``stream`` strategy: each SELECT that calls a model is split into
  the warehouse's part and the model's part (``predict_split.py``), the model's part runs
  in an embedded DuckDB over the warehouse's Arrow stream, and the result is loaded
  through the bulk path;
- **export**: the rows stream into the step's data file (Arrow IPC or Parquet) with the
  content fingerprint (``export.py``), as on DuckDB; a step's output loads back from
  either format;
- **names**: ``iris.train`` is schema ``iris``, table ``train``; unquoted names are folded
  as the server folds them, and a schema a statement writes into is created if missing.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol
from urllib.parse import unquote, urlsplit

import duckdb
import pyarrow as pa
from pydantic import BaseModel, Field
from sqlglot import exp

from ..compiler.ir import QualifiedName
from ..contract.step_data import DataFormat
from ..runtime.data import DataFile
from .base import (
    FileScope,
    LoadMode,
    MlPredictStrategy,
    SqlFunction,
    SqlRefused,
    StatementRejected,
    TableStats,
    WarehouseBusy,
    WarehouseFault,
)
from .duckdb import EXPORT_BATCH_ROWS, register_functions
from .export import write_step_data
from .file_reads import file_rows, file_tables, staged_name
from .predict_split import ROWS, calls_of, scoring_scope, split_select

#: The dialect the in-process part of an ``ML_PREDICT`` query runs in.
LOCAL_DIALECT = "duckdb"


class ServerSession(Protocol):
    """One connection to the server, inside one transaction, as the shared code uses it.
    Every method raises a :class:`WarehouseFault` (never the driver's own exception)."""

    def execute(self, sql: str) -> None:
        """Run one statement that returns no rows."""
        ...

    def rows(self, sql: str) -> pa.RecordBatchReader:
        """A query's rows as Arrow batches, streamed (read them all before the next call):
        engine-neutral Arrow types, no driver metadata on the fields."""
        ...

    def fetch(self, sql: str, limit: int) -> tuple[tuple[str, ...], list[tuple[Any, ...]]] | None:
        """One statement's column names and at most ``limit`` rows (None: no result set)."""
        ...

    def load(self, table: exp.Table, rows: pa.RecordBatchReader, *, temporary: bool) -> int:
        """Create ``table`` with the columns of ``rows`` and fill it through the server's
        bulk path (``COPY``, ``LOAD DATA``…); the number of rows loaded."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class ServerSettings(BaseModel):
    """What every server warehouse is configured with, declared once for the resources,
    a SqlMlProject's defs.yaml and the environment."""

    url: str = Field(
        description="The server and database: postgresql://user@host:5432/database "
        "(credentials: in the URL, the driver's environment variables such as PGPASSWORD, "
        "or `password`)."
    )
    password: str | None = Field(
        default=None,
        description="The password, when it is not in the URL or the driver's environment "
        "(e.g. dg.EnvVar('WAREHOUSE_PASSWORD')); never shown in logs or metadata.",
    )
    default_schema: str | None = Field(
        default=None,
        description="The schema unqualified names mean (it must exist); default: the "
        "server's (PostgreSQL: the search_path, public).",
    )
    allowed_directories: list[str] = Field(
        default_factory=list,
        description="Folders (or URL prefixes) the SQL's file reads (read_csv('…')) may "
        "open besides the project folder.",
    )
    lock_timeout_seconds: float = Field(
        default=120.0,
        description="How long a statement waits for a lock another session holds on a table "
        "before the step fails (SQLML502).",
    )
    connect_timeout_seconds: int = Field(
        default=10, description="How long connecting may take before the server is unreachable."
    )


@dataclass(frozen=True)
class ServerAddress:
    """Where a server warehouse URL points, for messages: never its password."""

    scheme: str
    user: str
    host: str
    port: int
    database: str

    @classmethod
    def of(cls, url: str, default_port: int) -> ServerAddress:
        parts = urlsplit(url)
        return cls(
            scheme=parts.scheme,
            user=unquote(parts.username or ""),
            host=parts.hostname or "localhost",
            port=parts.port or default_port,
            database=unquote(parts.path.lstrip("/")),
        )

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def shown(self) -> str:
        """``postgresql://user@host:port/database``: what logs and metadata say."""
        user = f"{self.user}@" if self.user else ""
        return f"{self.scheme}://{user}{self.endpoint}/{self.database}"


class ServerWarehouse:
    """The :class:`~.base.Warehouse` protocol for a server, over :meth:`session`. An
    engine's resource derives from this and its settings and supplies the members marked
    "engine" below."""

    KIND: ClassVar[str]
    #: The engine's name in messages (``PostgreSQL``).
    ENGINE: ClassVar[str]
    ERRORS: ClassVar[tuple[type[BaseException], ...]] = (WarehouseFault, SqlRefused, WarehouseBusy)
    #: SQL naming the schema unqualified names mean (engine).
    CURRENT_SCHEMA: ClassVar[str]
    #: Whether ``CREATE``/``DROP``/``RENAME`` are part of a transaction (PostgreSQL) or
    #: commit it (MySQL/MariaDB). Without transactional DDL an asset's tables are built as
    #: stages and swapped in together at its end (:meth:`swap_all`), and a stage left by a
    #: failure is dropped.
    TRANSACTIONAL_DDL: ClassVar[bool] = True

    # -- engine ----------------------------------------------------------------------------

    @property
    def dialect(self) -> str:
        raise NotImplementedError

    @property
    def address(self) -> ServerAddress:
        raise NotImplementedError

    @property
    def settings(self) -> ServerSettings:
        raise NotImplementedError

    def session(self) -> Any:
        """A context manager giving a :class:`ServerSession` in a fresh transaction (engine)."""
        raise NotImplementedError

    def swap(self, session: ServerSession, stage: exp.Table, target: exp.Table) -> None:
        """Make the stage table ``target``, replacing what ``target`` was, inside the
        session's transaction (engine)."""
        raise NotImplementedError

    def swap_all(
        self, session: ServerSession, swaps: Sequence[tuple[exp.Table, exp.Table]]
    ) -> None:
        """Every ``(stage, target)`` swap of an asset at once (an engine without
        transactional DDL makes it one atomic statement); default: one after another."""
        for stage, target in swaps:
            self.swap(session, stage, target)

    def fold(self, name: str) -> str:
        """An unquoted name as the server stores it (PostgreSQL: lower case)."""
        return name.lower()

    def normalized(self, tree: exp.Expr) -> exp.Expr:
        """``tree`` with names as this server must see them (engine; default: as written)."""
        return tree

    # -- the protocol ------------------------------------------------------------------------

    @property
    def location(self) -> str:
        return self.address.shown

    @property
    def ml_predict(self) -> MlPredictStrategy:
        return "stream"

    def run_statements(
        self,
        statements: Sequence[exp.Expr],
        *,
        files: FileScope | None = None,
        functions: Sequence[SqlFunction] = (),
    ) -> None:
        """Run statements in one transaction (a ``CREATE`` with ``replace`` set is a table
        rebuilt into a stage and swapped in); a fault names the statement it belongs to."""
        with self._transaction() as run:
            run.copy_on_write = len(statements) > 1
            for index, statement in enumerate(statements):
                with _of_statement(index), run.naming_targets():
                    run.statement(statement, files, functions)
            with _of_statement(len(statements) - 1):
                run.finish()
            run.session.commit()

    def stats(self, name: QualifiedName) -> TableStats:
        table = self.table_ref(name)
        with self._transaction() as run:
            counted = run.session.fetch(f"SELECT count(*) FROM {table.sql(self.dialect)}", 1)
            columns = run.session.fetch(_columns_query(table, self.CURRENT_SCHEMA), 10_000)
        return TableStats(
            rows=int(counted[1][0][0]) if counted and counted[1] else 0,
            columns=tuple((str(r[0]), str(r[1]).upper()) for r in (columns[1] if columns else [])),
        )

    def table_exists(self, name: QualifiedName) -> bool:
        with self._transaction() as run:
            return run.exists(self.table_ref(name))

    def export_query(
        self,
        query: exp.Expr,
        uri: str | None,
        *,
        files: FileScope | None = None,
        functions: Sequence[SqlFunction] = (),
        data_format: DataFormat = "parquet",
    ) -> TableStats:
        """Stream the query's rows into a ``data_format`` file with the content
        fingerprint; the session is rolled back (the temporary tables of file reads and
        scoring go with it)."""
        with self._transaction() as run, _of_statement(0):
            tree = run.prepared(query, files, functions)
            with run.query_rows(tree, functions, spill=False) as reader:
                return write_step_data(reader, uri, data_format)

    def query(
        self,
        query: exp.Expr,
        *,
        functions: Sequence[SqlFunction] = (),
        limit: int,
        files: FileScope | None = None,
    ) -> tuple[tuple[str, ...], list[tuple[object, ...]]] | None:
        """One statement: a query's columns and at most ``limit`` rows; anything else runs
        (and commits) like a table's statement and returns None."""
        with self._transaction() as run, _of_statement(0):
            if not isinstance(query, exp.Query):
                run.statement(query, files, functions)
                run.session.commit()
                return None
            tree = run.prepared(query, files, functions)
            if not calls_of(tree, {f.name for f in functions}):
                return run.session.fetch(_limited(tree, limit).sql(self.dialect), limit)
            with run.query_rows(tree, functions, spill=False) as reader:
                return _first_rows(reader, limit)

    def load_file(
        self,
        name: QualifiedName,
        uri: str,
        *,
        data_format: DataFormat = "parquet",
        mode: LoadMode = "replace",
        rows: exp.Expr | None = None,
    ) -> None:
        """A step's output file (Arrow IPC or Parquet, at any fsspec URL) into table
        ``name`` in one transaction: ``replace``
        stages the rows beside the table and swaps them in; ``append`` inserts them by
        column name; ``partition`` deletes the window's rows (``rows``) and inserts."""
        if mode == "partition" and rows is None:
            raise ValueError("a partition load needs the partition's row predicate")
        target = self.table_ref(name)
        with (
            DataFile(uri, data_format).reader(EXPORT_BATCH_ROWS) as reader,
            self._transaction() as run,
        ):
            run.ensure_schema(target)
            if mode != "replace" and run.exists(target):
                incoming = run.temporary_name()
                run.session.load(incoming, reader, temporary=True)
                if mode == "partition" and rows is not None:
                    run.session.execute(
                        f"DELETE FROM {target.sql(self.dialect)} WHERE {rows.sql(self.dialect)}"
                    )
                run.insert_by_name(target, incoming, reader.schema.names)
            else:
                stage = run.stage_name(target)
                run.session.load(stage, reader, temporary=False)
                run.swap(stage, target)
            run.finish()
            run.session.commit()

    # -- names -------------------------------------------------------------------------------

    def table_ref(self, name: QualifiedName) -> exp.Table:
        """``name`` as a quoted table reference, its parts folded as unquoted names are."""
        parts = [self.fold(p) for p in name.parts]
        return exp.table_(
            parts[-1],
            db=parts[-2] if len(parts) > 1 else None,
            catalog=parts[-3] if len(parts) > 2 else None,
            quoted=True,
        )

    @contextmanager
    def _transaction(self) -> Iterator[_Run]:
        """A session in a transaction that is rolled back unless the caller committed."""
        with self.session() as session:
            run = _Run(self, session)
            try:
                yield run
            except BaseException:
                if not self.TRANSACTIONAL_DDL:
                    self._drop_stages(run.stages)
                raise
            finally:
                # After a commit there is nothing to roll back; on a lost connection the
                # server has rolled back already.
                with contextlib.suppress(WarehouseFault):
                    session.rollback()

    def _drop_stages(self, stages: Sequence[exp.Table]) -> None:
        """Drop what a failed asset staged, on a fresh connection (the failure may have been
        the connection's); if even that fails, the stages stay, named ``__sqlml_stage_*``."""
        if not stages:
            return
        with contextlib.suppress(WarehouseFault), self.session() as session:
            for stage in stages:
                session.execute(f"DROP TABLE IF EXISTS {stage.sql(self.dialect)}")
            session.commit()


class _Run:
    """One transaction's work: what a statement becomes on a server (module docstring)."""

    def __init__(self, warehouse: ServerWarehouse, session: ServerSession) -> None:
        self.warehouse = warehouse
        self.session = session
        self.dialect = warehouse.dialect
        self._names = 0
        self._token = secrets.token_hex(4)
        #: Every stage table named in this run (a failure drops them where DDL commits).
        self.stages: list[exp.Table] = []
        self._targets: dict[str, str] = {}
        #: Without transactional DDL: a table the asset rebuilds or writes → its stage, which
        #: the asset's later statements read and write instead, swapped in by :meth:`finish`.
        self.redirected: dict[tuple[str, str], exp.Table] = {}
        #: Views over redirected tables, created by :meth:`finish` once the tables are in.
        self.deferred: list[exp.Create] = []
        #: Whether a write into a table the asset does not rebuild goes through a copy (an
        #: asset of several statements on an engine without transactional DDL).
        self.copy_on_write = False

    @property
    def _staging(self) -> bool:
        return not self.warehouse.TRANSACTIONAL_DDL

    def swap(self, stage: exp.Table, target: exp.Table) -> None:
        """``stage`` becomes ``target``: now, inside the transaction, or — without
        transactional DDL — with the asset's other stages in :meth:`finish`."""
        if not self._staging:
            self.warehouse.swap(self.session, stage, target)
            return
        earlier = self.redirected.get(_key(target))
        if earlier is not None:  # rebuilt twice in one asset: the first build is dropped
            self.session.execute(f"DROP TABLE IF EXISTS {earlier.sql(self.dialect)}")
        self.redirected[_key(target)] = stage

    def finish(self) -> None:
        """The asset's stages swapped in together, then the views deferred over them."""
        if not self._staging:
            return
        swaps = [(stage, _unkey(key, stage)) for key, stage in self.redirected.items()]
        if swaps:
            self.warehouse.swap_all(self.session, swaps)
        self.redirected.clear()
        for view in self.deferred:
            self.session.execute(view.sql(self.dialect))
        self.deferred.clear()

    def _redirect(self, tree: exp.Expr, keep: exp.Table | None = None) -> None:
        """Every reference to a redirected table in ``tree`` (but ``keep``) reads its
        stage; one read in a FROM or JOIN keeps its name as its alias."""
        for table in list(tree.find_all(exp.Table)):
            stage = self.redirected.get(_key(table))
            if stage is None or table is keep:
                continue
            swapped = stage.copy()
            alias = table.args.get("alias")
            if alias is not None:
                swapped.set("alias", alias.copy())
            elif isinstance(table.parent, exp.From | exp.Join):
                swapped.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
            table.replace(swapped)

    def _staged_write(self, statement: exp.Expr) -> None:
        """Without transactional DDL, an INSERT/UPDATE/DELETE of an asset of several
        statements writes a copy of its table, swapped in at the end with the others."""
        target = (
            statement.this if isinstance(statement, exp.Insert | exp.Update | exp.Delete) else None
        )
        if isinstance(target, exp.Schema):
            target = target.this
        if not isinstance(target, exp.Table) or _key(target) in self.redirected:
            return
        if not self.exists(target):
            return
        stage = self.stage_name(target)
        self.session.execute(
            f"CREATE TABLE {stage.sql(self.dialect)} LIKE {target.sql(self.dialect)}"
        )
        self.session.execute(
            f"INSERT INTO {stage.sql(self.dialect)} SELECT * FROM {target.sql(self.dialect)}"
        )
        self.redirected[_key(target)] = stage

    # -- statements --------------------------------------------------------------------------

    def statement(
        self, statement: exp.Expr, files: FileScope | None, functions: Sequence[SqlFunction]
    ) -> None:
        tree = self.prepared(statement, files, functions)
        names = {f.name for f in functions}
        kind = str(tree.args.get("kind", "")).upper() if isinstance(tree, exp.Create) else ""
        if self._staging:
            if kind == "VIEW" and any(_key(t) in self.redirected for t in tree.find_all(exp.Table)):
                self.ensure_schema(_target_of(tree))  # type: ignore[arg-type]
                self.deferred.append(tree)  # type: ignore[arg-type]
                return
            if self.copy_on_write:
                self._staged_write(tree)
            self._redirect(tree, keep=_target_of(tree) if kind == "TABLE" else None)  # type: ignore[arg-type]
        if isinstance(tree, exp.Create) and kind == "TABLE":
            self._create_table(tree, functions)
            return
        if isinstance(tree, exp.Create):
            self.ensure_schema(_target_of(tree))
        if isinstance(tree, exp.Insert) and calls_of(tree, names):
            incoming = self.temporary_name()
            self._load_scored(incoming, tree.expression, functions, temporary=True)
            insert = tree.copy()
            insert.set("expression", exp.select("*").from_(incoming))
            self.session.execute(insert.sql(self.dialect))
            return
        if calls_of(tree, names):
            raise SqlRefused(
                f"ML_PREDICT in {_short(tree)}: on a server warehouse a model scores the rows "
                "of a SELECT (CREATE TABLE … AS SELECT, INSERT … SELECT, a query)"
            )
        self.session.execute(tree.sql(self.dialect))

    def _create_table(self, create: exp.Create, functions: Sequence[SqlFunction]) -> None:
        """``CREATE [OR REPLACE] TABLE``: a replacement (every asset's rebuild) goes through
        a stage table and the swap; ``IF NOT EXISTS`` does nothing when it exists."""
        target = _target_of(create)
        self.ensure_schema(target)
        query = create.expression
        scored = query is not None and bool(calls_of(query, {f.name for f in functions}))
        if create.args.get("exists") and (_key(target) in self.redirected or self.exists(target)):
            return
        if (
            not create.args.get("replace")
            and not scored
            and (not self._staging or self.exists(target))
        ):
            self.session.execute(create.sql(self.dialect))
            return
        stage = self.stage_name(target)
        if scored:
            self._load_scored(stage, query, functions, temporary=False)
        else:
            staged = create.copy()
            staged.set("replace", False)
            staged.set("exists", False)
            if isinstance(staged.this, exp.Schema):
                staged.this.set("this", stage)
            else:
                staged.set("this", stage)
            self.session.execute(staged.sql(self.dialect))
        self.swap(stage, target)

    # -- what a statement reads ---------------------------------------------------------------

    def prepared(
        self, statement: exp.Expr, files: FileScope | None, functions: Sequence[SqlFunction]
    ) -> exp.Expr:
        """``statement`` with the files it reads staged into temporary tables and every
        SELECT that calls a model, but its top one, scored into a temporary table."""
        tree = self.warehouse.normalized(statement.copy())
        for table in file_tables(tree):
            staged = staged_name(table, f"{self._token}_{self._next()}")
            with (
                _in_process(),
                file_rows(table, files, self.warehouse.settings.allowed_directories) as rows,
            ):
                self.session.load(exp.to_table(staged.name), _translated(rows), temporary=True)
            table.replace(staged)
        names = {f.name for f in functions}
        top = _top_select(tree)
        while (scope := scoring_scope(tree, names)) is not None and scope is not top:
            scored = self.temporary_name()
            self._load_scored(scored, scope, functions, temporary=True)
            scope.replace(exp.select("*").from_(scored))
        return tree

    @contextmanager
    def query_rows(
        self, query: exp.Expr, functions: Sequence[SqlFunction], *, spill: bool
    ) -> Iterator[pa.RecordBatchReader]:
        """A prepared query's rows: the server's stream, or — when its SELECT calls a model
        — the in-process part over that stream (``spill``: computed whole first, so the
        session is free again for a bulk load; else streamed)."""
        names = {f.name for f in functions}
        if not isinstance(query, exp.Select) or not calls_of(query, names):
            yield self.session.rows(query.sql(self.dialect))
            return
        split = split_select(query, names, self.dialect)
        with _in_process(), duckdb.connect(config={"temp_directory": _SPILL}) as local:
            local.execute("SET enable_external_access = false")
            register_functions(local, functions)
            local.register(ROWS, self.session.rows(split.remote.sql(self.dialect)))
            sql = split.local.sql(LOCAL_DIALECT)
            if spill:
                local.execute(f"CREATE TEMPORARY TABLE __sqlml_scored AS {sql}")
                sql = "SELECT * FROM __sqlml_scored"
            yield _translated(local.sql(sql).to_arrow_reader(EXPORT_BATCH_ROWS))

    def _load_scored(
        self,
        table: exp.Table,
        query: exp.Expr,
        functions: Sequence[SqlFunction],
        *,
        temporary: bool,
    ) -> None:
        with self.query_rows(query, functions, spill=True) as rows:
            self.session.load(table, rows, temporary=temporary)

    # -- tables --------------------------------------------------------------------------------

    def exists(self, table: exp.Table) -> bool:
        found = self.session.fetch(_tables_query(table, self.warehouse.CURRENT_SCHEMA), 1)
        return bool(found and found[1])

    def ensure_schema(self, table: exp.Table) -> None:
        """Create the schema a qualified name writes into, when it does not exist yet."""
        if not table.db:
            return
        schema = exp.Literal.string(table.db).sql(self.dialect)
        found = self.session.fetch(
            f"SELECT 1 FROM information_schema.schemata WHERE schema_name = {schema}", 1
        )
        if not (found and found[1]):
            self.session.execute(
                f"CREATE SCHEMA IF NOT EXISTS {exp.to_identifier(table.db, quoted=True).sql(self.dialect)}"
            )

    def insert_by_name(self, target: exp.Table, source: exp.Table, columns: list[str]) -> None:
        """``INSERT INTO target (cols) SELECT cols FROM source``: by name, as DuckDB's
        ``INSERT … BY NAME``."""
        listed = ", ".join(exp.to_identifier(c, quoted=True).sql(self.dialect) for c in columns)
        self.session.execute(
            f"INSERT INTO {target.sql(self.dialect)} ({listed}) "
            f"SELECT {listed} FROM {source.sql(self.dialect)}"
        )

    def stage_name(self, target: exp.Table) -> exp.Table:
        """A table beside ``target`` (same schema, so the swap is a rename) no one else uses."""
        stage = exp.table_(
            f"__sqlml_stage_{secrets.token_hex(4)}",
            db=target.db or None,
            catalog=target.catalog or None,
            quoted=True,
        )
        self.stages.append(stage)
        self._targets[stage.name] = target.name
        return stage

    @contextmanager
    def naming_targets(self) -> Iterator[None]:
        """A fault's message names the tables the user wrote, not their stages."""
        try:
            yield
        except WarehouseFault as e:
            for stage, target in self._targets.items():
                e.message = e.message.replace(stage, target)
            raise

    def temporary_name(self) -> exp.Table:
        """A name for a table of this session only (unique on the server: an engine whose
        other connections must read it may make it a plain table)."""
        return exp.table_(f"__sqlml_tmp_{self._token}_{self._next()}", quoted=True)

    def _next(self) -> int:
        self._names += 1
        return self._names


#: Where the in-process part of an ML_PREDICT query spills when its result is large.
_SPILL = f"{tempfile.gettempdir()}/sqlml_scoring_spill"


@contextmanager
def _in_process() -> Iterator[None]:
    """The embedded DuckDB's errors (a file the sandbox refuses, a model that fails on the
    rows) as the faults a server's own errors become."""
    try:
        yield
    except duckdb.Error as e:
        raise _local_fault(e) from e


def _translated(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """``reader`` whose errors while streaming are faults too (see :func:`_in_process`)."""

    def batches() -> Iterator[pa.RecordBatch]:
        with _in_process():
            yield from reader

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def _local_fault(error: duckdb.Error) -> SqlRefused | StatementRejected:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if "disabled by configuration" in str(error) or isinstance(error, duckdb.PermissionException):
        return SqlRefused(f"{first} (the project's SQL opens only its own files)")
    return StatementRejected(first)


@contextmanager
def _of_statement(index: int) -> Iterator[None]:
    """A fault raised inside belongs to the ``index``-th statement (see WarehouseFault)."""
    try:
        yield
    except WarehouseFault as e:
        raise e.of_statement(index) from e.__cause__


def _key(table: exp.Table) -> tuple[str, str]:
    """What identifies a table in one asset's statements: (schema or "", name), as folded."""
    return (table.db or "", table.name)


def _unkey(key: tuple[str, str], stage: exp.Table) -> exp.Table:
    return exp.table_(key[1], db=key[0] or None, catalog=stage.catalog or None, quoted=True)


def _target_of(create: exp.Create) -> exp.Table:
    target = create.this.this if isinstance(create.this, exp.Schema) else create.this
    assert isinstance(target, exp.Table)
    return target


def _top_select(tree: exp.Expr) -> exp.Select | None:
    """The SELECT whose rows a statement writes or returns, when it is a plain SELECT."""
    query = tree.expression if isinstance(tree, exp.Create | exp.Insert) else tree
    return query if isinstance(query, exp.Select) else None


def _limited(query: exp.Expr, limit: int) -> exp.Expr:
    """At most ``limit`` rows of ``query``, cut by the server (its own LIMIT kept if lower)."""
    if isinstance(query, exp.Select) and query.args.get("limit") is None:
        return query.limit(limit, copy=True)
    assert isinstance(query, exp.Query)
    return exp.select("*").from_(query.subquery("_sqlml_rows")).limit(limit)


def _first_rows(
    reader: pa.RecordBatchReader, limit: int
) -> tuple[tuple[str, ...], list[tuple[object, ...]]]:
    rows: list[tuple[object, ...]] = []
    for batch in reader:
        if len(rows) >= limit:
            break
        for row in batch.slice(0, limit - len(rows)).to_pylist():
            rows.append(tuple(row.values()))
    return tuple(reader.schema.names), rows


def _schema_condition(table: exp.Table, current_schema: str) -> str:
    schema = exp.Literal.string(table.db).sql() if table.db else current_schema
    return f"table_schema = {schema} AND table_name = {exp.Literal.string(table.name).sql()}"


def _tables_query(table: exp.Table, current_schema: str) -> str:
    return "SELECT table_type FROM information_schema.tables WHERE " + _schema_condition(
        table, current_schema
    )


def _columns_query(table: exp.Table, current_schema: str) -> str:
    return (
        "SELECT column_name, data_type FROM information_schema.columns WHERE "
        + _schema_condition(table, current_schema)
        + " ORDER BY ordinal_position"
    )


def _short(tree: exp.Expr) -> str:
    text = tree.sql()
    return text if len(text) <= 60 else text[:57] + "…"


__all__ = ["ServerAddress", "ServerSession", "ServerSettings", "ServerWarehouse"]
