"""``… LABEL y USING base[@v] INTO m``: SQLFlow's warm start parses, round-trips, makes
the trained model depend on the base model's asset (and pins its version), continues a
model from itself without a cycle, and refuses a base the statement cannot start from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sqlml_dagster.compiler import check_project
from sqlml_dagster.compiler.parser import parse_sql_file
from sqlml_dagster.compiler.render import to_json, to_sql

BASE = "SELECT * FROM t TO TRAIN DNNClassifier WITH model.hidden_units = [8] LABEL y INTO base;\n"
TUNE = "SELECT * FROM t2 TO TRAIN DNNClassifier WITH train.epoch = 2 LABEL y USING {using} INTO {into};\n"


@pytest.mark.parametrize(
    ("using", "into", "base", "version"),
    [
        ("base", "tuned", "base", None),
        ("base@3", "tuned", "base", 3),
        ("zoo.base@latest", "zoo.tuned", "zoo.base", None),
        ("tuned", "tuned", "tuned", None),
    ],
)
def test_using_between_label_and_into_round_trips(
    using: str, into: str, base: str, version: int | None
) -> None:
    parsed, found = parse_sql_file("a.sql", TUNE.format(using=using, into=into))
    assert found == []
    (statement,) = parsed.statements
    assert (str(statement.warm_start), statement.warm_start_version) == (base, version)
    again, found = parse_sql_file("b.sql", to_sql(statement) + ";")
    assert found == []
    assert to_json(again.statements[0]) == to_json(statement)


def test_a_statement_without_using_keeps_its_json() -> None:
    parsed, _ = parse_sql_file("a.sql", BASE)
    assert "warm_start" not in to_json(parsed.statements[0])


def project(write_project: Callable[[dict[str, str]], Path], text: str) -> tuple[object, list[str]]:
    built, found = check_project(write_project({"a.sql": text}))
    return built, [f"{d.code} {d.span.line}:{d.span.col}" for d in found]


def test_the_fine_tuned_model_depends_on_its_base_and_pins_it(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    built, found = project(write_project, BASE + TUNE.format(using="base@2", into="tuned"))
    assert found == []
    tuned = built.node("tuned")  # type: ignore[attr-defined]
    assert sorted(str(d) for d in tuned.deps) == ["base", "t2"]
    assert built.pinned_versions() == {"base": frozenset({2})}  # type: ignore[attr-defined]


def test_a_model_continuing_itself_makes_no_cycle(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    built, found = project(write_project, TUNE.format(using="m", into="m"))
    assert found == []
    assert [str(d) for d in built.node("m").deps] == ["t2"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (TUNE.format(using="nope", into="tuned"), ["SQLML203 1:76"]),
        (
            BASE.replace("DNNClassifier", "DNNRegressor") + TUNE.format(using="base", into="m"),
            ["SQLML218 2:76"],
        ),
    ],
    ids=["unknown base", "base of another class"],
)
def test_a_base_the_statement_cannot_start_from(
    write_project: Callable[[dict[str, str]], Path], text: str, expected: list[str]
) -> None:
    _, found = project(write_project, text)
    assert found == expected


def test_a_keras_model_may_start_from_a_base(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    """Keras networks are warm-started like PyTorch ones (SQLML134 no longer refuses)."""
    text = "SELECT * FROM t TO TRAIN keras.applications.MobileNet LABEL y USING base INTO m;\n"
    text += BASE.replace(
        "DNNClassifier WITH model.hidden_units = [8]", "keras.applications.MobileNet"
    )
    built, found = project(write_project, text)
    assert found == []
    assert "base" in [str(d) for d in built.node("m").deps]  # type: ignore[attr-defined]
