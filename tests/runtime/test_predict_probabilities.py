"""``predict.probabilities = true`` writes one ``<column>_probability_<class>`` column per
class for every flavor that classifies — scikit-learn's ``predict_proba`` and XGBoost's
``binary:*``/``multi:softprob`` boosters too, as the deep-learning flavors already did —
each row summing to 1; a regressor refuses it instead of ignoring it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.runtime import StepError
from sqlml_dagster.runtime.flavors import sklearn as sklearn_flavor
from sqlml_dagster.runtime.flavors import xgboost as xgboost_flavor

from .recorder import Recorder

FEATURES = ["a", "b"]


@pytest.fixture
def rows(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=90), rng.normal(size=90)
    label = np.where(a > 0.5, "hi", np.where(a < -0.5, "lo", "mid"))
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"a": a, "b": b, "class": label, "y": 2 * a + b}), path)
    return path


def step(kind: str, tmp_path: Path, data: Path, reference: str, flavor: str, **extra: Any):
    return StepSpec(
        kind=kind,  # type: ignore[arg-type]
        step_id=kind,
        model_name="m",
        model_reference=reference,
        flavor=flavor,
        input_uri=str(data),
        model_uri=str(tmp_path / "model"),
        features=FEATURES,
        **extra,
    )


FLAVORS = [
    ("sklearn.linear_model.LogisticRegression", "sklearn", sklearn_flavor, {}),
    pytest.param(
        "xgboost.gbtree",
        "xgboost",
        xgboost_flavor,
        {"model": {"objective": "multi:softprob"}},
        marks=pytest.mark.slow,
    ),
]


@pytest.mark.parametrize(("reference", "flavor", "module", "params"), FLAVORS)
def test_a_probability_column_per_class_summing_to_one(
    tmp_path: Path, rows: Path, reference: str, flavor: str, module: Any, params: dict
) -> None:
    pytest.importorskip(flavor)
    module.train(
        step("train", tmp_path, rows, reference, flavor, label="class", params=params), Recorder()
    )
    out = tmp_path / "out.parquet"
    module.predict(
        step(
            "predict",
            tmp_path,
            rows,
            reference,
            flavor,
            output_uri=str(out),
            prediction_column="class",
            params={"predict": {"probabilities": True}},
        ),
        Recorder(),
    )
    table = pq.read_table(out)
    names = [f"class_probability_{c}" for c in ("hi", "lo", "mid")]
    assert table.column_names[-4:] == ["class", *names]
    proba = np.column_stack([table[n].to_numpy() for n in names])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    best = np.asarray(["hi", "lo", "mid"])[proba.argmax(axis=1)]
    assert (best == table["class"].to_numpy(zero_copy_only=False)).all()


def test_a_regressor_refuses_probabilities(tmp_path: Path, rows: Path) -> None:
    reference = "sklearn.linear_model.LinearRegression"
    sklearn_flavor.train(step("train", tmp_path, rows, reference, "sklearn", label="y"), Recorder())
    with pytest.raises(StepError, match=r"predict\.probabilities needs a classifier"):
        sklearn_flavor.predict(
            step(
                "predict",
                tmp_path,
                rows,
                reference,
                "sklearn",
                output_uri=str(tmp_path / "o.parquet"),
                prediction_column="y",
                params={"predict": {"probabilities": True}},
            ),
            Recorder(),
        )
