"""The project's SQL opens only the project's files (docs/security.md, "Files").

SQL text comes from many hands; the orchestrator that runs it holds credentials. The DuckDB
warehouse runs every statement with external access limited to the project folder (and the
folders a setting adds), no extension installed or loaded that a setting does not list, no
other database attached unless a setting allows it, and the configuration locked so that no
statement turns it back on. ``sqlml check`` warns about the same things before anything
runs. Each case states what a hostile statement tries and asserts that nothing leaked or
was written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot

from sqlml_dagster import DuckDBWarehouse
from sqlml_dagster.compiler import QualifiedName
from sqlml_dagster.warehouses import FileScope, SqlRefused

from .conftest import failure_reasons, materialize_all

SECRET = "the orchestrator's secret"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """``tmp/project/{sql,data}`` and, beside the project, a folder it must not reach."""
    root = tmp_path / "project"
    (root / "sql").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "data" / "x.csv").write_text("a,b\n1,2\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text(SECRET)
    (tmp_path / "outside" / "secret.csv").write_text(f"secret\n{SECRET}\n")
    return root


def run(project: Path, sql: str, **settings: Any) -> None:
    """Run ``sql`` as a table asset of ``project/sql/m.sql`` runs its statements."""
    warehouse = DuckDBWarehouse(database=str(project / "w.duckdb"), **settings)
    scope = FileScope.of_sql_file(project / "sql" / "m.sql", project / "sql")
    warehouse.run_statements([sqlglot.parse_one(sql, read="duckdb")], files=scope)


def read_table(project: Path, sql: str, **settings: Any) -> list[tuple[object, ...]]:
    """The rows a table created from the query ``sql`` holds."""
    run(project, f"CREATE OR REPLACE TABLE got AS {sql}", **settings)
    with duckdb.connect(str(project / "w.duckdb"), read_only=True) as con:
        return con.execute("SELECT * FROM got").fetchall()


# -- reads -----------------------------------------------------------------------------------

ALLOWED_READS = [
    ("relative to the SQL file", "SELECT * FROM read_csv('../data/x.csv')"),
    ("a quoted file name", "SELECT * FROM '../data/x.csv'"),
    ("an absolute path inside", "SELECT * FROM read_csv('{project}/data/x.csv')"),
    ("a glob inside", "SELECT * FROM read_csv('{project}/data/*.csv')"),
    ("a list of files", "SELECT * FROM read_csv(['../data/x.csv'])"),
]


@pytest.mark.parametrize(("what", "sql"), ALLOWED_READS, ids=[w for w, _ in ALLOWED_READS])
def test_the_project_reads_its_own_files(project: Path, what: str, sql: str) -> None:
    assert read_table(project, sql.format(project=project)) == [(1, 2)]


REFUSED_READS = [
    ("process environment", "SELECT * FROM read_text('/proc/self/environ')"),
    ("a file beside the project", "SELECT * FROM read_text('{outside}/secret.txt')"),
    ("escaping with ..", "SELECT * FROM read_text('../../outside/secret.txt')"),
    (
        "escaping from an absolute path",
        "SELECT * FROM read_text('{project}/../outside/secret.txt')",
    ),
    ("a quoted file name outside", "SELECT * FROM '{outside}/secret.csv'"),
    ("csv reader outside", "SELECT * FROM read_csv('{outside}/secret.txt')"),
    ("blob reader", "SELECT * FROM read_blob('/etc/passwd')"),
    ("globbing the file system", "SELECT * FROM glob('/etc/*')"),
    ("a home folder", "SELECT * FROM read_text('~/.aws/credentials')"),
    ("a computed path", "SELECT * FROM read_text('/etc/' || 'passwd')"),
    ("a relative computed path", "SELECT * FROM read_text('../../outside/' || 'secret.txt')"),
]


@pytest.mark.parametrize(("what", "sql"), REFUSED_READS, ids=[w for w, _ in REFUSED_READS])
def test_files_outside_the_project_are_refused(project: Path, what: str, sql: str) -> None:
    text = sql.format(project=project, outside=project.parent / "outside")
    with pytest.raises(duckdb.Error, match="disabled by configuration"):
        read_table(project, text)
    with duckdb.connect(str(project / "w.duckdb"), read_only=True) as con:
        assert con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'got'"
        ).fetchone() == (0,)


# -- writes, extensions, other databases, configuration -------------------------------------

REFUSED_STATEMENTS = [
    ("COPY to a file outside", "COPY (SELECT 1 AS a) TO '{outside}/written.csv'", duckdb.Error),
    ("COPY escaping with ..", "COPY (SELECT 1 AS a) TO '../../outside/written.csv'", duckdb.Error),
    ("INSTALL an extension", "INSTALL httpfs", SqlRefused),
    ("FORCE INSTALL", "FORCE INSTALL httpfs", SqlRefused),
    ("LOAD an extension", "LOAD httpfs", SqlRefused),
    ("ATTACH another database", "ATTACH '{project}/other.duckdb' AS other", SqlRefused),
    ("DETACH", "DETACH other", SqlRefused),
    ("turning external access back on", "SET enable_external_access = true", duckdb.Error),
    ("widening the allowed folders", "SET allowed_directories = ['/']", duckdb.Error),
    ("unlocking the configuration", "SET lock_configuration = false", duckdb.Error),
    ("auto-installing extensions", "SET autoinstall_known_extensions = true", duckdb.Error),
]


@pytest.mark.parametrize(
    ("what", "sql", "error"), REFUSED_STATEMENTS, ids=[w for w, _, _ in REFUSED_STATEMENTS]
)
def test_statements_that_widen_access_are_refused(
    project: Path, what: str, sql: str, error: type[Exception]
) -> None:
    outside = project.parent / "outside"
    with pytest.raises(error):
        run(project, sql.format(project=project, outside=outside))
    assert sorted(p.name for p in outside.iterdir()) == ["secret.csv", "secret.txt"]
    assert not (project / "other.duckdb").exists()


def test_a_refusal_names_the_setting_that_allows_it(project: Path) -> None:
    with pytest.raises(SqlRefused, match="`allow_attach`"):
        run(project, f"ATTACH '{project}/other.duckdb' AS other")
    with pytest.raises(SqlRefused, match=r"`extensions` setting lists \(none\)"):
        run(project, "INSTALL httpfs")


def test_copy_inside_the_project_writes(project: Path) -> None:
    run(project, "COPY (SELECT 1 AS a) TO '../data/out.csv'")
    assert (project / "data" / "out.csv").read_text().splitlines() == ["a", "1"]


@pytest.mark.slow
def test_settings_widen_the_sandbox_explicitly(project: Path) -> None:
    outside = project.parent / "outside"
    sql = f"SELECT content FROM read_text('{outside}/secret.txt')"
    assert read_table(project, sql, allowed_directories=[str(outside)]) == [(SECRET,)]
    assert read_table(project, sql, sandbox=False) == [(SECRET,)]
    run(project, f"ATTACH '{project}/other.duckdb' AS other", allow_attach=True)


def test_a_listed_extension_is_loaded_and_its_install_skipped(project: Path) -> None:
    """``extensions: [json]`` loads the (built-in) json extension for the SQL; the
    project's own ``INSTALL json; LOAD json`` then run as no-ops instead of failing."""
    run(project, "INSTALL json", extensions=["json"])
    run(project, "LOAD json", extensions=["json"])
    with pytest.raises(SqlRefused, match="only the extensions its `extensions` setting lists"):
        run(project, "LOAD httpfs", extensions=["json"])


