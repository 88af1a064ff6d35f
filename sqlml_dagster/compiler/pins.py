"""``ML_PREDICT(m@3, …)``: a model called inside a query, pinned to a version.

No dialect parses ``m@3``, so the parser takes the ``@3`` out of the tokens it hands to
sqlglot and keeps the version on the model's Column node (``PIN_META``), where it travels
with the tree to execution; :func:`tree_sql` writes it back when a tree becomes SQL.
"""

from __future__ import annotations

from sqlglot import exp

#: The function that calls a model inside a query (Rikai).
ML_PREDICT = "ML_PREDICT"
#: Where a pinned ``ML_PREDICT(m@3, …)`` keeps its version on the model's Column node.
PIN_META = "sqlml_version"


def tree_sql(tree: exp.Expr, dialect: str = "duckdb") -> str:
    """A sqlglot tree as SQL, with pinned ``ML_PREDICT(m@3, …)`` versions written back."""
    pinned = [c for c in tree.find_all(exp.Column) if c.meta.get(PIN_META) is not None]
    if pinned:
        tree = tree.copy()
        for column in [c for c in tree.find_all(exp.Column) if c.meta.get(PIN_META) is not None]:
            column.replace(exp.var(f"{column.sql(dialect=dialect)}@{column.meta[PIN_META]}"))
    return tree.sql(dialect=dialect, comments=False)
