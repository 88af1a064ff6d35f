"""``-- sqlml:`` directives: their grammar, their diagnostics, and what Dagster does with them.

The end-to-end tests run Dagster's own automation evaluation (``evaluate_automation_conditions``
against a real instance, with real materializations in between): a scheduled model is
requested on its cron tick and not before, and a prediction is requested once its model
gets a new version.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from sqlml_dagster import build_defs
from sqlml_dagster.compiler import SqlMlCompileError, check_project, compile_project
from sqlml_dagster.compiler.directives import Directives, Partitioning

# whole projects materialized end to end: seconds each (docs/testing.md)
pytestmark = pytest.mark.slow

warnings.filterwarnings("ignore", category=dg.BetaWarning)

EXAMPLE_SQL = Path(__file__).resolve().parents[1] / "example_repo" / "sql"
UTC = dt.timezone.utc

TABLE = "CREATE TABLE t AS SELECT range AS x, range % 2 AS y, TIMESTAMP '2026-01-01' + to_hours(range) AS ts FROM range(100);\n"
TRAIN = "SELECT x, y FROM t TO TRAIN sklearn.linear_model.LogisticRegression LABEL y INTO m;\n"
PREDICT = "SELECT * FROM t TO PREDICT p.y USING m;\n"


def _project(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "sql"
    folder.mkdir(exist_ok=True)
    (folder / "f.sql").write_text(text)
    return folder


def _directives(tmp_path: Path, text: str, name: str) -> Directives:
    return compile_project(_project(tmp_path, text)).node(name).directives


# -- grammar: comment → typed directives ---------------------------------------------------

START = dt.date(2026, 1, 1).isoformat()


@pytest.mark.parametrize(
    ("above_train", "expected"),
    [
        ('-- sqlml: schedule = "0 3 * * *"\n', {"schedule": "0 3 * * *", "timezone": "UTC"}),
        (
            "-- sqlml: schedule = '@daily', timezone = 'Europe/Berlin'\n",
            {"schedule": "@daily", "timezone": "Europe/Berlin"},
        ),
        ("--sqlml: automation = EAGER\n", {"automation": "eager"}),
        ("-- SQLML: automation = on_missing\n", {"automation": "on_missing"}),
        ('-- sqlml: freshness = "26h"\n', {"freshness": dt.timedelta(hours=26)}),
        ('-- sqlml: freshness = "90m"\n', {"freshness": dt.timedelta(minutes=90)}),
        ('-- sqlml: owner = "ml@example.com"\n', {"owners": ("ml@example.com",)}),
        (
            '-- sqlml: owners = ["ml@example.com", "team:ml"]\n',
            {"owners": ("ml@example.com", "team:ml")},
        ),
        (
            '-- sqlml: tags.tier = "gold", tags.cost = 3\n',
            {"tags": (("cost", "3"), ("tier", "gold"))},
        ),
        ("-- sqlml: group = nightly\n", {"group": "nightly"}),
        ('/* sqlml: schedule = "0 4 * * *" */\n', {"schedule": "0 4 * * *"}),
        (
            '-- sqlml: owner = "a@example.com"\n-- an ordinary comment between\n-- sqlml: group = g\n',
            {"owners": ("a@example.com",), "group": "g"},
        ),
        ("-- sqlml is mentioned here, but this is prose\n", {}),
    ],
)
def test_directive_grammar(tmp_path: Path, above_train: str, expected: dict[str, Any]) -> None:
    directives = _directives(tmp_path, TABLE + "\n" + above_train + TRAIN, "m")
    assert directives == Directives(**expected)


def test_file_directives_apply_to_every_statement_and_statements_override(tmp_path: Path) -> None:
    text = (
        '-- sqlml-file: owner = "ml@example.com", schedule = "0 3 * * *"\n'
        + TABLE
        + '-- sqlml: schedule = "0 5 * * *"\n'
        + TRAIN
    )
    project = compile_project(_project(tmp_path, text))
    assert project.node("t").directives == Directives(
        schedule="0 3 * * *", owners=("ml@example.com",)
    )
    assert project.node("m").directives == Directives(
        schedule="0 5 * * *", owners=("ml@example.com",)
    )


def test_partition_by(tmp_path: Path) -> None:
    text = (
        TABLE
        + TRAIN
        + '-- sqlml: partition_by = day(ts), partition_start = "2026-01-01"\n'
        + PREDICT
    )
    partition = _directives(tmp_path, text, "p").partition
    assert isinstance(partition, Partitioning)
    assert (partition.grain, partition.column, partition.start) == ("day", "ts", START)
    assert (partition.span.line, partition.span.col) == (3, 11)


# -- diagnostics: every mistake at its place ----------------------------------------------


@pytest.mark.parametrize(
    ("directive", "col", "message", "hint"),
    [
        ('schedule = "0 25 * * *"', 11, "invalid cron string '0 25 * * *'", "minute hour"),
        ('schedule = "every day"', 11, "invalid cron string", "0 3 * * *"),
        ('schedule = "0 3 * * *", timezone = "Mars/Olympus"', 35, "unknown time zone", "IANA"),
        ('timezone = "UTC"', 11, "timezone applies to schedule", None),
        ("automation = sometimes", 11, "invalid value 'sometimes' for automation", "eager"),
        (
            "on_new_model = eager",
            11,
            "on_new_model applies to statements that use a model",
            "ML_PREDICT",
        ),
        ('freshness = "3 parsecs"', 11, "invalid duration", "26h"),
        ('owner = "nobody"', 11, "invalid owner 'nobody'", "team:ml"),
        ('tags.tier = "gold tier"', 11, "invalid tag value", "63 characters"),
        ("partition_by = day(ts)", 11, "partition_by applies to TO PREDICT", None),
        ("shedule = 1", 11, "unknown directive 'shedule'", "did you mean 'schedule'?"),
        ("schedule", 18, "expected '=' after the directive name", None),
        ('schedule = "0 3 * * *" owner = "a@b.co"', 34, "expected ',' between directives", None),
        ("", 9, "empty directive", "key = value"),
    ],
)
def test_directive_diagnostics(
    tmp_path: Path, directive: str, col: int, message: str, hint: str | None
) -> None:
    text = TABLE + f"-- sqlml: {directive}\n" + TRAIN
    _, diagnostics = check_project(_project(tmp_path, text))
    errors = [d for d in diagnostics if d.is_error]
    assert len(errors) == 1, [d.render() for d in diagnostics]
    error = errors[0]
    assert error.code in ("SQLML111", "SQLML102")
    assert message in error.message
    assert error.span is not None
    assert (error.span.line, error.span.col) == (2, col)
    if hint:
        assert error.hint and hint in error.hint
    assert "Traceback" not in error.render()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            TABLE + TRAIN + "-- sqlml: partition_by = day(ts)\n" + PREDICT,
            "partition_by needs partition_start",
        ),
        (
            TABLE
            + TRAIN
            + "-- sqlml: partition_by = year(ts), partition_start = '2026-01-01'\n"
            + PREDICT,
            "invalid partitioning year(ts)",
        ),
        (
            TABLE
            + TRAIN
            + "-- sqlml: partition_by = day(ts), partition_start = 'soon'\n"
            + PREDICT,
            "invalid date 'soon'",
        ),
    ],
)
def test_partition_diagnostics(tmp_path: Path, text: str, message: str) -> None:
    _, diagnostics = check_project(_project(tmp_path, text))
    errors = [d for d in diagnostics if d.is_error]
    assert len(errors) == 1 and message in errors[0].message, [d.message for d in errors]
    assert errors[0].code == "SQLML111"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (TABLE + TRAIN + "-- sqlml: group = g\n", "stands after the last statement"),
        ("-- sqlml: group = g\nSET threads = 1;\n" + TABLE, "not an asset, so it does nothing"),
        (
            "SELECT x, y FROM t\n-- sqlml: group = g\nTO TRAIN sklearn.linear_model.LogisticRegression LABEL y INTO m;\n"
            + TABLE,
            "a directive inside a statement is ignored",
        ),
    ],
)
def test_directives_that_would_do_nothing_warn(tmp_path: Path, text: str, message: str) -> None:
    _, diagnostics = check_project(_project(tmp_path, text))
    warnings_ = [d for d in diagnostics if not d.is_error]
    assert [d.code for d in warnings_] == ["SQLML111"]
    assert message in warnings_[0].message


def test_build_defs_reports_directive_errors_with_location(tmp_path: Path) -> None:
    folder = _project(tmp_path, TABLE + '-- sqlml: schedule = "whenever"\n' + TRAIN)
    with pytest.raises(SqlMlCompileError, match=r"f\.sql:2:11"):
        build_defs(folder, state_dir=tmp_path / "state")


# -- Dagster: specs ------------------------------------------------------------------------


def test_directives_become_asset_spec_properties(tmp_path: Path) -> None:
    text = (
        '-- sqlml-file: owner = "team:ml", tags.domain = "toy"\n'
        + TABLE
        + '-- sqlml: schedule = "0 3 * * *", timezone = "Europe/Berlin", freshness = "2d", group = nightly\n'
        + TRAIN
        + '-- sqlml: on_new_model = eager, partition_by = day(ts), partition_start = "2026-01-01"\n'
        + PREDICT
    )
    defs = build_defs(_project(tmp_path, text), state_dir=tmp_path / "state")
    graph = defs.resolve_asset_graph()
    t, m, p = (graph.get(dg.AssetKey(k)) for k in "tmp")
    assert t.automation_condition is None and t.owners == ["team:ml"]
    assert t.tags["domain"] == "toy" and t.tags["sqlml/kind"] == "table"
    assert m.automation_condition is not None
    assert m.automation_condition.get_label() == "on_schedule(0 3 * * *, Europe/Berlin)"
    assert m.group_name == "nightly"
    assert m.freshness_policy == dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(days=2))
    assert p.automation_condition is not None
    assert p.automation_condition.get_label() == "on_new_model"
    assert p.partitions_def == dg.DailyPartitionsDefinition(start_date="2026-01-01")


# -- Dagster: automation evaluated for real --------------------------------------------------


class _Ticks:
    """Evaluates automation conditions at successive times, keeping Dagster's cursor."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance):
        self.defs, self.instance, self.cursor = defs, instance, None

    def at(self, when: dt.datetime) -> dict[str, int]:
        result = dg.evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.cursor, evaluation_time=when
        )
        self.cursor = result.cursor
        return {
            key.to_user_string(): result.get_num_requested(key)
            for key in self.defs.resolve_asset_graph().get_all_asset_keys()
            if result.get_num_requested(key)
        }


