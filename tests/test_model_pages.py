"""A model's page answers "is this version better?": held-out metrics (evaluations of the
version, validation) first, beside the previous version's; a reuse adds no point to the
Plots tab; an evaluation puts what it measured on the model's page once per version; and
``sqlml models diff`` lists the same rows in the same order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from sqlml_dagster.catalog import Catalog
from sqlml_dagster.store import ModelManifest, ModelStore

from .conftest import failure_reasons, materialize_all

SQL = """\
CREATE TABLE d AS SELECT range * 1.0 AS x, (range % 2) AS y FROM range(40);
SELECT x, y FROM d TO TRAIN sklearn.linear_model.LogisticRegression WITH model.C = {c}
LABEL y INTO m;
SELECT x, y FROM d TO EVALUATE m WITH validation.metrics = "Accuracy" LABEL y INTO e;
"""


def rows(table: Any) -> list[dict[str, Any]]:
    return [r.data for r in table.records]


@pytest.mark.slow
def test_versions_not_runs_with_held_out_metrics_first(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"

    def run(c: str) -> tuple[dg.AssetMaterialization, list[dg.AssetObservation]]:
        result = materialize_all(write_project({"m.sql": SQL.format(c=c)}), state)
        assert result.success, failure_reasons(result)
        model = result.asset_materializations_for_node("sqlml__m")[0]
        observed = [
            e.event_specific_data.asset_observation  # type: ignore[union-attr]
            for e in result.all_events
            if e.event_type_value == "ASSET_OBSERVATION"
        ]
        return model, observed

    first, observed = run("1.0")
    assert first.tags["sqlml/model_version"] == "1" and "sqlml/reused" not in first.tags
    (evaluated,) = observed  # the evaluation measured v1: on m's page
    assert evaluated.asset_key == dg.AssetKey("m")
    assert evaluated.tags["sqlml/model_version"] == "1"
    assert evaluated.metadata["eval/e/accuracy"].value == pytest.approx(
        first.metadata["metric/accuracy"].value, abs=0.5
    )

    again, observed = run("1.0")  # nothing changed: v1 reused, e measures v1 again
    assert (again.tags["sqlml/reused"], again.tags["sqlml/model_version"]) == ("true", "1")
    assert again.metadata["reused_version"].value == "m@1"
    plotted = [
        k
        for k, v in again.metadata.items()
        if isinstance(v, (dg.FloatMetadataValue, dg.IntMetadataValue))
    ]
    assert plotted == []  # a reuse is no new point on the Plots tab
    assert [(r["metric"], r["split"]) for r in rows(again.metadata["metrics"].value)] == [
        ("e.accuracy", "evaluation"),  # held-out first
        ("accuracy", "training"),
        ("f1_macro", "training"),
    ]
    assert observed == []  # the same numbers for the same version: nothing new to show

    second, observed = run("0.001")  # a new version
    assert second.tags["sqlml/model_version"] == "2"
    table = rows(second.metadata["metrics"].value)
    assert table[0]["metric"] == "e.accuracy" and table[0]["value"] is None  # not yet measured
    assert table[0]["previous"] == evaluated.metadata["eval/e/accuracy"].value
    (evaluated_v2,) = observed
    assert evaluated_v2.tags["sqlml/model_version"] == "2"
    assert evaluated_v2.metadata["previous_version"].value == 1

    diff = Catalog(ModelStore(str(state / "models"))).diff("m@1", "m@2")
    assert [r[0] for r in diff.rows[:3]] == [
        "evaluation e.accuracy",
        "training accuracy",
        "training f1_macro",
    ]


def test_held_out_metrics_come_first_evaluations_then_validation() -> None:
    from sqlml_dagster.store.metrics import EvaluationRecord, version_metrics

    manifest = ModelManifest(
        model="m",
        version=2,
        created_at="",
        flavor="pytorch",
        model_reference="DNNClassifier",
        fingerprint="",
        statement_fingerprint="",
        training_data_fingerprint="",
        metrics={"loss": 0.1, "accuracy": 0.99, "val_loss": 0.3, "val_accuracy": 0.9},
    )
    evaluations = {"holdout": EvaluationRecord("holdout", {"auc": 0.95})}
    assert [(m.name, m.split) for m in version_metrics(manifest, evaluations)] == [
        ("holdout.auc", "evaluation"),
        ("val_loss", "validation"),
        ("val_accuracy", "validation"),
        ("loss", "training"),
        ("accuracy", "training"),
    ]
