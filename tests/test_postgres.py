"""PostgreSQL as the warehouse: how a user points a project at it, and each fault as one line.

Everything runs against the machine's real server (tests/servers.py), each test in a
database of its own; faults are real ones — a port nothing listens on, a role that does
not exist, a role without privileges, a backend terminated in the middle of a COPY.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from dagster.components.testing import create_defs_folder_sandbox

from sqlml_dagster import SqlMlCompileError, build_defs
from sqlml_dagster.compiler import QualifiedName
from sqlml_dagster.ops.faults import fault_of
from sqlml_dagster.warehouses import WarehouseUnreachable, warehouse_from_url
from sqlml_dagster.warehouses.postgres import APPLICATION_NAME, PostgresWarehouse

from .conftest import materialize_all, write_component
from .servers import postgres_admin, warehouse_project

TABLE = "CREATE TABLE d AS SELECT i AS x, i % 2 AS y FROM range(200) AS t(i);\n"
TRAIN = "SELECT x, y FROM d TO TRAIN sklearn.linear_model.LogisticRegression LABEL y INTO m;\n"


def materialize(folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.cli", "materialize", "-m", "defs"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **env},
    )


def failed_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed run prints (the step's own echo aside), no traceback."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [
        line
        for line in done.stderr.splitlines()
        if line and not line.startswith("sqlml step failed")
    ]
    assert len(lines) == 1, lines
    return lines[0]


def other_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/{database}"


@pytest.fixture
def reader_role(postgres_url: str) -> Iterator[str]:
    """A role that may log in to the test's database but create nothing in it."""
    role = "sqlml_reader_" + urlsplit(postgres_url).path.rsplit("_", 1)[-1]
    postgres_admin(f'CREATE ROLE "{role}" LOGIN')
    try:
        yield role
    finally:
        database = urlsplit(postgres_url).path.lstrip("/")
        postgres_admin(f'DROP OWNED BY "{role}"', database)
        postgres_admin(f'DROP ROLE IF EXISTS "{role}"')


# -- each fault, one line ------------------------------------------------------------------


def test_an_unreachable_server_names_host_and_port(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:1/sqlml"  # nothing listens on port 1
    line = failed_line(materialize(warehouse_project(tmp_path, TABLE, repr(url))))
    assert line == (
        "FAILED sqlml__d SQLML507: cannot reach PostgreSQL at 127.0.0.1:1: connection refused "
        "(is the server running there and accepting TCP connections? check the host and port "
        "of the warehouse URL)"
    )


def test_a_role_the_server_does_not_know(tmp_path: Path, postgres_url: str) -> None:
    url = postgres_url.replace("postgres@", "nobody_here@", 1)
    line = failed_line(materialize(warehouse_project(tmp_path, TABLE, repr(url))))
    assert line.startswith(
        "FAILED sqlml__d SQLML508: PostgreSQL at 127.0.0.1:5432 refused user 'nobody_here': "
        'role "nobody_here" does not exist (check the user and password'
    ), line


def test_a_database_that_does_not_exist(tmp_path: Path, postgres_url: str) -> None:
    url = other_database(postgres_url, "sqlml_no_such_database")
    line = failed_line(materialize(warehouse_project(tmp_path, TABLE, repr(url))))
    assert line == (
        "FAILED sqlml__d SQLML509: database 'sqlml_no_such_database' does not exist on "
        "PostgreSQL at 127.0.0.1:5432 (create it (CREATE DATABASE …) or fix the database in "
        "the warehouse URL)"
    )


def test_a_default_schema_that_does_not_exist(tmp_path: Path, postgres_url: str) -> None:
    resource = f"PostgresWarehouse(url={postgres_url!r}, default_schema='analytics')"
    line = failed_line(materialize(warehouse_project(tmp_path, TABLE, resource)))
    database = urlsplit(postgres_url).path.lstrip("/")
    assert line == (
        f"FAILED sqlml__d SQLML509: schema 'analytics' does not exist in database '{database}' "
        "at 127.0.0.1:5432 (create it (CREATE SCHEMA …) or fix the warehouse's default_schema)"
    )


def test_permission_denied_on_create(tmp_path: Path, postgres_url: str, reader_role: str) -> None:
    url = postgres_url.replace("postgres@", f"{reader_role}@", 1)
    line = failed_line(
        materialize(warehouse_project(tmp_path, "-- the table\n" + TABLE, repr(url)))
    )
    assert line == (
        "FAILED sqlml__d SQLML510: sql/m.sql:2:1: permission denied for schema public "
        f"(grant user '{reader_role}' the privilege, or write to a schema it may create in)"
    )


def test_a_statement_the_server_rejects(tmp_path: Path, postgres_url: str) -> None:
    sql = TABLE + "\nCREATE TABLE e AS\nSELECT x FROM d WHERE no_such_column > 1;\n"
    line = failed_line(materialize(warehouse_project(tmp_path, sql, repr(postgres_url))))
    assert line == (
        'FAILED sqlml__e SQLML506: sql/m.sql:3:1: column "no_such_column" does not exist'
    )


def test_a_type_postgres_does_not_have_is_a_compile_error(
    tmp_path: Path, postgres_url: str
) -> None:
    """SQLML118, when the definitions load: not hours later, when the statement runs."""
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "m.sql").write_text(
        "CREATE TABLE d AS SELECT i AS x FROM range(3) AS t(i);\n"
        "CREATE TABLE e AS SELECT CAST(x AS UBIGINT) AS u FROM d;\n"
    )
    with pytest.raises(SqlMlCompileError) as raised:
        build_defs(tmp_path / "sql", state_dir=tmp_path / "state", warehouse=postgres_url)
    rendered = str(raised.value)
    assert (
        "error[SQLML118]: cannot be written in PostgreSQL: type UBIGINT has no PostgreSQL "
        in rendered
    )
    assert "--> sql/m.sql:2:" in rendered and "^^^^^^^" in rendered
    # the same project on DuckDB compiles
    build_defs(tmp_path / "sql", state_dir=tmp_path / "state")


