"""SQLFlow's own TO RUN and TO MAXIMIZE/MINIMIZE statements compile, and mean what they
meant upstream.

``tests/golden/upstream/*.sql`` holds statements copied from SQLFlow's repository, each
with where it comes from; ``*.json`` their IR. Regenerate with ``UPDATE_GOLDEN=1`` after an
intended change and review the diff. Every one also survives IR → SQL → IR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sqlml_dagster.compiler import Statement, parse_sql_file, to_json, to_sql

from ..golden_files import assert_matches_golden

UPSTREAM = Path(__file__).parent.parent / "golden" / "upstream"
FILES = sorted(UPSTREAM.glob("*.sql"))
#: SQLFlow's default database is MySQL; its statements are read in that dialect.
DIALECT = "mysql"


def parse(path: Path) -> list[Statement]:
    """The file's statements, every one read without an error."""
    sql_file, diagnostics = parse_sql_file(path.name, path.read_text(), DIALECT)
    assert [d.render() for d in diagnostics if d.is_error] == []
    return list(sql_file.statements)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_upstream_statements_compile_and_match_their_golden_ir(path: Path) -> None:
    statements = parse(path)
    actual: list[dict[str, Any]] = [
        {"line": s.span.line, "ir": to_json(s, DIALECT), "canonical": to_sql(s, DIALECT)}
        for s in statements
    ]
    assert_matches_golden(path.with_suffix(".json"), actual)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_upstream_statement_survives_the_round_trip(path: Path) -> None:
    for statement in parse(path):
        again, errors = parse_text(to_sql(statement, DIALECT))
        assert errors == [], to_sql(statement, DIALECT)
        assert to_json(again, DIALECT) == to_json(statement, DIALECT)


def parse_text(text: str) -> tuple[Statement, list[str]]:
    sql_file, diagnostics = parse_sql_file("again.sql", text + ";", DIALECT)
    (statement,) = sql_file.statements
    return statement, [d.render() for d in diagnostics if d.is_error]


def test_the_corpus_covers_both_kinds() -> None:
    kinds = [s.KIND for path in FILES for s in parse(path)]
    assert kinds.count("run") >= 13 and kinds.count("optimize") >= 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_upstream_statement_compiles_as_a_project_of_its_own(
    path: Path, tmp_path: Path
) -> None:
    """The graph's checks too (names, images, duplicate outputs): ``sqlml check`` and the
    definitions see no error in any of them."""
    from sqlml_dagster.compiler import check_project

    for i, statement in enumerate(parse(path)):
        folder = tmp_path / f"p{i}" / "sql"
        folder.mkdir(parents=True)
        (folder / "s.sql").write_text(statement.text + ";\n")
        _, diagnostics = check_project(folder, dialect=DIALECT)
        assert [d.render() for d in diagnostics if d.is_error] == [], statement.text
