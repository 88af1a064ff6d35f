"""One pass reports every independent mistake: an error never hides another one.

Each row is a project with two or three unrelated mistakes and the *complete* set of
diagnostics ``check_project`` must report for it — nothing hidden behind the first error,
nothing reported twice, no error that only follows from another one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sqlml_dagster.compiler import check_project

TRAIN_M = "SELECT * FROM src TO TRAIN sklearn.svm.SVC LABEL y INTO m;\n"

# (files, every diagnostic as "CODE file:line:col", warnings marked "(warning)")
CASES = [
    pytest.param(
        {
            "a.sql": "SELECT a FORM t WHERE;\n",
            "b.sql": "SELECT * FROM src TO PREDICT out.y USING nope;\n",
        },
        {"SQLML101 sql/a.sql:1:15", "SQLML203 sql/b.sql:1:42"},
        id="syntax-error-and-unknown-model-in-another-file",
    ),
    pytest.param(
        {
            "a.sql": "SELECT * FROM src TO TRAIN sklearn.svm.SVC WITH modle.C = 1 LABEL y INTO m;\n"
            "SELECT * FROM src TO PREDICT out.y USING m2;\n"
        },
        {"SQLML103 sql/a.sql:1:49", "SQLML203 sql/a.sql:2:42"},
        id="statement-error-and-unknown-model-in-the-same-file",
    ),
    pytest.param(
        {
            "a.sql": TRAIN_M
            + "SELECT * FROM src TO PREDICT out.y USING m;\n"
            + "SELECT * FROM src TO PREDICT out.y USING nope;\n"
        },
        {"SQLML201 sql/a.sql:3:30", "SQLML203 sql/a.sql:3:42"},
        id="second-producer-uses-an-unknown-model",
    ),
    pytest.param(
        {
            "a.sql": TRAIN_M
            + "CREATE TABLE t AS SELECT 1 AS x;\n"
            + "CREATE TABLE t AS SELECT * FROM m;\n"
        },
        {"SQLML201 sql/a.sql:3:1", "SQLML204 sql/a.sql:3:1"},
        id="second-producer-reads-a-model-as-a-table",
    ),
    pytest.param(
        {
            "a.sql": "CREATE TABLE t AS SELECT 1 AS x;\n"
            '-- sqlml: schedule = "not a cron"\n'
            "CREATE TABLE t AS SELECT 2 AS x;\n"
        },
        {"SQLML201 sql/a.sql:3:1", "SQLML111 sql/a.sql:2:11"},
        id="second-producer-has-a-bad-directive",
    ),
    pytest.param(
        {
            "a.sql": "CREATE TABLE t AS SELECT 1 AS x;\n",
            "b.sql": "INSERT INTO t SELECT ML_PREDICT(nope, x) FROM src;\n",
        },
        {"SQLML205 sql/b.sql:1:1", "SQLML203 sql/b.sql:1:33"},
        id="modification-in-another-file-uses-an-unknown-model",
    ),
    pytest.param(
        {"a.sql": TRAIN_M + "UPDATE never_created SET x = 1 FROM m;\n"},
        {"SQLML205 sql/a.sql:2:1", "SQLML204 sql/a.sql:2:1"},
        id="modification-of-an-uncreated-table-reads-a-model",
    ),
    pytest.param(
        {"a.sql": "CREATE VIEW v AS SELECT ML_PREDICT(nope, x) AS y FROM src;\n"},
        {"SQLML207 sql/a.sql:1:36", "SQLML203 sql/a.sql:1:36"},
        id="view-calls-an-unknown-model",
    ),
    pytest.param(
        {
            "a.sql": "CREATE TABLE a AS SELECT * FROM b;\n"
            "CREATE TABLE b AS SELECT * FROM a;\n"
            "CREATE TABLE c AS SELECT * FROM d;\n"
            "CREATE TABLE d AS SELECT * FROM c;\n"
        },
        {"SQLML202 sql/a.sql:1:1", "SQLML202 sql/a.sql:3:1"},
        id="two-independent-cycles",
    ),
    pytest.param(
        {
            "a.sql": "CREATE TABLE a AS SELECT * FROM b;\n"
            "CREATE TABLE b AS SELECT * FROM a;\n"
            "SELECT * FROM src TO PREDICT out.y USING nope;\n"
        },
        {"SQLML202 sql/a.sql:1:1", "SQLML203 sql/a.sql:3:42"},
        id="cycle-and-unknown-model",
    ),
    pytest.param(
        {
            "a.sql": '-- sqlml-file: schedul = "0 * * * *"\n'
            "CREATE TABLE t AS SELECT 1 AS x;\n"
            "CREATE TABLE u AS SELECT 1 AS x;\n"
        },
        {"SQLML111 sql/a.sql:1:16"},
        id="a-file-directive-mistake-is-reported-once",
    ),
    pytest.param(
        {
            "a.sql": '-- sqlml: asset = "x y", schedule = "bad"\n'
            'SELECT ML_PREDICT(nope, x) AS p FROM src TO RUN img:1 CMD "r.py";\n'
        },
        {"SQLML140 sql/a.sql:1:11", "SQLML111 sql/a.sql:1:26", "SQLML203 sql/a.sql:2:19"},
        id="a-run-without-a-valid-name-still-has-its-directives-and-models-checked",
    ),
    pytest.param(
        {
            "a.sql": '-- sqlml: asset = "x y", schedule = "bad"\n'
            "SELECT ML_PREDICT(nope, x) AS p FROM src TO EXPLAIN gone;\n"
        },
        {
            "SQLML142 sql/a.sql:1:11",
            "SQLML111 sql/a.sql:1:26",
            "SQLML203 sql/a.sql:2:19",
            "SQLML203 sql/a.sql:2:53",
        },
        id="an-explanation-without-a-valid-name-still-has-its-directives-and-models-checked",
    ),
]


@pytest.mark.parametrize(("files", "expected"), CASES)
def test_every_independent_error_in_one_pass(
    write_project: Callable[[dict[str, str]], Path], files: dict[str, str], expected: set[str]
) -> None:
    _, diagnostics = check_project(write_project(files))
    found = [
        f"{d.code} {d.span.location() if d.span else '-'}" + ("" if d.is_error else " (warning)")
        for d in diagnostics
    ]
    assert sorted(found) == sorted(expected)


def test_an_unknown_dialect_is_a_diagnostic_with_the_missing_folder(tmp_path: Path) -> None:
    """Not sqlglot's ValueError: both mistakes of the call are reported."""
    project, diagnostics = check_project(tmp_path / "nowhere", dialect="postgress")
    assert project is None
    assert {d.code: (d.message, d.span) for d in diagnostics} == {
        "SQLML301": ("unknown SQL dialect 'postgress'", None),
        "SQLML002": (f"'{tmp_path / 'nowhere'}' does not exist", None),
    }
    assert diagnostics[0].hint == "did you mean 'postgres'?"
