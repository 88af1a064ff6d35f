"""The COLUMN clause at run time: every feature-column function from Arrow input to the
numbers a model sees, the plan's JSON round trip and streaming fit, the errors a SQL user
gets, and the PyTorch and Keras layers on top."""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from sqlml_dagster.runtime import StepError
from sqlml_dagster.runtime import features as features_package
from sqlml_dagster.runtime.features import Bag, Encoded, FeaturePlan, fitting

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# -- the COLUMN clause's JSON, as FeatureColumn.to_json() writes it -----------------------


def col(name: str) -> dict[str, Any]:
    return {"function": "COLUMN", "name": name}


def numeric(name: str, shape: Any = 1) -> dict[str, Any]:
    return {"function": "NUMERIC", "key": col(name), "shape": shape}


def dense(name: str, shape: Any, delimiter: str | None = None) -> dict[str, Any]:
    return {"function": "DENSE", "key": col(name), "shape": shape, "delimiter": delimiter}


def category_id(name: str, n: int, delimiter: str | None = None) -> dict[str, Any]:
    return {"function": "CATEGORY_ID", "key": col(name), "bucket_size": n, "delimiter": delimiter}


def seq_category_id(name: str, n: int, delimiter: str | None = None) -> dict[str, Any]:
    return {**category_id(name, n, delimiter), "function": "SEQ_CATEGORY_ID"}


def category_hash(name: str, n: int, delimiter: str | None = None) -> dict[str, Any]:
    return {**category_id(name, n, delimiter), "function": "CATEGORY_HASH"}


def sparse(name: str, shape: Any, delimiter: str | None = None, dtype: str | None = None):
    return {
        "function": "SPARSE",
        "key": col(name),
        "shape": shape,
        "delimiter": delimiter,
        "dtype": dtype,
    }


def bucket(source: Any, boundaries: list[float]) -> dict[str, Any]:
    source = col(source) if isinstance(source, str) else source
    return {"function": "BUCKET", "source": source, "boundaries": boundaries}


def cross(keys: list[Any], n: int) -> dict[str, Any]:
    keys = [col(k) if isinstance(k, str) else k for k in keys]
    return {"function": "CROSS", "keys": keys, "hash_bucket_size": n}


def indicator(category: dict[str, Any]) -> dict[str, Any]:
    return {"function": "INDICATOR", "category": category}


def embedding(category: dict[str, Any], dimension: int = 4, combiner: str = "mean", init=None):
    return {
        "function": "EMBEDDING",
        "category": category,
        "dimension": dimension,
        "combiner": combiner,
        "initializer": init,
    }


def plan_for(columns: list[dict[str, Any]] | None, table: pa.Table, normalize: bool = False):
    return FeaturePlan.infer(columns, table.schema, exclude=["y"]).fit([table], normalize)


def encode(columns: list[dict[str, Any]] | None, table: pa.Table, normalize: bool = False):
    return plan_for(columns, table, normalize).encode(table)


