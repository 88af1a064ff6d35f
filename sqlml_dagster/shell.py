"""``sqlml run-sql "…"`` and the ``sqlml sql`` shell: SQL against a project's warehouse and
model catalog, outside Dagster.

* ``SHOW MODELS``, ``DESCRIBE MODEL m[@v]``, ``SHOW TRAIN m[@v]``, ``DROP MODEL [IF EXISTS] m``
  answer from the model store (:mod:`sqlml_dagster.catalog`);
* any other statement runs in the project's DuckDB warehouse, transpiled from the
  project's dialect, with ``ML_PREDICT(m[@v], …)`` scoring in-process as in table assets;
* ML statements (``… TO TRAIN``) are refused: they define assets, which Dagster
  materializes (``sqlml materialize`` or the UI), so that every version has a run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import dagster as dg

from .catalog import Catalog, ResultTable
from .compiler import codes
from .compiler.diagnostics import SqlMlCompileError
from .compiler.ir import (
    CatalogStatement,
    CreateModelStatement,
    DescribeModelStatement,
    DropModelStatement,
    MLStatement,
    QualifiedName,
    ShowModelsStatement,
    ShowTrainStatement,
)
from .compiler.manifest import ProjectManifest
from .compiler.parser import parse_query, parse_sql_file, split_statements
from .contract.lifecycle import Pin
from .ops.checks import project_gates
from .ops.model_functions import ModelFunctions
from .ops.scoring_worker import WorkerSetup
from .ops.storage import SqlMlStorage
from .store import Gate, ModelNotFound, ModelVersion
from .store.models import AliasNotFound, BadName, CorruptVersion
from .warehouses import FileScope, Warehouse

#: At most this many rows of a query are printed (the count says how many there were).
MAX_ROWS = 200


class ShellError(Exception):
    """A statement that cannot run; the message says why (no traceback)."""


@dataclass
class SqlSession:
    """A project's warehouse and model store, for statements typed by a person."""

    storage: SqlMlStorage
    warehouse: Warehouse | None
    dialect: str = "duckdb"
    #: Pinned versions by model key (``QualifiedName.key``, the store's key, like all
    #: below); ``None``: no project, so ``gc`` does not know them and refuses.
    pinned: dict[str, set[int]] | None = None
    #: Models the project's SQL defines: DROP MODEL warns that they come back.
    defined_models: set[str] = field(default_factory=set)
    #: The project's quality gates by model (``None``: no project; the store's records say).
    gates: dict[str, tuple[Gate, ...]] | None = None
    #: The files typed SQL may open: the working folder's (docs/security.md, "Files").
    files: FileScope = field(default_factory=lambda: FileScope.of_folder(Path.cwd()))

    @classmethod
    def of_projects(
        cls,
        storage: SqlMlStorage,
        warehouse: Warehouse | None,
        manifests: Sequence[ProjectManifest],
    ) -> SqlSession:
        """A session on the projects these manifests describe (several components can share
        one code location and store): their pins, gates and models by store key, and the
        first one's dialect. No manifest: no project, so the store's records say the gates."""
        if not manifests:
            return cls(storage=storage, warehouse=warehouse)
        pinned: dict[str, set[int]] = {}
        gates: dict[str, tuple[Gate, ...]] = {}
        for manifest in manifests:
            for model, versions in manifest.pins.items():
                pinned.setdefault(model, set()).update(versions)
            for model, found in project_gates(manifest.gates).items():
                gates[model] = (*gates.get(model, ()), *found)
        return cls(
            storage=storage,
            warehouse=warehouse,
            dialect=manifests[0].dialect,
            pinned=pinned,
            defined_models={m for manifest in manifests for m in manifest.models},
            gates=gates,
        )

    @property
    def catalog(self) -> Catalog:
        return Catalog(self.storage.models(), self.pinned, self.gates)

    def run(self, text: str) -> Iterator[ResultTable | str]:
        """Run every statement of ``text``; each yields a table or a message."""
        pieces = split_statements(text, self.dialect)
        if not pieces:
            return
        for piece in pieces:
            yield self.run_one(piece)

    def run_one(self, text: str) -> ResultTable | str:
        parsed, diagnostics = parse_sql_file("<sql>", text, self.dialect)
        errors = [d for d in diagnostics if d.is_error]
        if errors:
            raise SqlMlCompileError(errors)
        statement = parsed.statements[0] if parsed.statements else None
        try:
            if isinstance(statement, CatalogStatement):
                return self.catalog_statement(statement)
        except AliasNotFound as e:
            raise ShellError(f"{codes.ALIAS_NOT_FOUND}: {e}") from None
        except (ModelNotFound, CorruptVersion, ValueError) as e:
            raise ShellError(str(e)) from None
        if isinstance(statement, (MLStatement, CreateModelStatement)):
            raise ShellError(
                f"{type(statement).__name__.removesuffix('Statement')} statements define assets: "
                "put them in the project's SQL and materialize them (sqlml materialize, or the "
                "Dagster UI), so that every model version comes from a run"
            )
        return self.query(text)

    def catalog_statement(self, statement: CatalogStatement) -> ResultTable | str:
        catalog = self.catalog
        if isinstance(statement, ShowModelsStatement):
            return catalog.show_models()
        if isinstance(statement, DescribeModelStatement):
            return catalog.describe(statement.model.key, statement.version)
        if isinstance(statement, ShowTrainStatement):
            return catalog.show_train(statement.model.key, statement.version)
        assert isinstance(statement, DropModelStatement)
        name = statement.model.key
        count = catalog.drop(name, if_exists=statement.if_exists)
        note = (
            f"; {name} is still defined in the project and comes back when it materializes"
            if name in self.defined_models
            else ""
        )
        return f"dropped model {name} ({count} version{'s' if count != 1 else ''}){note}"

    def query(self, text: str) -> ResultTable | str:
        if self.warehouse is None:
            raise ShellError("no warehouse: name the project with -m MODULE to run SQL")
        tree = parse_query(text, self.dialect, path="<sql>")
        calls = ModelFunctions.for_statements(
            _Models(self.catalog),
            [tree],
            workers=WorkerSetup.local_step(
                store_env=self.storage.step_env(), model_store=self.storage.models().root_uri
            ),
        )
        try:
            with calls:
                answer = self.warehouse.query(
                    calls.rewritten[0],
                    functions=calls.functions,
                    limit=MAX_ROWS + 1,
                    files=self.files,
                )
        except self.warehouse.ERRORS as e:  # the engine's own message is the user's answer
            raise ShellError(str(e).strip()) from None
        if answer is None:
            return "ok"
        columns, rows = answer
        shown = tuple(tuple(r) for r in rows[:MAX_ROWS])
        title = f"(first {MAX_ROWS} rows)" if len(rows) > MAX_ROWS else ""
        return ResultTable(columns, shown, title=title)


