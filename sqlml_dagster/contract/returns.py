"""Rikai's ``CREATE MODEL … RETURNS <type>``: what ``ML_PREDICT`` of that model returns.

The compiler writes the type in one canonical lower-case spelling (``int``,
``array<float>``, ``struct<label:string, score:float>``); the register step keeps it in
the version's manifest (``params.returns.type``); ``ML_PREDICT`` returns it. One table
says what fills it, read by the compiler (SQLML136, at ``sqlml check``) and by the
orchestrator (SQLML536, when a value does not fit):

- a scalar type (``int``, ``bigint``, ``float``, ``double``, ``string``, ``boolean``…):
  the prediction, cast to it — a value that does not fit (``2.5`` as ``int``, ``'setosa'``
  as ``double``) fails;
- ``array<float|double>``: the class probabilities, in the version's class order;
- ``struct<…>``, each field by its name: ``label`` / ``prediction`` ← the prediction (a
  scalar type); ``score`` / ``probability`` ← the probability of the predicted class (a
  floating type); ``probabilities`` ← the class probabilities (``array<float|double>``).
  Probabilities need a classifier that gives them (``predict_proba``).

Stdlib only, as all of ``contract/``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Rikai's (Spark SQL's) scalar type names → the warehouse's (DuckDB) type.
SCALAR_TYPES: dict[str, str] = {
    "tinyint": "TINYINT",
    "byte": "TINYINT",
    "smallint": "SMALLINT",
    "short": "SMALLINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "long": "BIGINT",
    "float": "FLOAT",
    "real": "FLOAT",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "text": "VARCHAR",
    "boolean": "BOOLEAN",
    "bool": "BOOLEAN",
}
FLOATING = frozenset({"float", "real", "double"})

#: What fills a value: the prediction, the predicted class's probability, all of them.
PREDICTION, SCORE, PROBABILITIES = "prediction", "score", "probabilities"
#: A STRUCT field's name (lower case) → what fills it.
FIELD_SOURCES: dict[str, str] = {
    "label": PREDICTION,
    "prediction": PREDICTION,
    "score": SCORE,
    "probability": SCORE,
    "probabilities": PROBABILITIES,
}


@dataclass(frozen=True)
class ReturnType:
    """A parsed ``RETURNS`` type: a scalar ``name``, an ``array`` of ``item``, or a
    ``struct`` of named ``fields``."""

    name: str
    item: ReturnType | None = None
    fields: tuple[tuple[str, ReturnType], ...] = ()

    def __str__(self) -> str:
        if self.name == "array":
            return f"array<{self.item}>"
        if self.name == "struct":
            return "struct<" + ", ".join(f"{n}:{t}" for n, t in self.fields) + ">"
        return self.name

    def sql(self) -> str:
        """The warehouse's (DuckDB's) spelling: ``INTEGER``, ``FLOAT[]``,
        ``STRUCT("label" VARCHAR, "score" FLOAT)``."""
        if self.name == "array":
            assert self.item is not None
            return f"{self.item.sql()}[]"
        if self.name == "struct":
            inner = ", ".join(f'"{n}" {t.sql()}' for n, t in self.fields)
            return f"STRUCT({inner})"
        return SCALAR_TYPES[self.name]

    @property
    def sources(self) -> frozenset[str]:
        """What filling it needs: ``PREDICTION``, ``SCORE``, ``PROBABILITIES``."""
        if self.name == "struct":
            return frozenset(FIELD_SOURCES[n.lower()] for n, _ in self.fields)
        return frozenset({PROBABILITIES if self.name == "array" else PREDICTION})


def parse_return_type(text: str) -> ReturnType:
    """The canonical spelling (what the compiler writes) as a :class:`ReturnType`;
    ``ValueError`` for text that is not one."""
    parsed, rest = _parse(text.strip())
    if rest.strip():
        raise ValueError(f"unexpected {rest.strip()!r} in {text!r}")
    return parsed


def _parse(text: str) -> tuple[ReturnType, str]:
    head = text
    for i, ch in enumerate(text):
        if ch in "<>,":
            head = text[:i]
            break
    name, rest = head.strip().lower(), text[len(head) :]
    if name not in ("array", "struct"):
        return ReturnType(name), rest
    if not rest.startswith("<"):
        raise ValueError(f"{name} needs <…>")
    rest = rest[1:]
    if name == "array":
        item, rest = _parse(rest)
        if not rest.startswith(">"):
            raise ValueError("array<…> is not closed")
        return ReturnType("array", item=item), rest[1:]
    fields: list[tuple[str, ReturnType]] = []
    while True:
        field_name, colon, after = rest.partition(":")
        if not colon:
            raise ValueError("a struct field needs name:type")
        field_type, rest = _parse(after)
        fields.append((field_name.strip(), field_type))
        if rest.startswith(","):
            rest = rest[1:]
            continue
        if rest.startswith(">"):
            return ReturnType("struct", fields=tuple(fields)), rest[1:]
        raise ValueError("struct<…> is not closed")


def return_type_problems(returned: ReturnType) -> list[str]:
    """Why ``ML_PREDICT`` could not fill ``returned``, whatever the model: one line per
    problem, naming the field and the type (empty: it can)."""
    if returned.name == "struct":
        problems = []
        seen: set[str] = set()
        for name, field_type in returned.fields:
            key = name.lower()
            if key in seen:
                problems.append(f"field '{name}' is declared twice")
            seen.add(key)
            source = FIELD_SOURCES.get(key)
            if source is None:
                problems.append(
                    f"field '{name}' is not one ML_PREDICT fills (it fills "
                    f"{', '.join(FIELD_SOURCES)})"
                )
            else:
                problems.extend(f"field '{name}' {p}" for p in _fits(source, field_type))
        return problems
    source = PROBABILITIES if returned.name == "array" else PREDICTION
    return [f"the value {p}" for p in _fits(source, returned)]


def _fits(source: str, declared: ReturnType) -> list[str]:
    if source == PREDICTION:
        if declared.name not in SCALAR_TYPES:
            return [f"is {declared}: the prediction is one value ({_scalars()})"]
        return []
    if source == SCORE:
        if declared.name not in FLOATING:
            return [f"is {declared}: a probability is float or double"]
        return []
    if declared.name != "array" or declared.item is None or declared.item.name not in FLOATING:
        return [f"is {declared}: class probabilities are array<float> or array<double>"]
    return []


def _scalars() -> str:
    return ", ".join(dict.fromkeys(SCALAR_TYPES))
