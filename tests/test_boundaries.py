"""Boundaries that a one-character bug would move without any other test noticing: a gate
exactly at its threshold, and a pinned ``ML_PREDICT(m@N)`` whose versions predict
differently (so scoring with the wrong version cannot agree by accident)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from sqlml_dagster.store import Gate, GateResult

from .conftest import failure_reasons, materialize_all

NAN = float("nan")

# (op, threshold, value, passes): below, at and above each threshold, and no value at all.
GATE_CASES = [
    *[(">=", 0.9, v, p) for v, p in [(0.8999, False), (0.9, True), (0.9001, True)]],
    *[(">", 0.9, v, p) for v, p in [(0.8999, False), (0.9, False), (0.9001, True)]],
    *[("<=", 0.1, v, p) for v, p in [(0.0999, True), (0.1, True), (0.1001, False)]],
    *[("<", 0.1, v, p) for v, p in [(0.0999, True), (0.1, False), (0.1001, False)]],
    *[("=", 1.0, v, p) for v, p in [(0.9999, False), (1.0, True), (1.0001, False)]],
    *[(op, 0.5, v, False) for op in (">=", ">", "<=", "<", "=") for v in (None, NAN)],
]


@pytest.mark.parametrize(("op", "threshold", "value", "passes"), GATE_CASES)
def test_a_gate_at_below_and_above_its_threshold(
    op: str, threshold: float, value: float | None, passes: bool
) -> None:
    assert Gate("g", "accuracy", op, threshold).passes(value) is passes


def test_a_version_never_evaluated_does_not_pass_a_gate() -> None:
    assert Gate("g", "accuracy", ">=", 0.0).judge(None) is False


# (op, margin, candidate, champion, passes): below, at and above the champion's value plus
# the margin (binary-exact numbers, so "at" is exact), and a missing or NaN value on either side.
CHAMPION_CASES = [
    *[(">=", 0.125, v, 0.75, p) for v, p in [(0.8749, False), (0.875, True), (0.8751, True)]],
    *[(">", 0.125, v, 0.75, p) for v, p in [(0.8749, False), (0.875, False), (0.8751, True)]],
    *[("<=", -0.5, v, 2.0, p) for v, p in [(1.4999, True), (1.5, True), (1.5001, False)]],
    *[("<", 0.0, v, 2.0, p) for v, p in [(1.9999, True), (2.0, False), (2.0001, False)]],
    *[(">=", 0.125, 0.9, c, False) for c in (None, NAN)],
    *[(">=", 0.125, v, 0.5, False) for v in (None, NAN)],
]


@pytest.mark.parametrize(("op", "margin", "value", "champion", "passes"), CHAMPION_CASES)
def test_a_champion_gate_at_below_and_above_the_champion_plus_its_margin(
    op: str, margin: float, value: float | None, champion: float | None, passes: bool
) -> None:
    gate = Gate("g", "auc", op, margin, baseline="champion")
    assert gate.passes(value, champion) is passes
    recorded = GateResult(
        "g",
        "auc",
        op,
        margin,
        value,
        passes,
        "t",
        baseline="champion",
        champion_version=1,
        champion_value=champion,
    )
    assert gate.judge(recorded) is passes  # a recorded outcome is judged the same way


@pytest.mark.parametrize(
    ("recorded_passed", "value", "judged"),
    [(True, 0.6, True), (True, None, False), (False, 0.6, False)],
)
def test_a_champion_gate_without_a_champion_stays_as_it_was_recorded(
    recorded_passed: bool, value: float | None, judged: bool
) -> None:
    """No champion (or the candidate was it): the outcome passed by rule, whatever the
    margin is now; an absolute gate of the same name never reads it as its own."""
    recorded = GateResult(
        "g",
        "auc",
        ">=",
        0.125,
        value,
        recorded_passed,
        "t",
        baseline="champion",
        note="no champion yet",
    )
    assert Gate("g", "auc", ">=", 0.5, baseline="champion").judge(recorded) is judged
    assert Gate("g", "auc", ">=", 0.5).judge(recorded) is False


@pytest.mark.slow
def test_an_evaluation_exactly_at_the_threshold_passes_end_to_end(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """Separable rows give accuracy exactly 1.0: ``>= 1.0`` passes, ``> 1.0`` blocks."""
    sql = """
        CREATE TABLE d AS SELECT range * 1.0 AS x, (range >= 20)::INT AS y FROM range(40);
        SELECT x, y FROM d TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m;
        SELECT x, y FROM d TO EVALUATE m WITH validation.metrics = "Accuracy",
            check.accuracy {op} 1.0 LABEL y INTO m_eval;
        SELECT x FROM d TO PREDICT p.y USING m;
    """
    passed = materialize_all(write_project({"m.sql": sql.format(op=">=")}), tmp_path / "a")
    assert passed.success, failure_reasons(passed)
    blocked = materialize_all(write_project({"m.sql": sql.format(op=">")}), tmp_path / "b")
    assert not blocked.success
    assert "m_eval_accuracy: accuracy = 1 (needs > 1.0)" in failure_reasons(blocked)


@pytest.mark.slow
def test_ml_predict_pinned_to_a_version_scores_with_that_version(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """Version 1 learns y = x >= 20, version 2 the opposite; ``ML_PREDICT(m@1, …)`` and
    ``TO PREDICT … USING m@1`` must give version 1's answers, ``m@2`` version 2's."""
    state = tmp_path / "state"
    train = "SELECT x, y FROM d TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m;\n"
    first = "CREATE TABLE d AS SELECT range * 1.0 AS x, (range >= 20)::INT AS y FROM range(40);\n"
    second = first.replace("(range >= 20)", "(20 > range)")
    assert materialize_all(write_project({"m.sql": first + train}), state).success
    scoring = (
        "CREATE TABLE pinned AS SELECT x, ML_PREDICT(m@1, x) AS v1, ML_PREDICT(m@2, x) AS v2 "
        "FROM d;\nSELECT x FROM d TO PREDICT by_v1.y USING m@1;\n"
    )
    result = materialize_all(write_project({"m.sql": second + train + scoring}), state)
    assert result.success, failure_reasons(result)
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT x, v1, v2 FROM pinned ORDER BY x").fetchall()
        by_v1 = con.execute("SELECT x, y FROM by_v1 ORDER BY x").fetchall()
    assert [int(v1) for _, v1, _ in rows] == [int(x >= 20) for x, _, _ in rows]
    assert [int(v2) for _, _, v2 in rows] == [int(x < 20) for x, _, _ in rows]
    assert [int(y) for _, y in by_v1] == [int(x >= 20) for x, _ in by_v1]
