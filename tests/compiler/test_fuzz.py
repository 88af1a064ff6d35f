"""Property tests of the compiler's promise: bad input comes back as diagnostics, never as a
traceback, and quickly.

* ``parse_sql_file`` never raises, whatever the text; ``check_project`` never raises;
  ``compile_project`` raises nothing but :class:`SqlMlCompileError`.
* Every diagnostic renders, serializes to JSON, and points (file, line, column) inside the
  text it complains about.
* No input makes the compiler slow: each example has a hypothesis ``deadline`` and a hard
  wall-clock alarm that turns a hang into a failure with a traceback of where it hung.

``make test`` runs a few thousand examples, derandomized, so CI is deterministic.
``make fuzz`` sets ``SQLML_FUZZ_EXAMPLES`` (default 100000) and draws fresh random examples
on every run; a failure prints the falsifying text and an ``@reproduce_failure`` blob.
"""

from __future__ import annotations

import json
import os
import re
import signal
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sqlml_dagster.compiler import (
    Diagnostic,
    SqlFile,
    SqlMlCompileError,
    check_project,
    compile_project,
    parse_sql_file,
)

T = TypeVar("T")

# -- settings ---------------------------------------------------------------------------

FUZZ_EXAMPLES = int(os.environ.get("SQLML_FUZZ_EXAMPLES", "0") or "0")

#: A per-example deadline; parsing a few hundred characters takes milliseconds.
DEADLINE = timedelta(seconds=2)
#: A hang, not slowness: after this long the alarm interrupts the compiler.
HANG_SECONDS = 10.0

_COMMON = settings(
    deadline=DEADLINE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    # No .hypothesis/ folder in the working tree; a failure prints how to reproduce it.
    database=None,
    print_blob=True,
)
settings.register_profile("sqlml-ci", _COMMON, max_examples=1000, derandomize=True)
settings.register_profile(
    "sqlml-fuzz", _COMMON, max_examples=max(FUZZ_EXAMPLES, 1), derandomize=False
)
PROFILE = settings.get_profile("sqlml-fuzz" if FUZZ_EXAMPLES else "sqlml-ci")


def budget(share: float) -> settings:
    """The active profile with ``share`` of its examples (a project costs more than a parse)."""
    return settings(PROFILE, max_examples=max(1, int(PROFILE.max_examples * share)))


# -- the vocabulary ---------------------------------------------------------------------

#: The source dialects the docs name; DuckDB, the default, is drawn most often.
DIALECTS = (
    *("duckdb",) * 4, "bigquery", "postgres", "mysql", "snowflake", "spark", "trino", "hive",
)  # fmt: skip

KEYWORDS = (
    "SELECT", "FROM", "WHERE", "AS", "TO", "TRAIN", "PREDICT", "EVALUATE", "EXPLAIN", "RUN",
    "WITH", "LABEL", "INTO", "USING", "COLUMN", "FOR", "CREATE", "OR", "REPLACE", "TABLE",
    "VIEW", "INSERT", "UPDATE", "DELETE", "SET", "MODEL", "FLAVOR", "MODEL_TYPE", "OPTIONS",
    "RETURNS", "SHOW", "DESC", "DESCRIBE", "DROP", "MODELS", "ML_PREDICT", "NUMERIC",
    "EMBEDDING", "CATEGORY_ID", "TRUE", "FALSE", "NULL", "JOIN", "ON", "GROUP", "BY",
    "UNION", "IF", "EXISTS", "feature_columns",
)  # fmt: skip

NAMES = ("iris", "t", "m", "s", "a", "b", "c", "y", "class", "model", "train", "to", "into")

DOTTED = (
    "iris.train", "iris.test", "iris_pred.class", "sklearn.ensemble.RandomForestClassifier",
    "sklearn.svm.SVC", "model.n_estimators", "model.hidden_units", "train.epoch",
    "validation.select", "modle.C", "tf.nn.relu", "a.b.c.d", "a..b", ".a", "a.",
    "ghcr.io/org/img:1.2/pkg.Model", "registry.example.com:5000/team/models:1.2/m.M",
    "ghcr.io/org/img@sha256:abc/pkg.M", "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1/p.M",
    "Team/Img:/p.M", "img:/x", "/pkg.M", "a/b/", "localhost:x/y/p.M",
)  # fmt: skip

