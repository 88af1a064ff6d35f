"""``<select> TO MAXIMIZE|MINIMIZE <objective> [CONSTRAINT <c> [GROUP BY <col>], …]
WITH variables = "<name>(<col>, …)", var_type = "<type>" [USING <solver>] INTO <table>``:
SQLFlow's mathematical programming (``doc/tutorial/optimization_guide.md``, its Go
grammar's ``optimize_clause``).

One decision variable per row of the SELECT, identified by the ``variables`` columns; the
result table holds those columns and the solved value (``contract/optimization.py``
names its column). The objective and constraints are sqlglot expressions; what they may
contain is ``math_program.py``'s to decide."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from ...contract.optimization import (
    IGNORED_ATTRIBUTE_NAMESPACES,
    OTHER_SOLVERS,
    REQUIRED_ATTRIBUTES,
    SOLVER,
    VAR_TYPES,
)
from .. import codes
from ..context import Abort, Common, node_offsets
from ..cursor import Cursor
from ..diagnostics import Diagnostic, Severity, Span
from ..math_program import ProgramProblem, constraint_tree, objective_tree
from ..names import ObjectKind, QualifiedName
from ..params import Param
from ..sql_writer import SqlWriter
from ..statement import MLStatement, WritesInto
from ..tokens import word_of

USAGE = (
    "TO MAXIMIZE|MINIMIZE <objective> [CONSTRAINT <constraint> [GROUP BY <column>], …] "
    'WITH variables = "<name>(<column>, …)", var_type = "<type>" [USING <solver>] INTO <table>'
)
_CLAUSE_WORDS = ("CONSTRAINT", "WITH", "USING", "INTO")
#: ``variable = "amount(product)"``: the spelling of SQLFlow's design document
#: (doc/design/programming_solver.md) for what its grammar calls ``variables``.
_ALIASES = {"variable": "variables"}


@dataclass(frozen=True)
class Constraint:
    """One ``CONSTRAINT`` item: a comparison, held once, per ``GROUP BY`` group, or (with
    no ``SUM``) for every row."""

    expression: exp.Expr = field(compare=False)
    group_by: str | None
    span: Span | None = field(default=None, compare=False, repr=False)
    #: The expression as data (``contract/optimization.py``).
    tree: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class OptimizeStatement(WritesInto, MLStatement):
    """``<select> TO MAXIMIZE|MINIMIZE … INTO <table>``: solve for one value per row."""

    KIND: ClassVar[str] = "optimize"
    VERB: ClassVar[str] = "MAXIMIZE"
    OTHER_VERBS: ClassVar[tuple[str, ...]] = ("MINIMIZE",)
    OBJECT_KIND: ClassVar[ObjectKind] = ObjectKind.SOLUTION

    direction: str  # "maximize" | "minimize"
    objective: exp.Expr = field(compare=False)
    objective_span: Span
    constraints: tuple[Constraint, ...]
    #: The columns identifying each row's variable (``variables="amount(product)"``).
    variables: tuple[str, ...]
    #: The variable's name, as the expressions write it (``amount``).
    result: str
    var_type: str
    #: ``USING glpk`` as written (lower case); solved with HiGHS whatever it says.
    solver: str | None
    into: QualifiedName
    into_span: Span
    #: The objective as data.
    objective_tree: dict[str, Any] = field(default_factory=dict, repr=False)

    def program(self) -> dict[str, Any]:
        """The mathematical program as the step reads it (StepSpec ``optimization``)."""
        return {
            "direction": self.direction,
            "objective": self.objective_tree,
            "constraints": [c.tree for c in self.constraints],
            "variables": list(self.variables),
            "result": self.result,
            "var_type": self.var_type,
            "solver": self.solver or SOLVER,
        }

    def json_extra(self, dialect: str) -> dict[str, Any]:
        return {"program": self.program()}

    def why_no_asset(self) -> Diagnostic | None:
        return None

    @classmethod
    def parse_tail(cls, c: Cursor, common: Common) -> OptimizeStatement:
        direction = c.tokens[c.i - 1].text.lower()
        objective_tokens = _until(c, ("CONSTRAINT", "WITH", "USING", "INTO"), "an objective")
        objective = c.p.parse_tokens(objective_tokens)
        constraints_raw: list[tuple[exp.Expr, str | None, Token | None, list[Token]]] = []
        if c.at_word("CONSTRAINT"):
            c.next()
            constraints_raw = _constraints(c)
        if not c.at_word("WITH"):
            raise c.fail(
                c.peek(),
                "WITH variables = …, var_type = …",
                f"SQLFlow's form is: {USAGE}",
            )
        with_token = c.next()
        variables, result, var_type, params = _attributes(c, with_token, direction)
        solver = None
        if c.at_word("USING"):
            c.next()
            token = c.identifier("a solver such as glpk")
            solver = token.text.lower()
            _check_solver(c, token)
        c.expect_word("INTO", USAGE)
        into, into_span = c.qualified_name("a result table")
        c.expect_end(USAGE)
        try:
            objective_data = objective_tree(objective, result)
        except ProgramProblem as problem:
            raise _located(c, problem) from None
        constraints = []
        for expression, group_by, group_token, tokens in constraints_raw:
            try:
                tree = constraint_tree(expression, result, group_by, _token_node(group_token))
            except ProgramProblem as problem:
                raise _located(c, problem) from None
            constraints.append(
                Constraint(expression, group_by, c.p.span(tokens[0], tokens[-1]), tree)
            )
        return cls(
            **common,
            params=params,
            direction=direction,
            objective=objective,
            objective_span=c.p.span(objective_tokens[0], objective_tokens[-1]),
            constraints=tuple(constraints),
            variables=variables,
            result=result,
            var_type=var_type,
            solver=solver,
            into=into,
            into_span=into_span,
            objective_tree=objective_data,
        )

    def render_sql(self, w: SqlWriter) -> str:
        return f"{w.tree(self.select)} TO {self.direction.upper()} {self.render_tail(w)}"

    def render_tail(self, w: SqlWriter) -> str:
        text = w.tree(self.objective)
        if self.constraints:
            items = [
                w.tree(c.expression)
                + (f" GROUP BY {w.identifier(c.group_by)}" if c.group_by else "")
                for c in self.constraints
            ]
            text += " CONSTRAINT " + ", ".join(items)
        written = self.variables[0]
        if len(self.variables) > 1 or self.result != written:
            written = f"{self.result}({', '.join(self.variables)})"
        attributes = [f"variables = {w.string(written)}", f"var_type = {w.string(self.var_type)}"]
        attributes += [f"{p.namespace}.{p.path} = {w.value(p.value)}" for p in self.params]
        text += " WITH " + ", ".join(attributes)
        if self.solver:
            text += f" USING {w.identifier(self.solver)}"
        return text + f" INTO {w.name(self.into)}"


def _until(
    c: Cursor, words: tuple[str, ...], what: str, stop_at_comma: bool = False
) -> list[Token]:
    """The tokens up to a top-level clause word (or comma), at least one."""
    tokens: list[Token] = []
    depth = 0
    while (token := c.peek()) is not None:
        kind = token.token_type
        if depth == 0 and (word_of(token) in words or (stop_at_comma and kind is TokenType.COMMA)):
            break
        if kind in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif kind in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth -= 1
        tokens.append(c.next())
    if not tokens:
        raise c.fail(c.peek(), what, f"the form is: {USAGE}")
    return tokens


def _constraints(
    c: Cursor,
) -> list[tuple[exp.Expr, str | None, Token | None, list[Token]]]:
    """``<expr> [GROUP BY <col>], …`` up to WITH. After ``GROUP BY col`` the next
    constraint may follow without a comma, as SQLFlow's language guide writes it."""
    found = []
    while True:
        tokens = _until(c, (*_CLAUSE_WORDS, "GROUP BY"), "a constraint", stop_at_comma=True)
        group_by, group_token = None, None
        if c.at_word("GROUP BY"):
            c.next()
            group_token = c.identifier("the column to group by")
            group_by = group_token.text
        found.append((c.p.parse_tokens(tokens), group_by, group_token, tokens))
        token = c.peek()
        if token is not None and token.token_type is TokenType.COMMA:
            c.next()
            continue
        if group_by is not None and token is not None and word_of(token) not in _CLAUSE_WORDS:
            continue
        return found


