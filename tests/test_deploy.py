"""docs/deploy.md, brought up for real: Dagster's storage on a PostgreSQL server, the
models on an S3 server, ``dagster-daemon`` running the SQL's schedule.

The files come out of the page itself (each code block whose first line is ``# <path>``),
so the page cannot drift from what runs. A unique database on the local PostgreSQL 15
holds Dagster's runs, event logs and sensor state; moto's S3 server on loopback holds the
model and step stores, reached through the environment only (``AWS_ENDPOINT_URL``); the
daemon loads the code location from ``workspace.yaml`` and evaluates ``sqlml_automation``
on its own. The SQL is scheduled every minute, so the test waits for at most one cron
tick plus one sensor interval, then stops the daemon and finds none of its processes left.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES
from dagster._core.storage.tags import AUTOMATION_CONDITION_TAG, SENSOR_NAME_TAG

from sqlml_dagster.definitions import AUTOMATION_SENSOR
from sqlml_dagster.store import ModelStore

from .conftest import REPO, S3Server

pytestmark = pytest.mark.slow

DEPLOY_DOC = REPO / "docs" / "deploy.md"
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
BIN = Path(sys.executable).parent

#: Scheduled every minute: the file's table and the model trained on it refresh in one run.
SQL = """\
-- sqlml-file: schedule = "* * * * *"
CREATE TABLE t AS SELECT range AS x, range % 2 AS y FROM range(100);
SELECT x, y FROM t TO TRAIN sklearn.linear_model.LogisticRegression LABEL y INTO m;
"""

#: One cron tick (a minute) + one sensor interval (30 s) + the daemon's start and the run.
RUN_DEADLINE_SECONDS = 240


def doc_files(markdown: str) -> dict[str, str]:
    """The files a page spells out: each fenced block whose first line is ``# <path>``,
    keyed by that path (the comment stays in the file: YAML, TOML and Python all read it)."""
    blocks = re.finditer(r"^```[a-z]*\n(# (\S+)\n.*?)^```", markdown, re.MULTILINE | re.DOTALL)
    return {m.group(2): m.group(1) for m in blocks}


def test_doc_files_are_the_ones_the_page_describes() -> None:
    assert sorted(doc_files(DEPLOY_DOC.read_text())) == [
        "$DAGSTER_HOME/dagster.yaml",
        "my_project/definitions.py",
        "my_project/defs/sqlml/defs.yaml",
        "pyproject.toml",
        "workspace.yaml",
    ]


def _sql(database: str, statement: str) -> list[tuple[Any, ...]]:
    """One statement on the local server as its superuser, outside a transaction block
    (CREATE/DROP DATABASE need that); the rows it returns."""
    import psycopg2  # dagster-postgres' driver

    connection = psycopg2.connect(dbname=database, **PG)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


@pytest.fixture
def dagster_db() -> Iterator[str]:
    """A database of its own on the local PostgreSQL server, dropped afterwards."""
    name = f"sqlml_deploy_{uuid.uuid4().hex[:12]}"
    _sql("postgres", f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        _sql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _write_deployment(app: Path, home: Path) -> None:
    """The page's files, the empty packages ``dg`` writes, and the scheduled SQL."""
    for path, text in doc_files(DEPLOY_DOC.read_text()).items():
        target = home / path.removeprefix("$DAGSTER_HOME/") if path.startswith("$") else app / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for package in ("my_project", "my_project/defs"):
        (app / package / "__init__.py").touch()
    (app / "my_project/defs/sqlml/sql").mkdir()
    (app / "my_project/defs/sqlml/sql/train.sql").write_text(SQL)


