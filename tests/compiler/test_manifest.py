"""The project manifest: the compiler's output as one versioned JSON document, every name
in it a store key (``QualifiedName.key``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sqlml_dagster.compiler import compile_project
from sqlml_dagster.compiler.manifest import (
    MANIFEST_VERSION,
    ManifestError,
    ModelReference,
    ProjectManifest,
    SourceLocation,
    project_manifest,
)

from ..conftest import EXAMPLE

ZOO = {
    "zoo.sql": """
        -- sqlml-file: owner = "team:zoo"
        CREATE TABLE Zoo.Animals AS SELECT * FROM raw.Events;

        -- sqlml: schedule = "0 3 * * *", freshness = "26h"
        SELECT x, y FROM Zoo.Animals
        TO TRAIN sklearn.tree.DecisionTreeClassifier WITH model.max_depth = 3
        LABEL y INTO Zoo.Churn_Model;

        SELECT x, y FROM Zoo.Animals
        TO EVALUATE Zoo.Churn_Model WITH check.accuracy >= 0.9, check.f1 > 0.5
        LABEL y INTO zoo.churn_eval;

        SELECT x FROM Zoo.Animals TO PREDICT zoo.scores.churned USING zoo.churn_model@1;
        CREATE TABLE zoo.more AS SELECT ML_PREDICT(Zoo.Churn_Model@2, x) AS p FROM Zoo.Animals;
        INSERT INTO zoo.more SELECT ML_PREDICT(zoo.churn_model@3, x) AS p FROM Zoo.Animals;
        CREATE MODEL zoo.registered USING 'models/m.skops';
    """
}


@pytest.fixture
def zoo(write_project: Callable[[dict[str, str]], Path]) -> ProjectManifest:
    return project_manifest(compile_project(write_project(ZOO)))


def test_every_name_is_a_store_key(zoo: ProjectManifest) -> None:
    assert [(n.name, n.kind, n.statement, n.deps) for n in zoo.nodes] == [
        ("zoo.animals", "table", "Sql", ("raw.events",)),
        ("zoo.registered", "model", "CreateModel", ()),
        ("zoo.churn_model", "model", "Train", ("zoo.animals",)),
        ("zoo.churn_eval", "evaluation", "Evaluate", ("zoo.animals", "zoo.churn_model")),
        ("zoo.scores", "prediction", "Predict", ("zoo.animals", "zoo.churn_model")),
        ("zoo.more", "table", "Sql", ("zoo.animals", "zoo.churn_model")),
    ]
    assert [s.name for s in zoo.sources] == ["raw.events"]
    assert zoo.models == ("zoo.registered", "zoo.churn_model")


def test_pins_gates_and_model_references(zoo: ProjectManifest) -> None:
    assert zoo.pins == {"zoo.churn_model": (1, 2, 3)}  # USING, ML_PREDICT, and in an INSERT
    assert list(zoo.gates) == ["zoo.churn_model"]
    assert [
        (g.name, g.metric, g.op, g.threshold, g.evaluation, g.location)
        for g in zoo.gates["zoo.churn_model"]
    ] == [
        ("zoo_churn_eval_accuracy", "accuracy", ">=", 0.9, "zoo.churn_eval", "sql/zoo.sql:10:34"),
        ("zoo_churn_eval_f1", "f1", ">", 0.5, "zoo.churn_eval", "sql/zoo.sql:10:57"),
    ]
    by_name = {n.name: n for n in zoo.nodes}
    model = by_name["zoo.churn_model"]
    assert model.model == ModelReference("sklearn.tree.DecisionTreeClassifier", "sklearn")
    assert (model.params, model.label) == ({"model.max_depth": 3}, "y")
    assert by_name["zoo.registered"].model == ModelReference(None, "sklearn", uri="models/m.skops")
    assert by_name["zoo.scores"].column == "churned"


def test_locations_and_directives(zoo: ProjectManifest) -> None:
    by_name = {n.name: n for n in zoo.nodes}
    assert str(by_name["zoo.churn_model"].location) == "sql/zoo.sql:5:1"
    assert by_name["zoo.churn_model"].directives == {
        "schedule": "0 3 * * *",
        "freshness": 26 * 3600.0,
        "owners": ["team:zoo"],
    }
    assert by_name["zoo.animals"].directives == {"owners": ["team:zoo"]}
    assert zoo.sources[0].location == SourceLocation("sql/zoo.sql", 2, 1)


def test_json_round_trip(zoo: ProjectManifest) -> None:
    text = zoo.to_json()
    assert json.loads(text)["manifest_version"] == MANIFEST_VERSION
    assert ProjectManifest.from_json(text) == zoo
    example = project_manifest(compile_project(EXAMPLE / "sql"))
    assert ProjectManifest.from_json(example.to_json()) == example


def test_a_newer_writer_is_read_or_refused(zoo: ProjectManifest) -> None:
    raw = json.loads(zoo.to_json())
    raw["added_later"] = {"x": 1}
    raw["nodes"][0]["added_later"] = True
    assert ProjectManifest.from_json(json.dumps(raw)) == zoo  # unknown fields: ignored
    raw["manifest_version"] = MANIFEST_VERSION + 1
    with pytest.raises(ManifestError, match="newer than this sqlml_dagster understands"):
        ProjectManifest.from_json(json.dumps(raw))
    with pytest.raises(ManifestError, match="not a project manifest"):
        ProjectManifest.from_json('{"nodes": []}')
