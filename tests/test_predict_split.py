"""ML_PREDICT on a server warehouse: each SELECT that calls a model is split into what the
warehouse runs and what runs beside the model (warehouses/predict_split.py). Each row is a
SELECT and the two queries it becomes; test_warehouse_parity.py runs such queries on every
engine and compares the rows."""

from __future__ import annotations

import pytest
import sqlglot

from sqlml_dagster.warehouses import SqlRefused
from sqlml_dagster.warehouses.predict_split import scoring_scope, split_select

MODEL = {"m"}


@pytest.mark.parametrize(
    ("sql", "remote", "local"),
    [
        (  # the example's iris_disagreements: the plain condition stays in the warehouse
            "SELECT id, class AS actual, m(a, b) AS predicted FROM raw WHERE split = 'test' "
            "AND class <> m(a, b)",
            'SELECT id AS "__sqlml_c0", class AS "__sqlml_c1", a AS "__sqlml_c2", '
            "b AS \"__sqlml_c3\" FROM raw WHERE split = 'test'",
            'SELECT "__sqlml_c0" AS id, "__sqlml_c1" AS actual, M("__sqlml_c2", "__sqlml_c3") '
            'AS predicted FROM __sqlml_rows WHERE "__sqlml_c1" <> M("__sqlml_c2", "__sqlml_c3")',
        ),
        (  # a star keeps every column; arguments are computed in the warehouse
            "SELECT *, m(a * 2, b) AS p FROM x JOIN y USING (id) WHERE y.z > 1 ORDER BY p LIMIT 5",
            'SELECT *, a * 2 AS "__sqlml_c0", b AS "__sqlml_c1" FROM x JOIN y USING (id) '
            "WHERE y.z > 1",
            'SELECT * EXCLUDE ("__sqlml_c0", "__sqlml_c1"), M("__sqlml_c0", "__sqlml_c1") AS p '
            "FROM __sqlml_rows ORDER BY p LIMIT 5",
        ),
        (  # aggregates over predictions run beside the model, on the warehouse's rows
            "SELECT g, count(*) AS n, avg(m(a)) AS s FROM x GROUP BY g HAVING count(*) > 1",
            'SELECT g AS "__sqlml_c0", a AS "__sqlml_c1" FROM x',
            'SELECT "__sqlml_c0" AS g, COUNT(*) AS n, AVG(M("__sqlml_c1")) AS s FROM '
            '__sqlml_rows GROUP BY "__sqlml_c0" HAVING COUNT(*) > 1',
        ),
        (  # a CTE the SELECT reads goes with the warehouse's part
            "WITH a AS (SELECT * FROM t), b AS (SELECT id, m(x) AS p FROM a) SELECT * FROM b",
            'WITH a AS (SELECT * FROM t) SELECT id AS "__sqlml_c0", x AS "__sqlml_c1" FROM a',
            'SELECT "__sqlml_c0" AS id, M("__sqlml_c1") AS p FROM __sqlml_rows',
        ),
        (  # only the row count is needed: the warehouse returns a marker column
            "SELECT count(*) FROM t WHERE m(1.0) = 1",
            'SELECT NULL AS "__sqlml_row" FROM t',
            "SELECT COUNT(*) FROM __sqlml_rows WHERE M(1.0) = 1",
        ),
        (  # unquoted names fold as the server folds them (PostgreSQL: lower case)
            "SELECT Id, m(x) AS Predicted FROM T ORDER BY Predicted",
            'SELECT Id AS "__sqlml_c0", x AS "__sqlml_c1" FROM T',
            'SELECT "__sqlml_c0" AS id, M("__sqlml_c1") AS predicted FROM __sqlml_rows '
            "ORDER BY predicted",
        ),
    ],
)
def test_a_select_splits_into_the_warehouse_s_part_and_the_model_s(
    sql: str, remote: str, local: str
) -> None:
    tree = sqlglot.parse_one(sql, read="duckdb")
    scope = scoring_scope(tree, MODEL)
    assert scope is not None
    split = split_select(scope, MODEL, "postgres")
    assert (split.remote.sql("postgres"), split.local.sql("duckdb")) == (remote, local)


@pytest.mark.parametrize(
    ("sql", "innermost"),
    [
        ("SELECT m(a) FROM t", "SELECT m(a) FROM t"),
        (
            "SELECT * FROM (SELECT id, m(a) AS p FROM t) AS s WHERE p = 1",
            "SELECT id, m(a) AS p FROM t",
        ),
        (
            "SELECT m(q.p) FROM (SELECT m(a) AS p FROM t) AS q",
            "SELECT m(a) AS p FROM t",
        ),
        ("SELECT a FROM t", None),
    ],
)
def test_the_innermost_scoring_select_is_split_first(sql: str, innermost: str | None) -> None:
    scope = scoring_scope(sqlglot.parse_one(sql), MODEL)
    assert (scope.sql(normalize_functions=False) if scope is not None else None) == innermost


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM a JOIN b ON m(a.x) = b.y", "ML_PREDICT in a JOINS clause"),
        ("UPDATE t SET p = m(a)", "ML_PREDICT outside a SELECT"),
    ],
)
def test_calls_the_split_cannot_place_are_refused(sql: str, message: str) -> None:
    tree = sqlglot.parse_one(sql)
    with pytest.raises(SqlRefused, match=message):
        scope = scoring_scope(tree, MODEL)
        assert scope is not None
        split_select(scope, MODEL, "postgres")
