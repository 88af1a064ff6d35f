"""``TO MAXIMIZE`` / ``TO MINIMIZE``'s objective and constraints: sqlglot trees → the
mathematical program as data (``contract/optimization.py``), with SQLFlow's rules checked
before anything runs.

SQLFlow's rules (``python/runtime/optimize/model_generation.py``): the objective sums over
the rows (``SUM(…)``); a constraint with ``SUM`` holds once (once per group with ``GROUP
BY col``), one without holds for every row; the variable appears only inside ``SUM``
where there is one, and a column outside ``SUM`` needs ``GROUP BY`` (its value is the
group's). HiGHS solves linear and mixed-integer programs, so the objective and every
constraint must be linear in the variable. A violation is one :class:`ProgramProblem`
pointing at the piece of the expression it is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from ..contract.optimization import NEGATE
from .tokens import number

_ARITHMETIC: dict[type[exp.Expr], str] = {
    exp.Add: "+",
    exp.Sub: "-",
    exp.Mul: "*",
    exp.Div: "/",
}
_COMPARISONS: dict[type[exp.Expr], str] = {exp.LTE: "<=", exp.GTE: ">=", exp.EQ: "="}
_STRICT: dict[type[exp.Expr], str] = {exp.LT: "<", exp.GT: ">", exp.NEQ: "<>"}

#: The form of an expression, for hints.
ALLOWED = "numbers, columns, the variable, + - * /, parentheses and SUM(…)"


class ProgramProblem(Exception):
    """An objective or constraint that cannot be solved: the message, and the sqlglot node
    (inside the tree given) it is about."""

    def __init__(self, message: str, node: exp.Expr, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.node = node
        self.hint = hint


@dataclass(frozen=True)
class _Part:
    """An expression as data, with what the rules ask of it: its degree in the variable
    and whether it holds a SUM, the variable or a column outside any SUM."""

    tree: dict[str, Any]
    degree: int
    has_sum: bool = False
    bare_variable: exp.Expr | None = None
    bare_column: exp.Expr | None = None


def objective_tree(expression: exp.Expr, variable: str) -> dict[str, Any]:
    """The objective as data: linear, summing over the rows."""
    if type(expression) in _COMPARISONS or type(expression) in _STRICT:
        raise ProgramProblem(
            "the objective is an expression to maximize or minimize, not a comparison",
            expression,
            "move the comparison into CONSTRAINT",
        )
    part = _convert(expression, variable, in_sum=False)
    if not part.has_sum:
        raise ProgramProblem(
            "the objective must sum over the rows",
            expression,
            "write it as SUM(…), e.g. SUM((price - cost) * amount)",
        )
    if part.bare_variable is not None:
        raise ProgramProblem(
            f"'{variable}' outside SUM(…) in the objective: the objective is one number",
            part.bare_variable,
            "put every term with the variable inside SUM(…)",
        )
    if part.bare_column is not None:
        raise ProgramProblem(
            f"column '{part.bare_column.sql()}' outside SUM(…) in the objective",
            part.bare_column,
            "the objective is one number over all rows: put the column inside SUM(…)",
        )
    _linear(part, expression, "the objective")
    return part.tree


def constraint_tree(
    expression: exp.Expr, variable: str, group_by: str | None, group_by_node: exp.Expr | None
) -> dict[str, Any]:
    """One constraint as data: ``left <op> right`` and its ``GROUP BY`` column."""
    kind = type(expression)
    if kind in _STRICT:
        raise ProgramProblem(
            f"a constraint cannot be strict ('{_STRICT[kind]}')",
            expression,
            "write <=, >= or =",
        )
    if kind not in _COMPARISONS:
        raise ProgramProblem(
            "a constraint compares two sides with <=, >= or =",
            expression,
            "e.g. SUM(amount) <= 100, or amount <= max_num for every row",
        )
    assert isinstance(expression, exp.Binary)
    left = _convert(expression.this, variable, in_sum=False)
    right = _convert(expression.expression, variable, in_sum=False)
    aggregated = left.has_sum or right.has_sum
    for side in (left, right):
        if aggregated and side.bare_variable is not None:
            raise ProgramProblem(
                f"'{variable}' outside SUM(…) in a constraint that sums",
                side.bare_variable,
                "put the variable inside SUM(…), or write a per-row constraint without SUM",
            )
        if aggregated and group_by is None and side.bare_column is not None:
            raise ProgramProblem(
                f"column '{side.bare_column.sql()}' outside SUM(…) needs GROUP BY",
                side.bare_column,
                "a summed constraint holds once: add GROUP BY <column> to hold it per group "
                "(the column's value is then the group's), or put it inside SUM(…)",
            )
    if group_by is not None and not aggregated:
        raise ProgramProblem(
            "GROUP BY needs a SUM(…) in its constraint",
            group_by_node or expression,
            "a constraint without SUM already holds for every row; remove GROUP BY",
        )
    _linear(left, expression.this, "a constraint")
    _linear(right, expression.expression, "a constraint")
    if left.degree == 0 and right.degree == 0:
        raise ProgramProblem(
            f"this constraint does not involve the variable '{variable}'",
            expression,
            "a constraint limits the variable, e.g. SUM(amount) <= 100",
        )
    return {
        "left": left.tree,
        "op": _COMPARISONS[kind],
        "right": right.tree,
        "group_by": group_by,
    }


def _linear(part: _Part, node: exp.Expr, what: str) -> None:
    if part.degree > 1:
        raise ProgramProblem(
            f"{what} is not linear in the variable",
            node,
            "HiGHS solves linear and mixed-integer programs: multiply the variable by "
            "numbers and columns only, never by itself",
        )


def _convert(node: exp.Expr, variable: str, in_sum: bool) -> _Part:
    kind = type(node)
    if kind is exp.Paren:
        return _convert(node.this, variable, in_sum)
    if kind is exp.Literal:
        assert isinstance(node, exp.Literal)
        if node.is_string:
            raise ProgramProblem(f"a string ({node.sql()}) in an expression", node, ALLOWED)
        return _Part({"num": number(node.this)}, 0)
    if kind is exp.Column:
        assert isinstance(node, exp.Column)
        if isinstance(node.this, exp.Star):
            raise ProgramProblem("'*' is not a value", node, ALLOWED)
        name = node.name
        if name.lower() == variable.lower():
            return _Part({"var": variable}, 1, bare_variable=None if in_sum else node)
        return _Part({"col": name}, 0, bare_column=None if in_sum else node)
    if kind is exp.Neg:
        inner = _convert(node.this, variable, in_sum)
        return _Part(
            {"op": NEGATE, "args": [inner.tree]},
            inner.degree,
            inner.has_sum,
            inner.bare_variable,
            inner.bare_column,
        )
    if kind in _ARITHMETIC:
        assert isinstance(node, exp.Binary)
        a = _convert(node.this, variable, in_sum)
        b = _convert(node.expression, variable, in_sum)
        op = _ARITHMETIC[kind]
        if op == "/" and b.degree > 0:
            raise ProgramProblem(
                f"dividing by the variable '{variable}' is not linear",
                node.expression,
                "divide by numbers and columns only",
            )
        degree = a.degree + b.degree if op == "*" else max(a.degree, b.degree)
        return _Part(
            {"op": op, "args": [a.tree, b.tree]},
            degree,
            a.has_sum or b.has_sum,
            a.bare_variable or b.bare_variable,
            a.bare_column or b.bare_column,
        )
    if kind is exp.Sum:
        if in_sum:
            raise ProgramProblem("SUM(…) inside SUM(…)", node, "sum once over the rows")
        inner = _convert(node.this, variable, in_sum=True)
        return _Part({"sum": inner.tree}, inner.degree, has_sum=True)
    if kind in _COMPARISONS or kind in _STRICT:
        raise ProgramProblem("a comparison inside an expression", node, ALLOWED)
    if isinstance(node, exp.Func):
        name = node.sql_name() if not isinstance(node, exp.Anonymous) else str(node.this)
        raise ProgramProblem(
            f"{name.upper()}(…) cannot be used in a mathematical program",
            node,
            f"SUM is the one function; write {ALLOWED}",
        )
    raise ProgramProblem(f"'{node.sql()}' cannot be used in a mathematical program", node, ALLOWED)
