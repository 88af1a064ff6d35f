"""Every warehouse behaves as DuckDB does: the same statements give the same tables, loads
the same rows, ML_PREDICT the same values, the fingerprint the same verdicts.

Each test runs once per engine (``warehouse`` fixture): DuckDB in a temporary file, and
each server warehouse in a database of the test's own on the machine's server
(tests/servers.py). Adding an engine is one more parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import sqlglot

from sqlml_dagster.compiler import QualifiedName
from sqlml_dagster.contract.step_data import DataFormat, data_file_name
from sqlml_dagster.runtime.data import DataFile
from sqlml_dagster.warehouses import (
    FileScope,
    LoadMode,
    SqlFunction,
    Warehouse,
    warehouse_from_url,
)

from .servers import mysql_database, postgres_database

ENGINES = ["duckdb", "postgres", "mysql"]


@pytest.fixture(params=ENGINES)
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    if request.param == "duckdb":
        yield warehouse_from_url(str(tmp_path / "w.duckdb"))
        return
    server = postgres_database if request.param == "postgres" else mysql_database
    with server() as url:
        yield warehouse_from_url(url)


def schema_of(warehouse: Warehouse, name: str) -> str:
    """A schema of the test's own: on MySQL a schema is a database beside the test's, which
    the fixture drops when named after it (tests/servers.py)."""
    location = warehouse.location
    if location.startswith("mysql"):
        return f"{location.rsplit('/', 1)[-1]}_{name}"
    return name


def sql(text: str) -> sqlglot.exp.Expr:
    return sqlglot.parse_one(text, read="duckdb")


def rows(warehouse: Warehouse, query: str) -> list[tuple[object, ...]]:
    answer = warehouse.query(sql(query), limit=10_000)
    assert answer is not None
    return [tuple(r) for r in answer[1]]


@pytest.mark.slow
def test_a_table_in_a_new_schema_round_trips(warehouse: Warehouse, tmp_path: Path) -> None:
    """``scored.out``: the schema is created on first write; export streams the rows."""
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "label": ["a", "b", None]}), source)
    schema = schema_of(warehouse, "scored")
    name = QualifiedName((schema, "out"))
    warehouse.load_file(name, str(source))
    assert warehouse.table_exists(name)
    assert warehouse.stats(name).rows == 3
    assert [c for c, _ in warehouse.stats(name).columns] == ["id", "label"]
    exported = warehouse.export_query(
        sql(f"SELECT * FROM {schema}.out WHERE id > 1 ORDER BY id"), str(tmp_path / "x.parquet")
    )
    assert exported.rows == 2
    table = pq.read_table(tmp_path / "x.parquet")
    assert table.to_pydict() == {"id": [2, 3], "label": ["b", None]}
    assert table.schema.metadata is None or b"POSTGRESQL" not in str(table.schema).encode()


@pytest.mark.parametrize(
    ("mode", "predicate", "expected"),
    [
        # replace: the table is the new rows, whatever it held
        ("replace", None, [(3, "new"), (4, "new")]),
        # append: the new rows after the old ones
        ("append", None, [(1, "old"), (2, "old"), (3, "new"), (4, "new")]),
        # partition: only the window's rows are replaced (here id >= 2)
        ("partition", "id >= 2", [(1, "old"), (3, "new"), (4, "new")]),
    ],
)
@pytest.mark.slow
def test_a_steps_output_loads_by_mode(
    warehouse: Warehouse,
    tmp_path: Path,
    mode: LoadMode,
    predicate: str | None,
    expected: list[tuple[int, str]],
) -> None:
    name = QualifiedName(("t",))
    old, new = tmp_path / "old.parquet", tmp_path / "new.parquet"
    pq.write_table(pa.table({"id": [1, 2], "v": ["old", "old"]}), old)
    # columns in another order: append and partition insert by name
    pq.write_table(pa.table({"v": ["new", "new"], "id": [3, 4]}), new)
    warehouse.load_file(name, str(old))
    warehouse.load_file(name, str(new), mode=mode, rows=sql(predicate) if predicate else None)
    assert rows(warehouse, "SELECT id, v FROM t ORDER BY id") == expected


@pytest.mark.parametrize("data_format", ["arrow", "parquet"])
@pytest.mark.slow
def test_a_steps_output_loads_from_either_format(
    warehouse: Warehouse, tmp_path: Path, data_format: DataFormat
) -> None:
    """Arrow IPC (a local data store) or Parquet (an object store): the same table, a
    dictionary column (an ENUM, a category) loaded as its values."""
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "x": pa.array([0.5, None, 2.5]),
            "c": pa.array(["a", "b", "a"]).dictionary_encode(),
            "label": pa.array(["yes", None, "no"]),
        }
    )
    target = DataFile(str(tmp_path / data_file_name("output", data_format)), data_format)
    with target.writer(table.schema) as writer:
        writer.write_table(table)
    name = QualifiedName(("scored", "out"))
    warehouse.load_file(name, target.uri, data_format=data_format)
    assert rows(warehouse, "SELECT id, x, c, label FROM scored.out ORDER BY id") == [
        (1, 0.5, "a", "yes"),
        (2, None, "b", None),
        (3, 2.5, "a", "no"),
    ]
    # and back out, in the other format: the same rows and fingerprint as in this one
    other: DataFormat = "parquet" if data_format == "arrow" else "arrow"
    query = sql("SELECT * FROM scored.out")
    there = warehouse.export_query(query, str(tmp_path / "a"), data_format=data_format)
    back = warehouse.export_query(query, str(tmp_path / "b"), data_format=other)
    assert there == back and there.rows == 3


@pytest.mark.slow
def test_a_failing_statement_leaves_the_old_table(warehouse: Warehouse) -> None:
    """One transaction per asset: the rebuilt table and the statement after it go together."""
    warehouse.run_statements([sql("CREATE OR REPLACE TABLE t AS SELECT 1 AS a")])
    with pytest.raises(warehouse.ERRORS):
        warehouse.run_statements(
            [
                sql("CREATE OR REPLACE TABLE t AS SELECT 2 AS a"),
                sql("INSERT INTO t SELECT * FROM no_such_table"),
            ]
        )
    assert rows(warehouse, "SELECT a FROM t") == [(1,)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT range FROM range(3)", [(0,), (1,), (2,)]),
        ("SELECT t.range FROM range(1, 3) AS t", [(1,), (2,)]),
        ("SELECT generate_series FROM generate_series(1, 3)", [(1,), (2,), (3,)]),
        ("SELECT i FROM range(5, 0, -2) AS r(i)", [(5,), (3,), (1,)]),
        ("SELECT count(*) FROM range(0)", [(0,)]),
    ],
)
@pytest.mark.slow
def test_duckdb_s_range_gives_the_same_rows(
    warehouse: Warehouse, query: str, expected: list[tuple[int]]
) -> None:
    """``range()``/``generate_series()`` as a table, with DuckDB's column names."""
    assert rows(warehouse, query) == expected