def _attributes(
    c: Cursor, with_token: Token, direction: str
) -> tuple[tuple[str, ...], str, str, tuple[Param, ...]]:
    """``variables = "…", var_type = "…"`` and SQLFlow's cluster-solver keys (ignored
    with SQLML129)."""
    values: dict[str, tuple[Any, Span]] = {}
    ignored: list[Param] = []
    while True:
        tokens, key_span = c.dotted("an attribute such as variables or var_type")
        key = ".".join(t.text for t in tokens)
        if _ALIASES.get(key.lower(), key.lower()) in values or any(
            p.key.lower() == key.lower() for p in ignored
        ):
            c.p.error(codes.DUPLICATE_PARAM, f"'{key}' is set twice", key_span.start, key_span.end)
        equals = c.peek()
        if equals is None or equals.token_type is not TokenType.EQ:
            raise c.fail(equals, "'=' after the attribute name", f"write {key} = <value>")
        c.next()
        value, value_end = c.value()
        span = Span.of(c.p.source, key_span.start, value_end)
        namespace = key.split(".", 1)[0].lower() if "." in key else ""
        name = _ALIASES.get(key.lower(), key.lower())
        if name in REQUIRED_ATTRIBUTES:
            values[name] = (value, span)
        elif namespace in IGNORED_ATTRIBUTE_NAMESPACES:
            ignored.append(Param(namespace, key.split(".", 1)[1], value, span))
            c.p.error(
                codes.SOLVER_SUBSTITUTED,
                f"'{key}' is a setting of SQLFlow's cluster solver; HiGHS on one machine ignores it",
                span.start,
                span.end,
                hint="remove it, or keep it for SQLFlow; the program is solved the same",
                severity=Severity.WARNING,
            )
        else:
            close = difflib.get_close_matches(key.lower(), REQUIRED_ATTRIBUTES, n=1)
            c.p.error(
                codes.BAD_OPTIMIZE_ATTRIBUTE,
                f"unknown attribute '{key}' of TO {direction.upper()}",
                key_span.start,
                key_span.end,
                hint=(f"did you mean '{close[0]}'? " if close else "")
                + 'the attributes are variables = "<name>(<column>, …)" and var_type = "<type>"',
            )
            raise Abort
        token = c.peek()
        if token is None or token.token_type is not TokenType.COMMA:
            break
        c.next()
    missing = [k for k in REQUIRED_ATTRIBUTES if k not in values]
    if missing:
        c.p.error(
            codes.BAD_OPTIMIZE_ATTRIBUTE,
            f"WITH lacks {' and '.join(missing)}",
            with_token.start,
            with_token.end + 1,
            hint='write WITH variables = "amount(product)", var_type = "NonNegativeIntegers"',
        )
        raise Abort
    variables, result = _variables(c, *values["variables"])
    var_type = _var_type(c, *values["var_type"])
    return variables, result, var_type, tuple(ignored)


