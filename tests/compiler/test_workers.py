"""``train.num_workers``: the processes (pods on Kubernetes) that train one model. The
compiler wants a whole number of at least 1 (SQLML135, at the value); ``sqlml check``
refuses more than one for a model that trains in one process — scikit-learn, Keras —
(SQLML440, at the value). SQLFlow's own statements ask its XGBoost for workers (PAI's
distributed XGBoost): they compile, and a warning says the model trains in one process
(SQLML414); on Kubernetes such a training is one pod, not an Indexed Job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sqlml_dagster.compiler.parser import parse_sql_file
from tests.test_deep_check import run_check

CASES = [
    # (model, WITH, the code and words of the diagnostic — None: accepted)
    ("DNNClassifier", "train.num_workers = 2", None),
    ("my_models.Net", "train.num_workers = 4", None),  # auto: the step decides
    # one worker is what scikit-learn does anyway: a warning that the key means nothing
    ("sklearn.tree.DecisionTreeClassifier", "train.num_workers = 1", ("SQLML414", "ignored")),
    ("sklearn.tree.DecisionTreeClassifier", "train.num_workers = 2", ("SQLML440", "sklearn")),
    ("xgboost.XGBClassifier", "train.num_workers = 3", ("SQLML414", "XGBoost trains in one")),
    ("xgboost.gbtree", "train.num_workers = 2", ("SQLML414", "XGBoost trains in one")),
    ("keras.applications.MobileNet", "train.num_workers = 2", ("SQLML440", "a keras model")),
    ("DNNClassifier", "train.num_workers = 0", ("SQLML135", "a whole number of at least 1")),
    ("DNNClassifier", "train.num_workers = 1.5", ("SQLML135", "a whole number of at least 1")),
    ("DNNClassifier", "train.num_workers = 'two'", ("SQLML135", "a whole number of at least 1")),
]


def statement(model: str, settings: str) -> str:
    return f"SELECT * FROM t TO TRAIN {model} WITH {settings} LABEL y INTO m;"


@pytest.mark.parametrize(("model", "settings", "refused"), CASES)
def test_the_compiler_wants_a_whole_number_of_workers(
    model: str, settings: str, refused: tuple[str, str] | None
) -> None:
    text = statement(model, settings)
    _, found = parse_sql_file("a.sql", text)
    if refused is None or refused[0] != "SQLML135":
        assert [d.code for d in found] == []
        return
    (diagnostic,) = found
    assert diagnostic.code == "SQLML135" and refused[1] in diagnostic.message
    assert diagnostic.span is not None
    assert text[diagnostic.span.start :].startswith("train.num_workers")


@pytest.mark.parametrize(
    ("model", "settings", "refused"), [c for c in CASES if c[0] != "my_models.Net"]
)
def test_sqlml_check_refuses_workers_for_a_model_that_trains_in_one_process(
    tmp_path: Path, model: str, settings: str, refused: tuple[str, str] | None
) -> None:
    (tmp_path / "p.sql").write_text(statement(model, settings) + "\n")
    _, out, _ = run_check(str(tmp_path), "--format", "json")
    found = [
        (d["code"], d["message"])
        for d in json.loads(out)["diagnostics"]
        if d["code"] in ("SQLML135", "SQLML440", "SQLML413", "SQLML414")
    ]
    if refused is None:
        assert found == []
        return
    ((code, message),) = found
    assert code == refused[0] and refused[1] in message, message


def test_sqlflows_own_xgboost_workers_compile() -> None:
    _, found = parse_sql_file(
        "a.sql",
        "SELECT * FROM t TO TRAIN xgboost.gbtree WITH objective = 'binary:logistic', "
        "train.num_workers = 2 LABEL y INTO m;",
    )
    assert [d.code for d in found] == []
