"""The ``optimize`` step (TO MAXIMIZE/MINIMIZE): SQLFlow's own programs, compiled by the
compiler and solved by Pyomo with HiGHS, give the answers SQLFlow's tests expect; a
program without an optimum, or rows that do not fit it, fail with one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlml_dagster.compiler import parse_sql_file
from sqlml_dagster.compiler.ir import OptimizeStatement
from sqlml_dagster.contract import OptimizationResult
from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.runtime import StepError, run_step

from .recorder import Recorder

# go/sql/testdata/optimize_case_sql.go: SQLFlow's test tables.
WOODCARVING = {
    "product": ["soldier", "train"],
    "price": [27, 21],
    "materials_cost": [10, 9],
    "other_cost": [14, 10],
    "finishing": [2, 1],
    "carpentry": [1, 1],
    "max_num": [40, 10000],
}
# The transportation table joined with plants and markets, as the statements' SELECT does.
SHIPMENT = {
    "plants": ["plantA", "plantA", "plantB", "plantB"],
    "markets": ["marketA", "marketB", "marketA", "marketB"],
    "distance": [140, 210, 300, 90],
    "capacity": [100, 100, 90, 90],
    "demand": [130, 60, 130, 60],
}
PROFIT = "SUM((price - materials_cost - other_cost) * {v})"
LIMITS = "SUM(finishing * {v}) <= 100, SUM(carpentry * {v}) <= 80, {v} <= max_num"


def woodcarving(direction: str, var: str, var_type: str, constraints: str | None = LIMITS) -> str:
    where = f" CONSTRAINT {constraints.format(v=var)}" if constraints else ""
    return (
        f"SELECT * FROM w TO {direction} {PROFIT.format(v=var)}{where} "
        f'WITH variables="{var}(product)", var_type="{var_type}" USING glpk INTO r'
    )


def shipment(objective: str, var_type: str) -> str:
    return (
        f"SELECT * FROM s TO MINIMIZE {objective} "
        "CONSTRAINT SUM(shipment) <= capacity GROUP BY plants, "
        "SUM(shipment) >= demand GROUP BY markets "
        f'WITH variables="shipment(plants,markets)", var_type="{var_type}" INTO r'
    )


def solve(
    tmp_path: Path, sql: str, data: dict[str, list[Any]]
) -> tuple[OptimizationResult, pa.Table]:
    sql_file, diagnostics = parse_sql_file("o.sql", sql + ";", "mysql")
    assert [d.render() for d in diagnostics if d.is_error] == []
    (statement,) = sql_file.statements
    assert isinstance(statement, OptimizeStatement)
    pq.write_table(pa.table(data), tmp_path / "input.parquet")
    spec = StepSpec(
        kind="optimize",
        step_id="optimize/1",
        model_name="r",
        model_reference="highs",
        flavor="",
        input_uri=str(tmp_path / "input.parquet"),
        output_uri=str(tmp_path / "output.parquet"),
        optimization=statement.program(),
    )
    spec = StepSpec.from_json(spec.to_json())  # as the step reads it: JSON, nothing else
    recorder = Recorder()
    run_step(spec, recorder)
    assert isinstance(recorder.reported, OptimizationResult)
    return recorder.reported, pq.read_table(tmp_path / "output.parquet")


# (statement, data, the result table's rows, the objective) — SQLFlow's expectations from
# doc/tutorial/optimization_guide.md and go/cmd/sqlflowserver/e2e_common_cases.go.
SOLVED = [
    pytest.param(woodcarving("MAXIMIZE", "amount", "NonNegativeIntegers"), WOODCARVING,
                 [("soldier", 20), ("train", 60)], 180.0, id="woodcarving"),
    pytest.param(woodcarving("MAXIMIZE", "product", "NonNegativeIntegers"), WOODCARVING,
                 [("soldier", 20), ("train", 60)], 180.0, id="woodcarving-variable-named-as-column"),
    pytest.param(woodcarving("MAXIMIZE", "amount", "Binary"), WOODCARVING,
                 [("soldier", 1), ("train", 1)], 5.0, id="woodcarving-binary"),
    pytest.param(woodcarving("MINIMIZE", "amount", "PositiveIntegers", None), WOODCARVING,
                 [("soldier", 1), ("train", 1)], 5.0, id="woodcarving-without-constraint"),
    pytest.param(woodcarving("MAXIMIZE", "amount", "NonNegativeReals"), WOODCARVING,
                 [("soldier", 20.0), ("train", 60.0)], 180.0, id="woodcarving-reals"),
    pytest.param(shipment("SUM(shipment * distance)", "NonNegativeIntegers"), SHIPMENT,
                 [("plantA", "marketA", 100), ("plantA", "marketB", 0),
                  ("plantB", "marketA", 30), ("plantB", "marketB", 60)], 28400.0, id="transportation"),
    pytest.param(shipment("SUM(shipment * distance * 90 / 1000)", "NonNegativeIntegers"), SHIPMENT,
                 [("plantA", "marketA", 100), ("plantA", "marketB", 0),
                  ("plantB", "marketA", 30), ("plantB", "marketB", 60)], 2556.0, id="shipment"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "data", "rows", "objective"), SOLVED)
@pytest.mark.slow
def test_sqlflows_programs_solve_to_sqlflows_answers(
    tmp_path: Path,
    sql: str,
    data: dict[str, list[Any]],
    rows: list[tuple[Any, ...]],
    objective: float,
) -> None:
    result, table = solve(tmp_path, sql, data)
    assert [tuple(r.values()) for r in table.to_pylist()] == rows
    assert result.objective == pytest.approx(objective)
    assert (result.solver, result.status, result.rows) == ("highs", "optimal", len(rows))
    integer = isinstance(rows[0][-1], int)
    assert table.schema.field(result.result_column).type == (
        pa.int64() if integer else pa.float64()
    )


def test_the_result_column_is_named_as_sqlflow_names_it(tmp_path: Path) -> None:
    """``variables="product(product)"``: the variable has the column's name, so its values
    go into ``product_value`` (SQLFlow's generate_unique_result_value_name)."""
    result, table = solve(tmp_path, woodcarving("MAXIMIZE", "product", "Integers"), WOODCARVING)
    assert table.column_names == ["product", "product_value"] == ["product", result.result_column]


# (statement, data, the step's one line, its code)
FAILURES = [
    pytest.param(woodcarving("MAXIMIZE", "amount", "NonNegativeIntegers", "SUM(amount) >= 200, SUM(carpentry * amount) <= 80"),
                 WOODCARVING, "the program is infeasible: no value of 'amount' meets every CONSTRAINT", "SQLML526", id="infeasible"),
    pytest.param(woodcarving("MAXIMIZE", "amount", "NonNegativeReals", None), WOODCARVING,
                 "the program is unbounded: the objective can grow without limit", "SQLML526", id="unbounded"),
    pytest.param(woodcarving("MAXIMIZE", "amount", "Integers", "SUM(finishing * amount) <= 100, SUM(colour * amount) <= 3"),
                 WOODCARVING, "column 'colour' is not a column of the SELECT (columns: product, price,", "SQLML527", id="unknown-column"),
    pytest.param(woodcarving("MAXIMIZE", "amount", "Integers"), {**WOODCARVING, "max_num": ["40", "10000"]},
                 "column 'max_num' has type string; the objective and constraints compute with numbers", "SQLML527", id="text-column"),
    pytest.param(woodcarving("MAXIMIZE", "amount", "Integers"), {**WOODCARVING, "max_num": [40, None]},
                 "column 'max_num' has 1 NULL value(s)", "SQLML527", id="null"),
    pytest.param(shipment("SUM(shipment * distance)", "Integers").replace("GROUP BY markets", "GROUP BY market"), SHIPMENT,
                 "GROUP BY column 'market' is not a column of the SELECT", "SQLML527", id="unknown-group-by"),
    pytest.param(woodcarving("MAXIMIZE", "amount", "Integers"), {**WOODCARVING, "amount": [1, 2]},
                 "the variable 'amount' has the name of a column of the SELECT", "SQLML527", id="variable-named-as-another-column"),
    pytest.param(woodcarving("MAXIMIZE", "amount", "Integers"), {k: v[:0] for k, v in WOODCARVING.items()},
                 "the SELECT returned no rows: there is nothing to optimize", "SQLML527", id="no-rows"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "data", "reason", "code"), FAILURES)
def test_no_optimum_or_rows_that_do_not_fit_are_one_line(
    tmp_path: Path, sql: str, data: dict[str, list[Any]], reason: str, code: str
) -> None:
    with pytest.raises(StepError) as caught:
        solve(tmp_path, sql, data)
    assert str(caught.value).startswith(reason), str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.code == code
    assert not (tmp_path / "output.parquet").exists()
