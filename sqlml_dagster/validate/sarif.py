"""``sqlml check --format sarif``: diagnostics as a SARIF 2.1.0 log for code scanning.

GitHub (``github/codeql-action/upload-sarif``) and other code-scanning tools read SARIF;
each diagnostic becomes a *result* of the *rule* named by its code, located by a path
relative to the repository root (the directory ``sqlml check`` runs in) and a region
whose columns are 1-based with an exclusive end, as SARIF counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..compiler import codes
from ..compiler.diagnostics import Diagnostic

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
DOCS = "https://github.com/sqlml-dagster/sqlml-dagster/blob/main/docs/diagnostics.md"


def rules() -> list[dict[str, Any]]:
    """One rule per stable code in ``compiler/codes.py``, named after its constant."""
    found = []
    for constant, code in sorted(vars(codes).items(), key=lambda item: str(item[1])):
        if not constant.isupper() or not isinstance(code, str) or not code.startswith("SQLML"):
            continue
        words = constant.lower().split("_")
        found.append(
            {
                "id": code,
                "name": "".join(w.capitalize() for w in words),
                "shortDescription": {"text": " ".join(words).capitalize()},
                "helpUri": f"{DOCS}#{_anchor(code)}",
            }
        )
    return found


def _anchor(code: str) -> str:
    """The section of docs/diagnostics.md that lists the code."""
    if code.startswith("SQLML43"):  # an alias when a step runs, not a deep check
        return "errors-when-a-step-runs"
    return "deep-checks-sqlml-check" if code.startswith("SQLML4") else "diagnostics"


def sarif_log(located: Sequence[tuple[str | None, Diagnostic]], *, version: str) -> dict[str, Any]:
    """The SARIF log of ``(path relative to the repository root, diagnostic)`` pairs; the
    path is None only when a diagnostic names no file (then the checked folder is given)."""
    table = rules()
    index = {rule["id"]: i for i, rule in enumerate(table)}
    results = []
    for uri, d in located:
        result: dict[str, Any] = {
            "ruleId": d.code,
            "level": "error" if d.is_error else "warning",
            "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
        }
        if d.code in index:
            result["ruleIndex"] = index[d.code]
        if uri is not None:
            physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}}
            if d.span is not None:
                physical["region"] = _region(d)
            result["locations"] = [{"physicalLocation": physical}]
        results.append(result)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "sqlml",
                        "informationUri": DOCS,
                        "version": version,
                        "rules": table,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def _region(d: Diagnostic) -> dict[str, int]:
    span = d.span
    assert span is not None
    if d.source is not None:
        end_line, end_column = d.source.position(span.end)
    else:  # same line, as wide as the span
        end_line, end_column = span.line, span.col + max(1, span.end - span.start)
    return {
        "startLine": span.line,
        "startColumn": span.col,
        "endLine": end_line,
        "endColumn": end_column,
    }
