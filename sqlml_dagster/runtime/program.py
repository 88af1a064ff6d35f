"""``TO RUN``: run a user's program over the SELECT's rows and check the tables it wrote.

What the program is given and must write is ``contract/programs.py``'s (SQLFlow's
``SQLFLOW_TO_RUN_*`` variables, plus where the rows are and where each ``INTO`` table
goes). Where the program comes from is a matter of trust (docs/security.md, TO RUN):

- on the orchestrator's machine (``SQLML_PROGRAM_ROOT`` set by the launcher), from the
  project folder only — the path is looked up beside the ``.sql`` file, then in the
  project folder, and must resolve (symbolic links followed) inside it;
- in a container, from the image the statement names (which the image allow-list
  admitted): the working folder, the ``PYTHONPATH`` folders, then ``PATH``.

A ``.py`` file runs with this interpreter, anything else must be executable. The program
runs in a scratch folder; a non-zero exit, or a table's file missing, unreadable or
without columns, fails the step (SQLML525) before any table changes. Without ``INTO`` it
writes no table: it runs for what it does, and the last lines of its output travel in the
result (``ProgramResult.output_tail``), which the orchestrator shows on the asset.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path

import fsspec
import pyarrow.parquet as pq

from ..contract import ProgramResult, StepSpec
from ..contract.programs import (
    IMAGE_ENV,
    INPUT_ENV,
    INTO_ENV,
    OUTPUT_DIR_ENV,
    OUTPUTS_ENV,
    PROGRAM_DIR_ENV,
    PROGRAM_FAILED,
    PROGRAM_ROOT_ENV,
    SELECT_ENV,
    output_file,
    program_path_problem,
)
from . import Reporter, StepError

#: Lines of the program's output kept: its last words, shown with a failure and on the
#: asset of a successful run.
TAIL_LINES = 20
#: Characters kept of one line of that tail (a progress bar redrawn with ``\r`` is one line).
TAIL_LINE_CHARS = 500
#: Variables of this step's own Dagster Pipes session: the program is not part of it.
_PIPES_PREFIX = "DAGSTER_PIPES_"


def run(spec: StepSpec, reporter: Reporter) -> None:
    """The ``run`` step: fetch the rows, run the program, check and upload each table."""
    if not spec.command:
        raise StepError("TO RUN names no program: CMD is missing", PROGRAM_FAILED)
    outputs = dict(spec.outputs or [])  # INTO's order
    argv = program_argv(spec.command, os.environ)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sqlml-run-") as work:
        input_path = os.path.join(work, "input.parquet")
        _copy(spec.input_uri, input_path)
        out_dir = os.path.join(work, "out")
        os.mkdir(out_dir)
        paths = {table: os.path.join(out_dir, output_file(table)) for table in outputs}
        env = {k: v for k, v in os.environ.items() if not k.startswith(_PIPES_PREFIX)}
        env.update(
            {
                SELECT_ENV: spec.select or "",
                INTO_ENV: ",".join(outputs),
                IMAGE_ENV: spec.image or "",
                INPUT_ENV: input_path,
                OUTPUT_DIR_ENV: out_dir,
                OUTPUTS_ENV: json.dumps(paths),
            }
        )
        reporter.log(f"running {' '.join(argv)}")
        status, tail, lines = _execute(argv, env, cwd=work)
        program = spec.command[0]
        if status != 0:
            raise StepError(failure_message(program, status, tail), PROGRAM_FAILED)
        rows: dict[str, int] = {}
        columns: dict[str, list[list[str]]] = {}
        for table, path in paths.items():
            rows[table], columns[table] = _checked_table(program, table, path)
        for table, path in paths.items():
            _copy(path, outputs[table])
        extra = sorted(set(os.listdir(out_dir)) - {output_file(t) for t in outputs})
        if extra:
            reporter.log(f"ignored files the program wrote besides its tables: {', '.join(extra)}")
    seconds = round(time.monotonic() - started, 3)
    reporter.log(
        f"program {program} wrote " + ", ".join(f"{t} ({n} rows)" for t, n in rows.items())
        if rows
        else f"program {program} finished in {seconds:g} s ({lines} lines of output)"
    )
    reporter.result(
        {"program": program, "seconds": seconds, **{f"rows/{t}": n for t, n in rows.items()}},
        ProgramResult(
            kind="run",
            rows=rows,
            columns=columns,
            seconds=seconds,
            exit_code=status,
            output_tail="\n".join(tail),
            output_lines=lines,
        ),
    )


def failure_message(program: str, status: int, tail: list[str]) -> str:
    """One line naming the program and its exit status (ending with its last line of
    output), then — when it said more — the last lines it printed, as a user reads them."""
    said = [line for line in tail if line.strip()]
    line = f"program {program} exited with status {status}" + (
        f": {said[-1].strip()}" if said else ""
    )
    if len(said) < 2:
        return line
    return line + "\nits last output:\n" + "\n".join("  " + t for t in tail)


def program_argv(command: list[str], environ: Mapping[str, str]) -> list[str]:
    """The command line that runs ``command`` (the program, then its arguments)."""
    program, args = command[0], command[1:]
    problem = program_path_problem(program)
    if problem is not None:
        raise StepError(f"'{program}' cannot be run: {problem}", PROGRAM_FAILED)
    root = environ.get(PROGRAM_ROOT_ENV)
    path = _local_program(program, root, environ) if root else _image_program(program, environ)
    if path.suffix == ".py":
        return [sys.executable, str(path), *args]
    if not os.access(path, os.X_OK):
        raise StepError(
            f"program {program} is neither a Python file (.py) nor executable ({path})",
            PROGRAM_FAILED,
        )
    return [str(path), *args]


def _local_program(program: str, root: str, environ: Mapping[str, str]) -> Path:
    """On the orchestrator's machine: a file of the project folder, nothing else."""
    project = Path(root).resolve()
    folders = [Path(environ.get(PROGRAM_DIR_ENV) or root), project]
    for folder in folders:
        candidate = (folder / program).resolve()
        if candidate.is_file():
            if not candidate.is_relative_to(project):
                raise StepError(
                    f"program {program} resolves to {candidate}, outside the project folder "
                    f"{project}: a program run on this machine must be a file of the project",
                    PROGRAM_FAILED,
                )
            return candidate
    looked = " and ".join(dict.fromkeys(str(f.resolve()) for f in folders))
    raise StepError(
        f"program {program} is not a file of the project (looked in {looked}); on this "
        "machine TO RUN runs a program from the project folder",
        PROGRAM_FAILED,
    )


