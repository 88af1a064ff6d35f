"""SQLFlow's ``TO TRAIN … [LABEL col] USING <trained model> INTO name`` (the grammar's
``optional_using``): training continues from a trained model's version — for the XGBoost
estimators here; other flavors are refused where the statement says it (SQLML119)."""

from __future__ import annotations

import json

import pytest

from sqlml_dagster.compiler import parse_sql_file, to_json, to_sql
from sqlml_dagster.contract.spec import StepSpec

CASES = [
    # (statement, warm_start, its pin, the models the statement depends on)
    (
        "SELECT * FROM t TO TRAIN xgboost.gbtree LABEL y USING base INTO tuned",
        "base",
        None,
        ["base"],
    ),
    (
        "SELECT * FROM t TO TRAIN xgboost.gbtree LABEL y USING base@2 INTO tuned",
        "base",
        2,
        ["base"],
    ),
    # the model itself: incremental training, no dependency on its own asset
    ("SELECT * FROM t TO TRAIN xgboost.gbtree USING m INTO m", "m", None, []),
    # a user's class: its flavor is decided at run time, which refuses all but XGBoost
    ("SELECT * FROM t TO TRAIN my_models.Net LABEL y USING m INTO m", "m", None, []),
]


@pytest.mark.parametrize(("sql", "warm_start", "pin", "depends"), CASES)
def test_train_using_a_trained_model(
    sql: str, warm_start: str, pin: int | None, depends: list[str]
) -> None:
    sql_file, diagnostics = parse_sql_file("t.sql", sql + ";")
    assert [d.render() for d in diagnostics if d.is_error] == []
    (train,) = sql_file.statements
    assert (str(train.warm_start), train.warm_start_version) == (warm_start, pin)
    assert [str(m) for m, _ in train.uses_models()] == depends
    again, _ = parse_sql_file("t.sql", to_sql(train) + ";")
    assert to_json(again.statements[0]) == to_json(train)


def test_statements_without_using_read_as_they_did() -> None:
    sql_file, _ = parse_sql_file("t.sql", "SELECT * FROM t TO TRAIN xgboost.gbtree INTO m;")
    assert "warm_start" not in to_json(sql_file.statements[0])


def test_a_warm_start_needs_spec_version_3() -> None:
    spec = StepSpec(kind="train", step_id="s", model_name="m", model_reference="r", flavor="x")
    assert json.loads(spec.to_json())["spec_version"] == 1
    warm = StepSpec(
        kind="train",
        step_id="s",
        model_name="m",
        model_reference="r",
        flavor="x",
        warm_start_uri="file:///store/m/1",
    )
    assert json.loads(warm.to_json())["spec_version"] == 3  # older images refuse it
