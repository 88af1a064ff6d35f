"""MySQL/MariaDB as the warehouse: how a user points a project at it, and each fault as one
line.

Everything runs against the machine's real MariaDB (tests/servers.py), each test in a
database of its own; faults are real ones — a port nothing listens on, a user the server
does not know, a user without privileges, a connection killed in the middle of a
``LOAD DATA``, a table another session has locked.
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot

from sqlml_dagster import SqlMlCompileError, build_defs
from sqlml_dagster.compiler import QualifiedName
from sqlml_dagster.ops.faults import fault_of
from sqlml_dagster.warehouses import (
    SqlRefused,
    WarehouseBusy,
    WarehouseUnreachable,
    warehouse_from_url,
)
from sqlml_dagster.warehouses.mysql import MySqlWarehouse

from .servers import MYSQL, mysql_admin, warehouse_project
from .test_postgres import TABLE, TRAIN, failed_line, materialize


def database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


@pytest.fixture
def user(mysql_url: str) -> Iterator[tuple[str, str]]:
    """A user with a password that may only read the test's database: (name, password)."""
    name, password = f"sqlml_u_{uuid.uuid4().hex[:8]}", "s3cret-Pa55word"
    mysql_admin(
        f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'; "
        f"CREATE USER '{name}'@'localhost' IDENTIFIED BY '{password}'; "
        f"GRANT SELECT ON `{database_of(mysql_url)}`.* TO '{name}'@'%'; "
        f"GRANT SELECT ON `{database_of(mysql_url)}`.* TO '{name}'@'localhost'"
    )
    try:
        yield name, password
    finally:
        mysql_admin(f"DROP USER IF EXISTS '{name}'@'%', '{name}'@'localhost'")


def with_user(url: str, name: str, password: str = "") -> str:
    parts = urlsplit(url)
    secret = f":{password}" if password else ""
    return f"mysql://{name}{secret}@{parts.hostname}:{parts.port}{parts.path}"


# -- each fault, one line ------------------------------------------------------------------


def test_an_unreachable_server_names_host_and_port(tmp_path: Path) -> None:
    url = "mysql://root@127.0.0.1:1/sqlml"  # nothing listens on port 1
    line = failed_line(materialize(warehouse_project(tmp_path, TABLE, repr(url))))
    assert line == (
        "FAILED sqlml__d SQLML507: cannot reach MySQL/MariaDB at 127.0.0.1:1: connection "
        "refused (is the server running there and accepting TCP connections? check the host "
        "and port of the warehouse URL)"
    )


def test_a_user_the_server_does_not_know(tmp_path: Path, mysql_url: str) -> None:
    url = with_user(mysql_url, "nobody_here")
    line = failed_line(materialize(warehouse_project(tmp_path, TABLE, repr(url))))
    assert line.startswith(
        "FAILED sqlml__d SQLML508: MySQL/MariaDB at 127.0.0.1:3306 refused user 'nobody_here': "
        "Access denied for user 'nobody_here'@"
    ), line
    assert line.endswith(
        "(check the user and password: in the URL, MYSQL_PWD, or the warehouse's password setting)"
    )


def test_a_database_that_does_not_exist(tmp_path: Path) -> None:
    url = f"{MYSQL}/sqlml_no_such_database"
    line = failed_line(materialize(warehouse_project(tmp_path, TABLE, repr(url))))
    assert line == (
        "FAILED sqlml__d SQLML509: database 'sqlml_no_such_database' does not exist on "
        "MySQL/MariaDB at 127.0.0.1:3306 (create it (CREATE DATABASE …) or fix the database "
        "in the warehouse URL (or its default_schema))"
    )


def test_permission_denied_on_create(tmp_path: Path, mysql_url: str, user: tuple[str, str]) -> None:
    url = with_user(mysql_url, *user)
    line = failed_line(
        materialize(warehouse_project(tmp_path, "-- the table\n" + TABLE, repr(url)))
    )
    assert line.startswith(
        f"FAILED sqlml__d SQLML510: sql/m.sql:2:1: INSERT, CREATE command denied to user "
        f"'{user[0]}'@'127.0.0.1' for table `{database_of(mysql_url)}`.`d` "
    ), line
    assert line.endswith(
        f"(grant user '{user[0]}' the privilege, or write to a database it may create in)"
    )
    assert user[1] not in line


