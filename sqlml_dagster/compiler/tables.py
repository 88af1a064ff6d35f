"""The tables a statement reads: what makes the project's dependency graph.

``traverse_scope`` gives the right answer for any query (a CTE shadows a table of the
same name only where it is visible) but builds a scope per query and classifies every
column; the graph only needs each scope's tables, so a scope-free walk that follows
sqlglot's own traversal handles the common constructs, and anything it does not model
takes the ``traverse_scope`` path.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.helper import find_new_name
from sqlglot.optimizer.scope import traverse_scope

from .names import QualifiedName


def tables_read(tree: exp.Expr) -> tuple[QualifiedName, ...]:
    """The tables a statement reads, in order of appearance, without CTE names and table functions.

    Uses sqlglot's scope analysis so a CTE shadows a table of the same name only where it
    is visible; falls back to a plain tree walk for statements scopes do not cover.
    """
    found: dict[str, QualifiedName] = {}

    def add(table: exp.Table) -> None:
        if isinstance(table.this, exp.Identifier) and not _is_file_reference(table):
            name = QualifiedName.of_table(table)
            found.setdefault(name.key, name)

    if isinstance(tree, exp.Query):
        fast = _scope_tables(tree)
        if fast is not None:
            for table in fast:
                add(table)
            return tuple(found.values())
    try:
        scopes = traverse_scope(tree) if isinstance(tree, exp.Query) else []
    except Exception:  # scope building rejects some valid-but-unusual trees
        scopes = []
    if scopes:
        for scope in scopes:
            for source in scope.sources.values():
                if isinstance(source, exp.Table):
                    add(source)
        return tuple(found.values())
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.db or table.name.lower() not in cte_names:
            add(table)
    return tuple(found.values())


def _is_file_reference(table: exp.Table) -> bool:
    """DuckDB reads files by quoted path: ``FROM 'data/x.parquet'`` is not a table."""
    ident = table.this
    return bool(
        isinstance(ident, exp.Identifier) and ident.quoted and any(c in ident.name for c in "./\\")
    )


# -- tables_read without building scopes ------------------------------------------------
#
# ``traverse_scope`` builds a Scope per query and classifies every column of it; the graph
# only needs each scope's Table sources, in traverse_scope's order. The functions below
# follow sqlglot's own traversal (optimizer/scope.py: _traverse_select, _traverse_ctes,
# _traverse_tables, _traverse_subqueries, walk_in_scope) for SELECTs, set operations,
# CTEs, joins, derived tables and subqueries, and give up (None) on anything else —
# recursive CTEs, LATERAL, UNNEST/VALUES/table functions in FROM, PIVOT — which then
# takes the traverse_scope path, so the result is the same either way.


class _Unmodelled(Exception):
    """A construct the fast path does not model; traverse_scope handles the statement."""


def _scope_tables(tree: exp.Query) -> list[exp.Table] | None:
    out: list[exp.Table] = []
    try:
        _visit_scope(tree, {}, out)
    except (_Unmodelled, RecursionError):  # RecursionError: traverse_scope's path reports it
        return None
    return out


def _visit_scope(query: exp.Expr, inherited: dict[str, None], out: list[exp.Table]) -> None:
    """One scope: its child scopes first (post-order), then its own Table sources.

    ``inherited`` are the CTE names visible from the enclosing scopes (the Scope's
    ``cte_sources``); source dicts map a name to its Table, or None for a scope."""
    if isinstance(query, exp.Select):
        ctes = _visit_ctes(query, inherited, out)
        sources: dict[str, exp.Table | None] = dict(ctes)
        local: dict[str, exp.Table | None] = {}
        from_ = query.args.get("from_")
        pending: list[exp.Expr] = [from_.this] if from_ else []
        pending.extend(join.this for join in query.args.get("joins") or [])
        if query.args.get("laterals"):
            raise _Unmodelled
        for node in pending:  # grows while iterating, like _traverse_tables
            if isinstance(node, exp.Final):
                node = node.this
            if isinstance(node, exp.Table):
                if node.args.get("pivots"):
                    raise _Unmodelled
                name, source_name = node.name, node.alias_or_name
                if name in sources and not node.db:
                    local[source_name] = None  # a CTE of an enclosing WITH
                elif source_name in local:
                    local[find_new_name(local, name)] = node
                else:
                    local[source_name] = node
                pending.extend(join.this for join in node.args.get("joins") or [])
                continue
            if not isinstance(node, exp.DerivedTable):
                continue
            if isinstance(node, exp.UDTF) or node.args.get("pivots"):
                raise _Unmodelled
            if _is_derived_table(node):
                _visit_scope(node.unnest(), ctes, out)
                local[_source_alias(node)] = None
            else:  # (a JOIN b) without an alias: its tables belong to this scope
                pending.append(node.this)
            pending.extend(join.this for join in node.args.get("joins") or [])
        sources.update(local)
        for subquery in _subqueries(query):
            _visit_scope(subquery, ctes, out)
        out.extend(source for source in sources.values() if source is not None)
    elif isinstance(query, exp.SetOperation):
        ctes = _visit_ctes(query, inherited, out)
        for operand in (query.this, query.expression):
            _visit_scope(operand.unnest(), ctes, out)
    else:
        raise _Unmodelled


def _visit_ctes(
    query: exp.Expr, inherited: dict[str, None], out: list[exp.Table]
) -> dict[str, None]:
    with_ = query.args.get("with_")
    if not with_:
        return inherited
    if with_.recursive:
        raise _Unmodelled
    visible = dict(inherited)
    for cte in with_.expressions:
        _visit_scope(cte.this.unnest(), visible, out)
        visible[cte.alias] = None
    return visible


def _subqueries(scope_query: exp.Expr) -> list[exp.Expr]:
    """The queries that start subquery scopes directly inside ``scope_query``, in
    walk_in_scope's order (what Scope.subqueries collects)."""
    found: list[exp.Expr] = []
    stack: list[exp.Expr] = [scope_query]
    while stack:
        node = stack.pop()
        if node is not scope_query and isinstance(node, (exp.CTE, exp.Query)):
            if isinstance(node, exp.CTE):
                continue
            parent = node.parent
            if isinstance(parent, (exp.From, exp.Join)) and _is_derived_table(node):
                if (
                    isinstance(node, exp.UDTF)
                    or node.args.get("laterals")
                    or node.args.get("pivots")
                ):
                    raise _Unmodelled
                stack.extend(reversed(node.args.get("joins") or []))
                continue
            if isinstance(parent, exp.UDTF):
                raise _Unmodelled
            if isinstance(node, exp.UNWRAPPED_QUERIES):
                if not _is_from_or_join(node):
                    found.append(node)
                continue
        for value in reversed(node.args.values()):
            if value.__class__ is list:
                for item in reversed(value):
                    if isinstance(item, exp.Expr):
                        stack.append(item)
            elif isinstance(value, exp.Expr):
                stack.append(value)
    return found


def _is_derived_table(node: exp.Expr) -> bool:
    return isinstance(node, exp.Subquery) and bool(
        node.alias or node.args.get("pivots") or isinstance(node.this, exp.UNWRAPPED_QUERIES)
    )


def _is_from_or_join(node: exp.Expr) -> bool:
    parent = node.parent
    while type(parent) is exp.Subquery:
        parent = parent.parent
    return type(parent) in (exp.From, exp.Join)


def _source_alias(node: exp.Expr) -> str:
    alias_arg = node.args.get("alias")
    alias = node.alias
    if not alias and isinstance(alias_arg, exp.TableAlias) and len(alias_arg.columns) == 1:
        alias = alias_arg.columns[0].name
    return alias
