"""``ML_PREDICT`` on a server warehouse: one SELECT split in two, the warehouse's part and
the model's part.

A server cannot call a Python model, and pulling whole tables into Python to run a query
beside the model would move every row of every table the query reads. So a SELECT that
calls a model function is split (:func:`split_select`):

- the **remote** SELECT runs in the warehouse, in its dialect: the ``FROM`` and ``JOIN`` s,
  the CTEs in sight, the ``WHERE`` conditions that call no model, and every input of the
  rest of the SELECT — each model argument and each column the SELECT list, ``GROUP BY``,
  ``ORDER BY``… read, pushed down as whole expressions and named ``__sqlml_c0``, ``…``;
- the **local** SELECT runs in the orchestrator's process, in an embedded DuckDB, over the
  remote SELECT's Arrow stream (:data:`ROWS`) with the model registered as a vectorized
  function: the model calls, the ``WHERE`` conditions that use them, and whatever sits
  above them (aliases, aggregates, windows, ``DISTINCT``, ``ORDER BY``, ``LIMIT``).

A statement may call models in several SELECTs (a CTE, a subquery): the innermost such
SELECT is split first (:func:`scoring_scope`), its result lands in a temporary table of the
session, and the SELECT is replaced by a read of that table; the caller repeats until no
call is left outside the statement's top SELECT. Pure sqlglot: no driver, no I/O.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from .base import SqlRefused

#: The remote SELECT's rows, as the local SELECT reads them.
ROWS = "__sqlml_rows"
#: The name of the n-th expression the remote SELECT computes for the local one.
PUSHED = "__sqlml_c{}"
#: A column the remote SELECT returns when the local one needs only its row count.
ROW_MARKER = "__sqlml_row"

#: A SELECT's clauses that stay in the warehouse (the rows the model sees come from them).
_REMOTE_CLAUSES = ("with_", "from_", "joins", "laterals", "pivots", "prewhere", "sample", "connect")
#: Clauses that may name a SELECT-list alias instead of a column (``ORDER BY predicted``).
_ALIAS_CLAUSES = ("group", "having", "qualify", "order")


@dataclass(frozen=True)
class SplitSelect:
    """A SELECT that calls a model, as the warehouse's part and the in-process part."""

    remote: exp.Select
    local: exp.Select


def calls_of(tree: exp.Expr, functions: Collection[str]) -> list[exp.Anonymous]:
    """The calls in ``tree`` of the model functions named ``functions``."""
    return [c for c in tree.find_all(exp.Anonymous) if str(c.this) in functions]


def scoring_scope(tree: exp.Expr, functions: Collection[str]) -> exp.Select | None:
    """A SELECT of ``tree`` that calls a model function itself and contains no SELECT that
    does (the one to split first); None when ``tree`` calls none."""
    scopes: list[exp.Select] = []
    for call in calls_of(tree, functions):
        scope = call.find_ancestor(exp.Select)
        if scope is None:
            raise SqlRefused(
                f"ML_PREDICT outside a SELECT ({_short(call.find_ancestor(exp.Expr) or call)}): "
                "on a server warehouse the model scores a query's rows; call it in a "
                "SELECT list or WHERE clause"
            )
        if all(scope is not s for s in scopes):
            scopes.append(scope)
    for scope in scopes:
        if not any(other is not scope and _inside(other, scope) for other in scopes):
            return scope
    return None


def split_select(select: exp.Select, functions: Collection[str], dialect: str) -> SplitSelect:
    """Split ``select`` (which calls model functions itself, in no nested SELECT) into the
    part the warehouse runs and the part that runs over its rows beside the model. The
    local SELECT's unquoted names are folded as the warehouse (``dialect``) folds them, so
    its result's columns are named as the warehouse would have named them."""
    for key in (*_REMOTE_CLAUSES, "where"):
        value = select.args.get(key)
        parts = value if isinstance(value, list) else [value]
        for part in parts:
            if key != "where" and part is not None and calls_of(part, functions):
                raise SqlRefused(
                    f"ML_PREDICT in a {key.strip('_').upper()} clause: on a server warehouse "
                    "the model scores the rows the FROM and JOINs give; call it in the SELECT "
                    "list or WHERE clause"
                )
    kept, scored = _conditions(select.args.get("where"), functions)
    local = select.copy()
    for key in (*_REMOTE_CLAUSES, "where"):
        local.set(key, None)
    local.set("from_", exp.From(this=exp.to_table(ROWS)))
    if scored:
        local.set("where", exp.Where(this=exp.and_(*scored, copy=True)))
    pushdown = _Pushdown(functions, _aliases(select))
    pushdown.rewrite(local)
    remote = exp.Select()
    for key in _REMOTE_CLAUSES:
        value = select.args.get(key)
        if value is not None:
            remote.set(
                key, value.copy() if isinstance(value, exp.Expr) else [v.copy() for v in value]
            )
    ctes = _visible_ctes(select)
    if ctes:
        own = remote.args.get("with_")
        remote.set(
            "with_",
            exp.With(
                expressions=[*ctes, *(own.expressions if own else [])],
                recursive=bool(own and own.args.get("recursive")),
            ),
        )
    if kept:
        remote.set("where", exp.Where(this=exp.and_(*kept, copy=True)))
    stars = [p.copy() for p in select.expressions if _is_star(p)]
    projections = [*stars, *pushdown.projections]
    remote.set("expressions", projections or [exp.alias_(exp.null(), ROW_MARKER, quoted=True)])
    _exclude_pushed(local, [p.alias_or_name for p in pushdown.projections])
    local = normalize_identifiers(local, dialect=dialect)
    return SplitSelect(remote=remote, local=local)


