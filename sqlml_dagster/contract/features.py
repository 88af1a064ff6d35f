"""The signature of each ``COLUMN`` feature-column function (SQLFlow's feature columns).

The compiler parses, checks and renders ``COLUMN EMBEDDING(CATEGORY_ID(c, 10), 8)`` from
these, and the runtime reads the JSON the compiler writes into ``StepSpec.columns`` (and
writes error messages in the user's spelling) from the same table, so the two cannot
disagree about an argument's name, order or default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


class ArgKind(str, Enum):
    """What one argument of a feature-column function accepts."""

    COLUMN = "column"  # a column name or a nested feature column
    COLUMNS = "columns"  # [a, b, …] of columns (CROSS)
    INT = "int"  # a positive integer
    SHAPE = "shape"  # an integer or a list of integers (``none``: learned from the data)
    NUMBERS = "numbers"  # an ascending list of numbers, or one number (BUCKET boundaries)
    WORD = "word"  # a string or a bare word (delimiter COMMA, combiner mean)


@dataclass(frozen=True)
class Arg:
    """One parameter of a feature-column function: its field name, kind and default."""

    name: str
    kind: ArgKind
    required: bool = True
    default: Any = None


_CATEGORY = (
    Arg("key", ArgKind.COLUMN),
    Arg("bucket_size", ArgKind.INT),
    Arg("delimiter", ArgKind.WORD, False),
)

#: ``DENSE``/``SPARSE`` describe how a column's text is read, as SQLFlow's ``FieldDesc``
#: (``go/ir/ir_generator.go``: ``parseFieldDesc``): the shape (left out or ``none``: learned
#: from the data), the delimiter between values, the values' type, and for key-value text
#: (``"3:0.5,7:1.2"``) the delimiter between a key and its weight and the weights' type.
_FIELD = (
    Arg("key", ArgKind.COLUMN),
    Arg("shape", ArgKind.SHAPE, False),
    Arg("delimiter", ArgKind.WORD, False),
    Arg("dtype", ArgKind.WORD, False),
    Arg("delimiter_kv", ArgKind.WORD, False),
    Arg("dtype_weight", ArgKind.WORD, False),
)

#: Function name → its arguments in the order SQL writes them. A bare column is
#: ``{"function": "COLUMN", "name": …}`` in JSON and has no entry here.
FEATURE_SIGNATURES: Mapping[str, tuple[Arg, ...]] = {
    "NUMERIC": (Arg("key", ArgKind.COLUMN), Arg("shape", ArgKind.SHAPE, False, 1)),
    "CATEGORY_ID": _CATEGORY,
    "SEQ_CATEGORY_ID": _CATEGORY,
    "CATEGORY_HASH": _CATEGORY,
    "EMBEDDING": (
        Arg("category", ArgKind.COLUMN),
        Arg("dimension", ArgKind.INT),
        Arg("combiner", ArgKind.WORD, False, "sum"),  # SQLFlow's default
        Arg("initializer", ArgKind.WORD, False),
    ),
    "BUCKET": (Arg("source", ArgKind.COLUMN), Arg("boundaries", ArgKind.NUMBERS)),
    "CROSS": (Arg("keys", ArgKind.COLUMNS), Arg("hash_bucket_size", ArgKind.INT)),
    "INDICATOR": (Arg("category", ArgKind.COLUMN),),
    "DENSE": _FIELD,
    "SPARSE": _FIELD,
    "WEIGHTED_CATEGORY": (Arg("category", ArgKind.COLUMN),),
}


def argument_order(function: str) -> tuple[str, ...]:
    """The argument names of ``function`` as SQL writes them (JSON keys may come sorted)."""
    return tuple(a.name for a in FEATURE_SIGNATURES.get(function, ()))
