"""TO RUN and TO MAXIMIZE/MINIMIZE end to end on DuckDB, through Dagster: SQLFlow's
statements as written, a real program, a real solver; ``sqlml check`` says what the
definitions say."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from sqlml_dagster import build_defs
from sqlml_dagster.cli import main
from sqlml_dagster.compiler import SqlMlCompileError, compile_project
from sqlml_dagster.ops.dry_run import step_spec

from .conftest import failure_reasons, materialize_all

RUN_SQL = """
CREATE TABLE raw AS SELECT * FROM (VALUES (1, 0.5), (2, 2.5), (3, 7.0)) t(id, x);

SELECT id, x FROM raw
TO RUN sqlflow/runnable:v0.0.1
CMD "split.py", "--threshold=1"
INTO high, low;

CREATE TABLE report AS SELECT (SELECT count(*) FROM high) AS high, (SELECT count(*) FROM low) AS low;
"""

SPLIT = """
import json, os, sys
import pyarrow.compute as pc, pyarrow.parquet as pq
args = dict(a.split("=", 1) for a in sys.argv[1:])
threshold = float(args["--threshold"])
if threshold < 0:
    sys.exit("the threshold must not be negative")
rows = pq.read_table(os.environ["SQLML_RUN_INPUT"])
outputs = json.loads(os.environ["SQLML_RUN_OUTPUTS"])
high, low = os.environ["SQLFLOW_TO_RUN_INTO"].split(",")
above = pc.greater(rows["x"], threshold)
pq.write_table(rows.filter(above), outputs[high])
pq.write_table(rows.filter(pc.invert(above)), outputs[low])
"""


def query(state: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.slow
def test_to_run_writes_every_table_in_one_step_and_a_failure_changes_none(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project({"run.sql": RUN_SQL})
    (tmp_path / "split.py").write_text(SPLIT)  # the project folder: the SQL folder's parent
    state = tmp_path / "state"
    result = materialize_all(root, state)
    assert result.success, failure_reasons(result)
    assert query(state, "SELECT id FROM high ORDER BY id") == [(2,), (3,)]
    assert query(state, "SELECT id FROM low") == [(1,)]
    assert query(state, "SELECT * FROM report") == [(2, 1)]
    (run,) = [e for e in result.get_step_success_events() if e.step_key == "sqlml__high"]
    written = {
        e.asset_key.to_user_string(): e.materialization.metadata["dagster/row_count"].value
        for e in result.get_asset_materialization_events()
        if e.step_key == run.step_key
    }
    assert written == {"high": 2, "low": 1}

    (root / "run.sql").write_text(RUN_SQL.replace("--threshold=1", "--threshold=-1"))
    again = materialize_all(root, state)
    assert not again.success
    assert failure_reasons(again) == (
        "SQLML525: run step for 'high' failed: program split.py exited with status 1: "
        "the threshold must not be negative"
    )
    assert query(state, "SELECT count(*) FROM high") == [(2,)]
    assert query(state, "SELECT count(*) FROM low") == [(1,)]
    assert "_sqlml_stage" not in str(
        query(state, "SELECT table_name FROM information_schema.tables")
    )


# doc/tutorial/optimization_guide.md, both examples as written, on its tables.
OPTIMIZE_SQL = """
CREATE TABLE woodcarving AS SELECT * FROM (VALUES
    ('soldier', 27, 10, 14, 2, 1, 40),
    ('train', 21, 9, 10, 1, 1, 10000)
) t(product, price, materials_cost, other_cost, finishing, carpentry, max_num);
CREATE TABLE plants AS SELECT * FROM (VALUES ('plantA', 100), ('plantB', 90)) t(plants, capacity);
CREATE TABLE markets AS SELECT * FROM (VALUES ('marketA', 130), ('marketB', 60)) t(markets, demand);
CREATE TABLE transportation AS SELECT * FROM (VALUES
    ('plantA', 'marketA', 140), ('plantA', 'marketB', 210),
    ('plantB', 'marketA', 300), ('plantB', 'marketB', 90)
) t(plants, markets, distance);

SELECT * FROM woodcarving -- the input data source
TO MAXIMIZE
    SUM((price - materials_cost - other_cost) * amount) -- the objective expression
CONSTRAINT
    SUM(finishing * amount) <= 100, -- finishing constraint, i.e, 2*x + 1*y <= 100
    SUM(carpentry * amount) <= 80, -- carpentry constraint, i.e., 1*x + 1*y <= 80
    amount <= max_num -- demand constraint, i.e., x <= 40, y <= 10000
WITH
    variables="amount(product)", -- amount = (x, y) is the value to be optimized, product is the column name of the variable
    var_type="NonNegativeIntegers" -- amount = (x, y) is inside the domain of non-negative integers
USING glpk -- use the GLPK solver to solve the linear optimization problem
INTO woodcarving_result_table;

SELECT
    t.plants AS plants,
    t.markets AS markets,
    t.distance AS distance,
    p.capacity AS capacity,
    m.demand AS demand
FROM transportation AS t
LEFT JOIN plants AS p ON t.plants = p.plants
LEFT JOIN markets AS m ON t.markets = m.markets  -- the joined SQL statement
TO MINIMIZE
    SUM(amount * distance) -- the objective expression, minimize the total transportation distance
CONSTRAINT
    SUM(amount) <= capacity GROUP BY plants,
    SUM(amount) >= demand GROUP BY markets
