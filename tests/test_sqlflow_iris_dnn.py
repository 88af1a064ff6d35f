"""SQLFlow's iris DNN tutorial (doc/tutorial/iris-dnn.md), its statements verbatim,
materialized end to end on DuckDB over generated iris-like tables: the built-in
``DNNClassifier`` really trains and predicts the test table's classes."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from sqlml_dagster.store import ModelStore

from .conftest import failure_reasons, materialize_all

pytestmark = pytest.mark.slow  # a whole project with a PyTorch training
pytest.importorskip("torch")

PROJECT = Path(__file__).parent / "fixtures" / "sqlflow_iris" / "sql"


def test_the_iris_dnn_tutorial_trains_and_predicts(tmp_path: Path) -> None:
    result = materialize_all(PROJECT, tmp_path)
    assert result.success, failure_reasons(result)
    version = ModelStore(str(tmp_path / "models")).latest("sqlflow_models.my_dnn_model")
    assert version is not None and version.manifest.flavor == "pytorch"
    # the tutorial reports accuracy 0.98 for this statement on the real iris data
    assert version.manifest.metrics["accuracy"] >= 0.9
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        columns = [c[0] for c in con.execute("DESCRIBE iris.predict").fetchall()]
        rows = con.execute(
            "SELECT p.class, t.class FROM iris.predict p JOIN iris.test t "
            "USING (sepal_length, sepal_width, petal_length, petal_width)"
        ).fetchall()
    assert columns == ["sepal_length", "sepal_width", "petal_length", "petal_width", "class"]
    assert len(rows) == 30
    assert sum(predicted == actual for predicted, actual in rows) >= 27
