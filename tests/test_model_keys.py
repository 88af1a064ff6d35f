"""Models, pins and gates are keyed one way — the model store's key (``zoo.churn_model``) —
in the store, the manifest, Dagster and the CLI.

Two ``SqlMlProject`` components share one code location (and state): ``zoo`` trains a
schema-qualified model, ``shop`` a model under the YAML ``asset_key_prefix: [analytics]``
(Dagster asset ``analytics/shop_model``, store key ``shop_model``). Each has a gated
evaluation and a prediction pinned to ``@1``; both are trained twice. The CLI, given only
``-m MODULE``, must keep the pinned versions when collecting garbage and judge versions by
the gates — which it can only do when it keys pins and gates as the store keys models.
"""

from __future__ import annotations

import json
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from sqlml_dagster import cli
from sqlml_dagster.store import ModelStore

from .test_quality_gates import _publish

# whole projects materialized end to end: seconds each (docs/testing.md)
pytestmark = pytest.mark.slow


def project_sql(table: str, model: str, evaluation: str, scores: str) -> str:
    """A tree that learns ``y = x >= 3`` exactly, a gate it passes, a prediction pinned to 1."""
    return f"""
        CREATE TABLE {table} AS
        SELECT i AS id, (i % 7) * 1.0 AS x, (i % 5) * 1.0 AS z,
               CASE WHEN i % 7 >= 3 THEN 1 ELSE 0 END AS y
        FROM range(140) t(i);

        SELECT x, z, y FROM {table}
        TO TRAIN sklearn.tree.DecisionTreeClassifier
        WITH model.max_depth = 3, model.random_state = 0
        LABEL y
        INTO {model};

        SELECT x, z, y FROM {table} WHERE id % 4 = 0
        TO EVALUATE {model} WITH check.accuracy >= 0.9
        LABEL y
        INTO {evaluation};

        SELECT id, x, z FROM {table}
        TO PREDICT {scores}.y
        USING {model}@1;
    """


COMPONENTS = {
    # folder: (defs.yaml attributes, SQL)
    "zoo": (
        "sql_dir: sql",
        project_sql("zoo.animals", "zoo.churn_model", "zoo.churn_eval", "zoo.pinned_scores"),
    ),
    "shop": (
        "asset_key_prefix: [analytics]",
        project_sql("shop_points", "shop_model", "shop_eval", "shop_scores"),
    ),
}


@pytest.fixture
def code_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A dg-style package whose definitions module builds its defs folder's components,
    imported by name from the working directory (as ``sqlml … -m`` imports it)."""
    module = f"keys_{uuid.uuid4().hex[:8]}"
    package = tmp_path / module
    (package / "defs").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "defs" / "__init__.py").write_text("")
    (package / "definitions.py").write_text(
        textwrap.dedent("""
            from pathlib import Path

            import dagster as dg

            from . import defs as defs_folder

            defs = dg.ComponentTree(
                defs_module=defs_folder, project_root=Path(__file__).parent
            ).build_defs()
        """)
    )
    for folder, (attributes, sql) in COMPONENTS.items():
        (package / "defs" / folder / "sql").mkdir(parents=True)
        (package / "defs" / folder / "sql" / f"{folder}.sql").write_text(
            textwrap.dedent(sql).lstrip()
        )
        (package / "defs" / folder / "defs.yaml").write_text(
            f"type: sqlml_dagster.SqlMlProject\n\nattributes:\n  {attributes}\n"
        )
    monkeypatch.setenv("SQLML_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("SQLML_LAUNCHER", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return f"{module}.definitions"


def sqlml_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    code = cli.main([*args, "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)["rows"]  # type: ignore[no-any-return]


def test_pins_and_gates_are_keyed_as_the_store_keys_models(
    code_location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for force in ([], ["--force"]):  # version 1, then version 2 of both models
        code = cli.main(["materialize", "-m", code_location, *force])
        captured = capsys.readouterr()
        assert code == 0, captured.out + captured.err

    listed = sqlml_json(capsys, "models", "list", "-m", code_location)
    assert [(r["model"], r["versions"], r["latest"]) for r in listed] == [
        ("shop_model", 2, "2"),
        ("zoo.churn_model", 2, "2"),
    ]
    for model in ("shop_model", "zoo.churn_model"):
        versions = sqlml_json(capsys, "models", "list", model, "-m", code_location)
        assert [(r["version"], r[""], r["gates"]) for r in versions] == [
            (1, "pinned", "passed"),
            (2, "@latest", "passed"),
        ], model

    collected = sqlml_json(capsys, "models", "gc", "--keep", "1", "-m", code_location)
    assert [(r["model"], r["removed"], r["kept"]) for r in collected] == [
        ("shop_model", "", "1 2"),  # 1 is pinned, 2 is @latest
        ("zoo.churn_model", "", "1 2"),
    ]
    assert sorted(p.name for p in Path("state/models/zoo.churn_model").iterdir()) == ["1", "2"]

    code = cli.main(["run-sql", "-m", code_location, "DROP MODEL shop_model"])
    assert code == 0
    assert capsys.readouterr().out.strip() == (
        "dropped model shop_model (2 versions); shop_model is still defined in the project "
        "and comes back when it materializes"
    )


def test_a_written_manifest_gives_the_catalog_its_pins_and_gates(
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``sqlml compile --manifest FILE`` writes what ``sqlml compile`` prints; catalog
    commands given a store and that file (no module) keep its pins and judge by its gates."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SQLML_STATE_DIR", raising=False)
    root = write_project({"zoo.sql": COMPONENTS["zoo"][1]})
    assert cli.main(["compile", str(root)]) == 0
    printed = capsys.readouterr().out
    manifest = tmp_path / "target" / "manifest.json"
    assert cli.main(["compile", str(root), "--manifest", str(manifest)]) == 0
    assert manifest.read_text() == printed
    assert f"wrote {manifest} (4 node(s))" in capsys.readouterr().err

    store = ModelStore(str(tmp_path / "models"))
    for _ in range(2):
        _publish(store, "zoo.churn_model")
    stores = ["--model-store", str(tmp_path / "models")]
    with_file = [*stores, "--manifest", str(manifest)]
    gc = ["models", "gc", "--keep", "1", "--dry-run"]
    assert [(r["removed"], r["kept"]) for r in sqlml_json(capsys, *gc, *stores)] == [("1", "2")]
    assert [(r["removed"], r["kept"]) for r in sqlml_json(capsys, *gc, *with_file)] == [("", "1 2")]
    versions = sqlml_json(capsys, "models", "list", "zoo.churn_model", *with_file)
    assert [(r["version"], r[""], r["gates"]) for r in versions] == [
        (1, "pinned", "not evaluated: zoo_churn_eval_accuracy"),
        (2, "", "not evaluated: zoo_churn_eval_accuracy"),
    ]
