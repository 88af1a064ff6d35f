"""Richer evaluation, as a user meets it: ``TO EVALUATE … WITH validation.metrics =
"AUC,LogLoss,BalancedAccuracy,per_class", validation.curves = "roc,pr,confusion"`` writes
the metrics row, one table per curve beside it (``<into>_roc`` …) and the charts on the
evaluation asset; a regressor's residual summary comes with it; ``sqlml check`` knows every
metric and curve name (SQLML435, SQLML436).

End to end on a generated project: scikit-learn on tiny data, a real DuckDB warehouse,
model store and Dagster run.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sqlml_dagster.cli import main
from sqlml_dagster.compiler import compile_project
from sqlml_dagster.compiler.diagnostics import SqlMlCompileError

from .conftest import failure_reasons, materialize_all

POINTS = """
CREATE TABLE points AS
SELECT i AS id, (i % 7) * 1.0 AS x, ((i * 3) % 5) * 1.0 AS z,
       CASE WHEN (i % 7) + ((i * 3) % 5) * 0.5 > 4 THEN 'yes' ELSE 'no' END AS y,
       (i % 7) * 2.0 + ((i * 3) % 5) AS v
FROM range(60) t(i);
"""

PROJECT = (
    POINTS
    + """
SELECT x, z, y FROM points TO TRAIN sklearn.linear_model.LogisticRegression LABEL y INTO m;

SELECT x, z, y FROM points TO EVALUATE m
WITH validation.metrics = "AUC,LogLoss,BalancedAccuracy,per_class",
     validation.curves = "roc,pr,confusion"
LABEL y INTO m_eval;

SELECT x, z, v FROM points TO TRAIN sklearn.linear_model.LinearRegression LABEL v INTO r;

SELECT x, z, v FROM points TO EVALUATE r WITH validation.metrics = "MAE,residuals"
LABEL v INTO r_eval;

CREATE TABLE best_threshold AS
SELECT threshold FROM m_eval_roc WHERE threshold IS NOT NULL ORDER BY tpr - fpr DESC LIMIT 1;
"""
)


def query(state: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_reader_of_a_curve_table_depends_on_the_evaluation(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    project = compile_project(write_project({"points.sql": PROJECT}))
    assert [d.key for d in project.node("best_threshold").deps] == ["m_eval"]
    assert "m_eval_roc" not in {s.name.key for s in project.sources}


def test_a_table_named_like_a_curve_table_is_a_second_producer(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    root = write_project(
        {
            "points.sql": POINTS
            + "SELECT x, y FROM points TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m;\n"
            + "SELECT x, y FROM points TO EVALUATE m WITH validation.curves = 'roc' LABEL y INTO e;\n"
            + "CREATE TABLE e_roc AS SELECT 1 AS one;\n"
        }
    )
    with pytest.raises(SqlMlCompileError) as raised:
        compile_project(root)
    (found,) = raised.value.diagnostics
    assert (found.code, found.span.line, found.span.col) == ("SQLML201", 8, 1)
    assert found.message == "'e_roc' is already written by the statement at sql/points.sql:7:1"


@pytest.mark.slow
def test_curves_metrics_and_residuals_end_to_end(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    state, root = tmp_path / "state", write_project({"points.sql": PROJECT})
    result = materialize_all(root, state)
    assert result.success, failure_reasons(result)
    metadata = {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }

    # The metrics row: every asked-for metric, per-class ones by the model's classes.
    (row,) = query(state, "SELECT * FROM m_eval")
    columns = [c for (c,) in query(state, "SELECT column_name FROM (DESCRIBE m_eval)")]
    assert columns == [
        "model", "model_version", "rows", "auc", "logloss", "balanced_accuracy",
        "precision_no", "recall_no", "f1_no", "precision_yes", "recall_yes", "f1_yes",
    ]  # fmt: skip
    values = dict(zip(columns, row, strict=True))
    assert (values["model"], values["model_version"], values["rows"]) == ("m", 1, 60)
    assert 0.5 < values["auc"] <= 1 and values["logloss"] > 0

    # One table per curve beside it, and a chart of each on the evaluation asset.
    roc = query(state, "SELECT class, fpr, tpr, model, model_version FROM m_eval_roc")
    assert {r[0] for r in roc} == {"yes"} and {r[3:] for r in roc} == {("m", 1)}
    assert (roc[0][1:3], roc[-1][1:3]) == ((0.0, 0.0), (1.0, 1.0))
    confusion = query(state, "SELECT sum(count) FROM m_eval_confusion")
    assert confusion == [(60,)]
    assert query(state, "SELECT count(*) > 2 FROM m_eval_pr") == [(True,)]
    shown = metadata["m_eval"]
    assert shown["curves"] == {
        "roc": "m_eval_roc",
        "pr": "m_eval_pr",
        "confusion": "m_eval_confusion",
    }
    for curve in ("roc", "pr", "confusion"):
        assert shown[f"plot/{curve}"].startswith("![m_eval_")
        assert "data:image/png;base64,iVBORw0KGgo" in shown[f"plot/{curve}"]
    # … which the table reading m_eval_roc ran after
    assert query(state, "SELECT count(*) FROM best_threshold") == [(1,)]

    # A regressor: its residual summary on the asset, as columns when asked.
    assert set(metadata["r_eval"]["residuals"]) == {
        "residual_mean", "residual_std", "residual_min", "residual_p05",
        "residual_median", "residual_p95", "residual_max",
    }  # fmt: skip
    (mean,) = query(state, "SELECT round(residual_mean, 6) FROM r_eval")[0]
    assert mean == pytest.approx(0.0, abs=1e-6)  # least squares: residuals average zero


# -- sqlml check ----------------------------------------------------------------------------

CHECKED = (
    POINTS
    + """
SELECT x, z, y FROM points TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m;
SELECT x, z, y FROM points TO EVALUATE m
WITH validation.metrics = "AUC,LogLos,per_class", validation.curves = "roc,lift"
LABEL y INTO m_eval;
"""
)


def test_sqlml_check_knows_every_metric_and_curve(
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = write_project({"points.sql": CHECKED})
    monkeypatch.setenv("SQLML_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(root.parent)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", "sql", "--no-import"])
    assert code == 1
    blocks = [b for b in err.getvalue().split("\n\n") if b.startswith("error[")]
    assert blocks == [
        "error[SQLML435]: validation.metrics: unknown metric 'LogLos'\n"
        " --> sql/points.sql:9:27\n"
        "  |\n"
        '9 | WITH validation.metrics = "AUC,LogLos,per_class", validation.curves = "roc,lift"\n'
        "  |                           ^^^^^^^^^^^^^^^^^^^^^^\n"
        "  = hint: did you mean 'logloss'? known: accuracy, auc, balanced_accuracy, f1, "
        "logloss, mae, mse, per_class, precision, r2, recall, residuals, rmse",
        "error[SQLML436]: validation.curves: unknown curve 'lift'\n"
        " --> sql/points.sql:9:71\n"
        "  |\n"
        '9 | WITH validation.metrics = "AUC,LogLos,per_class", validation.curves = "roc,lift"\n'
        "  |                                                                       ^^^^^^^^^^\n"
        "  = hint: known: roc, pr, confusion",
    ]
