"""``TO MAXIMIZE`` / ``TO MINIMIZE``: build the mathematical program over the SELECT's rows
with Pyomo, solve it with HiGHS, and write the solved value of every row.

The program arrives as data (``contract/optimization.py``): this module walks its trees —
nothing from the statement is evaluated as code. One variable per row; a ``SUM`` ranges
over the rows (of one ``GROUP BY`` group, whose first row gives the columns written outside
the ``SUM``); a constraint without ``SUM`` holds for every row. Columns are matched
case-insensitively, as SQLFlow matches them.

Failures are one line: the rows do not fit the program (SQLML527: a column missing, not
numeric, NULL) or it has no optimal solution (SQLML526: infeasible, unbounded).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from ..contract import OptimizationResult, StepSpec
from ..contract.optimization import (
    NEGATE,
    NO_SOLUTION,
    OPTIMIZATION_DATA,
    SOLVER,
    VAR_TYPES,
    is_integer_type,
    result_column,
)
from . import Reporter, StepError
from .data import input_file, is_numeric, output_file

#: Pyomo's HiGHS interface (``highspy``): linear and mixed-integer programs.
PYOMO_SOLVER = "appsi_highs"


def run(spec: StepSpec, reporter: Reporter) -> None:
    """The ``optimize`` step: one solved value per input row into ``output_uri``."""
    program = spec.optimization
    if not program or not spec.output_uri:
        raise StepError("the step spec holds no mathematical program to solve")
    started = time.monotonic()
    data = input_file(spec).table()
    if data.num_rows == 0:
        raise StepError(
            "the SELECT returned no rows: there is nothing to optimize", OPTIMIZATION_DATA
        )
    rows = _Rows(data, str(program["result"]))
    variables = [rows.name_of(v, "a variables column") for v in program["variables"]]
    result = str(program["result"])
    output = result_column(result, variables, data.column_names)
    if output.lower() in {c.lower() for c in data.column_names} and output == result:
        raise StepError(
            f"the variable '{result}' has the name of a column of the SELECT; name it "
            f'otherwise (variables = "<name>({", ".join(variables)})")',
            OPTIMIZATION_DATA,
        )
    pyo = _pyomo()
    var_type = str(program["var_type"])
    if var_type not in VAR_TYPES:
        raise StepError(f"unknown var_type '{var_type}' (one of {', '.join(VAR_TYPES)})")
    model = pyo.ConcreteModel()
    model.x = pyo.Var(range(data.num_rows), within=getattr(pyo, var_type))
    build = _Builder(rows, model.x, pyo.quicksum)
    sense = pyo.maximize if program["direction"] == "maximize" else pyo.minimize
    model.objective = pyo.Objective(
        expr=build.value(program["objective"], None, rows.all), sense=sense
    )
    model.constraints = pyo.ConstraintList()
    for constraint in program.get("constraints") or []:
        for left, op, right in build.constraints(constraint):
            difference = left - right
            if isinstance(difference, (int, float)):  # no variable left: true, or infeasible
                if not _holds(difference, op):
                    raise StepError(
                        f"the program is infeasible: a constraint ({op}) fails whatever the "
                        f"variable '{result}' is",
                        NO_SOLUTION,
                    )
                continue
            model.constraints.add(_compare(left, op, right))
    objective, status = _solve(pyo, model, str(program["direction"]), result)
    values = np.array([pyo.value(model.x[i]) for i in range(data.num_rows)], dtype=float)
    column = (
        pa.array(np.rint(values).astype(np.int64))
        if is_integer_type(var_type)
        else pa.array(values, pa.float64())
    )
    table = pa.table({**{v: data.column(v) for v in variables}, output: column})
    with output_file(spec).writer(table.schema) as writer:
        writer.write_table(table)
    seconds = round(time.monotonic() - started, 3)
    written = program.get("solver") or SOLVER
    reporter.log(
        f"solved with HiGHS ({status}"
        + (f"; the statement asked for {written}" if written != SOLVER else "")
        + f"): objective value is {objective}"
    )
    reporter.result(
        {"objective": objective, "solver": SOLVER, "status": status, "rows": table.num_rows},
        OptimizationResult(
            kind="optimize",
            objective=objective,
            solver=SOLVER,
            status=status,
            rows=table.num_rows,
            result_column=output,
            seconds=seconds,
        ),
    )


class _Rows:
    """The SELECT's rows as the program reads them: numeric columns by any spelling of
    their name, and groups of rows by a column's values."""

    def __init__(self, data: pa.Table, result: str) -> None:
        self.data = data
        self.result = result
        self.all = list(range(data.num_rows))
        self._by_lower = {name.lower(): name for name in data.column_names}
        self._numbers: dict[str, np.ndarray] = {}

    def name_of(self, column: str, what: str) -> str:
        name = self._by_lower.get(column.lower())
        if name is None:
            raise StepError(
                f"{what} '{column}' is not a column of the SELECT "
                f"(columns: {', '.join(self.data.column_names)})",
                OPTIMIZATION_DATA,
            )
        return name

    def numbers(self, column: str) -> np.ndarray:
        name = self.name_of(column, "column")
        if name not in self._numbers:
            values = self.data.column(name)
            kind = values.type
            if not is_numeric(kind):
                raise StepError(
                    f"column '{name}' has type {kind}; the objective and constraints compute "
                    "with numbers — cast it in the SELECT",
                    OPTIMIZATION_DATA,
                )
            if values.null_count:
                raise StepError(
                    f"column '{name}' has {values.null_count} NULL value(s); filter or fill "
                    "them in the SELECT",
                    OPTIMIZATION_DATA,
                )
            self._numbers[name] = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
        return self._numbers[name]

    def groups(self, column: str) -> list[list[int]]:
        """The rows of each distinct value of ``column``, in order of first appearance."""
        name = self.name_of(column, "GROUP BY column")
        groups: dict[Any, list[int]] = {}
        for i, value in enumerate(self.data.column(name).to_pylist()):
            groups.setdefault(value, []).append(i)
        return list(groups.values())