PUNCTUATION = (
    "[", "]", "(", ")", ",", "=", ";", ".", "/", ":", "@", "-", "+", "*", "<", ">", "!", "{",
    "}", "$", "?", "%", "|", "&", "#", "\\", "::", "->", "=>", "||", ";;", "$$", "$1",
)  # fmt: skip

QUOTES = (
    "'", '"', "`", "'unterminated", '"unterminated', "/*", "*/", "--", "$$", "$tag$", "'''",
    "E'\\'", "x'", "r'", "e'",
)  # fmt: skip

#: What str.splitlines() treats as a line boundary besides "\n" and "\r".
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")

NEWLINES = ("\n", "\r\n", "\r", "\t", "\x0c", "\x0b", "\x85", "\u2028", "\x00")

identifier = st.one_of(
    st.sampled_from(NAMES), st.from_regex(r"[A-Za-z_][A-Za-z0-9_$]{0,8}", fullmatch=True)
)
number = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(("1e5", "1e", ".5", "5.", "0x1F", "1_000", "00", "1.2.3", "1e999", "-0")),
    # Lexically odd numbers: exponents without digits, underscores, suffixes.
    st.from_regex(
        r"[0-9]{1,3}(\.[0-9]{0,2})?([eE][+-]?[0-9_]{0,2})?[_0-9a-zA-Z]{0,2}", fullmatch=True
    ),
)
string_body = st.text(st.characters(codec="utf-8"), max_size=8)
string = st.one_of(
    string_body.map(lambda s: "'" + s.replace("'", "''") + "'"),
    string_body.map(lambda s: '"' + s.replace('"', '""') + '"'),
    string_body.map(lambda s: "`" + s.replace("`", "``") + "`"),
    string_body.map(lambda s: "$$" + s.replace("$", "") + "$$"),
)
comment = st.one_of(
    string_body.map(lambda s: "-- " + s.replace("\n", " ") + "\n"),
    string_body.map(lambda s: "/* " + s.replace("*/", "") + " */"),
)
any_char = st.characters(codec="utf-8")
token = st.one_of(
    st.sampled_from(KEYWORDS),
    st.sampled_from(KEYWORDS).map(str.lower),
    identifier,
    st.sampled_from(DOTTED),
    st.lists(identifier, min_size=2, max_size=4).map(".".join),
    number,
    string,
    st.sampled_from(PUNCTUATION),
    st.sampled_from(QUOTES),
    comment,
    st.sampled_from(NEWLINES),
    any_char,
)
#: Adjacent tokens matter (a model reference is the run of tokens with no space between).
separator = st.sampled_from((" ", " ", " ", "", "\n", "  ", "\t"))

token_stream = st.lists(st.tuples(token, separator), max_size=40).map(
    lambda pairs: "".join(t + s for t, s in pairs)
)

# -- valid statements and their mutations -----------------------------------------------