def _variables(c: Cursor, value: Any, span: Span) -> tuple[tuple[str, ...], str]:
    """``"amount(product)"`` → (``("product",)``, ``"amount"``); ``"product"`` →
    (``("product",)``, ``"product"``), as SQLFlow's IR generator reads it."""
    form = (
        'variables = "<name>(<column>, …)", e.g. "amount(product)" or "shipment(plants, markets)"'
    )

    def bad(message: str) -> Abort:
        c.p.error(codes.BAD_OPTIMIZE_ATTRIBUTE, message, span.start, span.end, hint=form)
        return Abort()

    if not isinstance(value, str):
        raise bad("variables must be a string")
    text = value.strip()
    result = ""
    if "(" in text:
        if not text.endswith(")"):
            raise bad(f"variables '{value}' does not end with ')'")
        result, _, inner = text[:-1].partition("(")
        result, text = result.strip(), inner.strip()
    names = [n.strip() for n in text.split(",")]
    for name in [result, *names] if result else names:
        if not name.isidentifier():
            raise bad(f"'{name}' in variables is not a column name")
    if len({n.lower() for n in names}) != len(names):
        raise bad("a column is named twice in variables")
    if not result:
        if len(names) > 1:
            raise bad("variables with several columns needs a name for the variable")
        result = names[0]
    elif len(names) > 1 and result.lower() in {n.lower() for n in names}:
        raise bad(f"the variable's name '{result}' is one of its columns")
    return tuple(names), result


