"""`sqlml check` is what CI runs on a SQL repo: exit codes and output formats."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sqlml_dagster.cli import main

from .conftest import EXAMPLE, write_component


def test_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLE / "sql")]) == 0
    assert (
        "ok — 2 file(s), 4 tables, 1 view, 4 models, 4 predictions, 1 evaluation, 1 explanation, 0 sources"
        in capsys.readouterr().out
    )


@pytest.mark.slow
def test_check_reports_errors_with_carets(
    write_project: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_project({"a.sql": "SELECT * FROM t TO PREDICT o.y USING missing;"})
    assert main(["check", str(root)]) == 1
    err = capsys.readouterr().err
    assert "error[SQLML203]: unknown model 'missing'" in err
    assert "--> sql/a.sql:1:38" in err
    assert "^^^^^^^" in err
    assert "Traceback" not in err


def test_check_json(
    write_project: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_project({"a.sql": "SELECT 1;\nCREATE TABLE s.t AS SELECT * FROM raw.x;"})
    assert main(["check", str(root), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "ok": True,
        "files": 1,
        "statements": 1,
        "diagnostics": [
            {
                "code": "SQLML106",
                "severity": "warning",
                "message": "this query produces nothing and is ignored",
                "hint": "make it a table (`CREATE TABLE name AS …`) or an ML statement (`… TO TRAIN …`)",
                "file": "sql/a.sql",
                "line": 1,
                "column": 1,
            }
        ],
        "assets": [
            {"key": ["raw", "x"], "kind": "source", "deps": []},
            {"key": ["s", "t"], "kind": "table", "deps": [["raw", "x"]]},
        ],
        "imported": [],
    }
    assert main(["check", str(root), "--strict"]) == 1


def test_check_json_on_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLE / "sql"), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    kinds = {tuple(a["key"]): a["kind"] for a in report["assets"]}
    assert (report["ok"], report["files"], report["statements"]) == (True, 2, 15)
    assert kinds[("iris_rf",)] == "model" and kinds[("iris_predictions",)] == "prediction"


@pytest.mark.parametrize(
    ("files", "path", "annotation"),
    [
        pytest.param(
            {"sql/a.sql": "SELECT * FROM t TO PREDICT o.y USING missing;"},
            "sql",
            "::error file=sql/a.sql,line=1,col=38,title=SQLML203::unknown model 'missing' "
            "(hint: train it first with SELECT … TO TRAIN … INTO missing)",
            id="sql",
        ),
        pytest.param(
            {
                "churn/defs.yaml": "type: sqlml_dagster.SqlMlProject\n"
                "attributes: {dialect: postgress}\n",
                "churn/sql/a.sql": "SELECT 1;",
            },
            "churn",
            "::error file=churn/defs.yaml,line=2,col=23,title=SQLML301::unknown SQL dialect "
            "'postgress' (hint: did you mean 'postgres'?)",
            id="defs-yaml",
        ),
    ],
)
def test_check_github_annotations(
    files: dict[str, str],
    path: str,
    annotation: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["check", path, "--format", "github"]) == 1
    assert capsys.readouterr().out.splitlines() == [annotation]


def test_check_several_paths(
    write_project: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_project({"a.sql": "SELECT * FROM t TO PREDICT o.y USING missing;"})
    assert main(["check", str(EXAMPLE / "sql"), str(root)]) == 1
    assert "error[SQLML203]" in capsys.readouterr().err


def test_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["check", "--format", "xml"])
    assert info.value.code == 2


def test_compile_prints_the_graph(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(EXAMPLE / "sql")]) == 0
    graph = json.loads(capsys.readouterr().out)
    assert [n["name"] for n in graph["nodes"] if n["kind"] == "model"] == [
        "house_price_gbr",
        "house_price_net",
        "iris_rf",
        "iris_dnn",
    ]


# -- a SqlMlProject component: its defs.yaml's dialect and allow-list ----------------------


@pytest.fixture
def tsql_component(tmp_path: Path) -> Path:
    """A component folder whose SQL is T-SQL (a bracketed name: an error in DuckDB's)."""
    return write_component(
        tmp_path / "churn",
        "dialect: tsql",
        {"a.sql": "CREATE TABLE t AS SELECT [first name] AS n FROM s;\n"},
    )


def test_check_a_component_says_where_its_settings_come_from(
    tsql_component: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tsql_component.parent)
    monkeypatch.delenv("SQLML_K8S_ALLOWED_IMAGES", raising=False)
    assert main(["check", "churn/sql", "--no-deep"]) == 0
    out, err = capsys.readouterr()
    assert err == "sqlml: churn/sql: SqlMlProject in churn/defs.yaml (dialect tsql; images: any)\n"
    assert out.startswith("sqlml: churn/sql: ok — 1 file(s), 1 table, 1 source")


def test_the_image_flag_wins_over_the_environment(
    tsql_component: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tsql_component.parent)
    monkeypatch.setenv("SQLML_K8S_ALLOWED_IMAGES", "from-env/")
    assert (
        main(["check", "churn", "--no-deep", "--allowed-image", "x/", "--allowed-image", "y/"]) == 0
    )
    assert capsys.readouterr().err == (
        "sqlml: churn/sql: SqlMlProject in churn/defs.yaml (dialect tsql; images: x/, y/)\n"
    )


def test_the_dialect_flag_wins_over_defs_yaml(
    tsql_component: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tsql_component), "--no-deep", "--dialect", "duckdb"]) == 1
    assert "error[SQLML101]" in capsys.readouterr().err


