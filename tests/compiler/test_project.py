"""The project graph across files: producers, sources, deps, order, groups, fingerprints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sqlml_dagster.compiler import ObjectKind, compile_project
from sqlml_dagster.compiler.ir import ModelRef
from sqlml_dagster.compiler.manifest import project_manifest

from ..conftest import EXAMPLE
from ..golden_files import updating_golden

GOLDEN = Path(__file__).parent.parent / "golden"


def test_example_project_matches_golden_file() -> None:
    """The compiled example's manifest. Regenerate with UPDATE_GOLDEN=1 after intended
    changes."""
    actual = project_manifest(compile_project(EXAMPLE / "sql")).to_json() + "\n"
    golden = GOLDEN / "example_repo.json"
    if updating_golden():
        golden.write_text(actual)
    assert actual == golden.read_text()


def test_graph_across_files(write_project: Callable[[dict[str, str]], Path]) -> None:
    root = write_project(
        {
            "a_prep.sql": """
                SET threads = 1;
                CREATE TABLE staging.train AS SELECT * FROM raw.events WHERE d < '2026-01-01';
                INSERT INTO staging.train SELECT * FROM raw.late_events;
            """,
            "b_model.sql": """
                SELECT * FROM staging.train TO TRAIN sklearn.svm.SVC LABEL y INTO churn;
                SELECT * FROM raw.events TO PREDICT scores.churn_score USING churn;
            """,
        }
    )
    project = compile_project(root)
    by_name = {str(n.name): n for n in project.nodes}
    assert list(by_name) == ["staging.train", "churn", "scores"]
    assert [str(s.name) for s in project.sources] == ["raw.events", "raw.late_events"]
    train = by_name["staging.train"]
    assert train.kind is ObjectKind.TABLE
    assert len(train.followups) == 1 and len(train.session) == 1
    assert [str(d) for d in train.deps] == ["raw.events", "raw.late_events"]
    assert [str(d) for d in by_name["churn"].deps] == ["staging.train"]
    assert [str(d) for d in by_name["scores"].deps] == ["raw.events", "churn"]
    assert by_name["scores"].kind is ObjectKind.PREDICTION
    assert (train.group, by_name["churn"].group) == ("a_prep", "b_model")


def test_fingerprint_ignores_comments_and_layout(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    one = compile_project(write_project({"a.sql": "CREATE TABLE t AS SELECT a FROM s;"}))
    (tmp_path / "sql" / "a.sql").write_text(
        "-- a comment\ncreate table t as\n  select a\n  from s;\n"
    )
    two = compile_project(tmp_path / "sql")
    (tmp_path / "sql" / "a.sql").write_text("CREATE TABLE t AS SELECT b FROM s;")
    three = compile_project(tmp_path / "sql")
    assert one.nodes[0].fingerprint == two.nodes[0].fingerprint != three.nodes[0].fingerprint


def test_names_are_case_insensitive(write_project: Callable[[dict[str, str]], Path]) -> None:
    project = compile_project(
        write_project(
            {
                "a.sql": "CREATE TABLE Train AS SELECT 1 AS x, 2 AS y;\nSELECT * FROM TRAIN TO TRAIN sklearn.svm.SVC LABEL y INTO M;\nSELECT * FROM train TO PREDICT o.y USING m;"
            }
        )
    )
    assert [str(d) for d in project.node("o").deps] == ["Train", "M"]
    assert project.sources == ()


def test_nested_folders_make_groups(write_project: Callable[[dict[str, str]], Path]) -> None:
    project = compile_project(write_project({"marts/iris-v2.sql": "CREATE TABLE t AS SELECT 1;"}))
    assert project.nodes[0].group == "marts_iris_v2"
    assert project.nodes[0].file == "sql/marts/iris-v2.sql"


def test_validation_select_tables_are_model_inputs(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    root = write_project(
        {
            "m.sql": """
                CREATE TABLE holdout AS SELECT * FROM raw.events WHERE d >= '2026-01-01';
                SELECT * FROM raw.events TO TRAIN DNNClassifier
                WITH validation.select = "SELECT * FROM holdout"
                LABEL y INTO churn;
            """
        }
    )
    node = next(n for n in compile_project(root).nodes if n.name.key == "churn")
    assert {d.key for d in node.deps} >= {"holdout"}


@pytest.mark.parametrize(
    ("reference", "flavor"),
    [
        ("DNNClassifier", "pytorch"),
        ("LinearRegressor", "pytorch"),
        ("sklearn.svm.SVC", "sklearn"),
        ("torch_models.Net", "auto"),
        ("torchvision.models.resnet18", "pytorch"),
        ("keras.applications.MobileNet", "keras"),
        ("tensorflow.keras.Sequential", "keras"),
        ("my_models.DNNClassifier", "auto"),
    ],
)
def test_model_references_name_their_flavor(reference: str, flavor: str) -> None:
    assert ModelRef(reference).flavor == flavor
