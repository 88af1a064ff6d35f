"""Which model references a project may name, and what a reference must resolve to.

``TO TRAIN pkg.Model WITH model.k = v`` imports ``pkg`` and calls ``Model(k=v)``. Without a
rule, any callable of any importable module would do — ``torch.hub.load``,
``torch.utils.cpp_extension.load_inline``, ``os.system`` — and the SQL, which many people
edit, would run code on a machine holding warehouse and cloud credentials. So a reference
passes two gates (``docs/security.md``, "Model references"):

1. **its package** — the module it names lies within one of the *model packages*: the
   built-ins (:data:`BUILTIN_MODEL_PACKAGES`), the top-level modules of the project's
   ``models/`` folder, and the operator's ``allowed_model_packages`` setting
   (``$SQLML_ALLOWED_MODEL_PACKAGES``). Decided from the name alone, before anything is
   imported: the compiler (SQLML209), ``sqlml check`` and the runtime each ask
   :meth:`ModelPackages.origin`;
2. **its kind** — what the name resolves to is a model *class* (a scikit-learn-style
   estimator, a ``torch.nn.Module``, a Keras layer or model) or a function its package
   marks as a model factory (:func:`model_factory`, or its name in the module's
   ``__sqlml_models__``). ``sqlml check`` reads it from source where it can (SQLML412);
   the runtime asks :func:`model_kind` after importing, before calling anything.

Standard library only, like the rest of the contract: the user's model modules import
:func:`model_factory` (through ``sqlml_dagster.model_factory``) in a step image that has
only the runtime installed.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from .constructors import is_estimator_class
from .settings import BUILTIN_ESTIMATORS
from .xgboost_params import xgboost_estimator

#: The operator's setting, as deployments and CI set it (comma-separated packages).
ALLOWED_MODEL_PACKAGES_ENV = "SQLML_ALLOWED_MODEL_PACKAGES"

#: Modules whose model classes every project may name, by flavor. A module *within* one
#: (``sklearn.ensemble``) is allowed; a sibling (``torch.hub``, ``torch.utils``) is not —
#: which is why PyTorch and TensorFlow are listed by their model modules, not whole.
BUILTIN_MODEL_PACKAGES: Mapping[str, tuple[str, ...]] = {
    "sklearn": ("sklearn", "lightgbm"),
    # SQLFlow's XGBoost estimators: names the xgboost flavor knows, never imported
    # (contract/xgboost_params.py); xgboost.XGBClassifier… registered from a skops file
    # load as scikit-learn models (runtime/flavors/trusted_types.py).
    "xgboost": ("xgboost",),
    "pytorch": ("torch.nn", "torchvision.models"),
    "keras": ("keras", "tensorflow.keras", "tf_keras"),
}
BUILTIN_PACKAGES: tuple[str, ...] = tuple(p for ps in BUILTIN_MODEL_PACKAGES.values() for p in ps)

#: The attribute :func:`model_factory` sets on a function.
FACTORY_MARK = "__sqlml_model_factory__"
#: A model module may list its factories by name instead: ``__sqlml_models__ = ("make",)``.
MODELS_LIST = "__sqlml_models__"
#: The name a decorator is spelled with in source (``@model_factory``,
#: ``@sqlml_dagster.model_factory``), for ``sqlml check``'s reading without importing.
FACTORY_DECORATOR = "model_factory"

#: Where each origin of a package comes from, for messages.
BUILTIN, PROJECT, SETTING = "built-in", "project", "setting"

#: The folder of a project's own model packages, beside the SQL folder or in it.
MODELS_DIR = "models"

F = TypeVar("F", bound=Callable[..., Any])


def model_factory(function: F) -> F:
    """Mark a function as a model factory that ``TO TRAIN module.function`` may call with
    the statement's ``WITH model.*`` values. Returns the function itself, unchanged (its
    signature is what ``sqlml check`` checks ``WITH model.*`` against)::

        from sqlml_dagster import model_factory

        @model_factory
        def classifier(input_dim: int, n_classes: int, hidden: int = 16) -> keras.Model: ...
    """
    setattr(function, FACTORY_MARK, True)
    return function


def within(module: str, package: str) -> bool:
    """``module`` is ``package`` or one of its submodules (at a dot, never a prefix of a
    name: ``sklearnx`` is not within ``sklearn``)."""
    return module == package or module.startswith(package + ".")


def parse_packages(text: str) -> tuple[str, ...]:
    """``"acme_models, team.nets"`` → ``("acme_models", "team.nets")``; raises
    ``ValueError`` naming an entry that is not a dotted Python name."""
    packages = [p.strip() for p in text.split(",") if p.strip()]
    for package in packages:
        if not all(part.isidentifier() for part in package.split(".")):
            raise ValueError(f"'{package}' is not a Python package name such as acme_models")
    return tuple(packages)


def allowed_model_packages_from_env(environ: Mapping[str, str]) -> tuple[str, ...]:
    """``$SQLML_ALLOWED_MODEL_PACKAGES``: the operator's packages; raises ``ValueError``
    naming the variable when an entry is not a package name."""
    try:
        return parse_packages(environ.get(ALLOWED_MODEL_PACKAGES_ENV, ""))
    except ValueError as e:
        raise ValueError(f"${ALLOWED_MODEL_PACKAGES_ENV}: {e}") from None


def find_models_dir(sql_path: Path) -> Path | None:
    """The project's model packages: ``models/`` beside the SQL folder or in it (where a
    local step finds them on ``PYTHONPATH``)."""
    sql_root = sql_path if sql_path.is_dir() else sql_path.parent
    for candidate in (sql_root.parent / MODELS_DIR, sql_root / MODELS_DIR):
        if candidate.is_dir():
            return candidate.resolve()
    return None


def model_source_files(models_dir: Path | None, reference: str) -> list[Path]:
    """The Python files of the ``models/`` module a reference names (``nets.Net`` →
    ``nets.py``, or every file of the package ``nets/``), sorted; empty when the class
    comes from an installed package or an image."""
    if models_dir is None:
        return []
    top = reference.split(".", 1)[0]
    if (models_dir / top).is_dir():
        return sorted((models_dir / top).rglob("*.py"))
    return [models_dir / f"{top}.py"] if (models_dir / f"{top}.py").is_file() else []


def project_packages(models_dir: Path | None) -> tuple[str, ...]:
    """The top-level modules of a ``models/`` folder (``nets.py`` → ``nets``, a package
    folder → its name), sorted. A name of the standard library is left out: it is imported
    from the standard library, not from the folder, so naming it would allow ``os``."""
    if models_dir is None or not models_dir.is_dir():
        return ()
    names: set[str] = set()
    for entry in models_dir.iterdir():
        name = entry.stem if entry.suffix == ".py" and entry.is_file() else entry.name
        if entry.is_dir() and not any(entry.glob("*.py")):
            continue
        if name.isidentifier() and name not in sys.stdlib_module_names:
            names.add(name)
    return tuple(sorted(names))


@dataclass(frozen=True)
class ModelPackages:
    """The packages a project's model references may name, besides the built-ins.

    ``project``: the top-level modules of its ``models/`` folder; ``allowed``: the
    ``allowed_model_packages`` setting. A step receives both as one list in
    ``$SQLML_ALLOWED_MODEL_PACKAGES`` (:meth:`step_env`), so the runtime enforces what the
    orchestrator decided — from its environment, not from the spec it runs."""

    project: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()

    @classmethod
    def of_project(cls, sql_path: Path, allowed: Iterable[str] = ()) -> ModelPackages:
        return cls(project_packages(find_models_dir(sql_path)), tuple(allowed))

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ModelPackages:
        """The setting as ``$SQLML_ALLOWED_MODEL_PACKAGES`` holds it (a step's whole list)."""
        return cls(allowed=allowed_model_packages_from_env(environ))

    def step_env(self) -> dict[str, str]:
        """The environment that tells a step what it may import."""
        return {ALLOWED_MODEL_PACKAGES_ENV: ",".join(dict.fromkeys(self.project + self.allowed))}

    def origin(self, reference: str) -> str | None:
        """``built-in``, ``project`` or ``setting``: where the package of ``reference``
        (``pkg.mod.Model``: the module ``pkg.mod``) is allowed from; None when it is not.
        SQLFlow's built-in estimator names (``DNNClassifier``) are built-in."""
        if reference in BUILTIN_ESTIMATORS or xgboost_estimator(reference):
            return BUILTIN
        module = reference.rpartition(".")[0]
        if not module:
            return None
        for origin, packages in (
            (BUILTIN, BUILTIN_PACKAGES),
            (PROJECT, self.project),
            (SETTING, self.allowed),
        ):
            if any(within(module, package) for package in packages):
                return origin
        return None

    def permits(self, reference: str) -> bool:
        return self.origin(reference) is not None

    def refusal(self, reference: str) -> tuple[str, str]:
        """Why ``reference`` is refused, and what would allow it (a diagnostic's message
        and hint)."""
        project = ", ".join(self.project) or "none"
        setting = ", ".join(self.allowed) or "none"
        return (
            f"'{reference}' is not in an allowed model package",
            f"a model comes from the built-in packages ({', '.join(BUILTIN_PACKAGES)}), the "
            f"project's {MODELS_DIR}/ folder ({project}) or the allowed_model_packages "
            f"setting ({setting}; ${ALLOWED_MODEL_PACKAGES_ENV})",
        )

    def not_allowed(self, reference: str) -> str:
        """:meth:`refusal` in one line (the runtime's error)."""
        message, hint = self.refusal(reference)
        return f"{message}: {hint}"


# -- what a reference must resolve to -----------------------------------------------------

#: The kinds :func:`model_kind` tells apart.
ESTIMATOR, TORCH_MODULE, KERAS_MODEL, FACTORY = "estimator", "torch", "keras", "factory"
_TORCH_MODULE = "torch.nn.modules.module.Module"
_KERAS_PACKAGES = frozenset({"keras", "tf_keras", "tensorflow"})
#: Model classes that load a program from a path their constructor is given — a
#: TensorFlow SavedModel graph — so SQL naming them would run a file's code.
_LOADER_CLASSES = frozenset({"TFSMLayer"})


def model_kind(found: object, module: ModuleType | None = None, name: str = "") -> str | None:
    """What a resolved reference is: :data:`ESTIMATOR` (a class with ``fit`` and
    ``get_params``), :data:`TORCH_MODULE` (a ``torch.nn.Module`` subclass),
    :data:`KERAS_MODEL` (a Keras ``Layer`` subclass — every model is one), :data:`FACTORY`
    (a function marked with :func:`model_factory`, or named in ``module.__sqlml_models__``);
    None for anything else — a function, a method, an instance, a class of another kind.
    Judged by the class hierarchy's names, so no framework is imported to ask."""
    if inspect.isclass(found):
        if found.__name__ in _LOADER_CLASSES:
            return None
        if is_estimator_class(found):
            return ESTIMATOR
        for base in inspect.getmro(found):
            module_name = getattr(base, "__module__", "") or ""
            if f"{module_name}.{base.__qualname__}" == _TORCH_MODULE:
                return TORCH_MODULE
            if module_name.split(".", 1)[0] in _KERAS_PACKAGES and base.__name__ == "Layer":
                return KERAS_MODEL
        return None
    if not inspect.isfunction(found):  # a builtin (eval), a method, a partial, an instance
        return None
    if getattr(found, FACTORY_MARK, False) is True:
        return FACTORY
    listed = getattr(module, MODELS_LIST, ()) if module is not None else ()
    if isinstance(listed, (tuple, list)) and name and name in listed:
        return FACTORY
    return None


def not_a_model(reference: str, found: object) -> str:
    """Why ``reference`` cannot be trained, in one line (the runtime and ``sqlml check``
    say the same)."""
    what = (
        "a class that is not a model"
        if inspect.isclass(found)
        else "a function not marked as a model factory"
        if inspect.isfunction(found) or inspect.isbuiltin(found) or inspect.ismethod(found)
        else f"a {type(found).__name__}"
    )
    return f"{reference} is {what}; {MODEL_KINDS}"


#: What a model reference must name, for messages and hints.
MODEL_KINDS = (
    "a model reference names a scikit-learn-style estimator class (fit, get_params), a "
    "torch.nn.Module or Keras model class, or a function its module marks with "
    "@sqlml_dagster.model_factory (or lists in __sqlml_models__)"
)