class _Pushdown:
    """Replaces, in the local SELECT, each largest expression the warehouse can compute
    (it reads columns and calls no model, aggregate or window) by a column of the remote
    SELECT's rows, and collects those expressions as the remote SELECT's list."""

    def __init__(self, functions: Collection[str], aliases: frozenset[str]) -> None:
        self.functions = functions
        self.aliases = aliases
        self.projections: list[exp.Expr] = []
        self._names: dict[str, str] = {}
        self._top: exp.Select | None = None

    def rewrite(self, local: exp.Select) -> None:
        self._top = local
        named: list[exp.Expr] = []
        for projection in local.expressions:
            if _is_star(projection) or isinstance(projection, exp.Alias):
                named.append(projection)
            elif isinstance(projection, exp.Column):  # keep the output column's name
                named.append(exp.alias_(projection, projection.this.copy()))
            else:
                named.append(projection)
        local.set("expressions", named)
        for key, value in list(local.args.items()):
            if key in ("from_", "limit", "offset") or value is None:
                continue
            parts = value if isinstance(value, list) else [value]
            for part in parts:
                if isinstance(part, exp.Expr):
                    self._replace_in(part, in_alias_clause=key in _ALIAS_CLAUSES)

    def _replace_in(self, part: exp.Expr, *, in_alias_clause: bool) -> None:
        def pushable(node: exp.Expr) -> bool:
            return self._pushable(node, in_alias_clause=in_alias_clause)

        for node in [n for n in part.walk(prune=pushable) if pushable(n)]:
            node.replace(exp.column(self._name(node), quoted=True))

    def _name(self, node: exp.Expr) -> str:
        key = node.sql()
        if key not in self._names:
            self._names[key] = PUSHED.format(len(self._names))
            self.projections.append(exp.alias_(node.copy(), self._names[key], quoted=True))
        return self._names[key]

    def _pushable(self, node: exp.Expr, *, in_alias_clause: bool) -> bool:
        if not isinstance(node, exp.Condition | exp.Subquery) or isinstance(node, exp.Star):
            return False
        if isinstance(node, exp.Column) and isinstance(node.this, exp.Star):
            return False
        reads = False
        for inner in node.walk():
            if isinstance(inner, exp.AggFunc | exp.Window | exp.Star) or (
                isinstance(inner, exp.Anonymous) and str(inner.this) in self.functions
            ):
                return False
            if isinstance(inner, exp.Subquery | exp.Select):
                reads = True
            elif isinstance(inner, exp.Column):
                own = inner.find_ancestor(exp.Select) is self._top
                if in_alias_clause and own and not inner.table and inner.name in self.aliases:
                    return False  # ORDER BY predicted: the SELECT list's alias, not a column
                reads = True
        return reads


def _conditions(
    where: exp.Where | None, functions: Collection[str]
) -> tuple[list[exp.Expr], list[exp.Expr]]:
    """The WHERE's AND-ed conditions: those the warehouse checks, those that call a model."""
    if where is None:
        return [], []
    kept: list[exp.Expr] = []
    scored: list[exp.Expr] = []
    for condition in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        (scored if calls_of(condition, functions) else kept).append(condition)
    return kept, scored


def _aliases(select: exp.Select) -> frozenset[str]:
    return frozenset(p.alias for p in select.expressions if isinstance(p, exp.Alias))


def _is_star(projection: exp.Expr) -> bool:
    return isinstance(projection, exp.Star) or (
        isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
    )


def _exclude_pushed(local: exp.Select, pushed: list[str]) -> None:
    """``SELECT *`` over the remote rows without the pushed-down columns, where the user's
    SELECT had a star: DuckDB's ``* EXCLUDE (…)`` at the first star, the others dropped."""
    projections: list[exp.Expr] = []
    starred = False
    for projection in local.expressions:
        if not _is_star(projection):
            projections.append(projection)
        elif not starred:
            starred = True
            excluded = [exp.column(name, quoted=True) for name in pushed]
            projections.append(exp.Star(except_=excluded) if excluded else exp.Star())
    local.set("expressions", projections)


def _visible_ctes(select: exp.Select) -> list[exp.CTE]:
    """Copies of the CTEs of the queries around ``select`` that it may read (outermost
    first; in the WITH that defines ``select`` as a CTE, the ones before it)."""
    found: list[exp.CTE] = []
    node: exp.Expr = select
    while node.parent is not None:
        parent = node.parent
        if isinstance(parent, exp.CTE) and isinstance(parent.parent, exp.With):
            siblings = parent.parent.expressions
            found[:0] = [c.copy() for c in siblings[: siblings.index(parent)]]
            node = parent.parent.parent or parent.parent  # past the WITH's query
            continue
        with_ = parent.args.get("with_") if isinstance(parent, exp.Query) else None
        if isinstance(with_, exp.With) and node is not with_:
            found[:0] = [c.copy() for c in with_.expressions]
        node = parent
    return found


def _inside(inner: exp.Expr, outer: exp.Expr) -> bool:
    node = inner.parent
    while node is not None:
        if node is outer:
            return True
        node = node.parent
    return False


def _short(node: exp.Expr) -> str:
    text = node.sql()
    return text if len(text) <= 60 else text[:57] + "…"
