"""The demo run, then again with changed data (a new version where the data changed),
then the catalog on its state: ``sqlml models …``, ``sqlml run-sql`` and ``sqlml sql``."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from sqlml_dagster import cli
from sqlml_dagster.ops.storage import SqlMlStorage
from sqlml_dagster.shell import SqlSession, repl
from tests.conftest import EXAMPLE, sqlml_materialize

# whole projects materialized end to end: seconds each (docs/testing.md)
pytestmark = pytest.mark.slow


def demo(workdir: Path, state: Path) -> str:
    return sqlml_materialize("example_copy.definitions", workdir, state).stdout


def model_lines(summary: str) -> list[str]:
    lines = summary.split("\n\n")[1].splitlines()
    assert lines[0] == "models"
    return [" ".join(line.split()[:3]) for line in lines[1:]]


@pytest.fixture(scope="module")
def demo_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example run, then once more after a row is added to its iris data: the models
    whose data did not change keep their version (a run with nothing changed reusing every
    version is tests/test_e2e.py's; a third whole run of the example here cost a minute)."""
    workdir = tmp_path_factory.mktemp("demo")
    shutil.copytree(EXAMPLE, workdir / "example_copy", ignore=shutil.ignore_patterns(".sqlml"))
    state = workdir / "state"
    first = demo(workdir, state)
    assert model_lines(first) == [
        "house_price_gbr v1 trained",
        "house_price_net v1 trained",
        "iris_dnn v1 trained",
        "iris_rf v1 trained",
    ]
    with open(workdir / "example_copy" / "data" / "iris.csv", "a") as f:
        f.write("151,5.9,3.1,5.0,1.9,virginica,train\r\n")  # the file has CRLF line ends
    assert model_lines(demo(workdir, state)) == [
        "house_price_gbr v1 unchanged",
        "house_price_net v1 unchanged",
        "iris_dnn v2 trained",
        "iris_rf v2 trained",
    ]
    return state


