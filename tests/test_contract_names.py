"""The naming rule's refusals as a person reads them (``contract/names.py``): every
message compared whole — which character is named and how, which part, how a long or
unprintable part is shown — where ``tests/compiler/test_names.py`` checks which names pass
and what the compiler reports (docs/testing.md, *Mutation testing*)."""

from __future__ import annotations

import pytest

from sqlml_dagster.contract.names import key_problem, name_problem, part_problem, printable

ONLY = "; a name holds ASCII letters, digits, '_' and '-' only"
DASH = "starts with '-'; a name starts with a letter, a digit or '_'"


@pytest.mark.parametrize(
    ("part", "problem"),
    [
        ("churn_2", None),
        ("", "is empty"),
        ("a" * 64, "is 64 characters long; a name part has at most 63"),
        ("-x", DASH),
        ("a.b", f"contains '.' inside a quoted part{ONLY}"),
        ("a\x00b", f"contains a NUL character{ONLY}"),
        ("a/b", f"contains '/' (a path separator){ONLY}"),
        ("a\\b", f"contains '\\' (a path separator){ONLY}"),
        ("a b", f"contains whitespace (U+0020){ONLY}"),
        ("a\u0430", f"contains the non-ASCII character '\u0430' (U+0430){ONLY}"),
        ("a$", f"contains '$'{ONLY}"),
        ("$a/", f"contains '/' (a path separator){ONLY}"),  # a path's piece named first
    ],
)
def test_a_part_s_whole_refusal(part: str, problem: str | None) -> None:
    assert part_problem(part) == problem


@pytest.mark.parametrize(
    ("parts", "problem"),
    [
        ([], "is empty"),
        (["-x"], DASH),  # one part: no need to say which
        (["s", "-x"], f"has a part '-x' that {DASH}"),
        # a long part is shown cut at 40 characters, the 40th an ellipsis
        (["s", "-" + "a" * 44], f"has a part '-{'a' * 38}…' that {DASH}"),
        (["s", "t\x01"], "has a part 't\\x01' that contains '\\x01'" + ONLY),
        (["a", "b", "c", "d"], "has 4 parts; a name has at most 3 (catalog.schema.name)"),
        (["c", "s", "t"], None),
    ],
)
def test_a_dotted_name_s_whole_refusal_names_its_part(
    parts: list[str], problem: str | None
) -> None:
    assert name_problem(parts) == problem


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("s.m", None),
        ("a..b", "has a part '' that is empty"),
        ("../x", f"contains '/' (a path separator){ONLY}"),
        ("s.-m", f"has a part '-m' that {DASH}"),
    ],
)
def test_a_store_key_s_whole_refusal(key: str, problem: str | None) -> None:
    assert key_problem(key) == problem


@pytest.mark.parametrize(
    ("name", "limit", "shown"),
    [
        ("a" * 60, None, "a" * 60),  # 60 characters by default
        ("a" * 61, None, "a" * 59 + "…"),
        ("abcd", 4, "abcd"),
        ("abcdef", 4, "abc…"),
        ("a\x00b", None, "a\\x00b"),
        ("a\tb", None, "a\\tb"),
        ("é", None, "é"),
    ],
)
def test_a_name_in_a_message_is_escaped_and_cut_to_its_limit(
    name: str, limit: int | None, shown: str
) -> None:
    assert (printable(name) if limit is None else printable(name, limit)) == shown