def _materialize(defs: dg.Definitions, instance: dg.DagsterInstance, *keys: str) -> None:
    assets = [defs.get_assets_def(key) for key in keys]
    result = dg.materialize(assets, resources=defs.resources, instance=instance)
    assert result.success


def test_the_example_retrains_on_its_cron_tick_and_refreshes_predictions_after(
    tmp_path: Path,
) -> None:
    """example_repo's iris_rf is scheduled at 03:00; iris_predictions and iris_evaluation
    follow new iris_rf versions. Nothing else in the example is automated."""
    defs = build_defs(EXAMPLE_SQL, state_dir=tmp_path / "state")
    with dg.instance_for_test() as instance:
        ticks = _Ticks(defs, instance)
        _materialize(defs, instance, "raw_iris", "iris_train")
        assert ticks.at(dt.datetime(2026, 11, 24, 1, 0, tzinfo=UTC)) == {}
        assert ticks.at(dt.datetime(2026, 11, 24, 2, 59, tzinfo=UTC)) == {}
        # On the tick the model retrains, and its followers refresh in the same run after it.
        refresh = {"iris_rf": 1, "iris_predictions": 1, "iris_evaluation": 1}
        assert ticks.at(dt.datetime(2026, 11, 24, 3, 1, tzinfo=UTC)) == refresh
        _materialize(defs, instance, "iris_rf", "iris_predictions", "iris_evaluation")
        assert ticks.at(dt.datetime(2026, 11, 24, 3, 2, tzinfo=UTC)) == {}  # once per tick

        _materialize(defs, instance, "iris_rf")  # a retrain on unchanged data reuses v1 ...
        assert ticks.at(dt.datetime(2026, 11, 24, 8, 0, tzinfo=UTC)) == {}  # ... nothing new

        with duckdb.connect(str(tmp_path / "state" / "warehouse.duckdb")) as con:
            con.execute("INSERT INTO iris_train SELECT * FROM iris_train LIMIT 1")
        _materialize(defs, instance, "iris_rf")  # new data: version 2 lands
        assert ticks.at(dt.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)) == {
            "iris_predictions": 1,
            "iris_evaluation": 1,
        }
        _materialize(defs, instance, "iris_predictions", "iris_evaluation")
        assert ticks.at(dt.datetime(2026, 11, 24, 9, 10, tzinfo=UTC)) == {}
        assert ticks.at(dt.datetime(2026, 11, 25, 3, 0, 30, tzinfo=UTC)) == refresh


