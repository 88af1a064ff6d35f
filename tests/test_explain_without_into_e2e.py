"""``SELECT * FROM iris.test TO EXPLAIN sqlflow_models.my_model USING TreeExplainer;``
without ``INTO``: SQLFlow draws the summary plot for the user. Here the explanation is an
asset of kind ``explanation_plot``, materialized by the same explain step as the ``INTO``
form — a real scikit-learn model, really explained by SHAP — with its chart and per-feature
importances on the materialization and no table in the warehouse; ``sqlml check``,
``compile``, ``plan`` and ``materialize`` agree on it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from sqlml_dagster.cli import main

from .conftest import defs_module, failure_reasons, materialize_all

#: Twelve rows in which ``signal`` decides the class and ``noise`` does not.
SQL = """
CREATE TABLE iris.train AS
SELECT i % 2 AS class, (i % 2) * 3.0 + i / 10.0 AS signal, (i * 7 % 5) / 5.0 AS noise
FROM range(12) t(i);

SELECT * FROM iris.train
TO TRAIN sklearn.ensemble.RandomForestClassifier
WITH model.n_estimators = 5, model.random_state = 0
LABEL class
INTO sqlflow_models.my_model;

SELECT * FROM iris.train TO EXPLAIN sqlflow_models.my_model USING TreeExplainer;
"""

KEY = dg.AssetKey(["sqlflow_models", "my_model_explanation"])


@pytest.fixture
def project(write_project: Callable[[dict[str, str]], Path]) -> Path:
    return write_project({"iris.sql": SQL})


def test_its_asset_has_no_table_name_and_the_explanation_plot_kind(
    project: Path, tmp_path: Path
) -> None:
    from sqlml_dagster import build_defs

    defs = build_defs(project, state_dir=tmp_path / "state")
    spec = defs.resolve_all_asset_specs()
    (chart,) = [s for s in spec if s.key == KEY]
    assert chart.tags["sqlml/kind"] == "explanation_plot"
    assert chart.kinds == {"sqlml", "python"}
    assert "dagster/table_name" not in chart.metadata
    assert sorted(list(d.asset_key.path) for d in chart.deps) == [
        ["iris", "train"],
        ["sqlflow_models", "my_model"],
    ]
    assert chart.description is not None
    assert chart.description.startswith("Explanation chart `sqlflow_models.my_model_explanation`")


def tables(state: Path) -> list[str]:
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        found = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        ).fetchall()
    return sorted(t for (t,) in found)


@pytest.mark.slow  # a model trained and explained
def test_an_explain_without_into_shows_its_chart_and_importances_and_writes_no_table(
    project: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    result = materialize_all(project, state)
    assert result.success, failure_reasons(result)
    (materialization,) = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == KEY
    ]
    metadata = materialization.metadata
    assert metadata["explain_method"].value == "shap-tree"
    assert metadata["explainer"].value == "TreeExplainer"
    assert (metadata["model"].value, metadata["model_version"].value) == (
        "sqlflow_models.my_model",
        1,
    )
    importances = metadata["importances"].value
    assert isinstance(importances, dict)
    assert list(importances) == ["signal", "noise"]  # most important first
    assert importances["signal"] > importances["noise"] >= 0
    plot = metadata["plot"]
    assert isinstance(plot, dg.MarkdownMetadataValue)
    assert str(plot.value).startswith(
        "![sqlflow_models.my_model_explanation explanation](data:image/png;base64,iVBOR"
    )
    assert "dagster/row_count" not in metadata  # it writes no table
    assert tables(state) == ["iris.train"]

    # Nothing changed: a second run keeps it (same model version, same rows).
    again = materialize_all(project, state)
    assert again.success, failure_reasons(again)
    assert tables(state) == ["iris.train"]


@pytest.mark.slow
def test_check_compile_plan_and_materialize_agree_on_the_explanation(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("SQLML_LAUNCHER", raising=False)
    assert main(["check", str(project), "--format", "json"]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert checked["diagnostics"] == []
    assert {
        "key": ["sqlflow_models", "my_model_explanation"],
        "kind": "explanation_plot",
        "deps": [["iris", "train"], ["sqlflow_models", "my_model"]],
    } in checked["assets"]

    assert main(["compile", str(project)]) == 0
    manifest = json.loads(capsys.readouterr().out)
    (node,) = [n for n in manifest["nodes"] if n["kind"] == "explanation_plot"]
    assert (node["name"], node["statement"]) == ("sqlflow_models.my_model_explanation", "Explain")
    assert sorted(node["deps"]) == ["iris.train", "sqlflow_models.my_model"]

    assert main(["compile", str(project), "--k8s"]) == 0
    jobs = capsys.readouterr().out
    assert "# explanation_plot sqlflow_models.my_model_explanation (sql/iris.sql:" in jobs

    defs_module(project, tmp_path, monkeypatch, "iris_defs")
    assert main(["plan", "-m", "iris_defs", "--format", "json"]) == 0
    planned = {a["name"]: a for a in json.loads(capsys.readouterr().out)["assets"]}
    explained = planned["sqlflow_models.my_model_explanation"]
    assert (explained["kind"], explained["verdict"]) == ("explanation_plot", "recompute")

    assert main(["materialize", "-m", "iris_defs"]) == 0
    summary = capsys.readouterr().out
    assert "sqlflow_models/my_model_explanation" in summary
    assert "2 features, top signal" in summary
    assert tables(tmp_path / "state") == ["iris.train"]

    assert main(["plan", "-m", "iris_defs", "--format", "json"]) == 0
    planned = {a["name"]: a for a in json.loads(capsys.readouterr().out)["assets"]}
    assert planned["sqlflow_models.my_model_explanation"]["verdict"] == "unchanged"
