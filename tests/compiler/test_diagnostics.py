"""Every mistake is a diagnostic with a code, file:line:col, a caret excerpt and a hint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sqlml_dagster.compiler import SqlMlCompileError, check_project, compile_project

# (files, code, "file:line:col", a fragment of the message, a fragment of the hint)
CASES = [
    pytest.param(
        {"a.sql": "SELECT a FORM t WHERE;"},
        "SQLML101",
        "sql/a.sql:1:15",
        "syntax error",
        "FROM",
        id="sql-syntax",
    ),
    pytest.param(
        {"a.sql": "SELECT 1;\nSELECT 'unterminated;\n"},
        "SQLML100",
        "sql/a.sql:2:8",
        "unterminated",
        "close",
        id="unterminated-string",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t\nTO TRAIN sklearn.svm.SVC LABEL y INT m;"},
        "SQLML102",
        "sql/a.sql:2:34",
        "expected INTO",
        "did you mean INTO",
        id="misspelled-into",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t TO TRAIN sklearn.svm.SVC WITH model.C 1 LABEL y INTO m;"},
        "SQLML102",
        "sql/a.sql:1:55",
        "'='",
        "model.C = <value>",
        id="missing-equals",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t TO TRAIN sklearn.svm.SVC WITH modle.C = 1 LABEL y INTO m;"},
        "SQLML103",
        "sql/a.sql:1:47",
        "unknown attribute namespace 'modle'",
        "did you mean 'model.C'",
        id="unknown-namespace",
    ),
    pytest.param(
        {
            "a.sql": "SELECT * FROM t TO TRAIN sklearn.svm.SVC WITH model.C = 1, model.C = 2 LABEL y INTO m;"
        },
        "SQLML104",
        "sql/a.sql:1:60",
        "set twice",
        "sql/a.sql:1:47",
        id="duplicate-param",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t TO TRAIN sklearn.svm.SVC LABEL y INTO m extra;"},
        "SQLML102",
        "sql/a.sql:1:57",
        "end of the statement",
        "';'",
        id="trailing-tokens",
    ),
    pytest.param(
        {
            "a.sql": "SELECT * FROM t TO PREDICT out.y USING nope;",
            "b.sql": "SELECT * FROM t TO TRAIN sklearn.svm.SVC LABEL y INTO nop;",
        },
        "SQLML203",
        "sql/a.sql:1:40",
        "unknown model 'nope'",
        "did you mean 'nop'",
        id="unknown-model",
    ),
    pytest.param(
        {"a.sql": "CREATE TABLE x AS SELECT 1;", "b.sql": "CREATE TABLE x AS SELECT 2;"},
        "SQLML201",
        "sql/b.sql:1:1",
        "already produced",
        "sql/a.sql:1:1",
        id="duplicate-producer",
    ),
    pytest.param(
        {"a.sql": "CREATE TABLE x AS SELECT * FROM y;\nCREATE TABLE y AS SELECT * FROM x;"},
        "SQLML202",
        "sql/a.sql:1:1",
        "dependency cycle",
        "break the loop",
        id="cycle",
    ),
    pytest.param(
        {
            "a.sql": "SELECT * FROM t TO TRAIN sklearn.svm.SVC LABEL y INTO m;\nCREATE TABLE x AS SELECT * FROM m;"
        },
        "SQLML204",
        "sql/a.sql:2:1",
        "is a model, not a table",
        "TO PREDICT",
        id="model-read-as-table",
    ),
    pytest.param(
        {"a.sql": "CREATE TABLE x AS SELECT 1;", "b.sql": "INSERT INTO x SELECT 2;"},
        "SQLML205",
        "sql/b.sql:1:1",
        "modified here",
        "move this statement",
        id="modified-in-another-file",
    ),
    pytest.param(
        {"a.sql": "CREATE TABLE x AS SELECT 1 TO TRAIN sklearn.svm.SVC INTO m;"},
        "SQLML102",
        "sql/a.sql:1:1",
        "must be a query",
        "SELECT",
        id="train-after-ddl",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t TO TRAIN Registry.io/Team/pkg.M LABEL y INTO m;"},
        "SQLML107",
        "sql/a.sql:1:26",
        "not a valid container image reference",
        "repository[:tag]",
        id="bad-image",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t TO TRAIN ghcr.io/x@sha256:beef/pkg.M LABEL y INTO m;"},
        "SQLML107",
        "sql/a.sql:1:26",
        "64 lower-case hex digits",
        "@sha256",
        id="bad-digest",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t TO TRAIN reg.io/img:1/2pkg.M LABEL y INTO m;"},
        "SQLML102",
        "sql/a.sql:1:39",
        "not a Python reference",
        "dotted Python name",
        id="bad-reference-after-image",
    ),
    pytest.param(
        {
            "a.sql": "SELECT * FROM t TO PREDICT t.y USING m;\nSELECT * FROM s TO TRAIN sklearn.svm.SVC LABEL y INTO m;"
        },
        "SQLML206",
        "sql/a.sql:1:28",
        "overwrite",
        "different table",
        id="predict-overwrites-its-input",
    ),
    pytest.param(
        {"a.sql": "SELECT * FROM t TO EVALUATE m LABEL y INTO e;"},
        "SQLML203",
        "sql/a.sql:1:29",
        "unknown model 'm'",
        "train it first",
        id="evaluate-unknown-model",
    ),
]


@pytest.mark.parametrize(("files", "code", "location", "message", "hint"), CASES)
def test_diagnostic(
    write_project: Callable[[dict[str, str]], Path],
    files: dict[str, str],
    code: str,
    location: str,
    message: str,
    hint: str,
) -> None:
    root = write_project(files)
    _, diagnostics = check_project(root)
    errors = [d for d in diagnostics if d.is_error]
    assert [d.code for d in errors] == [code], [d.render() for d in errors]
    (d,) = errors
    assert d.span is not None and d.span.location() == location
    assert message in d.message
    assert d.hint is not None and hint in d.hint


def test_rendered_error_has_location_line_and_caret(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    root = write_project(
        {
            "iris.sql": "CREATE TABLE a AS SELECT 1;\n\nSELECT x FROM a\nTO PREDICT out.y USING iris_rff;\n"
        }
    )
    with pytest.raises(SqlMlCompileError) as info:
        compile_project(root)
    text = str(info.value)
    assert "error[SQLML203]: unknown model 'iris_rff'" in text
    assert " --> sql/iris.sql:4:24" in text
    assert "4 | TO PREDICT out.y USING iris_rff;" in text
    assert "  |                        ^^^^^^^^" in text
    assert "Traceback" not in text


def test_all_errors_are_reported_together(write_project: Callable[[dict[str, str]], Path]) -> None:
    root = write_project(
        {
            "a.sql": "SELECT FROM WHERE;\nSELECT * FROM t TO PREDICT o.y USING m1;",
            "b.sql": "SELECT 'open",
        }
    )
    with pytest.raises(SqlMlCompileError) as info:
        compile_project(root)
    assert [d.code for d in info.value.diagnostics] == ["SQLML101", "SQLML203", "SQLML100"]
    assert str(info.value).startswith("sqlml: 3 errors in SQL project")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT 1;", "produces nothing"),
        ("DROP TABLE IF EXISTS t;", "DROP is ignored"),
    ],
)
def test_warnings_do_not_fail(
    write_project: Callable[[dict[str, str]], Path], sql: str, message: str
) -> None:
    project = compile_project(write_project({"a.sql": sql}))
    assert [d.code for d in project.warnings] == ["SQLML106"]
    assert message in project.warnings[0].message


def test_missing_folder(tmp_path: Path) -> None:
    _, diagnostics = check_project(tmp_path / "nope")
    assert [d.code for d in diagnostics] == ["SQLML002"]