def test_a_file_wide_schedule_refreshes_tables_before_the_model(tmp_path: Path) -> None:
    text = '-- sqlml-file: schedule = "0 3 * * *"\n' + TABLE + TRAIN
    defs = build_defs(_project(tmp_path, text), state_dir=tmp_path / "state")
    with dg.instance_for_test() as instance:
        ticks = _Ticks(defs, instance)
        _materialize(defs, instance, "t", "m")
        assert ticks.at(dt.datetime(2026, 11, 24, 2, 0, tzinfo=UTC)) == {}
        # On the tick both are requested together: m waits for t inside the run.
        assert ticks.at(dt.datetime(2026, 11, 24, 3, 1, tzinfo=UTC)) == {"t": 1, "m": 1}


# -- partitioned predictions ----------------------------------------------------------------


def test_each_partition_materializes_its_own_rows_with_the_current_model(tmp_path: Path) -> None:
    text = (
        TABLE
        + TRAIN
        + '-- sqlml: partition_by = day(ts), partition_start = "2026-01-01"\n'
        + PREDICT
    )
    state = tmp_path / "state"
    defs = build_defs(_project(tmp_path, text), state_dir=state)
    predictions = defs.get_assets_def("p")

    def run(partition: str) -> dict[str, Any]:
        result = dg.materialize(
            [predictions], resources=defs.resources, instance=instance, partition_key=partition
        )
        assert result.success
        (event,) = result.get_asset_materialization_events()
        assert event.partition == partition
        return {k: v.value for k, v in event.materialization.metadata.items()}

    def days() -> list[tuple[str, int]]:
        with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
            rows = con.sql("SELECT strftime(ts, '%Y-%m-%d'), count(*) FROM p GROUP BY 1 ORDER BY 1")
            return [(str(d), int(n)) for d, n in rows.fetchall()]

    with dg.instance_for_test() as instance:
        _materialize(defs, instance, "t", "m")
        first = run("2026-01-02")
        assert (first["partition_rows"], first["model_version"]) == (24, 1)
        assert days() == [("2026-01-02", 24)]
        second = run("2026-01-03")
        assert second["partition_rows"] == 24
        assert days() == [("2026-01-02", 24), ("2026-01-03", 24)]
        run("2026-01-02")  # a rerun replaces its own day, nothing else
        assert days() == [("2026-01-02", 24), ("2026-01-03", 24)]
        assert run("2026-02-01")["partition_rows"] == 0  # a day without data: an empty partition
        assert days() == [("2026-01-02", 24), ("2026-01-03", 24)]


