"""Every function of the COLUMN clause trains and predicts, in every flavor it applies to.

Each row of ``CLAUSES`` is a COLUMN clause as a user writes it and a small synthetic table
whose label depends only on the column(s) that clause reads, so a model that is accurate
on fresh rows proves the function fed it. Every table also has a ``note`` text column that
no clause names: a flavor that ignored the COLUMN clause and read all columns would fail on
it. Fresh rows include category values never seen in training (ignored, or hashed to an
unused bucket), which must not break prediction.

Each statement is parsed by the compiler and run the way the orchestrator runs it: train
with ``run_step``, publish the version's manifest, then predict (and evaluate, explain,
``ML_PREDICT``) against that published version. The flavors: the built-in PyTorch
``DNNClassifier``, a Keras 3 factory (``column_models.classifier``, on ``sys.path`` like a
project's ``models/`` folder) and scikit-learn's ``RandomForestClassifier``. Keras runs
in-process too; the one catch is that a Keras step sets ``TF_USE_LEGACY_KERAS=1`` for its
process, which would pin ``tensorflow.keras`` to tf-keras for every later test, so these
tests import TensorFlow first without it and restore the environment after each test (see
``one_step_per_process``).
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlml_dagster.compiler.ir import TrainStatement
from sqlml_dagster.compiler.parser import parse_sql_file
from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.runtime import StepError, run_step
from sqlml_dagster.store import ModelManifest, ModelVersion

from .recorder import Recorder

# EXPLAIN imports shap, which imports its plotting colours, which newer matplotlib warns
# about: not ours to fix (as in test_scoring.py).
pytestmark = pytest.mark.filterwarnings(
    "ignore::PendingDeprecationWarning:shap.plots.colors._colors"
)

HERE = Path(__file__).parent
TRAIN_ROWS = 320
FRESH_ROWS = 200
#: The easy synthetic tasks below: a model that reads its feature gets nearly all right.
ACCURACY = 0.9
Columns = dict[str, np.ndarray]


# -- the synthetic tables: the label is a function of the clause's columns only ----------


def _with_note(columns: Columns, n: int) -> Columns:
    return {**columns, "note": np.array([f"row {i}" for i in range(n)])}


def _unseen(rng: np.random.Generator, values: np.ndarray, fresh: bool, novel: Any) -> np.ndarray:
    """In fresh rows, about one value in twenty becomes ``novel``: a category that training
    never saw."""
    if not fresh:
        return values
    values = values.copy()
    values[rng.random(len(values)) < 0.05] = novel
    return values


def numbers(rng: np.random.Generator, n: int, fresh: bool) -> Columns:
    """``y = x > 0``."""
    x = rng.normal(size=n)
    return _with_note({"x": x, "y": (x > 0).astype(np.int64)}, n)


def vectors(delimiter: str) -> Callable[[np.random.Generator, int, bool], Columns]:
    """Three numbers in one text column ``v``; ``y`` = the second one is positive, so the
    model must read the right element."""

    def make(rng: np.random.Generator, n: int, fresh: bool) -> Columns:
        values = rng.normal(size=(n, 3))
        text = np.array([delimiter.join(f"{v:.4f}" for v in row) for row in values])
        return _with_note({"v": text, "y": (values[:, 1] > 0).astype(np.int64)}, n)

    return make


def cities(rng: np.random.Generator, n: int, fresh: bool) -> Columns:
    """``y = city in {a, b}``; fresh rows include the unseen city ``zz`` (not a or b)."""
    city = _unseen(rng, rng.choice(list("abcdef"), n), fresh, "zz")
    return _with_note({"city": city, "y": np.isin(city, ["a", "b"]).astype(np.int64)}, n)


def codes(rng: np.random.Generator, n: int, fresh: bool) -> Columns:
    """Integer ids 0..9, ``y`` = the id is odd; fresh rows include 12, outside the ids."""
    code = _unseen(rng, rng.integers(0, 10, n), fresh, 12)
    return _with_note({"code": code, "y": (code % 2 == 1).astype(np.int64)}, n)


def tag_lists(rng: np.random.Generator, n: int, fresh: bool) -> Columns:
    """One to three distinct ids 0..9 a row as ``"3,7,0"``; ``y`` = 1 or 7 is among them
    (about 37% of rows). Fresh rows may also hold 42, outside the ids."""
    rows = [list(rng.choice(10, size=rng.integers(1, 4), replace=False)) for _ in range(n)]
    y = np.array([int(1 in row or 7 in row) for row in rows], dtype=np.int64)
    if fresh:
        rows = [[*row, 42] if rng.random() < 0.05 else row for row in rows]
    return _with_note({"tags": np.array([",".join(map(str, r)) for r in rows]), "y": y}, n)


def pairs(rng: np.random.Generator, n: int, fresh: bool) -> Columns:
    """``y = (a == 'p') XOR (b == 'r')``: no function of ``a`` or ``b`` alone predicts it;
    their cross does."""
    a, b = rng.choice(["p", "q"], n), rng.choice(["r", "s"], n)
    return _with_note({"a": a, "b": b, "y": ((a == "p") ^ (b == "r")).astype(np.int64)}, n)


def weighted_tags(rng: np.random.Generator, n: int, fresh: bool) -> Columns:
    """SQLFlow's key-value text, one to three distinct ids 0..9 a row with a weight each
    (``"3:0.25,7:0.9"``); ``y`` = the weights of ids 1 and 7 sum to more than 0.5, so only a
    model that sees the weights — not just which ids are there — gets it right."""
    texts, y = [], []
    for _ in range(n):
        ids = rng.choice(10, size=rng.integers(1, 4), replace=False)
        weights = rng.choice([0.1, 0.2, 0.8, 0.9], size=len(ids))
        texts.append(",".join(f"{i}:{w:g}" for i, w in zip(ids, weights, strict=True)))
        y.append(int(sum(w for i, w in zip(ids, weights, strict=True) if i in (1, 7)) > 0.5))
    return _with_note({"kv": np.array(texts), "y": np.array(y, dtype=np.int64)}, n)


# -- the table: COLUMN functions by flavor ----------------------------------------------

PYTORCH, KERAS, SKLEARN = "pytorch", "keras", "sklearn"


@dataclass(frozen=True)
class Clause:
    """``COLUMN <sql>`` over the table ``make`` builds; ``reads``: its source columns."""

    sql: str
    make: Callable[[np.random.Generator, int, bool], Columns]
    reads: tuple[str, ...]
    flavors: tuple[str, ...] = (PYTORCH, KERAS, SKLEARN)


CLAUSES = {
    "bare column": Clause("x", numbers, ("x",)),
    "NUMERIC": Clause("NUMERIC(x, 1)", numbers, ("x",)),
    "NUMERIC shape 3": Clause("NUMERIC(v, 3)", vectors(","), ("v",)),
    "DENSE": Clause("DENSE(v, 3, SEMICOLON)", vectors(";"), ("v",)),
    "CATEGORY_ID ints": Clause("CATEGORY_ID(code, 10)", codes, ("code",)),
    "CATEGORY_ID strings": Clause("CATEGORY_ID(city, 10)", cities, ("city",)),
    "SEQ_CATEGORY_ID": Clause("SEQ_CATEGORY_ID(tags, 10, COMMA)", tag_lists, ("tags",)),
    "CATEGORY_HASH": Clause("CATEGORY_HASH(city, 50)", cities, ("city",)),
    "SPARSE": Clause("SPARSE(tags, 10, COMMA)", tag_lists, ("tags",)),
    "BUCKET": Clause("BUCKET(x, [-1, 0, 1])", numbers, ("x",)),
    "CROSS": Clause("CROSS([a, b], 20)", pairs, ("a", "b")),
    "INDICATOR": Clause("INDICATOR(CATEGORY_ID(city, 10))", cities, ("city",)),
    # SQLFlow's forms beyond the basic ones (issue 17): a qualified column, DENSE without a
    # shape, one BUCKET boundary, SPARSE learning its size, a categorical over SPARSE,
    # key-value text as a dense vector and as WEIGHTED_CATEGORY.
    "qualified column": Clause("data.x", numbers, ("x",)),
    "DENSE without shape": Clause("DENSE(v)", vectors(","), ("v",)),
    "DENSE shape none": Clause("DENSE(v, none, SEMICOLON)", vectors(";"), ("v",)),
    "BUCKET one boundary": Clause("BUCKET(x, 0)", numbers, ("x",)),
    "SPARSE without shape": Clause("SPARSE(tags)", tag_lists, ("tags",)),
    "CATEGORY_ID of SPARSE": Clause(
        'CATEGORY_ID(SPARSE(tags, 10, ",", "int"), 10)', tag_lists, ("tags",)
    ),
    "DENSE key-value": Clause('DENSE(kv, 10, ",", "int", ":", "float")', weighted_tags, ("kv",)),
    "WEIGHTED_CATEGORY": Clause(
        'INDICATOR(WEIGHTED_CATEGORY(CATEGORY_ID(SPARSE(kv, 10, ",", "int", ":", "float"), 10)))',
        weighted_tags,
        ("kv",),
    ),
    "EMBEDDING of WEIGHTED_CATEGORY": Clause(  # go/cmd/sqlflowserver/e2e_common_cases.go
        'EMBEDDING(WEIGHTED_CATEGORY(CATEGORY_HASH(SPARSE(kv, 10, ",", "int", ":", "float"), '
        "1000)), 8)",
        weighted_tags,
        ("kv",),
        flavors=(PYTORCH, KERAS),
    ),
    "EMBEDDING default combiner": Clause(
        "EMBEDDING(CATEGORY_ID(city, 10), 4)", cities, ("city",), flavors=(PYTORCH, KERAS)
    ),
    **{
        f"EMBEDDING {combiner}": Clause(
            f"EMBEDDING(CATEGORY_ID(city, 10), 4, {combiner})",
            cities,
            ("city",),
            flavors=(PYTORCH, KERAS),  # an estimator learns no embedding table
        )
        for combiner in ("mean", "sum", "sqrtn")
    },
}

#: The model each flavor trains: reference and WITH clause (few epochs at a high learning
#: rate: the tasks are easy and the whole table must run in well under a minute).
MODELS = {
    PYTORCH: (
        "DNNClassifier",
        "model.hidden_units = [16], train.epoch = 10, train.batch_size = 32, "
        "train.learning_rate = 0.05",
    ),
    KERAS: (
        "column_models.classifier",
        "train.epoch = 10, train.batch_size = 32, train.learning_rate = 0.05",
    ),
    SKLEARN: ("sklearn.ensemble.RandomForestClassifier", "model.n_estimators = 25"),
}

TABLE = [
    pytest.param(
        clause,
        flavor,
        id=f"{name}-{flavor}",
        # a network trains for seconds (and Keras imports TensorFlow: its start and graph
        # building cost seconds a test); a forest in ~0.2 s
        marks=[] if flavor == SKLEARN else [pytest.mark.slow],
    )
    for name, clause in CLAUSES.items()
    for flavor in clause.flavors
]


# -- running statements as the orchestrator does -----------------------------------------


@pytest.fixture(autouse=True)
def one_step_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """A step process runs one step; these tests run many in pytest's process. The Keras
    steps set ``TF_USE_LEGACY_KERAS=1`` so that ``tf.keras`` means tf-keras for SQLFlow's
    model-zoo files; in this process it would stay set for every later test. Put the
    environment back after each test."""
    monkeypatch.delenv("TF_USE_LEGACY_KERAS", raising=False)


def import_tensorflow_as_a_fresh_process_would() -> None:
    """TensorFlow decides what ``tensorflow.keras`` is once, at its first import, from
    ``TF_USE_LEGACY_KERAS``. Were that first import inside a Keras step here, every later
    test in this process (mlflow's Keras flavor, for one) would get tf-keras for it. So
    import it first, with the variable unset (``one_step_per_process``): the Keras 3 model
    of these tests uses ``import keras`` and does not care."""
    importlib.import_module("tensorflow")


def write(path: Path, columns: Columns) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def statement(sql: str) -> TrainStatement:
    sql_file, diagnostics = parse_sql_file("columns.sql", sql)
    assert not diagnostics, [d.message for d in diagnostics]
    (parsed,) = sql_file.statements
    assert isinstance(parsed, TrainStatement)
    return parsed


def train(root: Path, model: str, with_: str, column: str, data: Path) -> ModelVersion:
    """``SELECT * FROM data TO TRAIN <model> WITH … COLUMN <column> LABEL y INTO m``, then
    the manifest the orchestrator publishes from the step's result."""
    parsed = statement(
        f"SELECT * FROM data TO TRAIN {model} WITH {with_} COLUMN {column} LABEL y INTO m;"
    )
    uri = root / "models" / "m" / "1"
    recorder = Recorder()
    run_step(
        StepSpec(
            kind="train",
            step_id="train",
            model_name="m",
            model_reference=parsed.model.reference,
            flavor=parsed.model.flavor,
            params=parsed.params_by_namespace(),
            input_uri=str(data),
            label=parsed.label,
            model_uri=str(uri),
            columns={g.argument: [c.to_json() for c in g.columns] for g in parsed.columns},
        ),
        recorder,
    )
    payload = recorder.payload
    manifest = ModelManifest(
        model="m",
        version=1,
        created_at="2026-01-01T00:00:00+00:00",
        flavor=payload["flavor"],
        model_reference=parsed.model.reference,
        fingerprint="f",
        statement_fingerprint="s",
        training_data_fingerprint="d",
        metrics=payload["metrics"],
        features=payload["features"],
        label=payload["label"],
        artifacts={p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in uri.iterdir()},
    )
    (uri / "manifest.json").write_text(manifest.to_json())
    return ModelVersion(manifest, str(uri))


def score(
    version: ModelVersion, kind: str, data: Path, output: Path, **fields: Any
) -> tuple[Recorder, pa.Table]:
    """A predict, evaluate or explain step over ``version``, its spec filled from the
    manifest as the orchestrator fills it."""
    manifest = version.manifest
    recorder = Recorder()
    run_step(
        StepSpec(
            kind=kind,  # type: ignore[arg-type]
            step_id=kind,
            model_name=manifest.model,
            model_reference=manifest.model_reference,
            flavor=manifest.flavor,
            input_uri=str(data),
            features=manifest.features,
            model_uri=version.uri,
            output_uri=str(output),
            model_version=manifest.version,
            **fields,
        ),
        recorder,
    )
    return recorder, pq.read_table(output)


# -- every function, every flavor ------------------------------------------------------


@pytest.mark.parametrize(("clause", "flavor"), TABLE)
def test_a_column_function_feeds_the_model_it_trains_and_predicts_with(
    clause: Clause, flavor: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(HERE))  # column_models, as a project's models/ folder
    # what the orchestrator tells a step of a project whose models/ holds column_models
    monkeypatch.setenv("SQLML_ALLOWED_MODEL_PACKAGES", "column_models")
    if flavor == KERAS:
        import_tensorflow_as_a_fresh_process_would()
    rng = np.random.default_rng(7)
    training = clause.make(rng, TRAIN_ROWS, False)
    fresh = clause.make(rng, FRESH_ROWS, True)
    expected = fresh.pop("y")
    model, with_ = MODELS[flavor]

    version = train(tmp_path, model, with_, clause.sql, write(tmp_path / "train.parquet", training))
    assert version.manifest.flavor == flavor
    assert version.manifest.features == list(clause.reads)
    assert version.signature["feature_plan"]["features"]

    _, predicted = score(
        version,
        "predict",
        write(tmp_path / "fresh.parquet", fresh),
        tmp_path / "predicted.parquet",
        prediction_column="prediction",
    )
    assert predicted.column_names == [*fresh, "prediction"]
    assert predicted.num_rows == FRESH_ROWS
    assert predicted["prediction"].null_count == 0
    accuracy = float(np.mean(predicted["prediction"].to_numpy() == expected))
    assert accuracy >= ACCURACY, f"{clause.sql} on {flavor}: accuracy {accuracy:.3f} on fresh rows"


# -- scikit-learn specifics --------------------------------------------------------------

FOREST = MODELS[SKLEARN]


def test_embedding_is_refused_for_scikit_learn_with_what_to_write_instead(
    tmp_path: Path,
) -> None:
    data = write(tmp_path / "train.parquet", cities(np.random.default_rng(0), 50, False))
    with pytest.raises(StepError) as failure:
        train(tmp_path, *FOREST, "EMBEDDING(CATEGORY_HASH(city, 20), 4)", data)
    message = str(failure.value)
    assert "EMBEDDING(CATEGORY_HASH(city, …), …)" in message
    assert "scikit-learn estimator" in message
    assert "INDICATOR(CATEGORY_HASH(city, …))" in message
    assert "TO TRAIN DNNClassifier" in message


def test_scikit_learn_takes_one_column_clause_not_one_per_argument(tmp_path: Path) -> None:
    data = write(tmp_path / "train.parquet", cities(np.random.default_rng(0), 50, False))
    with pytest.raises(StepError, match=r"COLUMN … FOR wide: .* write one COLUMN clause"):
        train(tmp_path, *FOREST, "CATEGORY_ID(city, 10) FOR wide COLUMN note FOR deep", data)


def test_scikit_learn_without_a_column_clause_reads_every_column_as_a_number(
    tmp_path: Path,
) -> None:
    """Models trained before the COLUMN clause existed, and statements without one, keep
    the plain matrix: no plan, every selected column but the label."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=100), rng.normal(size=100)
    data = write(tmp_path / "train.parquet", {"a": a, "b": b, "y": (a > 0).astype(np.int64)})
    parsed = statement(f"SELECT * FROM data TO TRAIN {FOREST[0]} LABEL y INTO m;")
    recorder = Recorder()
    run_step(
        StepSpec(
            kind="train",
            step_id="train",
            model_name="m",
            model_reference=parsed.model.reference,
            flavor=parsed.model.flavor,
            input_uri=str(data),
            label="y",
            model_uri=str(tmp_path / "m"),
            columns=None,
        ),
        recorder,
    )
    assert recorder.payload["features"] == ["a", "b"]
    assert "feature_plan" not in recorder.payload["signature"]


@pytest.fixture
def city_forest(tmp_path: Path) -> tuple[ModelVersion, Columns]:
    """A forest over ``COLUMN CATEGORY_ID(city, 10), x`` where only the city matters, and
    fresh labelled rows."""
    rng = np.random.default_rng(3)

    def rows(n: int, fresh: bool) -> Columns:
        return {**cities(rng, n, fresh), "x": rng.normal(size=n)}

    data = write(tmp_path / "train.parquet", rows(TRAIN_ROWS, False))
    return train(tmp_path, *FOREST, "CATEGORY_ID(city, 10), x", data), rows(FRESH_ROWS, True)


@pytest.mark.slow
def test_evaluate_and_explain_encode_rows_as_training_did(
    city_forest: tuple[ModelVersion, Columns], tmp_path: Path
) -> None:
    version, fresh = city_forest
    data = write(tmp_path / "fresh.parquet", fresh)

    _, metrics = score(version, "evaluate", data, tmp_path / "evaluation.parquet", label="y")
    assert metrics.column("accuracy")[0].as_py() >= ACCURACY

    # The estimator reads encoded columns, not the source columns SHAP's exact explainers
    # would hand it: attributions go through the predictor, by permutation.
    recorder, explained = score(version, "explain", data, tmp_path / "explained.parquet", label="y")
    assert recorder.payload["method"] == "permutation"
    assert explained.column("feature").to_pylist() == ["city", "x"]


def test_ml_predict_calls_the_model_with_its_source_columns_and_encodes_them(
    city_forest: tuple[ModelVersion, Columns], tmp_path: Path
) -> None:
    """``ML_PREDICT(m, city, x)``: a text and a number argument, encoded by the saved plan
    inside the warehouse process, give TO PREDICT's answers."""
    import duckdb

    from sqlml_dagster.ops.model_functions import model_function

    version, fresh = city_forest
    inputs = {"city": fresh["city"], "x": fresh["x"]}
    _, stepped = score(
        version,
        "predict",
        write(tmp_path / "fresh.parquet", inputs),
        tmp_path / "predicted.parquet",
        prediction_column="p",
    )

    function = model_function(version, 2, "predict_m")
    assert function.parameters == ("VARCHAR", "DOUBLE")
    with duckdb.connect() as con:
        con.create_function(  # type: ignore[call-overload]
            function.name,
            function.function,
            [duckdb.sqltype(t) for t in function.parameters],
            duckdb.sqltype(function.return_type),
            type="arrow",
        )
        con.register("fresh", pa.table(inputs))
        inline = [p for (p,) in con.execute("SELECT predict_m(city, x) FROM fresh").fetchall()]
    assert inline == stepped["p"].to_pylist()
    assert float(np.mean(np.array(inline) == fresh["y"])) >= ACCURACY
