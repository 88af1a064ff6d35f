"""The compiler: ``.sql`` text → statements (IR) → project graph. Pure: no Dagster, no I/O
beyond reading the files."""

from .diagnostics import Diagnostic, Severity, SqlMlCompileError
from .ir import (
    MLStatement,
    ModelRef,
    ObjectKind,
    Param,
    PredictStatement,
    QualifiedName,
    SqlFile,
    SqlStatement,
    Statement,
    TrainStatement,
)
from .parser import parse_sql_file, split_statements, tables_read
from .project import Node, Project, Source, check_project, compile_project

__all__ = [
    "Diagnostic",
    "MLStatement",
    "ModelRef",
    "Node",
    "ObjectKind",
    "Param",
    "PredictStatement",
    "Project",
    "QualifiedName",
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
]