def test_an_unknown_dialect_flag_is_a_usage_error(
    write_project: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_project({"a.sql": "SELECT 1;"})
    assert main(["check", str(root), "--dialect", "postgress"]) == 2
    assert capsys.readouterr().err == (
        "sqlml: --dialect: unknown SQL dialect 'postgress' (did you mean 'postgres'?)\n"
    )


def test_check_a_dg_project_checks_each_component(
    tsql_component: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dg project root means the components of its defs folder, each with its own
    settings (one project of all their files would mix dialects and names)."""
    root = tsql_component.parent
    (root / "pyproject.toml").write_text('[tool.dg.project]\nroot_module = "proj"\n')
    defs = root / "proj" / "defs"
    defs.mkdir(parents=True)
    tsql_component.rename(defs / "churn")
    (defs / "iris" / "sql").mkdir(parents=True)
    (defs / "iris" / "defs.yaml").write_text("type: sqlml_dagster.SqlMlProject\n")
    (defs / "iris" / "sql" / "a.sql").write_text("SELECT * FROM s TO PREDICT o.y USING nope;\n")
    monkeypatch.chdir(root)
    assert main(["check", ".", "--no-deep"]) == 1
    err = capsys.readouterr().err
    assert (
        "sqlml: proj/defs/churn/sql: SqlMlProject in proj/defs/churn/defs.yaml (dialect tsql" in err
    )
    assert (
        "sqlml: proj/defs/iris/sql: SqlMlProject in proj/defs/iris/defs.yaml (dialect duckdb" in err
    )
    assert "error[SQLML203]: unknown model 'nope'\n --> sql/a.sql:1:38" in err
    assert "sqlml: .: 1 error(s), 0 warning(s)" in err


def test_check_fails_on_a_table_sqlglot_cannot_read(
    write_project: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """It once passed as ok and produced no asset (sqlglot read it as an opaque Command)."""
    root = write_project({"a.sql": "CREATE TABLE x AS SELEC * FROM t;"})
    assert main(["check", str(root)]) == 1
    err = capsys.readouterr().err
    assert "error[SQLML114]" in err
    assert "--> sql/a.sql:1:19" in err
    assert "did you mean SELECT?" in err


def test_a_setting_variable_that_does_not_read_is_one_line_not_a_traceback(
    write_project: Callable[[dict[str, str]], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = write_project({"a.sql": "CREATE TABLE t AS SELECT 1 AS x;"})
    monkeypatch.setenv("SQLML_K8S_BACKOFF_LIMIT", "two")
    assert main(["compile", str(root), "--k8s"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sqlml: SQLML_K8S_BACKOFF_LIMIT='two' is not a valid backoff_limit")
    assert "Traceback" not in err


# -- code locations: what `-m MODULE` finds -------------------------------------------------

DEFINITIONS_FUNCTION = """\
import dagster as dg

from sqlml_dagster import build_defs


@dg.definitions
def defs() -> dg.Definitions:
    return build_defs("sql", state_dir={state!r})
"""


@pytest.mark.parametrize(
    ("sql", "command", "code", "expected"),
    [
        ("CREATE TABLE t AS SELECT 1 AS x;", ["materialize"], 0, "materialized 1 asset(s)"),
        ("CREATE TABLE t AS SELECT 1 AS x;", ["models", "list"], 0, ""),
        ("SELECT * FROM t TO PREDICT o.y USING nowhere;", ["materialize"], 1, "SQLML203"),
        ("SELECT * FROM t TO PREDICT o.y USING nowhere;", ["models", "list"], 1, "SQLML203"),
    ],
)
@pytest.mark.slow
def test_a_definitions_function_is_a_code_location(
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    sql: str,
    command: list[str],
    code: int,
    expected: str,
) -> None:
    """``@dg.definitions`` — what ``create-dagster project`` writes into ``definitions.py``
    (docs/deploy.md) — is loaded as Dagster loads it; a SQL mistake found while loading
    is the compiler's one-line diagnostic, as it is at import."""
    write_project({"a.sql": sql})
    module = f"lazy_defs_{tmp_path.name}"
    (tmp_path / f"{module}.py").write_text(DEFINITIONS_FUNCTION.format(state=str(tmp_path / "s")))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main([*command, "-m", module]) == code
    captured = capsys.readouterr()
    assert expected in (captured.out if code == 0 else captured.err)
    assert "Traceback" not in captured.err
    assert "has no dagster.Definitions" not in captured.err
