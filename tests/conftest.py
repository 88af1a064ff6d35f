"""Shared fixtures: small SQL projects written into temporary folders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
import pytest

if TYPE_CHECKING:
    from sqlml_dagster.store import ModelStore

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "example_repo"


# `make test` starts one pytest process in the background (`&`), which a shell starts with
# SIGINT ignored; every in-process Dagster run then leaves SIGTERM ignored too (its
# capture_interrupts restores SIGINT and maps SIGTERM to SIGINT's disposition,
# dagster._utils.interrupts), and every process a test starts inherits that: a test
# kubelet's pod or a step would outlive a graceful delete. A test process takes Ctrl-C
# as Python's default; the runtime resets its own SIGTERM (runtime/__main__.py).
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def write_project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write ``{"iris.sql": "..."}`` under ``tmp_path/sql`` and return that folder."""

    def write(files: dict[str, str]) -> Path:
        root = tmp_path / "sql"
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
        return root

    return write


def write_component(folder: Path, attributes: str, files: dict[str, str]) -> Path:
    """A SqlMlProject component folder: ``defs.yaml`` with these attributes (YAML, written
    from its 4th line on) and ``files`` in its ``sql/``; returns the folder."""
    (folder / "sql").mkdir(parents=True)
    for name, text in files.items():
        (folder / "sql" / name).write_text(textwrap.dedent(text).lstrip())
    (folder / "defs.yaml").write_text(
        "type: sqlml_dagster.SqlMlProject\n\nattributes:\n"
        + textwrap.indent(textwrap.dedent(attributes).strip(), "  ")
        + "\n"
    )
    return folder


def materialize_all(
    root: Path, state: Path, selection: list[str] | None = None, **build_options: Any
) -> dg.ExecuteInProcessResult:
    """Materialize every asset of the SQL folder ``root`` (or the ``selection``) with state
    in ``state``; failures come back in the result (see :func:`failure_reasons`), not as
    exceptions."""
    from sqlml_dagster import build_defs

    defs = build_defs(root, state_dir=state, **build_options)
    return dg.materialize(
        [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)],
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
        selection=selection,
        raise_on_error=False,
    )


def sqlml_materialize(
    module: str, cwd: Path, state: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """``sqlml materialize -m MODULE`` in a fresh process, state in ``state`` (what
    ``make demo`` runs), with more environment variables ``env``; asserts it succeeded."""
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.cli", "materialize", "-m", module],
        cwd=cwd,
        env={**os.environ, "SQLML_STATE_DIR": str(state), **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def failure_reasons(result: dg.ExecuteInProcessResult) -> str:
    """The descriptions users see for each failed step, one per line."""
    reasons = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            user = event.step_failure_data.user_failure_data
            reasons.append(
                user.description
                if user and user.description
                else str(event.step_failure_data.error)
            )
    return "\n".join(str(r) for r in reasons)


def defs_module(
    project: Path, folder: Path, monkeypatch: pytest.MonkeyPatch, module: str = "defs"
) -> str:
    """A module ``module`` in ``folder`` whose ``defs`` are the SQL folder ``project``'s
    (state in ``folder/state``), importable as ``sqlml plan -m module`` finds it: the
    working folder is ``folder``."""
    (folder / f"{module}.py").write_text(
        "from sqlml_dagster import build_defs\n"
        f"defs = build_defs({str(project)!r}, state_dir={str(folder / 'state')!r})\n"
    )
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))
    return module


# -- S3 on loopback -----------------------------------------------------------------------


@dataclass(frozen=True)
class S3Server:
    """moto's S3 server on loopback, reached through the real s3fs/botocore clients."""

    endpoint_url: str

    @property
    def env(self) -> dict[str, str]:
        """What a process (the orchestrator or a step) needs to reach it."""
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "FSSPEC_S3": json.dumps({"endpoint_url": self.endpoint_url}),
        }

    def bucket(self, name: str) -> str:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=name)
        return f"s3://{name}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of the test's own on the machine's PostgreSQL (tests/servers.py)."""
    from .servers import postgres_database

    with postgres_database() as url:
        yield url


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A database of the test's own on the machine's MariaDB (tests/servers.py)."""
    from .servers import mysql_database

    with mysql_database() as url:
        yield url


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The S3 server with this process's credentials set (never real ones)."""
    for key, value in s3_server.env.items():
        if key != "FSSPEC_S3":
            monkeypatch.setenv(key, value)
    return s3_server


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.slow)])
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, dict[str, Any]]]:
    """A model store URL and its storage options: a local folder, then a fresh S3 bucket
    (``slow``: moto's server answers in-process, seconds per test beside the local case)."""
    if request.param == "local":
        yield str(tmp_path / "models"), {}
        return
    server: S3Server = request.getfixturevalue("s3")
    bucket = server.bucket(f"models-{uuid.uuid4().hex[:12]}")
    yield f"{bucket}/store", {"endpoint_url": server.endpoint_url}


