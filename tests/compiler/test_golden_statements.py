"""Golden statements: every clause, value type and dialect, each with its expected IR.

``tests/golden/statements/<dialect>.sql`` holds the statements, ``<dialect>.json`` their
IR as :func:`to_json` writes it. Regenerate with ``UPDATE_GOLDEN=1`` after an intended
change and review the diff. Every golden statement also survives IR → SQL → IR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sqlml_dagster.compiler import Statement, parse_sql_file, to_json, to_sql

from ..golden_files import assert_matches_golden

GOLDEN = Path(__file__).parent.parent / "golden" / "statements"
DIALECT_FILES = sorted(GOLDEN.glob("*.sql"))


def parse_golden(path: Path) -> tuple[str, list[Statement]]:
    dialect = path.stem
    sql_file, diagnostics = parse_sql_file(path.name, path.read_text(), dialect)
    assert [d.render() for d in diagnostics if d.is_error] == []
    return dialect, list(sql_file.statements)


def golden_entries(path: Path) -> list[dict[str, Any]]:
    dialect, statements = parse_golden(path)
    return [
        {"line": s.span.line, "ir": to_json(s, dialect), "canonical": to_sql(s, dialect)}
        for s in statements
    ]


@pytest.mark.parametrize("path", DIALECT_FILES, ids=lambda p: p.stem)
def test_statements_match_their_golden_ir(path: Path) -> None:
    assert_matches_golden(path.with_suffix(".json"), golden_entries(path))


def test_the_corpus_is_large_and_covers_every_statement_type() -> None:
    statements = [s for path in DIALECT_FILES for s in parse_golden(path)[1]]
    assert len(statements) >= 80
    kinds = {type(s).__name__ for s in statements}
    assert kinds >= {
        "TrainStatement",
        "PredictStatement",
        "EvaluateStatement",
        "ExplainStatement",
        "RunStatement",
        "ShowTrainStatement",
        "CreateModelStatement",
        "DescribeModelStatement",
        "ShowModelsStatement",
        "DropModelStatement",
        "SqlStatement",
    }
    assert len(DIALECT_FILES) >= 8


def _round_trip_cases() -> list[Any]:
    cases = []
    for path in DIALECT_FILES:
        dialect, statements = parse_golden(path)
        for s in statements:
            cases.append(pytest.param(dialect, s, id=f"{path.stem}:{s.span.line}"))
    return cases


@pytest.mark.parametrize(("dialect", "statement"), _round_trip_cases())
def test_ir_to_sql_to_ir_is_identity(dialect: str, statement: Statement) -> None:
    text = to_sql(statement, dialect)
    sql_file, diagnostics = parse_sql_file("round_trip.sql", text + ";", dialect)
    assert [d.render() for d in diagnostics if d.is_error] == [], text
    assert len(sql_file.statements) == 1, text
    assert to_json(sql_file.statements[0], dialect) == to_json(statement, dialect), text
