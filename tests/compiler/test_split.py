"""Statement splitting respects strings, comments and dollar-quotes (sqlglot's tokenizer)."""

from __future__ import annotations

import pytest

from sqlml_dagster.compiler import split_statements

CASES = [
    ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
    ("SELECT 1", ["SELECT 1"]),
    ("SELECT 'a;b' AS x; SELECT 2", ["SELECT 'a;b' AS x", "SELECT 2"]),
    ('SELECT "we;ird" FROM t; SELECT 2', ['SELECT "we;ird" FROM t', "SELECT 2"]),
    ("SELECT 1 -- trailing; comment\n; SELECT 2", ["SELECT 1", "SELECT 2"]),
    ("SELECT /* a; b */ 1; SELECT 2", ["SELECT /* a; b */ 1", "SELECT 2"]),
    ("SELECT $$semi;colon$$ AS s; SELECT 2", ["SELECT $$semi;colon$$ AS s", "SELECT 2"]),
    (";;SELECT 1;;", ["SELECT 1"]),
    ("-- only a comment\n", []),
    (
        "SELECT a FROM t TO TRAIN sklearn.svm.SVC LABEL y INTO m; SELECT 1",
        ["SELECT a FROM t TO TRAIN sklearn.svm.SVC LABEL y INTO m", "SELECT 1"],
    ),
]


@pytest.mark.parametrize(("script", "expected"), CASES)
def test_split_statements(script: str, expected: list[str]) -> None:
    assert split_statements(script) == expected
