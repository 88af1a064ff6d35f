"""Near misses of SQLFlow's grammar: a misspelled clause keyword or verb is named as the
typo it is, at the word, with the right keyword — not as a generic "expected INTO"."""

from __future__ import annotations

import pytest

from sqlml_dagster.compiler import parse_sql_file

CASES = [
    # (statement, the word pointed at, the message's words)
    (
        "SELECT * FROM t TO TRAIN DNNClassifier WITH model.n_classes = 3 LABLE class INTO m",
        "LABLE",
        "'LABLE' is no SQLFlow clause; did you mean LABEL?",
    ),
    (
        "SELECT * FROM t TO TRAIN DNNClassifier COLUMM a, b LABEL class INTO m",
        "COLUMM",
        "did you mean COLUMN?",
    ),
    (
        "SELECT * FROM t TO TRAIN DNNClassifier WTIH model.n_classes = 3 LABEL class INTO m",
        "WTIH",
        "did you mean WITH?",
    ),
    ("SELECT * FROM t TO PREDICT p.class USNIG m", "USNIG", "did you mean USING?"),
    (
        "SELECT * FROM t TO TRIAN DNNClassifier LABEL class INTO m",
        "TRIAN",
        "'TO TRIAN' is no SQLFlow statement; did you mean TO TRAIN?",
    ),
    ("SELECT * FROM t TO PREDCIT p.class USING m", "PREDCIT", "did you mean TO PREDICT?"),
    ("SELECT * FROM t TO EXPLIAN m", "EXPLIAN", "did you mean TO EXPLAIN?"),
    # a misspelling of the keyword that was due keeps its own message and hint
    ("SELECT * FROM t TO TRAIN DNNClassifier LABEL class INT m", "INT", "expected INTO"),
]


@pytest.mark.parametrize(("sql", "word", "message"), CASES)
def test_near_misses_name_the_keyword_meant(sql: str, word: str, message: str) -> None:
    _, diagnostics = parse_sql_file("t.sql", sql + ";")
    ((d,),) = [[d for d in diagnostics if d.is_error]]
    assert d.code == "SQLML102"
    assert message in f"{d.message} {d.hint}"  # the due keyword: "expected X" + its hint
    assert d.span is not None and sql[d.span.start : d.span.end] == word


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE x RENAME TO trian",  # valid SQL with a TO: never a near miss
        "SELECT 1 AS trian",
        "CREATE MODEL m RETURNS STRUCT<a:int> USING 'm.skops'",
    ],
)
def test_valid_sql_is_not_taken_for_a_near_miss(sql: str) -> None:
    _, diagnostics = parse_sql_file("t.sql", sql + ";")
    assert not [d for d in diagnostics if "SQLFlow" in d.message]
