"""Rikai's ``CREATE [OR REPLACE] MODEL [IF NOT EXISTS] <name> [FLAVOR <f>]
[MODEL_TYPE <t>] [OPTIONS (k = v, …)] [RETURNS <type>] [USING '<uri>']``: registers a
model trained elsewhere; it is a model asset like one from TO TRAIN."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from sqlglot.tokens import Token, TokenType

from ...contract.returns import parse_return_type, return_type_problems
from ...sources import check_source
from .. import codes
from ..context import Common
from ..cursor import Cursor
from ..diagnostics import Diagnostic, Span
from ..names import ObjectKind, QualifiedName
from ..params import Param
from ..sql_writer import SqlWriter
from ..statement import Statement
from ..tokens import QUOTED, word_of

USAGE = (
    "CREATE [OR REPLACE] MODEL [IF NOT EXISTS] <name> [FLAVOR <flavor>] "
    "[MODEL_TYPE <type>] [OPTIONS (key = value, …)] [RETURNS <type>] [USING '<uri>']"
)


@dataclass(frozen=True)
class CreateModelStatement(Statement):
    """Rikai: ``CREATE [OR REPLACE] MODEL [IF NOT EXISTS] <name> [FLAVOR <f>]
    [MODEL_TYPE <t>] [OPTIONS (k = v, …)] [RETURNS <type>] [USING '<uri>']`` — registers a
    model trained elsewhere; it is a model asset like one from TO TRAIN."""

    KIND: ClassVar[str] = "create_model"
    LEADING: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("CREATE", "MODEL"),
        ("CREATE", "OR", "REPLACE", "MODEL"),
    )
    OBJECT_KIND: ClassVar[ObjectKind] = ObjectKind.MODEL

    name: QualifiedName
    name_span: Span
    replace: bool
    if_not_exists: bool
    flavor: str | None
    model_type: str | None
    options: tuple[Param, ...]
    returns: str | None
    uri: str | None
    uri_span: Span | None
    #: Where ``MODEL_TYPE`` names its class (None: no MODEL_TYPE).
    model_type_span: Span | None = None
    #: Where ``RETURNS`` names its type (None: no RETURNS).
    returns_span: Span | None = None

    @property
    def produces(self) -> QualifiedName:
        return self.name

    def imported_references(self) -> tuple[tuple[str, Span], ...]:
        """A dotted ``MODEL_TYPE`` is the class a state dict is loaded into (imported by
        the step); a bare one (Rikai's ``resnet50``) names no Python object."""
        if self.model_type is None or "." not in self.model_type:
            return ()
        return ((self.model_type, self.model_type_span or self.span),)

    @property
    def produces_span(self) -> Span:
        return self.name_span

    def why_no_asset(self) -> Diagnostic | None:
        """CREATE MODEL needs a file this version can load: ``USING '<uri>'`` of a
        scikit-learn model saved with skops, reachable through fsspec."""
        if self.uri is None:
            return Diagnostic(
                codes.UNSUPPORTED_STATEMENT,
                f"CREATE MODEL {self.name} needs USING '<uri>'",
                self.name_span,
                hint="pretrained model types are not downloaded at run time; save the model to a file and write USING 'path/to/model.skops'",
            )
        problem = check_source(self.uri, self.flavor, self.model_type)
        if problem is not None:
            return Diagnostic(
                codes.UNSUPPORTED_STATEMENT,
                problem.message,
                self.uri_span or self.span,
                hint=problem.hint,
            )
        return None

    @classmethod
    def parse(cls, c: Cursor, common: Common) -> CreateModelStatement:
        c.next()  # CREATE
        replace = c.at_words("OR", "REPLACE")
        c.next()  # MODEL
        if_not_exists_at = c.peek()
        if_not_exists = c.at_words("IF", "NOT", "EXISTS")
        if replace and if_not_exists:
            assert if_not_exists_at is not None
            c.p.error(
                codes.ML_SYNTAX,
                "OR REPLACE and IF NOT EXISTS cannot be combined",
                if_not_exists_at.start,
                if_not_exists_at.end + 1,
                hint="OR REPLACE always replaces the model; IF NOT EXISTS keeps an existing one — choose one",
            )
        name, name_span = c.qualified_name("a model name")
        flavor = model_type = returns = uri = None
        uri_span = model_type_span = returns_span = None
        options: tuple[Param, ...] = ()
        if c.at_word("FLAVOR"):
            c.next()
            flavor = c.identifier("a flavor such as sklearn or pytorch").text.lower()
        if c.at_word("MODEL_TYPE"):
            c.next()
            type_name, model_type_span = c.qualified_name(
                "a model type such as resnet50", checked=False
            )
            model_type = str(type_name)
        if c.at_word("OPTIONS"):
            options = _options(c)
        if c.at_word("RETURNS"):
            c.next()
            first = c.peek()
            returns = _data_type(c)
            if first is not None:
                returns_span = c.p.span(first, c.tokens[c.i - 1])
        if c.at_word("USING"):
            c.next()
            uri_token = c.next()
            if uri_token.token_type not in QUOTED:
                raise c.fail(uri_token, "a quoted model URI", "write USING 'path/to/model.skops'")
            uri = uri_token.text
            uri_span = c.p.span(uri_token, uri_token)
        after = c.peek()
        if after is not None and word_of(after) == "AS":
            raise c.fail(
                after,
                "the end of the statement",
                "CREATE MODEL registers a model trained elsewhere; to train from a query "
                "write SELECT … TO TRAIN <model> … INTO <name>",
            )
        c.expect_end(USAGE)
        return cls(
            **common,
            name=name,
            name_span=name_span,
            replace=replace,
            if_not_exists=if_not_exists,
            flavor=flavor,
            model_type=model_type,
            options=options,
            returns=returns,
            uri=uri,
            uri_span=uri_span,
            model_type_span=model_type_span,
            returns_span=returns_span,
        )

    def render_sql(self, w: SqlWriter) -> str:
        text = "CREATE " + ("OR REPLACE " if self.replace else "") + "MODEL "
        text += ("IF NOT EXISTS " if self.if_not_exists else "") + w.name(self.name)
        if self.flavor:
            text += f" FLAVOR {w.identifier(self.flavor)}"
        if self.model_type:
            text += f" MODEL_TYPE {w.name(QualifiedName.parse(self.model_type))}"
        if self.options:
            items = ", ".join(f"{p.path} = {w.value(p.value)}" for p in self.options)
            text += f" OPTIONS ({items})"
        if self.returns:
            text += f" RETURNS {self.returns}"
        if self.uri is not None:
            text += f" USING {w.string(self.uri)}"
        return text


# -- OPTIONS and RETURNS ----------------------------------------------------------------


def _options(c: Cursor) -> tuple[Param, ...]:
    """``OPTIONS (key = value, …)``: dotted keys, typed values."""
    c.next()  # OPTIONS
    opening = c.next()
    if opening.token_type is not TokenType.L_PAREN:
        raise c.fail(opening, "'(' after OPTIONS", "write OPTIONS (key = value, …)")
    params: list[Param] = []
    seen: set[str] = set()
    if (nxt := c.peek()) is not None and nxt.token_type is TokenType.R_PAREN:
        c.next()
        return ()
    while True:
        tokens, key_span = c.dotted("an option name")
        key = ".".join(t.text for t in tokens)
        token = c.peek()
        if token is None or token.token_type is not TokenType.EQ:
            raise c.fail(token, "'=' after the option name", f"write {key} = <value>")
        c.next()
        value, value_end = c.value()
        param = Param("options", key, value, Span.of(c.p.source, key_span.start, value_end))
        if key in seen:
            c.p.error(
                codes.DUPLICATE_PARAM,
                f"option '{key}' is set twice",
                param.span.start,
                param.span.end,
            )
        seen.add(key)
        params.append(param)
        closing = c.next()
        if closing.token_type is TokenType.R_PAREN:
            return tuple(params)
        if closing.token_type is not TokenType.COMMA:
            raise c.fail(closing, "',' or ')' in OPTIONS")


def returns_diagnostics(statements: Iterable[Statement]) -> list[Diagnostic]:
    """SQLML136: a ``RETURNS`` type that ``ML_PREDICT`` cannot fill whatever the model
    (contract/returns.py says what fills which field), for a model the project calls with
    ``ML_PREDICT`` — Rikai's own types for models no flavor here produces (boxes of an
    object detector) still register, and only a call would fail."""
    called = {call.model.key for s in statements for call in getattr(s, "model_calls", ()) or ()}
    found: list[Diagnostic] = []
    for s in statements:
        if not isinstance(s, CreateModelStatement) or not s.returns or s.name.key not in called:
            continue
        try:
            problems = return_type_problems(parse_return_type(s.returns))
        except ValueError as e:
            problems = [str(e)]
        found.extend(
            Diagnostic(
                codes.BAD_RETURNS,
                f"RETURNS {s.returns}: {problem}",
                s.returns_span or s.span,
                hint="ML_PREDICT returns the prediction as a scalar type, the class "
                "probabilities as array<float>, or a struct of label/prediction, "
                "score/probability and probabilities fields (docs/language.md, RETURNS)",
            )
            for problem in problems
        )
    return found


def _data_type(c: Cursor) -> str:
    c.nest()
    try:
        return _read_data_type(c)
    finally:
        c.depth -= 1


def _read_data_type(c: Cursor) -> str:
    """Rikai's ``RETURNS`` type: ``STRUCT<name:type, …>``, ``ARRAY<type>`` or a name,
    in a canonical lower-case spelling."""
    name = c.identifier("a type such as int, array<float> or struct<label:int>")
    word = name.text.lower()
    if word not in ("struct", "array"):
        return word
    _expect_angle(c, "<", f"'<' after {word.upper()}")
    if word == "array":
        inner = _data_type(c)
        _expect_angle(c, ">", "'>' to close ARRAY<…>")
        return f"array<{inner}>"
    fields = []
    while True:
        field_name = c.identifier("a field name").text
        colon = c.next()
        if colon.token_type is not TokenType.COLON:
            raise c.fail(
                colon, "':' between a field name and its type", "write STRUCT<name:type, …>"
            )
        fields.append(f"{field_name}:{_data_type(c)}")
        if (nxt := c.peek()) is not None and nxt.token_type is TokenType.COMMA:
            c.next()
            continue
        _expect_angle(c, ">", "',' or '>' in STRUCT<…>")
        return "struct<" + ", ".join(fields) + ">"


def _expect_angle(c: Cursor, bracket: str, expected: str) -> None:
    """``<`` or ``>``; a ``>>`` token closes two levels (``ARRAY<ARRAY<int>>``)."""
    token = c.peek()
    if token is None or not token.text.startswith(bracket) or set(token.text) != {bracket}:
        raise c.fail(token, expected)
    if len(token.text) == 1:
        c.next()
    else:  # split '>>' into two closings, in place
        c.tokens[c.i] = Token(
            token.token_type, token.text[1:], token.line, token.col, token.start + 1, token.end
        )