VALID = (
    "SELECT * FROM iris.train TO TRAIN sklearn.ensemble.RandomForestClassifier "
    "WITH model.n_estimators = 10 LABEL class INTO iris_rf;",
    "SELECT * FROM iris.test TO PREDICT iris_pred.class USING iris_rf;",
    "CREATE TABLE t AS SELECT a FROM s;",
    "CREATE OR REPLACE VIEW v AS SELECT a, b FROM t WHERE b > 1;",
    "SELECT * FROM t TO TRAIN DNNClassifier WITH model.hidden_units = [10, 20] "
    'COLUMN NUMERIC(a, 1), EMBEDDING(CATEGORY_ID(c, 100), 8, "mean") FOR feature_columns '
    "LABEL y INTO m;",
    "CREATE MODEL m FLAVOR sklearn OPTIONS (a = 1) USING 'file:///tmp/m.skops';",
    "CREATE MODEL m FLAVOR sklearn MODEL_TYPE classifier RETURNS STRUCT<a INT> USING 'x';",
    "SELECT id, ML_PREDICT(m, a, b) AS p FROM t;",
    "SHOW MODELS;",
    "DESCRIBE MODEL m;",
    "DROP MODEL m;",
    'SELECT * FROM t TO EVALUATE m WITH validation.metrics = "Accuracy" LABEL y INTO e;',
    "SELECT * FROM t TO EXPLAIN m WITH explain.plot_type = bar USING TreeExplainer;",
    'SELECT * FROM t TO RUN my_image:v1 CMD "main.py", "--a=1" INTO out, out2;',
    "SELECT * FROM t TO MAXIMIZE SUM((p - c) * x) CONSTRAINT SUM(x) <= 10 GROUP BY k, x <= m "
    'WITH variables = "x(k)", var_type = "Integers" USING glpk INTO r;',
    "WITH tr AS (SELECT * FROM h WHERE split = 'train') SELECT a, b FROM tr "
    "TO TRAIN ghcr.io/org/img:1.2/my_models.M WITH model.C = -0.5, train.seed = 3, "
    "model.x = [[1, 2], []], model.act = tf.nn.relu, model.n = NULL, model.ok = true INTO m2;",
    "INSERT INTO t SELECT * FROM s;",
    "UPDATE t SET a = 1 WHERE b = 2;",
    "DELETE FROM t WHERE a IS NULL;",
    "SET threads = 4;",
    "CREATE TABLE raw AS SELECT * FROM read_csv('../data/x.csv'); -- a comment\n",
    "/* block */ SELECT a FROM t TO PREDICT out USING m;",
    "SELECT * FROM census TO TRAIN DNNLinearCombinedClassifier "
    "COLUMN CROSS([education, occupation], 1000), CATEGORY_ID(gender, 2) FOR linear_feature_columns "
    "COLUMN NUMERIC(age, 1), BUCKET(NUMERIC(hours, 1), [10, 20, 40]), "
    "DENSE(v, [2, 3], COMMA), SPARSE(s, 10, ',', int64), INDICATOR(CATEGORY_HASH(c, 8)) "
    "FOR dnn_feature_columns LABEL label INTO wide_deep;",
    "SHOW TRAIN iris_rf;",
    "SELECT * FROM t TO EXPLAIN m USING TreeExplainer INTO e;",
    'SELECT * FROM t TO RUN ghcr.io/org/img:1 CMD "a", "b" INTO o;',
    "CREATE TABLE scored AS SELECT id, ML_PREDICT(iris_rf, a, b) AS p FROM t;",
    "CREATE MODEL IF NOT EXISTS r RETURNS ARRAY<STRUCT<box:box2d, score:float>> USING 'r.skops';",
)

#: Words, numbers, quoted strings, comments, whitespace runs and single characters.
_PIECES = re.compile(
    r"""\s+|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|'[^']*'|"[^"]*"|--[^\n]*|/\*.*?\*/|.""",
    re.DOTALL,
)
_OPS = (
    "delete_token", "duplicate_token", "swap_tokens", "insert_token", "replace_token",
    "delete_char", "duplicate_char", "swap_chars", "insert_char", "truncate",
)  # fmt: skip

mutation = st.tuples(
    st.sampled_from(_OPS),
    st.integers(0, 1 << 16),
    st.integers(0, 1 << 16),
    st.one_of(token, any_char),
)


def mutate(text: str, op: tuple[str, int, int, str]) -> str:
    """Apply one edit; positions are taken modulo the length, so every draw is valid."""
    kind, i, j, new = op
    if kind.endswith("_token") or kind == "swap_tokens":
        pieces = _PIECES.findall(text) or [""]
        i, j = i % len(pieces), j % len(pieces)
        if kind == "delete_token":
            del pieces[i]
        elif kind == "duplicate_token":
            pieces.insert(i, pieces[i])
        elif kind == "swap_tokens":
            pieces[i], pieces[j] = pieces[j], pieces[i]
        elif kind == "insert_token":
            pieces.insert(i, f" {new} ")
        else:
            pieces[i] = new
        return "".join(pieces)
    n = len(text) + 1
    i, j = i % n, j % n
    if kind == "delete_char":
        return text[:i] + text[i + 1 :]
    if kind == "duplicate_char":
        return text[: i + 1] + text[i:]
    if kind == "swap_chars":
        lo, hi = sorted((i, j))
        if hi >= len(text):
            return text
        return text[:lo] + text[hi] + text[lo + 1 : hi] + text[lo] + text[hi + 1 :]
    if kind == "insert_char":
        return text[:i] + new + text[i:]
    return text[:i]  # truncate


