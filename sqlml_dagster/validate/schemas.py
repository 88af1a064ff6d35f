"""LABEL and COLUMN names against the columns the statement's SELECT really yields.

The columns of a SELECT come from sqlglot: a SELECT that lists its columns names them
itself (no schema needed); ``SELECT * [EXCLUDE …] FROM t`` has ``t``'s; any other ``*``
is expanded with ``sqlglot.optimizer.qualify`` over the schemas of the tables it reads.
Those schemas come from, in order:

* the project's own ``CREATE TABLE/VIEW … AS SELECT`` (and ``TO PREDICT`` outputs),
  computed the same way, on demand and once each — dependency order falls out of the
  recursion;
* a ``schemas.yml`` (:func:`load_schema_file`; ``--schemas``);
* a DuckDB warehouse described read-only (``--warehouse``);
* file reads (``read_csv('../data/x.csv')``, ``FROM 'x.parquet'``, ``range(10)``) that an
  in-memory DuckDB describes, from the SQL file's folder like the warehouse resolves them.

Anything not known that way makes the SELECT's columns unknown, and an unknown SELECT is
never reported: no false positives. Names compare case-insensitively, as DuckDB does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify

from ..compiler import codes
from ..compiler.context import node_offsets
from ..compiler.diagnostics import Diagnostic, SourceFile, Span
from ..compiler.file_paths import file_literals, project_folder, resolve
from ..compiler.ir import (
    ColumnName,
    EvaluateStatement,
    ExplainStatement,
    FeatureColumn,
    MLStatement,
    OptimizeStatement,
    PredictStatement,
    QualifiedName,
    SqlStatement,
    TrainStatement,
)
from ..compiler.project import Project
from ..contract import did_you_mean
from ..contract.optimization import result_column
from ._spans import Sources, label_span, value_span

SCHEMA_FILES = ("schemas.yml", "schemas.yaml")
#: Extensions DuckDB reads when a quoted name in FROM is a file (``FROM 'data.csv'``).
_FILE_SUFFIXES = (".csv", ".tsv", ".parquet", ".json", ".jsonl", ".ndjson", ".gz", ".zst")


class DeepCheckError(Exception):
    """A problem with the check's own inputs (a warehouse that cannot be opened): one line."""


@dataclass(frozen=True)
class Columns:
    """A table's or SELECT's column names in order; ``complete`` False when there may be
    more than these (an unnamed expression, ``predict.probabilities``' class columns)."""

    names: tuple[str, ...]
    complete: bool = True

    def lacks(self, names: list[str]) -> list[str]:
        """Which of ``names`` are certainly not among these columns."""
        if not self.complete:
            return []
        lower = {n.lower() for n in self.names}
        return [n for n in names if n.lower() not in lower]


# -- declared schemas ---------------------------------------------------------------------


def find_schema_file(project: Project) -> Path | None:
    """``schemas.yml`` in the SQL folder, else beside it."""
    sql_root = project.root if project.root.is_dir() else project.root.parent
    for folder in (sql_root, sql_root.parent):
        for name in SCHEMA_FILES:
            if (folder / name).is_file():
                return folder / name
    return None


