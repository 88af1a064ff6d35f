"""``SELECT … TO RUN image CMD "prog.py", … ;`` without ``INTO``: SQLFlow runs the program
for what it does and shows its output. Here the run is an asset of kind ``program_run``,
materialized by running the program once over the SELECT's rows through the launcher —
a real program in a real process — with its exit status, duration and last lines of
output on the materialization; ``sqlml check``, ``compile``, ``plan`` and ``materialize``
agree on it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from sqlml_dagster.cli import main

from .conftest import defs_module, failure_reasons, materialize_all

SQL = """
CREATE TABLE raw AS SELECT * FROM (VALUES (1, 0.5), (2, 2.5), (3, 7.0)) t(id, x);

SELECT id, x FROM raw
TO RUN sqlflow/runnable:v0.0.1
CMD "programs/report.py", "--marker=MARKER", "--greeting=hello";
"""

#: Counts the rows it is given, writes the count into the marker file its argument names
#: (the proof that it ran, and over which rows) and prints a report; a negative x fails it.
REPORT = """
import os, sys
import pyarrow.parquet as pq
args = dict(a.split("=", 1) for a in sys.argv[1:])
rows = pq.read_table(os.environ["SQLML_RUN_INPUT"])
print(f"{args['--greeting']}: {rows.num_rows} rows, into={os.environ['SQLFLOW_TO_RUN_INTO']!r}")
if min(rows["x"].to_pylist()) < 0:
    print("checking x", flush=True)
    print("x must not be negative", file=sys.stderr)
    sys.exit(4)
with open(args["--marker"], "a") as f:
    f.write(f"{rows.num_rows}\\n")
print("report done")
"""


@pytest.fixture
def project(write_project: Callable[[dict[str, str]], Path], tmp_path: Path) -> Path:
    """The SQL folder, its program in the project folder (the SQL folder's parent)."""
    marker = tmp_path / "marker.txt"
    root = write_project({"runs.sql": SQL.replace("MARKER", str(marker))})
    (tmp_path / "programs").mkdir()
    (tmp_path / "programs" / "report.py").write_text(REPORT)
    return root


def run_materializations(result: dg.ExecuteInProcessResult) -> list[dg.AssetMaterialization]:
    return [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey("report")
    ]


@pytest.mark.slow
def test_a_run_without_into_runs_its_program_and_shows_its_output(
    project: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    result = materialize_all(project, state)
    assert result.success, failure_reasons(result)
    assert (tmp_path / "marker.txt").read_text() == "3\n"
    (materialization,) = run_materializations(result)
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert metadata["exit_code"] == 0
    assert metadata["input_rows"] == 3
    assert metadata["program"] == "programs/report.py"
    assert isinstance(metadata["seconds"], float)
    output = materialization.metadata["output"]
    assert isinstance(output, dg.MarkdownMetadataValue)
    assert output.value == "```text\nhello: 3 rows, into=''\nreport done\n```"
    assert "dagster/row_count" not in metadata  # it writes no table
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        tables = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    assert sorted(t for (t,) in tables) == ["raw"]

    # Its input changes: it runs again, over the new rows (TO RUN always runs).
    (project / "runs.sql").write_text(
        (project / "runs.sql").read_text().replace("(3, 7.0)", "(3, 7.0), (4, 9.0)")
    )
    again = materialize_all(project, state)
    assert again.success, failure_reasons(again)
    assert (tmp_path / "marker.txt").read_text() == "3\n4\n"


@pytest.mark.slow
def test_a_failing_program_fails_its_run_with_its_exit_status_and_last_output(
    project: Path, tmp_path: Path
) -> None:
    (project / "runs.sql").write_text(
        (project / "runs.sql").read_text().replace("(2, 2.5)", "(2, -2.5)")
    )
    result = materialize_all(project, tmp_path / "state")
    assert not result.success
    assert failure_reasons(result) == (
        "SQLML525: run step for 'report' failed: program programs/report.py exited with "
        "status 4: x must not be negative\n"
        "its last output:\n"
        "  hello: 3 rows, into=''\n"
        "  checking x\n"
        "  x must not be negative"
    )
    assert run_materializations(result) == []
    assert not (tmp_path / "marker.txt").exists()


@pytest.mark.slow
def test_check_compile_plan_and_materialize_agree_on_the_run(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("SQLML_LAUNCHER", raising=False)
    assert main(["check", str(project), "--format", "json"]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert checked["diagnostics"] == []
    assert {"key": ["report"], "kind": "program_run", "deps": [["raw"]]} in checked["assets"]

    assert main(["compile", str(project)]) == 0
    manifest = json.loads(capsys.readouterr().out)
    (node,) = [n for n in manifest["nodes"] if n["name"] == "report"]
    assert (node["kind"], node["statement"], node["deps"]) == ("program_run", "Run", ["raw"])

    assert main(["compile", str(project), "--k8s"]) == 0
    jobs = capsys.readouterr().out
    assert "# program_run report (sql/runs.sql:3)\n" in jobs
    assert "image: sqlflow/runnable:v0.0.1" in jobs and "sqlml/step: run" in jobs

    defs_module(project, tmp_path, monkeypatch, "runs_defs")
    assert main(["plan", "-m", "runs_defs", "--format", "json"]) == 0
    planned = {a["name"]: a for a in json.loads(capsys.readouterr().out)["assets"]}
    assert (planned["report"]["kind"], planned["report"]["verdict"]) == (
        "program_run",
        "recompute",
    )
    assert [r["code"] for r in planned["report"]["reasons"]] == ["always"]

    assert main(["materialize", "-m", "runs_defs"]) == 0
    summary = capsys.readouterr().out
    assert "programs" in summary
    assert "report" in summary and "exit 0 in" in summary
    assert (tmp_path / "marker.txt").read_text() == "3\n"
