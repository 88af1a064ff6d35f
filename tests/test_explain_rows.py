"""``TO EXPLAIN … WITH summary.plot_type = dot, explain.per_row = true INTO t``, as a user
meets it: the chart on the explanation asset, every explained row's attributions loaded
beside ``t`` as ``t_rows`` (a table of the explain step, as an evaluation's ``t_roc``: a
reader of it depends on the explanation), and a second producer of ``t_rows`` refused.

End to end on a generated project: scikit-learn on tiny data, a real DuckDB warehouse,
model store and Dagster run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sqlml_dagster.compiler import compile_project
from sqlml_dagster.compiler.diagnostics import SqlMlCompileError

from .conftest import failure_reasons, materialize_all
from .test_model_evaluation import query

pytestmark = [
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:shap.plots.colors._colors"),
    pytest.mark.filterwarnings("ignore::FutureWarning:shap"),
]

POINTS = """
CREATE TABLE points AS
SELECT i AS id, (i % 7) * 1.0 AS x, ((i * 3) % 5) * 1.0 AS z,
       (i % 7) * 2.0 + ((i * 3) % 5) AS v
FROM range(60) t(i);

SELECT x, z, v FROM points
TO TRAIN sklearn.ensemble.RandomForestRegressor WITH model.n_estimators = 10 LABEL v INTO m;
"""
PROJECT = (
    POINTS
    + """
SELECT x, z FROM points TO EXPLAIN m
WITH summary.plot_type = dot, summary.max_display = 2, explain.per_row = true
INTO m_explained;

CREATE TABLE most_moved AS
SELECT row_number FROM m_explained_rows ORDER BY abs(x) DESC LIMIT 1;
"""
)


def test_a_reader_of_the_per_row_table_depends_on_the_explanation(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    project = compile_project(write_project({"points.sql": PROJECT}))
    assert [d.key for d in project.node("most_moved").deps] == ["m_explained"]
    assert "m_explained_rows" not in {s.name.key for s in project.sources}


def test_a_table_named_like_the_per_row_table_is_a_second_producer(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    root = write_project(
        {
            "points.sql": POINTS
            + "SELECT x, z FROM points TO EXPLAIN m WITH explain.per_row = true INTO e;\n"
            + "CREATE TABLE e_rows AS SELECT 1 AS one;\n"
        }
    )
    with pytest.raises(SqlMlCompileError) as raised:
        compile_project(root)
    (found,) = raised.value.diagnostics
    assert found.code == "SQLML201" and found.message.startswith("'e_rows' is already written")
    assert "explain.per_row <into>_rows" in (found.hint or "")


@pytest.mark.slow
def test_the_chart_and_every_rows_attributions_end_to_end(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    pytest.importorskip("shap")
    state, root = tmp_path / "state", write_project({"points.sql": PROJECT})
    result = materialize_all(root, state)
    assert result.success, failure_reasons(result)
    metadata = {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }
    shown = metadata["m_explained"]
    assert shown["plot_type"] == "dot" and shown["per_row_table"] == "m_explained_rows"
    assert "data:image/png;base64,iVBORw0KGgo" in shown["plot"]
    assert shown["explain_method"] == "shap-tree"

    columns = [c for (c,) in query(state, "SELECT column_name FROM (DESCRIBE m_explained_rows)")]
    assert columns == [
        "row_number", "x", "z", "base_value", "model_output", "explained_class",
        "method", "model", "model_version",
    ]  # fmt: skip
    assert query(state, "SELECT count(*), count(DISTINCT row_number) FROM m_explained_rows") == [
        (60, 60)
    ]
    (worst,) = query(
        state,
        "SELECT max(abs(base_value + x + z - model_output)) FROM m_explained_rows",
    )[0]
    assert worst < 1e-6  # a tree's SHAP values add up to its prediction
    # the summary table is still one row per feature
    assert query(state, "SELECT count(*) FROM m_explained") == [(2,)]
    assert query(state, "SELECT count(*) FROM most_moved") == [(1,)]
