"""SQLFlow's feature-column forms, from the SQL a user writes to the numbers a model sees.

Each row is a ``COLUMN`` clause as SQLFlow's language guide and tests write it
(``doc/language_guide.md``'s feature-column table, ``go/ir/ir_generator.go``'s
``parseFieldDesc``, ``go/cmd/sqlflowserver/e2e_common_cases.go``), compiled by the compiler,
fitted on a three-row table and encoded: a form that only parsed would fail here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from sqlml_dagster.compiler import parse_sql_file, to_json
from sqlml_dagster.runtime import StepError
from sqlml_dagster.runtime.features import FeaturePlan

ROWS = pa.table(
    {
        "a": [1.0, 2.0, 3.0],
        "b": [5, 50, 500],
        "vec": ["1,2", "3,4", "5,6"],
        "kv": ["0:0.5,3:2", "3:1", "4:1.5,0:1"],
        "ids": ["1,2", "0", "4"],
        "city": ["x", "y", "x"],
        "y": [0, 1, 0],
    }
)


def clause(columns: str) -> list[dict[str, Any]]:
    """The COLUMN clause's JSON, as the compiler hands it to a step."""
    sql_file, diagnostics = parse_sql_file(
        "forms.sql", f"SELECT * FROM t TO TRAIN DNNClassifier COLUMN {columns} LABEL y INTO m;"
    )
    assert [d.message for d in diagnostics if d.is_error] == []
    (group,) = to_json(sql_file.statements[0])["columns"]
    return list(group["columns"])


def encoded(columns: str, table: pa.Table = ROWS) -> tuple[FeaturePlan, np.ndarray]:
    plan = FeaturePlan.infer(clause(columns), table.schema, {"y"}).fit([table], normalize=False)
    return plan, plan.encode(table).dense


FORMS = [
    # COLUMN clause | dense block for the three rows
    ("t.a", [[1], [2], [3]]),
    ("BUCKET(b, 100)", [[1, 0], [1, 0], [0, 1]]),
    ("BUCKET(DENSE(b), [10, 100])", [[1, 0, 0], [0, 1, 0], [0, 0, 1]]),
    ("DENSE(vec)", [[1, 2], [3, 4], [5, 6]]),
    ("DENSE(vec, none, COMMA)", [[1, 2], [3, 4], [5, 6]]),
    ("NUMERIC(DENSE(vec, 2))", [[1, 2], [3, 4], [5, 6]]),
    (
        'DENSE(kv, 5, ",", "int", ":", "float")',
        [[0.5, 0, 0, 2, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 1.5]],
    ),
    ('DENSE(kv, none, ",", int, ":")', [[0.5, 0, 0, 2, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 1.5]]),
    ("SPARSE(ids)", [[0, 1, 1, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 1]]),
    ("NUMERIC(SPARSE(ids, 5))", [[0, 1, 1, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 1]]),
    ('SPARSE(kv, 5, ",", int, ":", float)', [[1, 0, 0, 1, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 1]]),
    ('CATEGORY_ID(SPARSE(ids, 5, ","), 5)', [[0, 1, 1, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 1]]),
    (
        'INDICATOR(WEIGHTED_CATEGORY(CATEGORY_ID(SPARSE(kv, 5, ",", "int", ":", "float"), 5)))',
        [[0.5, 0, 0, 2, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 1.5]],
    ),
    (
        'WEIGHTED_CATEGORY(CATEGORY_ID(SPARSE(kv, 5, ",", "int", ":", "float"), 5))',
        [[0.5, 0, 0, 2, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 1.5]],
    ),
    # no size: fitted to the largest id + 1, through the weights' wrapper
    (
        'INDICATOR(WEIGHTED_CATEGORY(SPARSE(kv, none, ",", "int", ":", "float")))',
        [[0.5, 0, 0, 2, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 1.5]],
    ),
]


@pytest.mark.parametrize(("columns", "dense"), FORMS, ids=[f for f, _ in FORMS])
def test_a_sqlflow_form_encodes(columns: str, dense: list[list[float]]) -> None:
    _, got = encoded(columns)
    np.testing.assert_allclose(got, np.asarray(dense, dtype=np.float32))


