"""Text → statements, on sqlglot's tokenizer and parser.

A file is tokenized once with the source dialect's tokenizer (so strings, comments and
dollar-quotes are respected), split at top-level semicolons, and each statement is then
either

* a SQLFlow statement — a query followed by a top-level ``TO TRAIN`` / ``TO PREDICT``:
  the query tokens go to sqlglot's parser, the tail to the small recursive-descent parser
  below, which reads the same tokens; or
* ordinary SQL, parsed by sqlglot and classified by what it creates or modifies.

No regular expression ever looks at SQL text.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.tokens import Token, TokenType

from . import codes
from .diagnostics import Diagnostic, Severity, SourceFile, Span
from .ir import (
    DEFAULT_PREDICTION_COLUMN,
    PARAM_NAMESPACES,
    MLStatement,
    ModelRef,
    ObjectKind,
    Param,
    ParamValue,
    PredictStatement,
    QualifiedName,
    SqlFile,
    SqlStatement,
    Statement,
    TrainStatement,
)

#: The verbs that may follow ``TO`` after a query. Later verbs (EVALUATE, EXPLAIN, RUN)
#: are recognised so they get a clear "not supported yet" instead of a syntax error.
ML_VERBS = ("TRAIN", "PREDICT")
FUTURE_VERBS = ("EVALUATE", "EXPLAIN", "RUN")

_QUOTED = (TokenType.STRING, TokenType.IDENTIFIER, TokenType.HEREDOC_STRING)


def parse_sql_file(
    path: str, text: str, dialect: str = "duckdb"
) -> tuple[SqlFile, list[Diagnostic]]:
    """Parse one file; never raises for bad SQL — problems come back as diagnostics."""
    source = SourceFile(path=path, text=text)
    parser = _FileParser(source, Dialect.get_or_raise(dialect))
    statements = parser.parse()
    return SqlFile(path=path, statements=tuple(statements)), parser.diagnostics


def split_statements(text: str, dialect: str = "duckdb") -> list[str]:
    """The statements of a script as source text, without their terminating semicolons."""
    d = Dialect.get_or_raise(dialect)
    tokens = d.tokenizer().tokenize(text)
    return [text[group[0].start : group[-1].end + 1] for group in _split_tokens(tokens)]


def _split_tokens(tokens: Sequence[Token]) -> list[list[Token]]:
    groups: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type is TokenType.SEMICOLON:
            groups.append([])
        else:
            groups[-1].append(token)
    return [g for g in groups if g]


class _Abort(Exception):
    """Stops parsing one statement after its diagnostic has been recorded."""


class _FileParser:
    def __init__(self, source: SourceFile, dialect: Dialect):
        self.source = source
        self.dialect = dialect
        self.diagnostics: list[Diagnostic] = []

    # -- diagnostics ------------------------------------------------------------------

    def error(
        self,
        code: str,
        message: str,
        start: int,
        end: int,
        hint: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> Diagnostic:
        diagnostic = Diagnostic(
            code=code,
            message=message,
            span=Span.of(self.source, start, end),
            hint=hint,
            severity=severity,
            source=self.source,
        )
        self.diagnostics.append(diagnostic)
        return diagnostic

    def span(self, first: Token, last: Token) -> Span:
        return Span.of(self.source, first.start, last.end + 1)

    # -- file level -------------------------------------------------------------------

    def parse(self) -> list[Statement]:
        tokenizer = self.dialect.tokenizer()
        try:
            tokens = tokenizer.tokenize(self.source.text)
        except TokenError as e:
            core = getattr(tokenizer, "_core", tokenizer)
            start = getattr(core, "_start", None)
            if not isinstance(start, int):
                start = e.start or 0
            self.error(
                codes.UNTERMINATED,
                "unterminated string, quoted identifier or comment",
                start,
                start + 1,
                hint="close the quote or comment that starts here; every statement after it is unreadable until then",
            )
            return []
        statements: list[Statement] = []
        for group in _split_tokens(tokens):
            try:
                statement = self.parse_statement(group)
            except _Abort:
                continue
            if statement is not None:
                statements.append(statement)
        return statements

    def parse_statement(self, tokens: list[Token]) -> Statement | None:
        to_index = self._find_ml_clause(tokens)
        if to_index is None:
            return self.parse_plain(tokens)
        if to_index == 0:
            t = tokens[0]
            self.error(
                codes.ML_SYNTAX,
                f"'TO {tokens[1].text.upper()}' needs a query before it",
                t.start,
                tokens[1].end + 1,
                hint="write the data to learn from first: SELECT … FROM … TO TRAIN …",
            )
            raise _Abort
        return self.parse_ml(tokens, to_index)

    def _find_ml_clause(self, tokens: list[Token]) -> int | None:
        """Index of a top-level ``TO`` followed by an ML verb, or None for plain SQL."""
        depth = 0
        for i, token in enumerate(tokens[:-1]):
            if token.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE):
                depth += 1
            elif token.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE):
                depth -= 1
            elif (
                depth == 0
                and _word(token) == "TO"
                and _word(tokens[i + 1]) in (*ML_VERBS, *FUTURE_VERBS)
            ):
                return i
        return None

    # -- plain SQL --------------------------------------------------------------------

    def parse_query_tokens(self, tokens: list[Token]) -> exp.Expr:
        try:
            trees = self.dialect.parser().parse(tokens, sql=self.source.text)
        except ParseError as e:
            self._report_parse_error(e, tokens)
            raise _Abort from None
        found = [t for t in trees if t is not None]
        if len(found) != 1:  # pragma: no cover - split guarantees one statement
            self.error(
                codes.SQL_SYNTAX,
                "expected exactly one statement",
                tokens[0].start,
                tokens[-1].end + 1,
            )
            raise _Abort
        return found[0]

    def _report_parse_error(self, error: ParseError, tokens: list[Token]) -> None:
        info = error.errors[0] if error.errors else {}
        line, col = info.get("line"), info.get("col")
        # sqlglot reports the line and the *last* column of the offending token.
        culprit = next((t for t in tokens if t.line == line and t.col == col), None)
        if culprit is None:
            culprit = tokens[-1]
        description = str(info.get("description") or error).split(". Line ")[0]
        self.error(
            codes.SQL_SYNTAX,
            f"syntax error: {description} near '{culprit.text}'",
            culprit.start,
            culprit.end + 1,
            hint=_syntax_hint(culprit, tokens),
        )

    def parse_plain(self, tokens: list[Token]) -> Statement | None:
        tree = self.parse_query_tokens(tokens)
        span = self.span(tokens[0], tokens[-1])
        text = self.source.text[span.start : span.end]
        fingerprint = token_fingerprint(tokens)
        if isinstance(tree, exp.Create):
            kind = str(tree.args.get("kind") or "").upper()
            if kind in ("TABLE", "VIEW"):
                target_table = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
                body = tree.expression
                return SqlStatement(
                    span=span,
                    fingerprint=fingerprint,
                    text=text,
                    tree=tree,
                    target=QualifiedName.of_table(target_table),
                    target_kind=ObjectKind.VIEW if kind == "VIEW" else ObjectKind.TABLE,
                    creates=True,
                    read_tables=tables_read(body) if body is not None else (),
                )
            return SqlStatement(
                span=span, text=text, fingerprint=fingerprint, tree=tree
            )  # CREATE SCHEMA/MACRO/…: session
        if isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge)):
            target = tree.this
            if isinstance(target, exp.Schema):
                target = target.this
            if not isinstance(target, exp.Table):
                self.error(
                    codes.UNSUPPORTED_STATEMENT,
                    "cannot tell which table this statement modifies",
                    span.start,
                    span.end,
                )
                raise _Abort
            name = QualifiedName.of_table(target)
            reads = tuple(t for t in tables_read(tree) if t.key != name.key)
            return SqlStatement(
                span=span,
                text=text,
                fingerprint=fingerprint,
                tree=tree,
                target=name,
                read_tables=reads,
            )
        if isinstance(tree, exp.Drop):
            self.error(
                codes.IGNORED_STATEMENT,
                "DROP is ignored in project files",
                span.start,
                span.end,
                hint="assets are replaced when they materialize, so `DROP … IF EXISTS` before a CREATE is not needed",
                severity=Severity.WARNING,
            )
            return None
        if isinstance(tree, exp.Query):
            self.error(
                codes.IGNORED_STATEMENT,
                "this query produces nothing and is ignored",
                span.start,
                span.end,
                hint="make it a table (`CREATE TABLE name AS …`) or an ML statement (`… TO TRAIN …`)",
                severity=Severity.WARNING,
            )
            return None
        # SET, PRAGMA, INSTALL/LOAD, ATTACH, CREATE SCHEMA/MACRO …: run before each asset of the file.
        return SqlStatement(span=span, text=text, fingerprint=fingerprint, tree=tree)

    # -- SQLFlow statements -----------------------------------------------------------

    def parse_ml(self, tokens: list[Token], to_index: int) -> MLStatement:
        query_tokens = tokens[:to_index]
        tree = self.parse_query_tokens(query_tokens)
        if not isinstance(tree, exp.Query):
            first = query_tokens[0]
            self.error(
                codes.ML_SYNTAX,
                "the statement before TO must be a query (SELECT …)",
                first.start,
                first.end + 1,
                hint="SQLFlow statements start with the SELECT that yields the training or prediction data",
            )
            raise _Abort
        tail = _Cursor(self, tokens, to_index + 1)
        verb_token = tail.next()
        verb = _word(verb_token)
        if verb in FUTURE_VERBS:
            self.error(
                codes.UNSUPPORTED_STATEMENT,
                f"TO {verb} is not supported yet",
                tokens[to_index].start,
                verb_token.end + 1,
                hint="this version compiles TO TRAIN and TO PREDICT",
            )
            raise _Abort
        common = {
            "span": self.span(tokens[0], tokens[-1]),
            "fingerprint": token_fingerprint(tokens),
            "text": self.source.text[tokens[0].start : tokens[-1].end + 1],
            "select": tree,
            "select_span": self.span(query_tokens[0], query_tokens[-1]),
            "read_tables": tables_read(tree),
        }
        if verb == "TRAIN":
            return self._train(tail, common)
        return self._predict(tail, common)

    def _train(self, c: _Cursor, common: dict[str, object]) -> TrainStatement:
        model_ref = c.model_reference()
        params = c.with_clause() if c.at_word("WITH") else ()
        label = None
        if c.at_word("LABEL"):
            c.next()
            label = c.identifier("a label column").text
        c.expect_word("INTO", "TO TRAIN … [WITH …] [LABEL <column>] INTO <model name>")
        into, into_span = c.qualified_name("a model name")
        c.expect_end()
        return TrainStatement(
            **common,  # type: ignore[arg-type]
            params=params,
            model=model_ref,
            label=label,
            into=into,
            into_span=into_span,
        )

    def _predict(self, c: _Cursor, common: dict[str, object]) -> PredictStatement:
        target, target_span = c.qualified_name("a result table (table.column)")
        column = DEFAULT_PREDICTION_COLUMN
        if len(target.parts) >= 2:
            # SQLFlow writes `TO PREDICT table.column`: the last part names the result column.
            column = target.parts[-1]
            target = QualifiedName(target.parts[:-1])
        params = c.with_clause() if c.at_word("WITH") else ()
        c.expect_word("USING", "TO PREDICT <table>.<column> [WITH …] USING <model>")
        using, using_span = c.qualified_name("a model name")
        c.expect_end()
        return PredictStatement(
            **common,  # type: ignore[arg-type]
            params=params,
            into=target,
            into_span=target_span,
            column=column,
            using=using,
            using_span=using_span,
        )


@dataclass
class _Cursor:
    """A position in one statement's tokens, with the small grammar of the SQLFlow tail."""

    p: _FileParser
    tokens: list[Token]
    i: int

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1]
            self.p.error(codes.ML_SYNTAX, "statement ends too early", last.end, last.end + 1)
            raise _Abort
        self.i += 1
        return token

    def at_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and _word(token) == word

    def fail(self, token: Token | None, expected: str, hint: str | None = None) -> _Abort:
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
            self.p.error(
                codes.ML_SYNTAX,
                f"expected {expected}, found '{token.text}'",
                token.start,
                token.end + 1,
                hint,
            )
        return _Abort()

    def expect_word(self, word: str, usage: str) -> Token:
        token = self.peek()
        if token is None or _word(token) != word:
            hint = f"the form is: {usage}"
            if token is not None and token.token_type not in _QUOTED:
                close = difflib.get_close_matches(token.text.upper(), [word], n=1, cutoff=0.6)
                if close:
                    hint = f"did you mean {close[0]}? The form is: {usage}"
            raise self.fail(token, word, hint)
        return self.next()

    def expect_end(self) -> None:
        token = self.peek()
        if token is not None:
            raise self.fail(token, "the end of the statement", "is a ';' missing before this?")

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

    def dotted(self, what: str) -> tuple[list[Token], Span]:
        """``a.b.c``: the name tokens and the span covering them."""
        tokens = [self.identifier(what)]
        while (token := self.peek()) is not None and token.token_type is TokenType.DOT:
            self.next()
            tokens.append(self.identifier(what))
        return tokens, self.p.span(tokens[0], tokens[-1])

    def qualified_name(self, what: str) -> tuple[QualifiedName, Span]:
        tokens, span = self.dotted(what)
        return QualifiedName(tuple(t.text for t in tokens)), span

    def model_reference(self) -> ModelRef:
        """``pkg.mod.Class``, optionally prefixed by a container image:
        ``registry.example.com:5000/team/models:1.2/my_models.MyClassifier`` or
        ``ghcr.io/org/img@sha256:<digest>/pkg.Model``.

        The reference is the run of tokens with no whitespace between them; the image is
        everything before its last ``/``.
        """
        nxt = self.peek()
        if nxt is not None and nxt.token_type is TokenType.NUMBER:  # 123456789012.dkr.ecr…/…
            first = self.next()
        else:
            first = self.identifier(
                "a model reference such as sklearn.ensemble.RandomForestClassifier"
            )
        last = first
        while (token := self.peek()) is not None and token.start == last.end + 1:
            last = self.next()
        text = self.p.source.text[first.start : last.end + 1]
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
            raise _Abort
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
                raise _Abort
        return ModelRef(reference=reference, image=image or None)

    def with_clause(self) -> tuple[Param, ...]:
        self.next()  # WITH
        params: list[Param] = []
        seen: dict[str, Param] = {}
        while True:
            param = self.attribute()
            if param.key in seen:
                self.p.error(
                    codes.DUPLICATE_PARAM,
                    f"'{param.key}' is set twice",
                    param.span.start,
                    param.span.end,
                    hint=f"the first value is at {seen[param.key].span.location()}",
                )
            seen[param.key] = param
            params.append(param)
            if (token := self.peek()) is not None and token.token_type is TokenType.COMMA:
                self.next()
                continue
            return tuple(params)

    def attribute(self) -> Param:
        tokens, key_span = self.dotted("an attribute name such as model.n_estimators")
        first, parts = tokens[0], [t.text for t in tokens]
        if len(parts) == 1:
            namespace, path = "model", parts[0]
        else:
            namespace, path = parts[0].lower(), ".".join(parts[1:])
            if namespace not in PARAM_NAMESPACES:
                close = difflib.get_close_matches(namespace, PARAM_NAMESPACES, n=1)
                hint = f"did you mean '{close[0]}.{path}'?" if close else None
                self.p.error(
                    codes.UNKNOWN_NAMESPACE,
                    f"unknown attribute namespace '{parts[0]}'",
                    first.start,
                    first.end + 1,
                    hint=(hint + " " if hint else "")
                    + f"namespaces are: {', '.join(PARAM_NAMESPACES)}",
                )
        token = self.peek()
        if token is None or token.token_type is not TokenType.EQ:
            raise self.fail(
                token, "'=' after the attribute name", f"write {'.'.join(parts)} = <value>"
            )
        self.next()
        value, value_end = self.value()
        return Param(
            namespace=namespace,
            path=path,
            value=value,
            span=Span.of(self.p.source, key_span.start, value_end),
        )

    def value(self) -> tuple[ParamValue, int]:
        """A typed literal; returns the value and the end offset of its last token."""
        token = self.next()
        tt = token.token_type
        if tt is TokenType.DASH or tt is TokenType.PLUS:
            number = self.next()
            if number.token_type is not TokenType.NUMBER:
                raise self.fail(number, "a number after the sign")
            value = _number(number.text)
            return (-value if tt is TokenType.DASH else value), number.end + 1
        if tt is TokenType.NUMBER:
            return _number(token.text), token.end + 1
        if tt in _QUOTED:
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
        word = _word(token)
        if word in ("TRUE", "FALSE"):
            return word == "TRUE", token.end + 1
        if word == "NULL":
            return None, token.end + 1
        if tt in (
            TokenType.COMMA,
            TokenType.EQ,
            TokenType.R_BRACKET,
            TokenType.L_PAREN,
            TokenType.R_PAREN,
        ):
            raise self.fail(token, "a value (number, string, true/false, [list] or name)")
        # A bare name, possibly dotted (e.g. an activation function `tf.nn.relu`).
        self.i -= 1
        tokens, span = self.dotted("a name")
        return ".".join(t.text for t in tokens), span.end


