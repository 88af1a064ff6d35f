"""``WITH model.*`` against the constructor of the class each TRAIN statement names.

Where a signature comes from, cheapest first:

1. SQLFlow's built-in names (``DNNClassifier``…): the ``__init__`` of the class in
   ``runtime/flavors/_torch_builtins.py``, read with :mod:`ast` — torch is not imported.
2. A class or function defined in the project's ``models/`` folder with an explicit
   constructor: read with :mod:`ast` too (a TensorFlow model module costs seconds to import,
   its source microseconds). The module's unconditional top-level imports are located with
   ``importlib`` (not run), so a missing dependency is still reported.
3. The on-disk cache: earlier answers, keyed by the interpreter, the reference and a stamp of
   the code it comes from (the installed package's ``__init__`` file, or the digest of the
   ``models/`` folder's ``.py`` files).
4. An installed package's source, following its re-exports (``sklearn.ensemble`` →
   ``sklearn/ensemble/_forest.py``): scikit-learn's estimators declare their parameters
   in an explicit constructor (``get_params`` reads it), and importing
   ``sklearn.ensemble`` alone costs a second. A test checks that this agrees with
   importing for every estimator it settles.
5. Everything else is imported in **one** child process for all classes
   (``sqlml_dagster/_import_signatures.py``) — but only a reference in an allowed model
   package (``contract/model_packages.py``: the built-ins, the project's ``models/``, the
   ``allowed_model_packages`` setting): a module named only in SQL is never imported, its
   statement has SQLML209 from the compiler instead. For a project of up to
   ``PREFETCH_BYTES`` of SQL it starts before compilation, with the allowed references the
   files' tokens show after ``TO TRAIN``, so importing (seconds for a framework) overlaps
   compiling; the compiled statements then add what the scan missed. It answers line by
   line; ``import_timeout`` after the compiled project's requests it is stopped and what
   it did not answer is reported as not checked (SQLML404). What it imported is listed in
   the check's report (:attr:`ModelChecks.imported_modules`).

Each way also tells whether the reference is a model at all — a model class or a marked
factory (``contract.model_kind``) — and one that is not (a plain function such as
``sklearn.utils.estimator_checks.check_estimator``, a class of another kind) is SQLML412.

The signature logic itself is ``contract.ConstructorSignature``, which the runtime uses when
it constructs the model, so ``sqlml check`` and a step agree on what is accepted.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import difflib
import functools
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError

from ..compiler import codes
from ..compiler.diagnostics import Diagnostic, Severity
from ..compiler.ir import ModelRef, Param, TrainStatement
from ..compiler.project import Project
from ..compiler.tokens import tokenizer_for
from ..contract import BUILTIN_ESTIMATORS, XGBOOST, ConstructorSignature, did_you_mean
from ..contract.model_packages import (
    FACTORY_DECORATOR,
    MODEL_KINDS,
    MODELS_DIR,
    MODELS_LIST,
    ModelPackages,
    find_models_dir,
)
from ..contract.settings import SETTINGS_KEYS, SQLFLOW_ESTIMATORS, runtime_model_keys
from ..contract.xgboost_params import (
    XGBOOST_ESTIMATORS,
    accepted_model_params,
    ignored_model_params,
    xgboost_estimator,
)
from ..frameworks import framework_not_installed
from ._spans import Sources, key_span, reference_span

#: Bump when the meaning of a cached answer changes (2: only models are cached).
CACHE_VERSION = 2
#: Projects with at most this much SQL are scanned for model references before compiling.
PREFETCH_BYTES = 256_000
_BUILTINS_FILE = (
    Path(__file__).resolve().parent.parent / "runtime" / "flavors" / "_torch_builtins.py"
)
_ESTIMATOR_BASES = ("BaseEstimator", "ClassifierMixin", "RegressorMixin", "ClusterMixin")
#: Base classes whose name, read from source, says a class is a model (the runtime checks
#: the real hierarchy again): scikit-learn's estimator bases, ``nn.Module``, Keras' ``Model``,
#: ``Layer`` and ``Sequential``.
_MODEL_BASES = frozenset({*_ESTIMATOR_BASES, "Module", "Model", "Layer", "Sequential"})
#: Bases read from source that make nothing a model.
_PLAIN_BASES = frozenset(
    {"object", "dict", "list", "tuple", "set", "str", "int", "float", "Exception"}
)


@dataclass(frozen=True)
class Answer:
    """What is known about one model reference: its signature, or why there is none."""

    signature: ConstructorSignature | None = None
    error: str | None = None
    timed_out: bool = False
    #: Why the reference is not a model (a plain function, a class of another kind).
    not_model: str | None = None


def default_cache_dir() -> Path:
    """``$SQLML_CACHE_DIR``, else ``$XDG_CACHE_HOME/sqlml``, else ``~/.cache/sqlml``."""
    if os.environ.get("SQLML_CACHE_DIR"):
        return Path(os.environ["SQLML_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sqlml"


class ModelChecks:
    """Resolve every TRAIN statement's model class, then check its ``WITH model.*``.

    Made for the SQL path before it is compiled: :meth:`prefetch` may start importing the
    classes the files name while the compiler runs; :meth:`start` asks for whatever the
    compiled project needs beyond that; :meth:`finish` waits (at most ``import_timeout``
    after :meth:`start`) and returns the diagnostics."""

    def __init__(
        self,
        sql_path: Path,
        *,
        imports: bool = True,
        import_timeout: float = 60.0,
        cache_dir: Path | None = None,
        packages: ModelPackages | None = None,
    ):
        self.sql_path = sql_path
        self.imports = imports
        self.import_timeout = import_timeout
        self.models_dir = find_models_dir(sql_path)
        #: What may be imported: the compiled project's model packages (the compiler has
        #: reported every reference outside them).
        self.packages = packages or ModelPackages.of_project(sql_path)
        self.cache = _Cache(cache_dir / "check-signatures.json") if cache_dir else None
        self.answers: dict[str, Answer] = {}
        self.statements: list[TrainStatement] = []
        self.dialect = "duckdb"
        self.sources: Sources | None = None
        self._keys: dict[str, str] = {}
        self._requested: set[str] = set()
        self._worker: _Worker | None = None
        self._folder_stamp: str | None = None

    def prefetch(self, dialect: str, budget_bytes: int = PREFETCH_BYTES) -> None:
        """Start importing the classes that ``TO TRAIN`` names in the files, before they
        are compiled, so the imports overlap compilation. Only a head start: the compiled
        statements decide what is checked, and a large project (over ``budget_bytes`` of
        SQL, where compiling dominates anyway) is not scanned twice."""
        if self.imports:
            found = prefetch_references(self.sql_path, dialect, budget_bytes)
            self._request(r for r in found if self.packages.permits(r))

    def start(self, project: Project, sources: Sources) -> None:
        """Answer what can be answered at once; send the rest to the import process."""
        self.dialect = project.dialect
        self.sources = sources
        self.packages = project.model_packages
        self.statements = [  # one outside the model packages has SQLML209 already
            s
            for f in project.files
            for s in f.statements
            if isinstance(s, TrainStatement)
            and s.model.reference
            and ("." not in s.model.reference or self.packages.permits(s.model.reference))
        ]
        needed = list(dict.fromkeys(s.model.reference for s in self.statements))
        if self.imports:
            self._request(needed)
        else:
            for reference in needed:
                self._known(reference)
        if self._worker is not None:
            self._worker.close_requests()

    def _request(self, references: Iterable[str]) -> None:
        for reference in references:
            if reference in self._requested or self._known(reference) is not None:
                continue
            if not self.packages.permits(reference):
                continue  # never imported: the compiler reports it (SQLML209)
            self._requested.add(reference)
            if self._worker is None:
                self._worker = _Worker(self.models_dir, self.import_timeout, self.packages)
            self._worker.ask(reference)

    def _known(self, reference: str) -> Answer | None:
        """An answer without importing: built-ins and project-local source, the cache,
        or an installed package's source."""
        if reference in self.answers:
            return self.answers[reference]
        answer = self._answer_at_once(reference)
        if answer is None:
            key = self._cache_key(reference)
            if key:
                self._keys[reference] = key
                cached = self.cache.get(key) if self.cache else None
                answer = Answer(signature=cached) if cached is not None else None
            if answer is None and key:  # unkeyed: the package cannot be found; import says why
                estimator = ModelRef(reference).flavor == "sklearn"
                answer = _from_installed(reference, estimator)
                if answer is not None and answer.signature is not None and self.cache:
                    self.cache.put(key, answer.signature)  # only models have a signature
        if answer is not None:
            self.answers[reference] = answer
        return answer

    @property
    def imported(self) -> tuple[str, ...]:
        """The references handed to the import process, in order (none when every class
        was read from source or the cache)."""
        return tuple(self._worker.references) if self._worker is not None else ()

    @property
    def imported_modules(self) -> tuple[str, ...]:
        """The modules the import process imported (or was asked to), for the report."""
        return tuple(dict.fromkeys(r.rpartition(".")[0] for r in self.imported))

    def abandon(self) -> None:
        """Stop a started import process: the project did not compile."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def finish(self) -> list[Diagnostic]:
        if self._worker is not None:
            for reference, answer in self._worker.wait().items():
                self.answers.setdefault(reference, answer)
                key = self._keys.get(reference)
                if self.cache and key and answer.signature is not None:
                    self.cache.put(key, answer.signature)
        if self.cache:
            self.cache.save()
        found: list[Diagnostic] = []
        for statement in self.statements:
            known = self.answers.get(statement.model.reference)
            if known is not None:
                found += self._diagnose(statement, known)
        return found

    # -- answers without importing ------------------------------------------------------

    def _answer_at_once(self, reference: str) -> Answer | None:
        if ModelRef(reference).flavor == XGBOOST:
            return _xgboost_answer(reference)
        if "." not in reference:
            if reference in BUILTIN_ESTIMATORS:
                builtin = _from_source(_BUILTINS_FILE, reference, reference, None)
                if builtin is not None and builtin.error is not None:  # torch is missing
                    return Answer(
                        error=f"{reference} runs on PyTorch, which is not installed here "
                        "(pip install 'sqlml-dagster[pytorch]')"
                    )
                return builtin
            return Answer(error=_unknown_estimator(reference))
        local = self._local_file(reference)
        if local is not None:
            return _from_source(local, reference.rpartition(".")[2], reference, self.models_dir)
        return None

    def _local_file(self, reference: str) -> Path | None:
        """The file defining ``reference``'s module in the project's models/ folder."""
        if self.models_dir is None:
            return None
        parts = reference.split(".")[:-1]
        folder = self.models_dir.joinpath(*parts)
        for candidate in (folder.with_suffix(".py"), folder / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    def _cache_key(self, reference: str) -> str | None:
        """None when there is nothing stable to key on (the package cannot be found)."""
        top = reference.split(".", 1)[0]
        stamp: Any
        if self.models_dir is not None and (
            (self.models_dir / f"{top}.py").is_file() or (self.models_dir / top).is_dir()
        ):
            if self._folder_stamp is None:
                self._folder_stamp = _folder_digest(self.models_dir)
            stamp = ["models", self._folder_stamp]
        else:
            try:
                spec = importlib.util.find_spec(top)
            except (ImportError, ValueError):
                return None
            if spec is None:
                return None
            where = spec.origin or ",".join(sorted(spec.submodule_search_locations or []))
            try:
                stat = os.stat(spec.origin) if spec.origin and os.path.isfile(spec.origin) else None
            except OSError:
                stat = None
            stamp = [where, stat.st_mtime_ns if stat else 0, stat.st_size if stat else 0]
        raw = json.dumps([CACHE_VERSION, sys.executable, sys.version, reference, stamp])
        return hashlib.sha256(raw.encode()).hexdigest()

    # -- diagnostics ----------------------------------------------------------------------

    def _diagnose(self, statement: TrainStatement, answer: Answer) -> list[Diagnostic]:
        given = {p.path: p for p in statement.params if p.namespace == "model"}
        signature = answer.signature
        ignored: list[Diagnostic] = []
        if signature is not None and not signature.estimator:
            runtime_keys = runtime_model_keys(statement.model.reference)
            for key in runtime_keys - set(signature.parameters):
                given.pop(key, None)  # model.optimizer: the runtime builds the optimizer
        if statement.model.flavor == XGBOOST:
            ignored = self._ignored_xgboost(statement, given)
        if signature is not None and not (
            signature.unknown(given) or signature.missing(given, signature.offered())
        ):
            return ignored  # the common case: the file is not read again
        dialect = self.dialect
        source = self.sources.get(statement.span.file) if self.sources else None
        reference = statement.model.reference
        image = statement.model.image
        if answer.not_model is not None:
            return [
                Diagnostic(
                    codes.NOT_A_MODEL,
                    answer.not_model.partition("; ")[0],
                    reference_span(statement, source, dialect),
                    hint=MODEL_KINDS + " (docs/security.md, Model references)",
                    source=source,
                )
            ]
        if answer.timed_out:
            return [
                Diagnostic(
                    codes.IMPORT_TIMEOUT,
                    f"importing {reference} took longer than {self.import_timeout:g} s; "
                    "its WITH model.* attributes were not checked",
                    reference_span(statement, source, dialect),
                    hint="raise --import-timeout, or skip this check with --no-import",
                    severity=Severity.WARNING,
                    source=source,
                )
            ]
        lacking = framework_not_installed(answer.error) if answer.error else None
        if lacking is not None:  # an extra left out of this install: not the SQL's fault
            return [
                Diagnostic(
                    codes.FRAMEWORK_NOT_INSTALLED,
                    f"{reference} needs {lacking.name}, which is not installed here: its "
                    "WITH model.* attributes were not checked",
                    reference_span(statement, source, dialect),
                    hint=f"pip install 'sqlml-dagster[{lacking.extra}]' to check and train it "
                    "here; sqlml materialize --skip-unavailable leaves it out",
                    severity=Severity.WARNING,
                    source=source,
                )
            ]
        if answer.error is not None:
            hint = (
                f"the class comes from the image {image} when the step runs; install its "
                "package here to check its parameters, or use --no-import"
                if image
                else f"model packages are found in the project's {MODELS_DIR}/ folder, on "
                "PYTHONPATH, or installed; --no-import skips this check"
            )
            return [
                Diagnostic(
                    codes.MODEL_NOT_IMPORTABLE,
                    answer.error,
                    reference_span(statement, source, dialect),
                    hint=hint,
                    severity=Severity.WARNING if image else Severity.ERROR,
                    source=source,
                )
            ]
        if signature is None:
            return ignored
        found = ignored
        for name in signature.unknown(given):
            param = given[name]
            close = did_you_mean(name, signature.parameters)
            accepted = sorted(signature.parameters)
            listing = ", ".join(accepted[:15]) + (", …" if len(accepted) > 15 else "")
            found.append(
                Diagnostic(
                    codes.UNKNOWN_MODEL_PARAM,
                    f"{reference} has no parameter '{name}'",
                    key_span(param, source, dialect),
                    hint=_training_setting_hint(name)
                    + (f"did you mean 'model.{close}'? " if close else "")
                    + f"it accepts: {listing or 'no parameters'}",
                    source=source,
                )
            )
        missing = signature.missing(given, signature.offered())
        if missing:
            found.append(
                Diagnostic(
                    codes.MISSING_MODEL_PARAM,
                    f"{reference} needs {', '.join(missing)}, which the statement does not set",
                    reference_span(statement, source, dialect),
                    hint="write WITH " + ", ".join(f"model.{m} = …" for m in missing),
                    source=source,
                )
            )
        return found

    def _ignored_xgboost(
        self, statement: TrainStatement, given: dict[str, Param]
    ) -> list[Diagnostic]:
        """SQLML414 for the model keys SQLFlow's XGBoost list accepts that ``xgboost.train``
        never reads (``importance_type``)."""
        source = self.sources.get(statement.span.file) if self.sources else None
        ignored = ignored_model_params(xgboost_estimator(statement.model.reference))
        return [
            Diagnostic(
                codes.SETTING_IGNORED,
                f"'{param.key}' is accepted and ignored here: {ignored[name]}",
                key_span(param, source, self.dialect),
                hint="SQLFlow's attributes list it; remove it to silence this warning",
                severity=Severity.WARNING,
                source=source,
            )
            for name, param in given.items()
            if name in ignored
        ]


def _xgboost_answer(reference: str) -> Answer:
    """SQLFlow's XGBoost estimators take XGBoost's booster parameters (nothing is
    imported: the list is ``contract/xgboost_params.py``); another name in the package is
    an error naming the estimators."""
    if xgboost_estimator(reference) is None:
        folded = {name.lower(): name for name in XGBOOST_ESTIMATORS}
        close = difflib.get_close_matches(reference.lower(), list(folded), n=1)
        return Answer(
            error=f"'{reference}' is not one of SQLFlow's XGBoost estimators ("
            + ", ".join(XGBOOST_ESTIMATORS)
            + ")"
            + (f"; did you mean {folded[close[0]]}?" if close else "")
        )
    accepted = accepted_model_params(xgboost_estimator(reference))
    return Answer(signature=ConstructorSignature(tuple(sorted(accepted)), estimator=True))


def _unknown_estimator(reference: str) -> str:
    """A bare name that is no built-in: the closest of SQLFlow's estimator names, and
    whether this version runs it."""
    close = difflib.get_close_matches(reference, SQLFLOW_ESTIMATORS, n=1, cutoff=0.75)
    message = (
        f"'{reference}' is neither a built-in estimator ({', '.join(BUILTIN_ESTIMATORS)}) "
        "nor a dotted import path such as my_models.MyNet"
    )
    if not close:
        return message
    suggestion = close[0]
    if suggestion in BUILTIN_ESTIMATORS or ModelRef(suggestion).flavor == XGBOOST:
        return f"{message}; did you mean {suggestion}?"
    return (
        f"{message}; did you mean {suggestion}? (SQLFlow's {suggestion} is a TensorFlow "
        "estimator this version does not run)"
    )


# -- a head start -------------------------------------------------------------------------


def prefetch_references(sql_path: Path, dialect: str, budget_bytes: int) -> list[str]:
    """The references after ``TO TRAIN`` in the files under ``sql_path``, read from the
    dialect's sqlglot tokens the way the parser reads them (the run of adjacent tokens,
    the image before its last ``/``); empty above ``budget_bytes`` of SQL."""
    if sql_path.is_file():
        paths = [sql_path]
    elif sql_path.is_dir():
        paths = sorted(sql_path.rglob("*.sql"))
    else:
        return []
    try:
        if sum(path.stat().st_size for path in paths) > budget_bytes:
            return []
        tokenizer = tokenizer_for(Dialect.get_or_raise(dialect))
    except (OSError, ValueError):
        return []
    found: list[str] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
            if "train" not in text.lower():  # no TO TRAIN: nothing to tokenize for
                continue
            tokens = tokenizer.tokenize(text)
        except (OSError, UnicodeDecodeError, TokenError):  # the compiler will say why
            continue
        for i in range(1, len(tokens) - 1):
            if tokens[i].text.upper() != "TRAIN" or tokens[i - 1].text.upper() != "TO":
                continue
            last = tokens[i + 1]
            for token in tokens[i + 2 :]:
                if token.start != last.end + 1:
                    break
                last = token
            reference = text[tokens[i + 1].start : last.end + 1].rpartition("/")[2]
            if reference and all(part.isidentifier() for part in reference.split(".")):
                found.append(reference)
    return list(dict.fromkeys(found))


# -- reading a constructor from source ---------------------------------------------------


def _from_source(path: Path, name: str, reference: str, models_dir: Path | None) -> Answer | None:
    """The signature of class or function ``name`` defined in ``path`` (a module of the
    project's ``models/``), or why it is not a model; None when only an import can tell
    (no explicit constructor, decorators, a re-export, a base class read nowhere)."""
    module_name = reference.rpartition(".")[0] or reference
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as e:  # the same words as the runtime's
        return Answer(
            error=f"the model package {module_name} does not compile: {e.msg} at "
            f"{e.filename}:{e.lineno}:{e.offset or 0}"
        )
    except (OSError, UnicodeDecodeError) as e:
        return Answer(error=f"cannot read {path}: {e}")
    missing = _missing_import(tree, models_dir)
    if missing is not None:
        return Answer(
            error=f"cannot import {module_name} for model {reference}: No module named "
            f"'{missing}' (imported by {path.name})"
        )
    place = _Place(path, tree, module_name, models_dir)
    return _answer_from(place, name, reference, estimator=False)


def _from_installed(reference: str, estimator: bool) -> Answer | None:
    """The signature of an installed package's class read from its source, following the
    package's re-exports (``sklearn.ensemble`` → ``sklearn/ensemble/_forest.py``) without
    importing anything, or why it is not a model (a plain function); None — import it — at
    the first thing source cannot settle: a compiled module, a lazy ``__getattr__``,
    decorators, a constructor inherited from another module, a dependency that cannot be
    found."""
    module, _, name = reference.rpartition(".")
    located = _locate(module, name, None)
    if located is None:
        return None
    place, name = located
    answer = _answer_from(place, name, reference, estimator)
    signature = answer is not None and answer.signature is not None
    if signature and _missing_import(place.tree, None) is not None:
        return None  # a model that may not import: let the import say what is wrong
    return answer


@dataclass(frozen=True)
class _Place:
    """A module read from source: its file, tree and dotted name, and the ``models/``
    folder its imports may come from."""

    path: Path
    tree: ast.Module
    module: str
    models_dir: Path | None

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @functools.cached_property
    def classes(self) -> dict[str, ast.ClassDef]:
        return {n.name: n for n in self.tree.body if isinstance(n, ast.ClassDef)}

    @functools.cached_property
    def functions(self) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
        return {
            n.name: n
            for n in self.tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        }


def _locate(module: str, name: str, models_dir: Path | None) -> tuple[_Place, str] | None:
    """Where ``module.name`` is defined, following re-exports (at most 8 hops); None when
    source cannot tell."""
    for _ in range(8):
        path = _module_file(module, models_dir)
        tree = _parse(path) if path is not None else None
        if path is None or tree is None:
            return None
        place = _Place(path, tree, module, models_dir)
        if name in place.classes or name in place.functions:
            return place, name
        source = _reexport(tree, name)
        if source is None:
            return None
        target, name = source
        module = _absolute(target, module, is_package=place.is_package)
    return None


def _module_file(module: str, models_dir: Path | None) -> Path | None:
    """The ``.py`` file of ``module``: in the project's ``models/`` folder, else installed."""
    if models_dir is not None:
        base = models_dir.joinpath(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return _installed_file(module)


def _answer_from(place: _Place, name: str, reference: str, estimator: bool) -> Answer | None:
    """The answer for ``name`` defined in ``place``: a model's signature, not a model, or
    None (import to know)."""
    if name in place.functions:
        function = place.functions[name]
        if _function_kind(function, place.tree) is _NOT_MODEL:
            return Answer(not_model=f"{reference} is a function not marked as a model factory")
        decorators = {_decorator(d) for d in function.decorator_list}
        if decorators <= {FACTORY_DECORATOR}:
            return Answer(signature=_signature(function.args, method=False))
        return None
    if name not in place.classes:
        return None
    node = place.classes[name]
    kind = _class_kind(place, node, set())
    if kind is _NOT_MODEL:
        return Answer(not_model=f"{reference} is a class that is not a model")
    if kind is None:
        return None
    found = _class_signature(node, place.classes, set())
    if found is None:
        return None
    return Answer(signature=dataclasses.replace(found, estimator=estimator or found.estimator))


#: What source says a definition is (None: only importing it can tell).
_MODEL, _NOT_MODEL = "model", "not a model"


def _function_kind(node: ast.FunctionDef | ast.AsyncFunctionDef, tree: ast.Module) -> str:
    """A factory marked with ``@model_factory`` (by that name) or named in
    ``__sqlml_models__`` is a model; any other function is not, decorated or not (the
    runtime checks the mark itself again)."""
    if node.name in _listed_models(tree):
        return _MODEL
    decorators = [_decorator(d) for d in node.decorator_list]
    return _MODEL if FACTORY_DECORATOR in decorators else _NOT_MODEL


def _decorator(node: ast.expr) -> str:
    """``model_factory`` for ``@model_factory`` and ``@sqlml_dagster.model_factory``."""
    return _base_name(node.func if isinstance(node, ast.Call) else node)


def _listed_models(tree: ast.Module) -> frozenset[str]:
    """The names in a top-level ``__sqlml_models__ = ("a", "b")``."""
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == MODELS_LIST for t in node.targets)
            and isinstance(node.value, (ast.Tuple, ast.List))
        ):
            return frozenset(
                e.value
                for e in node.value.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            )
    return frozenset()