def load_schema_file(path: Path, shown: str) -> tuple[dict[str, Columns], list[Diagnostic]]:
    """Tables declared in a ``schemas.yml``, nested like sqlglot's ``MappingSchema`` — a
    mapping of columns to types is a table; a mapping of mappings a schema or catalog:

    .. code-block:: yaml

        raw_iris: {sepal_length: double, class: varchar}
        raw:
          events: {id: bigint, amount: double, label: int}

    Depths may differ between tables. Mistakes are SQLML410 with the line and column."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return {}, [Diagnostic(codes.BAD_SCHEMA_FILE, f"cannot read {shown}: {e}", None)]
    source = SourceFile(shown, text)

    def problem(message: str, mark: Any, hint: str | None = None) -> Diagnostic:
        offset = getattr(mark, "index", 0) or 0
        return Diagnostic(
            codes.BAD_SCHEMA_FILE,
            message,
            Span.of(source, offset, offset + 1),
            hint=hint or "write table: {column: type, …}, nested under schema (and catalog) names",
            source=source,
        )

    try:
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        reason = getattr(e, "problem", None) or str(e).splitlines()[0]
        return {}, [problem(f"{shown} is not valid YAML: {reason}", mark)]
    tables: dict[str, Columns] = {}
    found: list[Diagnostic] = []
    if root is None:
        return tables, found
    if not isinstance(root, yaml.MappingNode):
        return tables, [problem(f"{shown} must map table names to columns", root.start_mark)]

    def walk(node: yaml.MappingNode, prefix: tuple[str, ...]) -> None:
        values = [value for _, value in node.value]
        if values and all(isinstance(v, yaml.ScalarNode) for v in values):
            columns = tuple(str(key.value) for key, _ in node.value)
            tables[".".join(p.lower() for p in prefix)] = Columns(columns)
            return
        for key, value in node.value:
            name = (*prefix, str(key.value))
            if isinstance(value, yaml.MappingNode):
                if len(name) > 3:
                    found.append(
                        problem(
                            f"'{'.'.join(name)}' is nested deeper than catalog.schema.table",
                            key.start_mark,
                        )
                    )
                    continue
                walk(value, name)
            else:
                found.append(
                    problem(
                        f"'{'.'.join(name)}' mixes columns and tables at one level",
                        key.start_mark,
                        "a table maps every column to a type; a schema maps every table to its columns",
                    )
                )

    walk(root, ())
    return tables, found


def describe_warehouse(path: Path) -> dict[str, Columns]:
    """Every table and view of a DuckDB database file, opened read-only, by
    ``name`` (schema ``main``), ``schema.name`` and ``catalog.schema.name``."""
    import duckdb

    if not path.is_file():
        raise DeepCheckError(f"warehouse {path} does not exist")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as e:
        raise DeepCheckError(f"cannot open warehouse {path}: {e}") from None
    try:
        rows = con.execute(
            "SELECT table_catalog, table_schema, table_name, column_name "
            "FROM information_schema.columns ORDER BY table_catalog, table_schema, "
            "table_name, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for catalog, schema, table, column in rows:
        grouped.setdefault((catalog, schema, table), []).append(column)
    tables: dict[str, Columns] = {}
    for (catalog, schema, table), columns in grouped.items():
        found = Columns(tuple(columns))
        tables[f"{catalog}.{schema}.{table}".lower()] = found
        tables[f"{schema}.{table}".lower()] = found
        if schema == "main":
            tables[table.lower()] = found
    return tables


# -- the columns of a SELECT ----------------------------------------------------------------


class Schemas:
    """Columns of the project's tables and SELECTs, computed lazily and memoized."""

    def __init__(self, project: Project, declared: Mapping[str, Columns]):
        self.project = project
        self.declared = declared
        self.nodes = {node.name.key: node for node in project.nodes}
        self._tables: dict[str, Columns | None] = {}
        self._files: dict[str, Columns | None] = {}
        self._queries: dict[int, Columns | None] = {}
        self._duckdb: Any = None
        sql_root = project.root if project.root.is_dir() else project.root.parent
        self._sql_root = sql_root
        self._base = sql_root.parent

    def close(self) -> None:
        if self._duckdb is not None:
            self._duckdb.close()

    def table(self, name: QualifiedName) -> Columns | None:
        key = name.key
        if key not in self._tables:
            self._tables[key] = None  # a cycle is unknown, not an endless recursion
            node = self.nodes.get(key)
            self._tables[key] = (
                self._node_columns(node.statement, node.file)
                if node is not None
                else self.declared.get(key)
            )
        return self._tables[key]

    def _node_columns(self, statement: object, file: str) -> Columns | None:
        if isinstance(statement, SqlStatement) and isinstance(statement.tree, exp.Create):
            target = statement.tree.this
            if isinstance(target, exp.Schema) and target.expressions:
                defined = [c.name for c in target.expressions if isinstance(c, exp.ColumnDef)]
                return Columns(tuple(defined)) if defined else None
            query = statement.tree.expression
            return self.query(query, file) if isinstance(query, exp.Query) else None
        if isinstance(statement, PredictStatement):
            selected = self.query(statement.select, file)
            if selected is None:
                return None
            kept = tuple(n for n in selected.names if n.lower() != statement.column.lower())
            probabilities = bool(statement.param("predict.probabilities", False))
            return Columns((*kept, statement.column), selected.complete and not probabilities)
        if isinstance(statement, OptimizeStatement):  # the variables' columns and the value
            selected = self.query(statement.select, file)
            if selected is None:
                return None
            value = result_column(statement.result, statement.variables, selected.names)
            return Columns((*statement.variables, value), selected.complete)
        return None

    def query(self, query: exp.Query, file: str) -> Columns | None:
        """The output columns of ``query`` (written in ``file``), or None if unknown."""
        key = id(query)  # the project keeps every tree alive while it is checked
        if key not in self._queries:
            self._queries[key] = self._columns_of(query, file)
        return self._queries[key]

    def _columns_of(self, query: exp.Query, file: str) -> Columns | None:
        projections = query.selects
        if not any(_is_star(p) for p in projections):
            names = tuple(p.output_name for p in projections if p.output_name)
            return Columns(names, complete=len(names) == len(projections))
        source = _single_source(query)
        if source is not None:  # SELECT * [EXCLUDE …] FROM t …: no optimizer needed
            table, star = source
            columns = self._source(table, file)
            if columns is None or not columns.complete:
                return None
            excluded = {c.name.lower() for c in star.args.get("except_") or ()}
            return Columns(tuple(n for n in columns.names if n.lower() not in excluded))
        return self._expand(query, file)

    def _source(self, table: exp.Table, file: str) -> Columns | None:
        """A table, a table function or a file name in FROM."""
        if isinstance(table.this, exp.Func):
            return self._describe(table.this.sql(dialect="duckdb"), file)
        if _is_file_name(table):
            return self._describe(exp.to_identifier(table.name, quoted=True).sql("duckdb"), file)
        return self.table(QualifiedName.of_table(table))

    def _expand(self, query: exp.Query, file: str) -> Columns | None:
        tree = query.copy()
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        mapping: dict[str, object] = {}
        for i, table in enumerate(list(tree.find_all(exp.Table))):
            if not isinstance(table.this, exp.Func) and not table.db and table.name.lower() in ctes:
                continue
            columns = self._source(table, file)
            if columns is None or not columns.complete:
                return None
            placeholder = f"_sqlml_source_{i}"
            mapping[placeholder] = {name: "TEXT" for name in columns.names}
            alias = table.args.get("alias") or exp.TableAlias(
                this=exp.to_identifier(table.name or placeholder)
            )
            table.replace(exp.Table(this=exp.to_identifier(placeholder), alias=alias))
        try:
            qualified = qualify(
                tree,
                schema=mapping,
                dialect=self.project.dialect,
                validate_qualify_columns=False,
                quote_identifiers=False,
                identify=False,
            )
        except Exception:  # a construct sqlglot's optimizer does not model: unknown
            return None
        if not isinstance(qualified, exp.Query) or any(_is_star(p) for p in qualified.selects):
            return None
        names = tuple(qualified.named_selects)
        return Columns(names, complete=not any(n.startswith("_col_") for n in names))

    def _describe(self, from_item: str, file: str) -> Columns | None:
        """``DESCRIBE SELECT * FROM <from_item>`` in an in-memory DuckDB, relative paths
        from the SQL file's folder; None for other dialects, remote URLs and failures."""
        if self.project.dialect != "duckdb" or "://" in from_item:
            return None
        folder = str((self._base / file).parent)
        key = f"{folder}\0{from_item}"
        if key in self._files:
            return self._files[key]
        import duckdb

        if self._duckdb is None:  # never download an extension a function would need
            self._duckdb = duckdb.connect(
                ":memory:", config={"autoinstall_known_extensions": False}
            )
            # the project's SQL opens only the project's files, here as in its steps
            allowed = f"{project_folder(self._sql_root)}/"
            self._duckdb.execute("SET allowed_directories = ?", [[allowed]])
            self._duckdb.execute("SET enable_external_access = false")
            self._duckdb.execute("SET autoload_known_extensions = false")
            self._duckdb.execute("SET lock_configuration = true")
        found: Columns | None = None
        with contextlib.suppress(duckdb.Error):
            query = exp.select("*").from_(
                sqlglot.parse_one(from_item, into=exp.Table, read="duckdb")
            )
            for node in file_literals(query):
                node.set("this", resolve(str(node.this), folder))
            rows = self._duckdb.execute(f"DESCRIBE {query.sql('duckdb')}").fetchall()
            found = Columns(tuple(str(row[0]) for row in rows))
        self._files[key] = found
        return found