def test_a_server_killed_while_writing_predictions_leaves_the_old_table(
    tmp_path: Path, postgres_url: str
) -> None:
    """The backend is terminated in the middle of the COPY of a step's output: the fault is
    one line, the old table is as it was, and the next load succeeds."""
    warehouse = warehouse_from_url(postgres_url)
    name = QualifiedName(("predictions",))
    old, big = tmp_path / "old.parquet", tmp_path / "big.parquet"
    pq.write_table(pa.table({"id": [1, 2], "p": [0.5, 0.25]}), old)
    n = 3_000_000
    pq.write_table(pa.table({"id": pa.array(range(n)), "p": pa.array([0.5] * n)}), big)
    warehouse.load_file(name, str(old))
    database = urlsplit(postgres_url).path.lstrip("/")
    killed: list[object] = []

    def kill_the_copy() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            killed.extend(
                postgres_admin(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                    f"datname = '{database}' AND application_name = '{APPLICATION_NAME}' "
                    "AND query ILIKE 'COPY%'"
                )
            )
            time.sleep(0.01)

    killer = threading.Thread(target=kill_the_copy)
    killer.start()
    with pytest.raises(WarehouseUnreachable) as raised:
        warehouse.load_file(name, str(big))
    killer.join()
    assert killed
    fault = fault_of(raised.value, warehouse)
    assert fault is not None and fault.code == "SQLML507"
    assert fault.line.startswith("SQLML507: lost the connection to PostgreSQL at 127.0.0.1:5432: ")
    assert fault.line.endswith(
        "(nothing of this step was committed, the tables are as they were; run it again)"
    )
    answer = warehouse.query(
        sqlglot.parse_one("SELECT id, p FROM predictions ORDER BY id"), limit=5
    )
    assert answer is not None and answer[1] == [(1, 0.5), (2, 0.25)]
    stages = postgres_admin(
        "SELECT count(*) FROM pg_class WHERE relname LIKE '__sqlml_stage%'", database
    )
    assert stages == [(0,)]  # nothing half-written left behind
    warehouse.load_file(name, str(big))
    assert warehouse.stats(name).rows == n


# -- pointing a project at PostgreSQL --------------------------------------------------------


def test_build_defs_takes_a_url_and_the_tables_land_on_the_server(
    tmp_path: Path, postgres_url: str
) -> None:
    root = tmp_path / "sql"
    root.mkdir()
    (root / "m.sql").write_text(
        "CREATE TABLE analytics.d AS SELECT i AS x FROM range(5) AS t(i);\n"
    )
    defs = build_defs(root, state_dir=tmp_path / "state", warehouse=postgres_url)
    warehouse = defs.resources["sqlml_warehouse"]  # type: ignore[index]
    assert isinstance(warehouse, PostgresWarehouse)
    result = materialize_all(root, tmp_path / "state", warehouse=postgres_url)
    assert result.success
    database = urlsplit(postgres_url).path.lstrip("/")
    assert postgres_admin("SELECT count(*) FROM analytics.d", database) == [(5,)]


def test_sqlml_warehouse_points_a_project_at_the_server(tmp_path: Path, postgres_url: str) -> None:
    folder = warehouse_project(tmp_path, TABLE, "None")
    done = materialize(folder, SQLML_WAREHOUSE=postgres_url)
    assert done.returncode == 0, done.stderr
    shown = urlsplit(postgres_url)
    assert (
        f"warehouse: postgresql://postgres@{shown.hostname}:{shown.port}{shown.path}" in done.stdout
    )
    assert postgres_admin("SELECT count(*) FROM d", shown.path.lstrip("/")) == [(200,)]
    assert not (folder / "state" / "warehouse.duckdb").exists()