WITH
    -- amount is the value to be optimized, "plants" and "markets" are the column names of the variables
    variables="amount(plants,markets)",
    var_type="NonNegativeIntegers" -- the amount value should be non-negative integers
USING glpk
INTO transportation_result_table;
"""


@pytest.mark.slow
def test_the_optimization_tutorial_solves_to_its_answers(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    infeasible = (
        OPTIMIZE_SQL.split(";\n\n")[-1]
        .replace("SUM(amount) >= demand", "SUM(amount) >= demand * 2")
        .replace("transportation_result_table", "overbooked")
    )
    root = write_project({"opt.sql": OPTIMIZE_SQL + "\n" + infeasible})
    state = tmp_path / "state"
    result = materialize_all(root, state)
    assert query(state, "SELECT product, amount FROM woodcarving_result_table ORDER BY 1") == [
        ("soldier", 20),
        ("train", 60),
    ]
    assert query(
        state, "SELECT plants, markets, amount FROM transportation_result_table ORDER BY 1, 2"
    ) == [
        ("plantA", "marketA", 100),
        ("plantA", "marketB", 0),
        ("plantB", "marketA", 30),
        ("plantB", "marketB", 60),
    ]
    objectives = {
        e.asset_key.to_user_string(): e.materialization.metadata["objective"].value
        for e in result.get_asset_materialization_events()
        if "objective" in e.materialization.metadata
    }
    assert objectives == {"woodcarving_result_table": 180.0, "transportation_result_table": 28400.0}
    assert failure_reasons(result) == (
        "SQLML526: optimize step for 'overbooked' failed: the program is infeasible: no value "
        "of 'amount' meets every CONSTRAINT on these rows"
    )


BAD = (
    'SELECT * FROM w TO MAXIMIZE SUM(amount * amount) WITH variables="amount(product)", '
    'var_type="Integers" INTO r;'
)


def test_sqlml_check_and_the_definitions_agree(
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = write_project({"run.sql": RUN_SQL, "opt.sql": OPTIMIZE_SQL})
    assert main(["check", str(good), "--no-deep"]) == 0
    out = capsys.readouterr()
    assert "2 program outputs" in out.out and "2 solutions" in out.out
    assert out.err.count("warning[SQLML129]: USING glpk: solved with HiGHS") == 2
    build_defs(good, state_dir=tmp_path / "state")  # loads
    (good / "bad.sql").write_text(BAD)
    assert main(["check", str(good), "--no-deep"]) == 1
    assert "error[SQLML127]: the objective is not linear in the variable" in capsys.readouterr().err
    with pytest.raises(SqlMlCompileError) as caught:
        build_defs(good, state_dir=tmp_path / "state")
    assert [d.code for d in caught.value.diagnostics] == ["SQLML127"]


def test_the_dry_run_shows_each_step_as_a_materialization_writes_it(
    write_project: Callable[[dict[str, str]], Path],
) -> None:
    project = compile_project(write_project({"run.sql": RUN_SQL, "opt.sql": OPTIMIZE_SQL}))
    run = step_spec(project.node("low"), "s3://data", "s3://models")
    assert run is not None and run.kind == "run" and run.spec_version == 3
    assert (run.image, run.command, run.select) == (
        "sqlflow/runnable:v0.0.1",
        ["split.py", "--threshold=1"],
        "SELECT id, x FROM raw",
    )
    assert run.outputs == [
        ["high", "s3://data/dry-run/high/output-0.parquet"],
        ["low", "s3://data/dry-run/high/output-1.parquet"],
    ]
    solve = step_spec(project.node("woodcarving_result_table"), "s3://data", "s3://models")
    assert solve is not None and solve.kind == "optimize" and solve.image is None
    assert solve.optimization is not None
    assert (solve.optimization["variables"], solve.optimization["result"]) == (
        ["product"],
        "amount",
    )
    assert '"spec_version": 3' in solve.to_json()


def test_sqlml_check_finds_what_the_optimize_step_would_fail_on(
    write_project: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The deep check knows the SELECT's columns: a column the program names that is not
    one (SQLML417) and a variable named as one (SQLML418) — the step's SQLML527 — and the
    solution's columns (the variables' and the value) for what reads it."""
    misspelled = OPTIMIZE_SQL.replace("SUM(carpentry * amount)", "SUM(carpentri * amount)")
    clashing = (
        "SELECT * FROM woodcarving TO MAXIMIZE SUM(max_num * price) CONSTRAINT max_num <= 3 "
        'WITH variables = "max_num(product)", var_type = "Integers" INTO clash;'
    )
    trained = (
        "SELECT * FROM woodcarving_result_table "
        "TO TRAIN sklearn.linear_model.LinearRegression LABEL amout INTO m;"
    )
    root = write_project({"opt.sql": misspelled + "\n" + clashing, "m.sql": trained})
    assert main(["check", str(root), "--format", "json", "--no-import"]) == 1
    found = json.loads(capsys.readouterr().out)["diagnostics"]
    errors = [(d["code"], d["line"], d["message"]) for d in found if d["severity"] == "error"]
    assert errors == [
        ("SQLML407", 1, "label column 'amout' is not a column of the SELECT"),
        ("SQLML417", 17, "'carpentri' is not a column of the SELECT"),
        ("SQLML418", 46, "the variable 'max_num' has the name of a column of the SELECT"),
    ]
