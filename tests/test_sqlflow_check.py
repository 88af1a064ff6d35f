"""``sqlml check`` on SQLFlow statements: every WITH key honoured, ignored with a warning
that says why (SQLML414) or refused for the model's flavor (SQLML413); XGBoost's parameters
checked without importing anything; near misses pointed at the right name."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlml_dagster.validate import DeepCheckOptions, check_path


def check(tmp_path: Path, sql: str) -> list[tuple[str, str, str, str]]:
    """(code, severity, message, hint) of each finding of ``sqlml check`` on ``sql``."""
    root = tmp_path / "sql"
    root.mkdir()
    (root / "p.sql").write_text(
        "CREATE TABLE t AS SELECT 1.0 AS a, 2.0 AS b, 1 AS y;\n" + sql + "\n"
    )
    checked = check_path(root, options=DeepCheckOptions(imports=False, cache_dir=None))
    return [(d.code, d.severity.value, d.message, d.hint or "") for d in checked.diagnostics]


CASES = [
    # (statement, expected findings as (code, words of the message))
    (
        "SELECT * FROM t TO TRAIN xgboost.gbtree WITH objective=reg:squarederror, "
        "train.num_boost_round=30, eta=0.1, max_depth=5 LABEL y INTO m",
        [],
    ),
    (
        "SELECT * FROM t TO TRAIN xgboost.gbtree WITH max_dept = 5 LABEL y INTO m",
        [("SQLML401", "xgboost.gbtree has no parameter 'max_dept'")],
    ),
    (
        "SELECT * FROM t TO TRAIN xgboost.gbtre LABEL y INTO m",
        [("SQLML403", "did you mean xgboost.gbtree?")],
    ),
    (
        "SELECT * FROM t TO TRAIN XGBRegressor WITH train.disk_cache = true, "
        "train.batch_size = 64, importance_type = gain LABEL y INTO m",
        [
            ("SQLML414", "'train.disk_cache' is accepted and ignored here"),
            ("SQLML414", "'train.batch_size' is accepted and ignored here"),
            ("SQLML414", "'model.importance_type' is accepted and ignored here"),
        ],
    ),
    (
        "SELECT * FROM t TO TRAIN DNNClassifier WITH model.n_classes = 2, "
        "model.optimizer = RMSprop, optimizer.learning_rate = 0.1, train.max_steps = 100, "
        "validation.steps = 1, validation.start_delay_secs = 2, validation.throttle_secs = 3 "
        "LABEL y INTO m",
        [
            ("SQLML414", "'validation.steps' is accepted and ignored here"),
            ("SQLML414", "'validation.start_delay_secs' is accepted and ignored here"),
            ("SQLML414", "'validation.throttle_secs' is accepted and ignored here"),
        ],
    ),
    (
        "SELECT * FROM t TO TRAIN sklearn.linear_model.Ridge WITH train.epoch = 3, "
        "optimizer.learning_rate = 0.1, validation.split = 0.2 LABEL y INTO m",
        [
            ("SQLML413", "'train.epoch' means nothing to this model"),
            ("SQLML413", "'optimizer.learning_rate' means nothing to this model"),
        ],
    ),
    (
        "SELECT * FROM t TO TRAIN DNNLinearCombinedRegresor LABEL y INTO m",
        [("SQLML403", "did you mean DNNLinearCombinedRegressor?")],
    ),
]


@pytest.mark.parametrize(("statement", "expected"), CASES)
def test_sqlflow_statements_are_checked_per_flavor(
    tmp_path: Path, statement: str, expected: list[tuple[str, str]]
) -> None:
    found = check(tmp_path, statement + ";")
    got = [(code, message) for code, _, message, _ in found]
    assert len(got) == len(expected), got
    for (code, words), (got_code, message) in zip(expected, got, strict=True):
        assert code == got_code and words in message, (code, words, got_code, message)
    for code, severity, _, hint in found:
        assert severity == ("warning" if code == "SQLML414" else "error")
        assert hint


def test_misspelled_estimator_is_told_about_the_right_name_not_a_shorter_one(
    tmp_path: Path,
) -> None:
    ((_, _, message, _),) = check(
        tmp_path, "SELECT * FROM t TO TRAIN DNNLinearCombinedRegresor LABEL y INTO m;"
    )
    assert "LinearRegressor?" not in message
