"""SQLFlow's own statements compile: ``tests/golden/sqlflow/upstream.sql`` holds every
``SELECT … TO TRAIN|PREDICT|EVALUATE|EXPLAIN`` its repository writes (language guide,
tutorials, design notes, Go parser/IR/codegen/end-to-end tests), each with its source file
above it (``scripts/sqlflow_corpus.py`` builds it). Each parses without an error, reads as
the IR in ``upstream.json`` and survives IR → SQL → IR."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from sqlml_dagster.compiler import Statement, parse_sql_file, to_json, to_sql

from ..golden_files import updating_golden

CORPUS = Path(__file__).parent.parent / "golden" / "sqlflow" / "upstream.sql"


def corpus() -> tuple[list[Statement], list[Any]]:
    sql_file, diagnostics = parse_sql_file(CORPUS.name, CORPUS.read_text())
    return list(sql_file.statements), diagnostics


def test_every_upstream_statement_compiles_without_an_error() -> None:
    statements, diagnostics = corpus()
    assert [d.render() for d in diagnostics if d.is_error] == []
    assert len(statements) >= 290
    kinds = Counter(s.KIND for s in statements)
    assert {"train", "predict", "evaluate", "explain"} <= set(kinds)
    references = {s.model.reference for s in statements if s.KIND == "train"}  # type: ignore[attr-defined]
    assert {"xgboost.gbtree", "DNNClassifier", "sqlflow_models.DNNClassifier"} <= references


def test_upstream_statements_match_their_golden_ir() -> None:
    statements, _ = corpus()
    actual = [{"line": s.span.line, "ir": to_json(s, "duckdb")} for s in statements]
    golden = CORPUS.with_suffix(".json")
    if updating_golden():
        golden.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n")
    expected = json.loads(golden.read_text())
    assert [e["line"] for e in actual] == [e["line"] for e in expected]
    for got, want in zip(actual, expected, strict=True):
        assert got == want, f"{CORPUS.name}:{want['line']}"


def test_upstream_statements_survive_ir_to_sql_to_ir() -> None:
    statements, _ = corpus()
    for statement in statements:
        text = to_sql(statement, "duckdb")
        again, diagnostics = parse_sql_file("round_trip.sql", text + ";")
        assert [d.render() for d in diagnostics if d.is_error] == [], text
        assert [to_json(s, "duckdb") for s in again.statements] == [to_json(statement, "duckdb")], (
            text
        )