def _class_kind(place: _Place, node: ast.ClassDef, seen: set[str]) -> str | None:
    """A class whose bases (read from source, across modules) include a model base, or
    that has ``fit`` and ``get_params``, is a model; one whose whole hierarchy is read and
    holds neither is not; None when a base cannot be read."""
    methods: set[str] = set()
    kind = _hierarchy(place, node, seen, methods)
    if kind is _MODEL or {"fit", "get_params"} <= methods:
        return _MODEL
    return kind


def _hierarchy(place: _Place, node: ast.ClassDef, seen: set[str], methods: set[str]) -> str | None:
    key = f"{place.module}.{node.name}"
    if key in seen or len(seen) > 32:
        return None
    seen.add(key)
    if node.decorator_list:  # a dataclass, attrs…: import to know
        return None
    methods.update(
        n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    )
    known = True
    for base in node.bases:
        name = _base_name(base)
        if name in _MODEL_BASES or name.endswith(_ESTIMATOR_BASES):
            return _MODEL
        if isinstance(base, ast.Name) and name in place.classes:
            kind = _hierarchy(place, place.classes[name], seen, methods)
        elif isinstance(base, ast.Name) and name in _PLAIN_BASES:
            kind = _NOT_MODEL
        else:
            kind = _imported_base(place, base, seen, methods)
        if kind is _MODEL:
            return _MODEL
        known = known and kind is _NOT_MODEL
    return _NOT_MODEL if known else None


