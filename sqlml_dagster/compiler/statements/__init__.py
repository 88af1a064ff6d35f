"""The statement kinds, one module each: its IR dataclass, its clause grammar, its
canonical SQL and what it means for the project graph.

Adding a kind is its module plus one line here (and, to run it, its materializer in
``ops/``). The parser finds a kind by the verb after ``TO`` (``MLStatement.VERB``) or by
the words it opens with (``Statement.LEADING``); everything else is plain SQL.
"""

from __future__ import annotations

from ..statement import MLStatement, Statement
from .catalog import (
    CatalogStatement,
    DescribeModelStatement,
    DropModelStatement,
    ShowModelsStatement,
    ShowTrainStatement,
)
from .create_model import CreateModelStatement
from .evaluate import EvaluateStatement
from .explain import ExplainStatement
from .optimize import OptimizeStatement
from .predict import DEFAULT_PREDICTION_COLUMN, PredictStatement
from .run import RunStatement
from .sql import SqlStatement
from .train import TrainStatement

#: ``<query> TO <VERB> …``
ML_STATEMENTS: tuple[type[MLStatement], ...] = (
    TrainStatement,
    PredictStatement,
    EvaluateStatement,
    ExplainStatement,
    RunStatement,
    OptimizeStatement,
)
#: Statements without a query, found by their opening words.
KEYWORD_STATEMENTS: tuple[type[Statement], ...] = (
    CreateModelStatement,
    ShowModelsStatement,
    DescribeModelStatement,
    ShowTrainStatement,
    DropModelStatement,
)

#: Every kind, plain SQL first.
ALL_STATEMENTS: tuple[type[Statement], ...] = (SqlStatement, *ML_STATEMENTS, *KEYWORD_STATEMENTS)
#: Every kind by its ``KIND``: what the materializers and other callers dispatch on.
STATEMENT_KINDS: dict[str, type[Statement]] = {cls.KIND: cls for cls in ALL_STATEMENTS}
#: The verb after ``TO`` → its kind (``MAXIMIZE`` and ``MINIMIZE`` are one kind).
BY_VERB: dict[str, type[MLStatement]] = {
    verb: cls for cls in ML_STATEMENTS for verb in (cls.VERB, *cls.OTHER_VERBS)
}
#: The opening words → their kind; ``LEADING_LENGTHS`` says how many words to look at.
BY_LEADING: dict[tuple[str, ...], type[Statement]] = {
    words: cls for cls in KEYWORD_STATEMENTS for words in cls.LEADING
}
LEADING_LENGTHS = tuple(sorted({len(words) for words in BY_LEADING}, reverse=True))

__all__ = [
    "ALL_STATEMENTS",
    "BY_LEADING",
    "BY_VERB",
    "DEFAULT_PREDICTION_COLUMN",
    "KEYWORD_STATEMENTS",
    "LEADING_LENGTHS",
    "ML_STATEMENTS",
    "STATEMENT_KINDS",
    "CatalogStatement",
    "CreateModelStatement",
    "DescribeModelStatement",
    "DropModelStatement",
    "EvaluateStatement",
    "ExplainStatement",
    "OptimizeStatement",
    "PredictStatement",
    "RunStatement",
    "ShowModelsStatement",
    "ShowTrainStatement",
    "SqlStatement",
    "TrainStatement",
]
