"""The machine's database servers, as tests use them (docs/warehouses.md, "Tests").

Every machine of the project runs PostgreSQL on 127.0.0.1:5432 (trust authentication) and
MariaDB on 127.0.0.1:3306 before the tests start (``.ci/run`` checks both answer). A test
gets a database of its own, with a unique name, created through psycopg — a different
client than the driver under test — and dropped afterwards, so runs never see each other's
tables. A server that does not answer fails the test: never a silent skip.
"""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Where the machine's PostgreSQL is (``SQLML_TEST_POSTGRES`` points elsewhere).
POSTGRES = os.environ.get("SQLML_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def postgres_admin(sql: str, database: str = "postgres") -> list[tuple[object, ...]]:
    """Run one statement as the server's superuser, outside any transaction."""
    import psycopg

    with psycopg.connect(f"{POSTGRES}/{database}", autocommit=True) as connection:
        cursor = connection.execute(sql)
        return list(cursor.fetchall()) if cursor.description else []


@contextmanager
def postgres_database(prefix: str = "sqlml_test") -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL: its URL; dropped on the way out."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


#: Where the machine's MariaDB is (``SQLML_TEST_MYSQL`` points elsewhere).
MYSQL = os.environ.get("SQLML_TEST_MYSQL", "mysql://root@127.0.0.1:3306")


def mysql_admin(sql: str, database: str = "") -> list[tuple[str, ...]]:
    """Run statements as the server's root through the ``mariadb`` command-line client (not
    the driver under test); the rows as text (``NULL`` as None)."""
    import subprocess
    from urllib.parse import urlsplit

    parts = urlsplit(MYSQL)
    done = subprocess.run(
        [
            "mariadb",
            f"--host={parts.hostname}",
            f"--port={parts.port or 3306}",
            f"--user={parts.username or 'root'}",
            "--batch",
            "--skip-column-names",
            *([database] if database else []),
            "-e",
            sql,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MYSQL_PWD": parts.password or ""},
    )
    if done.returncode != 0:
        raise RuntimeError(f"mariadb: {done.stderr.strip()}")
    return [
        tuple(None if v == "NULL" else v for v in line.split("\t"))
        for line in done.stdout.splitlines()
    ]


@contextmanager
def mysql_database(prefix: str = "sqlml_test") -> Iterator[str]:
    """A fresh database on the machine's MariaDB: its URL; dropped on the way out, with any
    database named ``<its name>_*`` the test created beside it (on MySQL a schema is a
    database: a test that writes ``<schema>.t`` names the schema after its database)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    mysql_admin(f"CREATE DATABASE `{name}`")
    try:
        yield f"{MYSQL}/{name}"
    finally:
        found = mysql_admin(
            "SELECT schema_name FROM information_schema.schemata "
            f"WHERE schema_name = '{name}' OR schema_name LIKE '{name}\\_%'"
        )
        if found:
            mysql_admin("; ".join(f"DROP DATABASE IF EXISTS `{row[0]}`" for row in found))


def warehouse_project(folder: Path, sql: str, warehouse: str) -> Path:
    """A project in ``folder``: ``sql/m.sql`` holding ``sql`` and a ``defs.py`` that builds its
    definitions with ``warehouse=<expression>`` (``repr(url)``, ``None`` or a constructor
    call such as ``PostgresWarehouse(...)`` or ``MySqlWarehouse(...)``); what
    ``sqlml materialize -m defs`` runs from ``folder``."""
    (folder / "sql").mkdir(exist_ok=True)
    (folder / "sql" / "m.sql").write_text(sql)
    (folder / "defs.py").write_text(
        textwrap.dedent(
            f"""
            from sqlml_dagster import build_defs
            from sqlml_dagster import MySqlWarehouse, PostgresWarehouse
            defs = build_defs("sql", state_dir="state", warehouse={warehouse})
            """
        )
    )
    return folder
