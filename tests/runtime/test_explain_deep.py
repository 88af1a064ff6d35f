"""``summary.plot_type`` and ``explain.per_row`` for the deep-learning flavors: SQLFlow's
``DNNClassifier`` (PyTorch here), which SHAP does not explain
exactly, so ``auto`` explains them as a black box (SHAP's permutation explainer) when
per-row values are asked for. Each row's base value plus its attributions is the
probability the model gives the row's predicted class, which a predict step with
``predict.probabilities`` reports independently. Each step is its own ``python -m
sqlml_dagster.runtime`` process, as in a Job: TensorFlow decides what ``tf.keras`` is at
its first import, which must not happen in pytest's process."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.store import ModelManifest

from .test_zoo_inputs import run as zoo_run

# a training and three scoring processes each
pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    "SQLML_ALLOWED_MODEL_PACKAGES": "column_models",
}
N = 40
MODELS = {
    "pytorch": (
        "DNNClassifier",
        "pytorch",
        {"model": {"hidden_units": [8], "n_classes": 2}, "train": {"epoch": 20}},
    ),
    # A Keras model takes the same path (a Predictor, SHAP's permutation explainer); its
    # explanation is tested end to end in tests/dl/test_deep_learning.py, and a third
    # TensorFlow start-up here cost `make test` a minute.
}


def run(spec: StepSpec, folder: Path) -> dict[str, Any]:
    return zoo_run(spec, folder, ENV)


def trained(tmp_path: Path, which: str) -> tuple[Path, dict[str, Any]]:
    x = np.linspace(-2.0, 2.0, N)
    z = np.cos(np.arange(N) * 1.7)
    data = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": x, "z": z, "y": ["yes" if v > 0 else "no" for v in x]}), data)
    reference, flavor, params = MODELS[which]
    uri = tmp_path / "m" / "1"
    result = run(
        StepSpec(
            kind="train",
            step_id="train",
            model_name="m",
            model_reference=reference,
            flavor=flavor,
            params=params,
            input_uri=str(data),
            label="y",
            features=["x", "z"],
            model_uri=str(uri),
        ),
        tmp_path,
    )
    manifest = ModelManifest(
        model="m",
        version=1,
        created_at="2026-01-01T00:00:00+00:00",
        flavor=result["flavor"],
        model_reference=reference,
        fingerprint="f",
        statement_fingerprint="s",
        training_data_fingerprint="d",
        features=result["features"],
        label="y",
        artifacts={p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in uri.iterdir()},
    )
    (uri / "manifest.json").write_text(manifest.to_json())
    return data, {"flavor": result["flavor"], "reference": reference, "uri": str(uri)}


def scoring(kind: str, tmp_path: Path, data: Path, model: dict[str, Any], **fields: Any) -> Any:
    folder = tmp_path / kind
    folder.mkdir()
    return run(
        StepSpec(
            kind=kind,  # type: ignore[arg-type]
            step_id=kind,
            model_name="m",
            model_reference=model["reference"],
            flavor=model["flavor"],
            input_uri=str(data),
            label="y",
            features=["x", "z"],
            model_uri=model["uri"],
            output_uri=str(folder / "output.parquet"),
            model_version=1,
            **fields,
        ),
        folder,
    )


@pytest.mark.parametrize("which", list(MODELS))
def test_a_network_is_explained_row_by_row_and_drawn_as_asked(tmp_path: Path, which: str) -> None:
    pytest.importorskip("shap")
    if which == "keras":
        pytest.importorskip("keras")
    else:
        pytest.importorskip("torch")
    data, model = trained(tmp_path, which)
    predicted = scoring(
        "predict",
        tmp_path,
        data,
        model,
        prediction_column="y_hat",
        params={"predict": {"probabilities": True}},
    )
    assert predicted["rows"] == N
    probabilities = pq.read_table(tmp_path / "predict" / "output.parquet")
    explained = scoring(
        "explain",
        tmp_path,
        data,
        model,
        params={"summary": {"plot_type": "violin"}, "explain": {"per_row": True}},
    )
    assert explained["method"] == "shap-permutation" and explained["plot_type"] == "violin"
    assert Path(explained["plot_uri"]).read_bytes().startswith(b"\x89PNG")
    rows = pq.read_table(explained["rows_uri"])
    assert rows.num_rows == N and rows.column("row_number").to_pylist() == list(range(N))
    # towards the positive class of two ("yes", the second in the model's order)
    classes = set(rows.column("explained_class").to_pylist())
    assert len(classes) == 1
    (positive,) = classes
    expected = probabilities.column(f"y_hat_probability_{positive}").to_numpy()
    total = (
        rows.column("base_value").to_numpy()
        + rows.column("x").to_numpy()
        + rows.column("z").to_numpy()
    )
    np.testing.assert_allclose(total, expected, atol=1e-4)
    np.testing.assert_allclose(rows.column("model_output").to_numpy(), expected, atol=1e-4)
    magnitude = {f: np.abs(rows.column(f).to_numpy()).mean() for f in ("x", "z")}
    assert magnitude["x"] > magnitude["z"]  # only x decides the label
