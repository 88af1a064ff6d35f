"""The small recursive-descent grammar that every ML statement kind's clauses are written
in: a position in one statement's tokens, and the pieces clauses share — words, names,
``model@3`` pins, model references with images, typed values, ``WITH`` lists with quality
gates, and ``-- sqlml:`` directives. Each statement kind (``statements/``) composes these
into its own clause order."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlglot.tokens import Token, TokenType

from ..contract import EVALUATION_METRICS
from ..contract.lifecycle import CHAMPION, Pin
from ..contract.trials import (
    CANDIDATES_FUNCTION,
    LOG_WORD,
    RANGE_FUNCTION,
    TUNABLE_NAMESPACES,
    UNTUNABLE_TRAIN_KEYS,
    HparamCandidates,
    HparamRange,
    SearchValue,
    is_search_value,
)
from . import codes
from .context import Abort, ParseContext
from .diagnostics import Span
from .images import image_reference_problem
from .names import NAME_HINT, ModelRef, QualifiedName
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
from .tokens import QUOTED, word_of
from .tokens import number as parse_number

#: A quality gate's comparison tokens (``==`` tokenizes as EQ too) → the operator.
COMPARISONS = {
    TokenType.GTE: ">=",
    TokenType.LTE: "<=",
    TokenType.GT: ">",
    TokenType.LT: "<",
    TokenType.EQ: "=",
}

#: Tokens that continue a bare value when nothing separates them from it, as SQLFlow's
#: lexer reads an identifier (``lexIdentOrKeyword``: letters, digits, ``_ / : - .``).
BARE_JOINERS = frozenset(
    (TokenType.DOT, TokenType.COLON, TokenType.SLASH, TokenType.DASH, TokenType.NUMBER)
)

#: The words that open SQLFlow's clauses (its lexer's keywords, go/parser/lexer.go): a word
#: one typo away from one (``LABLE``, ``COLUMM``, ``WTIH``) is reported as that typo.
CLAUSE_KEYWORDS = ("WITH", "COLUMN", "LABEL", "INTO", "USING", "FOR", "CMD", "CONSTRAINT")

#: How deep WITH lists, COLUMN expressions and RETURNS types may nest.
MAX_NESTING = 32
#: How a search space is written (SQLML130's hint).
SEARCH_USAGE = (
    f"{RANGE_FUNCTION}(low, high[, {LOG_WORD}]) or {CANDIDATES_FUNCTION}([value, value, …])"
)


@dataclass
class Cursor:
    """A position in one statement's tokens, with the small grammar of the SQLFlow tail."""

    p: ParseContext
    tokens: list[Token]
    i: int
    depth: int = 0
    #: Whether ``WITH`` values may be search spaces (TO TRAIN's ``with_clause(search=True)``).
    allow_search: bool = False

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1]
            self.p.error(codes.ML_SYNTAX, "statement ends too early", last.end, last.end + 1)
            raise Abort
        self.i += 1
        return token

    def at_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and word_of(token) == word

    def fail(
        self, token: Token | None, expected: str, hint: str | None = None, clause: bool = False
    ) -> Abort:
        """A syntax error at ``token``; ``clause``: a clause keyword was due there, so a
        word that misspells one (``LABLE``) is named as that typo."""
        if token is None:
            last = self.tokens[-1]
            self.p.error(
                codes.ML_SYNTAX,
                f"expected {expected} but the statement ends",
                last.end,
                last.end + 1,
                hint,
            )
        else:
            meant = near_keyword(token) if clause else None
            if meant == expected:  # expect_word's hint says it: "expected INTO, … did you mean"
                meant = None
            self.p.error(
                codes.ML_SYNTAX,
                f"'{token.text}' is no SQLFlow clause; did you mean {meant}?"
                if meant
                else f"expected {expected}, found '{token.text}'",
                token.start,
                token.end + 1,
                hint,
            )
        return Abort()

    def expect_word(self, word: str, usage: str) -> Token:
        token = self.peek()
        if token is None or word_of(token) != word:
            hint = f"the form is: {usage}"
            if token is not None and token.token_type not in QUOTED:
                close = difflib.get_close_matches(token.text.upper(), [word], n=1, cutoff=0.6)
                if close:
                    hint = f"did you mean {close[0]}? The form is: {usage}"
            raise self.fail(token, word, hint, clause=True)
        return self.next()

    def at_words(self, *words: str) -> bool:
        """Consume ``words`` if they come next (``OR REPLACE``, ``IF NOT EXISTS``)."""
        ahead = self.tokens[self.i : self.i + len(words)]
        if len(ahead) == len(words) and all(
            word_of(t) == w for t, w in zip(ahead, words, strict=True)
        ):
            self.i += len(words)
            return True
        return False

    def expect_end(self, usage: str | None = None) -> None:
        token = self.peek()
        if token is not None:
            hint = "is a ';' missing before this?"
            if usage:
                hint += f" The form is: {usage}"
            raise self.fail(token, "the end of the statement", hint, clause=True)

    def identifier(self, what: str) -> Token:
        token = self.peek()
        if (
            token is None
            or token.token_type in (TokenType.STRING, TokenType.NUMBER, TokenType.SEMICOLON)
            or not token.text
        ):
            raise self.fail(token, what)
        if token.token_type in (
            TokenType.DOT,
            TokenType.COMMA,
            TokenType.EQ,
            TokenType.L_PAREN,
            TokenType.R_PAREN,
        ):
            raise self.fail(token, what)
        return self.next()

    def label(self) -> str:
        """The column after ``LABEL``: a name, a quoted name, or a string as SQLFlow's
        grammar allows (``LABEL 'class'``, ``LABEL "label"`` for a column named like a
        keyword); a table-qualified ``t.col`` names the SELECT's column ``col``."""
        token = self.peek()
        if token is not None and token.token_type is TokenType.STRING and token.text:
            return self.next().text
        tokens, _ = self.dotted("a label column")
        return tokens[-1].text

    def dotted(self, what: str) -> tuple[list[Token], Span]:
        """``a.b.c``: the name tokens and the span covering them."""
        tokens = [self.identifier(what)]
        while (token := self.peek()) is not None and token.token_type is TokenType.DOT:
            self.next()
            tokens.append(self.identifier(what))
        return tokens, self.p.span(tokens[0], tokens[-1])

    def qualified_name(self, what: str, *, checked: bool = True) -> tuple[QualifiedName, Span]:
        """A table or model name, held to the naming rule unless ``checked`` is false (a
        name that is not an asset's, such as a model type)."""
        tokens, span = self.dotted(what)
        name = QualifiedName(tuple(t.text for t in tokens))
        if checked:
            self.check_name(name, span)
        return name, span

    def check_name(self, name: QualifiedName, span: Span) -> None:
        """SQLML117 for a name that breaks the naming rule: ``INTO "../x"`` or ``DROP MODEL
        "../x"`` stops here, before anything joins it to a path."""
        if name.problem is not None:
            self.p.error(codes.BAD_NAME, name.refusal, span.start, span.end, hint=NAME_HINT)
            raise Abort

    def optional_into(self) -> tuple[QualifiedName | None, Span | None]:
        """``[INTO <table>]``: the table and its span, or ``(None, None)``."""
        if not self.at_word("INTO"):
            return None, None
        self.next()
        return self.qualified_name("a result table")

    def model_pin(self, what: str) -> tuple[QualifiedName, Span, Pin]:
        """``model``, ``model@3``, ``model@champion`` or ``model@latest``: the name, its span
        and the pinned version or alias (``None`` for latest)."""
        name, span = self.qualified_name(what)
        token = self.peek()
        if token is None or token.text != "@":
            return name, span, None
        self.next()
        version = self.p.pin_version(self.peek(), self.tokens[-1])
        self.next()
        return name, span, version

    def model_reference(
        self, what: str = "a model reference such as sklearn.ensemble.RandomForestClassifier"
    ) -> ModelRef:
        """``pkg.mod.Class``, optionally prefixed by a container image:
        ``registry.example.com:5000/team/models:1.2/my_models.MyClassifier`` or
        ``ghcr.io/org/img@sha256:<digest>/pkg.Model``.

        The reference is the run of tokens with no whitespace between them; the image is
        everything before its last ``/``.
        """
        first, last, text = self.adjacent_run(what)
        image, slash, reference = text.rpartition("/")
        ref_start = first.start + len(image) + len(slash)
        if not reference or not all(part.isidentifier() for part in reference.split(".")):
            self.p.error(
                codes.ML_SYNTAX,
                f"'{reference or text}' is not a Python reference such as my_models.MyClassifier",
                ref_start,
                last.end + 1,
                hint="a model is a dotted Python name, optionally after an image: registry/repo:tag/pkg.Model",
            )
            raise Abort
        if slash:
            problem = image_reference_problem(image)
            if problem:
                self.p.error(
                    codes.BAD_IMAGE,
                    f"'{image}' is not a valid container image reference: {problem}",
                    first.start,
                    ref_start - 1,
                    hint="write [registry[:port]/]repository[:tag][@sha256:<digest>] before /pkg.Model",
                )
                raise Abort
        image_span = Span.of(self.p.source, first.start, ref_start - 1) if slash else None
        return ModelRef(
            reference=reference,
            image=image or None,
            image_span=image_span,
            span=Span.of(self.p.source, ref_start, last.end + 1),
        )

    def adjacent_run(self, what: str) -> tuple[Token, Token, str]:
        """The run of tokens with no whitespace between them (an image reference such as
        ``registry:5000/team/img:1.2``, which tokenizes into many), as written."""
        nxt = self.peek()
        if nxt is not None and nxt.token_type is TokenType.NUMBER:  # 123456789012.dkr.ecr…/…
            first = self.next()
        else:
            first = self.identifier(what)
        last = first
        while (token := self.peek()) is not None and token.start == last.end + 1:
            last = self.next()
        return first, last, self.p.source.text[first.start : last.end + 1]

    def image_reference(self, what: str, usage: str) -> tuple[str, Span]:
        """A container image written bare, as SQLFlow's ``TO RUN`` names it
        (``a_data_scientist/ts_data_processor:1.0``): its text and span; SQLML107 when it
        is not a valid image reference."""
        token = self.peek()
        if token is not None and token.token_type in QUOTED:
            self.p.error(
                codes.BAD_IMAGE,
                f"the image is written without quotes: {token.text}",
                token.start,
                token.end + 1,
                hint=f"the form is: {usage}",
            )
            raise Abort
        first, last, text = self.adjacent_run(what)
        problem = image_reference_problem(text)
        if problem:
            self.p.error(
                codes.BAD_IMAGE,
                f"'{text}' is not a valid container image reference: {problem}",
                first.start,
                last.end + 1,
                hint=f"write [registry[:port]/]repository[:tag][@sha256:<digest>]; the form is: {usage}",
            )
            raise Abort
        return text, self.p.span(first, last)

    # -- WITH -------------------------------------------------------------------------

    def with_clause(
        self, checks: list[MetricCheck] | None = None, *, search: bool = False
    ) -> tuple[Param, ...]:
        """``WITH key = value, …``. TO EVALUATE passes ``checks``, which collects its quality
        gates (``check.accuracy >= 0.9``); on any other statement a gate is an error. TO
        TRAIN passes ``search``: its ``model.*``/``train.*`` values may be search spaces
        (``HPARAM_RANGE``, ``HPARAM_CANDIDATES``), which anywhere else are SQLML130."""
        self.allow_search = search
        self.next()  # WITH
        params: list[Param] = []
        seen: dict[str, Span] = {}
        while True:
            item = self.attribute()
            assert item.span is not None
            key = f"{CHECK_NAMESPACE}.{item.metric}" if isinstance(item, MetricCheck) else item.key
            if key in seen:
                self.p.error(
                    codes.DUPLICATE_PARAM,
                    f"'{key}' is set twice",
                    item.span.start,
                    item.span.end,
                    hint=f"the first value is at {seen[key].location()}",
                )
            seen[key] = item.span
            if isinstance(item, Param):
                params.append(item)
            elif checks is not None:
                checks.append(item)
            else:
                self.p.error(
                    codes.MISPLACED_CHECK,
                    f"quality gate '{CHECK_NAMESPACE}.{item.condition}' outside TO EVALUATE",
                    item.span.start,
                    item.span.end,
                    hint="a gate judges an evaluation: SELECT … TO EVALUATE <model> "
                    f"WITH {CHECK_NAMESPACE}.{item.condition} LABEL <column> INTO <table>",
                )
            if (token := self.peek()) is not None and token.token_type is TokenType.COMMA:
                self.next()
                continue
            return tuple(params)

    def attribute(self) -> Param | MetricCheck:
        tokens, key_span = self.dotted("an attribute name such as model.n_estimators")
        first, parts = tokens[0], [t.text for t in tokens]
        if len(parts) > 1 and parts[0].lower() == CHECK_NAMESPACE:
            return self.metric_check(tokens)
        if len(parts) == 1:
            namespace, path = "model", parts[0]
        else:
            namespace, path = parts[0].lower(), ".".join(parts[1:])
            if namespace not in PARAM_NAMESPACES:
                known = (*PARAM_NAMESPACES, CHECK_NAMESPACE)
                close = difflib.get_close_matches(namespace, known, n=1)
                hint = f"did you mean '{close[0]}.{path}'?" if close else None
                self.p.error(
                    codes.UNKNOWN_NAMESPACE,
                    f"unknown attribute namespace '{parts[0]}'",
                    first.start,
                    first.end + 1,
                    hint=(hint + " " if hint else "")
                    + f"namespaces are: {', '.join(PARAM_NAMESPACES)}"
                    + f" (and {CHECK_NAMESPACE}.<metric> thresholds on TO EVALUATE)",
                )
        token = self.peek()
        if token is not None and COMPARISONS.get(token.token_type, "=") != "=":
            written = ".".join(parts)
            self.p.error(
                codes.MISPLACED_CHECK,
                f"'{written}' is a parameter and takes '=', not '{token.text}'",
                token.start,
                token.end + 1,
                hint=f"write {written} = <value>; thresholds are quality gates on TO EVALUATE "
                f"(WITH {CHECK_NAMESPACE}.<metric> {token.text} <number>)",
            )
            raise Abort
        if token is None or token.token_type is not TokenType.EQ:
            raise self.fail(
                token, "'=' after the attribute name", f"write {'.'.join(parts)} = <value>"
            )
        self.next()
        value, value_end = self.value()
        span = Span.of(self.p.source, key_span.start, value_end)
        if is_search_value(value):
            self.check_search_key(namespace, path, span)
        return Param(namespace=namespace, path=path, value=value, span=span)

    def check_search_key(self, namespace: str, path: str, span: Span) -> None:
        """SQLML130 for a search space where nothing samples it: outside TO TRAIN, outside
        ``model.*``/``train.*``, or on a setting that steers the search or the step itself."""
        key = f"{namespace}.{path}"
        if not self.allow_search:
            problem = "only TO TRAIN searches hyper-parameters"
        elif namespace not in TUNABLE_NAMESPACES:
            problem = "it is not a model or training parameter"
        elif namespace == "train" and path in UNTUNABLE_TRAIN_KEYS:
            problem = "it says how the step runs or the search goes, not what is learned"
        else:
            return
        self.p.error(
            codes.BAD_SEARCH_SPACE,
            f"a search space on '{key}': {problem}",
            span.start,
            span.end,
            hint="search model.* and train.* values of TO TRAIN, e.g. WITH model.max_depth = "
            "HPARAM_RANGE(2, 8), train.num_trials = 8",
        )

    def metric_check(self, tokens: list[Token]) -> MetricCheck:
        """``check.<metric> <op> <number>``: the metric is one EVALUATE computes (any
        spelling ``validation.metrics`` accepts), the threshold a number."""
        written = ".".join(t.text for t in tokens[1:])
        metric = self.gate_metric(written, tokens[1].start, tokens[-1].end + 1)
        usage = (
            f"write {CHECK_NAMESPACE}.{metric} >= 0.9 (comparisons: {', '.join(CHECK_OPERATORS)})"
        )
        token = self.peek()
        if token is None or token.token_type not in COMPARISONS:
            raise self.fail(token, f"a comparison after '{CHECK_NAMESPACE}.{written}'", usage)
        self.next()
        value_token = self.peek()
        following = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
        if (
            value_token is not None
            and value_token.token_type not in (*QUOTED, TokenType.NUMBER)
            and following is not None
            and following.token_type is TokenType.DOT
        ):
            return self.champion_check(tokens, metric, COMPARISONS[token.token_type])
        value, value_end = self.value()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            at = value_token or token
            self.p.error(
                codes.BAD_CHECK,
                f"the threshold of '{CHECK_NAMESPACE}.{metric}' must be a number",
                at.start,
                max(value_end, at.start + 1),
                hint=usage,
            )
            raise Abort
        return MetricCheck(
            metric=metric,
            op=COMPARISONS[token.token_type],
            threshold=value,
            span=Span.of(self.p.source, tokens[0].start, value_end),
        )

    def gate_metric(self, written: str, start: int, end: int) -> str:
        """The canonical metric a gate names (either side of it), SQLML113 otherwise."""
        metric = EVALUATION_METRICS.get(written.lower().replace("_", ""))
        if metric is None:
            known = sorted(set(EVALUATION_METRICS.values()))
            close = difflib.get_close_matches(written.lower(), list(EVALUATION_METRICS), n=1)
            hint = f"did you mean '{EVALUATION_METRICS[close[0]]}'? " if close else ""
            self.p.error(
                codes.BAD_CHECK,
                f"unknown metric '{written}' in a quality gate",
                start,
                end,
                hint=f"{hint}gates compare a metric EVALUATE computes: {', '.join(known)}",
            )
            raise Abort
        return metric

    def champion_check(self, tokens: list[Token], metric: str, op: str) -> MetricCheck:
        """``check.<metric> <op> champion.<metric> [+|- <margin>]``: the candidate against
        the version ``@champion`` names, on the same rows (SQLML153 for another form,
        SQLML113 for an unknown metric, as on the gate's own side)."""
        usage = (
            f"write {CHECK_NAMESPACE}.{metric} {op} {CHAMPION}.{metric} + 0.01 (the candidate "
            f"against the version @{CHAMPION} names, scored on the same rows)"
        )
        (base, *rest), span = self.dotted(f"{CHAMPION}.<metric>")
        if base.text.lower() != CHAMPION or len(rest) != 1:
            self.p.error(
                codes.BAD_CHAMPION_GATE,
                "a gate compares with "
                f"{CHAMPION}.<metric> or a number, not '{self.p.source.text[span.start : span.end]}'",
                span.start,
                span.end,
                hint=usage,
            )
            raise Abort
        other = self.gate_metric(rest[0].text, rest[0].start, rest[0].end + 1)
        if other != metric:
            self.p.error(
                codes.BAD_CHAMPION_GATE,
                f"'{CHECK_NAMESPACE}.{metric}' is compared with the champion's {other}: "
                "a champion-relative gate compares one metric",
                span.start,
                span.end,
                hint=usage,
            )
            raise Abort
        margin: int | float = 0
        end = span.end
        sign = self.peek()
        if sign is not None and sign.token_type in (TokenType.PLUS, TokenType.DASH):
            self.next()
            number = self.peek()
            if number is None or number.token_type is not TokenType.NUMBER:
                self.p.error(
                    codes.BAD_CHAMPION_GATE,
                    f"the margin after '{CHAMPION}.{metric} {sign.text}' must be a number",
                    (number or sign).start,
                    (number or sign).end + 1,
                    hint=usage,
                )
                raise Abort
            self.next()
            margin = self.number(number)
            margin = -margin if sign.token_type is TokenType.DASH else margin
            end = number.end + 1
        return MetricCheck(
            metric=metric,
            op=op,
            threshold=margin,
            span=Span.of(self.p.source, tokens[0].start, end),
            baseline=CHAMPION,
        )

    def directive(self, file_scope: bool) -> Directive:
        tokens, key_span = self.dotted("a directive name such as schedule or owner")
        key = ".".join(t.text for t in tokens)
        token = self.peek()
        if token is None or token.token_type is not TokenType.EQ:
            raise self.fail(token, "'=' after the directive name", f"write {key} = <value>")
        self.next()
        value, value_end = self.value()
        if is_search_value(value):
            self.p.error(
                codes.BAD_SEARCH_SPACE,
                f"a search space in the directive '{key}'",
                key_span.start,
                value_end,
                hint="directives take plain values; search spaces go in TO TRAIN's WITH",
            )
            raise Abort
        if (
            isinstance(value, str)
            and (token := self.peek()) is not None
            and token.token_type is TokenType.L_PAREN
            and self.tokens[self.i - 1].token_type not in QUOTED
        ):
            self.next()
            args, value_end = self.call_arguments("the call", comparisons=True)
            value = DirectiveCall(function=value, args=tuple(args))
        return Directive(
            key=key,
            value=value,
            span=Span.of(self.p.source, key_span.start, value_end),
            file_scope=file_scope,
        )

    def call_arguments(
        self, what: str, hint: str | None = None, *, comparisons: bool = False
    ) -> tuple[list[ParamValue], int]:
        """The values of a call after its ``(``, up to its ``)``; and where ``)`` ends.
        ``comparisons``: an argument may compare a name with a value (a directive's
        ``drift = warn(psi > 0.2)``)."""
        args: list[ParamValue] = []
        while True:
            if (token := self.peek()) is not None and token.token_type is TokenType.R_PAREN:
                return args, self.next().end + 1
            arg, _ = self.value()
            compared = self.peek()
            if (
                comparisons
                and isinstance(arg, str)
                and compared is not None
                and compared.token_type in COMPARISONS
            ):
                self.next()
                bound, _ = self.value()
                arg = DirectiveComparison(arg, COMPARISONS[compared.token_type], bound)
            args.append(arg)
            closing = self.peek()
            if closing is not None and closing.token_type is TokenType.COMMA:
                self.next()
            elif closing is None or closing.token_type is not TokenType.R_PAREN:
                raise self.fail(closing, f"',' or ')' in {what}", hint)

    def number(self, token: Token) -> int | float:
        try:
            return parse_number(token.text)
        except ValueError:
            raise self.fail(token, "a number", "write 10, 0.5 or 1e-3") from None

    def nest(self) -> None:
        """Guards the recursive rules (lists, nested feature columns, types)."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            token = self.peek() or self.tokens[-1]
            self.p.error(
                codes.ML_SYNTAX,
                f"nested more than {MAX_NESTING} levels deep",
                token.start,
                token.end + 1,
                hint="lists, feature columns and types nest at most this deep",
            )
            raise Abort

    def value(self) -> tuple[ParamValue, int]:
        self.nest()
        try:
            return self._value()
        finally:
            self.depth -= 1

    def _value(self) -> tuple[ParamValue, int]:
        """A typed literal; returns the value and the end offset of its last token."""
        token = self.next()
        tt = token.token_type
        if tt is TokenType.DASH or tt is TokenType.PLUS:
            number = self.next()
            if number.token_type is not TokenType.NUMBER:
                raise self.fail(number, "a number after the sign")
            value = self.number(number)
            return (-value if tt is TokenType.DASH else value), number.end + 1
        if tt is TokenType.NUMBER:
            return self.number(token), token.end + 1
        if tt in QUOTED:
            # SQLFlow writes strings in double quotes; many dialects tokenize those as
            # quoted identifiers, which in a WITH value can only mean a string.
            return token.text, token.end + 1
        if tt is TokenType.L_BRACKET:
            items: list[ParamValue] = []
            if (nxt := self.peek()) is not None and nxt.token_type is TokenType.R_BRACKET:
                return items, self.next().end + 1
            while True:
                item, _ = self.value()
                items.append(item)
                closing = self.next()
                if closing.token_type is TokenType.R_BRACKET:
                    return items, closing.end + 1
                if closing.token_type is not TokenType.COMMA:
                    raise self.fail(closing, "',' or ']' in a list")
        word = word_of(token)
        if word in ("TRUE", "FALSE"):
            return word == "TRUE", token.end + 1
        if word == "NULL":
            return None, token.end + 1
        nxt = self.peek()
        if (
            word in (RANGE_FUNCTION, CANDIDATES_FUNCTION)
            and nxt is not None
            and nxt.token_type is TokenType.L_PAREN
        ):
            return self.search_value(token)
        if tt in (
            TokenType.COMMA,
            TokenType.EQ,
            TokenType.R_BRACKET,
            TokenType.L_PAREN,
            TokenType.R_PAREN,
        ):
            raise self.fail(token, "a value (number, string, true/false, [list] or name)")
        # A bare word as SQLFlow's lexer reads one: letters, digits and `_ . : / -` with no
        # space between (`tf.nn.relu`, `reg:squarederror`, `registry:5000/team/img:v1`).
        self.i -= 1
        first = self.identifier("a name")
        last = first
        while (joined := self.peek()) is not None and joined.start == last.end + 1:
            if joined.token_type not in BARE_JOINERS and not _is_word(joined):
                break
            last = self.next()
        return self.p.source.text[first.start : last.end + 1], last.end + 1

    def search_value(self, name: Token) -> tuple[SearchValue, int]:
        """``HPARAM_RANGE(low, high[, log])`` or ``HPARAM_CANDIDATES([v, …])`` after its
        name: a search space, the whole of a ``WITH`` value (never inside a list)."""
        word = word_of(name)
        if self.depth > 1:
            self.p.error(
                codes.BAD_SEARCH_SPACE,
                f"{word}(…) inside a list",
                name.start,
                name.end + 1,
                hint=f"a search space is a whole WITH value: {SEARCH_USAGE}",
            )
            raise Abort
        self.next()  # (
        args, end = self.call_arguments(f"{word}(…)", SEARCH_USAGE)
        log = len(args) == 3 and str(args[2]).lower() == LOG_WORD  # the bare word log
        if word == RANGE_FUNCTION and log:
            args = args[:2]
        value: SearchValue | None = None
        if word == RANGE_FUNCTION and len(args) == 2:
            value = HparamRange(args[0], args[1], log=log)
            problem = value.problem()
        elif word == RANGE_FUNCTION:
            problem = f"it takes two bounds and optionally {LOG_WORD}"
        elif len(args) == 1 and isinstance(args[0], list):
            value = HparamCandidates(tuple(args[0]))
            problem = value.problem()
        else:
            problem = "it takes one [list] of values"
        if problem is not None:
            self.p.error(
                codes.BAD_SEARCH_SPACE,
                f"{word}: {problem}",
                name.start,
                end,
                hint=f"write {SEARCH_USAGE}",
            )
            raise Abort
        assert value is not None
        return value, end


def _is_word(token: Token) -> bool:
    """An unquoted word (a name or a keyword), not punctuation."""
    text = token.text
    return token.token_type not in QUOTED and bool(text) and text.replace("_", "a").isalnum()


def near_keyword(token: Token) -> str | None:
    """The clause keyword an unquoted word misspells (``LABLE`` → ``LABEL``), if any: close
    by edit similarity but not the keyword itself."""
    word = word_of(token)
    if len(word) < 3 or word in CLAUSE_KEYWORDS or not word.isalpha():
        return None
    close = difflib.get_close_matches(word, CLAUSE_KEYWORDS, n=1, cutoff=0.75)
    return close[0] if close else None
