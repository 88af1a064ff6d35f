"""TO EXPLAIN's ``summary.plot_type`` and ``explain.per_row``, as steps over real
scikit-learn models (``test_scoring.py``'s world: only ``a`` carries signal): each chart
type writes its own PNG, the per-row table holds one row per explained row with an
attribution per feature that sums with the base value to the model's own output (SHAP's
local accuracy, exact for trees), and what cannot be drawn fails with a code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from sqlml_dagster.contract.explain import PLOT_TYPES
from sqlml_dagster.runtime import StepError, scoring
from sqlml_dagster.runtime.data import sample_row_numbers
from sqlml_dagster.runtime.flavors.sklearn import load_estimator

from .test_scoring import FEATURES, PNG_MAGIC, World, explain, world

__all__ = ["world"]  # the fixture, shared with test_scoring.py

pytestmark = [
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:shap.plots.colors._colors"),
    pytest.mark.filterwarnings("ignore::FutureWarning:shap"),
]
ROWS = 60
PER_ROW = {"explain": {"max_rows": ROWS, "per_row": True}}


def chart(world: World, plot_type: str, **summary: Any) -> tuple[bytes, dict[str, Any]]:
    params = {"explain": {"max_rows": ROWS}, "summary": {"plot_type": plot_type, **summary}}
    recorder, _, output_uri = explain(world, world.forest, explainer="TreeExplainer", params=params)
    return (Path(output_uri).parent / scoring.PLOT_FILE).read_bytes(), recorder.payload


def per_row(world: World, model: str, **fields: Any) -> tuple[Any, dict[str, Any]]:
    recorder, _, _ = explain(world, getattr(world, model), params=PER_ROW, **fields)
    payload = recorder.payload
    return pq.read_table(payload["rows_uri"]), payload


def sampled_rows(world: World) -> dict[str, np.ndarray]:
    """The rows the step explained: the same seeded draw (``seed=3`` in ``step``)."""
    table = pq.read_table(world.data)
    kept = sample_row_numbers(table.num_rows, ROWS, 3)
    assert kept is not None
    return {c: table.column(c).to_numpy()[kept] for c in [*FEATURES, "y", "y3", "v"]} | {
        "row_number": kept
    }


def model_of(world: World, model: str) -> Any:
    return load_estimator(str(getattr(world, model).uri))


# -- summary.plot_type ---------------------------------------------------------------------


@pytest.mark.slow
def test_each_plot_type_draws_its_own_chart(world: World) -> None:
    pytest.importorskip("shap")
    drawn = {t: chart(world, t) for t in PLOT_TYPES}
    for plot_type, (png, payload) in drawn.items():
        assert png.startswith(PNG_MAGIC), plot_type
        assert payload["plot_type"] == plot_type
        assert payload["rows_uri"] is None  # no explain.per_row: no second table
    bar = drawn["bar"][0]
    assert len({png for png, _ in drawn.values()}) == len(PLOT_TYPES)
    assert all(png != bar for t, (png, _) in drawn.items() if t != "bar")


def test_summary_options_change_the_chart(world: World) -> None:
    pytest.importorskip("shap")
    plain, _ = chart(world, "bar")
    one, _ = chart(world, "bar", max_display=1, title="just a", alpha=0.5, sort=False)
    assert one != plain and one.startswith(PNG_MAGIC)
    dots, _ = chart(world, "dot")
    fewer, _ = chart(world, "dot", max_display=1, plot_size=[4, 3], color_bar=False)
    assert fewer != dots


def test_permutation_importance_cannot_draw_a_per_row_chart(world: World) -> None:
    with pytest.raises(StepError, match=r"summary.plot_type = dot needs every row") as raised:
        explain(
            world, world.forest, explainer="permutation", params={"summary": {"plot_type": "dot"}}
        )
    assert raised.value.code == "SQLML538"


def test_auto_without_shap_fails_a_per_row_request_instead_of_drawing_bars(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "shap", None)
    with pytest.raises(StepError, match=r"explain.per_row = true needs SHAP.*not installed") as e:
        explain(world, world.forest, params=PER_ROW)
    assert e.value.code == "SQLML538"


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        ({"plot_type": "dots"}, "unknown plot type 'dots' (did you mean 'dot'?)"),
        ({"plot_type": "dot", "show": True}, "summary.show cannot be set here"),
        ({"plot_type": "violin", "alpha": 2}, "summary.alpha must be a number from 0 to 1"),
        ({"max_display": 0}, "summary.max_display must be a positive integer"),
    ],
)
def test_a_chart_option_the_step_cannot_use_fails_with_a_code(
    world: World, summary: dict[str, Any], message: str
) -> None:
    with pytest.raises(StepError) as raised:
        explain(world, world.forest, params={"summary": summary})
    assert message in str(raised.value) and raised.value.code == "SQLML539"


def test_a_key_for_another_chart_is_logged_as_ignored(world: World) -> None:
    recorder, _, _ = explain(
        world,
        world.forest,
        explainer="permutation",
        params={"summary": {"plot_type": "bar", "color_bar": False}},
    )
    assert any(
        line.startswith("warning: summary.color_bar is ignored here: a bar chart")
        for line in recorder.logs
    )


# -- explain.per_row -----------------------------------------------------------------------


def test_per_row_writes_one_row_per_explained_row_and_a_column_per_feature(
    world: World,
) -> None:
    pytest.importorskip("shap")
    rows, payload = per_row(world, "regressor", explainer="TreeExplainer")
    assert rows.num_rows == ROWS == payload["rows"]
    assert rows.column_names == [
        "row_number",
        *FEATURES,
        "base_value",
        "model_output",
        "explained_class",
        "method",
        "model",
        "model_version",
    ]
    sample = sampled_rows(world)
    assert rows.column("row_number").to_pylist() == sample["row_number"].tolist()
    assert set(rows.column("method").to_pylist()) == {"shap-tree"}
    assert rows.column("explained_class").null_count == ROWS  # a regressor: one output
    # only a carries signal: it moves every row most
    magnitude = {f: np.abs(rows.column(f).to_numpy()).mean() for f in FEATURES}
    assert max(magnitude, key=magnitude.__getitem__) == "a"


def test_tree_attributions_sum_with_the_base_value_to_the_prediction(world: World) -> None:
    pytest.importorskip("shap")
    rows, _ = per_row(world, "regressor", explainer="TreeExplainer")
    sample = sampled_rows(world)
    x = np.column_stack([sample[f] for f in FEATURES])
    predicted = model_of(world, "regressor").predict(x)
    total = rows.column("base_value").to_numpy() + sum(rows.column(f).to_numpy() for f in FEATURES)
    np.testing.assert_allclose(total, predicted, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rows.column("model_output").to_numpy(), predicted, atol=1e-6)


def test_a_binary_classifier_is_explained_towards_its_positive_class(world: World) -> None:
    pytest.importorskip("shap")
    rows, _ = per_row(world, "forest")  # auto: the tree explainer
    sample = sampled_rows(world)
    x = np.column_stack([sample[f] for f in FEATURES])
    proba = model_of(world, "forest").predict_proba(x)[:, 1]
    total = rows.column("base_value").to_numpy() + sum(rows.column(f).to_numpy() for f in FEATURES)
    np.testing.assert_allclose(total, proba, atol=1e-6)
    assert set(rows.column("explained_class").to_pylist()) == {"1"}


def test_a_multi_class_row_is_explained_towards_the_class_predicted_for_it(world: World) -> None:
    pytest.importorskip("shap")
    rows, _ = per_row(world, "three_class")
    sample = sampled_rows(world)
    x = np.column_stack([sample[f] for f in FEATURES])
    tree = model_of(world, "three_class")
    predicted = [str(c) for c in tree.predict(x)]
    assert rows.column("explained_class").to_pylist() == predicted
    np.testing.assert_allclose(
        rows.column("model_output").to_numpy(), tree.predict_proba(x).max(axis=1), atol=1e-6
    )


@pytest.mark.parametrize(
    ("model", "explainer", "method"),
    [("linear", "KernelExplainer", "shap-kernel"), ("linear", "LinearExplainer", "shap-linear")],
)
def test_every_shap_explainer_gives_rows_that_add_up_to_what_it_explains(
    world: World, model: str, explainer: str, method: str
) -> None:
    """The kernel explainer explains the positive class's probability, the linear one its
    log-odds: either way base value + attributions is that output, row by row."""
    pytest.importorskip("shap")
    params = {"explain": {"max_rows": 20, "per_row": True}, "summary": {"plot_type": "violin"}}
    recorder, _, _ = explain(world, getattr(world, model), explainer=explainer, params=params)
    rows = pq.read_table(recorder.payload["rows_uri"])
    assert rows.num_rows == 20 and set(rows.column("method").to_pylist()) == {method}
    assert set(rows.column("explained_class").to_pylist()) == {"1"}
    kept = sample_row_numbers(pq.read_table(world.data).num_rows, 20, 3)
    table = pq.read_table(world.data)
    x = np.column_stack([table.column(f).to_numpy()[kept] for f in FEATURES])
    logit = model_of(world, model)
    output = logit.predict_proba(x)[:, 1] if method == "shap-kernel" else logit.decision_function(x)
    total = rows.column("base_value").to_numpy() + sum(rows.column(f).to_numpy() for f in FEATURES)
    np.testing.assert_allclose(total, output, atol=1e-4)
    np.testing.assert_allclose(rows.column("model_output").to_numpy(), output, atol=1e-4)