@dataclass(frozen=True)
class _Models:
    """What :class:`ModelFunctions` asks of a step: a model version by name and pin."""

    catalog: Catalog

    def model_version(self, name: QualifiedName, version: Pin = None) -> ModelVersion:
        """``@latest`` of a gated model is the newest version that passed, as in a run."""
        try:
            gates = self.catalog.gates_of(name.key) if version is None else ()
            return self.catalog.store.get(name.key, version, gates=gates)
        except AliasNotFound as e:
            raise dg.Failure(description=f"{codes.ALIAS_NOT_FOUND}: {e}") from None
        except (ModelNotFound, CorruptVersion, BadName) as e:
            raise dg.Failure(description=str(e)) from None


def repl(
    session: SqlSession,
    show: Callable[[ResultTable | str], None],
    stdin: TextIO = sys.stdin,
    interactive: bool = True,
) -> int:
    """A small SQL shell: statements end with ``;``; ``\\q`` or an empty line at EOF quits."""
    if interactive:
        print(
            "sqlml sql — SQL on the project's warehouse and model catalog. End statements "
            "with ';'. SHOW MODELS; DESCRIBE MODEL m; SHOW TRAIN m; \\q quits.",
            file=sys.stderr,
        )
    buffer = ""
    failures = 0
    while True:
        if interactive:
            print(
                "sqlml> " if not buffer.strip() else "   ..> ", end="", file=sys.stderr, flush=True
            )
        line = stdin.readline()
        if not line:
            break
        if not buffer.strip() and line.strip() in ("\\q", "exit", "quit"):
            break
        buffer += line
        if not buffer.rstrip().endswith(";"):
            continue
        text, buffer = buffer, ""
        failures += run_and_show(session, text, show)
    if buffer.strip():
        failures += run_and_show(session, buffer, show)
    return 1 if failures else 0


def run_and_show(session: SqlSession, text: str, show: Callable[[ResultTable | str], None]) -> int:
    """Run statements, show each result; 1 if any failed (the reason is printed)."""
    try:
        for result in session.run(text):
            show(result)
    except SqlMlCompileError as e:
        print(e, file=sys.stderr)
        return 1
    except (ShellError, dg.Failure) as e:
        reason = e.description if isinstance(e, dg.Failure) else str(e)
        print(f"error: {reason}", file=sys.stderr)
        return 1
    return 0


__all__ = ["ShellError", "SqlSession", "repl", "run_and_show"]
