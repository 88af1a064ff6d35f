"""Server warehouses' data paths, as ratios against the driver alone in the same run.

For each server (PostgreSQL on ``$SQLML_BENCH_POSTGRES``, default the machine's
``postgresql://postgres@127.0.0.1:5432``), in a database of the run's own that is dropped
afterwards:

* **export**: ``export_query`` of ``--rows`` rows (default 1,000,000) by 8 columns (BIGINT,
  4 DOUBLE, INTEGER, TEXT, TIMESTAMP) to the step's Parquet file, with the content
  fingerprint — against the raw driver call alone (ADBC: ``execute`` + every Arrow batch
  read, nothing written; goal ≥ 0.8) and against ``pandas.read_sql`` + ``to_parquet``
  through SQLAlchemy and psycopg (what a user would otherwise write; no goal, the ratio
  says how much faster the warehouse path is);
* **write**: ``load_file`` of the same rows as a step's output (read the Parquet file,
  ``COPY`` into a stage table, swap it in, commit) — against a bare ``COPY`` of the same
  rows already in memory into a new table (ADBC's bulk ingest + commit; goal ≥ 0.8);
* **drivers** (``--drivers``, what chose ADBC; docs/warehouses.md): the same export read by
  connectorx (Arrow), psycopg ``COPY … TO STDOUT (FORMAT binary)`` decoded into Python rows
  then Arrow, psycopg ``COPY … (FORMAT csv)`` parsed by pyarrow; the same write by psycopg
  ``COPY … FROM STDIN (FORMAT csv)`` fed by pyarrow's CSV writer.

Each side runs once to warm up, then ``--repeat`` times alternating, and the medians are
compared; the ratio is sqlml rows/s over baseline rows/s (1.0: no overhead).

    make bench          # or: python bench/bench_warehouses.py --rows 200000 --repeat 3

Figures are merged by name into ``bench-results.json`` (see bench_compiler.py).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_compiler import record  # noqa: E402

POSTGRES = os.environ.get("SQLML_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
MYSQL = os.environ.get("SQLML_BENCH_MYSQL", "mysql://root@127.0.0.1:3306")
EXPORT_GOAL = 0.8
WRITE_GOAL = 0.8

ROWS_SQL = """
CREATE TABLE bench_rows AS
SELECT i::bigint AS id, random() AS x1, random() AS x2, random() AS x3, random() AS x4,
       (i % 100)::int AS n, 'category_' || (i % 37) AS category,
       timestamp '2026-01-01' + i * interval '1 second' AS ts
FROM generate_series(1, {rows}) AS i
"""


@dataclass(frozen=True)
class Figure:
    name: str
    label: str
    rows: int
    seconds: float
    baseline_seconds: float
    goal: float | None

    @property
    def ratio(self) -> float:
        return self.baseline_seconds / self.seconds

    def verdict(self) -> str:
        if self.goal is None:
            return "(no goal)"
        return f">= {self.goal:.2f}  {'GOAL MET' if self.ratio >= self.goal else 'GOAL MISSED'}"


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def compare(
    ours: Callable[[], object], baseline: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Median seconds of each side: one warm-up each, then alternating runs."""
    ours(), baseline()
    mine, theirs = [], []
    for _ in range(repeat):
        mine.append(timed(ours))
        theirs.append(timed(baseline))
    return statistics.median(mine), statistics.median(theirs)


def median(work: Callable[[], object], repeat: int) -> float:
    work()
    return statistics.median(timed(work) for _ in range(repeat))


