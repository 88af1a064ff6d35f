"""A step's result is a file beside its spec: the runtime writes it whole, the launchers
read it first and fall back to the step's last Pipes result message (an older image)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sqlml_dagster.contract import (
    PredictionResult,
    StepResult,
    TrainingResult,
    result_from_json,
    result_uri,
)
from sqlml_dagster.launchers import StepFailed, step_result
from sqlml_dagster.runtime import write_result
from sqlml_dagster.store import ModelStore
from tests.conftest import failure_reasons, materialize_all
from tests.test_contract import RESULTS


@pytest.mark.parametrize(
    ("spec_uri", "expected"),
    [
        ("/state/data/run/iris/spec.json", "/state/data/run/iris/result.json"),
        ("s3://bucket/data/run/iris/spec.json", "s3://bucket/data/run/iris/result.json"),
        ("memory://data/run/spec.json", "memory://data/run/result.json"),
    ],
)
def test_the_result_file_lies_beside_the_spec(spec_uri: str, expected: str) -> None:
    assert result_uri(spec_uri) == expected


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: r.kind)
def test_a_written_result_reads_back_as_it_was(tmp_path: Path, result: StepResult) -> None:
    spec_uri = str(tmp_path / "spec.json")
    write_result(spec_uri, result)
    assert step_result(spec_uri, []) == result
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary left


def test_a_retried_step_replaces_its_result(tmp_path: Path) -> None:
    spec_uri = str(tmp_path / "spec.json")
    write_result(spec_uri, PredictionResult("predict", rows=1))
    write_result(spec_uri, PredictionResult("predict", rows=2))
    assert step_result(spec_uri, []) == PredictionResult("predict", rows=2)
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


FROM_FILE = PredictionResult("predict", rows=7)
FROM_MESSAGE = PredictionResult("predict", rows=3)
MESSAGES: list[Any] = [
    {"kind": "predict", "rows": 1},  # an earlier result message: the last one counts
    {"progress": "not a result"},
    FROM_MESSAGE.to_json(),
]


@pytest.mark.parametrize(
    ("file", "messages", "expected"),
    [
        (FROM_FILE.to_json(), MESSAGES, FROM_FILE),  # the file is the source of truth
        (FROM_FILE.to_json(), [], FROM_FILE),  # the log lost every message
        (None, MESSAGES, FROM_MESSAGE),  # an older image writes no file
        ('{"kind": "predict", "ro', MESSAGES, FROM_MESSAGE),  # never expected: not a result
        ({"something": "else"}, MESSAGES, FROM_MESSAGE),
    ],
)
def test_the_file_wins_and_the_last_message_stands_in(
    tmp_path: Path, file: Any, messages: list[Any], expected: StepResult
) -> None:
    spec_uri = str(tmp_path / "spec.json")
    if file is not None:
        text = file if isinstance(file, str) else json.dumps(file)
        (tmp_path / "result.json").write_text(text)
    assert step_result(spec_uri, messages) == expected


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (None, "finished without reporting a result"),
        ({"kind": "evaluate", "result_version": 99}, "upgrade sqlml-dagster"),
    ],
)
def test_no_readable_result_fails_the_step(tmp_path: Path, file: Any, message: str) -> None:
    if file is not None:
        (tmp_path / "result.json").write_text(json.dumps(file))
    with pytest.raises(StepFailed, match=message):
        step_result(str(tmp_path / "spec.json"), [{"progress": 1}])


TRAIN_SQL = """
CREATE TABLE d AS SELECT range * 1.0 AS x, range % 2 AS y FROM range(40);
SELECT x, y FROM d TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO parity;
SELECT x FROM d TO PREDICT scored.y USING parity;
"""


@pytest.mark.slow
def test_the_local_launcher_publishes_the_result_its_step_wrote(
    write_project: Any, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    result = materialize_all(write_project({"m.sql": TRAIN_SQL}), state)
    assert result.success, failure_reasons(result)
    written = {
        path.parent.name: result_from_json(json.loads(path.read_text()))
        for path in state.rglob("result.json")
    }
    assert {name: type(r) for name, r in written.items()} == {
        "parity": TrainingResult,
        "scored": PredictionResult,
    }
    trained = written["parity"]
    assert isinstance(trained, TrainingResult)
    manifest = ModelStore(str(state / "models")).get("parity").manifest
    assert (manifest.metrics, manifest.features) == (trained.metrics, trained.features)
