"""SQLFlow's boston-housing XGBoost tutorial (doc/tutorial/housing-xgboost.md and
housing-explain.md), verbatim, materialized end to end on DuckDB with SQLFlow's own data
(tests/fixtures/sqlflow_boston/README.md says where each piece comes from)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from sqlml_dagster.store import ModelStore

from .conftest import failure_reasons, materialize_all

pytestmark = pytest.mark.slow  # a whole project: ~30 s
pytest.importorskip("xgboost")

PROJECT = Path(__file__).parent / "fixtures" / "sqlflow_boston" / "sql"


@pytest.fixture(scope="module")
def materialized(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dg.ExecuteInProcessResult]:
    state = tmp_path_factory.mktemp("boston")
    result = materialize_all(PROJECT, state)
    assert result.success, failure_reasons(result)
    return state, result


@pytest.fixture(scope="module")
def state(materialized: tuple[Path, dg.ExecuteInProcessResult]) -> Path:
    return materialized[0]


def query(state: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_tutorial_model_fits_as_sqlflows_convergence_test_expects(state: Path) -> None:
    store = ModelStore(str(state / "models"))
    version = store.latest("sqlflow_models.my_xgb_regression_model")
    assert version is not None
    manifest = version.manifest
    assert manifest.flavor == "xgboost"
    assert manifest.params["model"]["booster"] == "gbtree"
    assert manifest.params["model"]["num_boost_round"] == 30
    # go/cmd/sqlflowserver/e2e_common_cases.go: after 30 rounds the training RMSE is small
    # (SQLFlow asserts ≤ 0.5 on its housing table; medv is in $1000s here)
    assert 0 < manifest.metrics["rmse"] < 1.0
    assert manifest.metrics["r2"] > 0.98
    assert "model.ubj" in manifest.artifacts  # XGBoost's own format, never a pickle


def test_predictions_land_in_the_tutorials_table_and_agree_with_ml_predict(state: Path) -> None:
    rows = query(
        state,
        "SELECT p.medv, m.medv_hat, m.medv FROM boston.predict p "
        "JOIN boston.ml_predict m USING (crim, zn, indus, tax, lstat)",
    )
    assert len(rows) == 10
    for predicted, called, actual in rows:
        assert predicted == pytest.approx(called, abs=1e-5)  # ML_PREDICT = TO PREDICT
        assert abs(predicted - actual) < 15
    ((rmse,),) = query(state, "SELECT sqrt(avg(power(medv - medv_hat, 2))) FROM boston.ml_predict")
    assert rmse < 7  # 10 held-out tracts; the training mean would miss by ~9


def test_explanation_ranks_lstat_and_rm_first_as_the_tutorial_shows(state: Path) -> None:
    rows = query(state, "SELECT feature, method FROM boston.explain_result ORDER BY rank")
    assert {rows[0][0], rows[1][0]} == {"lstat", "rm"}
    assert rows[0][1] == "shap-tree"
    assert len(rows) == 13


def test_the_dot_chart_statement_keeps_every_rows_shap_values(state: Path) -> None:
    """housing-explain.md's ``summary.plot_type="dot"``: one row of SHAP values per
    training row (SQLFlow's INTO table) in ``boston.explain_dot_rows``, each adding up with
    the base value to the booster's prediction of that row."""
    ((rows, features),) = query(
        state,
        "SELECT count(*), (SELECT count(*) FROM (DESCRIBE boston.explain_dot_rows)) - 7 "
        "FROM boston.explain_dot_rows",
    )
    assert (rows, features) == (496, 13)
    ((worst,),) = query(
        state,
        "SELECT max(abs(base_value + crim + zn + indus + chas + nox + rm + age + dis + rad "
        "+ tax + ptratio + b + lstat - model_output)) FROM boston.explain_dot_rows",
    )
    assert worst < 1e-3
    import xgboost

    version = ModelStore(str(state / "models")).latest("sqlflow_models.my_xgb_regression_model")
    assert version is not None
    booster = xgboost.Booster()
    booster.load_model(str(Path(version.uri) / "model.ubj"))
    names = ["crim", "zn", "indus", "chas", "nox", "rm", "age", "dis", "rad", "tax"]
    names += ["ptratio", "b", "lstat"]
    train = query(state, f"SELECT {', '.join(names)} FROM boston.train")
    explained = query(state, "SELECT model_output FROM boston.explain_dot_rows ORDER BY row_number")
    predicted = booster.predict(xgboost.DMatrix([list(r) for r in train], feature_names=names))
    assert max(abs(e - p) for (e,), p in zip(explained, predicted, strict=True)) < 1e-3


def test_the_explanation_as_written_shows_its_chart_and_ranks_lstat_and_rm_first(
    materialized: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    state, result = materialized
    (chart,) = [
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key.path
        == ["sqlflow_models", "my_xgb_regression_model_explanation"]
    ]
    assert chart["explain_method"].value == "shap-tree"
    importances = chart["importances"].value
    assert isinstance(importances, dict)
    assert set(list(importances)[:2]) == {"lstat", "rm"}
    assert "data:image/png;base64," in str(chart["plot"].value)
    tables = query(state, "SELECT table_name FROM information_schema.tables")
    assert ("my_xgb_regression_model_explanation",) not in tables


def test_evaluation_scores_the_test_rows(state: Path) -> None:
    ((mae, rows),) = query(state, "SELECT mae, rows FROM boston.evaluate_result")
    assert rows == 10 and mae < 6


def booster_rounds(state: Path, model: str) -> list[int]:
    """The boosted rounds of each version of ``model``, oldest first."""
    import xgboost

    rounds = []
    for version in ModelStore(str(state / "models")).versions(model):
        booster = xgboost.Booster()
        booster.load_model(str(Path(version.uri) / "model.ubj"))
        rounds.append(booster.num_boosted_rounds())
    return rounds


def test_training_continues_from_a_trained_model_with_using(tmp_path: Path) -> None:
    # go/cmd/sqlflowserver/e2e_common_cases.go: TO TRAIN … LABEL class USING m INTO m
    root = tmp_path / "sql"
    root.mkdir()
    shutil.copytree(PROJECT.parent / "data", tmp_path / "data")
    (root / "p.sql").write_text(
        "CREATE TABLE houses AS SELECT * FROM read_csv('../data/boston_train.csv');\n"
        "SELECT * FROM houses TO TRAIN xgboost.gbtree WITH train.num_boost_round = 5 "
        "LABEL medv INTO base;\n"
        "SELECT * FROM houses TO TRAIN xgboost.gbtree WITH train.num_boost_round = 3 "
        "LABEL medv USING base INTO tuned;\n"
        "SELECT * FROM houses TO TRAIN xgboost.gbtree WITH train.num_boost_round = 2 "
        "LABEL medv USING incremental INTO incremental;\n"
    )
    state = tmp_path / "state"
    for _ in range(2):
        result = materialize_all(root, state)
        assert result.success, failure_reasons(result)
    assert booster_rounds(state, "base") == [5]  # unchanged the second time: reused
    assert booster_rounds(state, "tuned") == [8]  # 5 of base's rounds, then 3 more
    # USING m INTO m continues the model's own last version when it retrains; an unchanged
    # statement on unchanged data reuses it, as any training does (docs/deep-learning.md)
    assert booster_rounds(state, "incremental") == [2]


def test_a_served_booster_answers_what_to_predict_wrote(state: Path) -> None:
    """`sqlml serve` scores with the booster's own model.ubj: the tutorial's PREDICT values."""
    import httpx

    from sqlml_dagster.serving import ServedModel, create_app

    from .test_serving import running

    features = "crim, zn, indus, chas, nox, rm, age, dis, rad, tax, ptratio, b, lstat"
    scored = query(state, f"SELECT {features}, medv FROM boston.predict")
    names = [name.strip() for name in features.split(",")]
    served = ServedModel(
        ModelStore(str(state / "models")), "sqlflow_models.my_xgb_regression_model"
    )
    with running(create_app(served)) as url:
        answer = httpx.post(
            f"{url}/predict",
            json={"rows": [dict(zip(names, row[:-1], strict=True)) for row in scored]},
        ).json()
    assert answer["predictions"] == pytest.approx([row[-1] for row in scored], abs=1e-5)