@pytest.mark.slow
def test_views_over_a_rebuilt_table_keep_working(warehouse: Warehouse, tmp_path: Path) -> None:
    """The example's house_features is a view over raw_houses, which every run rebuilds."""
    warehouse.run_statements([sql("CREATE OR REPLACE TABLE base AS SELECT 1 AS a")])
    warehouse.run_statements([sql("CREATE OR REPLACE VIEW above AS SELECT a + 1 AS b FROM base")])
    warehouse.run_statements([sql("CREATE OR REPLACE TABLE base AS SELECT 5 AS a")])
    assert rows(warehouse, "SELECT b FROM above") == [(6,)]
    new = tmp_path / "new.parquet"
    pq.write_table(pa.table({"a": pa.array([7], pa.int32())}), new)
    warehouse.load_file(QualifiedName(("base",)), str(new))
    assert rows(warehouse, "SELECT b FROM above") == [(8,)]


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ("SELECT * FROM d ORDER BY id DESC", True),  # the same rows in another order
        ("SELECT * FROM d WHERE id <> 2 UNION ALL SELECT 2, 'b', 2.5", True),  # re-assembled
        ("SELECT id, v, CASE WHEN id = 3 THEN 3.75 ELSE x END AS x FROM d", False),  # one value
        ("SELECT * FROM d WHERE id <> 4", False),  # one row less
        ("SELECT id, v AS w, x FROM d", False),  # a column renamed
    ],
)
@pytest.mark.slow
def test_the_fingerprint_judges_content_not_order(
    warehouse: Warehouse, tmp_path: Path, change: str, same: bool
) -> None:
    """What decides "unchanged → reuse the version" (docs/warehouses.md, "Fingerprints")."""
    warehouse.run_statements(
        [
            sql(
                "CREATE OR REPLACE TABLE d AS SELECT i AS id, chr(CAST(96 + i AS INTEGER)) AS v, i + 0.5 AS x "
                "FROM range(1, 6) AS r(i)"
            )
        ]
    )
    base = warehouse.export_query(sql("SELECT * FROM d ORDER BY id"), str(tmp_path / "a.parquet"))
    other = warehouse.export_query(sql(change), str(tmp_path / "b.parquet"))
    assert (base.fingerprint == other.fingerprint) is same


def score(a: pa.Array, b: pa.Array) -> pa.Array:
    """A stand-in model: deterministic, vectorized, two inputs → one label."""
    total = pc.add(pc.cast(a, pa.float64()), pc.cast(b, pa.float64()))
    return pc.if_else(pc.greater(total, 5.0), "big", "small")


