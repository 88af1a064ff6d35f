"""End to end: materialize the example exactly as `make demo` does, into a temporary state dir,
then check what a user would check — real accuracy from the prediction table, versions on disk."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
import sqlglot

from sqlml_dagster import build_defs
from sqlml_dagster.store import ModelStore

from .conftest import EXAMPLE, REPO, failure_reasons, materialize_all, sqlml_materialize
from .servers import mysql_admin, mysql_database, postgres_admin, postgres_database

# whole projects materialized end to end: seconds each (docs/testing.md)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    state = tmp_path_factory.mktemp("demo_state")
    done = sqlml_materialize("example_repo.definitions", REPO, state)
    return state, done


def query(state: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_summary_lists_models_with_versions_and_metrics(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out = demo[1].stdout
    assert "materialized 15 asset(s)" in out
    assert "iris_rf          v1  trained  sklearn.ensemble.RandomForestClassifier" in out
    assert "accuracy=" in out and "r2=" in out
    assert "iris_predictions         30 rows  (model iris_rf v1)" in out
    assert "house_price_predictions  80 rows  (model house_price_gbr v1)" in out


def test_iris_predictions_are_accurate(demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    state, _ = demo
    ((rows, accuracy),) = query(
        state,
        "SELECT count(*), avg(CASE WHEN p.class = r.class THEN 1.0 ELSE 0.0 END) "
        "FROM iris_predictions p JOIN raw_iris r USING (id)",
    )
    assert rows == 30
    assert accuracy >= 0.9


def test_house_price_predictions_explain_the_price(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    state, _ = demo
    ((r2,),) = query(
        state,
        "SELECT 1 - sum(power(actual_price - predicted_price, 2)) / sum(power(actual_price - (SELECT avg(actual_price) FROM house_price_predictions), 2)) "
        "FROM house_price_predictions",
    )
    assert r2 > 0.9


def test_evaluation_table_scores_the_model_version(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    state, _ = demo
    ((model, version, rows, accuracy, f1, auc),) = query(
        state, "SELECT model, model_version, rows, accuracy, f1, auc FROM iris_evaluation"
    )
    assert (model, version, rows) == ("iris_rf", 1, 30)
    assert accuracy >= 0.9 and f1 >= 0.9 and auc >= 0.95


def test_ml_predict_inline_agrees_with_to_predict(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """The example's iris_disagreements calls ML_PREDICT in SELECT and WHERE; its rows are
    exactly the test rows TO PREDICT got wrong — one model, two ways of calling it."""
    state, _ = demo
    inline = query(state, "SELECT id, predicted FROM iris_disagreements ORDER BY id")
    stepped = query(
        state,
        "SELECT p.id, p.class FROM iris_predictions p JOIN raw_iris r USING (id) "
        "WHERE p.class <> r.class ORDER BY p.id",
    )
    assert inline == stepped


def test_deep_learning_models_of_the_example(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """The SQLFlow zoo model (Keras) and the PyTorch network with a COLUMN clause reach the
    example's goals; the forest's explanation ranks a petal measurement first."""
    state, _ = demo
    ((accuracy, probability_sum),) = query(
        state,
        "SELECT avg(CASE WHEN p.class = r.class THEN 1.0 ELSE 0.0 END), "
        "avg(class_probability_setosa + class_probability_versicolor + class_probability_virginica) "
        "FROM iris_dnn_predictions p JOIN raw_iris r USING (id)",
    )
    assert accuracy >= 0.9 and abs(probability_sum - 1.0) < 1e-4
    ((r2,),) = query(
        state,
        "SELECT 1 - sum(power(actual_price - predicted_price, 2)) / sum(power(actual_price - "
        "(SELECT avg(actual_price) FROM house_net_predictions), 2)) FROM house_net_predictions",
    )
    assert r2 > 0.9
    (first,) = query(state, "SELECT feature FROM iris_rf_explanation WHERE rank = 1")
    assert first[0] in ("petal_length", "petal_width")
    manifest = json.loads((state / "models" / "iris_dnn" / "1" / "manifest.json").read_text())
    assert manifest["flavor"] == "keras" and "model.weights.h5" in manifest["artifacts"]


def test_model_versions_have_manifests(demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    state, _ = demo
    manifest = json.loads((state / "models" / "iris_rf" / "1" / "manifest.json").read_text())
    assert manifest["version"] == 1
    assert manifest["model_reference"] == "sklearn.ensemble.RandomForestClassifier"
    assert manifest["params"]["model"]["n_estimators"] == 100
    assert manifest["params"]["model"]["max_depth"] == 4
    assert manifest["metrics"]["accuracy"] > 0.9
    assert manifest["features"] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert set(manifest["artifacts"]) == {"model.skops", "signature.json", "feature_stats.json"}
    assert manifest["training_rows"] == 120
    assert manifest["frameworks"]["scikit-learn"]
    assert manifest["dagster_run_id"]
    assert "TO TRAIN sklearn.ensemble.RandomForestClassifier" in manifest["statement"]


def test_unchanged_inputs_reuse_the_version_and_force_publishes_the_next(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    state, _ = demo
    defs = build_defs(EXAMPLE / "sql", state_dir=state)

    def run(**config: object) -> tuple[dict[str, Any], dict[str, Any]]:
        result = dg.materialize(
            [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)],
            resources=defs.resources,
            selection=[dg.AssetKey("iris_rf"), dg.AssetKey("iris_predictions")],
            instance=dg.DagsterInstance.ephemeral(),
            run_config={"ops": {"sqlml__iris_rf": {"config": config}}} if config else None,
        )
        assert result.success
        model = result.asset_materializations_for_node("sqlml__iris_rf")[0].metadata
        predictions = result.asset_materializations_for_node("sqlml__iris_predictions")[0]
        return model, predictions.metadata

    model, predictions = run()  # nothing changed since the demo
    assert model["reused_version"].value == "iris_rf@1"
    assert model["reused"].value is True
    assert predictions["model_version"].value == 1

    model, predictions = run(force=True)
    assert model["model_version"].value == 2
    assert model["previous_version"].value == 1
    assert "reused" not in model
    assert model["metric/accuracy"].value > 0.9
    assert model["model_uri"].value == str(state / "models" / "iris_rf" / "2")
    metrics = {r.data["metric"]: r.data for r in model["metrics"].value.records}
    assert metrics["accuracy"]["previous"] == pytest.approx(metrics["accuracy"]["value"])
    assert predictions["model_version"].value == 2
    assert predictions["dagster/row_count"].value == 30


# -- the same example on PostgreSQL ---------------------------------------------------------


@pytest.fixture(scope="module", params=["postgres", "mysql"])
def on_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str, subprocess.CompletedProcess[str]]]:
    """The example, unchanged, materialized with ``SQLML_WAREHOUSE`` on the machine's
    PostgreSQL and on its MariaDB (a database of its own): its state folder, the URL and
    the run."""
    state = tmp_path_factory.mktemp(f"{request.param}_state")
    database = postgres_database if request.param == "postgres" else mysql_database
    with database("sqlml_example") as url:
        done = sqlml_materialize("example_repo.definitions", REPO, state, SQLML_WAREHOUSE=url)
        yield state, url, done


def server_rows(url: str, sql: str) -> list[tuple[object, ...]]:
    """A statement on the server through its own command-line client or psycopg (not the
    driver under test)."""
    if url.startswith("mysql"):
        written = sqlglot.transpile(sql, read="duckdb", write="mysql")[0]  # `rows` is reserved
        return list(mysql_admin(written, url.rsplit("/", 1)[-1]))
    return postgres_admin(sql, url.rsplit("/", 1)[-1])


@pytest.mark.slow
def test_the_example_on_a_server_trains_the_same_models(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
    on_server: tuple[Path, str, subprocess.CompletedProcess[str]],
) -> None:
    """Same data, same models, same metrics: the summary's model lines are identical, the
    training data have the same content fingerprint, and the checks and gates pass."""
    (duck_state, duck), (pg_state, url, pg) = demo, on_server

    def models(out: str) -> list[str]:
        lines = out.split("\nmodels\n", 1)[1].split("\n\n", 1)[0]
        return lines.splitlines()

    assert models(pg.stdout) == models(duck.stdout)
    assert "checks: 9 passed, 0 failed" in pg.stdout
    assert f"warehouse: {url}" in pg.stdout
    for model in ("iris_rf", "iris_dnn", "house_price_gbr", "house_price_net"):
        on_duckdb, on_pg = (
            json.loads((state / "models" / model / "1" / "manifest.json").read_text())
            for state in (duck_state, pg_state)
        )
        assert on_pg["training_data_fingerprint"] == on_duckdb["training_data_fingerprint"]
        assert on_pg["metrics"] == on_duckdb["metrics"]
        assert on_pg["training_rows"] == on_duckdb["training_rows"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id, class FROM iris_predictions ORDER BY id",
        "SELECT model, model_version, rows, accuracy, f1, auc FROM iris_evaluation",
        "SELECT id, actual, predicted FROM iris_disagreements ORDER BY id",
        "SELECT feature, rank FROM iris_rf_explanation ORDER BY rank",
        "SELECT id, predicted_price FROM house_price_predictions ORDER BY id",
        "SELECT id, class, class_probability_setosa FROM iris_dnn_predictions ORDER BY id",
        "SELECT count(*), round(avg(age), 6) FROM house_features",
    ],
)
def test_the_example_s_tables_on_a_server_match_duckdb(
    demo: tuple[Path, subprocess.CompletedProcess[str]],
    on_server: tuple[Path, str, subprocess.CompletedProcess[str]],
    sql: str,
) -> None:
    expected = query(demo[0], sql)
    found = server_rows(on_server[1], sql)
    assert [tuple(_plain(v) for v in row) for row in found] == [
        tuple(_plain(v) for v in row) for row in expected
    ]


def _plain(value: object) -> object:
    """A value as every engine's client agrees on it: numbers to 6 decimals (PostgreSQL's
    numeric arrives as a Decimal, MariaDB's command-line client prints text, a float
    printed by another path may differ in its last bit)."""
    from decimal import Decimal

    if isinstance(value, str):
        try:
            return round(float(value), 6)
        except ValueError:
            return value
    if isinstance(value, bool):
        return float(value)
    return round(float(value), 6) if isinstance(value, Decimal | float | int) else value


@pytest.mark.slow
def test_unchanged_data_on_a_server_reuses_the_version(
    on_server: tuple[Path, str, subprocess.CompletedProcess[str]],
) -> None:
    """The fingerprint's verdict on the server: nothing changed → the version is reused;
    one changed training row → retrained."""
    state, url, _ = on_server
    defs = build_defs(EXAMPLE / "sql", state_dir=state, warehouse=url)

    def train() -> dict[str, Any]:
        result = dg.materialize(
            [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)],
            resources=defs.resources,
            selection=[dg.AssetKey("iris_rf")],
            instance=dg.DagsterInstance.ephemeral(),
        )
        assert result.success
        return dict(result.asset_materializations_for_node("sqlml__iris_rf")[0].metadata)

    again = train()
    assert again["reused_version"].value == "iris_rf@1" and again["reused"].value is True
    server_rows(
        url,
        "UPDATE iris_train SET sepal_length = sepal_length + 0.1 "
        "WHERE id = (SELECT m FROM (SELECT min(id) AS m FROM iris_train) AS first)",
    )
    changed = train()
    assert changed["model_version"].value == 2 and "reused" not in changed


def materialize(root: Path, state: Path) -> dg.ExecuteInProcessResult:
    return materialize_all(root, state)


def test_failed_training_leaves_no_partial_version(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project(
        {
            "m.sql": """
                CREATE TABLE d AS SELECT range AS x, range % 2 AS y FROM range(20);
                SELECT x, y FROM d TO TRAIN sklearn.linear_model.LogisticRegression
                WITH model.max_iterz = 10 LABEL y INTO m;
            """
        }
    )
    result = materialize(root, tmp_path / "state")
    assert not result.success
    assert "has no parameter 'max_iterz' (did you mean 'max_iter'?)" in failure_reasons(result)
    # nothing visible; a tombstone keeps the number (and says why) so it never comes back
    store = ModelStore(str(tmp_path / "state" / "models"))
    assert store.versions("m") == []
    model_dir = tmp_path / "state" / "models" / "m"
    # the tombstone, and the claim on the number (the reservation record, kept)
    assert sorted(p.name for p in (model_dir / "1").iterdir()) == [".discarded", ".pending"]
    tombstone = json.loads((model_dir / "1" / ".discarded").read_text())
    assert "max_iterz" in tombstone["reason"]


def test_failed_table_statement_rolls_back(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project(
        {"t.sql": "CREATE TABLE t AS SELECT 1 AS a;\nINSERT INTO t SELECT CAST('x' AS INTEGER);"}
    )
    result = materialize(root, tmp_path / "state")
    assert not result.success
    assert "Conversion Error" in failure_reasons(result)
    with duckdb.connect(str(tmp_path / "state" / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 't'"
        ).fetchone() == (0,)


def test_append_only_table_from_insert(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project({"t.sql": "INSERT INTO log SELECT 1 AS run;"})
    state = tmp_path / "state"
    assert materialize(root, state).success
    assert materialize(root, state).success
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM log").fetchone() == (2,)


def test_unsupervised_model_and_schema_qualified_prediction(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project(
        {
            "k.sql": """
                CREATE TABLE pts AS SELECT range AS id, (range % 3) * 10.0 + random() AS x FROM range(30);
                SELECT x FROM pts TO TRAIN sklearn.cluster.KMeans WITH model.n_clusters = 3, model.n_init = 3 INTO clusters;
                SELECT id, x FROM pts TO PREDICT out.clustered.cluster USING clusters;
            """
        }
    )
    state = tmp_path / "state"
    result = materialize(root, state)
    assert result.success, failure_reasons(result)
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "SELECT count(DISTINCT cluster), count(*) FROM out.clustered"
        ).fetchone() == (3, 30)


def test_source_dialect_is_transpiled_to_the_warehouse(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """BigQuery SQL (SAFE_CAST, FLOAT64, UNNEST of an array) runs on DuckDB through sqlglot."""
    root = write_project(
        {
            "bq.sql": """
                CREATE TABLE pts AS
                SELECT SAFE_CAST(x AS FLOAT64) AS x, MOD(x, 2) AS y
                FROM UNNEST([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) AS x;
                SELECT SAFE_CAST(x AS FLOAT64) AS x, y FROM pts
                TO TRAIN ghcr.io/acme/trainers:1.4/sklearn.tree.DecisionTreeClassifier
                LABEL y INTO parity;
            """
        }
    )
    state = tmp_path / "state"
    defs = build_defs(root, dialect="bigquery", state_dir=state)
    result = dg.materialize(
        [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)],
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    manifest = json.loads((state / "models" / "parity" / "1" / "manifest.json").read_text())
    # the local launcher records the image the statement names, and runs the reference locally
    assert manifest["image"] == "ghcr.io/acme/trainers:1.4"
    assert manifest["model_reference"] == "sklearn.tree.DecisionTreeClassifier"
    assert manifest["metrics"]["accuracy"] == 1.0


def test_create_model_registers_a_skops_file_for_predict_and_ml_predict(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """Rikai's CREATE MODEL … USING: a model trained elsewhere becomes version 1 of a model
    asset, usable by TO PREDICT and ML_PREDICT like a trained one."""
    import skops.io as sio
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], [1.0, 2.0, 6.0])
    (tmp_path / "models").mkdir()  # beside the sql/ folder: '../models/lin.skops'
    sio.dump(model, tmp_path / "models" / "lin.skops")
    root = write_project(
        {
            "r.sql": """
                CREATE MODEL lin FLAVOR sklearn USING '../models/lin.skops';
                CREATE TABLE pts AS SELECT range * 1.0 AS a, 2.0 AS b FROM range(4);
                SELECT a, b FROM pts TO PREDICT stepped.y USING lin;
                CREATE TABLE inline AS SELECT a, b, ML_PREDICT(lin, a, b) AS y FROM pts;
            """
        }
    )
    state = tmp_path / "state"
    result = materialize(root, state)
    assert result.success, failure_reasons(result)
    manifest = json.loads((state / "models" / "lin" / "1" / "manifest.json").read_text())
    assert manifest["model_reference"] == "sklearn.linear_model._base.LinearRegression"
    assert manifest["source_uri"].endswith("models/lin.skops")
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        stepped = con.execute("SELECT a, y FROM stepped ORDER BY a").fetchall()
        inline = con.execute("SELECT a, y FROM inline ORDER BY a").fetchall()
    expected = [(a, float(model.predict([[a, 2.0]])[0])) for a in (0.0, 1.0, 2.0, 3.0)]
    assert [(a, round(y, 6)) for a, y in stepped] == [(a, round(y, 6)) for a, y in expected]
    assert [(a, round(y, 6)) for a, y in inline] == [(a, round(y, 6)) for a, y in expected]


def test_ml_predict_with_the_wrong_number_of_inputs_says_what_the_model_needs(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project(
        {
            "m.sql": """
                CREATE TABLE d AS SELECT range AS a, range * 2 AS b, range % 2 AS y FROM range(20);
                SELECT a, b, y FROM d TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m;
                CREATE TABLE scored AS SELECT a, ML_PREDICT(m, a) AS p FROM d;
            """
        }
    )
    result = materialize(root, tmp_path / "state")
    assert not result.success
    assert "passes 1 input(s) but m v1 was trained on 2 feature(s): a, b" in failure_reasons(result)


def test_evaluate_an_unknown_metric_fails_with_the_known_ones(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project(
        {
            "m.sql": """
                CREATE TABLE d AS SELECT range AS a, range % 2 AS y FROM range(20);
                SELECT a, y FROM d TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m;
                SELECT a, y FROM d TO EVALUATE m WITH validation.metrics = "Accuracy,Precission" LABEL y INTO e;
            """
        }
    )
    result = materialize(root, tmp_path / "state")
    assert not result.success
    assert "unknown metric 'Precission' (did you mean 'precision'?)" in failure_reasons(result)


def test_ml_predict_in_the_select_of_an_ml_statement(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """A model's predictions can feed another step: ML_PREDICT inside a TO TRAIN's SELECT."""
    root = write_project(
        {
            "m.sql": """
                CREATE TABLE d AS SELECT range AS a, range % 2 AS y FROM range(40);
                SELECT a, y FROM d TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO first;
                SELECT a, ML_PREDICT(first, a) AS y FROM d
                TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO second;
            """
        }
    )
    state = tmp_path / "state"
    result = materialize(root, state)
    assert result.success, failure_reasons(result)
    manifest = json.loads((state / "models" / "second" / "1" / "manifest.json").read_text())
    assert manifest["metrics"]["accuracy"] == 1.0 and manifest["training_rows"] == 40
