"""The ``run`` step (TO RUN): a real program in a real subprocess, given SQLFlow's context,
its tables checked — and where a program may come from (docs/security.md, TO RUN)."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlml_dagster.contract import ProgramResult
from sqlml_dagster.contract.programs import PROGRAM_DIR_ENV, PROGRAM_ROOT_ENV
from sqlml_dagster.contract.spec import StepSpec, error_uri
from sqlml_dagster.runtime import StepError, _run, run_step
from sqlml_dagster.runtime.program import program_argv

from .recorder import Recorder

#: Splits the rows at --at into the two INTO tables, and writes what it was given as a third.
SPLIT = """
import json, os, sys
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
args = dict(a.split("=", 1) for a in sys.argv[1:])
rows = pq.read_table(os.environ["SQLML_RUN_INPUT"])
outputs = json.loads(os.environ["SQLML_RUN_OUTPUTS"])
high, low, info = os.environ["SQLFLOW_TO_RUN_INTO"].split(",")
above = pc.greater(rows["x"], float(args["--at"]))
pq.write_table(rows.filter(above), outputs[high])
pq.write_table(rows.filter(pc.invert(above)), os.path.join(os.environ["SQLML_RUN_OUTPUT_DIR"], low + ".parquet"))
context = {k: os.environ.get(k, "") for k in ("SQLFLOW_TO_RUN_SELECT", "SQLFLOW_TO_RUN_IMAGE")}
pq.write_table(pa.table({"key": list(context) + ["argv", "cwd_is_scratch"], "value": list(context.values()) + [" ".join(sys.argv[1:]), str(os.getcwd() != os.path.dirname(__file__))]}), outputs[info])
print("split", rows.num_rows, "rows")
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (``sql/`` in it) that a local step may run programs from."""
    root = tmp_path / "project"
    (root / "sql").mkdir(parents=True)
    monkeypatch.setenv(PROGRAM_ROOT_ENV, str(root))
    monkeypatch.setenv(PROGRAM_DIR_ENV, str(root / "sql"))
    return root


def spec_for(tmp_path: Path, command: list[str], tables: list[str]) -> StepSpec:
    step = tmp_path / "step"
    step.mkdir(exist_ok=True)
    pq.write_table(pa.table({"id": [1, 2, 3], "x": [0.5, 2.5, 7.0]}), step / "input.parquet")
    return StepSpec(
        kind="run",
        step_id="run/1",
        model_name=tables[0],
        model_reference=command[0],
        flavor="",
        input_uri=str(step / "input.parquet"),
        image="sqlflow/runnable:v0.0.1",
        command=command,
        outputs=[[t, str(step / f"output-{i}.parquet")] for i, t in enumerate(tables)],
        select="SELECT id, x FROM raw",
    )


@pytest.mark.slow
def test_the_program_gets_sqlflows_context_and_each_table_it_writes_is_checked(
    project: Path, tmp_path: Path
) -> None:
    (project / "programs").mkdir()
    (project / "programs" / "split.py").write_text(SPLIT)
    # INTO's order is the program's, whatever the names' alphabetical order
    spec = spec_for(tmp_path, ["programs/split.py", "--at=1"], ["high", "low", "info"])
    spec = StepSpec.from_json(spec.to_json())
    recorder = Recorder()
    run_step(spec, recorder)
    assert recorder.reported == ProgramResult(
        kind="run",
        rows={"high": 2, "low": 1, "info": 4},
        columns={
            "high": [["id", "int64"], ["x", "double"]],
            "low": [["id", "int64"], ["x", "double"]],
            "info": [["key", "string"], ["value", "string"]],
        },
        seconds=recorder.reported.seconds,  # type: ignore[union-attr]
        output_tail="split 3 rows",
        output_lines=1,
    )
    outputs = dict(spec.outputs or [])
    assert pq.read_table(outputs["high"]).column("id").to_pylist() == [2, 3]
    assert pq.read_table(outputs["low"]).column("id").to_pylist() == [1]
    info = dict(pq.read_table(outputs["info"]).to_pylist()[i].values() for i in range(4))
    assert info == {
        "SQLFLOW_TO_RUN_SELECT": "SELECT id, x FROM raw",
        "SQLFLOW_TO_RUN_IMAGE": "sqlflow/runnable:v0.0.1",
        "argv": "--at=1",
        "cwd_is_scratch": "True",
    }


FAILS = """
import sys
print("threshold must be positive", file=sys.stderr)
sys.exit(3)
"""
WRITES_ONE = """
import json, os
import pyarrow as pa, pyarrow.parquet as pq
pq.write_table(pa.table({"a": [1]}), json.loads(os.environ["SQLML_RUN_OUTPUTS"])["high"])
"""
WRITES_TEXT = """
import json, os
for path in json.loads(os.environ["SQLML_RUN_OUTPUTS"]).values():
    open(path, "w").write("id,x\\n1,2\\n")
"""
WRITES_NO_COLUMNS = """
import json, os
import pyarrow as pa, pyarrow.parquet as pq
for path in json.loads(os.environ["SQLML_RUN_OUTPUTS"]).values():
    pq.write_table(pa.table({}), path)