def test_a_statement_the_server_rejects(tmp_path: Path, mysql_url: str) -> None:
    sql = TABLE + "\nCREATE TABLE e AS\nSELECT x FROM d WHERE no_such_column > 1;\n"
    line = failed_line(materialize(warehouse_project(tmp_path, sql, repr(mysql_url))))
    assert line == (
        "FAILED sqlml__e SQLML506: sql/m.sql:3:1: Unknown column 'no_such_column' in 'WHERE'"
    ) or line == (
        "FAILED sqlml__e SQLML506: sql/m.sql:3:1: Unknown column 'no_such_column' in 'where clause'"
    ), line


def test_a_type_mysql_does_not_have_is_a_compile_error(tmp_path: Path, mysql_url: str) -> None:
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "m.sql").write_text(
        "CREATE TABLE d AS SELECT i AS x FROM range(3) AS t(i);\n"
        "CREATE TABLE e AS SELECT CAST(x AS HUGEINT) AS u FROM d;\n"
    )
    with pytest.raises(SqlMlCompileError) as raised:
        build_defs(tmp_path / "sql", state_dir=tmp_path / "state", warehouse=mysql_url)
    rendered = str(raised.value)
    assert "error[SQLML118]: cannot be written in MySQL/MariaDB: type INT128 has no " in rendered
    assert "--> sql/m.sql:2:" in rendered


def test_a_connection_killed_while_writing_predictions_leaves_the_old_table(
    tmp_path: Path, mysql_url: str
) -> None:
    """The session is killed in the middle of the LOAD DATA of a step's output: the fault is
    one line, the old table is as it was, no stage is left, and the next load succeeds."""
    warehouse = warehouse_from_url(mysql_url)
    name = QualifiedName(("predictions",))
    old, big = tmp_path / "old.parquet", tmp_path / "big.parquet"
    pq.write_table(pa.table({"id": [1, 2], "p": [0.5, 0.25]}), old)
    n = 2_000_000
    pq.write_table(pa.table({"id": pa.array(range(n)), "p": pa.array([0.5] * n)}), big)
    warehouse.load_file(name, str(old))
    database = database_of(mysql_url)
    killed: list[object] = []

    def kill_the_load() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            for (pid,) in mysql_admin(
                "SELECT id FROM information_schema.processlist WHERE "
                f"db = '{database}' AND info LIKE 'LOAD DATA%'"
            ):
                mysql_admin(f"KILL {pid}")
                killed.append(pid)
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_load)
    killer.start()
    with pytest.raises(WarehouseUnreachable) as raised:
        warehouse.load_file(name, str(big))
    killer.join()
    assert killed
    fault = fault_of(raised.value, warehouse)
    assert fault is not None and fault.code == "SQLML507"
    assert fault.line.startswith("SQLML507: lost the connection to MySQL/MariaDB at 127.0.0.1:3306")
    answer = warehouse.query(
        sqlglot.parse_one("SELECT id, p FROM predictions ORDER BY id"), limit=5
    )
    assert answer is not None and answer[1] == [(1, 0.5), (2, 0.25)]
    left = mysql_admin(
        "SELECT table_name FROM information_schema.tables WHERE "
        f"table_schema = '{database}' AND table_name LIKE '\\_\\_sqlml%'"
    )
    assert left == []  # nothing half-written left behind
    fresh = tmp_path / "fresh.parquet"  # the next load over a new connection succeeds
    pq.write_table(pa.table({"id": [7, 8, 9], "p": [0.1, 0.2, 0.3]}), fresh)
    warehouse.load_file(name, str(fresh))
    assert warehouse.stats(name).rows == 3


