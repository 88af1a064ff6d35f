"""Which optional frameworks a project's models need, and which of them this environment
lacks — so that a lean install (``pip install 'sqlml-dagster[sklearn]'``, no PyTorch, no
TensorFlow) can still run the rest of a project, and say in one line what it left out.

PyTorch, TensorFlow and XGBoost are extras (pyproject.toml): a scikit-learn project never
installs them, and nothing in the orchestrator imports them. A statement needs one when
its model does: the flavor its reference names (``torch.…``, ``keras.…``, SQLFlow's
built-in ``DNNClassifier`` on PyTorch, ``xgboost.gbtree``), or — for a class of the
project's own ``models/`` folder (flavor ``auto``) — the frameworks its source imports,
read with :mod:`ast` and never imported (importing is what would fail). Whether a
framework is installed is :func:`importlib.util.find_spec`'s answer, also without importing
it. ``sqlml materialize --skip-unavailable`` (what ``make demo`` runs) leaves out the
assets of such models and everything downstream of them.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .compiler.ir import CreateModelStatement, TrainStatement
from .compiler.project import Node
from .contract.flavors import AUTO, KERAS, PYTORCH, XGBOOST, flavor_of_reference
from .contract.model_packages import model_source_files


@dataclass(frozen=True)
class Framework:
    """An optional framework: the name a user is told, the import names that mean it in a
    model's source, and the extra that installs it."""

    name: str
    modules: tuple[str, ...]
    extra: str

    @property
    def probe(self) -> str:
        """The module whose presence means the framework is installed."""
        return self.modules[0]


TORCH = Framework("torch", ("torch", "torchvision"), "pytorch")
TENSORFLOW = Framework("tensorflow", ("tensorflow", "keras", "tf_keras"), "keras")
XGBOOST_FRAMEWORK = Framework("xgboost", ("xgboost",), "xgboost")
FRAMEWORKS = (TORCH, TENSORFLOW, XGBOOST_FRAMEWORK)
#: The framework a model flavor runs on (scikit-learn is no extra: the core has it).
FLAVOR_FRAMEWORKS = {PYTORCH: TORCH, KERAS: TENSORFLOW, XGBOOST: XGBOOST_FRAMEWORK}
_BY_MODULE = {module: f for f in FRAMEWORKS for module in f.modules}


def installed(framework: Framework) -> bool:
    """Whether ``framework`` can be imported here (found, not imported)."""
    try:
        return importlib.util.find_spec(framework.probe) is not None
    except (ImportError, ValueError):  # a finder that refuses it: not importable
        return False


def framework_not_installed(
    import_error: str, is_installed: Callable[[Framework], bool] = installed
) -> Framework | None:
    """The framework an import failure says is missing (``No module named 'tensorflow'``,
    as Python and ``sqlml check`` word it), if it is one of the extras and not installed."""
    match = re.search(r"No module named '([\w.]+)'", import_error)
    framework = _BY_MODULE.get(match.group(1).split(".")[0]) if match else None
    return framework if framework is not None and not is_installed(framework) else None


def frameworks_of_reference(reference: str, models_dir: Path | None) -> tuple[Framework, ...]:
    """The frameworks a model reference needs: its flavor's, or — a class of the project's
    ``models/`` folder — those its source files import."""
    flavor = flavor_of_reference(reference)
    if flavor in FLAVOR_FRAMEWORKS:
        return (FLAVOR_FRAMEWORKS[flavor],)
    if flavor != AUTO:
        return ()
    found: dict[str, Framework] = {}
    for path in model_source_files(models_dir, reference):
        for module in imported_modules(path.read_text(encoding="utf-8", errors="replace")):
            framework = _BY_MODULE.get(module)
            if framework is not None:
                found.setdefault(framework.name, framework)
    return tuple(found.values())


def imported_modules(source: str) -> set[str]:
    """The top-level modules a Python source imports anywhere (``import torch.nn as nn``,
    ``from tensorflow import keras``); none when it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules


def node_frameworks(node: Node, models_dir: Path | None) -> tuple[Framework, ...]:
    """The frameworks a node's own step needs: a TRAIN's model, a registered model of a
    framework's flavor."""
    statement = node.statement
    if isinstance(statement, TrainStatement):
        return frameworks_of_reference(statement.model.reference, models_dir)
    if isinstance(statement, CreateModelStatement) and statement.flavor in FLAVOR_FRAMEWORKS:
        return (FLAVOR_FRAMEWORKS[statement.flavor],)
    return ()


def missing_frameworks(
    nodes: Iterable[Node],
    models_dir: Path | None,
    is_installed: Callable[[Framework], bool] = installed,
) -> dict[str, Framework]:
    """Node key → the first framework it needs that is not installed (only such nodes)."""
    missing: dict[str, Framework] = {}
    for node in nodes:
        lacking = [f for f in node_frameworks(node, models_dir) if not is_installed(f)]
        if lacking:
            missing[node.name.key] = lacking[0]
    return missing


def skipped_line(skipped: Sequence[tuple[str, Framework]]) -> str:
    """The one line that says what was left out and why: ``skipped: iris_dnn,
    iris_dnn_predictions (tensorflow not installed: the keras extra)``."""
    by_framework: dict[Framework, list[str]] = {}
    for name, framework in skipped:
        by_framework.setdefault(framework, []).append(name)
    parts = [
        f"{', '.join(names)} ({f.name} not installed: the {f.extra} extra)"
        for f, names in by_framework.items()
    ]
    return "skipped: " + "; ".join(parts)