def _is_star(projection: exp.Expr) -> bool:
    return (
        isinstance(projection, exp.Star)
        or (isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star))
        or isinstance(projection, exp.Columns)
        or projection.find(exp.Columns) is not None
    )


def _single_source(query: exp.Query) -> tuple[exp.Table, exp.Star] | None:
    """``SELECT * [EXCLUDE (…)] [REPLACE (…)] FROM <one table> [WHERE …]`` — the common
    shape, whose columns are its source's without the excluded ones."""
    if not isinstance(query, exp.Select) or len(query.selects) != 1:
        return None
    star = query.selects[0]
    if isinstance(star, exp.Column) and not star.table:
        star = star.this
    if not isinstance(star, exp.Star) or star.args.get("rename") or star.args.get("ilike"):
        return None
    if any(query.args.get(arg) for arg in ("with_", "joins", "laterals", "exclude")):
        return None
    from_ = query.args.get("from_")
    table = from_.this if from_ is not None else None
    if not isinstance(table, exp.Table) or table.args.get("pivots") or table.args.get("joins"):
        return None
    alias = table.args.get("alias")
    if alias is not None and alias.columns:  # FROM f(…) AS t(a, b): renamed columns
        return None
    return table, star


def _is_file_name(table: exp.Table) -> bool:
    """``FROM 'data.csv'`` (DuckDB's replacement scan): a quoted name ending like a file."""
    identifier = table.this
    return (
        isinstance(identifier, exp.Identifier)
        and bool(identifier.args.get("quoted"))
        and not table.db
        and PurePosixPath(table.name.lower()).suffix in _FILE_SUFFIXES
    )


