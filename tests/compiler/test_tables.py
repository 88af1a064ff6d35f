"""Which tables a query reads: from the sqlglot tree, through CTEs, subqueries and joins."""

from __future__ import annotations

import pytest
import sqlglot

from sqlml_dagster.compiler import tables_read

CASES = [
    ("SELECT * FROM a", ["a"]),
    ("SELECT * FROM s.a", ["s.a"]),
    ("SELECT * FROM cat.s.a", ["cat.s.a"]),
    ("SELECT * FROM a JOIN b ON a.id = b.id LEFT JOIN c USING (id)", ["a", "b", "c"]),
    ("SELECT * FROM (SELECT * FROM a) sub", ["a"]),
    ("SELECT * FROM a WHERE x IN (SELECT x FROM b) AND EXISTS (SELECT 1 FROM c)", ["a", "b", "c"]),
    # A CTE is not a table …
    ("WITH x AS (SELECT * FROM a) SELECT * FROM x", ["a"]),
    # … but a CTE may read a real table of the same name as a later CTE.
    ("WITH c1 AS (SELECT * FROM a), a AS (SELECT 1) SELECT * FROM c1 JOIN a ON true", ["a"]),
    (
        "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
        [],
    ),
    ("SELECT * FROM a UNION ALL SELECT * FROM b", ["a", "b"]),
    ("SELECT * FROM read_csv('x.csv')", []),
    ("SELECT * FROM 'data/x.parquet'", []),
    ("SELECT * FROM range(10)", []),
    ("SELECT (SELECT max(v) FROM b) AS m FROM a", ["b", "a"]),
]


@pytest.mark.parametrize(("sql", "expected"), CASES)
def test_tables_read(sql: str, expected: list[str]) -> None:
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert sorted(str(t) for t in tables_read(tree)) == sorted(expected)