def _var_type(c: Cursor, value: Any, span: Span) -> str:
    by_lower = {t.lower(): t for t in VAR_TYPES}
    if isinstance(value, str) and value.lower() in by_lower:
        return by_lower[value.lower()]
    close = difflib.get_close_matches(str(value), VAR_TYPES, n=1)
    c.p.error(
        codes.BAD_OPTIMIZE_ATTRIBUTE,
        f"unknown var_type '{value}'",
        span.start,
        span.end,
        hint=(f"did you mean '{close[0]}'? " if close else "") + f"one of {', '.join(VAR_TYPES)}",
    )
    raise Abort


def _check_solver(c: Cursor, token: Token) -> None:
    solver = token.text.lower()
    if solver == SOLVER:
        return
    if solver in OTHER_SOLVERS:
        c.p.error(
            codes.SOLVER_SUBSTITUTED,
            f"USING {token.text}: solved with HiGHS, which solves the same linear and "
            "mixed-integer programs",
            token.start,
            token.end + 1,
            hint=f"write USING {SOLVER} (or leave USING out) to say so",
            severity=Severity.WARNING,
        )
        return
    c.p.error(
        codes.SOLVER_SUBSTITUTED,
        f"unknown solver '{token.text}'",
        token.start,
        token.end + 1,
        hint=f"programs are solved with HiGHS: write USING {SOLVER} (SQLFlow's "
        f"{', '.join(OTHER_SOLVERS)} are accepted too)",
    )
    raise Abort


def _located(c: Cursor, problem: ProgramProblem) -> Abort:
    """A :class:`ProgramProblem` as SQLML127 at the piece of the expression it is about."""
    start, end = _expression_offsets(problem.node, c.p.source.text)
    c.p.error(codes.BAD_OPTIMIZATION, problem.message, start, end, hint=problem.hint or None)
    return Abort()


def _expression_offsets(node: exp.Expr, text: str) -> tuple[int, int]:
    """Where an expression is written: from its first token to its last, closing
    parentheses included (sqlglot keeps a call's position on its name only)."""
    start = min((n.meta["start"] for n in node.walk() if "start" in n.meta), default=None)
    end = max((n.meta["end"] + 1 for n in node.walk() if "end" in n.meta), default=None)
    if start is None or end is None:
        return node_offsets(node, text)
    depth = text.count("(", start, end) - text.count(")", start, end)
    while depth > 0 and (close := text.find(")", end)) >= 0:
        end = close + 1
        depth = text.count("(", start, end) - text.count(")", start, end)
    return start, end


def _token_node(token: Token | None) -> exp.Expr | None:
    """A stand-in node carrying a token's position (``GROUP BY col``), for carets."""
    if token is None:
        return None
    node = exp.to_identifier(token.text)
    node.meta["start"], node.meta["end"] = token.start, token.end
    return node