_DIGEST_ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}


def image_reference_problem(image: str) -> str | None:
    """Why ``image`` is not a valid OCI image reference, or None. (An image, not SQL.)"""
    name, at, digest = image.partition("@")
    if at:
        algorithm, colon, hexdigest = digest.partition(":")
        if not colon or algorithm not in _DIGEST_ALGORITHMS:
            return "a digest is written @sha256:<hex>"
        if len(hexdigest) != _DIGEST_ALGORITHMS[algorithm] or any(
            c not in "0123456789abcdef" for c in hexdigest
        ):
            return f"a {algorithm} digest has {_DIGEST_ALGORITHMS[algorithm]} lower-case hex digits"
    components = name.split("/")
    last = components[-1]
    if ":" in last:
        last, _, tag = last.partition(":")
        if (
            not tag
            or len(tag) > 128
            or not (tag[0].isalnum() or tag[0] == "_")
            or any(not (c.isalnum() or c in "._-") for c in tag)
        ):
            return f"invalid tag '{tag}'"
        components[-1] = last
    registry = (
        components[0]
        if len(components) > 1
        and ("." in components[0] or ":" in components[0] or components[0] == "localhost")
        else None
    )
    path = components[1:] if registry else components
    if registry is not None:
        host, _, port = registry.partition(":")
        if not host or (port and not port.isdigit()):
            return f"invalid registry '{registry}'"
    for component in path:
        if (
            not component
            or component != component.lower()
            or not component[0].isalnum()
            or any(not (c.isalnum() or c in "._-") for c in component)
        ):
            return f"invalid repository component '{component}' (lower-case letters, digits, '.', '_', '-')"
    return None