"""

# (the program's source, its file name, what the step's one line says)
FAILURES = [
    pytest.param(FAILS, "p.py", "program p.py exited with status 3: threshold must be positive", id="non-zero-exit"),
    pytest.param(WRITES_ONE, "p.py", "program p.py wrote no low.parquet for INTO low", id="a-table-missing"),
    pytest.param(WRITES_TEXT, "p.py", "program p.py wrote high.parquet, which is not a Parquet file", id="not-parquet"),
    pytest.param(WRITES_NO_COLUMNS, "p.py", "program p.py wrote high without columns", id="no-columns"),
    pytest.param("echo hi", "p.sh", "program p.sh is neither a Python file (.py) nor executable", id="not-executable"),
    pytest.param(None, "missing.py", "program missing.py is not a file of the project", id="not-found"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "name", "reason"), FAILURES)
@pytest.mark.slow
def test_a_failed_program_is_one_line_with_its_code_and_no_table(
    project: Path, tmp_path: Path, source: str | None, name: str, reason: str
) -> None:
    if source is not None:
        (project / "sql" / name).write_text(textwrap.dedent(source))
    spec = spec_for(tmp_path, [name], ["high", "low"])
    spec_uri = tmp_path / "step" / "spec.json"
    spec_uri.write_text(spec.to_json())
    assert _run(str(spec_uri), Recorder()) == 65
    written = json.loads(Path(error_uri(str(spec_uri))).read_text())
    assert written["code"] == "SQLML525"
    assert written["message"].startswith(reason), written["message"]
    assert not any(Path(p).exists() for _, p in spec.outputs or [])


#: Prints more lines than the tail keeps; it has no table to write.
CHATTY = """
import os
assert os.environ["SQLFLOW_TO_RUN_INTO"] == "" and os.environ["SQLML_RUN_OUTPUTS"] == "{}"
print("no tables")
for i in range(30):
    print("line", i)
"""


@pytest.mark.slow
def test_a_program_without_into_tables_reports_the_tail_of_its_output(
    project: Path, tmp_path: Path
) -> None:
    (project / "sql" / "chatty.py").write_text(CHATTY)
    spec = replace(spec_for(tmp_path, ["chatty.py"], ["chatty"]), outputs=[])
    spec = StepSpec.from_json(spec.to_json())
    recorder = Recorder()
    run_step(spec, recorder)
    result = recorder.reported
    assert isinstance(result, ProgramResult)
    assert (result.rows, result.exit_code, result.output_lines) == ({}, 0, 31)
    assert result.output_tail == "\n".join(f"line {i}" for i in range(10, 30))


LAST_WORDS = """
import sys
for i in range(25):
    print("step", i)
print("out of memory", file=sys.stderr)
sys.exit(2)
"""


@pytest.mark.slow
def test_a_failed_program_that_said_more_ends_its_line_with_its_last_output(
    project: Path, tmp_path: Path
) -> None:
    (project / "sql" / "p.py").write_text(LAST_WORDS)
    spec_uri = tmp_path / "step" / "spec.json"
    spec_uri.parent.mkdir()
    spec_uri.write_text(spec_for(tmp_path, ["p.py"], ["p"]).to_json())
    assert _run(str(spec_uri), Recorder()) == 65
    message = json.loads(Path(error_uri(str(spec_uri))).read_text())["message"]
    first, said, *tail = message.splitlines()
    assert first == "program p.py exited with status 2: out of memory"
    assert said == "its last output:"
    assert tail == [f"  step {i}" for i in range(6, 25)] + ["  out of memory"]


def test_a_local_program_comes_from_the_project_folder_and_nowhere_else(
    project: Path, tmp_path: Path
) -> None:
    """Locally: beside the .sql file, then in the project folder; never PATH, never a link
    out of the project. In an image: the working folder, PYTHONPATH, then PATH."""
    (project / "sql" / "here.py").write_text("")
    (project / "there.py").write_text("")
    outside = tmp_path / "outside.py"
    outside.write_text("")
    (project / "link.py").symlink_to(outside)
    environ = dict(os.environ)
    assert program_argv(["here.py", "-v"], environ) == [
        sys.executable,
        str(project / "sql" / "here.py"),
        "-v",
    ]
    assert program_argv(["there.py"], environ)[1] == str(project / "there.py")
    for command, reason in [
        (["link.py"], "outside the project folder"),
        (["echo", "hi"], "is not a file of the project"),
        (["/bin/echo"], "not absolute"),
        (["sql/../../outside.py"], "climb out"),
    ]:
        with pytest.raises(StepError, match=reason) as caught:
            program_argv(command, environ)
        assert caught.value.code == "SQLML525"
    image = {"PATH": os.environ["PATH"], "PYTHONPATH": str(project)}
    assert program_argv(["there.py"], image) == [sys.executable, str(project / "there.py")]
    assert Path(program_argv(["echo", "hi"], image)[0]).name == "echo"
