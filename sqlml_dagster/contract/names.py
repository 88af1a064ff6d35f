"""The one naming rule for tables, models and every other asset a project names.

A name becomes several things at once: a Dagster asset key (``^[A-Za-z0-9_]+$`` after
``-`` becomes ``_``), a folder of the model store (``<store>/<model>/<version>/`` on a disk
or S3), a Kubernetes label (63 characters), a warehouse identifier (PostgreSQL cuts
identifiers at 63 bytes, silently). A name that one of them refuses or changes must be
refused where it is written, so the compiler (``sqlml check``: SQLML117 at file:line:col)
and the model store (every path it joins: :func:`sqlml_dagster.store.paths`) apply this
rule — the store again, so that no caller (the CLI, a hand-written StepSpec) can name a
folder outside it.

One part (``schema`` or ``table`` of ``schema.table``):

- ASCII letters, digits, ``_`` and ``-`` only — no ``.``, ``/``, ``\\``, NUL, space or
  any non-ASCII character (a Cyrillic ``\\u0430`` looks like a Latin ``a``);
- starts with a letter, a digit or ``_`` (``-x`` reads like a command-line option);
- at most :data:`NAME_MAX` (63) characters.

A whole name has at most :data:`PARTS_MAX` (3: ``catalog.schema.table``) parts.
"""

from __future__ import annotations

import re

#: The longest part of a name: a Kubernetes label value and a PostgreSQL identifier.
NAME_MAX = 63
#: ``catalog.schema.table``.
PARTS_MAX = 3

_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def part_problem(part: str) -> str | None:
    """Why one part of a name breaks the rule (``None``: it follows it)."""
    if not part:
        return "is empty"
    if len(part) > NAME_MAX:
        return f"is {len(part)} characters long; a name part has at most {NAME_MAX}"
    if _PART.fullmatch(part):
        return None
    return _characters_problem(part) or (
        "starts with '-'; a name starts with a letter, a digit or '_'"
    )


def _characters_problem(text: str, also: str = "") -> str | None:
    """Which character of ``text`` no name may hold (a path's pieces named first)."""
    bad = [c for c in text if not (c.isascii() and (c.isalnum() or c in "_-" + also))]
    if not bad:
        return None
    worst = next((c for c in "\x00/\\" if c in bad), bad[0])
    return f"contains {_shown(worst)}; a name holds ASCII letters, digits, '_' and '-' only"


def name_problem(parts: tuple[str, ...] | list[str]) -> str | None:
    """Why a (dotted) name breaks the rule, naming the part (``None``: it follows it)."""
    if not parts:
        return "is empty"
    if len(parts) > PARTS_MAX:
        return f"has {len(parts)} parts; a name has at most {PARTS_MAX} (catalog.schema.name)"
    for part in parts:
        problem = part_problem(part)
        if problem is not None:
            return (
                problem if len(parts) == 1 else f"has a part '{printable(part, 40)}' that {problem}"
            )
    return None


def key_problem(key: str) -> str | None:
    """Why a dotted store key (``schema.model``) breaks the rule; ``None`` when it follows it.
    A separator, NUL or other wrong character is named before the parts are looked at
    (``../x`` contains '/', rather than an empty part)."""
    return _characters_problem(key, also=".") or name_problem(key.split("."))


def normalized(parts: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """What a name becomes as a Dagster asset key: lower-case, ``-`` as ``_``. Two names
    with the same normal form collide (``"a-b"`` and ``a_b``)."""
    return tuple(p.lower().replace("-", "_") for p in parts)


def _shown(c: str) -> str:
    if c == "\x00":
        return "a NUL character"
    if c in "/\\":
        return f"'{c}' (a path separator)"
    if c == ".":
        return "'.' inside a quoted part"
    if c.isspace():
        return f"whitespace (U+{ord(c):04X})"
    if not c.isascii():
        return f"the non-ASCII character {c!r} (U+{ord(c):04X})"
    return f"{c!r}"


def printable(name: str, limit: int = 60) -> str:
    """A name as a one-line message can show it: control characters escaped (NUL as
    ``\\x00``), cut after ``limit`` characters."""
    shown = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in name
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
