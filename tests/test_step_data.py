"""A step's data files (docs/architecture.md, "Step data"): Arrow IPC on a file system,
Parquet on an object store — the same rows, the same batches and the same fingerprint
whichever format carries them, written whole or not at all.
"""

from __future__ import annotations

import json
import posixpath
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
import sqlglot

from sqlml_dagster.compiler.ir import TrainStatement
from sqlml_dagster.compiler.parser import parse_sql_file
from sqlml_dagster.contract.spec import SpecError, StepSpec
from sqlml_dagster.contract.step_data import DataFormat, data_file_name, data_format_for
from sqlml_dagster.ops.places import StepInputs
from sqlml_dagster.ops.storage import SqlMlStorage
from sqlml_dagster.runtime import dl
from sqlml_dagster.runtime.data import DataFile
from sqlml_dagster.runtime.dl.settings import TrainSettings
from sqlml_dagster.runtime.features import FeaturePlan
from sqlml_dagster.warehouses import TableStats
from sqlml_dagster.warehouses.duckdb import DuckDBWarehouse

from .conftest import S3Server, failure_reasons, materialize_all
from .runtime.recorder import Recorder
from .test_contract import PROJECT

FORMATS: list[DataFormat] = ["arrow", "parquet"]

#: Every kind of column a SELECT hands a step: numbers with NULLs, text, an ENUM (an Arrow
#: dictionary), a timestamp, a list, a decimal, a boolean.
ROWS = """
    SELECT i AS id,
           CASE WHEN i % 7 = 0 THEN NULL ELSE i * 0.25 END AS x,
           'city_' || (i % 5)::VARCHAR AS city,
           ['red', 'green', 'blue'][1 + i % 3]::mood AS colour,
           TIMESTAMP '2024-01-01' + INTERVAL (i) MINUTE AS at,
           [i, i + 1] AS pair,
           (i / 3)::DECIMAL(10, 2) AS price,
           i % 2 = 0 AS even
    FROM range(2500) AS r(i)
"""


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(database=str(tmp_path / "w.duckdb"))
    with warehouse.connect() as con:
        con.execute("CREATE TYPE mood AS ENUM ('red', 'green', 'blue')")
        con.execute(f"CREATE TABLE d AS {ROWS}")
    return warehouse


def export(
    warehouse: DuckDBWarehouse, uri: str, data_format: DataFormat, query: str = "SELECT * FROM d"
) -> TableStats:
    return warehouse.export_query(
        sqlglot.parse_one(query, read="duckdb"), uri, data_format=data_format
    )


def plain(table: pa.Table) -> pa.Table:
    """``table`` with dictionary columns decoded, sorted by id: its rows, as a warehouse
    loads them."""
    columns = [
        c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns
    ]
    table = pa.table(columns, names=table.column_names)
    return table.sort_by("id")


# -- the format is chosen by where the data lives -----------------------------------------


@pytest.mark.parametrize(
    ("data_store", "setting", "expected"),
    [
        ("/var/sqlml/data", "auto", "arrow"),  # the orchestrator's disk
        (".sqlml/data", "auto", "arrow"),  # a relative path (the default state dir)
        ("file:///sqlml/data", "auto", "arrow"),  # a shared volume mounted into pods
        ("local:///sqlml/data", "auto", "arrow"),
        ("s3://bucket/data", "auto", "parquet"),  # object stores: fewer bytes travel
        ("S3://bucket/data", "auto", "parquet"),
        ("gs://bucket/data", "auto", "parquet"),
        ("az://container/data", "auto", "parquet"),
        ("memory://data", "auto", "parquet"),
        ("/var/sqlml/data", "parquet", "parquet"),  # step images older than Arrow IPC
        ("s3://bucket/data", "arrow", "arrow"),
    ],
)
def test_the_data_store_picks_the_format(data_store: str, setting: str, expected: str) -> None:
    assert data_format_for(data_store, setting) == expected
    storage = SqlMlStorage(data_store=data_store, step_data_format=setting)  # type: ignore[arg-type]
    assert storage.data_format() == expected
    places = StepInputs("r/m", f"{data_store}/r/m", data_format=storage.data_format())
    suffix = {"arrow": ".arrow", "parquet": ".parquet"}[expected]
    assert places.input_uri == f"{data_store}/r/m/input{suffix}"
    assert places.validation_uri.endswith(f"/validation{suffix}")
    assert places.output_uri.endswith(f"/output{suffix}")


def test_an_unknown_format_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="one of parquet, arrow"):
        data_format_for("/data", "feather")


# -- the StepSpec records it --------------------------------------------------------------


