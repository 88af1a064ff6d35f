"""Data-parallel PyTorch training (``train.num_workers``): the step's entrypoint starts the
other processes itself under ``torch.distributed`` (gloo on CPU), every process trains on
its part of each minibatch, gradients are averaged, and rank 0 alone publishes.

The published weights equal one process's training with the same global batch up to float
rounding: two ranks add their halves of a gradient where one process adds the whole, so
values differ in the last bits, which two epochs of Adam keep below ``TOLERANCE``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlml_dagster.contract.spec import StepSpec

# step processes that spawn processes (PyTorch each): seconds
pytestmark = pytest.mark.slow

MODELS = Path(__file__).resolve().parent.parent / "dl" / "models"
#: largest difference allowed between a weight trained by 2 processes and by 1
TOLERANCE = 1e-5


def data(path: Path, rows: int) -> str:
    x = [float(i % 7) for i in range(rows)]
    pq.write_table(
        pa.table({"x": x, "z": [float(i % 3) for i in range(rows)], "y": [v > 3 for v in x]}), path
    )
    return str(path)


def train(
    tmp_path: Path, name: str, workers: int, reference: str = "DNNClassifier", rows: int = 33
) -> subprocess.CompletedProcess[str]:
    folder = tmp_path / name
    folder.mkdir()
    spec = StepSpec(
        kind="train",
        step_id=name,
        model_name="m",
        model_reference=reference,
        flavor="pytorch",
        params={
            "model": {"hidden_units": [4]} if reference == "DNNClassifier" else {},
            # 33 rows in minibatches of 8: the last has one row, so one rank's part is empty
            "train": {"batch_size": 8, "epoch": 2, "seed": 7, "num_workers": workers},
        },
        input_uri=data(tmp_path / f"{name}.parquet", rows),
        label="y",
        model_uri=str(folder / "model"),
    )
    (folder / "spec.json").write_text(spec.to_json())
    return subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.runtime", str(folder / "spec.json")],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(MODELS), os.environ.get("PYTHONPATH", "")]),
            "SQLML_ALLOWED_MODEL_PACKAGES": "rank_nets",
            "SQLML_STEP_CPUS": "2",
        },
    )


def weights(folder: Path) -> dict[str, Any]:
    from safetensors.numpy import load_file

    return dict(load_file(str(folder / "model" / "model.safetensors")))


def test_two_processes_train_the_weights_one_process_trains(tmp_path: Path) -> None:
    two = train(tmp_path, "two", workers=2)
    assert two.returncode == 0, two.stderr
    assert "rank 0 of 2 (gloo" in two.stderr and "[sqlml rank 1]" in two.stderr
    signature = json.loads((tmp_path / "two" / "model" / "signature.json").read_text())
    assert signature["distributed"] == {"world_size": 2, "backend": "gloo"}

    one = train(tmp_path, "one", workers=1)
    assert one.returncode == 0, one.stderr
    assert "distributed training" not in one.stderr
    alone, together = weights(tmp_path / "one"), weights(tmp_path / "two")
    assert alone.keys() == together.keys()
    for name, values in alone.items():
        np.testing.assert_allclose(together[name], values, rtol=0, atol=TOLERANCE, err_msg=name)
    # the epoch losses, added up over the ranks, are one process's too
    losses = [
        [row["loss"] for row in json.loads(run.stdout)["result"]["history"]] for run in (one, two)
    ]
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)


def test_a_failed_process_fails_the_step_and_publishes_nothing(tmp_path: Path) -> None:
    done = train(tmp_path, "broken", workers=2, reference="rank_nets.FailsOnRankOne")
    assert done.returncode == 65, done.stderr
    error = json.loads((tmp_path / "broken" / "error.json").read_text())
    assert error["code"] == "SQLML530", error
    assert "distributed training failed" in error["message"]
    assert not (tmp_path / "broken" / "result.json").exists()
    model = tmp_path / "broken" / "model"
    assert not (model / "model.safetensors").exists()


def test_the_local_launcher_trains_in_two_processes_and_publishes_one_version(
    tmp_path: Path,
) -> None:
    """Through Dagster and the local launcher (a Pipes session, the step's entrypoint as a
    subprocess): rank 0 reports and publishes, rank 1 only trains."""
    from sqlml_dagster.store import ModelStore
    from tests.conftest import failure_reasons, materialize_all

    root = tmp_path / "sql"
    root.mkdir()
    (root / "m.sql").write_text(
        "CREATE TABLE d AS SELECT range * 1.0 AS x, (range % 7 > 3) AS y FROM range(30);\n"
        "SELECT x, y FROM d TO TRAIN DNNClassifier WITH model.hidden_units = [4], "
        "train.num_workers = 2, train.epoch = 1, train.batch_size = 8 LABEL y INTO ranked;\n"
    )
    state = tmp_path / "state"
    result = materialize_all(root, state)
    assert result.success, failure_reasons(result)
    (version,) = ModelStore(str(state / "models")).versions("ranked")
    assert version.signature["distributed"] == {"world_size": 2, "backend": "gloo"}