def stable_hash(text: str) -> int:
    """The documented hash, computed independently of the module."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


# -- every function: input columns → dense ------------------------------------------------

DENSE_CASES = [
    pytest.param([col("x")], {"x": [1, None, 3]}, [[1], [0], [3]], id="bare-int-null-is-0"),
    pytest.param([numeric("x")], {"x": [1.5, float("nan")]}, [[1.5], [0]], id="numeric-nan"),
    pytest.param(
        [numeric("x", 3)],
        {"x": pa.array([[1, 2, 3], None, [4, 5, 6]])},
        [[1, 2, 3], [0, 0, 0], [4, 5, 6]],
        id="numeric-list",
    ),
    pytest.param(
        [numeric("x", 2)],
        {"x": ["1, 2", " 3,4 ", "", None, "5,"]},
        [[1, 2], [3, 4], [0, 0], [0, 0], [5, 0]],
        id="numeric-delimited-string",
    ),
    pytest.param(
        [numeric("x", 2)],
        {"x": pa.array([[1.0, 2.0], [3.0, None]], pa.list_(pa.float32(), 2))},
        [[1, 2], [3, 0]],
        id="numeric-fixed-size-list",
    ),
    pytest.param([numeric("x")], {"x": ["2.5", None]}, [[2.5], [0]], id="numeric-of-text"),
    pytest.param(
        [dense("x", 3, "SEMICOLON")],
        {"x": ["1;2;3", "4; 5;6", None]},
        [[1, 2, 3], [4, 5, 6], [0, 0, 0]],
        id="dense-semicolon",
    ),
    pytest.param(
        [dense("x", [2, 2], "SPACE")],
        {"x": ["1  2 3\t4", " 5 6 7 8 "]},
        [[1, 2, 3, 4], [5, 6, 7, 8]],
        id="dense-2x2-space",
    ),
    pytest.param([dense("x", 2, "|")], {"x": ["1|2"]}, [[1, 2]], id="dense-literal-pipe"),
    pytest.param(
        [category_id("c", 5)],
        {"c": [0, 3, 7, None, -1]},
        [[1, 0, 0, 0, 0], [0, 0, 0, 1, 0], [0] * 5, [0] * 5, [0] * 5],
        id="category-id-int-out-of-range-ignored",
    ),
    pytest.param(
        [category_id("c", 2)],
        {"c": ["b", "a", "b", "c", None, "a", "b"]},
        [[1, 0], [0, 1], [1, 0], [0, 0], [0, 0], [0, 1], [1, 0]],
        id="category-id-vocabulary-most-frequent",
    ),
    pytest.param(
        [category_id("c", 1)],
        {"c": ["y", "x"]},
        [[0], [1]],
        id="category-id-ties-by-value",
    ),
    pytest.param(
        [category_id("c", 4, "COMMA")],
        {"c": ["a,b", "b", "c,, a", None]},
        [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]],
        id="category-id-delimited-vocabulary",
    ),
    pytest.param(
        [category_id("c", 4)],
        {"c": pa.array([[1, 3], [], None, [3, 3, 9]])},
        [[0, 1, 0, 1], [0] * 4, [0] * 4, [0, 0, 0, 1]],
        id="category-id-int-list",
    ),
    pytest.param(
        [indicator(seq_category_id("c", 3, ";"))],
        {"c": ["a;b;a", "c"]},
        [[1, 1, 0], [0, 0, 1]],
        id="indicator-seq-category-id",
    ),
    pytest.param(
        [sparse("c", 5, "COMMA", "int64")],
        {"c": ["0,4", "2, 9", None, ""]},
        [[1, 0, 0, 0, 1], [0, 0, 1, 0, 0], [0] * 5, [0] * 5],
        id="sparse-out-of-range-ignored",
    ),
    pytest.param(
        [sparse("c", 3)],
        {"c": ["0,2", "1"]},
        [[1, 0, 1], [0, 1, 0]],
        id="sparse-default-comma",
    ),
    pytest.param(
        [indicator(bucket("age", [18, 30, 60]))],
        {"age": [10, 18, 29.9, 30, 60, 99, None]},
        [
            [1, 0, 0, 0],
            [0, 1, 0, 0],
            [0, 1, 0, 0],
            [0, 0, 1, 0],
            [0, 0, 0, 1],
            [0, 0, 0, 1],
            [0, 0, 0, 0],
        ],
        id="bucket-like-bucketized-column",
    ),
    pytest.param(
        [bucket(numeric("age"), [0.5])],
        {"age": [0.0, 1.0]},
        [[1, 0], [0, 1]],
        id="bucket-of-numeric-bare-at-top-level",
    ),
]


@pytest.mark.parametrize(("columns", "data", "expected"), DENSE_CASES)
def test_dense_encoding(columns: list[dict[str, Any]], data: dict[str, Any], expected) -> None:
    encoded = encode(columns, pa.table(data))
    assert encoded.dense.dtype == np.float32
    np.testing.assert_array_equal(encoded.dense, np.array(expected, dtype=np.float32))
    assert encoded.bags == ()


# -- EMBEDDING: input columns → bags --------------------------------------------------------

BAG_CASES = [
    pytest.param(
        embedding(category_id("c", 10)),
        {"c": [4, None, 12]},
        [[4], [-1], [-1]],
        id="category-id-int",
    ),
    pytest.param(
        embedding(seq_category_id("c", 10)),
        {"c": pa.array([[3, 1, 3], [], None, [12, 2]])},
        [[3, 1, 3], [-1, -1, -1], [-1, -1, -1], [2, -1, -1]],
        id="seq-category-id-keeps-order-and-repeats",
    ),
    pytest.param(
        embedding(seq_category_id("c", 10, "COMMA")),
        {"c": ["b,a,b", "a", "z"]},
        [[1, 0, 1], [0, -1, -1], [2, -1, -1]],  # a and b tie: a comes first
        id="seq-category-id-delimited-vocabulary",
    ),
    pytest.param(
        embedding(category_id("c", 10)),
        {  # a null list that still spans values in the child array (Parquet writes these)
            "c": pa.ListArray.from_arrays(
                pa.array([0, 2, 4, 5]),
                pa.array([1, 2, 3, 4, 5]),
                mask=pa.array([False, True, False]),
            )
        },
        [[1, 2], [-1, -1], [5, -1]],
        id="null-list-with-hidden-values",
    ),
    pytest.param(
        embedding(category_id("c", 3)),
        {"c": [None, None]},
        [[-1], [-1]],
        id="no-ids-still-one-column",
    ),
    pytest.param(
        embedding(sparse("c", 100, "COMMA")),
        {"c": ["5,7", "99"]},
        [[5, 7], [99, -1]],
        id="sparse",
    ),
    pytest.param(
        embedding(bucket("age", [10, 20])),
        {"age": [5, 15, 25]},
        [[0], [1], [2]],
        id="bucket",
    ),
]


@pytest.mark.parametrize(("column", "data", "expected"), BAG_CASES)
def test_bag_encoding(column: dict[str, Any], data: dict[str, Any], expected) -> None:
    encoded = encode([column], pa.table(data))
    assert encoded.dense.shape == (len(expected), 0)
    (bag,) = encoded.bags
    assert bag.dtype == np.int64
    np.testing.assert_array_equal(bag, np.array(expected))


def test_an_empty_batch_encodes_to_empty_arrays() -> None:
    table = pa.table({"x": [1.0], "c": ["a"], "v": ["1,2"]})
    plan = plan_for(
        [col("x"), category_id("c", 3), embedding(category_id("c", 3)), dense("v", 2)], table
    )
    encoded = plan.encode(table.slice(0, 0))
    assert encoded.dense.shape == (0, 6)
    assert [b.shape for b in encoded.bags] == [(0, 1)]


def test_unseen_values_at_prediction_are_ignored() -> None:
    plan = plan_for([embedding(category_id("c", 5, ","))], pa.table({"c": ["a,b", "b"]}))
    (bag,) = plan.encode(pa.table({"c": ["b,new,a", "new", None]})).bags
    np.testing.assert_array_equal(bag, [[0, 1], [-1, -1], [-1, -1]])


def test_category_hash_is_blake2b_of_the_text_mod_n() -> None:
    words = ["apple", "pear", "apple", None, "kiwi"]
    encoded = encode([embedding(category_hash("c", 13))], pa.table({"c": words}))
    expected = [[stable_hash(w) % 13] if w is not None else [-1] for w in words]
    np.testing.assert_array_equal(encoded.bags[0], expected)
    # integers hash their decimal text, so 42 and "42" land in the same bucket
    ints = encode([embedding(category_hash("c", 13))], pa.table({"c": [42, -7]}))
    np.testing.assert_array_equal(
        ints.bags[0], [[stable_hash("42") % 13], [stable_hash("-7") % 13]]
    )


def test_category_hash_delimited() -> None:
    encoded = encode([embedding(category_hash("c", 1000, "SPACE"))], pa.table({"c": ["a  b"]}))
    np.testing.assert_array_equal(
        encoded.bags[0], [[stable_hash("a") % 1000, stable_hash("b") % 1000]]
    )


def test_cross_is_stable_and_crosses_every_pair() -> None:
    table = pa.table(
        {
            "a": ["x", "y", "x", None],
            "b": [1, 2, 1, 1],
            "age": [10, 50, 10, 10],
            "tags": ["p,q", "p", "p,q", "p"],
        }
    )
    column = embedding(cross(["a", "b", bucket("age", [30]), category_id("tags", 5, ",")], 1000))
    (bag,) = encode([column], table).bags
    # pinned: CROSS must give the same ids in every process, on every platform, forever
    assert bag.tolist() == [[542, 999], [994, -1], [542, 999], [-1, -1]]
    # equal inputs cross equally; a row with 2 tags crosses both; a null key gives no id
    assert bag[0].tolist() == bag[2].tolist()
    assert (bag[3] == -1).all()
    # key order matters
    swapped = embedding(cross(["b", "a"], 1000))
    plain = embedding(cross(["a", "b"], 1000))
    assert encode([swapped], table).bags[0][0] != encode([plain], table).bags[0][0]


def test_categorical_at_top_level_is_read_as_indicator() -> None:
    table = pa.table({"c": ["a", "b", "a"]})
    lenient = encode([category_id("c", 3)], table)
    explicit = encode([indicator(category_id("c", 3))], table)
    np.testing.assert_array_equal(lenient.dense, explicit.dense)


def test_layout_names_and_properties() -> None:
    table = pa.table(
        {
            "x": [1.0, 2.0],
            "color": ["red", "blue"],
            "age": [20, 40],
            "city": ["p", "q"],
            "v": ["1,2", "3,4"],
            "y": [0, 1],
        }
    )
    columns = [
        col("x"),
        category_id("color", 3),
        embedding(category_hash("city", 50), 8, "sqrtn"),
        indicator(bucket("age", [30])),
        dense("v", 2, "COMMA"),
        embedding(category_id("Color", 3), 2, "sum", "zeros"),
    ]
    plan = plan_for(columns, table)
    assert plan.dense_names == (
        "x",
        "color=blue",
        "color=red",
        "color[2]",
        "age_bucket_0",
        "age_bucket_1",
        "v_0",
        "v_1",
    )
    assert plan.dense_width == 8
    assert plan.bags == (
        Bag("city_hash_embedding", 50, 8, "sqrtn"),
        Bag("color_embedding", 3, 2, "sum", "zeros"),
    )
    assert plan.source_columns == ("x", "color", "city", "age", "v")
    encoded = plan.encode(table.to_batches()[0])
    assert encoded.dense.shape == (2, 8)
    assert encoded.rows == 2
    assert [b.shape for b in encoded.bags] == [(2, 1), (2, 1)]


def test_no_column_clause_uses_every_numeric_column_but_the_label() -> None:
    table = pa.table({"a": [1, 2], "y": [0, 1], "b": [True, False], "c": [0.5, None]})
    plan = plan_for(None, table)
    assert plan.dense_names == ("a", "b", "c")
    np.testing.assert_array_equal(plan.encode(table).dense, [[1, 1, 0.5], [2, 0, 0]])


def test_dictionary_and_large_string_columns() -> None:
    words = pa.array(["a", "b", "a"]).dictionary_encode()
    table = pa.table({"c": words, "d": pa.array(["1,2", "3,4", "5,6"], pa.large_string())})
    encoded = encode([category_id("c", 2), dense("d", 2, ",")], table)
    np.testing.assert_array_equal(encoded.dense[:, :2], [[1, 0], [0, 1], [1, 0]])
    np.testing.assert_array_equal(encoded.dense[:, 2:], [[1, 2], [3, 4], [5, 6]])


# -- normalization, JSON, streaming -------------------------------------------------------


def test_normalize_standardizes_numeric_and_dense_and_nulls_become_zero() -> None:
    table = pa.table(
        {"x": [1.0, 2.0, 3.0, None], "v": ["0,10", "2,10", None, "4,10"], "i": [4, 4, 4, 4]}
    )
    encoded = encode([col("x"), dense("v", 2), category_id("i", 5)], table, normalize=True)
    x_std, v_std = math.sqrt(2 / 3), math.sqrt(8 / 3)
    np.testing.assert_allclose(encoded.dense[:, 0], [-1 / x_std, 0, 1 / x_std, 0], rtol=1e-6)
    # v's second output is constant: std 0 counts as 1, so it encodes as 0, not NaN
    expected_v = [[-2 / v_std, 0], [0, 0], [0, 0], [2 / v_std, 0]]
    np.testing.assert_allclose(encoded.dense[:, 1:3], expected_v, rtol=1e-6)
    # indicators are never standardized
    np.testing.assert_array_equal(encoded.dense[:, 3:], [[0, 0, 0, 0, 1]] * 4)


def test_json_round_trip_encodes_identically() -> None:
    table = pa.table(
        {
            "x": [1.0, 5.0, None],
            "c": ["a,b", "b", "c"],
            "h": ["p", "q", "p"],
            "age": [1, 50, 99],
            "ids": [1, 2, 3],
            "s": ["0,2", "1", None],
        }
    )
    columns = [
        numeric("x"),
        embedding(category_id("c", 8, "COMMA"), 3),
        embedding(cross(["h", bucket("age", [18, 65])], 20), 2, "sum"),
        category_hash("h", 4),
        indicator(category_id("ids", 4)),
        sparse("s", 3),
        dense("x", 1),
    ]
    plan = plan_for(columns, table, normalize=True)
    text = json.dumps(plan.to_json())
    loaded = FeaturePlan.from_json(json.loads(text))
    assert loaded == plan
    first, second = plan.encode(table), loaded.encode(table)
    np.testing.assert_array_equal(first.dense, second.dense)
    for a, b in zip(first.bags, second.bags, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_newer_plan_version_is_refused() -> None:
    data = plan_for([col("x")], pa.table({"x": [1]})).to_json()
    with pytest.raises(StepError, match="newer image"):
        FeaturePlan.from_json({**data, "version": 99})


def random_table(rows: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(40)])
    x = rng.normal(1000.0, 3.0, rows)
    x[rng.random(rows) < 0.1] = np.nan
    return pa.table(
        {
            "x": x,
            "v": [f"{a:.3f},{b:.3f}" for a, b in rng.normal(size=(rows, 2))],
            "w": words[rng.zipf(1.5, rows) % 40],
            "t": [",".join(words[rng.integers(0, 40, 3)]) for _ in range(rows)],
        }
    )


STREAM_COLUMNS = [
    col("x"),
    dense("v", 2, "COMMA"),
    category_id("w", 10),
    embedding(seq_category_id("t", 12, "COMMA"), 3),
]


@pytest.mark.parametrize("batch_rows", [1, 7, 333])
@pytest.mark.slow
def test_streaming_fit_equals_fit_over_one_table(batch_rows: int, monkeypatch) -> None:
    monkeypatch.setattr(fitting, "_COMPACT_ROWS", 50)  # exercise merging partial counts
    table = random_table(1000)
    unfitted = FeaturePlan.infer(STREAM_COLUMNS, table.schema, exclude=())
    whole = unfitted.fit([table], normalize=True)
    batches = table.to_batches(max_chunksize=batch_rows)
    streamed = unfitted.fit(iter([table.slice(0, 0), *batches]), normalize=True)
    for a, b in zip(whole.features, streamed.features, strict=True):
        if hasattr(a, "mean"):
            np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12)
            np.testing.assert_allclose(a.std, b.std, rtol=1e-9)
        else:
            assert a == b
    np.testing.assert_allclose(whole.encode(table).dense, streamed.encode(table).dense, rtol=1e-5)


def test_fit_reads_no_data_when_nothing_is_learned() -> None:
    table = pa.table({"x": [1.0], "h": ["a"]})

    def untouchable() -> Iterator[pa.Table]:
        raise AssertionError("read")
        yield table

    plan = FeaturePlan.infer([col("x"), category_hash("h", 3)], table.schema, ()).fit(
        untouchable(), normalize=False
    )
    assert plan.fitted


def test_encode_needs_a_fitted_plan() -> None:
    plan = FeaturePlan.infer([col("x")], pa.schema([("x", pa.float64())]), ())
    with pytest.raises(RuntimeError, match="fit"):
        plan.encode(pa.table({"x": [1.0]}))


def test_features_package_imports_no_framework() -> None:
    modules = sorted(Path(features_package.__file__).parent.glob("*.py"))
    assert len(modules) > 1  # the package, not only its __init__
    for module in modules:
        source = module.read_text()
        assert "import torch" not in source and "import tensorflow" not in source, module.name


# -- errors a SQL user can act on ----------------------------------------------------------

ERROR_CASES = [
    pytest.param(
        [numeric("z")],
        {"x": [1], "y": [0]},
        r"NUMERIC\(z, 1\) reads column 'z', which the SELECT does not produce \(columns: x, y\)",
        id="missing-column",
    ),
    pytest.param(
        None,
        {"x": [1], "city": ["a"], "y": [0]},
        r"'city' has type string.*CATEGORY_ID\(city, n\).*CATEGORY_HASH\(city, n\).*SELECT",
        id="string-without-column-clause",
    ),
    pytest.param(
        [col("city")],
        {"city": ["a"]},
        r"'city' has type string.*CATEGORY_ID\(city, n\)",
        id="string-as-bare-column",
    ),
    pytest.param(
        [embedding(numeric("x"))],
        {"x": [1.0]},
        r"EMBEDDING\(NUMERIC\(x, 1\), 4, mean\) needs a categorical column.*not NUMERIC\(x, 1\)",
        id="numeric-in-embedding",
    ),
    pytest.param(
        [indicator(col("city"))],
        {"city": ["a"]},
        r"needs a categorical column.*INDICATOR\(CATEGORY_ID\(city, n\)",
        id="bare-column-in-indicator",
    ),
    pytest.param(
        [numeric("y")],
        {"y": [1.0]},
        r"'y' is the label",
        id="label-as-feature",
    ),
    pytest.param(
        [embedding(category_id("c", 3), combiner="max")],
        {"c": [1]},
        r"combiner 'max' is not one of mean, sum, sqrtn",
        id="bad-combiner",
    ),
    pytest.param(
        [category_id("f", 3)],
        {"f": [1.5]},
        r"CATEGORY_ID\(f, 3\): column 'f' has type double.*CAST it to INTEGER.*BUCKET",
        id="float-category-id",
    ),
    pytest.param(
        [numeric("x", 3)],
        {"x": [1.0]},
        r"holds one number a row \(double\); shape 3 needs a list",
        id="shape-on-number-column",
    ),
    pytest.param(
        [cross(["f", "c"], 5)],
        {"f": [1.5], "c": ["a"]},
        r"CROSS combines strings and integers — use BUCKET\(f",
        id="float-cross-key",
    ),
    pytest.param(
        [bucket("age", [30, 10])],
        {"age": [1]},
        r"ascending",
        id="bucket-descending",
    ),
    pytest.param(
        [sparse("s", 5, ",", "float")],
        {"s": ["1"]},
        r"SPARSE reads integer ids; dtype 'float'",
        id="sparse-float-dtype",
    ),
    pytest.param(
        [embedding(category_id("c", 3), init="ones")],
        {"c": [1]},
        r"initializer 'ones' is not one of",
        id="bad-initializer",
    ),
]


@pytest.mark.parametrize(("columns", "data", "message"), ERROR_CASES)
def test_plan_errors(columns, data: dict[str, Any], message: str) -> None:
    table = pa.table(data)
    with pytest.raises(StepError, match=message):
        FeaturePlan.infer(columns, table.schema, exclude=["y"])


ENCODE_ERROR_CASES = [
    pytest.param(
        [numeric("v", 3)],
        {"v": ["1,2,3", "1,2", "4,5", "1,2,3"]},
        r"NUMERIC\(v, 3\): 2 row\(s\) do not hold exactly 3 number\(s\); the first holds 2: '1,2'",
        id="wrong-length-string",
    ),
    pytest.param(
        [dense("v", 2)],
        {"v": pa.array([[1.0, 2.0], [1.0]])},
        r"DENSE\(v, 2\): 1 row\(s\) do not hold exactly 2.*first holds 1",
        id="wrong-length-list",
    ),
    pytest.param(
        [dense("v", 2, "COMMA")],
        {"v": ["1,2", "3,abc"]},
        r"DENSE\(v, 2\): 'abc' is not a number",
        id="not-a-number",
    ),
    pytest.param(
        [sparse("s", 5)],
        {"s": ["1,x"]},
        r"SPARSE\(s, 5\): 'x' is not an integer id",
        id="sparse-not-an-integer",
    ),
]


@pytest.mark.parametrize(("columns", "data", "message"), ENCODE_ERROR_CASES)
def test_encode_errors(columns, data: dict[str, Any], message: str) -> None:
    table = pa.table(data)
    plan = FeaturePlan.infer(columns, table.schema, exclude=["y"])
    with pytest.raises(StepError, match=message):
        plan.fit([table], normalize=True).encode(table)


def test_prediction_data_without_a_feature_column() -> None:
    plan = plan_for([col("x"), col("w")], pa.table({"x": [1.0], "w": [2.0]}))
    with pytest.raises(StepError, match=r"column 'w', which the data does not have \(columns: x\)"):
        plan.encode(pa.table({"x": [1.0]}))


def test_column_names_match_case_insensitively() -> None:
    table = pa.table({"Price": [1.0, 2.0]})
    plan = plan_for([numeric("price")], table)
    assert plan.source_columns == ("Price",)
    np.testing.assert_array_equal(plan.encode(table).dense, [[1], [2]])


# -- the framework layers -----------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed() -> tuple[FeaturePlan, Encoded]:
    table = pa.table(
        {
            "x": [1.0, 2.0, 3.0, 4.0],
            "c": ["a", "b", None, "a"],
            "t": ["1,2,2", "3", "", "4,1"],
            "h": ["p", "q", "r", "p"],
        }
    )
    columns = [
        col("x"),
        embedding(category_id("c", 5), 3, "mean"),
        embedding(category_id("t", 6, "COMMA"), 2, "sqrtn"),
        embedding(category_hash("h", 7), 4, "sum", "glorot_uniform"),
        indicator(category_id("c", 2)),
    ]
    plan = plan_for(columns, table, normalize=True)
    return plan, plan.encode(table)


def reference_combination(weight: np.ndarray, ids: np.ndarray, combiner: str) -> np.ndarray:
    """What a bag should give, row by row (plain Python: the specification)."""
    rows = []
    for row in ids:
        vectors = [weight[i] for i in row if i >= 0]
        total = np.sum(vectors, axis=0) if vectors else np.zeros(weight.shape[1])
        count = max(len(vectors), 1)
        rows.append(
            {"mean": total / count, "sqrtn": total / math.sqrt(count), "sum": total}[combiner]
        )
    return np.array(rows)


def test_torch_features(mixed: tuple[FeaturePlan, Encoded]) -> None:
    torch = pytest.importorskip("torch")
    from sqlml_dagster.runtime.flavors._torch_features import TorchFeatures, to_tensors

    plan, encoded = mixed
    layer = TorchFeatures(plan)
    assert layer.output_width == plan.dense_width + 3 + 2 + 4
    out = layer(*to_tensors(encoded, "cpu"))
    assert out.shape == (4, layer.output_width)
    torch.testing.assert_close(out[:, : plan.dense_width], torch.from_numpy(encoded.dense))
    start = plan.dense_width
    for table, bag, ids in zip(layer.embeddings, plan.bags, encoded.bags, strict=True):
        expected = reference_combination(table.weight.detach().numpy(), ids, bag.combiner)
        got = out[:, start : start + bag.dimension].detach().numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
        start += bag.dimension

    out.sum().backward()
    first = layer.embeddings[0]
    grad = first.weight.grad
    assert grad is not None
    assert grad[0].abs().sum() > 0  # "a" was looked up
    assert grad[first.num_embeddings - 1].abs().sum() == 0  # padding never learns
    assert torch.all(first.weight[first.num_embeddings - 1] == 0)


@pytest.mark.slow  # imports TensorFlow: ~15 s before the first assert
def test_keras_features(mixed: tuple[FeaturePlan, Encoded], tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    tf = pytest.importorskip("tensorflow")
    from sqlml_dagster.runtime.flavors._keras_features import (
        KerasFeatures,
        keras_input_layers,
        keras_inputs,
    )

    plan, encoded = mixed
    layer = KerasFeatures(plan)
    inputs = keras_inputs(encoded)
    out = np.asarray(layer(inputs))
    assert layer.output_width == plan.dense_width + 9
    assert out.shape == (4, layer.output_width)
    np.testing.assert_allclose(out[:, : plan.dense_width], encoded.dense)
    start = plan.dense_width
    for table, bag, ids in zip(layer.tables, plan.bags, encoded.bags, strict=True):
        expected = reference_combination(np.asarray(table.embeddings), ids, bag.combiner)
        np.testing.assert_allclose(out[:, start : start + bag.dimension], expected, rtol=1e-5, atol=1e-6)  # fmt: skip
        start += bag.dimension

    with tf.GradientTape() as tape:
        total = tf.reduce_sum(layer(inputs))
    grads = tape.gradient(total, [t.embeddings for t in layer.tables])
    first = tf.convert_to_tensor(grads[0])
    assert float(tf.reduce_sum(tf.abs(first[0]))) > 0
    assert float(tf.reduce_sum(tf.abs(first[plan.bags[0].num_ids]))) == 0

    model_inputs = keras_input_layers(plan)
    head = keras.layers.Dense(1, name="head")(KerasFeatures(plan)(model_inputs))
    model = keras.Model(model_inputs, head)
    before = model.predict(inputs, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), before, rtol=1e-6)
    restored = next(lay for lay in loaded.layers if isinstance(lay, KerasFeatures))
    assert restored.plan == plan