def token_fingerprint(tokens: Sequence[Token]) -> str:
    """sha256 of the statement's tokens: comments and layout never reach the tokens, unquoted
    names are compared lower-case as SQL does, strings and quoted names exactly."""
    digest = hashlib.sha256()
    for token in tokens:
        kind = token.token_type
        if kind in _QUOTED or kind is TokenType.NUMBER:
            text = token.text
        elif kind is TokenType.VAR:
            text = token.text.lower()
        else:
            text = token.text.upper()
        digest.update(f"{kind.name}\x1f{text}\x1e".encode())
    return digest.hexdigest()


def _word(token: Token) -> str:
    """The upper-cased text of an unquoted word token ('' for quoted or punctuation)."""
    if token.token_type in _QUOTED:
        return ""
    return token.text.upper()


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


_KEYWORDS_FOR_HINTS = (
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "ORDER",
    "JOIN",
    "LIMIT",
    "HAVING",
    "UNION",
    "TABLE",
    "INSERT",
)


def _syntax_hint(culprit: Token, tokens: list[Token]) -> str | None:
    close = difflib.get_close_matches(culprit.text.upper(), _KEYWORDS_FOR_HINTS, n=1, cutoff=0.75)
    if close and close[0] != culprit.text.upper():
        return f"did you mean {close[0]}?"
    # A misspelled keyword often parses as an alias and the error lands on the next token.
    index = tokens.index(culprit) if culprit in tokens else -1
    if index > 0:
        before = tokens[index - 1]
        close = difflib.get_close_matches(
            before.text.upper(), _KEYWORDS_FOR_HINTS, n=1, cutoff=0.75
        )
        if close and close[0] != before.text.upper():
            return f"did you mean {close[0]} instead of '{before.text}'?"
    return None


