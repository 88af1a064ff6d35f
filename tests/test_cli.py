"""`sqlml check` is what CI runs on a SQL repo: exit codes and output formats."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sqlml_dagster.cli import main

from .conftest import EXAMPLE


def test_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLE / "sql")]) == 0
    assert (
        "ok — 2 file(s), 4 tables, 1 view, 4 models, 4 predictions, 1 evaluation, 1 explanation, 0 sources"
        in capsys.readouterr().out
    )


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
    }
    assert main(["check", str(root), "--strict"]) == 1


def test_check_json_on_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLE / "sql"), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    kinds = {tuple(a["key"]): a["kind"] for a in report["assets"]}
    assert (report["ok"], report["files"], report["statements"]) == (True, 2, 15)
    assert kinds[("iris_rf",)] == "model" and kinds[("iris_predictions",)] == "prediction"


def test_check_github_annotations(
    write_project: Callable[[dict[str, str]], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = write_project({"a.sql": "SELECT * FROM t TO PREDICT o.y USING missing;"})
    monkeypatch.chdir(root.parent)
    assert main(["check", "sql", "--format", "github"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "::error file=sql/a.sql,line=1,col=38,title=SQLML203::unknown model 'missing' "
        "(hint: train it first with SELECT … TO TRAIN … INTO missing)"
    ]


def test_check_several_paths(
    write_project: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_project({"a.sql": "SELECT * FROM t TO PREDICT o.y USING missing;"})
    assert main(["check", str(EXAMPLE / "sql"), str(root)]) == 1
    assert "error[SQLML203]" in capsys.readouterr().err


def test_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["check"])
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