def test_a_table_locked_longer_than_the_lock_timeout(mysql_url: str) -> None:
    """Another session holds the table: the step waits lock_timeout_seconds, then fails
    as busy (SQLML502), and the table is as it was."""
    warehouse = MySqlWarehouse(url=mysql_url, lock_timeout_seconds=1)
    warehouse.run_statements([sqlglot.parse_one("CREATE OR REPLACE TABLE t AS SELECT 1 AS a")])
    holder = subprocess.Popen(
        [
            "mariadb",
            "-h127.0.0.1",
            "-uroot",
            database_of(mysql_url),
            "-e",
            "LOCK TABLES t WRITE; SELECT SLEEP(8);",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        started = time.monotonic()
        with pytest.raises(WarehouseBusy) as raised:
            warehouse.run_statements(
                [sqlglot.parse_one("CREATE OR REPLACE TABLE t AS SELECT 2 AS a")]
            )
        assert time.monotonic() - started < 6
    finally:
        holder.wait()
    fault = fault_of(raised.value, warehouse)
    assert fault is not None and fault.code == "SQLML502"
    assert fault.line.startswith("SQLML502: MySQL/MariaDB at 127.0.0.1:3306: Lock wait timeout")
    assert mysql_admin("SELECT a FROM t", database_of(mysql_url)) == [("1",)]


def test_load_data_local_never_sends_a_file_the_sql_names(tmp_path: Path, mysql_url: str) -> None:
    """It would send a file of the machine the step runs on to the server: the project's SQL
    cannot say it (sqlglot does not read it: a compile error), and a statement that reached
    the driver anyway is refused by the client, which sends only the files it wrote."""
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "m.sql").write_text(
        "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE t;\n"
    )
    with pytest.raises(SqlMlCompileError):
        build_defs(tmp_path / "sql", state_dir=tmp_path / "state", warehouse=mysql_url)
    warehouse = warehouse_from_url(mysql_url)
    warehouse.run_statements([sqlglot.parse_one("CREATE TABLE t (line TEXT)", read="mysql")])
    statement = sqlglot.exp.Command(
        this="LOAD",
        expression=sqlglot.exp.Literal.string("DATA LOCAL INFILE '/etc/hostname' INTO TABLE t"),
    )
    with pytest.raises(SqlRefused, match="LOAD DATA LOCAL reads a file of the machine"):
        warehouse.run_statements([statement])
    assert mysql_admin("SELECT count(*) FROM t", database_of(mysql_url)) == [("0",)]


# -- pointing a project at MySQL/MariaDB -------------------------------------------------------


def test_sqlml_warehouse_points_a_project_at_the_server(tmp_path: Path, mysql_url: str) -> None:
    folder = warehouse_project(tmp_path, TABLE + TRAIN, "None")
    done = materialize(folder, SQLML_WAREHOUSE=mysql_url)
    assert done.returncode == 0, done.stderr
    assert f"warehouse: {mysql_url}" in done.stdout
    assert mysql_admin("SELECT count(*) FROM d", database_of(mysql_url)) == [("200",)]
    assert not (folder / "state" / "warehouse.duckdb").exists()


def test_credentials_never_reach_logs_metadata_or_manifests(
    tmp_path: Path, mysql_url: str, user: tuple[str, str]
) -> None:
    """A user with a password (in the URL) that may read the database: training reads
    through both drivers with it."""
    name, password = user
    mysql_admin(f"GRANT ALL ON `{database_of(mysql_url)}`.* TO '{name}'@'%', '{name}'@'localhost'")
    url = with_user(mysql_url, name, password)
    folder = warehouse_project(tmp_path, TABLE + TRAIN, repr(url))
    done = materialize(folder)
    assert done.returncode == 0, done.stderr
    assert password not in done.stdout + done.stderr
    for path in (folder / "state").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".yaml", ".txt", ""):
            assert password.encode() not in path.read_bytes(), path
    assert warehouse_from_url(url).location == with_user(mysql_url, name)


def test_the_password_from_mysql_pwd(
    mysql_url: str, user: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, password = user
    monkeypatch.setenv("MYSQL_PWD", password)
    warehouse = warehouse_from_url(with_user(mysql_url, name))
    answer = warehouse.query(sqlglot.parse_one("SELECT 1 AS one"), limit=1)
    assert answer == (("one",), [(1,)])


def test_names_are_folded_as_on_duckdb(mysql_url: str) -> None:
    """A statement that writes ``Train`` and one that reads ``train`` mean one table."""
    warehouse = warehouse_from_url(mysql_url)
    warehouse.run_statements(
        [
            sqlglot.parse_one("CREATE OR REPLACE TABLE Train AS SELECT 1 AS a"),
            sqlglot.parse_one("CREATE OR REPLACE TABLE later AS SELECT A + 1 AS b FROM TRAIN"),
        ]
    )
    assert warehouse.table_exists(QualifiedName(("train",)))
    assert mysql_admin("SELECT b FROM later", database_of(mysql_url)) == [("2",)]


def test_sqlml_check_checks_the_sql_against_mysql_s_dialect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``$SQLML_WAREHOUSE=mysql://…``: only its scheme matters to ``sqlml check``."""
    from sqlml_dagster.cli import main

    from .conftest import write_component

    monkeypatch.setenv("SQLML_WAREHOUSE", "mysql://ml@db:3306/x")
    folder = write_component(
        tmp_path / "component",
        "sql_dir: sql",
        {"m.sql": "CREATE TABLE d AS SELECT 1::HUGEINT AS u;"},
    )
    assert main(["check", str(folder), "--no-deep"]) == 1
    out = capsys.readouterr()
    assert "error[SQLML118]: cannot be written in MySQL/MariaDB" in out.out + out.err