@pytest.mark.parametrize(
    ("data_format", "version", "written"),
    [
        # Parquet specs stay readable by step images that know versions 1 and 2 only
        ("parquet", 1, False),
        # an Arrow spec is version 3: an older image refuses it with "upgrade", instead of
        # failing to read an Arrow file as Parquet
        ("arrow", 3, True),
    ],
)
def test_the_spec_records_the_format(data_format: str, version: int, written: bool) -> None:
    spec = StepSpec(
        kind="predict",
        step_id="r/s",
        model_name="m",
        model_reference="sklearn.svm.SVC",
        flavor="sklearn",
        input_uri=f"/d/input{'.arrow' if data_format == 'arrow' else '.parquet'}",
        data_format=data_format,  # type: ignore[arg-type]
    )
    raw = json.loads(spec.to_json())
    assert raw["spec_version"] == version
    assert ("data_format" in raw) is written
    assert StepSpec.from_json(spec.to_json()).data_format == data_format


def test_a_spec_without_a_format_is_parquet_and_a_strange_one_is_refused() -> None:
    raw = {"kind": "train", "step_id": "s", "model_name": "m", "model_reference": "r"}
    raw |= {"flavor": "sklearn", "spec_version": 2}
    assert StepSpec.from_json(json.dumps(raw)).data_format == "parquet"
    with pytest.raises(SpecError, match="data_format"):
        StepSpec.from_json(json.dumps({**raw, "spec_version": 3, "data_format": "csv"}))


# -- either format: the same rows, batches and fingerprint ---------------------------------


