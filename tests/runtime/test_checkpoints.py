"""``train.checkpoint_every``: a training step killed after a checkpoint and run again
with the same spec (the same reserved version — a Job's pod restarted by its
``backoffLimit``) resumes where the checkpoint left it, runs the statement's epochs in
total, and publishes byte for byte the weights of a training nobody interrupted.

The step is a real process, killed with SIGKILL once the checkpoint of epoch 3 is on
disk; the network pauses in every forward pass so that there is time to."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.runtime.dl.checkpoints import CHECKPOINT_DIR, KERAS_FILE, TORCH_FILE

# step processes (PyTorch), one of them killed: seconds
pytestmark = pytest.mark.slow

MODELS = Path(__file__).resolve().parent.parent / "dl" / "models"
EPOCHS = 10


def spec_file(tmp_path: Path, name: str, key: str = "fingerprint-1", **train: Any) -> Path:
    """A 10-epoch training of a network with dropout, checkpointed every 3 epochs."""
    return write_spec(
        tmp_path,
        name,
        rows(tmp_path / "train.parquet", 24),
        model_reference="slow_nets.SlowNet",
        flavor="pytorch",
        params={"train": {"epoch": EPOCHS, "batch_size": 8, "checkpoint_every": 3, **train}},
        seed=7,
        checkpoint_key=key,
    )


def rows(path: Path, count: int) -> Path:
    """``count`` rows of a feature ``x`` and a label ``y`` (written once)."""
    if not path.exists():
        pq.write_table(
            pa.table(
                {
                    "x": [float(i % 7) for i in range(count)],
                    "y": ["a" if i % 3 else "b" for i in range(count)],
                }
            ),
            path,
        )
    return path


def write_spec(tmp_path: Path, name: str, data: Path, **fields: Any) -> Path:
    """A training step's spec in its own folder, its version folder beside it."""
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    spec = StepSpec(
        kind="train",
        step_id=name,
        model_name="m",
        input_uri=str(data),
        label="y",
        model_uri=str(folder / "model"),
        **fields,
    )
    path = folder / "spec.json"
    path.write_text(spec.to_json())
    return path


def command(spec: Path) -> list[str]:
    return [sys.executable, "-m", "sqlml_dagster.runtime", str(spec)]


ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(MODELS), os.environ.get("PYTHONPATH", "")]),
    "SQLML_ALLOWED_MODEL_PACKAGES": "slow_nets",
}


def train(spec: Path) -> dict[str, Any]:
    done = subprocess.run(command(spec), capture_output=True, text=True, timeout=300, env=ENV)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["result"]
    result["log"] = done.stderr
    return dict(result)


def kill_after_first_checkpoint(spec: Path, file: str = TORCH_FILE) -> None:
    """Start the step and SIGKILL it as soon as its first checkpoint (epoch 3) exists."""
    checkpoint = spec.parent / "model" / CHECKPOINT_DIR / file
    process = subprocess.Popen(
        command(spec), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 240
        while not checkpoint.exists():
            assert process.poll() is None, "the step ended before writing a checkpoint"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL


def weights(spec: Path) -> bytes:
    return (spec.parent / "model" / "model.safetensors").read_bytes()


def test_a_killed_step_run_again_resumes_and_ends_with_an_uninterrupted_runs_weights(
    tmp_path: Path,
) -> None:
    whole = train(spec_file(tmp_path, "whole"))
    killed = spec_file(tmp_path, "killed")
    kill_after_first_checkpoint(killed)
    assert not (killed.parent / "model" / "model.safetensors").exists()

    resumed = train(killed)  # the same spec: the same reserved version folder

    assert "resuming from epoch 3" in resumed["log"]
    assert "epoch 4/10" in resumed["log"] and "epoch 3/10" not in resumed["log"]
    assert [row["epoch"] for row in resumed["history"]] == list(range(1, EPOCHS + 1))
    assert weights(killed) == weights(tmp_path / "whole" / "spec.json")
    # the same weights up to float noise (Keras' fused kernels: not bit for bit)
    assert resumed["metrics"] == pytest.approx(whole["metrics"], rel=1e-3)
    assert "checkpoint of epoch 3 saved" in whole["log"]
    assert "checkpoint of epoch 9 saved" in whole["log"]


def test_a_checkpoint_of_another_training_is_not_resumed(tmp_path: Path) -> None:
    killed = spec_file(tmp_path, "killed")
    kill_after_first_checkpoint(killed)
    other = spec_file(tmp_path, "killed", key="fingerprint-2")  # other statement or data

    result = train(other)

    assert "resuming" not in result["log"]
    assert "ignoring a checkpoint written by another training" in result["log"]
    assert [row["epoch"] for row in result["history"]] == list(range(1, EPOCHS + 1))


def keras_spec(tmp_path: Path, name: str) -> Path:
    """A Keras 3 training of 6 epochs over enough rows for an epoch to take a moment,
    checkpointed every 3, in a fixed order (``train.shuffle = false``)."""
    return write_spec(
        tmp_path,
        name,
        rows(tmp_path / "keras.parquet", 3000),
        model_reference="keras3_models.classifier",
        flavor="auto",
        params={
            "model": {"hidden": 4},
            "train": {"epoch": 6, "batch_size": 8, "checkpoint_every": 3, "shuffle": False},
        },
        checkpoint_key="fingerprint-1",
    )


def test_a_killed_keras_step_resumes_from_its_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ENV, "SQLML_ALLOWED_MODEL_PACKAGES", "keras3_models")
    whole = train(keras_spec(tmp_path, "whole"))
    killed = keras_spec(tmp_path, "killed")
    kill_after_first_checkpoint(killed, KERAS_FILE)

    resumed = train(killed)

    assert "resuming from epoch 3" in resumed["log"]
    assert "epoch 4/6" in resumed["log"] and "epoch 3/6" not in resumed["log"]
    assert [row["epoch"] for row in resumed["history"]] == list(range(1, 7))
    # the same weights up to float noise (Keras' fused kernels: not bit for bit)
    assert resumed["metrics"] == pytest.approx(whole["metrics"], rel=1e-3)