class _Builder:
    """Pyomo expressions from the program's trees."""

    def __init__(self, rows: _Rows, x: Any, quicksum: Callable[..., Any]) -> None:
        self.rows = rows
        self.x = x
        self.quicksum = quicksum

    def value(self, tree: dict[str, Any], row: int | None, rows: Sequence[int]) -> Any:
        """``tree`` at ``row`` (the row a column or the variable outside SUM means; None
        where there is none), a ``SUM`` ranging over ``rows``."""
        if "num" in tree:
            return tree["num"]
        if "col" in tree:
            if row is None:
                raise StepError(f"column '{tree['col']}' outside SUM(…) needs GROUP BY")
            return float(self.rows.numbers(tree["col"])[row])
        if "var" in tree:
            if row is None:
                raise StepError(f"'{tree['var']}' outside SUM(…)")
            return self.x[row]
        if "sum" in tree:
            return self.quicksum(self.value(tree["sum"], i, rows) for i in rows)
        op, args = tree["op"], [self.value(a, row, rows) for a in tree["args"]]
        if op == NEGATE:
            return -args[0]
        a, b = args
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if isinstance(b, (int, float)) and b == 0:
            raise StepError("the program divides by zero", OPTIMIZATION_DATA)
        return a / b

    def constraints(self, constraint: dict[str, Any]) -> list[tuple[Any, str, Any]]:
        """``(left, op, right)`` for each instance: once, once per group, or per row."""
        left, op, right = constraint["left"], constraint["op"], constraint["right"]
        if _has_sum(left) or _has_sum(right):
            group_by = constraint.get("group_by")
            groups = self.rows.groups(group_by) if group_by else [self.rows.all]
            return [
                (
                    self.value(left, group[0] if group_by else None, group),
                    op,
                    self.value(right, group[0] if group_by else None, group),
                )
                for group in groups
            ]
        return [
            (self.value(left, i, self.rows.all), op, self.value(right, i, self.rows.all))
            for i in self.rows.all
        ]


def _has_sum(tree: dict[str, Any]) -> bool:
    return "sum" in tree or any(_has_sum(a) for a in tree.get("args", ()))


def _compare(left: Any, op: str, right: Any) -> Any:
    if op == "<=":
        return left <= right
    if op == ">=":
        return left >= right
    return left == right


def _holds(difference: float, op: str) -> bool:
    tolerance = 1e-9
    if op == "<=":
        return difference <= tolerance
    if op == ">=":
        return difference >= -tolerance
    return abs(difference) <= tolerance


def _pyomo() -> Any:
    try:
        import pyomo.environ as pyo
    except ImportError:
        raise StepError(
            "TO MAXIMIZE/TO MINIMIZE needs Pyomo and HiGHS where the step runs: "
            "pip install 'sqlml-dagster[optimize]' (pyomo, highspy)"
        ) from None
    return pyo


def _solve(pyo: Any, model: Any, direction: str, result: str) -> tuple[float, str]:
    """Solve with HiGHS; the objective's value and how it ended, or the one line that
    says why there is no optimum."""
    solver = pyo.SolverFactory(PYOMO_SOLVER)
    if not solver.available():
        raise StepError(
            "the HiGHS solver is not available where the step runs: "
            "pip install 'sqlml-dagster[optimize]' (highspy)"
        )
    try:
        solved = solver.solve(model, load_solutions=False)
    except Exception as e:  # Pyomo's interfaces raise their own types for a model they refuse
        raise StepError(f"HiGHS cannot solve this program: {e}", NO_SOLUTION) from None
    condition = str(solved.solver.termination_condition)
    if condition == "optimal":
        model.solutions.load_from(solved)
        return float(pyo.value(model.objective)), condition
    grows = "grow" if direction == "maximize" else "fall"
    reasons = {
        "infeasible": f"the program is infeasible: no value of '{result}' meets every "
        "CONSTRAINT on these rows",
        "unbounded": f"the program is unbounded: the objective can {grows} without limit — "
        f"add a CONSTRAINT that bounds '{result}' (e.g. {result} <= <column>)",
        "infeasibleOrUnbounded": "the program is infeasible or unbounded (HiGHS cannot tell "
        f"which): check the CONSTRAINTs bound '{result}' and can all hold",
    }
    raise StepError(
        reasons.get(condition, f"HiGHS stopped without an optimal solution ({condition})"),
        NO_SOLUTION,
    )
