"""Rikai's ``CREATE MODEL … RETURNS <type>``: ``ML_PREDICT`` of the registered model returns
the declared type — a scalar casts the prediction, an ``ARRAY<float>`` holds the class
probabilities, a ``STRUCT`` is filled by field name (``label``/``prediction``,
``score``/``probability``, ``probabilities``). A value that does not fit, or a field the
model cannot produce, fails the table in one line naming the field and the type.

Real scikit-learn models, saved with skops and registered from the project's folder; one
materialization scores every case (each table is its own asset).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from .conftest import failure_reasons, materialize_all

pytestmark = pytest.mark.slow

POINTS = [(float(a), float(a % 3)) for a in range(8)]


def _models(folder: Path) -> tuple[Any, Any]:
    import skops.io as sio
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    x = [[a, b] for a, b in POINTS]
    classifier = DecisionTreeClassifier(max_depth=2, random_state=0).fit(
        x, ["big" if a + b > 4 else "small" for a, b in POINTS]
    )
    regressor = DecisionTreeRegressor(random_state=0).fit(x, [a * 2 + b for a, b in POINTS])
    halves = DecisionTreeRegressor(random_state=0).fit(x, [a / 2 for a, _ in POINTS])
    folder.mkdir()
    sio.dump(classifier, folder / "clf.skops")
    sio.dump(regressor, folder / "reg.skops")
    sio.dump(halves, folder / "halves.skops")
    return classifier, regressor


# (model file, RETURNS, expected value for the point (a, b) from the classifier's or the
# regressor's prediction `p` and the classifier's class probabilities `proba`)
Expect = Callable[[Any, list[float]], Any]
CASES: list[tuple[str, str, Expect]] = [
    ("clf", "string", lambda p, proba: p),
    (
        "clf",
        "struct<label:string, score:double>",
        lambda p, proba: {"label": p, "score": max(proba)},
    ),
    (
        "clf",
        "struct<prediction:string, probability:float, probabilities:array<double>>",
        lambda p, proba: {
            "prediction": p,
            "probability": pytest.approx(max(proba)),
            "probabilities": proba,
        },
    ),
    ("clf", "array<double>", lambda p, proba: proba),
    ("reg", "int", lambda p, proba: int(p)),
    ("reg", "bigint", lambda p, proba: int(p)),
    ("reg", "double", lambda p, proba: p),
    ("reg", "struct<label:double>", lambda p, proba: {"label": p}),
]

# (model file, RETURNS, the one line the table fails with)
FAILURES = [
    (
        "reg",
        "struct<label:double, score:double>",
        "SQLML536: ML_PREDICT(m_fail_0@1) RETURNS struct<label:double, score:double>: field "
        "'score' (double) needs class probabilities; m_fail_0@1 gives none",
    ),
    (
        "clf",
        "int",
        "SQLML536: ML_PREDICT(m_fail_1@1) RETURNS int: type int: the model predicted 'small', "
        "which is not int",
    ),
    (
        "halves",
        "struct<label:int>",
        "SQLML536: ML_PREDICT(m_fail_2@1) RETURNS struct<label:int>: field 'label' (int): the "
        "model predicted 0.5, which is not int",
    ),
]


@pytest.fixture(scope="module")
def scored(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dg.ExecuteInProcessResult, Any, Any]:
    project = tmp_path_factory.mktemp("returns")
    classifier, regressor = _models(project / "files")
    values = ", ".join(f"({a}, {b})" for a, b in POINTS)
    sql = [f"CREATE TABLE pts AS SELECT * FROM (VALUES {values}) AS t(a, b);"]
    for i, (model, returns, _) in enumerate(CASES):
        sql.append(
            f"CREATE MODEL m{i} FLAVOR sklearn RETURNS {returns} USING '../files/{model}.skops';"
        )
        sql.append(f"CREATE TABLE out{i} AS SELECT a, b, ML_PREDICT(m{i}, a, b) AS v FROM pts;")
    for i, (model, returns, _) in enumerate(FAILURES):
        sql.append(
            f"CREATE MODEL m_fail_{i} FLAVOR sklearn RETURNS {returns} USING '../files/{model}.skops';"
        )
        sql.append(
            f"CREATE TABLE fail{i} AS SELECT a, b, ML_PREDICT(m_fail_{i}, a, b) AS v FROM pts;"
        )
    root = project / "sql"
    root.mkdir()
    (root / "returns.sql").write_text("\n".join(sql) + "\n")
    state = project / "state"
    return state, materialize_all(root, state), classifier, regressor


def _rows(state: Path, table: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(f"SELECT a, b, v FROM {table} ORDER BY a").fetchall()


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)), ids=[c[1] for c in CASES])
def test_ml_predict_returns_the_declared_type(
    scored: tuple[Path, dg.ExecuteInProcessResult, Any, Any],
    index: int,
    case: tuple[str, str, Expect],
) -> None:
    state, _, classifier, regressor = scored
    model, _, expect = case
    estimator = classifier if model == "clf" else regressor
    expected = []
    for a, b in POINTS:
        predicted = estimator.predict([[a, b]])[0].item()
        proba = classifier.predict_proba([[a, b]])[0].tolist()
        expected.append((a, b, expect(predicted, proba)))
    assert _rows(state, f"out{index}") == expected


@pytest.mark.parametrize(("index", "case"), list(enumerate(FAILURES)), ids=[c[1] for c in FAILURES])
def test_a_value_or_field_the_model_cannot_give_fails_in_one_line(
    scored: tuple[Path, dg.ExecuteInProcessResult, Any, Any],
    index: int,
    case: tuple[str, str, str],
) -> None:
    state, result, _, _ = scored
    reasons = [r for r in failure_reasons(result).splitlines() if f"m_fail_{index}@" in r]
    assert len(reasons) == 1, failure_reasons(result)
    assert case[2] in reasons[0]
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        tables = {
            t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
    assert f"fail{index}" not in tables


def test_the_version_keeps_its_declared_type(
    scored: tuple[Path, dg.ExecuteInProcessResult, Any, Any],
) -> None:
    from sqlml_dagster.store import ModelStore

    state, _, _, _ = scored
    version = ModelStore(str(state / "models")).get("m1")
    assert version.manifest.params["returns"] == {"type": "struct<label:string, score:double>"}
