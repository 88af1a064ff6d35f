"""A model's lifecycle in the language: ``m@<alias>`` wherever ``m@<version>`` is accepted,
the ``promote`` directive, champion-relative gates — their IR, canonical SQL, manifest,
and every mistake as one diagnostic with its code, file:line:col and caret (what
``sqlml check`` prints)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sqlml_dagster.catalog import parse_ref
from sqlml_dagster.cli import main
from sqlml_dagster.compiler import check_project, compile_project
from sqlml_dagster.compiler.manifest import ProjectManifest, project_manifest
from sqlml_dagster.compiler.parser import parse_sql_file
from sqlml_dagster.compiler.render import to_json, to_sql
from sqlml_dagster.contract.lifecycle import PromotionPolicy, metric_direction

from . import test_diagnostics

TABLE = "CREATE TABLE t AS SELECT range AS x, range % 2 AS y FROM range(10);\n"
TRAIN = "SELECT x, y FROM t TO TRAIN sklearn.linear_model.LogisticRegression LABEL y INTO m;\n"

# -- aliases: every place a version may be pinned ----------------------------------------

# (statement, the pins it holds as (model, pin))
ALIAS_USES = [
    ("SELECT * FROM t TO PREDICT p.y USING m@champion", [("m", "champion")]),
    ("SELECT * FROM t TO PREDICT p.y USING m@Champion", [("m", "champion")]),
    ("SELECT * FROM t TO PREDICT p.y USING m@latest", [("m", None)]),
    ("SELECT * FROM t TO PREDICT p.y USING m@3", [("m", 3)]),
    ("SELECT * FROM t TO EVALUATE m@prod LABEL y INTO e", [("m", "prod")]),
    ("SELECT * FROM t TO EXPLAIN m@champion INTO x", [("m", "champion")]),
    ("CREATE TABLE s AS SELECT ML_PREDICT(m@champion, x) AS p FROM t", [("m", "champion")]),
    (
        "SELECT ML_PREDICT(a.m@v2, x) AS f, y FROM t TO PREDICT p.y USING m@blue_green",
        [("a.m", "v2"), ("m", "blue_green")],
    ),
]


@pytest.mark.parametrize(("sql", "pins"), ALIAS_USES)
def test_an_alias_pins_wherever_a_version_does(sql: str, pins: list[tuple[str, object]]) -> None:
    parsed, diagnostics = parse_sql_file("a.sql", sql + ";")
    assert [d.render() for d in diagnostics] == []
    (statement,) = parsed.statements
    assert [(str(m), pin) for m, pin in statement.model_pins()] == pins
    again, _ = parse_sql_file("a.sql", to_sql(statement) + ";")
    assert to_json(again.statements[0]) == to_json(statement)  # the round trip holds


@pytest.mark.parametrize(
    ("sql", "canonical"),
    [
        ("DESCRIBE MODEL m@champion", "DESCRIBE MODEL m@champion"),
        ("desc model m@Prod", "DESCRIBE MODEL m@prod"),
        ("SHOW TRAIN m@champion", "SHOW TRAIN m@champion"),
    ],
)
def test_catalog_statements_take_an_alias(sql: str, canonical: str) -> None:
    parsed, diagnostics = parse_sql_file("a.sql", sql + ";")
    assert diagnostics == [] and to_sql(parsed.statements[0]) == canonical


@pytest.mark.parametrize(
    ("written", "pin"),
    [("m@3", 3), ("m@latest", None), ("m@LATEST", None), ("m", None), ("m@Prod", "prod")],
)
def test_the_cli_reads_pins_as_sql_does(written: str, pin: object) -> None:
    assert parse_ref(written) == ("m", pin)


@pytest.mark.parametrize("written", ["m@0", "m@_x", "m@a-b", "m@" + "c" * 64, "m@"])
def test_the_cli_refuses_what_sql_refuses(written: str) -> None:
    with pytest.raises(ValueError, match=r"versions count from 1|after '@' comes"):
        parse_ref(written)


def test_the_project_knows_which_aliases_its_sql_uses(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    root = write_project(
        {
            "a.sql": TABLE
            + TRAIN
            + "SELECT * FROM t TO PREDICT p.y USING m@champion;\n"
            + "CREATE TABLE s AS SELECT ML_PREDICT(m@prod, x) AS q FROM t;\n"
            + "SELECT * FROM t TO PREDICT pinned.y USING m@1;\n"
        }
    )
    project = compile_project(root)
    assert project.alias_uses() == {"m": frozenset({"champion", "prod"})}
    assert project.pinned_versions() == {"m": frozenset({1})}  # aliases pin no number


# -- promote ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("directive", "policy"),
    [
        ("promote = best_score(val_auc)", PromotionPolicy("best_score", "val_auc")),
        ("promote = best_score(RMSE)", PromotionPolicy("best_score", "rmse")),
        ("promote = most_recent", PromotionPolicy("most_recent")),
        ("promote = MANUAL", PromotionPolicy("manual")),
    ],
)
def test_promote_directive(
    write_project: Callable[[dict[str, str]], Path], directive: str, policy: PromotionPolicy
) -> None:
    root = write_project({"a.sql": TABLE + f"-- sqlml: {directive}\n" + TRAIN})
    project = compile_project(root)
    assert project.node("m").directives.promote == policy
    assert project.policies() == {"m": policy}
    node = next(n for n in project_manifest(project).nodes if n.name == "m")
    assert node.directives == {"promote": policy.text}
    assert PromotionPolicy.parse(policy.text) == policy


@pytest.mark.parametrize(
    ("metric", "direction"),
    [
        ("accuracy", "maximize"),
        ("val_auc", "maximize"),
        ("r2", "maximize"),
        ("f1", "maximize"),
        ("val_loss", "minimize"),
        ("rmse", "minimize"),
        ("mae", "minimize"),
        ("mse", "minimize"),
        ("balanced_accuracy", "maximize"),
        ("logloss", "minimize"),
        ("acuracy", None),
    ],
)
def test_which_way_a_metric_improves(metric: str, direction: str | None) -> None:
    assert metric_direction(metric) == direction


# (text of a.sql, code, line:col, message, hint) — one diagnostic each
MISTAKES = [
    pytest.param(
        TABLE + "-- sqlml: promote = best\n" + TRAIN,
        "SQLML151",
        "2:11",
        "unknown promotion policy 'best'",
        "did you mean 'best_score'?",
        id="unknown-policy",
    ),
    pytest.param(
        TABLE + "-- sqlml: promote = best_score\n" + TRAIN,
        "SQLML151",
        "2:11",
        "best_score needs the metric it compares",
        "best_score(<metric>)",
        id="best-score-without-metric",
    ),
    pytest.param(
        TABLE + "-- sqlml: promote = best_score(auc, rmse)\n" + TRAIN,
        "SQLML151",
        "2:11",
        "best_score takes one metric name, found best_score(auc, rmse)",
        "best_score(accuracy)",
        id="best-score-two-metrics",
    ),
    pytest.param(
        TABLE + "-- sqlml: promote = best_score(acuracy)\n" + TRAIN,
        "SQLML152",
        "2:11",
        "unknown metric 'acuracy' in best_score",
        "did you mean 'accuracy'?",
        id="unknown-metric",
    ),
    pytest.param(
        "-- sqlml: promote = most_recent\n" + TABLE + TRAIN,
        "SQLML151",
        "1:11",
        "promote applies to statements that make a model",
        "above the model's TO TRAIN",
        id="promote-on-a-table",
    ),
    pytest.param(
        TABLE + TRAIN + "-- sqlml: promote = 3\nSELECT * FROM t TO PREDICT p.y USING m;\n",
        "SQLML151",
        "3:11",
        "promote applies to statements that make a model",
        "best_score(<metric>), most_recent or manual",
        id="promote-on-a-prediction",
    ),
    pytest.param(
        TABLE + TRAIN + "SELECT * FROM t TO PREDICT p.y USING m@_x;\n",
        "SQLML150",
        "3:40",
        "'_x' is not an alias",
        "starts with a letter",
        id="bad-alias",
    ),
    pytest.param(
        TABLE
        + TRAIN
        + "SELECT * FROM t TO EVALUATE m WITH check.auc > champion.f1 LABEL y INTO e;\n",
        "SQLML153",
        "3:48",
        "'check.auc' is compared with the champion's f1",
        "champion.auc + 0.01",
        id="champion-gate-two-metrics",
    ),
]


@pytest.mark.parametrize(("text", "code", "position", "message", "hint"), MISTAKES)
def test_lifecycle_mistakes_are_one_diagnostic_each(
    write_project: Callable[[dict[str, str]], Path],
    text: str,
    code: str,
    position: str,
    message: str,
    hint: str,
) -> None:
    location = f"sql/a.sql:{position}"
    test_diagnostics.test_diagnostic(write_project, {"a.sql": text}, code, location, message, hint)


def test_sqlml_check_prints_them_with_the_caret(
    write_project: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_project({"a.sql": TABLE + "-- sqlml: promote = best_score(acuracy)\n" + TRAIN})
    assert main(["check", str(root)]) == 1
    err = capsys.readouterr().err
    assert "error[SQLML152]: unknown metric 'acuracy' in best_score" in err
    assert "--> sql/a.sql:2:11" in err
    assert "|           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^" in err
    assert "Traceback" not in err


# -- champion-relative gates ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "condition", "canonical"),
    [
        ("check.auc >= champion.auc + 0.01", "auc >= champion.auc + 0.01", None),
        ("check.AUC >= Champion.AUC", "auc >= champion.auc", "check.auc >= champion.auc"),
        ("check.rmse <= champion.rmse - 0.5", "rmse <= champion.rmse - 0.5", None),
        (
            "check.MeanAbsoluteError < champion.mae+1",
            "mae < champion.mae + 1",
            "check.mae < champion.mae + 1",
        ),
    ],
)
def test_champion_relative_gates(written: str, condition: str, canonical: str | None) -> None:
    sql = f"SELECT * FROM t TO EVALUATE m WITH {written}, check.accuracy > 0.5 LABEL y INTO e;"
    parsed, diagnostics = parse_sql_file("a.sql", sql)
    assert diagnostics == []
    statement = parsed.statements[0]
    relative, absolute = statement.checks  # type: ignore[attr-defined]
    assert (relative.condition, relative.baseline) == (condition, "champion")
    assert (absolute.condition, absolute.baseline) == ("accuracy > 0.5", None)
    assert f"WITH {canonical or written}, check.accuracy > 0.5 LABEL" in to_sql(statement)
    assert "baseline" not in to_json(statement)["checks"][1]  # absolute gates read as before
    again, _ = parse_sql_file("a.sql", to_sql(statement) + ";")
    assert to_json(again.statements[0]) == to_json(statement)


def test_the_manifest_records_a_relative_gate_and_leaves_absolute_ones_as_they_were(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    root = write_project(
        {
            "a.sql": TABLE
            + "-- sqlml: promote = best_score(accuracy)\n"
            + TRAIN
            + "SELECT * FROM t TO EVALUATE m WITH check.accuracy >= champion.accuracy + 0.01, "
            "check.f1 > 0.5 LABEL y INTO e;\n"
        }
    )
    manifest = project_manifest(compile_project(root))
    text = manifest.to_json()
    relative, absolute = ProjectManifest.from_json(text).gates["m"]
    assert (relative.metric, relative.threshold, relative.baseline) == (
        "accuracy",
        0.01,
        "champion",
    )
    assert absolute.baseline == ""
    assert text.count('"baseline"') == 1


# (text after TABLE + TRAIN-with-directive, code) — warnings, where the lifecycle would
# quietly do nothing
WARNINGS = [
    pytest.param(
        "-- sqlml: promote = best_score(auc)\n",
        "",
        "SQLML226",
        "best_score(auc): no version of 'm' records auc, so @champion never moves",
        id="best-score-of-an-unrecorded-metric",
    ),
    pytest.param(
        "",
        "SELECT * FROM t TO EVALUATE m WITH check.auc >= champion.auc LABEL y INTO e;\n",
        "SQLML227",
        "'auc >= champion.auc' compares with @champion, but nothing promotes",
        id="champion-gate-without-a-policy",
    ),
]


@pytest.mark.parametrize(("above_train", "after", "code", "message"), WARNINGS)
def test_a_lifecycle_that_would_do_nothing_warns(
    write_project: Callable[[dict[str, str]], Path],
    above_train: str,
    after: str,
    code: str,
    message: str,
) -> None:
    _, diagnostics = check_project(write_project({"a.sql": TABLE + above_train + TRAIN + after}))
    assert [(d.code, d.is_error) for d in diagnostics] == [(code, False)], diagnostics
    assert message in diagnostics[0].message


@pytest.mark.parametrize(
    ("above_train", "after"),
    [
        (
            "-- sqlml: promote = best_score(auc)\n",
            "SELECT * FROM t TO EVALUATE m WITH check.auc > 0.7 LABEL y INTO e;\n",
        ),
        ("-- sqlml: promote = best_score(val_loss)\n", ""),
        (
            "-- sqlml: promote = best_score(auc)\n",
            "SELECT * FROM t TO EVALUATE m WITH validation.metrics = 'AUC' LABEL y INTO e;\n",
        ),
        (
            "-- sqlml: promote = manual\n",
            "SELECT * FROM t TO EVALUATE m WITH check.auc >= champion.auc LABEL y INTO e;\n",
        ),
        (
            "-- sqlml: promote = most_recent\n",
            "SELECT * FROM t TO EVALUATE m WITH check.auc >= champion.auc LABEL y INTO e;\n",
        ),
    ],
)
def test_a_lifecycle_that_works_is_quiet(
    write_project: Callable[[dict[str, str]], Path], above_train: str, after: str
) -> None:
    _, diagnostics = check_project(write_project({"a.sql": TABLE + above_train + TRAIN + after}))
    assert diagnostics == []