def admin(sql: str, database: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/{database}", autocommit=True) as connection:
        connection.execute(sql)


def postgres(rows: int, repeat: int, drivers: bool, folder: Path) -> list[Figure]:
    import adbc_driver_postgresql.dbapi as adbc
    import pandas as pd
    import pyarrow.parquet as pq
    import sqlalchemy
    import sqlglot

    from sqlml_dagster.compiler import QualifiedName
    from sqlml_dagster.warehouses.postgres import PostgresWarehouse

    database = f"sqlml_bench_{uuid.uuid4().hex[:10]}"
    admin(f'CREATE DATABASE "{database}"')
    url = f"{POSTGRES}/{database}"
    try:
        admin(ROWS_SQL.format(rows=rows), database)
        admin("ANALYZE bench_rows", database)
        warehouse = PostgresWarehouse(url=url)
        query = "SELECT * FROM bench_rows"
        tree = sqlglot.parse_one(query)
        step_file = str(folder / "input.parquet")

        def export() -> None:
            stats = warehouse.export_query(tree, step_file)
            assert stats.rows == rows

        def raw_read() -> None:
            with adbc.connect(url) as connection, connection.cursor() as cursor:
                cursor.execute(query)
                read = sum(batch.num_rows for batch in cursor.fetch_record_batch())
            assert read == rows

        engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))

        def pandas_read() -> None:
            with engine.connect() as connection:
                frame = pd.read_sql(query, connection)
            frame.to_parquet(folder / "pandas.parquet")

        figures = []
        seconds, baseline = compare(export, raw_read, repeat)
        figures.append(
            Figure(
                "pg_export_rows_per_second",
                "export to the step's Parquet / raw ADBC read",
                rows,
                seconds,
                baseline,
                EXPORT_GOAL,
            )
        )
        pandas_seconds = median(pandas_read, max(1, repeat // 2))
        figures.append(
            Figure(
                "pg_export_vs_pandas_rows_per_second",
                "export to the step's Parquet / pandas.read_sql+to_parquet",
                rows,
                seconds,
                pandas_seconds,
                None,
            )
        )

        output = pq.read_table(step_file)
        pq.write_table(output, folder / "output.parquet")
        target = QualifiedName(("bench_predictions",))

        def load() -> None:
            warehouse.load_file(target, str(folder / "output.parquet"))

        def bare_copy() -> None:
            with adbc.connect(url) as connection, connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS bench_copy")
                cursor.adbc_ingest("bench_copy", output, mode="create")
                connection.commit()

        seconds, baseline = compare(load, bare_copy, repeat)
        figures.append(
            Figure(
                "pg_write_rows_per_second",
                "load_file (stage + swap) / bare COPY",
                rows,
                seconds,
                baseline,
                WRITE_GOAL,
            )
        )
        if drivers:
            figures += driver_figures(url, query, output, rows, repeat)
        return figures
    finally:
        admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def driver_figures(url: str, query: str, table: pa.Table, rows: int, repeat: int) -> list[Figure]:
    """The other ways to move the rows (why the warehouse uses ADBC): each against ADBC."""
    import adbc_driver_postgresql.dbapi as adbc
    import connectorx
    import psycopg
    import pyarrow.csv as pacsv

    types = dict(zip(table.schema.names, table.schema.types, strict=True))
    oids = ["int8", "float8", "float8", "float8", "float8", "int4", "text", "timestamp"]

    def adbc_read() -> None:
        with adbc.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute(query)
            cursor.fetch_arrow_table()

    def connectorx_read() -> None:
        connectorx.read_sql(url, query, return_type="arrow")

    def psycopg_binary() -> None:
        with (
            psycopg.connect(url) as connection,
            connection.cursor().copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as copy,
        ):
            copy.set_types(oids)
            columns: list[list[object]] = [[] for _ in oids]
            for row in copy.rows():
                for column, value in zip(columns, row, strict=True):
                    column.append(value)
        pa.table(columns, names=list(types))

    def psycopg_csv() -> None:
        buffer = io.BytesIO()
        with (
            psycopg.connect(url) as connection,
            connection.cursor().copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy,
        ):
            for chunk in copy:
                buffer.write(chunk)
        buffer.seek(0)
        pacsv.read_csv(
            buffer,
            read_options=pacsv.ReadOptions(column_names=list(types)),
            convert_options=pacsv.ConvertOptions(column_types=types),
        )

    def adbc_write() -> None:
        with adbc.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_driver")
            cursor.adbc_ingest("bench_driver", table, mode="create")
            connection.commit()

    def psycopg_csv_write() -> None:
        with psycopg.connect(url) as connection:
            connection.execute("DROP TABLE IF EXISTS bench_driver")
            connection.execute("CREATE TABLE bench_driver (LIKE bench_rows)")
            with connection.cursor().copy("COPY bench_driver FROM STDIN (FORMAT csv)") as copy:
                for batch in table.to_batches(65_536):
                    buffer = io.BytesIO()
                    pacsv.write_csv(
                        pa.Table.from_batches([batch]),
                        buffer,
                        pacsv.WriteOptions(include_header=False),
                    )
                    copy.write(buffer.getvalue())

    figures = []
    adbc_seconds = median(adbc_read, repeat)
    for name, label, work, times in (
        ("pg_read_connectorx", "read: ADBC / connectorx (Arrow)", connectorx_read, repeat),
        ("pg_read_psycopg_binary", "read: ADBC / psycopg COPY BINARY rows", psycopg_binary, 1),
        ("pg_read_psycopg_csv", "read: ADBC / psycopg COPY CSV + pyarrow", psycopg_csv, repeat),
    ):
        figures.append(Figure(name, label, rows, adbc_seconds, median(work, times), None))
    adbc_write_seconds = median(adbc_write, repeat)
    figures.append(
        Figure(
            "pg_write_psycopg_csv",
            "write: ADBC COPY / psycopg COPY CSV",
            rows,
            adbc_write_seconds,
            median(psycopg_csv_write, repeat),
            None,
        )
    )
    return figures


MYSQL_ROWS_SQL = """
CREATE TABLE bench_rows AS
SELECT CAST(seq AS SIGNED) AS id, rand(1) AS x1, rand(2) AS x2, rand(3) AS x3, rand(4) AS x4,
       CAST(seq % 100 AS INT) AS n, concat('category_', seq % 37) AS category,
       timestamp '2026-01-01 00:00:00' + INTERVAL seq SECOND AS ts
FROM seq_1_to_{rows}
"""


def mysql_admin(sql: str, database: str = "") -> None:
    import pymysql

    parts = urlsplit(MYSQL)
    with (
        pymysql.connect(
            host=parts.hostname,
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            database=database or None,
            autocommit=True,
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)


def mysql(rows: int, repeat: int, drivers: bool, folder: Path) -> list[Figure]:
    """The same figures on MariaDB (MySQL's protocol): connectorx is the raw read, a bare
    ``LOAD DATA LOCAL INFILE`` of a ready file the raw write (the server's fastest path)."""
    import connectorx
    import pandas as pd
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    import pymysql
    import sqlalchemy
    import sqlglot

    from sqlml_dagster.compiler import QualifiedName
    from sqlml_dagster.warehouses.mysql import MySqlWarehouse

    database = f"sqlml_bench_{uuid.uuid4().hex[:10]}"
    mysql_admin(f"CREATE DATABASE `{database}`")
    url = f"{MYSQL}/{database}"
    try:
        mysql_admin(MYSQL_ROWS_SQL.format(rows=rows), database)
        warehouse = MySqlWarehouse(url=url)
        query = "SELECT * FROM bench_rows"
        tree = sqlglot.parse_one(query)
        step_file = str(folder / "my_input.parquet")

        def export() -> None:
            stats = warehouse.export_query(tree, step_file)
            assert stats.rows == rows

        def raw_read() -> None:
            reader = connectorx.read_sql(url, query, return_type="arrow_stream", batch_size=65_536)
            assert sum(batch.num_rows for batch in reader) == rows

        engine = sqlalchemy.create_engine(url.replace("mysql://", "mysql+pymysql://"))

        def pandas_read() -> None:
            with engine.connect() as connection:
                frame = pd.read_sql(query, connection)
            frame.to_parquet(folder / "my_pandas.parquet")

        figures = []
        seconds, baseline = compare(export, raw_read, repeat)
        figures.append(
            Figure(
                "mysql_export_rows_per_second",
                "MariaDB: export to the step's Parquet / raw connectorx read",
                rows,
                seconds,
                baseline,
                EXPORT_GOAL,
            )
        )
        figures.append(
            Figure(
                "mysql_export_vs_pandas_rows_per_second",
                "MariaDB: export / pandas.read_sql+to_parquet (PyMySQL)",
                rows,
                seconds,
                median(pandas_read, max(1, repeat // 2)),
                None,
            )
        )

        output = pq.read_table(step_file)
        pq.write_table(output, folder / "my_output.parquet")
        target = QualifiedName(("bench_predictions",))
        ready = folder / "ready.tsv"
        pacsv.write_csv(
            output,
            ready,
            pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none"),
        )
        connection = pymysql.connect(
            host=urlsplit(url).hostname,
            port=urlsplit(url).port or 3306,
            user=urlsplit(url).username,
            database=database,
            local_infile=True,
        )

        def load() -> None:
            warehouse.load_file(target, str(folder / "my_output.parquet"))

        def bare_load() -> None:
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS bench_load")
                cursor.execute("CREATE TABLE bench_load LIKE bench_rows")
                cursor.execute(
                    f"LOAD DATA LOCAL INFILE '{ready}' INTO TABLE bench_load "
                    "FIELDS TERMINATED BY '\\t'"
                )
            connection.commit()

        seconds, baseline = compare(load, bare_load, repeat)
        figures.append(
            Figure(
                "mysql_write_rows_per_second",
                "MariaDB: load_file (stage + RENAME) / bare LOAD DATA",
                rows,
                seconds,
                baseline,
                WRITE_GOAL,
            )
        )
        if drivers:

            def pymysql_rows() -> None:
                with (
                    pymysql.connect(
                        host=urlsplit(url).hostname,
                        port=urlsplit(url).port or 3306,
                        user=urlsplit(url).username,
                        database=database,
                        cursorclass=pymysql.cursors.SSCursor,
                    ) as streamed,
                    streamed.cursor() as cursor,
                ):
                    cursor.execute(query)
                    names = [d[0] for d in cursor.description]
                    while chunk := cursor.fetchmany(65_536):
                        pa.table(list(zip(*chunk, strict=True)), names=names)

            def executemany() -> None:
                with connection.cursor() as cursor:
                    cursor.execute("DROP TABLE IF EXISTS bench_insert")
                    cursor.execute("CREATE TABLE bench_insert LIKE bench_rows")
                    marks = ", ".join(["%s"] * output.num_columns)
                    for batch in output.to_batches(10_000):
                        cursor.executemany(
                            f"INSERT INTO bench_insert VALUES ({marks})",
                            list(zip(*(c.to_pylist() for c in batch.columns), strict=True)),
                        )
                connection.commit()

            figures.append(
                Figure(
                    "mysql_read_pymysql_rows",
                    "MariaDB read: connectorx / PyMySQL rows then Arrow",
                    rows,
                    median(raw_read, repeat),
                    median(pymysql_rows, 1),
                    None,
                )
            )
            figures.append(
                Figure(
                    "mysql_write_executemany",
                    "MariaDB write: load_file / PyMySQL multi-row INSERTs",
                    rows,
                    median(load, 1),
                    median(executemany, 1),
                    None,
                )
            )
        connection.close()
        return figures
    finally:
        mysql_admin(f"DROP DATABASE IF EXISTS `{database}`")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--drivers", action="store_true", help="also measure other drivers")
    parser.add_argument("--results", type=Path, default=REPO / "bench-results.json")
    args = parser.parse_args()
    print(
        f"server warehouses: {args.rows:,} rows x 8 columns, median of {args.repeat}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="sqlml_bench_") as folder:
        figures = postgres(args.rows, args.repeat, args.drivers, Path(folder))
        figures += mysql(args.rows, args.repeat, args.drivers, Path(folder))
    print(f"  {'':58} {'sqlml rows/s':>13} {'baseline rows/s':>16} {'ratio':>6}")
    for f in figures:
        print(
            f"  {f.label:58} {f.rows / f.seconds:13,.0f} {f.rows / f.baseline_seconds:16,.0f} "
            f"{f.ratio:6.2f}  {f.verdict()}"
        )
    record(
        args.results,
        [
            {
                "name": f.name,
                "value": f.rows / f.seconds,
                "unit": "rows/s",
                "baseline": f.rows / f.baseline_seconds,
                "ratio": f.ratio,
            }
            for f in figures
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
