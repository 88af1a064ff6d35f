"""The SQLFlow forms: `<select> TO TRAIN …` and `<select> TO PREDICT …`, as tables of input → IR."""

from __future__ import annotations

from typing import Any

import pytest
from sqlglot import exp

from sqlml_dagster.compiler import (
    EvaluateStatement,
    PredictStatement,
    SqlStatement,
    TrainStatement,
    parse_sql_file,
)


def parse_one(sql: str) -> Any:
    sql_file, diagnostics = parse_sql_file("t.sql", sql)
    assert [d.render() for d in diagnostics if d.is_error] == []
    assert len(sql_file.statements) == 1
    return sql_file.statements[0]


TRAIN_CASES = [
    (
        "SELECT * FROM iris.train TO TRAIN sklearn.svm.SVC LABEL class INTO m",
        {"model": "sklearn.svm.SVC", "label": "class", "into": "m", "params": {}},
    ),
    (
        "select a, b from t to train sklearn.ensemble.RandomForestClassifier "
        "with model.n_estimators = 100, model.max_depth = 4 label y into models_db.rf",
        {
            "model": "sklearn.ensemble.RandomForestClassifier",
            "label": "y",
            "into": "models_db.rf",
            "params": {"model.n_estimators": 100, "model.max_depth": 4},
        },
    ),
    (
        "SELECT * FROM t TO TRAIN DNNClassifier WITH model.hidden_units = [10, 20], "
        'train.epoch = 2, model.learning_rate = 0.01, model.optimizer = "adam", '
        "validation.select = 'SELECT * FROM v', model.shuffle = true, model.x = -3, model.y = -0.5, "
        "model.nested = [[1, 2], []], model.activation = tf.nn.relu, model.none = NULL "
        "LABEL c INTO m",
        {
            "model": "DNNClassifier",
            "label": "c",
            "into": "m",
            "params": {
                "model.hidden_units": [10, 20],
                "train.epoch": 2,
                "model.learning_rate": 0.01,
                "model.optimizer": "adam",
                "validation.select": "SELECT * FROM v",
                "model.shuffle": True,
                "model.x": -3,
                "model.y": -0.5,
                "model.nested": [[1, 2], []],
                "model.activation": "tf.nn.relu",
                "model.none": None,
            },
        },
    ),
    # A bare key is a model parameter, as SQLFlow's XGBoost examples write it.
    (
        'SELECT * FROM t TO TRAIN xgboost.XGBRegressor WITH objective = "reg:squarederror", eta = 0.1 LABEL y INTO m',
        {
            "model": "xgboost.XGBRegressor",
            "label": "y",
            "into": "m",
            "params": {"model.objective": "reg:squarederror", "model.eta": 0.1},
        },
    ),
    # LABEL is optional (unsupervised models).
    (
        "SELECT a, b FROM t TO TRAIN sklearn.cluster.KMeans WITH model.n_clusters = 3 INTO clusters",
        {
            "model": "sklearn.cluster.KMeans",
            "label": None,
            "into": "clusters",
            "params": {"model.n_clusters": 3},
        },
    ),
    # Keywords are case-insensitive; the query may use CTEs, joins and subqueries.
    (
        "WITH x AS (SELECT * FROM a JOIN b USING (id)) SELECT * FROM x WHERE id IN (SELECT id FROM c) "
        "To Train sklearn.linear_model.Ridge Label y Into r",
        {"model": "sklearn.linear_model.Ridge", "label": "y", "into": "r", "params": {}},
    ),
]


IMAGE_CASES = [
    ("sklearn.svm.SVC", None, "sklearn.svm.SVC"),
    ("DNNClassifier", None, "DNNClassifier"),
    (
        "registry.example.com:5000/team/models:1.2/my_models.MyClassifier",
        "registry.example.com:5000/team/models:1.2",
        "my_models.MyClassifier",
    ),
    (
        "ghcr.io/org/img@sha256:" + "0a" * 32 + "/pkg.Model",
        "ghcr.io/org/img@sha256:" + "0a" * 32,
        "pkg.Model",
    ),
    (
        "sqlflow/sqlflow:latest/sqlflow_models.DNNClassifier",
        "sqlflow/sqlflow:latest",
        "sqlflow_models.DNNClassifier",
    ),
    (
        "your-registry.com/model_image/MyAwesomeClassifier",
        "your-registry.com/model_image",
        "MyAwesomeClassifier",
    ),
    ("localhost:5000/m:dev/m.M", "localhost:5000/m:dev", "m.M"),
    (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml/train:v3/models.Net",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml/train:v3",
        "models.Net",
    ),
]


@pytest.mark.parametrize(("written", "image", "reference"), IMAGE_CASES)
def test_model_reference_with_image(written: str, image: str | None, reference: str) -> None:
    statement = parse_one(f"SELECT * FROM t TO TRAIN {written} WITH model.n = 1 LABEL y INTO m")
    assert isinstance(statement, TrainStatement)
    assert (statement.model.image, statement.model.reference) == (image, reference)


@pytest.mark.parametrize(("sql", "expected"), TRAIN_CASES)
def test_train(sql: str, expected: dict[str, Any]) -> None:
    statement = parse_one(sql)
    assert isinstance(statement, TrainStatement)
    assert statement.model.reference == expected["model"]
    assert statement.label == expected["label"]
    assert str(statement.into) == expected["into"]
    assert {p.key: p.value for p in statement.params} == expected["params"]
    assert isinstance(statement.select, exp.Query)