def _imported_base(place: _Place, base: ast.expr, seen: set[str], methods: set[str]) -> str | None:
    """The kind of a base class imported by name (``from x import Base``), read where it
    is defined; None when it cannot be found."""
    if not isinstance(base, ast.Name):
        return None
    source = _reexport(place.tree, base.id)
    if source is None:
        return None
    target, name = source
    module = _absolute(target, place.module, is_package=place.is_package)
    located = _locate(module, name, place.models_dir)
    if located is None:
        return None
    where, name = located
    if name not in where.classes:
        return None
    return _hierarchy(where, where.classes[name], seen, methods)


def _installed_file(module: str) -> Path | None:
    """The ``.py`` file of ``module``, found from its top-level package's location: no
    package is imported (``find_spec`` of a dotted name would import its parents)."""
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:
        origin = spec.origin or ""
        return Path(origin) if origin.endswith(".py") else None
    locations = list(spec.submodule_search_locations or [])
    for location in locations:
        base = Path(location).joinpath(*rest)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


@functools.cache
def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None


def _reexport(tree: ast.Module, name: str) -> tuple[tuple[int, str], str] | None:
    """``from <module> import <name>`` at the top of a module: ((level, module), the name
    there); None when the module defines ``__getattr__`` (lazy exports) or has no such line."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            return None
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name and alias.name != "*":
                    return (node.level, node.module or ""), alias.name
    return None


def _absolute(target: tuple[int, str], current: str, *, is_package: bool) -> str:
    """The absolute module of ``from <target> import …`` written in module ``current``."""
    level, module = target
    if level == 0:
        return module
    package = current if is_package else current.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{module}" if module else package


def _class_signature(
    node: ast.ClassDef, classes: dict[str, ast.ClassDef], seen: set[str]
) -> ConstructorSignature | None:
    if node.decorator_list or node.name in seen:  # a dataclass, attrs…: import to know
        return None
    seen.add(node.name)
    estimator = any(_base_name(b).endswith(_ESTIMATOR_BASES) for b in node.bases)
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            if item.decorator_list:
                return None
            signature = _signature(item.args, method=True)
            return ConstructorSignature(
                signature.parameters, signature.required, signature.open_ended, estimator
            )
    for base in node.bases:  # inherited from a class of the same file
        parent = classes.get(_base_name(base))
        if parent is not None:
            return _class_signature(parent, classes, seen)
    return None


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _signature(args: ast.arguments, *, method: bool) -> ConstructorSignature:
    """As ``ConstructorSignature.of`` reads the same function after importing it."""
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    names: list[str] = []
    required: list[str] = []
    posonly = {a.arg for a in args.posonlyargs}
    for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        if (method and index == 0) or arg.arg in posonly:
            continue
        names.append(arg.arg)
        if default is None:
            required.append(arg.arg)
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        names.append(arg.arg)
        if kw_default is None:
            required.append(arg.arg)
    return ConstructorSignature(tuple(names), tuple(required), args.kwarg is not None)


def _missing_import(tree: ast.Module, models_dir: Path | None) -> str | None:
    """The first unconditional top-level ``import x`` / ``from x import …`` whose package
    cannot be found (located, not imported: finding ``tensorflow`` costs nothing)."""
    search = [str(models_dir), *sys.path] if models_dir else list(sys.path)
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".", 1)[0]
            if top in sys.stdlib_module_names or top in sys.builtin_module_names:
                continue
            if top in sys.modules:
                continue
            if importlib.machinery.PathFinder.find_spec(top, search) is None:
                return top
    return None


def _folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# -- the import process -----------------------------------------------------------------


class _Worker:
    """One ``python -m sqlml_dagster._import_signatures`` for every reference to import:
    references go in one per line as they become known, answers come back one per line.

    Answers go to a temporary file rather than a pipe, so the process never blocks on a
    full pipe while the parent is busy compiling or checking schemas."""

    def __init__(self, models_dir: Path | None, timeout: float, packages: ModelPackages):
        self.references: list[str] = []
        self.timeout = timeout
        self.deadline = float("inf")
        # Both live until wait() reads and closes them, after the process has ended.
        self.out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self.err: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        package_parent = str(Path(__file__).resolve().parent.parent.parent)
        path = [str(models_dir)] if models_dir else []
        path += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        env = {
            **os.environ,
            **packages.step_env(),  # what it may import, as a step is told
            "PYTHONPATH": os.pathsep.join([*path, package_parent]),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sqlml_dagster._import_signatures"],
            stdin=subprocess.PIPE,
            stdout=self.out,
            stderr=self.err,
            env=env,
        )

    def ask(self, reference: str) -> None:
        self.references.append(reference)
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(reference.encode() + b"\n")
            self.process.stdin.flush()
        except OSError:  # it died already: wait() says so for each reference
            pass

    def close_requests(self) -> None:
        """No more references; answers are due within the timeout from now."""
        self.deadline = time.monotonic() + self.timeout
        assert self.process.stdin is not None
        with contextlib.suppress(OSError):
            self.process.stdin.close()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        self.out.close()
        self.err.close()

    def wait(self) -> dict[str, Answer]:
        if self.deadline == float("inf"):
            self.close_requests()
        timed_out = False
        try:
            self.process.wait(timeout=max(0.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            timed_out = True
        answers = dict(_read_answers(self.out))
        for reference in self.references:
            if reference in answers:
                continue
            if timed_out:
                answers[reference] = Answer(timed_out=True)
            else:  # the process died (a crash in native code, an os._exit in a module)
                answers[reference] = Answer(
                    error=f"the import process stopped (exit code {self.process.returncode}) "
                    f"before answering for {reference}{_last_line(self.err)}"
                )
        self.out.close()
        self.err.close()
        return answers


def _read_answers(out: IO[bytes]) -> Iterable[tuple[str, Answer]]:
    out.seek(0)
    for raw in out.read().decode("utf-8", "replace").splitlines():
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if not isinstance(data, dict) or "reference" not in data:
            continue
        if data.get("error"):
            yield data["reference"], Answer(error=str(data["error"]))
        elif data.get("not_model"):
            yield data["reference"], Answer(not_model=str(data["not_model"]))
        elif data.get("signature") is not None:
            yield (
                data["reference"],
                Answer(signature=ConstructorSignature.from_json(data["signature"])),
            )
        else:
            yield data["reference"], Answer()


def _last_line(err: IO[bytes]) -> str:
    err.seek(0)
    lines = [line for line in err.read().decode("utf-8", "replace").splitlines() if line.strip()]
    return f": {lines[-1].strip()}" if lines else ""


class _Cache:
    """Signatures answered by earlier runs, in one JSON file (only successes: an import
    error may be fixed by installing a package, which changes no stamp here)."""

    def __init__(self, path: Path):
        self.path = path
        self.changed = False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self.entries: dict[str, Any] = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            self.entries = {}

    def get(self, key: str) -> ConstructorSignature | None:
        entry = self.entries.get(key)
        if not isinstance(entry, dict):
            return None
        try:
            return ConstructorSignature.from_json(entry)
        except (KeyError, TypeError):
            return None

    def put(self, key: str, signature: ConstructorSignature) -> None:
        self.entries[key] = signature.to_json()
        self.changed = True

    def save(self) -> None:
        """Write atomically; a cache that cannot be written only costs speed next time."""
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as f:
                json.dump(self.entries, f)
            os.replace(tmp, self.path)
        except OSError:
            pass


def _training_setting_hint(name: str) -> str:
    """A model key that is a training setting's name (``WITH learning_rate = 0.01`` on a
    DNNClassifier): the namespaced spelling SQLFlow's own docs use."""
    if name == "learning_rate":
        return "the learning rate is train.learning_rate (or optimizer.learning_rate); "
    if name in SETTINGS_KEYS["train"]:
        return f"a training setting is written train.{name}; "
    return ""