MODEL = SqlFunction("__sqlml_predict_0", score, ("DOUBLE", "DOUBLE"), "VARCHAR")
POINTS = (
    "CREATE OR REPLACE TABLE points AS SELECT i AS id, i * 0.5 AS a, i % 4 AS b, "
    "CASE WHEN i % 3 = 0 THEN 'test' ELSE 'train' END AS split FROM range(12) AS r(i)"
)


@pytest.mark.parametrize(
    "query",
    [
        # the example's form: in the SELECT list and the WHERE, beside a plain condition
        "SELECT id, __sqlml_predict_0(a, b) AS p FROM points WHERE split = 'test' "
        "AND __sqlml_predict_0(a, b) <> 'big' ORDER BY id",
        # every column and the prediction; its arguments are expressions
        "SELECT *, __sqlml_predict_0(a * 2, b + 1) AS p FROM points ORDER BY id",
        # aggregated by a grouping column, ordered by the SELECT list's alias
        "SELECT split, __sqlml_predict_0(a, b) AS p, count(*) AS n FROM points "
        "GROUP BY split, p ORDER BY split, p",
        # in a CTE and a subquery
        "WITH s AS (SELECT id, __sqlml_predict_0(a, b) AS p FROM points) "
        "SELECT p, count(*) AS n FROM (SELECT * FROM s WHERE id > 2) AS q GROUP BY p ORDER BY p",
        # joined tables
        "SELECT x.id, __sqlml_predict_0(x.a, y.b) AS p FROM points AS x "
        "JOIN points AS y ON y.id = x.id + 1 ORDER BY x.id",
    ],
)
@pytest.mark.slow
def test_ml_predict_gives_duckdb_s_rows(warehouse: Warehouse, query: str, tmp_path: Path) -> None:
    """The same query on every engine: DuckDB calls the model as a function; a server runs
    the query without it and the model scores the rows' stream (docs/warehouses.md)."""
    reference = warehouse_from_url(str(tmp_path / "reference.duckdb"))
    expected = _scored(reference, query)
    assert _scored(warehouse, query) == expected


def _scored(warehouse: Warehouse, query: str) -> list[tuple[object, ...]]:
    warehouse.run_statements([sql(POINTS)])
    warehouse.run_statements([sql(f"CREATE OR REPLACE TABLE scored AS {query}")], functions=[MODEL])
    answer = warehouse.query(sql(query), functions=[MODEL], limit=1000)
    assert answer is not None
    assert rows(warehouse, "SELECT * FROM scored") == [tuple(r) for r in answer[1]]
    return [tuple(r) for r in answer[1]]


@pytest.mark.slow
def test_ml_predict_rows_append_with_insert(warehouse: Warehouse) -> None:
    warehouse.run_statements(
        [sql(POINTS), sql("CREATE OR REPLACE TABLE out (id BIGINT, p VARCHAR)")]
    )
    warehouse.run_statements(
        [sql("INSERT INTO out SELECT id, __sqlml_predict_0(a, b) FROM points WHERE id < 3")],
        functions=[MODEL],
    )
    assert rows(warehouse, "SELECT id, p FROM out ORDER BY id") == [
        (0, "small"),
        (1, "small"),
        (2, "small"),
    ]


@pytest.mark.slow
def test_files_the_sql_reads_have_duckdb_s_types(warehouse: Warehouse, tmp_path: Path) -> None:
    """``read_csv('../data/x.csv')`` reads the project's file, relative to the SQL file, with
    DuckDB's type detection — on a server too (the example runs unchanged)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "sql").mkdir()
    (tmp_path / "data" / "x.csv").write_text("id,x,name\n1,0.5,a\n2,1.5,b\n")
    files = FileScope(folder=str(tmp_path / "sql"), allowed=(str(tmp_path),))
    warehouse.run_statements(
        [sql("CREATE OR REPLACE TABLE x AS SELECT * FROM read_csv('../data/x.csv') AS f")],
        files=files,
    )
    assert rows(warehouse, "SELECT id, x, name FROM x ORDER BY id") == [
        (1, 0.5, "a"),
        (2, 1.5, "b"),
    ]
    assert [t.split("(")[0] for _, t in warehouse.stats(QualifiedName(("x",))).columns] in (
        ["BIGINT", "DOUBLE", "VARCHAR"],  # DuckDB
        ["BIGINT", "DOUBLE PRECISION", "TEXT"],  # PostgreSQL
        ["BIGINT", "DOUBLE", "TEXT"],  # MySQL/MariaDB
    )


def test_files_outside_the_project_are_refused(warehouse: Warehouse, tmp_path: Path) -> None:
    files = FileScope.of_folder(tmp_path)
    with pytest.raises(warehouse.ERRORS, match="/etc/passwd"):
        warehouse.run_statements(
            [sql("CREATE OR REPLACE TABLE x AS SELECT * FROM read_csv('/etc/passwd')")],
            files=files,
        )