def test_weighted_category_hash_sums_each_rows_weights_in_the_hashed_ids() -> None:
    """``EMBEDDING(WEIGHTED_CATEGORY(CATEGORY_HASH(SPARSE(…))))`` as SQLFlow's end-to-end
    case writes it: the weights reach the network (summed per hashed id)."""
    plan, got = encoded(
        'EMBEDDING(WEIGHTED_CATEGORY(CATEGORY_HASH(SPARSE(kv, 10, ",", "int", ":", "float"), '
        "10)), 32)"
    )
    assert got.shape == (3, 10)
    np.testing.assert_allclose(got.sum(axis=1), [2.5, 1.0, 2.5])
    assert plan.to_json()["features"][0]["category"]["function"] == "WEIGHTED_CATEGORY"


def test_embedding_without_a_combiner_sums_as_sqlflow_does() -> None:
    plan, _ = encoded("EMBEDDING(CATEGORY_ID(city, 3), 2)")
    assert [bag.combiner for bag in plan.bags] == ["sum"]
    plan, _ = encoded("EMBEDDING(CATEGORY_ID(city, 3), 2, mean)")
    assert [bag.combiner for bag in plan.bags] == ["mean"]


def test_column_star_is_every_selected_column_but_the_label_and_those_used_elsewhere() -> None:
    numbers = ROWS.select(["a", "b", "city", "y"])
    plan, _ = encoded("*, CROSS([city, b], 5)", numbers)
    assert plan.dense_names == ("a", *(f"city_x_b_cross_{i}" for i in range(5)))
    plan, _ = encoded("*", ROWS.select(["b", "a", "y"]))
    assert plan.dense_names == ("b", "a")


def test_every_bad_column_is_reported_in_one_error() -> None:
    with pytest.raises(StepError) as raised:
        encoded("nope, a, EMBEDDING(CATEGORY_ID(missing, 3), 2), city")
    message = str(raised.value)
    assert message.startswith("3 feature columns are wrong:")
    assert "'nope'" in message and "'missing'" in message and "'city' has type string" in message


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("WEIGHTED_CATEGORY(CATEGORY_ID(b, 3))", "the weights come from key-value text"),
        ('DENSE(vec, 2, ",", "string")', "DENSE reads numbers; dtype 'string'"),
        ('SPARSE(kv, 5, ",", int, ":")', None),
        ('DENSE(vec, 2, ",", int, ":", float)', "is not a key:weight pair"),
    ],
)
def test_form_errors_name_what_to_write(columns: str, message: str | None) -> None:
    if message is None:
        encoded(columns)
        return
    with pytest.raises(StepError, match=message):
        encoded(columns)


ROUND_TRIP = [
    *(f for f, _ in FORMS),
    'EMBEDDING(WEIGHTED_CATEGORY(CATEGORY_HASH(SPARSE(kv, 10, ",", "int", ":", "float"), 10)), 3)',
    "EMBEDDING(CATEGORY_ID(city, 3), 2, mean)",
    'EMBEDDING(SEQ_CATEGORY_ID(ids, 5, ","), 2)',
    "INDICATOR(CATEGORY_HASH(city, 4))",
    "INDICATOR(CROSS([city, BUCKET(b, [10, 100])], 6))",
    'INDICATOR(CROSS([city, SPARSE(kv, 5, ",", int, ":", float)], 7))',
]


@pytest.mark.parametrize("columns", ROUND_TRIP)
def test_a_fitted_plan_reads_back_from_its_json_as_the_same_plan(columns: str) -> None:
    """The plan a training step saves is what the scoring step reads back: the same
    features, the same numbers — for every form, its delimiters, weights and vocabulary."""
    plan, dense = encoded(columns)
    loaded = FeaturePlan.from_json(plan.to_json())
    assert loaded == plan
    again = loaded.encode(ROWS)
    np.testing.assert_array_equal(again.dense, dense)
    for a, b in zip(plan.encode(ROWS).bags, again.bags, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("value", "refusal"),
    [
        ("a:0.5", "DENSE(kv, 5): 'a' is not an integer id"),
        ("3:x", "DENSE(kv, 5): the weight 'x' is not a number"),
        ("3", "DENSE(kv, 5): '3' is not a key:weight pair (written like '3:0.5')"),
    ],
)
def test_key_value_text_that_does_not_read_is_refused_naming_the_feature(
    value: str, refusal: str
) -> None:
    """A dense key-value row never drops a pair silently: the step fails saying which
    feature and which piece of text."""
    table = pa.table({"kv": ["0:1", value], "y": [0, 1]})
    with pytest.raises(StepError) as refused:
        encoded('DENSE(kv, 5, ",", "int", ":", "float")', table)
    assert str(refused.value) == refusal
