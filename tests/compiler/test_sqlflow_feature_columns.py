"""SQLFlow's feature-column forms compile (``go/ir/ir_generator.go``: ``parseFieldDesc``,
``parseBucketColumn``, ``parseWeightedCategoryColumn``, ``parseEmbeddingColumn``; the
grammar's ``column: '*' | IDENT | funcall``), read back from their canonical SQL, and every
bad feature column of a clause is reported in one pass."""

from __future__ import annotations

import pytest

from sqlml_dagster.compiler import parse_sql_file, to_json, to_sql


def compiled(columns: str) -> tuple[list[dict[str, object]], str, list[str]]:
    sql_file, diagnostics = parse_sql_file(
        "f.sql", f"SELECT * FROM t TO TRAIN DNNClassifier COLUMN {columns} LABEL y INTO m;"
    )
    errors = [f"{d.code} {d.message}" for d in diagnostics if d.is_error]
    if errors:
        return [], "", errors
    (statement,) = sql_file.statements
    (group,) = to_json(statement)["columns"]
    return list(group["columns"]), to_sql(statement), []


FORMS = [
    # as written | the IR's first column, in part | canonical SQL of the clause
    ("*", {"function": "COLUMN", "name": "*"}, "COLUMN *"),
    ("t.c", {"function": "COLUMN", "name": "c"}, "COLUMN c"),
    ("BUCKET(c, 100)", {"function": "BUCKET", "boundaries": [100]}, "COLUMN BUCKET(c, [100])"),
    ("DENSE(c)", {"function": "DENSE", "shape": None}, "COLUMN DENSE(c)"),
    ("DENSE(c, none, COMMA)", {"shape": None, "delimiter": "COMMA"}, "DENSE(c, NULL, 'COMMA')"),
    ("SPARSE(c)", {"function": "SPARSE", "shape": None}, "COLUMN SPARSE(c)"),
    (
        'SPARSE(c, 10, ",", "int", ":", "float")',
        {"shape": 10, "dtype": "int", "delimiter_kv": ":", "dtype_weight": "float"},
        "SPARSE(c, 10, ',', 'int', ':', 'float')",
    ),
    (
        'WEIGHTED_CATEGORY(CATEGORY_HASH(SPARSE(c, 10, ",", "int", ":", "float"), 10))',
        {"function": "WEIGHTED_CATEGORY"},
        "COLUMN WEIGHTED_CATEGORY(CATEGORY_HASH(SPARSE(",
    ),
    ("EMBEDDING(CATEGORY_ID(c, 10), 8)", {"combiner": "sum"}, "EMBEDDING(CATEGORY_ID(c, 10), 8)"),
    (
        "EMBEDDING(CATEGORY_ID(c, 10), 8, mean)",
        {"combiner": "mean"},
        "EMBEDDING(CATEGORY_ID(c, 10), 8, 'mean')",
    ),
]


@pytest.mark.parametrize(("written", "ir", "canonical"), FORMS, ids=[f for f, _, _ in FORMS])
def test_a_sqlflow_form_compiles_and_round_trips(
    written: str, ir: dict[str, object], canonical: str
) -> None:
    columns, sql, errors = compiled(written)
    assert errors == []
    assert ir.items() <= columns[0].items()
    assert canonical in sql
    again, _, errors = compiled(sql.split(" COLUMN ", 1)[1].split(" LABEL ")[0])
    assert errors == [] and again == columns


def test_every_bad_feature_column_of_a_clause_is_reported_in_one_pass() -> None:
    _, _, errors = compiled("NUMERIC(a, 0), FOO(b), c, BUCKET(d, [3, 1]), CROSS(e)")
    assert errors == [
        "SQLML110 NUMERIC's shape must be a positive integer or a list of them, found '0'",
        "SQLML109 unknown feature column 'FOO'",
        "SQLML110 BUCKET's boundaries must be in ascending order, found '[3, 1]'",
        "SQLML110 CROSS's keys must be a list of columns such as [a, b], found 'e'",
    ]
