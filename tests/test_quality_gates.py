"""Quality gates and data checks, as a user meets them.

* ``TO EVALUATE m … WITH check.accuracy >= 0.99 … INTO t`` makes blocking Dagster checks on
  ``m``: a version below the threshold stops the run's predictions of ``m``, and
  ``@latest`` for predictions is the newest version that passed (a pin bypasses it).
* Every ``TO TRAIN`` gets ``<model>_features_exist`` and ``<model>_label_not_null`` on the
  table it reads; a NULL label stops the training.

End to end on tiny scikit-learn models (a ``DummyClassifier`` is the weak model, a
decision tree the good one), a real warehouse, model store and Dagster runs.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from sqlml_dagster import build_defs, cli
from sqlml_dagster.catalog import Catalog
from sqlml_dagster.compiler import compile_project, parse_sql_file, to_json, to_sql
from sqlml_dagster.compiler.diagnostics import SqlMlCompileError
from sqlml_dagster.compiler.ir import (
    TrainStatement,
)
from sqlml_dagster.compiler.manifest import project_manifest
from sqlml_dagster.ops.checks import project_gates, run_data_checks
from sqlml_dagster.store import Gate, GateNotPassed, GateResult, ModelManifest, ModelStore
from sqlml_dagster.warehouses import FileScope
from sqlml_dagster.warehouses.duckdb import DuckDBWarehouse

from .conftest import failure_reasons, materialize_all

# -- the syntax ---------------------------------------------------------------------------

GATE_CASES = [
    # metric names: any spelling validation.metrics accepts; the IR keeps the canonical one
    ("check.accuracy >= 0.9", [("accuracy", ">=", 0.9)]),
    ("check.AUC > 0.8, check.f1 >= 0.7", [("auc", ">", 0.8), ("f1", ">=", 0.7)]),
    ("check.mean_squared_error <= 5, check.R2 < 1", [("mse", "<=", 5), ("r2", "<", 1)]),
    ("check.rmse = 0, check.mae == -1.5", [("rmse", "=", 0), ("mae", "=", -1.5)]),
    (
        "check.LogLoss <= 0.3, check.BalancedAccuracy >= 0.8",
        [("logloss", "<=", 0.3), ("balanced_accuracy", ">=", 0.8)],
    ),
    # gates sit beside ordinary parameters, in any order
    (
        'validation.metrics = "Precision", check.recall >= 0.5',
        [("recall", ">=", 0.5)],
    ),
]


@pytest.mark.parametrize(("written", "gates"), GATE_CASES)
def test_gates_parse_and_round_trip(written: str, gates: list[tuple[str, str, float]]) -> None:
    sql = f"SELECT * FROM t TO EVALUATE m WITH {written} LABEL y INTO e;"
    sql_file, diagnostics = parse_sql_file("e.sql", sql)
    assert [d.render() for d in diagnostics] == []
    (statement,) = sql_file.statements
    assert [(c.metric, c.op, c.threshold) for c in statement.checks] == gates
    assert all(p.namespace != "check" for p in statement.params)
    again, _ = parse_sql_file("again.sql", to_sql(statement))
    assert to_json(again.statements[0]) == to_json(statement)


GATE_ERRORS = [
    # (statement, code, message, column of the caret)
    (
        "SELECT * FROM t TO EVALUATE m WITH check.acuracy >= 0.9 LABEL y INTO e;",
        "SQLML113",
        "unknown metric 'acuracy' in a quality gate",
        42,
    ),
    (
        "SELECT * FROM t TO EVALUATE m WITH check.accuracy >= 'high' LABEL y INTO e;",
        "SQLML113",
        "the threshold of 'check.accuracy' must be a number",
        54,
    ),
    (
        "SELECT * FROM t TO EVALUATE m WITH check.accuracy >= true LABEL y INTO e;",
        "SQLML113",
        "the threshold of 'check.accuracy' must be a number",
        54,
    ),
    (
        "SELECT * FROM t TO EVALUATE m WITH check.accuracy 0.9 LABEL y INTO e;",
        "SQLML102",
        "expected a comparison after 'check.accuracy', found '0.9'",
        51,
    ),
    (
        "SELECT * FROM t TO EVALUATE m WITH check.accuracy != 0.9 LABEL y INTO e;",
        "SQLML102",
        "expected a comparison after 'check.accuracy', found '!='",
        51,
    ),
    (
        "SELECT * FROM t TO EVALUATE m WITH check.accuracy >= 0.9, check.Accuracy > 0.5 LABEL y INTO e;",
        "SQLML104",
        "'check.accuracy' is set twice",
        59,
    ),
    (
        "SELECT * FROM t TO TRAIN sklearn.svm.SVC WITH check.accuracy >= 0.9 LABEL y INTO m;",
        "SQLML112",
        "quality gate 'check.accuracy >= 0.9' outside TO EVALUATE",
        47,
    ),
    (
        "SELECT * FROM t TO PREDICT p.y WITH check.auc > 0.5 USING m;",
        "SQLML112",
        "quality gate 'check.auc > 0.5' outside TO EVALUATE",
        37,
    ),
    (
        "SELECT * FROM t TO TRAIN sklearn.svm.SVC WITH model.C >= 0.9 LABEL y INTO m;",
        "SQLML112",
        "'model.C' is a parameter and takes '=', not '>='",
        55,
    ),
    (
        "SELECT * FROM t TO EVALUATE m WITH chek.accuracy = 0.9 LABEL y INTO e;",
        "SQLML103",
        "unknown attribute namespace 'chek'",
        36,
    ),
]


@pytest.mark.parametrize(("sql", "code", "message", "column"), GATE_ERRORS)
def test_gate_mistakes_are_diagnostics(sql: str, code: str, message: str, column: int) -> None:
    _, diagnostics = parse_sql_file("e.sql", sql)
    first = diagnostics[0]
    assert (first.code, first.message) == (code, message)
    assert first.span is not None and (first.span.line, first.span.col) == (1, column)
    rendered = first.render()
    assert f"--> e.sql:1:{column}" in rendered and "^" in rendered and "hint:" in rendered


def test_unknown_metric_hint_suggests_the_closest_and_lists_them() -> None:
    _, (d,) = parse_sql_file(
        "e.sql", "SELECT * FROM t TO EVALUATE m WITH check.acuracy >= 1 LABEL y INTO e;"
    )
    assert d.hint is not None and d.hint.startswith("did you mean 'accuracy'?")
    assert (
        "auc, average_precision, balanced_accuracy, brier, cohen_kappa, explained_variance"
        in d.hint
    )


# -- the store: what @latest means for a gated model --------------------------------------

ACCURACY = Gate("e_accuracy", "accuracy", ">=", 0.9, evaluation="e", location="sql/e.sql:3:17")


def _publish(store: ModelStore, model: str = "m") -> int:
    pending = store.reserve(model)
    with store.fs.open(f"{pending.uri}/model.bin", "wb") as f:
        f.write(b"weights")
    manifest = ModelManifest(
        model=model,
        version=0,
        created_at="2026-11-24T00:00:00+00:00",
        flavor="sklearn",
        model_reference="sklearn.dummy.DummyClassifier",
        fingerprint="f",
        statement_fingerprint="s",
        training_data_fingerprint="d",
    )
    return store.publish(pending, manifest).version


def _record(store: ModelStore, version: int, value: float, gate: Gate = ACCURACY) -> None:
    store.record_gates(
        store.get("m", version),
        [
            GateResult(
                name=gate.name,
                metric=gate.metric,
                op=gate.op,
                threshold=gate.threshold,
                value=value,
                passed=gate.passes(value),
                evaluated_at="2026-11-24T00:00:00+00:00",
                evaluation=gate.evaluation,
            )
        ],
    )


@pytest.fixture
def gated_store(store_url: tuple[str, dict[str, Any]]) -> ModelStore:
    """Versions 1 (accuracy 0.95: passes), 2 (0.6: fails) and 3 (never evaluated)."""
    url, options = store_url
    store = ModelStore(url, **options)
    for _ in range(3):
        _publish(store)
    _record(store, 1, 0.95)
    _record(store, 2, 0.6)
    return store


LATEST_CASES = [
    # (gates the project sets, version a consumer's @latest resolves to)
    ((), 3),  # ungated: the newest, as always
    ((ACCURACY,), 1),  # 2 failed, 3 was never evaluated
    ((Gate("e_accuracy", "accuracy", ">=", 0.5),), 2),  # a lower threshold re-judges 2
    ((ACCURACY, Gate("e_auc", "auc", ">=", 0.5)), None),  # a new gate nobody has passed
]


@pytest.mark.parametrize(("gates", "expected"), LATEST_CASES)
def test_latest_of_a_gated_model_is_the_newest_version_that_passed(
    gated_store: ModelStore, gates: tuple[Gate, ...], expected: int | None
) -> None:
    listing = gated_store.listing("m")
    resolved = (
        gated_store.resolve_gated("m", listing, gates)
        if gates
        else gated_store.resolve_latest("m", listing)
    )
    assert (resolved.version if resolved else None) == expected
    assert gated_store.get("m", 3, gates=gates).version == 3  # a pin bypasses the gates


def test_no_passing_version_is_a_clear_failure(gated_store: ModelStore) -> None:
    _record(gated_store, 1, 0.5)
    with pytest.raises(GateNotPassed) as failure:
        gated_store.get("m", gates=(ACCURACY,))
    message = str(failure.value)
    assert message.startswith(
        "model 'm' has no version that passed its quality gates "
        "(e_accuracy: accuracy >= 0.9 at sql/e.sql:3:17); "
        "version 3: not evaluated: e_accuracy; "
        "version 2: failed: e_accuracy (accuracy = 0.6 (needs >= 0.9)); "
        "version 1: failed: e_accuracy (accuracy = 0.5 (needs >= 0.9)). Materialize e"
    )
    assert "sqlml models promote m@N" in message and "USING m@N" in message


def test_promote_wins_over_the_gates(gated_store: ModelStore) -> None:
    gated_store.promote("m", 2)
    assert gated_store.get("m", gates=(ACCURACY,)).version == 2
    _publish(gated_store)  # a newer version ends the rollback: the gates decide again
    assert gated_store.get("m", gates=(ACCURACY,)).version == 1


def test_outcomes_live_beside_the_manifest_without_touching_it(gated_store: ModelStore) -> None:
    before = gated_store.get("m", 1).manifest
    _record(gated_store, 1, 0.97)  # re-evaluated: the newer outcome replaces the older
    (result,) = gated_store.gate_results("m", 1).values()
    assert (result.value, result.passed) == (0.97, True)
    assert gated_store.get("m", 1).manifest == before  # checksums still hold
    assert gated_store.recorded_gates("m") == (
        Gate("e_accuracy", "accuracy", ">=", 0.9, evaluation="e"),
    )


def test_an_outcome_s_record_is_this_json() -> None:
    """``<version>/checks/<name>.json`` as other tools read it (``sqlml models``, a
    reviewer's diff): these key names, sorted, indented by two — a renamed key would still
    round-trip through ``from_json`` but orphan every record already written."""
    result = GateResult(
        "e_auc",
        "auc",
        ">=",
        0.01,
        0.91,
        True,
        "2026-11-24T00:00:00+00:00",
        evaluation="e",
        dagster_run_id="r1",
        baseline="champion",
        champion_version=2,
        champion_value=0.89,
        note="",
    )
    assert result.to_json() == (
        "{\n"
        '  "baseline": "champion",\n'
        '  "champion_value": 0.89,\n'
        '  "champion_version": 2,\n'
        '  "dagster_run_id": "r1",\n'
        '  "evaluated_at": "2026-11-24T00:00:00+00:00",\n'
        '  "evaluation": "e",\n'
        '  "metric": "auc",\n'
        '  "name": "e_auc",\n'
        '  "note": "",\n'
        '  "op": ">=",\n'
        '  "passed": true,\n'
        '  "threshold": 0.01,\n'
        '  "value": 0.91\n'
        "}"
    )
    assert GateResult.from_json(result.to_json()) == result


# -- end to end: a failing gate blocks the prediction -------------------------------------

WEAK = "sklearn.dummy.DummyClassifier"
GOOD = "sklearn.tree.DecisionTreeClassifier WITH model.max_depth = 3, model.random_state = 0"


def gated_project(model: str, extra: str = "") -> dict[str, str]:
    """140 points whose label is x >= 3; the dummy model only ever says 1 (accuracy 4/7)."""
    return {
        "points.sql": f"""
            CREATE TABLE points AS
            SELECT i AS id, (i % 7) * 1.0 AS x, (i % 5) * 1.0 AS z,
                   CASE WHEN i % 7 >= 3 THEN 1 ELSE 0 END AS y
            FROM range(140) t(i);

            SELECT x, z, y FROM points WHERE id % 4 <> 0
            TO TRAIN {model}
            LABEL y
            INTO m;

            SELECT x, z, y FROM points WHERE id % 4 = 0
            TO EVALUATE m WITH check.accuracy >= 0.99
            LABEL y
            INTO m_eval;

            SELECT id, x, z FROM points WHERE id % 4 = 0
            TO PREDICT preds.y
            USING m;
            {extra}
        """
    }


def materialize(
    root: Path, state: Path, selection: list[str] | None = None
) -> dg.ExecuteInProcessResult:
    return materialize_all(root, state, selection)


def materialized(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    """Asset → its materialization metadata, for every asset the run materialized."""
    return {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


def checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    """``asset:check`` → passed, for every check the run evaluated."""
    out = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.asset_check_evaluation_data
            out[f"{data.asset_key.to_user_string()}:{data.check_name}"] = data.passed
    return out


def query(state: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.slow
def test_a_failing_gate_blocks_the_prediction_and_latest_keeps_the_last_passing_version(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    state = tmp_path / "state"

    # 1. The weak model: the gate fails, the evaluation is written, the prediction waits.
    root = write_project(gated_project(WEAK))
    first = materialize(root, state)
    assert not first.success
    assert set(materialized(first)) == {"points", "m", "m_eval"}  # no preds
    assert checks(first) == {
        "m:m_eval_accuracy": False,
        "points:m_features_exist": True,
        "points:m_label_not_null": True,
    }
    assert failure_reasons(first) == (
        "quality gate failed on m@1: m_eval_accuracy: accuracy = 0.5714 (needs >= 0.99). "
        "Steps using m in this run do not run; @latest keeps the newest version that passed "
        "(docs/quality-gates.md)"
    )
    assert query(state, "SELECT model_version, round(accuracy, 4) FROM m_eval") == [(1, 0.5714)]

    # 2. The prediction alone, later: no version ever passed — a clear failure.
    alone = materialize(root, state, ["preds"])
    assert not alone.success
    assert failure_reasons(alone).startswith(
        "model 'm' has no version that passed its quality gates "
        "(m_eval_accuracy: accuracy >= 0.99 at sql/points.sql:12:20); "
    )

    # 3. A good model: version 2 passes, and the same run predicts with it.
    write_project(gated_project(GOOD))
    second = materialize(root, state)
    assert second.success, failure_reasons(second)
    assert checks(second)["m:m_eval_accuracy"] is True
    assert materialized(second)["preds"]["model_version"] == 2

    # 4. A weak version 3, selecting only the model and the prediction: Dagster still runs
    #    the gates on m (without rewriting m_eval) and the prediction waits again.
    write_project(gated_project(WEAK + ' WITH model.strategy = "prior"'))
    third = materialize(root, state, ["m", "preds"])
    assert not third.success
    assert set(materialized(third)) == {"m"} and checks(third) == {"m:m_eval_accuracy": False}
    assert query(state, "SELECT model_version FROM m_eval") == [(2,)]  # not selected

    # 5. Predicting later skips the failing version 3: @latest is the last that passed.
    later = materialize(root, state, ["preds"])
    assert later.success, failure_reasons(later)
    assert materialized(later)["preds"]["model_version"] == 2

    # 6. A pin is explicit and bypasses the gates.
    write_project(
        gated_project(
            WEAK + ' WITH model.strategy = "prior"',
            "SELECT id, x, z FROM points TO PREDICT pinned.y USING m@3;",
        )
    )
    pinned = materialize(root, state, ["pinned"])
    assert pinned.success, failure_reasons(pinned)
    assert materialized(pinned)["pinned"]["model_version"] == 3

    # The catalog tells the story (the gates as the project's manifest records them).
    manifest = project_manifest(compile_project(root))
    catalog = Catalog(ModelStore(str(state / "models")), gates=project_gates(manifest.gates))
    listing = catalog.list_versions("m").to_json()["rows"]
    assert [(r["version"], r[""], r["gates"].split(" (")[0]) for r in listing] == [
        (1, "", "failed: m_eval_accuracy"),
        (2, "@latest", "passed"),
        (3, "", "failed: m_eval_accuracy"),
    ]
    shown = dict(catalog.describe("m", 3).rows)
    assert (shown["is @latest"], shown["gates"].split(" (")[0]) == (
        False,
        "failed: m_eval_accuracy",
    )
    assert shown["gate m_eval_accuracy"].startswith("accuracy = 0.5714 (needs >= 0.99): failed (")
    recorded = json.loads((state / "models/m/3/checks/m_eval_accuracy.json").read_text())
    assert (recorded["metric"], recorded["op"], recorded["threshold"]) == ("accuracy", ">=", 0.99)


def test_gate_checks_are_blocking_checks_on_the_model(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    defs = build_defs(write_project(gated_project(WEAK)), state_dir=tmp_path / "state")
    specs = {
        (s.asset_key.to_user_string(), s.name): s
        for a in defs.assets or []
        if isinstance(a, dg.AssetsDefinition)
        for s in a.check_specs
    }
    assert sorted(specs) == [
        ("m", "m_eval_accuracy"),
        ("points", "m_features_exist"),
        ("points", "m_label_not_null"),
    ]
    assert all(s.blocking for s in specs.values())
    assert "`accuracy >= 0.99`" in (specs["m", "m_eval_accuracy"].description or "")


GATE_ORDER_CASES = [
    # (an extra file, the error building the Definitions reports — None: it builds)
    (
        # the evaluation reads ML_PREDICT(m, …) output, which waits for m's gates
        """
        CREATE TABLE scored AS SELECT y, ML_PREDICT(m, x, z) AS guess FROM points;

        SELECT y, guess AS x, guess AS z FROM scored
        TO EVALUATE m WITH check.f1 > 0.5 LABEL y INTO scored_eval;
        """,
        "error[SQLML113]: the quality gates on 'm' read 'scored', which is computed with 'm'",
    ),
    (
        # reading another gated evaluation's table waits for nothing gated
        """
        SELECT 1 AS x, 1 AS z, 1 AS y FROM m_eval
        TO EVALUATE m WITH check.f1 > 0.5 LABEL y INTO second_eval;
        """,
        None,
    ),
]


@pytest.mark.parametrize(("extra", "error"), GATE_ORDER_CASES)
def test_a_gate_may_not_wait_for_itself(
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    extra: str,
    error: str | None,
) -> None:
    project = {**gated_project(WEAK), "extra.sql": extra}
    root = write_project(project)
    if error is None:
        build_defs(root, state_dir=tmp_path / "state")
        return
    with pytest.raises(SqlMlCompileError) as raised:
        build_defs(root, state_dir=tmp_path / "state")
    rendered = str(raised.value)
    assert error in rendered
    assert "--> sql/extra.sql:4:20" in rendered and "^^^" in rendered


@pytest.mark.parametrize(("extra", "error"), GATE_ORDER_CASES)
def test_sqlml_check_refuses_what_the_definitions_refuse(
    write_project: Callable[[dict[str, str]], Path],
    capsys: pytest.CaptureFixture[str],
    extra: str,
    error: str | None,
) -> None:
    """The gate order is a project rule (``check_project``): CI's ``sqlml check`` fails
    where ``dagster dev`` would refuse to load, pointing at the same threshold."""
    root = write_project({**gated_project(WEAK), "extra.sql": extra})
    code = cli.main(["check", "--no-import", str(root)])
    err = capsys.readouterr().err
    if error is None:
        assert code == 0, err
        return
    assert code == 1
    assert error in err
    assert "--> sql/extra.sql:4:20" in err and "^^^" in err


# -- data checks ---------------------------------------------------------------------------

DATA_CASES = [
    # (training statement, features_exist, label_not_null, what the check says)
    (
        "SELECT x, y FROM t TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m",
        True,
        False,
        "2 of 6 training rows have a NULL 'y'; filter them out (WHERE y IS NOT NULL) or fix the data",
    ),
    (
        "SELECT x, y FROM t WHERE y IS NOT NULL TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m",
        True,
        True,
        "no NULL 'y' in 4 training rows",
    ),
    (
        "SELECT x, y FROM t TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL nope INTO m",
        False,
        False,
        "the SELECT has no label column 'nope'",
    ),
    (
        "SELECT x, y FROM t WHERE y IS NOT NULL TO TRAIN DNNClassifier COLUMN NUMERIC(x, 1), NUMERIC(w, 1) LABEL y INTO m",
        False,
        True,
        "no NULL 'y' in 4 training rows",
    ),
    (
        "SELECT y FROM t WHERE y IS NOT NULL TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m",
        False,
        True,
        "no NULL 'y' in 4 training rows",
    ),
    (
        "SELECT x FROM t TO TRAIN sklearn.cluster.KMeans WITH model.n_clusters = 2 INTO m",
        True,
        None,  # no label, no label check
        None,
    ),
]


@pytest.mark.parametrize(("sql", "features_exist", "label_not_null", "says"), DATA_CASES)
@pytest.mark.slow
def test_data_checks_against_the_warehouse(
    tmp_path: Path, sql: str, features_exist: bool, label_not_null: bool | None, says: str | None
) -> None:
    warehouse = DuckDBWarehouse(database=str(tmp_path / "w.duckdb"))
    with warehouse.connect() as con:
        con.execute(
            "CREATE TABLE t AS SELECT * FROM (VALUES (1.0, 1), (2.0, NULL), (3.0, 0), "
            "(4.0, NULL), (5.0, 1), (6.0, 0)) v(x, y)"
        )
    sql_file, _ = parse_sql_file("m.sql", sql + ";")
    (statement,) = sql_file.statements
    assert isinstance(statement, TrainStatement)
    results = {
        r.check_name: r
        for r in run_data_checks(
            warehouse, statement, FileScope.of_folder(tmp_path), dg.AssetKey("t"), "m"
        )
    }
    assert results["m_features_exist"].passed is features_exist
    if label_not_null is None:
        assert "m_label_not_null" not in results
    else:
        assert results["m_label_not_null"].passed is label_not_null
        assert results["m_label_not_null"].description == says


@pytest.mark.slow
def test_a_null_label_blocks_the_training(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project(
        {
            "raw.sql": """
                CREATE TABLE labelled AS
                SELECT i AS id, i * 1.0 AS x, CASE WHEN i = 3 THEN NULL ELSE i % 2 END AS y
                FROM range(20) t(i);
            """,
            "model.sql": """
                SELECT x, y FROM labelled TO TRAIN sklearn.tree.DecisionTreeClassifier
                LABEL y INTO parity;

                SELECT id, x FROM labelled TO PREDICT parity_guess.y USING parity;
            """,
        }
    )
    result = materialize_all(root, tmp_path / "state")
    assert not result.success
    assert set(materialized(result)) == {"labelled"}  # no model, no prediction
    assert checks(result) == {
        "labelled:parity_features_exist": True,
        "labelled:parity_label_not_null": False,
    }
    assert not (tmp_path / "state" / "models" / "parity").exists()


def test_data_checks_target_the_last_input_and_wait_for_the_others(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project(
        {
            "a.sql": """
                CREATE TABLE features AS SELECT i AS id, i * 1.0 AS x FROM range(10) t(i);
                CREATE TABLE labels AS SELECT id, id % 2 AS y FROM features;
                SELECT f.x, l.y FROM features f JOIN labels l USING (id) JOIN raw_extra r USING (id)
                TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m;
            """
        }
    )
    defs = build_defs(root, state_dir=tmp_path / "state")
    (data,) = [a for a in defs.assets or [] if isinstance(a, dg.AssetChecksDefinition)]
    specs = list(data.check_specs)
    # labels is downstream of features; raw_extra is a source: labels is checked, and the
    # check waits for the other two.
    assert {s.asset_key.to_user_string() for s in specs} == {"labels"}
    assert {d.asset_key.to_user_string() for d in specs[0].additional_deps} == {
        "features",
        "raw_extra",
    }


def test_examples_in_docs_parse() -> None:
    """The quality-gates page's statements compile (the page is what users copy)."""
    page = (Path(__file__).parent.parent / "docs" / "quality-gates.md").read_text()
    blocks = [b.split("```", 1)[0] for b in page.split("```sql\n")[1:]]
    assert blocks
    for block in blocks:
        _, diagnostics = parse_sql_file("doc.sql", textwrap.dedent(block))
        assert [d.render() for d in diagnostics if d.is_error] == []
