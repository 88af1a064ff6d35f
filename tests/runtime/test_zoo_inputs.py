"""SQLFlow's model-zoo input contract: a zoo model (tf-keras, taking ``feature_columns``)
gets its features as SQLFlow hands them — a dict keyed by column name, one tensor a
feature column — with its ``feature_columns`` built over those same names; a model that
reads ``inputs["x"]``, concatenates the dict's values or puts ``DenseFeatures`` in front
trains and predicts. Each step is its own ``python -m sqlml_dagster.runtime`` process, as
in a Job: TensorFlow decides what ``tf.keras`` is at its first import."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlml_dagster.compiler.parser import parse_sql_file
from sqlml_dagster.compiler.statements import TrainStatement
from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.runtime.features import FeaturePlan
from sqlml_dagster.runtime.flavors._keras_train import PER_COLUMN, ZOO_INPUTS, ZooKeys
from sqlml_dagster.store import ModelManifest

MODELS = Path(__file__).resolve().parent.parent / "dl" / "models"
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(MODELS), os.environ.get("PYTHONPATH", "")]),
    "SQLML_ALLOWED_MODEL_PACKAGES": "zoo_dict_models",
}
TABLE = pa.table(
    {
        "x": [float(i % 5) for i in range(40)],
        "z": [float((i * 3) % 7) for i in range(40)],
        "c": ["red", "green", "blue", "red"] * 10,
        "y": ["a" if (i % 5) + (i * 3) % 7 > 4 else "b" for i in range(40)],
    }
)


def columns(clause: str) -> dict[str, list[dict[str, Any]]]:
    parsed = parse_sql_file(
        "m.sql", f"SELECT * FROM t TO TRAIN zoo.M COLUMN {clause} LABEL y INTO m;"
    )[0].statements[0]
    assert isinstance(parsed, TrainStatement)
    return {g.argument: [c.to_json() for c in g.columns] for g in parsed.columns}


KEYS = [
    # (COLUMN clause, the dict's dense keys with their widths, its embedding keys)
    ("x, z", [("x", 1), ("z", 1)], []),
    ("x, INDICATOR(CATEGORY_ID(c, 3))", [("x", 1), ("c", 3)], []),
    ("x, EMBEDDING(CATEGORY_ID(c, 3), 2)", [("x", 1)], ["c"]),
    ("NUMERIC(x), BUCKET(x, [1, 3])", [("x", 1), ("x_1", 3)], []),  # one name, two features
]


@pytest.mark.parametrize(("clause", "dense", "bags"), KEYS)
def test_each_feature_column_is_keyed_by_its_columns_name(
    clause: str, dense: list[tuple[str, int]], bags: list[str]
) -> None:
    (group,) = columns(clause).values()
    keys = ZooKeys.of(FeaturePlan.infer(group, TABLE.schema, exclude={"y"}))
    assert [(key, stop - start) for key, start, stop in keys.dense] == dense
    assert list(keys.bags) == bags


def run(spec: StepSpec, folder: Path, env: dict[str, str] = ENV) -> dict[str, Any]:
    """The step in its own ``python -m sqlml_dagster.runtime`` process; its result."""
    path = folder / f"{spec.step_id}.json"
    path.write_text(spec.to_json())
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.runtime", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout)["result"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "clause"),
    [
        ("ByName", "x, z"),
        ("Concatenated", "x, z, INDICATOR(CATEGORY_ID(c, 3))"),
        ("WithFeatureLayer", "x, z, EMBEDDING(CATEGORY_ID(c, 3), 2)"),
    ],
)
def test_a_zoo_model_trains_and_predicts_on_the_dict_keyed_by_column(
    model: str, clause: str, tmp_path: Path
) -> None:
    data = tmp_path / "t.parquet"
    pq.write_table(TABLE, data)
    model_uri = tmp_path / "m" / "1"
    trained = run(
        StepSpec(
            kind="train",
            step_id="train",
            model_name="m",
            model_reference=f"zoo_dict_models.{model}",
            flavor="auto",
            params={"model": {"n_classes": 2}, "train": {"epoch": 3, "batch_size": 8}},
            input_uri=str(data),
            label="y",
            model_uri=str(model_uri),
            columns=columns(clause),
        ),
        tmp_path,
    )
    artifacts = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in model_uri.iterdir()}
    (model_uri / "manifest.json").write_text(  # what the orchestrator publishes
        ModelManifest(
            model="m",
            version=1,
            created_at="2026-01-01T00:00:00+00:00",
            flavor=trained["flavor"],
            model_reference=f"zoo_dict_models.{model}",
            fingerprint="f",
            statement_fingerprint="s",
            training_data_fingerprint="d",
            features=trained["features"],
            label="y",
            artifacts=artifacts,
        ).to_json()
    )
    signature = json.loads((model_uri / "signature.json").read_text())
    assert signature["format"] == "sqlml_tf_keras" and signature[ZOO_INPUTS] == PER_COLUMN
    output = tmp_path / "predicted.parquet"
    run(  # a fresh process rebuilds the model over the same dict and loads its weights
        StepSpec(
            kind="predict",
            step_id="predict",
            model_name="m",
            model_reference=f"zoo_dict_models.{model}",
            flavor=trained["flavor"],
            input_uri=str(data),
            features=["x", "z", "c"],
            model_uri=str(model_uri),
            output_uri=str(output),
            prediction_column="y_hat",
        ),
        tmp_path,
    )
    predicted = pq.read_table(output).column("y_hat").to_pylist()
    assert len(predicted) == 40 and set(predicted) <= {"a", "b"}