def test_sqlml_materialize_runs_partitioned_assets_one_partition_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlml_dagster.cli import main

    text = (
        TABLE
        + TRAIN
        + '-- sqlml: partition_by = day(ts), partition_start = "2026-01-01"\n'
        + PREDICT
    )
    _project(tmp_path, text)
    (tmp_path / "partitioned_defs.py").write_text(
        "from sqlml_dagster import build_defs\n"
        f"defs = build_defs('sql', state_dir={str(tmp_path / 'state')!r})\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["materialize", "-m", "partitioned_defs", "--partition", "2026-01-03"]) == 0
    out = capsys.readouterr().out
    assert "materialized 3 asset(s)" in out
    assert "p  24 rows in 2026-01-03, 24 rows in all" in out
    assert main(["materialize", "-m", "partitioned_defs", "--select", "p"]) == 0  # latest day
    assert "p  0 rows in 20" in capsys.readouterr().out


def test_one_running_sensor_evaluates_the_automated_assets(tmp_path: Path) -> None:
    defs = build_defs(EXAMPLE_SQL, state_dir=tmp_path / "state")
    (sensor,) = defs.sensors or []
    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
    assert sensor.name == "sqlml_automation"
    assert sensor.default_status is dg.DefaultSensorStatus.RUNNING
    graph = defs.resolve_asset_graph()
    targeted = sensor.asset_selection.resolve(graph)
    assert {k.to_user_string() for k in targeted} == {
        "iris_rf",
        "iris_predictions",
        "iris_evaluation",
    }
    plain = build_defs(_project(tmp_path, TABLE + TRAIN), state_dir=tmp_path / "plain")
    assert not plain.sensors  # nothing automated, no sensor


CSV_TABLE = "CREATE TABLE a AS SELECT * FROM read_csv('../data/d.csv');\n"
READER = "-- sqlml: automation = {automation}\nCREATE TABLE b AS SELECT x * 2 AS x FROM a;\n"


@pytest.mark.parametrize(
    ("automation", "after_same_data", "after_new_data"),
    [
        # eager: every materialization of an input, whatever it holds
        ("eager", {"b": 1}, {"b": 1}),
        # on_change: only a new data version (what a reads: the file's content)
        ("on_change", {}, {"b": 1}),
    ],
)
def test_on_change_runs_when_an_input_s_data_version_changes_not_on_every_refresh(
    tmp_path: Path, automation: str, after_same_data: dict[str, int], after_new_data: dict[str, int]
) -> None:
    """A table reports what it is built from as its data version (its statement and the
    file it reads): refreshing ``a`` from the same file is no change to ``b``."""
    (tmp_path / "data").mkdir()
    csv = tmp_path / "data" / "d.csv"
    csv.write_text("x\n1\n2\n")
    defs = build_defs(
        _project(tmp_path, CSV_TABLE + READER.format(automation=automation)),
        state_dir=tmp_path / "state",
    )
    with dg.instance_for_test() as instance:
        ticks = _Ticks(defs, instance)
        _materialize(defs, instance, "a", "b")
        assert ticks.at(dt.datetime(2026, 11, 24, 1, 0, tzinfo=UTC)) == {}
        _materialize(defs, instance, "a")  # the same file again
        assert ticks.at(dt.datetime(2026, 11, 24, 1, 1, tzinfo=UTC)) == after_same_data
        _materialize(defs, instance, "b")
        assert ticks.at(dt.datetime(2026, 11, 24, 1, 2, tzinfo=UTC)) == {}
        csv.write_text("x\n1\n2\n3\n")
        _materialize(defs, instance, "a")  # new data
        assert ticks.at(dt.datetime(2026, 11, 24, 1, 3, tzinfo=UTC)) == after_new_data