def _shut_down(daemon: subprocess.Popen[bytes], instance: dg.DagsterInstance) -> list[int]:
    """Stop the deployment as docs/deploy.md says: SIGTERM the daemon (no run is requested
    or launched after it exits), then terminate the runs still queued or in flight (a cron
    tick may have requested another); return the processes of the daemon's group still
    alive after that — its code servers, run workers, steps — killing them: none should be."""
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
    unfinished = dg.RunsFilter(statuses=list(IN_PROGRESS_RUN_STATUSES))
    for run in instance.get_runs(filters=unfinished):
        instance.run_coordinator.cancel_run(run.run_id)
    deadline = time.monotonic() + 60
    while (left := _group_members(daemon.pid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    if left:
        os.killpg(daemon.pid, signal.SIGKILL)
    return left


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def test_the_daemon_runs_the_sql_schedule_with_dagster_on_postgres(
    tmp_path: Path,
    dagster_db: str,
    postgres_url: str,
    s3_server: S3Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Everything from the environment, as docs/deploy.md sets it up: Dagster's storage
    and the warehouse on PostgreSQL (two databases), models and step data on S3."""
    app, home = tmp_path / "app", tmp_path / "dagster_home"
    home.mkdir()
    _write_deployment(app, home)
    bucket = s3_server.bucket(f"deploy-{uuid.uuid4().hex[:12]}")
    environment = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": PG["host"],
        "DAGSTER_PG_PORT": PG["port"],
        "DAGSTER_PG_USER": PG["user"],
        "DAGSTER_PG_PASSWORD": "",  # the test server trusts loopback
        "DAGSTER_PG_DB": dagster_db,
        "SQLML_STATE_DIR": str(tmp_path / "state"),
        "SQLML_WAREHOUSE": postgres_url,
        "SQLML_MODEL_STORE": f"{bucket}/models",
        "SQLML_DATA_STORE": f"{bucket}/steps",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_server.endpoint_url,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)  # this process reads the same instance and bucket
    monkeypatch.delenv("FSSPEC_S3", raising=False)
    # The daemon and every process below it import this checkout's package.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }

    migrate = subprocess.run(
        [BIN / "dagster", "instance", "migrate"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            [BIN / "dagster-daemon", "run", "-w", "workspace.yaml"],
            cwd=app,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: what is left of it can be found
        )
    with dg.DagsterInstance.get() as instance:
        try:
            run = _first_finished_run(instance, daemon, log)
        finally:
            left = _shut_down(daemon, instance)
        assert run.status == dg.DagsterRunStatus.SUCCESS, _daemon_log(log)
        assert run.tags.get(SENSOR_NAME_TAG) == AUTOMATION_SENSOR
        assert run.tags.get(AUTOMATION_CONDITION_TAG) == "true"
        assert {k.to_user_string() for k in run.asset_selection or ()} == {"t", "m"}
        # The run's materialization of the model, in PostgreSQL's event log: version 1.
        events = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        versions = {
            materialization.asset_key.to_user_string(): materialization.metadata.get(
                "model_version"
            )
            for event in events
            if (materialization := event.asset_materialization) is not None
        }
        assert versions == {"t": None, "m": dg.IntMetadataValue(1)}
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert left == [], f"processes left after the deployment stopped: {left}"

    # Dagster's records are in the test's PostgreSQL database, not in DAGSTER_HOME.
    status = _sql(dagster_db, f"SELECT status FROM runs WHERE run_id = '{run.run_id}'")
    assert status == [("SUCCESS",)]
    # The SQL's table is in the warehouse database, and no DuckDB file was made.
    assert _sql(postgres_url.rsplit("/", 1)[-1], "SELECT count(*) FROM t") == [(100,)]
    assert not (tmp_path / "state" / "warehouse.duckdb").exists()
    # Version 1 is published in the bucket, manifest last ...
    store = ModelStore(f"{bucket}/models")
    assert [v.version for v in store.versions("m")] == [1]
    assert store.fs.exists(f"{store.model_uri('m')}/1/manifest.json")
    # ... and the page's check finds it through the code location.
    listed = subprocess.run(
        [BIN / "sqlml", "models", "list", "-m", "my_project.definitions", "--format", "json"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["rows"]
    assert [(r["model"], r["versions"], r["latest"]) for r in rows] == [("m", 1, "1")]


def _first_finished_run(
    instance: dg.DagsterInstance, daemon: subprocess.Popen[bytes], log: Path
) -> dg.DagsterRun:
    """The first run that ends, waiting at most :data:`RUN_DEADLINE_SECONDS`."""
    finished = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
    finished.append(dg.DagsterRunStatus.CANCELED)
    deadline = time.monotonic() + RUN_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        assert daemon.poll() is None, "the daemon exited:\n" + _daemon_log(log)
        runs = instance.get_runs(filters=dg.RunsFilter(statuses=finished), limit=1)
        if runs:
            return runs[0]
        time.sleep(2)
    pytest.fail(f"no run finished in {RUN_DEADLINE_SECONDS} s; daemon log:\n{_daemon_log(log)}")


def _daemon_log(log: Path) -> str:
    """The daemon's errors and its last lines: what a failure message needs."""
    lines = log.read_text(errors="replace").splitlines()
    errors = [line for line in lines if "ERROR" in line or "Error:" in line]
    return "\n".join([*errors[:20], "…", *lines[-40:]])
