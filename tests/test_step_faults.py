"""A failed step is one line: ``FAILED <step> SQLML5xx: <cause>`` (docs/diagnostics.md).

``sqlml materialize`` promises no Python or Dagster stack for the faults a user meets:
their own step's error, a warehouse another process holds, a read-only or full state
folder, SQL the sandbox refuses, SQL the engine rejects. Each case runs the real CLI on a
real project against a real fault (a lock held by another process, a read-only or tiny
tmpfs mounted for the test) and asserts the exact line and that nothing else is printed.
``--verbose`` brings Dagster's log and the stack back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test materializes a project and breaks it: 15-35 s

Mount = Callable[[str, str], Path]
TABLE = "CREATE TABLE d AS SELECT range AS x, range % 2 AS y FROM range(200);\n"
TRAIN = "SELECT x, y FROM d TO TRAIN sklearn.linear_model.LogisticRegression LABEL y INTO m;\n"


def project(tmp_path: Path, sql: str, state: str = "state", **storage: str) -> Path:
    (tmp_path / "sql").mkdir(exist_ok=True)
    (tmp_path / "sql" / "m.sql").write_text(sql)
    options = f", storage=SqlMlStorage(**{storage!r})" if storage else ""
    (tmp_path / "defs.py").write_text(
        textwrap.dedent(
            f"""
            from sqlml_dagster import DuckDBWarehouse, SqlMlStorage, build_defs
            defs = build_defs(
                "sql",
                state_dir={state!r},
                warehouse=DuckDBWarehouse(database={state + "/warehouse.duckdb"!r}, lock_timeout_seconds=1){options},
            )
            """
        )
    )
    return tmp_path


def materialize(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.cli", "materialize", "-m", "defs", *options],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def failed_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    """What the user reads on stderr, minus the step process's own echo of its reason."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Stack Trace" not in done.stderr, done.stderr
    return [
        line
        for line in done.stderr.splitlines()
        if line and not line.startswith("sqlml step failed")
    ]


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Mount]:
    """Mount a tmpfs with options (``ro``, ``size=64k``): a real read-only or full file
    system. Needs root in the test container, as CI has; anything else is reported."""
    mounts: list[Path] = []

    def mount(name: str, options: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        mounts.append(point)
        return point

    yield mount
    for point in mounts:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_the_step_s_own_error_is_one_line(tmp_path: Path) -> None:
    sql = TABLE + TRAIN.replace("LABEL", "WITH model.max_iterz = 10 LABEL")
    lines = failed_lines(materialize(project(tmp_path, sql)))
    assert lines == [
        "FAILED sqlml__m SQLML501: train step for 'm' failed: sklearn.linear_model."
        "LogisticRegression has no parameter 'max_iterz' (did you mean 'max_iter'?); it accepts: "
        "C, class_weight, dual, fit_intercept, intercept_scaling, l1_ratio, max_iter, n_jobs, "
        "penalty, random_state, solver, tol, verbose, warm_start"
    ]


def test_a_warehouse_held_by_another_process(tmp_path: Path) -> None:
    folder = project(tmp_path, TABLE)
    (folder / "state").mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect('state/warehouse.duckdb'); "
            "print('held', flush=True); time.sleep(60)",
        ],
        cwd=folder,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        lines = failed_lines(materialize(folder))
    finally:
        holder.kill()
    assert len(lines) == 1
    assert re.fullmatch(
        r"FAILED sqlml__d SQLML502: the DuckDB warehouse state/warehouse\.duckdb is locked by "
        rf"another process \(PID {holder.pid}, \S+\) for longer than lock_timeout_seconds \(1 s\)",
        lines[0],
    ), lines


def test_a_read_only_state_folder(tmp_path: Path, mounted: Mount) -> None:
    state = mounted("ro", "ro,size=64k")
    lines = failed_lines(materialize(project(tmp_path, TABLE, state=str(state))))
    assert lines == [
        f'FAILED sqlml__d SQLML503: IO Error: Cannot open file "{state}/warehouse.duckdb": '
        "Read-only file system"
    ]


def test_a_read_only_model_store(tmp_path: Path, mounted: Mount) -> None:
    store = mounted("ro", "ro,size=64k")
    folder = project(
        tmp_path, TABLE + TRAIN, model_store=str(store / "models"), data_store="state/data"
    )
    assert failed_lines(materialize(folder)) == [
        f"FAILED sqlml__m SQLML503: cannot write '{store}/models': Read-only file system "
        "(the state folder or store must be writable)"
    ]


def test_a_full_disk_under_the_warehouse(tmp_path: Path, mounted: Mount) -> None:
    state = mounted("full", "size=64k")
    sql = "CREATE TABLE d AS SELECT range AS x, repeat('x', 200) AS pad FROM range(20000);\n"
    lines = failed_lines(materialize(project(tmp_path, sql, state=str(state))))
    assert len(lines) == 1 and lines[0].startswith("FAILED sqlml__d SQLML504: "), lines
    assert "No space left on device" in lines[0]


def test_a_full_disk_under_the_step_data(tmp_path: Path, mounted: Mount) -> None:
    data = mounted("full", "size=64k")
    sql = (
        "CREATE TABLE d AS SELECT range AS x, range % 2 AS y, md5(range::VARCHAR) AS pad FROM range(50000);\n"
        + TRAIN
    )
    folder = project(tmp_path, sql, model_store="state/models", data_store=str(data / "data"))
    lines = failed_lines(materialize(folder))
    assert len(lines) == 1 and lines[0].startswith("FAILED sqlml__m SQLML504: no space left"), lines
    assert not (folder / "state" / "models" / "m").exists() or not any(
        (folder / "state" / "models" / "m").glob("*/manifest.json")
    )


def test_sql_the_sandbox_refuses(tmp_path: Path) -> None:
    sql = "CREATE TABLE env AS SELECT * FROM read_text('/proc/self/environ');\n"
    lines = failed_lines(materialize(project(tmp_path, sql)))
    assert len(lines) == 1
    assert lines[0].startswith(
        'FAILED sqlml__env SQLML505: Permission Error: Cannot access file "/proc/self/environ"'
    ), lines


def test_sql_the_engine_rejects(tmp_path: Path) -> None:
    sql = "CREATE TABLE t AS SELECT CAST('x' AS INTEGER) AS a;\n"
    lines = failed_lines(materialize(project(tmp_path, sql)))
    assert lines == [
        "FAILED sqlml__t SQLML506: Conversion Error: Could not convert string 'x' to INT32"
    ]


def test_verbose_shows_dagster_s_log_and_the_stack(tmp_path: Path) -> None:
    sql = "CREATE TABLE t AS SELECT CAST('x' AS INTEGER) AS a;\n"
    done = materialize(project(tmp_path, sql), "--verbose")
    assert done.returncode == 1
    assert "STEP_FAILURE" in done.stderr and "Stack Trace" in done.stderr
    assert "FAILED sqlml__t SQLML506: Conversion Error" in done.stderr
