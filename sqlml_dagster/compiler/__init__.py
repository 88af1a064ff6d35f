"""The compiler: ``.sql`` text → statements (IR) → project graph. Pure: no Dagster, no I/O
beyond reading the files."""

from .diagnostics import Diagnostic, Severity, SqlMlCompileError
from .ir import (
    CatalogStatement,
    ColumnGroup,
    CreateModelStatement,
    EvaluateStatement,
    ExplainStatement,
    FeatureColumn,
    MLStatement,
    ModelCall,
    ModelRef,
    ObjectKind,
    OptimizeStatement,
    Param,
    PredictStatement,
    QualifiedName,
    RunStatement,
    SqlFile,
    SqlStatement,
    Statement,
    TrainStatement,
)
from .parser import parse_sql_file, split_statements, tables_read
from .project import Node, Project, Source, check_project, compile_project
from .render import to_json, to_sql

__all__ = [
    "CatalogStatement",
    "ColumnGroup",
    "CreateModelStatement",
    "Diagnostic",
    "EvaluateStatement",
    "ExplainStatement",
    "FeatureColumn",
    "MLStatement",
    "ModelCall",
    "ModelRef",
    "Node",
    "ObjectKind",
    "OptimizeStatement",
    "Param",
    "PredictStatement",
    "Project",
    "QualifiedName",
    "RunStatement",
    "Severity",
    "Source",
    "SqlFile",
    "SqlMlCompileError",
    "SqlStatement",
    "Statement",
    "TrainStatement",
    "check_project",
    "compile_project",
    "parse_sql_file",
    "split_statements",
    "tables_read",
    "to_json",
    "to_sql",
]