@pytest.fixture
def store(store_url: tuple[str, dict[str, Any]]) -> ModelStore:
    """A model store on each of ``store_url``'s (a module may keep its own)."""
    from sqlml_dagster.store import ModelStore

    url, options = store_url
    return ModelStore(url, **options)


# -- cost markers (docs/testing.md) -------------------------------------------------------

#: Test modules whose every test talks to a warehouse server (PostgreSQL, MariaDB).
_WAREHOUSE_MODULES = ("postgres", "mysql", "mariadb", "server_warehouse", "deploy")
_COST_MARKERS = ("slow", "k8s", "warehouse", "gpu")
#: Besides the ``k8s`` and ``warehouse`` tests, what ``make test``'s second pytest process
#: runs, so that its two processes take about as long (docs/testing.md): the deep-learning
#: end-to-end projects, the multi-process trainings, the example end to end (on DuckDB and
#: the servers) and the versioning tests. (``make test`` prints each process's
#: slowest tests: the figures to rebalance by.)
_SECOND_PROCESS = (
    "tests/dl/",
    "tests/runtime/test_checkpoints.py",
    "tests/runtime/test_distributed.py",
)
#: What `make test` runs in a third process: end-to-end projects of their own (a Dagster run
#: of several steps each), about a third of what the first would run otherwise.
_THIRD_PROCESS = (
    "tests/test_catalog_cli.py",
    "tests/test_ml_predict_returns.py",
    "tests/test_scoring_worker.py",
    "tests/runtime/test_explain_deep.py",
    "tests/test_explain_rows.py",
    "tests/test_explain_without_into_e2e.py",
    "tests/test_run_without_into_e2e.py",
    "tests/test_model_evaluation.py",
    "tests/test_sqlflow_xgboost.py",
    "tests/test_model_keys.py",
    "tests/test_step_data.py",
    "tests/test_models_lifecycle.py",
    "tests/versions/",
    "tests/test_e2e.py",
    "tests/test_automation.py",
    "tests/test_quality_gates.py",
    "tests/test_warm_start_e2e.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test carries its cost: ``k8s`` (under tests/k8s: the test API server and
    kubelet), ``warehouse`` (a real PostgreSQL or MariaDB server), ``slow`` (marked where
    it is written: over 10 s here), ``gpu`` (needs CUDA); everything else is ``fast``,
    the quick loop ``make test-fast`` runs (``-m fast``). ``make test`` runs them all."""
    for item in items:
        path = Path(str(item.fspath))
        if "k8s" in path.parts:
            item.add_marker(pytest.mark.k8s)
        if any(word in path.stem for word in _WAREHOUSE_MODULES):
            item.add_marker(pytest.mark.warehouse)
        if not any(item.get_closest_marker(m) for m in _COST_MARKERS):
            item.add_marker(pytest.mark.fast)
        where = path.as_posix()
        if (
            item.get_closest_marker("k8s")
            or item.get_closest_marker("warehouse")
            or any(f"/{part}" in where for part in _SECOND_PROCESS)
        ):
            item.add_marker(pytest.mark.second_process)
        elif any(f"/{part}" in where for part in _THIRD_PROCESS):
            item.add_marker(pytest.mark.third_process)


# -- the CLIs a user runs, as subprocesses ----------------------------------------------

BIN = Path(sys.executable).parent


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A `dg`/`dagster`/`create-dagster`/`sqlml` command as a user runs it: this
    environment's venv activated, no $SQLML_STATE_DIR."""
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(BIN.parent),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "NO_COLOR": "1",
        "COLUMNS": "200",
        "DAGSTER_DG_UPDATE_CHECK_ENABLED": "0",  # create-dagster asks PyPI otherwise
    }
    env.pop("SQLML_STATE_DIR", None)
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
