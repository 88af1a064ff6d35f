"""Drift and skew: each trained version keeps statistics of its training rows, and
``-- sqlml: drift = warn(psi > 0.2)`` / ``block(…)`` above a TO PREDICT (or a table calling
ML_PREDICT) checks the scored rows against them — PSI over the training quantile bins for
numbers, over the training categories for text — as a Dagster asset check naming the
worst features; ``block`` stops what is downstream.

End to end on a generated project: scikit-learn on tiny data, DuckDB, a real model store
and Dagster run.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlml_dagster import build_defs
from sqlml_dagster.cli import main
from sqlml_dagster.compiler import compile_project, parse_sql_file
from sqlml_dagster.compiler.diagnostics import SqlMlCompileError
from sqlml_dagster.runtime.data import DataFile
from sqlml_dagster.runtime.drift import DriftAccumulator, feature_statistics, psi
from sqlml_dagster.store import ModelStore

from .conftest import failure_reasons, materialize_all

# -- the numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual", "value"),
    [
        ([10, 10], [10, 10], 0.0),  # the same population
        ([5, 5], [50, 50], 0.0),  # counts are normalized
        # (0.2 - 0.5) ln(0.2/0.5) + (0.8 - 0.5) ln(0.8/0.5)
        ([1, 1], [1, 4], 0.3 * np.log(2.5) + 0.3 * np.log(1.6)),
        # an empty bucket counts with a share of 1e-4, never a division by zero
        ([1, 0], [0, 1], 2 * (1 - 1e-4) * np.log(1e4)),
    ],
)
def test_psi(expected: list[int], actual: list[int], value: float) -> None:
    assert psi(expected, actual) == pytest.approx(value)


@pytest.fixture
def training(tmp_path: Path) -> Path:
    path = tmp_path / "train.parquet"
    pq.write_table(
        pa.table(
            {
                "x": pa.array([float(i) for i in range(100)] + [None] * 4, pa.float64()),
                "city": ["a"] * 60 + ["b"] * 30 + ["c"] * 10 + [None] * 4,
                "tags": [[1]] * 104,  # not profiled: neither a number nor text
                "y": [0, 1] * 52,
            }
        ),
        path,
    )
    return path


def test_training_statistics_per_feature(training: Path) -> None:
    stats = feature_statistics(DataFile(str(training)), ["x", "city", "tags"])
    assert (stats["stats_version"], stats["rows"], list(stats["features"])) == (
        1,
        104,
        ["x", "city"],
    )
    x = stats["features"]["x"]
    assert (x["kind"], x["count"], x["nulls"], x["min"], x["max"]) == ("numeric", 104, 4, 0.0, 99.0)
    assert x["mean"] == pytest.approx(49.5) and x["std"] == pytest.approx(np.std(range(100)))
    assert x["quantiles"] == pytest.approx(
        dict(
            zip(
                ["p05", "p25", "p50", "p75", "p95"],
                np.percentile(range(100), [5, 25, 50, 75, 95]),
                strict=True,
            )
        )
    )
    assert len(x["edges"]) == 9 and x["bins"] == [10] * 10  # deciles: ten rows each
    assert stats["features"]["city"] == {
        "kind": "categorical",
        "count": 104,
        "nulls": 4,
        "distinct": 3,
        "top": [["a", 60], ["b", 30], ["c", 10]],
        "other": 0,
    }


def test_scored_rows_like_the_training_rows_do_not_drift_and_shifted_ones_do(
    training: Path,
) -> None:
    stats = feature_statistics(DataFile(str(training)), ["x", "city"])
    same = DriftAccumulator(stats)
    same.add_batch(pq.read_table(training))
    assert {n: r["psi"] for n, r in same.report().items()} == pytest.approx({"x": 0, "city": 0})

    shifted = DriftAccumulator(stats)
    shifted.add("x", pa.array([float(i) for i in range(50, 150)]))  # half beyond the max
    shifted.add("city", pa.array(["a"] * 20 + ["d"] * 80))  # a new city
    report = shifted.report()
    assert report["x"]["psi"] > 1 and report["city"]["psi"] > 1
    assert report["city"]["other_share"] == 0.8
    assert (report["x"]["rows"], report["x"]["null_share"]) == (100, 0.0)
    assert report["x"]["trained_null_share"] == pytest.approx(4 / 104)


# -- the directive ------------------------------------------------------------------------

PREDICT = "SELECT x FROM t TO PREDICT p.y USING m;"


@pytest.mark.parametrize(
    ("written", "action", "condition"),
    [
        ("drift = warn(psi > 0.2)", "warn", "psi > 0.2"),
        ("drift = BLOCK(PSI >= 0.25)", "block", "psi >= 0.25"),
        ("drift = warn", "warn", "psi > 0.2"),
        ("drift = block", "block", "psi > 0.2"),
    ],
)
def test_drift_directives(
    write_project: Callable[[dict[str, str]], Path], written: str, action: str, condition: str
) -> None:
    root = write_project(
        {
            "m.sql": "SELECT x, y FROM t TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m;\n"
            f"-- sqlml: {written}\n{PREDICT}\n"
        }
    )
    drift = compile_project(root).node("p").directives.drift
    assert drift is not None and (drift.action, drift.condition) == (action, condition)


DIRECTIVE_ERRORS = [
    # (directive, statement, message, column of the caret)
    ("drift = warn(psi 0.2)", PREDICT, "expected ',' or ')' in the call, found '0.2'", 28),
    ("drift = alert(psi > 0.2)", PREDICT, "invalid drift check alert(psi > 0.2)", 11),
    ("drift = warn(kl > 0.2)", PREDICT, "unknown drift measure 'kl'", 11),
    (
        "drift = warn(psi > 'high')",
        PREDICT,
        "the drift threshold must be a number ≥ 0, not 'high'",
        11,
    ),
    (
        "drift = warn(psi > 0.2, psi > 0.3)",
        PREDICT,
        "invalid drift check warn(psi > 0.2, psi > 0.3)",
        11,
    ),
    (
        "drift = warn(psi > 0.2)",
        "CREATE TABLE p AS SELECT 1 AS one;",
        "drift applies to TO PREDICT statements and tables that call ML_PREDICT",
        11,
    ),
]


@pytest.mark.parametrize(("directive", "statement", "message", "column"), DIRECTIVE_ERRORS)
def test_drift_mistakes_are_diagnostics(
    write_project: Callable[[dict[str, str]], Path],
    directive: str,
    statement: str,
    message: str,
    column: int,
) -> None:
    root = write_project(
        {
            "m.sql": "SELECT x, y FROM t TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m;\n"
            f"-- sqlml: {directive}\n{statement}\n"
        }
    )
    with pytest.raises(SqlMlCompileError) as raised:
        compile_project(root)
    found = [d for d in raised.value.diagnostics if d.code in ("SQLML102", "SQLML111")]
    assert [(d.message, d.span.line, d.span.col) for d in found] == [(message, 2, column)]


def test_sqlml_check_shows_a_drift_mistake_with_a_caret(
    write_project: Callable[[dict[str, str]], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(
        {
            "m.sql": "SELECT x, y FROM t TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m;\n"
            f"-- sqlml: drift = warn(kl > 0.2)\n{PREDICT}\n"
        }
    )
    monkeypatch.chdir(root.parent)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(["check", "sql", "--no-import"]) == 1
    assert (
        "error[SQLML111]: unknown drift measure 'kl'\n"
        " --> sql/m.sql:2:11\n"
        "  |\n"
        "2 | -- sqlml: drift = warn(kl > 0.2)\n"
        "  |           ^^^^^^^^^^^^^^^^^^^^^^\n"
        "  = hint: measures: psi (population stability index: numeric features by the "
        "training quantiles, categorical by category)"
    ) in err.getvalue()


def test_the_directive_round_trips_through_the_ir_and_the_manifest() -> None:
    sql_file, diagnostics = parse_sql_file(
        "p.sql", f"-- sqlml: drift = block(psi > 0.3)\n{PREDICT}"
    )
    assert diagnostics == []
    (statement,) = sql_file.statements
    (directive,) = statement.directives
    assert str(directive.value) == "block(psi > 0.3)"


# -- end to end ---------------------------------------------------------------------------

PROJECT = """
CREATE TABLE points AS
SELECT i AS id, (i % 10) * 1.0 AS x, CASE WHEN i % 3 = 0 THEN 'a' ELSE 'b' END AS kind,
       CASE WHEN i % 10 > 4 THEN 1 ELSE 0 END AS y