def sqlml(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def state(demo_state: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A private copy of the demo's state, found through $SQLML_STATE_DIR — from a working
    directory outside any dg project (inside one, no -m means the project's definitions)."""
    copy = tmp_path / "state"
    shutil.copytree(demo_state, copy)
    monkeypatch.setenv("SQLML_STATE_DIR", str(copy))
    monkeypatch.chdir(tmp_path)
    return copy


def test_models_list_show_and_diff(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sqlml(capsys, "models", "list")
    assert code == 0
    assert [line.split()[:3] for line in out.splitlines()[2:6]] == [
        ["house_price_gbr", "1", "1"],
        ["house_price_net", "1", "1"],
        ["iris_dnn", "2", "2"],
        ["iris_rf", "2", "2"],
    ]
    code, out, _ = sqlml(capsys, "models", "list", "iris_rf", "--format", "json")
    rows = json.loads(out)["rows"]
    assert [(r["version"], r[""]) for r in rows] == [(1, ""), (2, "@latest")]
    assert rows[0]["rows"] == 120 and rows[1]["rows"] == 121

    code, out, _ = sqlml(capsys, "models", "show", "iris_rf@1", "--format", "json")
    props = {r["property"]: r["value"] for r in json.loads(out)["rows"]}
    assert props["version"] == 1 and props["is @latest"] is False
    assert props["param model.n_estimators"] == 100
    assert props["features"] == "sepal_length, sepal_width, petal_length, petal_width"
    assert "statement fingerprint" in props and "artifact model.skops" in props

    code, out, _ = sqlml(capsys, "models", "diff", "iris_rf@1", "iris_rf@2", "--format", "json")
    assert code == 0
    diff = {r[""]: r for r in json.loads(out)["rows"]}
    assert (diff["training_rows"]["iris_rf@2"], diff["training_rows"]["change"]) == (121, "+1")
    assert diff["training data"]["change"] == "changed"
    assert diff["param model.n_estimators"]["change"] == ""


def test_promote_rolls_back_and_gc_keeps_latest_and_pinned(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = sqlml(capsys, "models", "promote", "iris_rf@1")
    assert (code, out.strip()) == (0, "iris_rf@latest is now version 1")
    _, out, _ = sqlml(capsys, "models", "list")
    assert "1 (promoted; newest 2)" in out
    code, out, _ = sqlml(capsys, "models", "gc", "iris_rf", "--keep", "1", "--dry-run")
    assert code == 0 and "dry run" in out
    assert out.splitlines()[3].split() == ["iris_rf", "1", "2"]  # nothing removed: 1 is @latest
    code, _, err = sqlml(capsys, "models", "promote", "iris_rf")
    assert code == 1 and "name the version to promote, e.g. iris_rf@2" in err
    code, _, err = sqlml(capsys, "models", "show", "iris_rf@9")
    assert code == 1 and "model 'iris_rf' has no version 9; versions: 1, 2" in err


def test_run_sql_answers_catalog_statements_and_queries(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = sqlml(
        capsys,
        "run-sql",
        "SHOW MODELS; DESCRIBE MODEL iris_rf@1; SHOW TRAIN iris_rf;"
        "SELECT count(*) AS n FROM iris_predictions;"
        "SELECT ML_PREDICT(iris_rf@1, 5.1, 3.5, 1.4, 0.2) AS v1, "
        "ML_PREDICT(iris_rf, 6.7, 3.0, 5.2, 2.3) AS latest",
        "--format",
        "json",
    )
    assert code == 0, err
    results = [json.loads(chunk) for chunk in out.replace("}\n{", "}\x00{").split("\x00")]
    models, described, trained, counted, scored = results
    assert [r["model"] for r in models["rows"]] == [
        "house_price_gbr",
        "house_price_net",
        "iris_dnn",
        "iris_rf",
    ]
    assert described["title"] == "iris_rf@1"
    assert "TO TRAIN sklearn.ensemble.RandomForestClassifier" in trained["rows"][0]["statement"]
    assert counted["rows"] == [{"n": 30}]
    assert scored["rows"] == [{"v1": "setosa", "latest": "virginica"}]


def test_run_sql_refuses_what_it_cannot_run_with_a_reason(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = sqlml(capsys, "run-sql", "DESCRIBE MODEL nope")
    assert code == 1 and "model 'nope' has no published version" in err
    code, _, err = sqlml(
        capsys, "run-sql", "SELECT * FROM raw_iris TO TRAIN sklearn.svm.SVC LABEL class INTO s"
    )
    assert code == 1 and "Train statements define assets" in err
    code, _, err = sqlml(capsys, "run-sql", "SELECT ML_PREDICT(iris_rf@0, 1)")
    assert code == 1 and "error[SQLML102]" in err and "<sql>:1:27" in err
    code, _, err = sqlml(capsys, "run-sql", "SELECT ML_PREDICT(iris_rf@x, 1)")  # an alias
    assert code == 1 and "SQLML430: model 'iris_rf' has no alias 'x'; it has no aliases" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = sqlml(capsys, "run-sql", "SELECT * FROM no_such_table")
    assert code == 1 and "no_such_table" in err and "Traceback" not in err


def test_drop_model_and_the_shell(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session = SqlSession(storage=SqlMlStorage(model_store=str(state / "models")), warehouse=None)
    shown: list[str] = []
    code = repl(
        session,
        lambda r: shown.append(r if isinstance(r, str) else r.render()),
        stdin=io.StringIO(
            "SHOW MODELS;\nDROP MODEL\n  house_price_gbr;\nDROP MODEL IF EXISTS gone;\nSHOW MODELS;\n\\q\n"
        ),
        interactive=False,
    )
    assert code == 0
    assert shown[1] == "dropped model house_price_gbr (1 version)"
    assert shown[2] == "dropped model gone (0 versions)"
    assert "house_price_gbr" not in shown[3] and "iris_rf" in shown[3]
    code, _, err = sqlml(capsys, "run-sql", "DROP MODEL gone")
    assert code == 1 and "model 'gone' does not exist" in err


def test_data_gc_removes_old_run_folders(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # run folders, and what each table-like asset was built from (state, not a run's data)
    runs = [p.name for p in (state / "data").iterdir() if p.name != "_built"]
    assert len(runs) == 2 and (state / "data" / "_built").is_dir()  # the demo's two runs
    code, out, _ = sqlml(capsys, "data", "gc", "--older-than-hours", "0", "--dry-run")
    assert code == 0 and sorted(line.split()[0] for line in out.splitlines()[3:-1]) == sorted(runs)
    assert len(list((state / "data").iterdir())) == 3
    code, out, _ = sqlml(capsys, "data", "gc", "--older-than-hours", "0")
    assert code == 0 and [p.name for p in (state / "data").iterdir()] == ["_built"]