def _image_program(program: str, environ: Mapping[str, str]) -> Path:
    """In a container: the image's file, found as the image's own entrypoint would."""
    folders = [Path.cwd()] + [Path(p) for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    for folder in folders:
        candidate = folder / program
        if candidate.is_file():
            return candidate
    if "/" not in program:
        found = shutil.which(program, path=environ.get("PATH"))
        if found:
            return Path(found)
    raise StepError(
        f"program {program} is not in the image (looked in {', '.join(map(str, folders))} "
        "and on PATH)",
        PROGRAM_FAILED,
    )


def _execute(argv: list[str], env: dict[str, str], cwd: str) -> tuple[int, list[str], int]:
    """Run the program, its output handed on to the step's log as it comes; its exit
    status, its last lines and how many it printed."""
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    lines = 0
    try:
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as e:
        raise StepError(f"program {argv[0]} could not start: {e}", PROGRAM_FAILED) from None
    assert process.stdout is not None
    with process.stdout:
        for line in process.stdout:
            sys.stderr.write(line)
            tail.append(line.rstrip("\n")[:TAIL_LINE_CHARS])
            lines += 1
    sys.stderr.flush()
    return process.wait(), list(tail), lines


def _checked_table(program: str, table: str, path: str) -> tuple[int, list[list[str]]]:
    """A table's file as written: Parquet, with named, distinct columns."""
    if not os.path.isfile(path):
        raise StepError(
            f"program {program} wrote no {output_file(table)} for INTO {table} "
            f"(write each table to ${OUTPUT_DIR_ENV}/<table>.parquet)",
            PROGRAM_FAILED,
        )
    try:
        parquet = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several types for a file that is not Parquet
        raise StepError(
            f"program {program} wrote {output_file(table)}, which is not a Parquet file: {e}",
            PROGRAM_FAILED,
        ) from None
    schema = parquet.schema_arrow
    names = [n.lower() for n in schema.names]
    if not names:
        raise StepError(f"program {program} wrote {table} without columns", PROGRAM_FAILED)
    twice = sorted({n for n in names if names.count(n) > 1 or not n.strip()})
    if twice:
        raise StepError(
            f"program {program} wrote {table} with unnamed or repeated columns: "
            + ", ".join(repr(n) for n in twice),
            PROGRAM_FAILED,
        )
    return parquet.metadata.num_rows, [[f.name, str(f.type)] for f in schema]


def _copy(source: str, target: str) -> None:
    """One file to another, either of them any fsspec URL."""
    with fsspec.open(source, "rb") as src, fsspec.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, length=1 << 20)
