"""SQLFlow's lexical details, as its lexer (go/parser/lexer.go) and grammar
(go/parser/extended_syntax_parser.y) read them: bare values with ``:``, ``/`` and ``-``,
quoted and qualified labels, ``\\"`` inside double-quoted strings (default dialect)."""

from __future__ import annotations

from typing import Any

import pytest

from sqlml_dagster.compiler import parse_sql_file, to_sql


def parse_one(sql: str, dialect: str = "duckdb") -> Any:
    sql_file, diagnostics = parse_sql_file("t.sql", sql, dialect)
    assert [d.render() for d in diagnostics if d.is_error] == []
    assert len(sql_file.statements) == 1
    return sql_file.statements[0]


def params(statement: Any) -> dict[str, Any]:
    return {p.key: p.value for p in statement.params}


BARE_VALUES = [
    # upstream go/cmd/sqlflow/main_test.go
    ("objective=reg:squarederror", {"model.objective": "reg:squarederror"}),
    ("objective=multi:softmax, eta=0.1", {"model.objective": "multi:softmax", "model.eta": 0.1}),
    ("summary.plot_type=bar", {"summary.plot_type": "bar"}),
    ("model.activation = tf.nn.relu", {"model.activation": "tf.nn.relu"}),
    ("model.image = localhost:5000/team/img:v1", {"model.image": "localhost:5000/team/img:v1"}),
    ("model.kind = a-b", {"model.kind": "a-b"}),
    # a space ends a bare value, as in SQLFlow's lexer
    ("model.optimizer = RMSprop, eta = 1", {"model.optimizer": "RMSprop", "model.eta": 1}),
]


@pytest.mark.parametrize(("attrs", "expected"), BARE_VALUES)
def test_bare_values_read_as_sqlflows_lexer_reads_identifiers(
    attrs: str, expected: dict[str, Any]
) -> None:
    statement = parse_one(f"SELECT * FROM t TO TRAIN xgboost.gbtree WITH {attrs} LABEL y INTO m")
    assert params(statement) == expected
    assert params(parse_one(to_sql(statement, "duckdb"))) == expected  # round trip


LABELS = [
    ("LABEL class", "class"),
    ("LABEL 'class'", "class"),  # doc/design/sql_program_dependency_analyze.md
    ('LABEL "label"', "label"),  # the language guide: a column named like a keyword
    ('LABEL "employee.salary"', "employee.salary"),  # go/parser/extended_syntax_parser_test.go
    ("LABEL employee.salary", "salary"),  # a qualified column: the SELECT's column
]


@pytest.mark.parametrize(("clause", "label"), LABELS)
def test_label_forms(clause: str, label: str) -> None:
    train = parse_one(f"SELECT * FROM t TO TRAIN DNNClassifier {clause} INTO m")
    assert train.label == label
    assert parse_one(to_sql(train, "duckdb")).label == label
    evaluate = parse_one(f"SELECT * FROM t TO EVALUATE m {clause} INTO e")
    assert evaluate.label == label


def test_backslash_quote_inside_a_double_quoted_value_in_the_default_dialect() -> None:
    # go/workflow/couler/codegen_test.go
    statement = parse_one(
        "SELECT * FROM iris.train TO TRAIN DNNClassifier WITH model.n_classes = 3, "
        'validation.select = "select * from iris.train where name like \\"Versicolor\\"" '
        "LABEL class INTO m"
    )
    assert params(statement)["validation.select"] == (
        'select * from iris.train where name like "Versicolor"'
    )
    sql_file, diagnostics = parse_sql_file(
        "t.sql",
        'SELECT * FROM t TO TRAIN DNNClassifier WITH model.note = "a \\"b\\"" LABEL c INTO m;\n'
        "CREATE TABLE x AS SELECT 1 AS one;\n",
    )
    assert [d.render() for d in diagnostics] == []
    assert len(sql_file.statements) == 2  # the rest of the file is still read


def test_other_backslashes_stay_as_written() -> None:
    statement = parse_one(
        'SELECT * FROM t TO TRAIN DNNClassifier WITH model.path = "a\\b", '
        'model.end = "c\\\\" LABEL c INTO m'
    )
    assert params(statement) == {"model.path": "a\\b", "model.end": "c\\\\"}


def test_backslash_stays_literal_in_other_dialects() -> None:
    # MySQL reads "…" as a string with backslash escapes already; Postgres has no such escape
    mysql = parse_one(
        'SELECT * FROM t TO TRAIN DNNClassifier WITH model.note = "a \\"b\\"" LABEL c INTO m',
        "mysql",
    )
    assert params(mysql)["model.note"] == 'a "b"'
