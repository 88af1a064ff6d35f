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
        "  = hint: did you mean 'logloss'? known: accuracy, auc, average_precision, "
        "balanced_accuracy, brier, cohen_kappa, explained_variance, f1, hamming_loss, logloss, "
        "mae, mape, median_ae, mse, msle, per_class, precision, r2, recall, residuals, rmse, "
        "zero_one_loss",
        "error[SQLML436]: validation.curves: unknown curve 'lift'\n"
        " --> sql/points.sql:9:71\n"
        "  |\n"
        '9 | WITH validation.metrics = "AUC,LogLos,per_class", validation.curves = "roc,lift"\n'
        "  |                                                                       ^^^^^^^^^^\n"
        "  = hint: known: roc, pr, confusion",
    ]


# -- SQLFlow's metric spellings ---------------------------------------------------------------

#: (what a SQLFlow statement writes, what it means here): its TensorFlow steps take
#: tf.keras.metrics class names, its XGBoost EVALUATE scikit-learn function names.
SPELLINGS = [
    ("CategoricalAccuracy", "accuracy"),
    ("SparseCategoricalAccuracy", "accuracy"),
    ("BinaryAccuracy", "accuracy"),
    ("accuracy_score", "accuracy"),
    ("f1_score", "f1"),
    ("precision_score", "precision"),
    ("recall_score", "recall"),
    ("roc_auc_score", "auc"),
    ("balanced_accuracy_score", "balanced_accuracy"),
    ("log_loss", "logloss"),
    ("BinaryCrossentropy", "logloss"),
    ("average_precision_score", "average_precision"),
    ("brier_score_loss", "brier"),
    ("cohen_kappa_score", "cohen_kappa"),
    ("hamming_loss", "hamming_loss"),
    ("zero_one_loss", "zero_one_loss"),
    ("MeanAbsolutePercentageError", "mape"),
    ("MeanSquaredLogarithmicError", "msle"),
    ("mean_squared_log_error", "msle"),
    ("RootMeanSquaredError", "rmse"),
    ("mean_squared_error", "mse"),
    ("median_absolute_error", "median_ae"),
    ("explained_variance_score", "explained_variance"),
    ("r2_score", "r2"),
]


@pytest.mark.parametrize(("written", "meant"), SPELLINGS)
def test_sqlflows_metric_spellings_name_metrics_computed_here(written: str, meant: str) -> None:
    from sqlml_dagster.contract.metrics import metric_name
    from sqlml_dagster.contract.trials import MAXIMIZED, MINIMIZED

    assert metric_name(written) == meant
    assert meant in MAXIMIZED | MINIMIZED  # a gate or a sweep knows which way is better


SPELLED = """
CREATE TABLE points AS
SELECT i AS id, (i % 7) * 1.0 AS x, ((i * 3) % 5) * 1.0 AS z,
       CASE WHEN (i % 7) + ((i * 3) % 5) * 0.5 + ((i * 5) % 11) * 0.4 > 5 THEN 'yes' ELSE 'no' END AS y,
       (i % 7) * 2.0 + ((i * 3) % 5) + ((i * 37) % 11) * 0.3 + 1 AS v
FROM range(60) t(i);
SELECT x, z, y FROM points TO TRAIN sklearn.linear_model.LogisticRegression LABEL y INTO m;
SELECT x, z, y FROM points TO EVALUATE m
WITH validation.metrics = "accuracy_score,CategoricalAccuracy,f1_score,roc_auc_score,
     average_precision_score,brier_score_loss,cohen_kappa_score,hamming_loss,zero_one_loss"
LABEL y INTO m_eval;
SELECT x, z, v FROM points TO TRAIN sklearn.linear_model.LinearRegression LABEL v INTO r;
SELECT x, z, v FROM points TO EVALUATE r
WITH validation.metrics = "MeanAbsolutePercentageError,mean_squared_log_error,
     median_absolute_error,explained_variance_score,RootMeanSquaredError"
LABEL v INTO r_eval;
"""


