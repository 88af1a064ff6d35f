"""Build ``tests/golden/sqlflow/upstream.sql`` from a checkout of SQLFlow's repository.

    git clone --bare https://github.com/sql-machine-learning/sqlflow /tmp/sqlflow
    python scripts/sqlflow_corpus.py /tmp/sqlflow > tests/golden/sqlflow/upstream.sql

Every ``SELECT … TO TRAIN|PREDICT|EVALUATE|EXPLAIN …`` statement found in the repository's
documentation (``doc/``: the language guide, tutorials, design notes, talks), its Go tests
(``go/``: parser, IR, code generators, end-to-end cases — string literals, Go's
``%[1]s`` placeholders replaced by names) and its Python tests, each written once with the
file it came from above it. Statements this version's compiler rejects are listed at the
end of the output as comments with the reason, so the corpus records both what conforms
and what does not; ``docs/language.md`` (SQLFlow conformance) explains each kind of gap.
Run by hand when the corpus is refreshed; nothing downloads at test time.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

STATEMENT = re.compile(r"\bTO\s+(TRAIN|PREDICT|EXPLAIN|EVALUATE)\b", re.IGNORECASE)
FENCES = ("```", "%%sqlflow")


def sources(repo: Path) -> list[tuple[str, str]]:
    """(path, text) of each documentation, Go and Python file at the repository's HEAD (a
    checkout or a bare clone: files are read from git, not the work tree)."""
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-r", "--name-only", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    out = []
    for name in listed:
        if not name.startswith(("doc/", "go/", "python/", "README.md")):
            continue
        if not name.endswith((".md", ".sql", ".go", ".py")):
            continue
        shown = subprocess.run(
            ["git", "-C", str(repo), "show", f"HEAD:{name}"], capture_output=True
        )
        if shown.returncode == 0:
            out.append((name, shown.stdout.decode("utf-8", "replace")))
    return out


def chunks(path: str, text: str) -> list[str]:
    """Where statements are written: Go and Python string literals, or the whole text."""
    if path.endswith(".go"):
        raw = re.findall(r"`([^`]*)`", text, re.S)
        quoted = re.findall(r'"((?:[^"\\\n]|\\.)*)"', text)
        return raw + [q.encode().decode("unicode_escape", "ignore") for q in quoted]
    if path.endswith(".py"):
        return re.findall(r'"""(.*?)"""', text, re.S) + re.findall(r"'''(.*?)'''", text, re.S)
    return [text]


def statements(chunk: str) -> list[str]:
    """Each ``SELECT … TO <verb> …`` of a chunk: from the SELECT after the previous ``;`` or
    code fence to the next ``;``, fence or blank line."""
    found = []
    for match in STATEMENT.finditer(chunk):
        before = chunk[: match.start()]
        ends = [before.rfind(";") + 1]
        ends += [at + len(f) for f in FENCES if (at := before.rfind(f)) >= 0]
        head = before[max(ends) :]
        select = re.search(r"\bSELECT\b", head, re.IGNORECASE)
        if select is None:
            continue
        after = chunk[match.start() :]
        end = re.search(r";|```|\n\s*\n", after)
        statement = head[select.start() :] + (after[: end.start()] if end else after)
        statement = re.sub(r"%\[(\d)\]s", lambda m: f"t{m.group(1)}", statement)
        statement = statement.replace("%s", "tx").replace("%d", "7").replace("%v", "tv")
        if "{{" in statement or "..." in statement or "…" in statement:
            continue  # a template or an elided example, not a statement
        found.append(statement.strip())
    return found


def main(repo: Path) -> None:
    from sqlml_dagster.compiler import parse_sql_file

    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    print(
        "-- SQLFlow's statements, as its repository writes them "
        f"(github.com/sql-machine-learning/sqlflow @ {head}),\n"
        "-- extracted by scripts/sqlflow_corpus.py; each one's source file is above it.\n"
        "-- Every statement here compiles without an error (tests/compiler/"
        "test_sqlflow_corpus.py).\n"
    )
    seen: set[str] = set()
    rejected: list[tuple[str, str, str]] = []
    for path, text in sources(repo):
        for chunk in chunks(path, text):
            for statement in statements(chunk):
                if statement in seen:
                    continue
                seen.add(statement)
                parsed, diagnostics = parse_sql_file("t.sql", statement + ";")
                errors = [d for d in diagnostics if d.is_error]
                kinds = [type(s).__name__ for s in parsed.statements]
                if errors or kinds == ["SqlStatement"] or len(kinds) != 1:
                    reason = errors[0].message if errors else "not one SQLFlow statement"
                    rejected.append((path, statement, reason))
                    continue
                print(f"-- {path}\n{statement};\n")
    print("-- Found upstream but not compiled here (prose fragments, design proposals the")
    print("-- grammar never accepted, and the gaps docs/language.md lists):")
    for path, statement, reason in rejected:
        first = statement.splitlines()[0][:70]
        print(f"--   {path}: {first!r}: {reason[:90]}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