def test_an_unreadable_sqlml_warehouse_is_one_line(tmp_path: Path) -> None:
    """A setting the CLI cannot use is a usage error (exit 2), one line, no password."""
    done = materialize(
        warehouse_project(tmp_path, TABLE, "None"), SQLML_WAREHOUSE="oracle://me:pw@db/x"
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "SQLML_WAREHOUSE='oracle://me@db/x': warehouse URL oracle://…" in done.stderr
    assert "pw" not in done.stderr


def test_the_component_takes_a_warehouse_url(tmp_path: Path, postgres_url: str) -> None:
    """``warehouse: postgresql://…`` in defs.yaml (a password would come from
    ``{{ env.NAME }}`` in it or PGPASSWORD)."""
    with create_defs_folder_sandbox() as sandbox:
        folder = write_component(
            sandbox.defs_folder_path / "ml",
            f"sql_dir: sql\nwarehouse: {postgres_url}",
            {"m.sql": "CREATE TABLE d AS SELECT 1 AS x;"},
        )
        with sandbox.load_component_and_build_defs(defs_path=folder) as (_, defs):
            warehouse = defs.resources["sqlml_warehouse"]  # type: ignore[index]
            assert isinstance(warehouse, PostgresWarehouse)
            assert warehouse.url == postgres_url


def test_credentials_never_reach_logs_metadata_or_manifests(
    tmp_path: Path, postgres_url: str
) -> None:
    """A password in the URL (the server trusts this machine, so any password logs in)."""
    secret = "s3cret-Pa55word"
    url = postgres_url.replace("postgres@", f"postgres:{secret}@", 1)
    folder = warehouse_project(tmp_path, TABLE + TRAIN, repr(url))
    done = materialize(folder)
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout + done.stderr
    for path in (folder / "state").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".yaml", ".txt", ""):
            assert secret.encode() not in path.read_bytes(), path
    warehouse = warehouse_from_url(url)
    assert secret not in warehouse.location
    assert warehouse.location.startswith("postgresql://postgres@127.0.0.1:5432/")


def test_a_password_setting_as_a_dagster_env_var(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SQLML_TEST_PG_PASSWORD", "from-the-environment")
    warehouse = PostgresWarehouse(url=postgres_url, password=dg.EnvVar("SQLML_TEST_PG_PASSWORD"))
    root = tmp_path / "sql"
    root.mkdir()
    (root / "m.sql").write_text("CREATE TABLE d AS SELECT 1 AS x;\n")
    result = materialize_all(root, tmp_path / "state", warehouse=warehouse)
    assert result.success
    events = [str(e) for e in result.all_events]
    assert not any("from-the-environment" in e for e in events)


@pytest.mark.parametrize(
    ("defs_yaml_warehouse", "env", "expected"),
    [
        # the component's URL: only its scheme matters (a password variable need not be set)
        ('"postgresql://ml:{{ env.SQLML_UNSET_PASSWORD }}@db:5432/x"', {}, 1),
        (None, {"SQLML_WAREHOUSE": "postgresql://ml@db:5432/x"}, 1),  # the environment's
        (None, {}, 0),  # DuckDB: UBIGINT is fine
    ],
)
def test_sqlml_check_checks_the_sql_against_the_warehouse_s_dialect(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    defs_yaml_warehouse: str | None,
    env: dict[str, str],
    expected: int,
) -> None:
    from sqlml_dagster.cli import main

    monkeypatch.delenv("SQLML_WAREHOUSE", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    attributes = "sql_dir: sql" + (
        f"\nwarehouse: {defs_yaml_warehouse}" if defs_yaml_warehouse else ""
    )
    folder = write_component(
        tmp_path / "component", attributes, {"m.sql": "CREATE TABLE d AS SELECT 1::UBIGINT AS u;"}
    )
    assert main(["check", str(folder), "--no-deep"]) == expected
    out = capsys.readouterr()
    assert ("error[SQLML118]" in out.out + out.err) is bool(expected)


def test_a_table_locked_longer_than_the_lock_timeout(tmp_path: Path, postgres_url: str) -> None:
    """Another session holds the table (a long report, a migration): the step waits
    lock_timeout_seconds, then fails as busy (SQLML502), like DuckDB's file lock."""
    import psycopg

    warehouse = PostgresWarehouse(url=postgres_url, lock_timeout_seconds=0.5)
    warehouse.run_statements([sqlglot.parse_one("CREATE OR REPLACE TABLE t AS SELECT 1 AS a")])
    with psycopg.connect(postgres_url) as holder:
        holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(Exception) as raised:
            warehouse.run_statements(
                [sqlglot.parse_one("CREATE OR REPLACE TABLE t AS SELECT 2 AS a")]
            )
        assert time.monotonic() - started < 30
    fault = fault_of(raised.value, warehouse)
    assert fault is not None
    assert fault.line == (
        "SQLML502: PostgreSQL at 127.0.0.1:5432: canceling statement due to lock timeout "
        "(lock_timeout_seconds)"
    )
