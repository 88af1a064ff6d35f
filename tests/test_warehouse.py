"""The DuckDB warehouse resource: lock contention between step processes, schemas, Arrow I/O."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot

from sqlml_dagster import DuckDBWarehouse
from sqlml_dagster.compiler import QualifiedName
from sqlml_dagster.warehouses.fingerprint import ContentFingerprint

HOLD_LOCK = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE IF NOT EXISTS held AS SELECT 1 AS x")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def hold_lock(database: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(database), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


@pytest.mark.slow
def test_waits_for_another_process_lock(tmp_path: Path) -> None:
    """Dagster runs steps in parallel processes; DuckDB allows one writer per file."""
    database = tmp_path / "w.duckdb"
    holder = hold_lock(database, 1.5)
    started = time.monotonic()
    warehouse = DuckDBWarehouse(database=str(database), lock_timeout_seconds=30)
    warehouse.run_statements([sqlglot.parse_one("CREATE TABLE t AS SELECT 2 AS y", read="duckdb")])
    assert time.monotonic() - started > 0.5
    assert holder.wait(timeout=30) == 0
    assert warehouse.stats(QualifiedName(("t",))).rows == 1


@pytest.mark.slow
def test_gives_up_after_the_lock_timeout(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    holder = hold_lock(database, 5)
    try:
        with pytest.raises(Exception, match="lock"):
            DuckDBWarehouse(database=str(database), lock_timeout_seconds=0.3).stats(
                QualifiedName(("held",))
            )
    finally:
        holder.kill()
        holder.wait()


def test_parquet_round_trip_into_a_new_schema(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(database=str(tmp_path / "w.duckdb"))
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "label": ["a", "b", None]}), source)
    name = QualifiedName(("scored", "out"))
    warehouse.load_file(name, str(source))
    assert warehouse.stats(name).rows == 3
    assert warehouse.stats(name).columns == (("id", "BIGINT"), ("label", "VARCHAR"))
    exported = warehouse.export_query(
        sqlglot.parse_one("SELECT * FROM scored.out WHERE id > 1", read="duckdb"),
        str(tmp_path / "x.parquet"),
    )
    assert exported.rows == 2
    assert pq.read_table(tmp_path / "x.parquet").column("id").to_pylist() == [2, 3]


# Loads by mode (replace/append/partition) are a table in test_warehouse_parity.py, run on
# every engine, DuckDB included.


def test_a_partition_load_without_its_window_is_refused(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(database=str(tmp_path / "w.duckdb"))
    with pytest.raises(ValueError, match="row predicate"):
        warehouse.load_file(QualifiedName(("t",)), str(tmp_path / "x.parquet"), mode="partition")


@pytest.mark.parametrize(
    ("batch_rows", "digest"),
    [
        (2, "2fb035ece9232612"),  # in two batches
        (3, "2fb035ece9232612"),  # in one: the same
        (0, "987670e22779c1a0"),  # no rows, the same columns
    ],
)
def test_the_content_fingerprint_is_pinned(batch_rows: int, digest: str) -> None:
    """The digest itself, not only its verdicts: a change to how rows are hashed or summed
    (a seed, the modulus, the JSON around it) changes every published version's
    fingerprint, so every model retrains once after an upgrade — it must be deliberate."""
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "x": pa.array([0.5, None, 2.25]),
            "v": pa.array(["a", "b", None]),
        }
    )
    content = ContentFingerprint()
    if batch_rows:
        for batch in table.to_batches(max_chunksize=batch_rows):
            content.add(batch)
    columns = tuple((field.name, str(field.type)) for field in table.schema)
    assert content.hexdigest(columns) == digest
