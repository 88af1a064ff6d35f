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
        "ok — 2 file(s), 3 tables, 1 view, 2 models, 2 predictions, 0 sources"
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
    root = write_project({"a.sql": "SELECT 1;"})
    assert main(["check", str(root), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["diagnostics"][0] == {
        "code": "SQLML106",
        "severity": "warning",
        "message": "this query produces nothing and is ignored",
        "hint": "make it a table (`CREATE TABLE name AS …`) or an ML statement (`… TO TRAIN …`)",
        "file": "sql/a.sql",
        "line": 1,
        "col": 1,
    }
    assert main(["check", str(root), "--strict"]) == 1


def test_compile_prints_the_graph(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", str(EXAMPLE / "sql")]) == 0
    graph = json.loads(capsys.readouterr().out)
    assert [n["name"] for n in graph["nodes"] if n["kind"] == "model"] == [
        "house_price_gbr",
        "iris_rf",
    ]