def test_a_statement_without_a_scope_opens_no_file(project: Path) -> None:
    warehouse = DuckDBWarehouse(database=str(project / "w.duckdb"))
    query = sqlglot.parse_one(f"SELECT * FROM read_csv('{project}/data/x.csv')", read="duckdb")
    with pytest.raises(duckdb.Error, match="disabled by configuration"):
        warehouse.query(query, limit=1)
    assert warehouse.table_exists(QualifiedName(("got",))) is False


# -- end to end: a table asset and sqlml check ----------------------------------------------


@pytest.mark.slow
def test_a_table_asset_cannot_copy_the_environment_into_a_table(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project(
        {
            "leak.sql": "CREATE TABLE env AS SELECT * FROM read_text('/proc/self/environ');",
            "ok.sql": "CREATE TABLE fine AS SELECT 1 AS a;",
        }
    )
    result = materialize_all(root, tmp_path / "state")
    assert not result.success
    assert 'Cannot access file "/proc/self/environ"' in failure_reasons(result)
    with duckdb.connect(str(tmp_path / "state" / "warehouse.duckdb"), read_only=True) as con:
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
    assert tables == {"fine"}


CHECK_WARNINGS = [
    (
        "CREATE TABLE e AS SELECT * FROM read_text('/proc/self/environ');",
        "SQLML115",
        "'/proc/self/environ' is outside",
    ),
    ("COPY (SELECT 1) TO '/tmp/x.csv';", "SQLML115", "'/tmp/x.csv' is outside"),
    ("CREATE TABLE t AS SELECT * FROM read_csv('../../x.csv');", "SQLML115", "'../../x.csv'"),
    ("INSTALL httpfs;", "SQLML116", "INSTALL runs only where the warehouse allows it"),
    ("LOAD spatial;", "SQLML116", "LOAD runs only where"),
    ("ATTACH 'other.duckdb' AS o;", "SQLML116", "ATTACH runs only where"),
]


@pytest.mark.parametrize(("sql", "code", "message"), CHECK_WARNINGS)
@pytest.mark.slow
def test_check_warns_about_access_beyond_the_project(
    tmp_path: Path, sql: str, code: str, message: str
) -> None:
    sql_dir = tmp_path / "project" / "sql"
    sql_dir.mkdir(parents=True)
    (sql_dir / "m.sql").write_text(sql + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.cli", "check", str(sql_dir), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    found = [(d["code"], d["message"]) for d in json.loads(done.stdout)["diagnostics"]]
    assert any(c == code and message in m for c, m in found), found


@pytest.mark.slow
def test_check_is_quiet_about_the_project_s_own_files(tmp_path: Path) -> None:
    sql_dir = tmp_path / "project" / "sql"
    sql_dir.mkdir(parents=True)
    (sql_dir / "m.sql").write_text(
        "CREATE TABLE t AS SELECT * FROM read_csv('../data/x.csv');\n"
        "COPY t TO '../data/out.parquet';\n"
        "CREATE TABLE r AS SELECT * FROM read_parquet('s3://bucket/x.parquet');\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.cli", "check", str(sql_dir), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(done.stdout)["diagnostics"] == []


def test_a_second_project_in_the_same_process_is_refused_while_the_first_holds_the_file(
    project: Path, tmp_path: Path
) -> None:
    """DuckDB's sandbox belongs to the database instance that connections of one process
    share; a connection for another project's folder cannot loosen or change it, and says
    so in one line instead of running with the wrong folders."""
    warehouse = DuckDBWarehouse(database=str(project / "w.duckdb"))
    other = tmp_path / "other" / "sql"
    other.mkdir(parents=True)
    mine = FileScope.of_sql_file(project / "sql" / "m.sql", project / "sql")
    theirs = FileScope.of_sql_file(other / "m.sql", other)
    with warehouse.connect(mine):
        with warehouse.connect(mine) as same:  # the same project shares it
            assert same.execute("SELECT 1").fetchone() == (1,)
        refused = pytest.raises(SqlRefused, match="open in this process with another project's")
        with refused, warehouse.connect(theirs):
            pass
