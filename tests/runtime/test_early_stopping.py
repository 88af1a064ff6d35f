"""``train.early_stop``: a training whose watched metric stops improving ends after
``train.patience`` epochs and keeps its best epoch's weights — byte for byte the weights
of the same training run for exactly that many epochs — for PyTorch and Keras alike.

The data makes the validation loss rise from the first epoch on: the training rows are
mostly ``a``, the validation rows mostly ``b``, and the feature says nothing, so every
epoch that learns the training rows' prior moves away from the validation rows'.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlml_dagster.contract.spec import StepSpec

# a step process each (PyTorch, TensorFlow): seconds
pytestmark = pytest.mark.slow

MODELS = Path(__file__).resolve().parent.parent / "dl" / "models"


def write(path: Path, a_share: float) -> str:
    rows = 40
    labels = ["a" if i < a_share * rows else "b" for i in range(rows)]
    pq.write_table(pa.table({"x": [float(i % 5) for i in range(rows)], "y": labels}), path)
    return str(path)


def run(tmp_path: Path, name: str, reference: str, flavor: str, **train: Any) -> dict[str, Any]:
    """A training step on the data above; its reported result."""
    folder = tmp_path / name
    folder.mkdir()
    spec = StepSpec(
        kind="train",
        step_id=name,
        model_name="m",
        model_reference=reference,
        flavor=flavor,
        params={
            "model": {"hidden_units": [4]} if flavor == "pytorch" else {},
            "train": {"batch_size": 8, "learning_rate": 0.05, **train},
        },
        input_uri=write(tmp_path / "train.parquet", 0.8),
        validation_uri=write(tmp_path / "validation.parquet", 0.2),
        label="y",
        model_uri=str(folder / "model"),
    )
    (folder / "spec.json").write_text(spec.to_json())
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.runtime", str(folder / "spec.json")],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(MODELS), os.environ.get("PYTHONPATH", "")]),
            "SQLML_ALLOWED_MODEL_PACKAGES": "keras3_models",
        },
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["result"]
    result["log"] = done.stderr
    return dict(result)


def weights(tmp_path: Path, name: str) -> dict[str, bytes]:
    """The saved weights by name: PyTorch's safetensors file; the layers' arrays inside a
    ``.keras`` file (whose zip also holds the time it was saved and the optimizer's state,
    which early stopping does not roll back)."""
    (artifact,) = [p for p in (tmp_path / name / "model").iterdir() if p.name.startswith("model.")]
    if artifact.suffix != ".keras":
        return {artifact.name: artifact.read_bytes()}
    import h5py

    arrays: dict[str, bytes] = {}
    with zipfile.ZipFile(artifact) as archive:
        data = io.BytesIO(archive.read("model.weights.h5"))
    with h5py.File(data, "r") as h5:
        h5["layers"].visititems(
            lambda key, item: (
                arrays.update({key: item[()].tobytes()}) if isinstance(item, h5py.Dataset) else None
            )
        )
    assert arrays
    return arrays


@pytest.mark.parametrize(
    ("reference", "flavor"),
    [("DNNClassifier", "pytorch"), ("keras3_models.classifier", "auto")],
    ids=["pytorch", "keras"],
)
def test_a_plateau_stops_training_and_the_best_epochs_weights_are_kept(
    tmp_path: Path, reference: str, flavor: str
) -> None:
    stopped = run(tmp_path, "stopped", reference, flavor, epoch=30, early_stop=True, patience=2)
    summary, history = stopped["early_stopping"], stopped["history"]
    best = summary["best_epoch"]
    losses = [row["val_loss"] for row in history]
    assert summary == {
        "metric": "val_loss",  # the default
        "patience": 2,
        "best": min(losses),
        "best_epoch": losses.index(min(losses)) + 1,
        "stopped_epoch": best + 2,
    }
    assert len(history) == best + 2 < 30
    assert f"early stopping after epoch {best + 2}" in stopped["log"]
    assert stopped["metrics"]["val_loss"] == min(losses)
    run(tmp_path, "best", reference, flavor, epoch=best)  # the same training, best epochs long
    assert weights(tmp_path, "stopped") == weights(tmp_path, "best")


def test_the_watched_metric_and_its_direction_can_be_chosen(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "accuracy",
        "DNNClassifier",
        "pytorch",
        epoch=20,
        early_stop=True,
        patience=1,
        early_stop_metric="val_accuracy",
    )
    summary = result["early_stopping"]
    assert summary["metric"] == "val_accuracy"
    assert summary["stopped_epoch"] == summary["best_epoch"] + 1 < 20
    best = result["history"][summary["best_epoch"] - 1]["val_accuracy"]
    assert all(row["val_accuracy"] <= best for row in result["history"])