# -- the checks ------------------------------------------------------------------------------


def check_columns(project: Project, sources: Sources, schemas: Schemas) -> list[Diagnostic]:
    """LABEL and COLUMN names in their SELECT; the features a model was trained on in the
    SELECTs that score it and in its ``validation.select``."""
    checker = _ColumnChecks(project, sources, schemas)
    for sql_file in project.files:
        for statement in sql_file.statements:
            if isinstance(statement, MLStatement):
                checker.statement(statement, sql_file.path)
    return checker.found


class _ColumnChecks:
    def __init__(self, project: Project, sources: Sources, schemas: Schemas):
        self.project = project
        self.sources = sources
        self.schemas = schemas
        self.found: list[Diagnostic] = []
        self.trained = {
            node.name.key: node.statement
            for node in project.nodes
            if isinstance(node.statement, TrainStatement)
        }

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.found.append(
            Diagnostic(code, message, span, hint=hint, source=self.sources.get(span.file))
        )

    def statement(self, statement: MLStatement, file: str) -> None:
        columns = self.schemas.query(statement.select, file)
        if columns is None:
            return
        label = getattr(statement, "label", None)
        if (
            isinstance(statement, (TrainStatement, EvaluateStatement))
            and label
            and columns.lacks([label])
        ):
            source = self.sources.get(statement.span.file)
            self.error(
                codes.UNKNOWN_LABEL,
                f"label column '{label}' is not a column of the SELECT",
                label_span(statement, source, self.project.dialect),
                _columns_hint(label, columns),
            )
        if isinstance(statement, TrainStatement):
            for name in _column_names(statement):
                if name.span is not None and columns.lacks([name.name]):
                    self.error(
                        codes.UNKNOWN_FEATURE_COLUMN,
                        f"COLUMN '{name.name}' is not a column of the SELECT",
                        name.span,
                        _columns_hint(name.name, columns),
                    )
            self.validation(statement, columns, file)
        model = (
            statement.using
            if isinstance(statement, PredictStatement)
            else statement.model
            if isinstance(statement, (EvaluateStatement, ExplainStatement))
            else None
        )
        if model is not None:
            self.scoring(statement, model, columns)
        if isinstance(statement, OptimizeStatement):
            self.optimization(statement, columns)

    def optimization(self, statement: OptimizeStatement, columns: Columns) -> None:
        """TO MAXIMIZE/MINIMIZE: every column its program names is the SELECT's (SQLML417)
        and its variable is not named as another of them (SQLML418) — what its step would
        fail on with SQLML527."""
        source = self.sources.get(statement.span.file)
        named: dict[str, Span] = {}
        for constraint in statement.constraints:
            if constraint.group_by and constraint.span is not None:
                named.setdefault(constraint.group_by.lower(), constraint.span)
        for expression in (statement.objective, *(c.expression for c in statement.constraints)):
            for column in expression.find_all(exp.Column):
                if column.name.lower() == statement.result.lower() or source is None:
                    continue
                start, end = node_offsets(column, source.text)
                named.setdefault(column.name.lower(), Span.of(source, start, end))
        for variable in statement.variables:
            named.setdefault(variable.lower(), statement.span)
        for name, span in named.items():
            if columns.lacks([name]):
                self.error(
                    codes.UNKNOWN_PROGRAM_COLUMN,
                    f"'{name}' is not a column of the SELECT",
                    span,
                    _columns_hint(name, columns),
                )
        if columns.complete:
            output = result_column(statement.result, statement.variables, columns.names)
            if output == statement.result and not columns.lacks([output]):
                self.error(
                    codes.VARIABLE_NAMED_AS_COLUMN,
                    f"the variable '{statement.result}' has the name of a column of the SELECT",
                    statement.objective_span,
                    f'name it otherwise: variables = "<name>({", ".join(statement.variables)})"',
                )

    def validation(self, statement: TrainStatement, columns: Columns, file: str) -> None:
        """``validation.select`` must yield what training reads: the features and label."""
        param = next((p for p in statement.params if p.key == "validation.select"), None)
        if param is None or statement.validation_select is None:
            return
        validation = self.schemas.query(statement.validation_select, file)
        features = _features(statement, columns)
        if validation is None or features is None:
            return
        needed = [*features, *([statement.label] if statement.label else [])]
        lacking = validation.lacks(needed)
        if lacking:
            source = self.sources.get(param.span.file)
            self.error(
                codes.MISSING_MODEL_FEATURES,
                f"validation.select lacks {_listing(lacking)} that training reads",
                value_span(param, source, self.project.dialect),
                "the validation rows need the same feature and label columns as the SELECT",
            )

    def scoring(self, statement: MLStatement, model: QualifiedName, columns: Columns) -> None:
        """PREDICT/EVALUATE/EXPLAIN read the model's training features by name."""
        train = self.trained.get(model.key)
        node = self.schemas.nodes.get(model.key)
        if train is None or node is None:
            return
        trained_on = self.schemas.query(train.select, node.file)
        features = _features(train, trained_on) if trained_on is not None else None
        if features is None:
            return
        lacking = columns.lacks(features)
        if lacking:
            span = (
                statement.using_span
                if isinstance(statement, PredictStatement)
                else statement.model_span
                if isinstance(statement, (EvaluateStatement, ExplainStatement))
                else statement.span
            )
            self.error(
                codes.MISSING_MODEL_FEATURES,
                f"the SELECT lacks {_listing(lacking)}, which model '{model}' was trained on",
                span,
                f"add {'it' if len(lacking) == 1 else 'them'} to the SELECT; "
                f"'{model}' is trained at {train.span.location()}",
            )


def _features(train: TrainStatement, columns: Columns) -> list[str] | None:
    """What a model reads: its COLUMN clauses' columns, else every column but the label."""
    named = [c.name for c in _column_names(train)]
    if named:
        return list(dict.fromkeys(named))
    if not columns.complete:
        return None
    label = (train.label or "").lower()
    return [n for n in columns.names if n.lower() != label]


def _column_names(statement: TrainStatement) -> Iterator[ColumnName]:
    for group in statement.columns:
        for column in group.columns:
            yield from _walk(column)


def _walk(column: FeatureColumn) -> Iterator[ColumnName]:
    if isinstance(column, ColumnName):
        yield column
        return
    for arg in column.SIGNATURE:
        value = getattr(column, arg.name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, FeatureColumn):
                yield from _walk(item)


def _columns_hint(name: str, columns: Columns) -> str:
    close = did_you_mean(name, columns.names) or did_you_mean(
        name.lower(), [n.lower() for n in columns.names]
    )
    shown = ", ".join(columns.names[:20]) + (", …" if len(columns.names) > 20 else "")
    return (f"did you mean '{close}'? " if close else "") + f"the SELECT yields: {shown}"


def _listing(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return ("column " if len(names) == 1 else "columns ") + ", ".join(quoted)
