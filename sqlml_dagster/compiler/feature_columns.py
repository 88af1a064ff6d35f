"""``COLUMN`` clauses: SQLFlow's feature columns, one class per function.

Each class declares its ``FUNCTION`` name and takes its ``SIGNATURE`` (argument names, kinds
and defaults) from ``contract.FEATURE_SIGNATURES``, which the runtime reads too; that one
declaration drives the parser below, the hints of its error messages (``usage``), the
runtime's JSON form (``to_json``) and the canonical SQL (``render_sql``), so adding a
function is one small class and one signature.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlglot.tokens import Token, TokenType

from ..contract import FEATURE_SIGNATURES, Arg, ArgKind
from . import codes
from .context import Abort
from .cursor import Cursor
from .diagnostics import Span
from .sql_writer import SqlWriter
from .tokens import QUOTED


@dataclass(frozen=True)
class FeatureColumn:
    """One expression of a ``COLUMN`` clause (SQLFlow's feature columns).

    Each function is its own class; ``FUNCTION`` and ``SIGNATURE`` drive parsing, error
    messages and rendering back to SQL, so adding a function is one small class.
    """

    FUNCTION: ClassVar[str] = ""
    SIGNATURE: ClassVar[tuple[Arg, ...]] = ()

    span: Span | None = field(default=None, kw_only=True, compare=False, repr=False)

    @classmethod
    def usage(cls) -> str:
        """``EMBEDDING(category, dimension[, combiner[, initializer]])`` for hints."""
        required = [a.name for a in cls.SIGNATURE if a.required]
        optional = [a.name for a in cls.SIGNATURE if not a.required]
        text = ", ".join(required)
        for name in optional:
            text += f"[, {name}"
        return f"{cls.FUNCTION}({text}{']' * len(optional)})"

    def to_json(self) -> dict[str, Any]:
        """The runtime's form (``StepSpec.columns``): ``{"function": "EMBEDDING",
        "category": {…}, "dimension": 8, "combiner": "mean", "initializer": None}``; a bare
        column is ``{"function": "COLUMN", "name": "x"}``. Shapes and lists become lists."""
        out: dict[str, Any] = {"function": self.FUNCTION}
        for arg in self.SIGNATURE:
            out[arg.name] = _json_value(getattr(self, arg.name))
        return out

    def render_sql(self, w: SqlWriter) -> str:
        """``EMBEDDING(CATEGORY_ID(c, 100), 8)``: trailing defaults go unwritten."""
        args = [_argument_sql(getattr(self, arg.name), arg.kind, w) for arg in self.SIGNATURE]
        while len(args) > 1:
            arg = self.SIGNATURE[len(args) - 1]
            if arg.required or getattr(self, arg.name) != arg.default:
                break
            args.pop()
        return f"{self.FUNCTION}({', '.join(args)})"

    @property
    def source_columns(self) -> tuple[str, ...]:
        """The table columns this feature column reads, in order."""
        found: list[str] = []
        for arg in self.SIGNATURE:
            value = getattr(self, arg.name)
            values = value if arg.kind is ArgKind.COLUMNS else (value,)
            for item in values:
                if isinstance(item, FeatureColumn):
                    found.extend(c for c in item.source_columns if c not in found)
        return tuple(found)


def _argument_sql(value: Any, kind: ArgKind, w: SqlWriter) -> str:
    if kind is ArgKind.COLUMN:
        return str(value.render_sql(w))
    if kind is ArgKind.COLUMNS:
        return "[" + ", ".join(v.render_sql(w) for v in value) + "]"
    if kind is ArgKind.WORD:
        return "NULL" if value is None else w.string(value)
    return w.value(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, FeatureColumn):
        return value.to_json()
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return value


#: ``COLUMN *`` (SQLFlow's "all columns as raw features"): every column the query selects,
#: but the label and those another feature column of the clause reads.
ALL_COLUMNS = "*"


@dataclass(frozen=True)
class ColumnName(FeatureColumn):
    """A bare column: a numeric feature unless the model decides otherwise."""

    FUNCTION = "COLUMN"
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"function": self.FUNCTION, "name": self.name}

    def render_sql(self, w: SqlWriter) -> str:
        return ALL_COLUMNS if self.name == ALL_COLUMNS else w.identifier(self.name)

    @property
    def source_columns(self) -> tuple[str, ...]:
        return () if self.name == ALL_COLUMNS else (self.name,)


@dataclass(frozen=True)
class Numeric(FeatureColumn):
    FUNCTION = "NUMERIC"
    SIGNATURE = FEATURE_SIGNATURES["NUMERIC"]
    key: FeatureColumn
    shape: int | tuple[int, ...] = 1


@dataclass(frozen=True)
class CategoryId(FeatureColumn):
    FUNCTION = "CATEGORY_ID"
    SIGNATURE = FEATURE_SIGNATURES["CATEGORY_ID"]
    key: FeatureColumn
    bucket_size: int
    delimiter: str | None = None


@dataclass(frozen=True)
class SeqCategoryId(FeatureColumn):
    FUNCTION = "SEQ_CATEGORY_ID"
    SIGNATURE = FEATURE_SIGNATURES["SEQ_CATEGORY_ID"]
    key: FeatureColumn
    bucket_size: int
    delimiter: str | None = None


@dataclass(frozen=True)
class CategoryHash(FeatureColumn):
    FUNCTION = "CATEGORY_HASH"
    SIGNATURE = FEATURE_SIGNATURES["CATEGORY_HASH"]
    key: FeatureColumn
    bucket_size: int
    delimiter: str | None = None


@dataclass(frozen=True)
class Embedding(FeatureColumn):
    FUNCTION = "EMBEDDING"
    SIGNATURE = FEATURE_SIGNATURES["EMBEDDING"]
    category: FeatureColumn
    dimension: int
    combiner: str = "sum"
    initializer: str | None = None


@dataclass(frozen=True)
class Bucket(FeatureColumn):
    FUNCTION = "BUCKET"
    SIGNATURE = FEATURE_SIGNATURES["BUCKET"]
    source: FeatureColumn
    boundaries: tuple[int | float, ...]  # ``BUCKET(x, 100)``: one boundary, ``(100,)``


@dataclass(frozen=True)
class Cross(FeatureColumn):
    FUNCTION = "CROSS"
    SIGNATURE = FEATURE_SIGNATURES["CROSS"]
    keys: tuple[FeatureColumn, ...]
    hash_bucket_size: int


@dataclass(frozen=True)
class Indicator(FeatureColumn):
    FUNCTION = "INDICATOR"
    SIGNATURE = FEATURE_SIGNATURES["INDICATOR"]
    category: FeatureColumn


@dataclass(frozen=True)
class Dense(FeatureColumn):
    FUNCTION = "DENSE"
    SIGNATURE = FEATURE_SIGNATURES["DENSE"]
    key: FeatureColumn
    shape: int | tuple[int, ...] | None = None
    delimiter: str | None = None
    dtype: str | None = None
    delimiter_kv: str | None = None
    dtype_weight: str | None = None


@dataclass(frozen=True)
class Sparse(FeatureColumn):
    FUNCTION = "SPARSE"
    SIGNATURE = FEATURE_SIGNATURES["SPARSE"]
    key: FeatureColumn
    shape: int | tuple[int, ...] | None = None
    delimiter: str | None = None
    dtype: str | None = None
    delimiter_kv: str | None = None
    dtype_weight: str | None = None


@dataclass(frozen=True)
class WeightedCategory(FeatureColumn):
    """``WEIGHTED_CATEGORY(CATEGORY_ID(SPARSE(c, n, ",", int, ":", float), n))``: the ids of
    key-value text weighted by their values (TensorFlow's ``weighted_categorical_column``)."""

    FUNCTION = "WEIGHTED_CATEGORY"
    SIGNATURE = FEATURE_SIGNATURES["WEIGHTED_CATEGORY"]
    category: FeatureColumn


#: Function name → class, for the parser.
FEATURE_FUNCTIONS: dict[str, type[FeatureColumn]] = {
    cls.FUNCTION: cls
    for cls in (
        Numeric,
        CategoryId,
        SeqCategoryId,
        CategoryHash,
        Embedding,
        Bucket,
        Cross,
        Indicator,
        Dense,
        Sparse,
        WeightedCategory,
    )
}


@dataclass(frozen=True)
class ColumnGroup:
    """``COLUMN a, NUMERIC(b, 1) [FOR name]``: the feature columns handed to the model's
    constructor argument ``name`` (``feature_columns`` when no ``FOR`` is written)."""

    columns: tuple[FeatureColumn, ...]
    target: str | None = None
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def argument(self) -> str:
        return self.target or "feature_columns"

    def render_sql(self, w: SqlWriter) -> str:
        text = " COLUMN " + ", ".join(c.render_sql(w) for c in self.columns)
        if self.target is not None:
            text += f" FOR {w.identifier(self.target)}"
        return text


# -- the COLUMN clause's grammar ------------------------------------------------------


@dataclass(frozen=True)
class _RawArg:
    """A feature-column argument before the signature gives it a meaning."""

    kind: str  # name | quoted | string | number | list | call
    value: object
    span: Span
    text: str
    items: tuple[_RawArg, ...] = ()


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def column_clause(c: Cursor) -> ColumnGroup:
    """``COLUMN <feature>, … [FOR <argument>]``. A bad feature column is reported and the
    clause read on past it, so every bad one of a clause is reported in one pass."""
    first = c.next()  # COLUMN
    columns: list[FeatureColumn] = []
    failed = False
    while True:
        try:
            columns.append(feature_column(c))
        except Abort:
            failed = True
            _skip_feature(c)
        if (token := c.peek()) is None or token.token_type is not TokenType.COMMA:
            break
        c.next()
    if failed:
        raise Abort
    target = None
    last = c.tokens[c.i - 1]
    if c.at_word("FOR"):
        c.next()
        last = c.identifier("the model argument the columns are for")
        target = last.text
    return ColumnGroup(tuple(columns), target, c.p.span(first, last))


def _skip_feature(c: Cursor) -> None:
    """Past the rest of a feature column that failed: to the next ``,`` outside brackets,
    a clause keyword, or the end."""
    depth = 0
    while (token := c.peek()) is not None:
        if token.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif token.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth = max(0, depth - 1)
        elif depth == 0 and (
            token.token_type is TokenType.COMMA
            or any(c.at_word(w) for w in ("FOR", "LABEL", "INTO", "USING", "COLUMN"))
        ):
            return
        c.next()


def feature_column(c: Cursor) -> FeatureColumn:
    raw = feature_argument(c)
    if raw.kind == "call":
        assert isinstance(raw.value, FeatureColumn)
        return raw.value
    if raw.kind == "name":
        return ColumnName(str(raw.value), span=raw.span)
    c.p.error(
        codes.ML_SYNTAX,
        f"expected a column or a feature column such as NUMERIC(x, 1), found '{raw.text}'",
        raw.span.start,
        raw.span.end,
        hint="feature columns: " + ", ".join(FEATURE_FUNCTIONS),
    )
    raise Abort


def feature_argument(c: Cursor) -> _RawArg:
    c.nest()
    try:
        return _feature_argument(c)
    finally:
        c.depth -= 1


def _feature_argument(c: Cursor) -> _RawArg:
    """One argument as written; its meaning comes from the function's signature."""
    token = c.peek()
    if token is None:
        raise c.fail(token, "a column or a value")
    if token.token_type is TokenType.L_BRACKET:
        first = c.next()
        items: list[_RawArg] = []
        if (nxt := c.peek()) is not None and nxt.token_type is TokenType.R_BRACKET:
            closing = c.next()
        else:
            while True:
                items.append(feature_argument(c))
                closing = c.next()
                if closing.token_type is TokenType.R_BRACKET:
                    break
                if closing.token_type is not TokenType.COMMA:
                    raise c.fail(closing, "',' or ']' in a list")
        return _RawArg("list", None, c.p.span(first, closing), "[…]", tuple(items))
    if token.token_type in (TokenType.NUMBER, TokenType.DASH, TokenType.PLUS):
        value, end = c.value()
        return _RawArg("number", value, Span.of(c.p.source, token.start, end), token.text)
    if token.token_type is TokenType.STRING:
        c.next()
        return _RawArg("string", token.text, c.p.span(token, token), token.text)
    if token.token_type is TokenType.STAR:  # COLUMN *: every selected column
        c.next()
        return _RawArg("name", ALL_COLUMNS, c.p.span(token, token), token.text)
    name_token = c.identifier("a column or a feature column such as NUMERIC(x, 1)")
    while (dot := c.peek()) is not None and dot.token_type is TokenType.DOT:
        c.next()  # t.col: the query's column col, as LABEL t.col is
        name_token = c.identifier("a column name after '.'")
    nxt = c.peek()
    if (
        nxt is not None
        and nxt.token_type is TokenType.L_PAREN
        and name_token.token_type not in QUOTED
    ):
        call = feature_call(c, name_token)
        return _RawArg("call", call, call.span or c.p.span(name_token, name_token), name_token.text)
    kind = "quoted" if name_token.token_type in QUOTED else "name"
    return _RawArg(kind, name_token.text, c.p.span(name_token, name_token), name_token.text)


def feature_call(c: Cursor, name_token: Token) -> FeatureColumn:
    function = name_token.text.upper()
    cls = FEATURE_FUNCTIONS.get(function)
    if cls is None:
        close = difflib.get_close_matches(function, list(FEATURE_FUNCTIONS), n=1)
        c.p.error(
            codes.UNKNOWN_FUNCTION,
            f"unknown feature column '{name_token.text}'",
            name_token.start,
            name_token.end + 1,
            hint=(f"did you mean {close[0]}? " if close else "")
            + "feature columns: "
            + ", ".join(FEATURE_FUNCTIONS),
        )
        raise Abort
    c.next()  # (
    raw: list[_RawArg] = []
    if (nxt := c.peek()) is not None and nxt.token_type is TokenType.R_PAREN:
        closing = c.next()
    else:
        while True:
            raw.append(feature_argument(c))
            closing = c.next()
            if closing.token_type is TokenType.R_PAREN:
                break
            if closing.token_type is not TokenType.COMMA:
                raise c.fail(closing, f"',' or ')' in {function}(…)", f"the form is {cls.usage()}")
    span = c.p.span(name_token, closing)
    if len(raw) > len(cls.SIGNATURE):
        extra = raw[len(cls.SIGNATURE)]
        c.p.error(
            codes.BAD_ARGUMENT,
            f"{function} takes at most {len(cls.SIGNATURE)} arguments",
            extra.span.start,
            raw[-1].span.end,
            hint=f"the form is {cls.usage()}",
        )
        raise Abort
    values: dict[str, object] = {}
    for i, arg in enumerate(cls.SIGNATURE):
        if i >= len(raw):
            if arg.required:
                c.p.error(
                    codes.BAD_ARGUMENT,
                    f"{function} needs its {arg.name} argument",
                    closing.start,
                    closing.end + 1,
                    hint=f"the form is {cls.usage()}",
                )
                raise Abort
            continue
        values[arg.name] = convert_argument(c, raw[i], arg.kind, cls, arg.name)
    return cls(**values, span=span)


def convert_argument(
    c: Cursor, raw: _RawArg, kind: ArgKind, cls: type[FeatureColumn], name: str
) -> object:
    """A raw argument as the signature wants it, or a diagnostic saying what was expected."""
    expected = {
        ArgKind.COLUMN: "a column or a feature column",
        ArgKind.COLUMNS: "a list of columns such as [a, b]",
        ArgKind.INT: "a positive integer",
        ArgKind.SHAPE: "a positive integer or a list of them",
        ArgKind.NUMBERS: "an ascending list of numbers such as [0, 10, 100]",
        ArgKind.WORD: "a word or a string",
    }[kind]
    value: object = None
    if kind is ArgKind.COLUMN:
        if raw.kind in ("name", "quoted"):
            value = ColumnName(str(raw.value), span=raw.span)
        elif raw.kind == "call":
            value = raw.value
    elif kind is ArgKind.COLUMNS:
        if raw.kind == "list" and raw.items:
            value = tuple(
                convert_argument(c, item, ArgKind.COLUMN, cls, name) for item in raw.items
            )
    elif kind is ArgKind.INT:
        if raw.kind == "number" and _is_positive_int(raw.value):
            value = raw.value
    elif kind is ArgKind.SHAPE:
        if raw.kind in ("name", "quoted", "string") and raw.text.strip("'\"").upper() in (
            "NONE",
            "NULL",
        ):
            return None  # learned from the data, as SQLFlow's "none"
        if raw.kind == "number" and _is_positive_int(raw.value):
            value = raw.value
        elif (
            raw.kind == "list"
            and raw.items
            and all(i.kind == "number" and _is_positive_int(i.value) for i in raw.items)
        ):
            value = tuple(i.value for i in raw.items)
    elif kind is ArgKind.NUMBERS:
        if raw.kind == "number":  # BUCKET(x, 100): one boundary, as SQLFlow's parseShape
            value = (raw.value,)
        elif raw.kind == "list" and raw.items and all(i.kind == "number" for i in raw.items):
            numbers: list[Any] = [i.value for i in raw.items]
            if all(a < b for a, b in itertools.pairwise(numbers)):
                value = tuple(numbers)
            else:
                expected = "in ascending order"
    elif raw.kind == "name" and raw.text.upper() == "NULL":
        return None  # an optional word left out before a later one
    elif raw.kind in ("name", "quoted", "string"):
        value = str(raw.value)
    if value is None:
        c.p.error(
            codes.BAD_ARGUMENT,
            f"{cls.FUNCTION}'s {name} must be {expected}, found "
            f"'{c.p.source.text[raw.span.start : raw.span.end]}'",
            raw.span.start,
            raw.span.end,
            hint=f"the form is {cls.usage()}",
        )
        raise Abort
    return value