@pytest.mark.slow
def test_both_formats_hold_the_same_rows_and_fingerprint(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    written = {f: export(warehouse, str(tmp_path / data_file_name("input", f)), f) for f in FORMATS}
    files = {f: DataFile(str(tmp_path / data_file_name("input", f)), f) for f in FORMATS}
    # the fingerprint is taken of the stream, before either writer sees it
    assert written["arrow"] == written["parquet"]
    assert written["arrow"].rows == 2500
    # the files are what their names say: an IPC file, a Parquet file
    assert ipc.open_file(str(files["arrow"].uri)).num_record_batches >= 1
    assert pq.ParquetFile(files["parquet"].uri).metadata.num_rows == 2500
    tables = {f: plain(files[f].table()) for f in FORMATS}
    assert tables["arrow"].equals(tables["parquet"])
    assert {f: files[f].num_rows() for f in FORMATS} == {"arrow": 2500, "parquet": 2500}
    schemas = {f: files[f].schema() for f in FORMATS}
    assert schemas["arrow"].names == schemas["parquet"].names == tables["arrow"].column_names
    # batches are cut alike, so a seeded validation split holds out the same rows
    for rows in (1, 700, 1024, 4096):
        cuts = {f: [b.num_rows for b in files[f].batches(rows)] for f in FORMATS}
        assert cuts["arrow"] == cuts["parquet"], rows
        joined = pa.Table.from_batches(list(files["arrow"].batches(rows)))
        assert plain(joined).equals(tables["parquet"])


def test_an_ipc_file_of_uneven_batches_is_read_in_even_ones(tmp_path: Path) -> None:
    """A server's driver hands batches of any size; readers still get ``batch_rows`` each."""
    table = pa.table({"id": np.arange(1000), "x": np.arange(1000) * 0.5})
    target = DataFile(str(tmp_path / "t.arrow"), "arrow")
    with target.writer(table.schema) as writer:
        for start, stop in [(0, 3), (3, 400), (400, 401), (401, 1000)]:
            writer.write_batch(table.slice(start, stop - start).to_batches()[0])
    batches = list(target.batches(256))
    assert [b.num_rows for b in batches] == [256, 256, 256, 232]
    assert pa.Table.from_batches(batches).equals(table)


def test_dictionaries_that_change_between_batches_are_written_as_their_values(
    tmp_path: Path,
) -> None:
    """An IPC file holds one dictionary a column; a query's batches may each bring one."""
    first = pa.array(["a", "b", "a"]).dictionary_encode()
    second = pa.array(["c", "a"]).dictionary_encode()
    schema = pa.schema([("v", first.type)])
    target = DataFile(str(tmp_path / "t.arrow"), "arrow")
    with target.writer(schema) as writer:
        writer.write_batch(pa.record_batch([first], schema=schema))
        writer.write_batch(pa.record_batch([second], schema=schema))
    assert target.table().column("v").to_pylist() == ["a", "b", "a", "c", "a"]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.slow
def test_a_training_feed_is_the_same_whatever_the_format(
    warehouse: DuckDBWarehouse, tmp_path: Path, data_format: DataFormat
) -> None:
    """The prepared feed's rows and the validation split's rows, against Parquet's."""

    def epoch(fmt: DataFormat) -> tuple[np.ndarray, np.ndarray, int]:
        uri = str(tmp_path / fmt / data_file_name("input", fmt))
        export(warehouse, uri, fmt, "SELECT x, price, id % 3 AS y FROM d WHERE x IS NOT NULL")
        spec = StepSpec(
            kind="train",
            step_id="s",
            model_name="m",
            model_reference="DNNClassifier",
            flavor="pytorch",
            params={"train": {"batch_size": 64}, "validation": {"split": 0.2}},
            input_uri=uri,
            label="y",
            data_format=fmt,
        )
        prepared = dl.prepare(spec, Recorder())
        train = prepared.train.arrays()
        assert train is not None and train.labels is not None
        assert prepared.validation is not None
        return train.encoded.dense, train.labels, prepared.rows

    dense, labels, rows = epoch(data_format)
    expected = epoch("parquet")
    assert rows == expected[2] < 2500 - 2500 // 7  # some rows held out for validation
    assert np.array_equal(dense, expected[0]) and np.array_equal(labels, expected[1])


# -- written whole or not at all ----------------------------------------------------------

#: Fails after DuckDB has streamed some batches: ``error()`` runs when row 150,000 is read.
FAILING = (
    "SELECT i, CASE WHEN i = 150000 THEN error('boom') ELSE i END AS v FROM range(200000) r(i)"
)


@pytest.mark.parametrize("data_format", FORMATS)
def test_an_interrupted_export_leaves_no_file(
    warehouse: DuckDBWarehouse, tmp_path: Path, data_format: DataFormat
) -> None:
    folder = tmp_path / "step"
    uri = str(folder / data_file_name("input", data_format))
    with pytest.raises(Exception, match="boom"):
        export(warehouse, uri, data_format, FAILING)
    assert list(folder.iterdir()) == []  # neither the file nor a temporary one


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.slow
def test_an_interrupted_write_to_s3_leaves_no_object(s3: S3Server, data_format: DataFormat) -> None:
    """An unfinished upload is aborted, never completed — for a small file (one PUT at
    the end) and for a large one (a multipart upload already under way)."""
    bucket = s3.bucket(f"data-{uuid.uuid4().hex[:12]}")
    rng = np.random.default_rng(0)
    big = pa.table({"x": rng.random(1_000_000), "y": rng.random(1_000_000)})  # 16 MB
    with s3_defaults(s3):
        fs = fsspec.filesystem("s3")
        for name, table in [("small", big.slice(0, 10)), ("big", big)]:
            target = DataFile(
                f"{bucket}/{name}/{data_file_name('output', data_format)}", data_format
            )
            with (
                pytest.raises(RuntimeError, match="interrupted"),
                target.writer(table.schema) as writer,
            ):
                for batch in table.to_batches(max_chunksize=200_000):
                    writer.write_batch(batch)
                raise RuntimeError("interrupted")
            fs.invalidate_cache()
            assert not fs.exists(target.uri), name
            with target.writer(table.schema) as writer:  # and when it ends, the file is whole
                writer.write_table(table)
            assert target.num_rows() == table.num_rows
            assert target.table().equals(table)


@contextmanager
def s3_defaults(s3: S3Server) -> Iterator[None]:
    """fsspec's S3 defaults pointed at the test server for the block (as the orchestrator's
    ``SqlMlStorage.configure_fsspec`` points them at the data store's)."""
    saved = fsspec.config.conf.get("s3")
    fsspec.config.conf["s3"] = {**(saved or {}), "endpoint_url": s3.endpoint_url}
    try:
        yield
    finally:
        if saved is None:
            fsspec.config.conf.pop("s3", None)
        else:
            fsspec.config.conf["s3"] = saved


def test_exports_to_s3_are_parquet_with_the_local_fingerprint(
    warehouse: DuckDBWarehouse, s3: S3Server, tmp_path: Path
) -> None:
    bucket = s3.bucket(f"data-{uuid.uuid4().hex[:12]}")
    storage = SqlMlStorage(
        data_store=f"{bucket}/data", storage_options={"endpoint_url": s3.endpoint_url}
    )
    with s3_defaults(s3):
        places = StepInputs("r/m", f"{bucket}/data/r/m", data_format=storage.data_format())
        remote = export(warehouse, places.input_uri, places.data_format)
        local = export(warehouse, str(tmp_path / "input.arrow"), "arrow")
        assert places.input_uri.endswith("/input.parquet")
        assert remote == local
        with fsspec.open(places.input_uri, "rb") as f:
            assert f.read(4) == b"PAR1"
        read = DataFile(places.input_uri, "parquet").table()
        assert plain(read).equals(plain(DataFile(str(tmp_path / "input.arrow"), "arrow").table()))


# -- the torch Loader is the feed's epoch --------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 7, 32, 1000])
def test_the_torch_loader_yields_the_feeds_minibatches(tmp_path: Path, batch_size: int) -> None:
    """Block-wise tensors cut into views: the same rows, order, dtypes and trimmed bags as
    ``Feed.epoch`` — for a plan with an embedding, whose bags vary in length."""
    torch = pytest.importorskip("torch")
    from sqlml_dagster.runtime.flavors._torch_train import Loader

    rng = np.random.default_rng(1)
    n = 3000
    tags = [" ".join(rng.choice(["1", "2", "3", "4"], size=k)) for k in rng.integers(0, 4, n)]
    table = pa.table({"x": rng.random(n), "tags": tags, "y": rng.integers(0, 2, n)})
    source = DataFile(str(tmp_path / "d.arrow"), "arrow")
    with source.writer(table.schema) as writer:
        writer.write_table(table)
    sql_file, diagnostics = parse_sql_file(
        "loader.sql",
        "SELECT * FROM t TO TRAIN DNNClassifier "
        "COLUMN x, EMBEDDING(SPARSE(tags, 10, ' '), 2) LABEL y INTO m;",
    )
    assert not diagnostics
    (statement,) = sql_file.statements
    assert isinstance(statement, TrainStatement)
    columns = [c.to_json() for g in statement.columns for c in g.columns]
    plan = FeaturePlan.infer(columns, table.schema, {"y"}).fit([table], normalize=True)
    target = dl.Target("y", "classification", "int64", (0, 1))
    settings = TrainSettings(batch_size=batch_size)
    feed = dl.Feed(source, plan, target, settings)
    expected = list(feed.epoch(np.random.default_rng(5)))
    got = list(Loader(feed, torch.device("cpu"), np.random.default_rng(5)))
    assert len(got) == len(expected) == -(-n // batch_size)
    for (inputs, labels), arrays in zip(got, expected, strict=True):
        dense, *bags = inputs
        assert dense.dtype == torch.float32 and labels.dtype == torch.int64
        assert np.array_equal(dense.numpy(), arrays.encoded.dense)
        assert np.array_equal(labels.numpy(), arrays.labels)
        assert len(bags) == len(arrays.encoded.bags) == 1
        assert np.array_equal(bags[0].numpy(), arrays.encoded.bags[0])


# -- end to end: a project on DuckDB, its step data on disk or on S3 ------------------------
# (the project of test_contract's dry-run test: TRAIN with validation.select, PREDICT,
# EVALUATE, EXPLAIN)


@pytest.mark.slow
def test_a_project_runs_with_its_step_data_on_disk_and_on_s3(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path, s3: S3Server
) -> None:
    root = write_project(PROJECT)
    bucket = s3.bucket(f"data-{uuid.uuid4().hex[:12]}")
    stores = {
        "arrow": str(tmp_path / "disk" / "data"),
        "parquet": f"{bucket}/data",
    }
    tables: dict[str, list[tuple[object, ...]]] = {}
    for data_format, data_store in stores.items():
        state = tmp_path / data_format
        storage = SqlMlStorage(
            model_store=str(state / "models"),
            data_store=data_store,
            storage_options={"endpoint_url": s3.endpoint_url},
        )
        with s3_defaults(s3):
            result = materialize_all(root, state, storage=storage)
            assert result.success, failure_reasons(result)
            fs, path = fsspec.core.url_to_fs(data_store)
            written = {posixpath.basename(p) for p in fs.find(path)}
        # every step read and wrote the format its data store calls for
        suffix = {"arrow": ".arrow", "parquet": ".parquet"}[data_format]
        assert {"input", "validation", "output"} == {
            n.removesuffix(suffix) for n in written if n.endswith(suffix)
        }, written
        specs = [StepSpec.from_json(p) for p in _specs(fs, path)]
        assert {s.data_format for s in specs} == {data_format}
        warehouse = DuckDBWarehouse(database=str(state / "warehouse.duckdb"))
        answer = warehouse.query(sqlglot.parse_one("SELECT x, y FROM scored ORDER BY x"), limit=100)
        assert answer is not None
        tables[data_format] = answer[1]
    assert tables["arrow"] == tables["parquet"] and len(tables["arrow"]) == 60


def _specs(fs: Any, path: str) -> list[str]:
    return [fs.cat_file(p).decode() for p in fs.find(path) if p.endswith("/spec.json")]