@pytest.mark.slow
def test_sqlflows_metric_spellings_evaluate_to_scikit_learns_values(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """The same numbers scikit-learn gives on the same predictions (Keras' MAPE: a
    percentage); a metric written twice in two spellings is one column."""
    import numpy as np
    from sklearn import metrics
    from sklearn.linear_model import LinearRegression, LogisticRegression

    state, root = tmp_path / "state", write_project({"points.sql": SPELLED})
    result = materialize_all(root, state)
    assert result.success, failure_reasons(result)
    rows = query(state, "SELECT x, z, y, v::DOUBLE FROM points ORDER BY id")
    x = np.array([[r[0], r[1]] for r in rows])
    y, v = np.array([r[2] for r in rows]), np.array([r[3] for r in rows])
    classifier = LogisticRegression().fit(x, y)
    predicted, proba = classifier.predict(x), classifier.predict_proba(x)[:, 1]
    positive = (y == "yes").astype(int)
    expected = {
        "accuracy": metrics.accuracy_score(y, predicted),
        "f1": metrics.f1_score(y, predicted, pos_label="yes"),
        "auc": metrics.roc_auc_score(positive, proba),
        "average_precision": metrics.average_precision_score(positive, proba),
        "brier": metrics.brier_score_loss(positive, proba),
        "cohen_kappa": metrics.cohen_kappa_score(y, predicted),
        "hamming_loss": metrics.hamming_loss(y, predicted),
        "zero_one_loss": metrics.zero_one_loss(y, predicted),
    }
    columns = [c for (c,) in query(state, "SELECT column_name FROM (DESCRIBE m_eval)")]
    (row,) = query(state, "SELECT * FROM m_eval")
    assert columns == ["model", "model_version", "rows", *expected]
    assert dict(zip(columns[3:], row[3:], strict=True)) == pytest.approx(expected)
    assert 0.5 < expected["accuracy"] < 1 and expected["brier"] > 0.05  # not separable

    fitted = LinearRegression().fit(x, v).predict(x)
    expected = {
        "mape": 100 * float(np.mean(np.abs(v - fitted) / np.maximum(np.abs(v), 1e-7))),
        "msle": metrics.mean_squared_log_error(v, fitted) if (fitted >= 0).all() else None,
        "median_ae": metrics.median_absolute_error(v, fitted),
        "explained_variance": metrics.explained_variance_score(v, fitted),
        "rmse": float(np.sqrt(metrics.mean_squared_error(v, fitted))),
    }
    columns = [c for (c,) in query(state, "SELECT column_name FROM (DESCRIBE r_eval)")]
    (row,) = query(state, "SELECT * FROM r_eval")
    assert columns == ["model", "model_version", "rows", *expected]
    got = dict(zip(columns[3:], row[3:], strict=True))
    assert expected["msle"] is not None  # v and its fit are non-negative here
    assert got == pytest.approx(expected)
    assert got["mape"] > 1 and got["explained_variance"] < 1  # the fit is not exact


# -- validation.metrics on TO TRAIN -----------------------------------------------------------

TRAINED = """
CREATE TABLE points AS
SELECT i AS id, (i % 7) * 1.0 AS x, ((i * 3) % 5) * 1.0 AS z,
       CASE WHEN (i % 7) + ((i * 3) % 5) * 0.5 + ((i * 5) % 11) * 0.4 > 5 THEN 1 ELSE 0 END AS y
FROM range(90) t(i);
"""
#: One training of each flavor family, each with SQLFlow's validation.metrics, and TO
#: EVALUATE of it on the same held-out rows.
TRAINED_MODELS = {
    "sk": ("sklearn.linear_model.LogisticRegression", ""),
    "xgb": ("xgboost.gbtree", "objective = 'binary:logistic', train.num_boost_round = 5, "),
    "dnn": ("DNNClassifier", "model.hidden_units = [4], model.n_classes = 2, train.epoch = 2, "),
}
TRAINED_STATEMENT = """
SELECT x, z, y FROM points
TO TRAIN {model}
WITH {extra}validation.select = "SELECT x, z, y FROM points WHERE id % 3 = 0",
     validation.metrics = "roc_auc_score,log_loss,CategoricalAccuracy"
LABEL y INTO {name};
SELECT x, z, y FROM points WHERE id % 3 = 0
TO EVALUATE {name} WITH validation.metrics = "AUC,LogLoss,Accuracy" LABEL y INTO {name}_eval;
"""


@pytest.mark.slow
def test_a_trainings_validation_metrics_are_what_evaluate_computes_on_its_held_out_rows(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """SQLFlow's ``validation.metrics`` on TO TRAIN is honoured, not ignored: the version
    records ``val_<metric>`` on the ``validation.select`` rows, the very numbers TO EVALUATE
    computes on the same rows — for scikit-learn, XGBoost and a network alike."""
    from sqlml_dagster.store import ModelStore

    state = tmp_path / "state"
    sql = TRAINED + "".join(
        TRAINED_STATEMENT.format(name=name, model=model, extra=extra)
        for name, (model, extra) in TRAINED_MODELS.items()
    )
    result = materialize_all(write_project({"t.sql": sql}), state)
    assert result.success, failure_reasons(result)
    for name in TRAINED_MODELS:
        (version,) = ModelStore(str(state / "models")).versions(name)
        recorded = version.manifest.metrics
        (row,) = query(state, f"SELECT auc, logloss, accuracy FROM {name}_eval")
        assert (recorded["val_auc"], recorded["val_logloss"], recorded["val_accuracy"]) == (
            pytest.approx(row[0], rel=1e-5),
            pytest.approx(row[1], rel=1e-4),
            pytest.approx(row[2]),
        ), name