@st.composite
def mutated_statements(draw: st.DrawFn) -> str:
    base = draw(st.lists(st.sampled_from(VALID), min_size=1, max_size=3))
    text = draw(st.sampled_from(("\n", " ", "\n\n", ""))).join(base)
    for op in draw(st.lists(mutation, min_size=1, max_size=6)):
        text = mutate(text, op)
    return text


# -- SQLFlow statements from the grammar, with junk where a piece should be -------------


#: Junk that leaves the rest of the statement readable: no quotes, comments or line breaks.
tame_token = st.one_of(
    st.sampled_from(KEYWORDS),
    identifier,
    st.sampled_from(DOTTED),
    number,
    st.sampled_from(PUNCTUATION),
)


def junk_or(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly ``strategy``; sometimes nothing, junk, or the piece glued to junk."""
    return st.sampled_from((0,) * 12 + (1, 2, 3, 4)).flatmap(
        lambda k: (
            strategy,
            st.just(""),
            tame_token,
            st.tuples(strategy, tame_token).map("".join),
            token,
        )[k]
    )


value = st.recursive(
    st.one_of(
        number,
        number.map(lambda n: "-" + n),
        string,
        st.sampled_from(("TRUE", "false", "NULL", "tf.nn.relu", "adam", "+", "-", "=", ",")),
    ),
    lambda inner: st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
    max_leaves=8,
)
namespace = st.sampled_from(("model", "train", "validation", "predict", "explain", "modle", ""))
attribute = st.tuples(namespace, identifier, junk_or(st.just("=")), junk_or(value)).map(
    lambda t: f"{t[0]}.{t[1]} {t[2]} {t[3]}" if t[0] else f"{t[1]} {t[2]} {t[3]}"
)
with_clause = st.lists(attribute, min_size=1, max_size=4).map(lambda xs: "WITH " + ", ".join(xs))
model_reference = st.one_of(
    st.sampled_from(DOTTED), identifier, st.lists(identifier, min_size=1, max_size=4).map(".".join)
)
query = st.one_of(
    st.sampled_from(
        (
            "SELECT * FROM t",
            "SELECT a, b FROM s WHERE a > 1",
            "WITH c AS (SELECT * FROM t) SELECT * FROM c",
            "SELECT * FROM t UNION ALL SELECT * FROM u",
            "SELECT * FROM 'data/x.parquet'",
            "CREATE TABLE x AS SELECT 1",
            "SELECT",
            "",
        )
    ),
    st.sampled_from(VALID).map(lambda s: s.split(" TO ")[0].rstrip(";")),
    token_stream.map(lambda s: "SELECT " + s),
)


mostly_space = st.sampled_from((" ",) * 8 + ("\n", "  ", ""))


FEATURE_FUNCTIONS = (
    "NUMERIC", "CATEGORY_ID", "SEQ_CATEGORY_ID", "CATEGORY_HASH", "EMBEDDING", "BUCKET",
    "CROSS", "INDICATOR", "DENSE", "SPARSE", "NUMERICS", "embedding",
)  # fmt: skip
feature = st.recursive(
    st.one_of(identifier, number, string, st.sampled_from(("mean", "sqrtn", "COMMA", "int64"))),
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(FEATURE_FUNCTIONS), st.lists(inner, max_size=4)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
    ),
    max_leaves=8,
)
column_clause = st.tuples(
    st.lists(junk_or(feature), min_size=1, max_size=3),
    st.one_of(st.just(""), junk_or(identifier).map(lambda t: "FOR " + t)),
).map(lambda t: "COLUMN " + ", ".join(t[0]) + " " + t[1])


@st.composite
def sqlflow_statements(draw: st.DrawFn) -> str:
    """``<query> TO <verb> …`` following the grammar of each verb, with junk here and there."""
    verbs = ("TRAIN", "TRAIN", "PREDICT", "PREDICT", "EVALUATE", "EXPLAIN", "RUN")
    verb = draw(junk_or(st.sampled_from(verbs)))
    pieces = [draw(query), "TO", verb, draw(junk_or(model_reference))]

    def maybe(*optional: st.SearchStrategy[str]) -> None:
        if draw(st.booleans()):
            pieces.extend(draw(junk_or(piece)) for piece in optional)

    if verb == "PREDICT":
        maybe(with_clause)
        pieces += [draw(junk_or(st.just("USING"))), draw(junk_or(model_reference))]
    elif verb == "EVALUATE":
        maybe(with_clause)
        maybe(st.just("LABEL"), identifier)
        pieces += [draw(junk_or(st.just("INTO"))), draw(junk_or(model_reference))]
    elif verb == "EXPLAIN":
        maybe(with_clause)
        maybe(st.just("USING"), identifier)
        maybe(st.just("INTO"), model_reference)
    elif verb == "RUN":
        maybe(st.lists(string, min_size=1, max_size=3).map(lambda xs: "CMD " + ", ".join(xs)))
        maybe(st.just("INTO"), model_reference)
    else:
        maybe(with_clause)
        for clause in draw(st.lists(column_clause, max_size=2)):
            pieces.append(clause)
        maybe(st.just("LABEL"), identifier)
        pieces += [draw(junk_or(st.just("INTO"))), draw(junk_or(model_reference))]
    pieces.append(draw(st.sampled_from((";", ";", "", "; ;", ") ;"))))
    return "".join(piece + draw(mostly_space) for piece in pieces)


data_type = st.recursive(
    st.sampled_from(("INT", "float", "STRING", "box2d", "DOUBLE", "VARCHAR(10)", "")),
    lambda inner: st.one_of(
        inner.map(lambda t: f"ARRAY<{t}>"),
        st.lists(st.tuples(identifier, inner), min_size=1, max_size=3).map(
            lambda fields: "STRUCT<" + ", ".join(f"{n}:{t}" for n, t in fields) + ">"
        ),
    ),
    max_leaves=6,
)


@st.composite
def model_statements(draw: st.DrawFn) -> str:
    """Rikai's statements (CREATE/DESCRIBE/SHOW/DROP MODEL, ML_PREDICT) and SHOW TRAIN."""
    kind = draw(st.sampled_from(("create", "create", "catalog", "ml_predict")))
    if kind == "create":
        pieces = [
            draw(st.sampled_from(("CREATE", "CREATE OR REPLACE"))),
            "MODEL",
            draw(st.sampled_from(("", "IF NOT EXISTS"))),
            draw(junk_or(model_reference)),
        ]
        options = st.lists(attribute, max_size=3).map(lambda xs: "OPTIONS (" + ", ".join(xs) + ")")
        for keyword, argument in (
            ("FLAVOR", identifier),
            ("MODEL_TYPE", model_reference),
            ("", options),
            ("RETURNS", data_type),
            ("USING", string),
        ):
            if draw(st.booleans()):
                pieces += [keyword, draw(junk_or(argument))]
    elif kind == "catalog":
        words = ("SHOW MODELS", "SHOW TRAIN", "DESC MODEL", "DESCRIBE MODEL", "DROP MODEL")
        pieces = [
            draw(st.sampled_from(words)),
            draw(st.sampled_from(("", "IF EXISTS"))),
            draw(junk_or(model_reference)),
        ]
    else:
        arguments = st.lists(junk_or(st.one_of(identifier, number, string)), max_size=3)
        call = st.tuples(junk_or(model_reference), arguments).map(
            lambda t: "ML_PREDICT(" + ", ".join([t[0], *t[1]]) + ")"
        )
        pieces = [
            draw(st.sampled_from(("CREATE TABLE p AS", "CREATE VIEW p AS", "INSERT INTO p", ""))),
            "SELECT",
            draw(call),
            "AS y FROM t",
            draw(st.sampled_from(("", "TO PREDICT q.c USING m", "WHERE ML_PREDICT(m, a) > 0"))),
        ]
    pieces.append(draw(st.sampled_from((";", "", "; ;"))))
    return "".join(piece + draw(mostly_space) for piece in pieces)


#: Deep nesting: parentheses, subqueries, NOT chains, WITH lists, each closed or not.
NESTING_TEMPLATES = (
    ("SELECT {open}1{close};", "(", ")"),
    ("SELECT * FROM {open}t{close};", "(SELECT * FROM ", ")"),
    ("SELECT {open}TRUE{close};", "NOT ", ""),
    ("SELECT * FROM t TO TRAIN a.B WITH model.a = {open}1{close} INTO m;", "[", "]"),
    ("SELECT {open}1{close} FROM t TO PREDICT p.c USING m;", "(", ")"),
    ("CREATE TABLE x AS SELECT {open}1{close};", "-(", ")"),
    ("SELECT * FROM t TO TRAIN a.B COLUMN {open}a{close} INTO m;", "[", "]"),
    ("SELECT * FROM t TO TRAIN a.B COLUMN {open}a{close} INTO m;", "INDICATOR(", ")"),
    ("CREATE MODEL m OPTIONS (a = {open}1{close}) USING 'm.skops';", "[", "]"),
    ("CREATE MODEL m RETURNS {open}INT{close} USING 'm.skops';", "ARRAY<", ">"),
    ("CREATE TABLE x AS SELECT {open}a{close} FROM t;", "ML_PREDICT(m, ", ")"),
)


@st.composite
def nested_statements(draw: st.DrawFn) -> str:
    template, opener, closer = draw(st.sampled_from(NESTING_TEMPLATES))
    # Shallow nesting, and deeper than any recursion limit: hypothesis raises Python's
    # (1000 by default) by about 2000 while a test runs.
    depth = draw(st.one_of(st.integers(1, 100), st.integers(900, 4000)))
    closed = draw(st.integers(0, depth))
    return template.format(open=opener * depth, close=closer * closed)


# -- the checks -------------------------------------------------------------------------


class _Hang(BaseException):
    """Raised by the alarm; a BaseException so no ``except Exception`` in the compiler eats it."""


@contextmanager
def no_hang(what: str) -> Iterator[None]:
    """Fail (with the traceback of where it was) if the body runs longer than HANG_SECONDS."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        yield
    except _Hang as e:
        raise AssertionError(f"{what} did not return within {HANG_SECONDS:.0f} s") from e
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_diagnostics(diagnostics: list[Diagnostic], texts: dict[str, str]) -> None:
    """Each renders and serializes; each span lies inside the text of its file."""
    for d in diagnostics:
        rendered = d.render()
        assert isinstance(rendered, str)
        assert d.code in rendered
        payload = d.to_json()
        json.dumps(payload)
        span = d.span
        if span is None:
            continue
        assert span.file in texts, f"{d.code} points at unknown file {span.file!r}"
        text = texts[span.file]
        lines = text.split("\n")
        where = f"{d.code} at {span.location()} (start={span.start}, end={span.end})"
        assert 0 <= span.start <= len(text), where
        assert span.start < span.end, where
        assert 1 <= span.line <= len(lines), where
        assert 1 <= span.col <= len(lines[span.line - 1]) + 1, where
        # line/col describe ``start``, and the JSON says the same.
        before = text[: span.start]
        assert span.line == before.count("\n") + 1, where
        assert span.col == span.start - (before.rfind("\n") + 1) + 1, where
        assert (payload["file"], payload["line"], payload["column"]) == (
            span.file,
            span.line,
            span.col,
        )
        if span.start < len(text) and text[span.start] not in LINE_BREAKS:
            check_caret(d, text)
    if diagnostics:
        str(SqlMlCompileError(diagnostics))  # the message a user sees renders them all


def check_caret(d: Diagnostic, text: str) -> None:
    """The rendered excerpt is the span's line, and the caret sits under its first character."""
    assert d.span is not None
    if d.source is None:
        return
    rendered = d.render().split("\n")
    gutter = str(d.span.line)
    pad = " " * len(gutter)
    i = rendered.index(f"{pad} |")
    excerpt = rendered[i + 1].removeprefix(f"{gutter} | ")
    caret = rendered[i + 2].removeprefix(f"{pad} | ")
    where = f"{d.code} at {d.span.location()}: {excerpt!r} / {caret!r}"
    column = caret.index("^")
    assert column == d.span.col - 1, where
    assert excerpt[column : column + 1] == text[d.span.start], where


def check_parse(text: str, dialect: str = "duckdb") -> None:
    path = "sql/fuzz.sql"
    result = run_compiler("parse_sql_file", lambda: parse_sql_file(path, text, dialect))
    if result is None:
        return
    sql_file, diagnostics = result
    assert isinstance(sql_file, SqlFile)
    assert isinstance(diagnostics, list)
    check_diagnostics(diagnostics, {path: text})
    for statement in sql_file.statements:
        span = statement.span
        assert 0 <= span.start < span.end <= len(text)
        assert statement.text == text[span.start : span.end]


def run_compiler(what: str, call: Callable[[], T]) -> T | None:
    """``call()`` under the hang alarm; None if it failed with one of KNOWN_CRASHES."""
    try:
        with no_hang(what):
            return call()
    except Exception as e:
        name = known_crash(e)
        if name is None:
            raise
        event(f"known crash: {name}")
        return None


# -- known crashes ----------------------------------------------------------------------
#
# KNOWN FAILURES found by this file and not fixed yet. While they stand, the properties
# tolerate exactly these, and count them (`make fuzz` prints the counts as hypothesis
# events), so the suite stays green and the search goes on for new ones. test_known_crash
# pins a minimal input of each as a strict xfail: when a fix lands it XPASSes and fails;
# then move the input to FIXED_CRASHES and delete its entry here.
#
# (name, exception type, a function of sqlml_dagster.compiler on its traceback)
KNOWN_CRASHES: tuple[tuple[str, type[BaseException], str], ...] = ()

COMPILER_DIR = str(Path(parse_sql_file.__code__.co_filename).parent)


def known_crash(error: BaseException) -> str | None:
    """The KNOWN_CRASHES entry ``error`` is, or None for anything new."""
    functions = {
        frame.f_code.co_name
        for frame, _ in traceback.walk_tb(error.__traceback__)
        if COMPILER_DIR in frame.f_code.co_filename
    }
    for name, kind, function in KNOWN_CRASHES:
        if type(error) is kind and function in functions:
            return name
    return None


KNOWN_CRASH_INPUTS: list[Any] = []


@pytest.mark.skipif(not KNOWN_CRASH_INPUTS, reason="no known crashes")
@pytest.mark.parametrize(("text", "dialect"), KNOWN_CRASH_INPUTS or [("", "duckdb")])
def test_known_crash(text: str, dialect: str) -> None:
    """Each known crash, minimized; must come back as diagnostics once fixed."""
    _, diagnostics = parse_sql_file("sql/fuzz.sql", text, dialect)
    assert any(d.is_error for d in diagnostics)
    check_diagnostics(diagnostics, {"sql/fuzz.sql": text})


#: Crashes this file found, minimized, that are fixed: they stay diagnostics.
FIXED_CRASHES = [
    # int() and float() both rejected the NUMBER token "1e" (ValueError in _number).
    pytest.param("SELECT * FROM t TO TRAIN a.B WITH model.a = 1e INTO m;", "duckdb", id="1e"),
    # sqlglot's parser overflowed Python's stack at about 45 nested parentheses.
    pytest.param("SELECT " + "(" * 50 + "1" + ")" * 50 + ";", "duckdb", id="parentheses"),
    # _Cursor.value recursed once per '[' of a WITH list.
    pytest.param(
        "SELECT * FROM t TO TRAIN a.B WITH model.a = " + "[" * 10_000 + "1 INTO m;",
        "duckdb",
        id="with-list",
    ),
    # sqlglot's MySQL parser indexed past the last token of a truncated SHOW (IndexError).
    pytest.param("SHOW CREATE", "mysql", id="mysql-show"),
    # _retokenize_command re-read the text after SHOW (one STRING token in BigQuery, Spark,
    # Hive, Trino) with DuckDB's tokenizer outside any TokenError handler.
    pytest.param("SHOW $$", "bigquery", id="show-retokenized"),
]


@pytest.mark.parametrize(("text", "dialect"), FIXED_CRASHES)
def test_fixed_crash(text: str, dialect: str) -> None:
    check_parse(text, dialect)
    _, diagnostics = parse_sql_file("sql/fuzz.sql", text, dialect)
    assert diagnostics  # an error, or a warning that the statement is ignored


@pytest.fixture(scope="module", autouse=True)
def warm_up() -> None:
    """Load every dialect once, so the first example is not charged for imports."""
    for dialect in set(DIALECTS):
        with suppress(Exception):  # the properties below report it, with a minimal input
            parse_sql_file("warm.sql", "\n".join(VALID), dialect)


# -- the properties ---------------------------------------------------------------------


@budget(1.0)
@given(text=token_stream, dialect=st.sampled_from(DIALECTS))
@pytest.mark.slow
def test_token_streams_only_produce_diagnostics(text: str, dialect: str) -> None:
    check_parse(text, dialect)


@budget(1.0)
@given(text=mutated_statements(), dialect=st.sampled_from(DIALECTS))
def test_mutated_statements_only_produce_diagnostics(text: str, dialect: str) -> None:
    check_parse(text, dialect)


@budget(1.0)
@given(text=st.one_of(sqlflow_statements(), model_statements()), dialect=st.sampled_from(DIALECTS))
def test_ml_statements_only_produce_diagnostics(text: str, dialect: str) -> None:
    check_parse(text, dialect)


@budget(0.1)
@given(text=nested_statements())
def test_deep_nesting_only_produces_diagnostics(text: str) -> None:
    check_parse(text)


@budget(0.5)
@given(text=st.text(any_char, max_size=200))
def test_arbitrary_text_only_produces_diagnostics(text: str) -> None:
    check_parse(text)


#: Statements with an error in the middle of their line.
BROKEN = (
    "SELECT * FROM t TO TRAIN x.Y WITH model.C 1 INTO m;",
    "SELECT a FORM t WHERE;",
    "SELECT * FROM t TO PREDICT p.c USING;",
)


@budget(0.05)
@given(
    statements=st.lists(st.sampled_from(VALID + BROKEN), min_size=2, max_size=4),
    line_break=st.sampled_from(sorted(LINE_BREAKS | {"\r\n"})),
)
def test_caret_with_unusual_line_breaks(statements: list[str], line_break: str) -> None:
    """The excerpt is the span's line whatever ends the lines: an excerpt once split at every
    str.splitlines() boundary while positions counted only "\\n" (fixed; found here)."""
    text = line_break.join(statements)
    _, diagnostics = parse_sql_file("sql/fuzz.sql", text)
    for d in diagnostics:
        if (
            d.span is not None
            and d.span.start < len(text)
            and text[d.span.start] not in LINE_BREAKS
        ):
            check_caret(d, text)


statement_text = st.one_of(
    st.sampled_from(VALID),
    mutated_statements(),
    sqlflow_statements(),
    model_statements(),
    token_stream,
)
file_text = st.lists(statement_text, min_size=1, max_size=4).map("\n".join)
#: Relative paths under the SQL folder; one in a subfolder, one not UTF-8 at all.
file_names = st.lists(
    st.sampled_from(("a.sql", "b.sql", "marts/c.sql", "d.SQL", "bad.sql")),
    min_size=1,
    max_size=3,
    unique=True,
)


@budget(0.1)
@given(names=file_names, data=st.data())
def test_projects_only_produce_diagnostics(names: list[str], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory(prefix="sqlml-fuzz-") as tmp:
        root = Path(tmp) / "sql"
        for name in names:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if name == "bad.sql":
                path.write_bytes(b"SELECT \xff\xfe FROM t;")
            else:
                path.write_text(data.draw(file_text, label=name), encoding="utf-8")
        # What the compiler reads: read_text() turns \r\n and \r into \n.
        texts = {}
        for path in root.rglob("*.sql"):
            with suppress(UnicodeDecodeError):  # bad.sql: the compiler reports SQLML001
                texts[f"sql/{path.relative_to(root).as_posix()}"] = path.read_text("utf-8")

        checked = run_compiler("check_project", lambda: check_project(root, "duckdb"))
        if checked is None:
            return
        project, diagnostics = checked
        check_diagnostics(diagnostics, texts)
        has_errors = project is None or any(d.is_error for d in diagnostics)

        try:
            with no_hang("compile_project"):
                compile_project(root, "duckdb")
        except SqlMlCompileError as e:
            assert has_errors, "compile_project raised but check_project found no error"
            check_diagnostics(e.diagnostics, texts)
        else:
            assert not has_errors, "check_project found errors but compile_project passed"
