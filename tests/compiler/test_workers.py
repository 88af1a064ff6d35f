"""``train.num_workers``: the processes (pods on Kubernetes) that train one model. Only a
model that trains in several processes may ask for more than one — PyTorch's, or a class
whose flavor the step decides — and the number is a whole one (SQLML135, at the value)."""

from __future__ import annotations

import pytest

from sqlml_dagster.compiler.parser import parse_sql_file

CASES = [
    # (model, WITH, the diagnostic's code and words — None: accepted)
    ("DNNClassifier", "train.num_workers = 2", None),
    ("my_models.Net", "train.num_workers = 4", None),  # auto: the step decides
    ("sklearn.tree.DecisionTreeClassifier", "train.num_workers = 1", None),
    ("sklearn.tree.DecisionTreeClassifier", "train.num_workers = 2", "trains in one process"),
    ("xgboost.XGBClassifier", "train.num_workers = 3", "a xgboost model trains in one process"),
    ("keras.applications.MobileNet", "train.num_workers = 2", "a keras model"),
    ("DNNClassifier", "train.num_workers = 0", "a whole number of at least 1"),
    ("DNNClassifier", "train.num_workers = 1.5", "a whole number of at least 1"),
    ("DNNClassifier", "train.num_workers = 'two'", "a whole number of at least 1"),
]


@pytest.mark.parametrize(("model", "settings", "refused"), CASES)
def test_num_workers_is_refused_where_the_model_trains_in_one_process(
    model: str, settings: str, refused: str | None
) -> None:
    text = f"SELECT * FROM t TO TRAIN {model} WITH {settings} LABEL y INTO m;"
    _, found = parse_sql_file("a.sql", text)
    codes = [(d.code, d.message) for d in found]
    if refused is None:
        assert codes == []
        return
    ((code, message),) = codes
    assert code == "SQLML135" and refused in message, message
    (diagnostic,) = found
    assert diagnostic.span is not None
    assert text[diagnostic.span.start :].startswith("train.num_workers")
