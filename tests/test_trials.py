"""Hyper-parameter trials, before anything trains: how a search space is written and
refused, how it round-trips, which way each metric is better, and how the orchestrator's
search samples, runs at most ``max_parallel_trials`` at once and picks the best.

The search is exercised with trial functions written here (each returns what a step
would report); the end-to-end runs through real steps are in ``test_trials_e2e.py``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sqlml_dagster.compiler import check_project
from sqlml_dagster.compiler.parser import parse_sql_file
from sqlml_dagster.compiler.render import to_json, to_sql
from sqlml_dagster.contract import TrainingResult
from sqlml_dagster.contract.layout import version_uri_problem
from sqlml_dagster.contract.trials import HparamCandidates, HparamRange, metric_direction
from sqlml_dagster.launchers import LaunchResult
from sqlml_dagster.ops.trials import Search, TrialsFailed, run_search

HEAD = "SELECT * FROM t TO TRAIN sklearn.ensemble.RandomForestClassifier WITH "
TAIL = " LABEL y INTO m;"

# -- the language -----------------------------------------------------------------------

ROUND_TRIPS = [
    # (WITH values as written, the values the IR holds)
    ("model.max_depth = HPARAM_RANGE(2, 8)", {"model.max_depth": HparamRange(2, 8)}),
    (
        "train.learning_rate = hparam_range(1e-4, 1e-1, LOG)",
        {"train.learning_rate": HparamRange(0.0001, 0.1, log=True)},
    ),
    (
        "model.n_estimators = HPARAM_CANDIDATES([50, 100, 200])",
        {"model.n_estimators": HparamCandidates((50, 100, 200))},
    ),
    (
        'model.hidden_units = HPARAM_CANDIDATES([[16, 16], [32]]), model.criterion = HPARAM_CANDIDATES(["gini", "entropy"])',
        {
            "model.hidden_units": HparamCandidates(([16, 16], [32])),
            "model.criterion": HparamCandidates(("gini", "entropy")),
        },
    ),
    ("model.alpha = HPARAM_RANGE(-1.5, 2)", {"model.alpha": HparamRange(-1.5, 2)}),
]


@pytest.mark.parametrize(("written", "values"), ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_search_spaces_round_trip_ir_sql_ir(written: str, values: dict[str, Any]) -> None:
    parsed, found = parse_sql_file("a.sql", HEAD + written + ", train.num_trials = 4" + TAIL)
    assert found == []
    (statement,) = parsed.statements
    assert {p.key: p.value for p in statement.params if p.key != "train.num_trials"} == values
    again, found = parse_sql_file("b.sql", to_sql(statement) + ";")
    assert found == []
    assert to_json(again.statements[0]) == to_json(statement)


REFUSED = [
    # (WITH values, the code, words of its message)
    ("model.a = HPARAM_RANGE(8, 2)", "SQLML130", "low bound 8 must be below its high bound 2"),
    ("model.a = HPARAM_RANGE(0, 1, log)", "SQLML130", "a log range needs a positive low bound"),
    ("model.a = HPARAM_RANGE(1)", "SQLML130", "it takes two bounds"),
    ('model.a = HPARAM_RANGE("a", 2)', "SQLML130", "its bounds must be numbers"),
    ("model.a = HPARAM_CANDIDATES([])", "SQLML130", "it lists no candidate"),
    ("model.a = HPARAM_CANDIDATES([1, 1])", "SQLML130", "it lists 1 twice"),
    ("model.a = HPARAM_CANDIDATES(1, 2)", "SQLML130", "it takes one [list]"),
    ("model.a = [HPARAM_RANGE(1, 2)]", "SQLML130", "inside a list"),
    ("resources.cpu = HPARAM_RANGE(1, 2)", "SQLML130", "not a model or training parameter"),
    ("train.num_trials = HPARAM_RANGE(1, 9)", "SQLML130", "how the step runs"),
    ("train.num_trials = 8", "SQLML131", "'train.num_trials' but no parameter is searched"),
    ("train.max_parallel_trials = 2", "SQLML131", "no parameter is searched"),
    ("model.a = HPARAM_RANGE(1, 4), train.num_trials = 0", "SQLML132", "at least 1"),
    ("model.a = HPARAM_RANGE(1, 4), train.trial_sampler = 'bayes'", "SQLML132", "tpe, random"),
    (
        "model.a = HPARAM_RANGE(0.1, 0.9), train.trial_sampler = 'grid'",
        "SQLML132",
        "a range of real numbers",
    ),
    (
        "model.a = HPARAM_RANGE(1, 4), train.objective = 'val_accuracy'",
        "SQLML133",
        "measured on validation rows and the statement has none",
    ),
    (
        "model.a = HPARAM_RANGE(1, 4), train.objective = 'val_rmse', validation.split = 0.2",
        "SQLML133",
        "a regression metric and this model does classification",
    ),
    (
        "model.a = HPARAM_RANGE(1, 4), train.objective = 'loss'",
        "SQLML133",
        "a scikit-learn estimator reports none",
    ),
    (
        "model.a = HPARAM_RANGE(1, 4), train.objective = 'val_acuracy'",
        "SQLML133",
        "training reports no metric 'val_acuracy'",
    ),
]


@pytest.mark.parametrize(("written", "code", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_what_a_search_may_not_say(written: str, code: str, words: str) -> None:
    _, found = parse_sql_file("a.sql", HEAD + written + TAIL)
    assert [d.code for d in found] == [code], [d.message for d in found]
    assert words in found[0].message


def test_only_to_train_searches() -> None:
    _, found = parse_sql_file(
        "a.sql", "SELECT * FROM t TO PREDICT o.y WITH model.a = HPARAM_CANDIDATES([1, 2]) USING m;"
    )
    assert [(d.code, d.span.col) for d in found] == [("SQLML130", 37)]
    assert "only TO TRAIN searches hyper-parameters" in found[0].message


def test_objectives_a_network_reports_pass(tmp_path: Path) -> None:
    root = tmp_path / "sql"
    root.mkdir()
    (root / "a.sql").write_text(
        "SELECT * FROM t TO TRAIN DNNClassifier WITH model.hidden_units = "
        "HPARAM_CANDIDATES([[8], [16]]), train.objective = 'val_loss', validation.split = 0.2 "
        "LABEL y INTO m;\n"
    )
    project, found = check_project(root)
    assert project is not None and found == []


# -- the contract -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "direction"),
    [
        ("accuracy", "maximize"),
        ("val_accuracy", "maximize"),
        ("val_auc", "maximize"),
        ("r2", "maximize"),
        ("val_f1_macro", "maximize"),
        ("loss", "minimize"),
        ("val_loss", "minimize"),
        ("val_rmse", "minimize"),
        ("mae", "minimize"),
        ("inertia", None),
    ],
)
def test_which_way_each_metric_is_better(metric: str, direction: str | None) -> None:
    assert metric_direction(metric) == direction


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("/store/m/3", None),
        ("/store/m/3/.trials/0", None),
        ("/store/m/3/.trials/x", "is not a version folder"),
        ("/store/m/3/trials/0", "is not a version folder"),
        ("/store/other/3/.trials/0", "is not a version folder"),
        ("/store/m/3/.trials/../../n/1", "is not a plain path"),
    ],
)
def test_a_trial_writes_only_inside_its_reserved_version(uri: str, problem: str | None) -> None:
    found = version_uri_problem(uri, "m", "/store")
    assert (found is None) if problem is None else (problem in str(found))


# -- the search ---------------------------------------------------------------------------


def reported(metrics: dict[str, float]) -> LaunchResult:
    """What a succeeded training step reports."""
    return LaunchResult(result=TrainingResult(kind="train", metrics=metrics))


def search(**train: Any) -> Search:
    params = {
        "model": {"depth": HparamRange(1, 9), "kind": HparamCandidates(("a", "b", "c"))},
        "train": {"num_trials": 6, **train},
    }
    found = Search.of(params)
    assert found is not None
    return found


def quadratic(number: int, values: dict[str, Any]) -> LaunchResult:
    """A trial whose validation loss is smallest at depth 4 with kind 'b'."""
    loss = (values["model.depth"] - 4) ** 2 + (0 if values["model.kind"] == "b" else 1)
    return reported({"val_loss": float(loss), "loss": float(loss) / 2})


@pytest.mark.parametrize("sampler", ["tpe", "random", "grid"])
def test_the_same_statement_samples_the_same_trials_however_long_each_takes(
    sampler: str,
) -> None:
    def slow_first(number: int, values: dict[str, Any]) -> LaunchResult:
        time.sleep(0.05 if number % 2 == 0 else 0.0)  # finishing out of order
        return quadratic(number, values)

    first = run_search(search(max_parallel_trials=3, trial_sampler=sampler), quadratic, print)
    again = run_search(search(max_parallel_trials=3, trial_sampler=sampler), slow_first, print)
    assert [t.params for t in first.trials] == [t.params for t in again.trials]
    assert len({str(t.params) for t in first.trials}) > 1  # it does search


def test_never_more_than_max_parallel_trials_run_at_once() -> None:
    running, most, lock = [0], [0], threading.Lock()

    def counted(number: int, values: dict[str, Any]) -> LaunchResult:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return quadratic(number, values)

    outcome = run_search(search(num_trials=8, max_parallel_trials=3), counted, print)
    assert len(outcome.trials) == 8
    assert most[0] == 3


def test_the_best_trial_by_the_objective_is_kept_and_every_trial_recorded() -> None:
    outcome = run_search(search(num_trials=8, trial_sampler="random"), quadratic, print)
    assert outcome.objective == "val_loss"  # unwritten: a network's validation loss first
    best = min(outcome.trials, key=lambda t: (t.metrics["val_loss"], t.number))
    assert outcome.best == best.number
    assert [t.number for t in outcome.trials] == list(range(8))
    assert {t.status for t in outcome.trials} == {"succeeded"}
    assert all(t.seconds >= 0 for t in outcome.trials)


@pytest.mark.parametrize(
    ("objective", "best_depth"),
    [("val_accuracy", 9), ("val_rmse", 1)],  # accuracy up, rmse down
)
def test_the_objective_decides_which_way_is_better(objective: str, best_depth: int) -> None:
    def monotone(number: int, values: dict[str, Any]) -> LaunchResult:
        depth = float(values["model.depth"])
        return reported({"val_accuracy": depth / 10, "val_rmse": depth})

    outcome = run_search(
        search(num_trials=9, trial_sampler="grid", objective=objective), monotone, print
    )
    best = next(t for t in outcome.trials if t.number == outcome.best)
    assert best.params["model.depth"] == best_depth


def test_a_failed_trial_is_recorded_and_the_others_go_on() -> None:
    def sometimes(number: int, values: dict[str, Any]) -> LaunchResult:
        if number == 1:
            raise RuntimeError("train step for 'm' failed: out of memory")
        return quadratic(number, values)

    outcome = run_search(search(num_trials=4, max_parallel_trials=2), sometimes, print)
    statuses = {t.number: (t.status, t.error) for t in outcome.trials}
    assert statuses[1] == ("failed", "train step for 'm' failed: out of memory")
    assert [statuses[n][0] for n in (0, 2, 3)] == ["succeeded"] * 3
    assert outcome.best != 1


def test_when_every_trial_fails_the_search_names_each_failure() -> None:
    def failing(number: int, values: dict[str, Any]) -> LaunchResult:
        raise RuntimeError(f"bad value {number}")

    with pytest.raises(TrialsFailed) as failed:
        run_search(search(num_trials=3), failing, print)
    assert str(failed.value) == (
        "all 3 trials failed — trial 0: bad value 0; trial 1: bad value 1; trial 2: bad value 2"
    )


def test_a_trial_without_the_objective_is_a_failed_trial() -> None:
    outcome = run_search(
        search(num_trials=2, objective="val_accuracy"),
        lambda n, v: reported({"val_accuracy": 0.5} if n else {"accuracy": 0.9}),
        print,
    )
    assert outcome.trials[0].status == "failed"
    assert outcome.trials[0].error == "reported no 'val_accuracy' (it reported accuracy)"
    assert outcome.best == 1


def test_a_grid_runs_each_point_once_and_no_more() -> None:
    found = Search.of(
        {
            "model": {"kind": HparamCandidates(("a", "b")), "depth": HparamRange(1, 3)},
            "train": {"trial_sampler": "grid"},
        }
    )
    assert found is not None and found.num_trials == 6
    outcome = run_search(found, quadratic, print)
    assert sorted((t.params["model.kind"], t.params["model.depth"]) for t in outcome.trials) == [
        ("a", 1),
        ("a", 2),
        ("a", 3),
        ("b", 1),
        ("b", 2),
        ("b", 3),
    ]


def test_sqlml_check_refuses_a_range_on_a_key_the_constructor_lacks(tmp_path: Path) -> None:
    from sqlml_dagster.validate import DeepCheckOptions, check_path

    root = tmp_path / "sql"
    root.mkdir()
    (root / "a.sql").write_text(
        "SELECT * FROM t TO TRAIN sklearn.tree.DecisionTreeClassifier\n"
        "WITH model.max_dept = HPARAM_RANGE(2, 8), train.num_trials = 4 LABEL y INTO m;\n"
    )
    checked = check_path(root, options=DeepCheckOptions(cache_dir=tmp_path / "cache"))
    assert [(d.code, d.span.line, d.span.col) for d in checked.diagnostics] == [("SQLML401", 2, 6)]
    assert "did you mean 'model.max_depth'?" in str(checked.diagnostics[0].hint)