PREDICT_CASES = [
    (
        "SELECT * FROM t TO PREDICT out.class USING m",
        {"into": "out", "column": "class", "using": "m"},
    ),
    (
        "SELECT * FROM t TO PREDICT db.out.score USING db.m",
        {"into": "db.out", "column": "score", "using": "db.m"},
    ),
    (
        "SELECT * FROM t TO PREDICT out USING m",
        {"into": "out", "column": "prediction", "using": "m"},
    ),
    (
        "SELECT * FROM t TO PREDICT out.y WITH predict.batch_size = 10 USING m",
        {"into": "out", "column": "y", "using": "m", "params": {"predict.batch_size": 10}},
    ),
]


@pytest.mark.parametrize(("sql", "expected"), PREDICT_CASES)
def test_predict(sql: str, expected: dict[str, Any]) -> None:
    statement = parse_one(sql)
    assert isinstance(statement, PredictStatement)
    assert str(statement.into) == expected["into"]
    assert statement.column == expected["column"]
    assert str(statement.using) == expected["using"]
    assert {p.key: p.value for p in statement.params} == expected.get("params", {})


EVALUATE_CASES = [
    (
        "SELECT * FROM t TO EVALUATE m LABEL y INTO e",
        {"model": "m", "into": "e", "params": {}, "checks": []},
    ),
    (
        'SELECT * FROM t TO EVALUATE m@2 WITH validation.metrics = "AUC" LABEL y INTO db.e',
        {"model": "m", "into": "db.e", "params": {"validation.metrics": "AUC"}, "checks": []},
    ),
    # Quality gates: check.<metric> <op> <number>, beside parameters (docs/quality-gates.md).
    (
        "SELECT * FROM t TO EVALUATE m WITH check.accuracy >= 0.9, check.AUC > 0.8 LABEL y INTO e",
        {"model": "m", "into": "e", "params": {}, "checks": ["accuracy >= 0.9", "auc > 0.8"]},
    ),
    (
        "select * from t to evaluate m with validation.metrics = 'RMSE', check.mean_squared_error <= 5, "
        "check.r2 < 1, check.mae = -0.5 label y into e",
        {
            "model": "m",
            "into": "e",
            "params": {"validation.metrics": "RMSE"},
            "checks": ["mse <= 5", "r2 < 1", "mae = -0.5"],
        },
    ),
]


@pytest.mark.parametrize(("sql", "expected"), EVALUATE_CASES)
def test_evaluate(sql: str, expected: dict[str, Any]) -> None:
    statement = parse_one(sql)
    assert isinstance(statement, EvaluateStatement)
    assert (str(statement.model), str(statement.into)) == (expected["model"], expected["into"])
    assert {p.key: p.value for p in statement.params} == expected["params"]
    assert [c.condition for c in statement.checks] == expected["checks"]


TO_IN_PARENTHESES = [
    "CREATE TABLE t AS SELECT (name SIMILAR TO 'a%') AS m FROM s",
    "CREATE TABLE t AS SELECT x FROM s WHERE (name SIMILAR TO 'a%' OR name SIMILAR TO 'b%')",
    "CREATE TABLE t AS SELECT * FROM (SELECT x FROM s WHERE (name SIMILAR TO 'a%')) AS q",
]


@pytest.mark.parametrize("sql", TO_IN_PARENTHESES)
def test_to_inside_parentheses_is_not_an_ml_clause(sql: str) -> None:
    """`TO` only starts the ML tail at the top level of the statement: a `SIMILAR TO`
    inside parentheses or a subquery stays SQL."""
    statement = parse_one(sql)
    assert isinstance(statement, SqlStatement)
    assert "SIMILAR TO" in statement.tree.sql("duckdb")


def test_an_ml_tail_after_a_subquery_with_to() -> None:
    statement = parse_one(
        "SELECT * FROM (SELECT x, y FROM s WHERE (name SIMILAR TO 'a%')) AS q "
        "TO TRAIN sklearn.svm.SVC LABEL y INTO m"
    )
    assert isinstance(statement, TrainStatement)
    assert "SIMILAR TO" in statement.select.sql("duckdb")
    assert str(statement.into) == "m"


def test_spans_point_at_the_source() -> None:
    text = "-- header\nSELECT a, y FROM t\nTO TRAIN sklearn.svm.SVC\nLABEL y\nINTO m;\n"
    sql_file, _ = parse_sql_file("f.sql", text)
    statement = sql_file.statements[0]
    assert isinstance(statement, TrainStatement)
    assert (statement.span.line, statement.span.col) == (2, 1)
    assert (statement.into_span.line, statement.into_span.col) == (5, 6)
    assert text[statement.span.start : statement.span.end].endswith("INTO m")


PLAIN_CASES = [
    ("CREATE TABLE a.b AS SELECT * FROM c", "a.b", True, ["c"]),
    ("CREATE OR REPLACE VIEW v AS SELECT * FROM c JOIN d ON c.id = d.id", "v", True, ["c", "d"]),
    ("INSERT INTO t SELECT * FROM s WHERE x > (SELECT max(x) FROM u)", "t", False, ["s", "u"]),
    ("CREATE TABLE t (a INT)", "t", True, []),
    ("SET threads = 2", None, False, []),
    ("CREATE MACRO plus_one(x) AS x + 1", None, False, []),
]


@pytest.mark.parametrize(("sql", "target", "creates", "reads"), PLAIN_CASES)
def test_plain_sql(sql: str, target: str | None, creates: bool, reads: list[str]) -> None:
    statement = parse_one(sql)
    assert isinstance(statement, SqlStatement)
    assert (str(statement.target) if statement.target else None) == target
    assert statement.creates is creates
    assert [str(t) for t in statement.reads()] == reads
