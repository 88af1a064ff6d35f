"""The intermediate representation: what a SQL file *means*, independent of Dagster.

Every statement is a frozen dataclass carrying its source :class:`Span`. Plain SQL keeps
its sqlglot tree; ML statements keep their SELECT as a sqlglot tree plus their own fields.
The project graph (``project.py``) and the Dagster layer only ever read these objects.

This module is the one place to import them from; each lives where it is defined:
the names statements use (``names.py``), ``key = value`` pairs (``params.py``), feature
columns (``feature_columns.py``), the statement base classes (``statement.py``) and one
module per statement kind (``statements/``).
"""

from __future__ import annotations

from .feature_columns import (
    FEATURE_FUNCTIONS,
    Bucket,
    CategoryHash,
    CategoryId,
    ColumnGroup,
    ColumnName,
    Cross,
    Dense,
    Embedding,
    FeatureColumn,
    Indicator,
    Numeric,
    SeqCategoryId,
    Sparse,
)
from .names import ModelCall, ModelRef, ObjectKind, QualifiedName
from .params import (
    CHECK_NAMESPACE,
    CHECK_OPERATORS,
    PARAM_NAMESPACES,
    Directive,
    DirectiveCall,
    DirectiveComparison,
    MetricCheck,
    Param,
    ParamValue,
)
from .statement import MLStatement, SqlFile, Statement
from .statements import (
    DEFAULT_PREDICTION_COLUMN,
    STATEMENT_KINDS,
    CatalogStatement,
    CreateModelStatement,
    DescribeModelStatement,
    DropModelStatement,
    EvaluateStatement,
    ExplainStatement,
    OptimizeStatement,
    PredictStatement,
    RunStatement,
    ShowModelsStatement,
    ShowTrainStatement,
    SqlStatement,
    TrainStatement,
)

__all__ = [
    "CHECK_NAMESPACE",
    "CHECK_OPERATORS",
    "DEFAULT_PREDICTION_COLUMN",
    "FEATURE_FUNCTIONS",
    "PARAM_NAMESPACES",
    "STATEMENT_KINDS",
    "Bucket",
    "CatalogStatement",
    "CategoryHash",
    "CategoryId",
    "ColumnGroup",
    "ColumnName",
    "CreateModelStatement",
    "Cross",
    "Dense",
    "DescribeModelStatement",
    "Directive",
    "DirectiveCall",
    "DirectiveComparison",
    "DropModelStatement",
    "Embedding",
    "EvaluateStatement",
    "ExplainStatement",
    "FeatureColumn",
    "Indicator",
    "MLStatement",
    "MetricCheck",
    "ModelCall",
    "ModelRef",
    "Numeric",
    "ObjectKind",
    "OptimizeStatement",
    "Param",
    "ParamValue",
    "PredictStatement",
    "QualifiedName",
    "RunStatement",
    "SeqCategoryId",
    "ShowModelsStatement",
    "ShowTrainStatement",
    "Sparse",
    "SqlFile",
    "SqlStatement",
    "Statement",
    "TrainStatement",
]