FROM range(200) t(i);

CREATE TABLE today AS SELECT id, x + 20 AS x, kind, y FROM points;

SELECT x, y FROM points TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m;

-- sqlml: drift = warn(psi > 0.2)
SELECT id, x FROM points TO PREDICT same.y USING m;

-- sqlml: drift = block(psi > 0.2)
SELECT id, x FROM today TO PREDICT shifted.y USING m;

CREATE TABLE downstream AS SELECT count(*) AS n FROM shifted;

-- sqlml: drift = warn(psi > 0.2)
CREATE TABLE inline AS SELECT id, ML_PREDICT(m, x) AS y FROM today;
"""


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    out = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.asset_check_evaluation_data
            out[f"{data.asset_key.to_user_string()}:{data.check_name}"] = data
    return out


@pytest.mark.slow
def test_drift_checks_end_to_end(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    state, root = tmp_path / "state", write_project({"points.sql": PROJECT})
    defs = build_defs(root, state_dir=state)
    specs = {
        (s.asset_key.to_user_string(), s.name): s
        for a in defs.assets or []
        if isinstance(a, dg.AssetsDefinition)
        for s in a.check_specs
    }
    assert {k: s.blocking for k, s in specs.items() if k[1] == "drift"} == {
        ("same", "drift"): False,
        ("shifted", "drift"): True,
        ("inline", "drift"): False,
    }
    result = materialize_all(root, state)
    # The version keeps its training statistics, checksummed like its other artifacts.
    version = ModelStore(str(state / "models")).get("m")
    assert "feature_stats.json" in version.manifest.artifacts
    stats = version.feature_stats
    assert stats is not None and stats["rows"] == 200 and list(stats["features"]) == ["x"]
    assert json.loads((Path(version.uri) / "feature_stats.json").read_text()) == stats

    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"points", "today", "m", "same", "shifted", "inline"}  # no downstream
    assert failure_reasons(result).startswith(
        "drift check on shifted failed: 1 of 1 feature(s) drifted (psi > 0.2): x psi="
    )
    checks = _checks(result)
    same, shifted, inline = checks["same:drift"], checks["shifted:drift"], checks["inline:drift"]
    assert same.passed and same.severity == dg.AssetCheckSeverity.WARN
    assert same.metadata["worst_features"].value == [
        {"feature": "x", "kind": "numeric", "psi": 0.0}
    ]
    assert not shifted.passed and shifted.severity == dg.AssetCheckSeverity.ERROR
    (worst,) = shifted.metadata["worst_features"].value
    assert worst["feature"] == "x" and worst["psi"] > 5
    assert shifted.metadata["drifted"].value == ["x"]
    assert shifted.metadata["models"].value == ["m@1"]
    # ML_PREDICT counts what it scores, in the warehouse: the same rows, the same drift.
    assert not inline.passed and inline.severity == dg.AssetCheckSeverity.WARN
    assert inline.metadata["worst_features"].value == shifted.metadata["worst_features"].value


def test_a_spec_asking_for_drift_is_one_an_older_runtime_refuses() -> None:
    from sqlml_dagster.contract import StepSpec

    base = StepSpec(
        kind="predict", step_id="s", model_name="m", model_reference="r", flavor="sklearn"
    )
    plain = json.loads(base.to_json())
    assert plain["spec_version"] == 1 and "drift" not in plain  # as older runtimes read it
    asked = json.loads(StepSpec(**{**base.__dict__, "drift": True}).to_json())
    assert (asked["spec_version"], asked["drift"]) == (3, True)
    assert StepSpec.from_json(json.dumps(asked)).drift is True