def tables_read(tree: exp.Expr) -> tuple[QualifiedName, ...]:
    """The tables a statement reads, in order of appearance, without CTE names and table functions.

    Uses sqlglot's scope analysis so a CTE shadows a table of the same name only where it
    is visible; falls back to a plain tree walk for statements scopes do not cover.
    """
    found: dict[str, QualifiedName] = {}

    def add(table: exp.Table) -> None:
        if isinstance(table.this, exp.Identifier) and not _is_file_reference(table):
            name = QualifiedName.of_table(table)
            found.setdefault(name.key, name)

    try:
        scopes = traverse_scope(tree) if isinstance(tree, exp.Query) else []
    except Exception:  # scope building rejects some valid-but-unusual trees
        scopes = []
    if scopes:
        for scope in scopes:
            for source in scope.sources.values():
                if isinstance(source, exp.Table):
                    add(source)
        return tuple(found.values())
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.db or table.name.lower() not in cte_names:
            add(table)
    return tuple(found.values())


def _is_file_reference(table: exp.Table) -> bool:
    """DuckDB reads files by quoted path: ``FROM 'data/x.parquet'`` is not a table."""
    ident = table.this
    return bool(
        isinstance(ident, exp.Identifier) and ident.quoted and any(c in ident.name for c in "./\\")
    )
