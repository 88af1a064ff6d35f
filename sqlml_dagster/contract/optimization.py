"""``TO MAXIMIZE`` / ``TO MINIMIZE`` as data: the mathematical program the compiler reads
from SQLFlow's statement and a step solves (the StepSpec's ``optimization`` field).

The model crosses the process boundary as JSON, never as code to evaluate (SQLFlow built
Python source from the statement's tokens and ``eval``-ed it; a step here only walks these
trees). An expression is one of::

    {"num": 3.5}                       a number
    {"col": "price"}                   a column of the SELECT, row by row
    {"var": "amount"}                  the decision variable, one per row
    {"sum": <expr>}                    SUM(<expr>) over the rows (of one GROUP BY group)
    {"op": "+", "args": [<a>, <b>]}    + - * / on two expressions
    {"op": "neg", "args": [<a>]}       unary minus

and the whole program::

    {"direction": "maximize" | "minimize",
     "objective": <expr>,
     "constraints": [{"left": <expr>, "op": "<=" | ">=" | "=", "right": <expr>,
                      "group_by": "column" | null}, …],
     "variables": ["product"],          # the columns that identify a row's variable
     "result": "amount",                # the name of the variable (and its output column)
     "var_type": "NonNegativeIntegers", # one of VAR_TYPES
     "solver": "glpk"}                  # as written (USING …); solved with HiGHS

What a tree may contain is checked by the compiler (linear, ``SUM`` not nested, the
variable only inside ``SUM`` where SQLFlow allows it); which columns exist, by the step.
"""

from __future__ import annotations

from collections.abc import Sequence

#: SQLFlow's ``var_type`` values: Pyomo's domain names, which SQLFlow hands to Pyomo as
#: written (``doc/tutorial/optimization_guide.md``).
VAR_TYPES = (
    "Binary",
    "Integers",
    "PositiveIntegers",
    "NegativeIntegers",
    "NonPositiveIntegers",
    "NonNegativeIntegers",
    "Reals",
    "PositiveReals",
    "NegativeReals",
    "NonPositiveReals",
    "NonNegativeReals",
)

#: The solver every program is solved with: HiGHS (``highspy``), through Pyomo.
SOLVER = "highs"
#: Solvers SQLFlow's statements name (``USING glpk`` is its default); each is accepted and
#: solved with HiGHS, which solves the same linear and mixed-integer programs.
OTHER_SOLVERS = ("glpk", "cbc", "baron", "gurobi", "cplex", "scip", "xpress", "mosek")

#: Arithmetic on expressions; ``neg`` is unary minus.
ARITHMETIC = ("+", "-", "*", "/")
NEGATE = "neg"
#: A constraint's comparisons (a mathematical program has no strict inequality).
COMPARISONS = ("<=", ">=", "=")

#: ``WITH`` keys of SQLFlow's optimize clause: the two it requires, and the ones its
#: cluster solver (OptFlow on PAI) reads, which mean nothing to HiGHS on one machine.
REQUIRED_ATTRIBUTES = ("variables", "var_type")
IGNORED_ATTRIBUTE_NAMESPACES = ("data", "worker", "solver")


#: The codes a step's failure carries (docs/diagnostics.md): the program has no optimal
#: solution (infeasible, unbounded, a solver limit); the SELECT's rows do not fit it (a
#: column it names is missing, not numeric, or NULL).
NO_SOLUTION = "SQLML526"
OPTIMIZATION_DATA = "SQLML527"


def is_integer_type(var_type: str) -> bool:
    """Whether the variable takes whole values (its result column is an integer)."""
    return var_type == "Binary" or var_type.endswith("Integers")


def result_column(result: str, variables: Sequence[str], columns: Sequence[str]) -> str:
    """The output column of the solved values, as SQLFlow names it: the variable's name,
    or ``<name>_value`` (then ``<name>_value_0``, …) when ``variables="product"`` names a
    column of the data itself (``generate_unique_result_value_name`` upstream)."""
    lowered = {c.lower() for c in columns}
    if len(variables) > 1 or result.lower() != variables[0].lower():
        return result
    name = f"{result}_value"
    i = 0
    candidate = name
    while candidate.lower() in lowered:
        candidate = f"{name}_{i}"
        i += 1
    return candidate
