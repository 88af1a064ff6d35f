"""``ML_PREDICT``'s scoring worker (``runtime/score_worker.py``) as the orchestrator drives
it (``ops/scoring_worker.py``): a real version in a real store, a real worker process.
It answers each Arrow batch with what the version's predictor gives; it starts only when
first asked; a version it cannot load is one line, not a traceback; and once closed (or
failed) its process is gone. The end-to-end parity with TO PREDICT for PyTorch and Keras
versions is ``tests/dl/test_ml_predict_workers.py``."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlml_dagster.ops.scoring_worker import ScoringFailed, ScoringWorker, WorkerSetup
from sqlml_dagster.runtime.scoring import load_predictor, version_spec
from sqlml_dagster.store import ModelStore, ModelVersion

from .test_serving import FEATURES, _points, train_version

# a worker process per test, importing scikit-learn: seconds each
pytestmark = pytest.mark.slow


@pytest.fixture
def version(tmp_path: Path) -> ModelVersion:
    return train_version(ModelStore(str(tmp_path / "models")), _points(tmp_path / "p.parquet"))


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def _setup(version: ModelVersion) -> WorkerSetup:
    return WorkerSetup.local_step(model_store=str(Path(version.uri).parent.parent))


def test_the_worker_answers_each_batch_as_the_predictor_does_and_leaves_when_closed(
    version: ModelVersion, tmp_path: Path
) -> None:
    worker = ScoringWorker(version, _setup(version), probabilities=True)
    assert worker.pid is None  # nothing starts before the first batch
    rows = pq.read_table(tmp_path / "p.parquet").select(FEATURES)
    predictor = load_predictor(version_spec(version, "test", FEATURES))
    try:
        for batch in rows.to_batches(max_chunksize=30):
            answer = worker.score(batch)
            assert answer.column("prediction").to_pylist() == predictor.predict(batch).tolist()
            proba = predictor.predict_proba(batch)
            assert proba is not None
            assert answer.column("probabilities").to_pylist() == proba.tolist()
        assert worker.classes == ["no", "yes"]
        pid = worker.pid
        assert pid is not None and not _gone(pid)
    finally:
        worker.close()
    assert _gone(pid)


def test_a_version_the_worker_cannot_load_is_one_line_and_the_worker_is_gone(
    version: ModelVersion,
) -> None:
    artifact = Path(version.uri) / "model.skops"
    data = bytearray(artifact.read_bytes())
    data[-1] ^= 0xFF
    artifact.write_bytes(bytes(data))
    worker = ScoringWorker(version, _setup(version))
    batch = pa.record_batch({"x": [1.0], "z": pa.array([2], pa.int64())})
    with pytest.raises(ScoringFailed) as failed:
        worker.score(batch)
    message = str(failed.value)
    assert message.startswith("m@1: ") and "sha256" in message and "\n" not in message
    pid = worker.pid
    assert pid is not None and _gone(pid)
    with pytest.raises(ScoringFailed):  # it stays failed: no second process
        worker.score(batch)
    assert worker.pid == pid
    worker.close()


def test_a_version_outside_the_model_store_the_worker_was_given_is_refused(
    version: ModelVersion, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    worker = ScoringWorker(version, WorkerSetup.local_step(model_store=str(elsewhere)))
    try:
        with pytest.raises(ScoringFailed, match="m@1: "):
            worker.score(pa.record_batch({"x": [1.0], "z": pa.array([2], pa.int64())}))
    finally:
        worker.close()


def test_a_failed_or_cancelled_step_kills_its_worker_at_once(
    version: ModelVersion, tmp_path: Path
) -> None:
    """``ModelFunctions``' ``with`` block leaves with an exception (the statement failed,
    the run was cancelled): the worker is killed, not asked to finish."""
    worker = ScoringWorker(version, _setup(version))
    rows = pq.read_table(tmp_path / "p.parquet").select(FEATURES)
    worker.score(rows.to_batches()[0])
    pid = worker.pid
    assert pid is not None and not _gone(pid)
    worker.close(kill=True)
    assert _gone(pid)
