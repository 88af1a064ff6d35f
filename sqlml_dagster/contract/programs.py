"""``TO RUN``: the contract between a user's program and the step that runs it.

SQLFlow hands a ``TO RUN`` program its context in environment variables, never in
command-line options (a program's own argument parser may reject options it does not
know); the ``CMD`` strings are the program and its arguments, passed as written. This
project keeps SQLFlow's three variables and adds where the data is, because a step reads
and writes files rather than connecting to the warehouse (docs/language.md, TO RUN):

- ``SQLFLOW_TO_RUN_SELECT``: the SELECT, as written (for logs; the rows are already there);
- ``SQLFLOW_TO_RUN_INTO``: the ``INTO`` tables, comma-separated, as written;
- ``SQLFLOW_TO_RUN_IMAGE``: the image the statement names;
- ``SQLML_RUN_INPUT``: a Parquet file holding the SELECT's rows;
- ``SQLML_RUN_OUTPUT_DIR``: a folder where the program writes ``<table>.parquet`` for each
  ``INTO`` table (the name as written: ``INTO db.out`` → ``db.out.parquet``);
- ``SQLML_RUN_OUTPUTS``: the same paths as JSON, ``{"<table>": "<path>", …}``.

The program succeeds by exiting 0 having written every file; then each file becomes its
table, all of them in one warehouse transaction. Any other exit, or a missing or
unreadable file, fails the step and leaves every table as it was.
"""

from __future__ import annotations

import posixpath

SELECT_ENV = "SQLFLOW_TO_RUN_SELECT"
INTO_ENV = "SQLFLOW_TO_RUN_INTO"
IMAGE_ENV = "SQLFLOW_TO_RUN_IMAGE"
INPUT_ENV = "SQLML_RUN_INPUT"
OUTPUT_DIR_ENV = "SQLML_RUN_OUTPUT_DIR"
OUTPUTS_ENV = "SQLML_RUN_OUTPUTS"

#: Set by the orchestrator for a step on its own machine (the local launcher): the project
#: folder, the only place a local program may come from, and the folder of the statement's
#: ``.sql`` file, where a program's path is looked up first. A step in a container has
#: neither and runs the program from its image.
PROGRAM_ROOT_ENV = "SQLML_PROGRAM_ROOT"
PROGRAM_DIR_ENV = "SQLML_PROGRAM_DIR"

#: The code a step's failure carries when the program failed: not found, exited non-zero,
#: or wrote a table's file missing or unreadable (docs/diagnostics.md).
PROGRAM_FAILED = "SQLML525"

PROGRAM_FORM = 'TO RUN <image> CMD "program.py", "--arg=value", … [INTO <table>[, <table> …]]'


def output_file(table: str) -> str:
    """The file name a program writes for ``INTO table``."""
    return f"{table}.parquet"


def program_path_problem(program: str) -> str | None:
    """Why ``program`` (the first ``CMD`` string) cannot name a program, or None. It is a
    path relative to the project (or a name the image resolves): never absolute, never
    climbing out with ``..`` — so SQL can only run what the project or the image holds."""
    if not program.strip():
        return "the program is empty"
    if "\\" in program or "\0" in program:
        return "a program path uses '/' between folders"
    if program.startswith(("/", "~")):
        return "a program path is relative to the project folder, not absolute"
    if ".." in posixpath.normpath(program).split("/") or ".." in program.split("/"):
        return "a program path may not climb out of the project folder with '..'"
    return None
