"""Which types a ``.skops`` model file may hold: exact names, never module prefixes.

skops loads a file by walking a tree of nodes, each naming a type (``module.Class``) and
how to rebuild it: an object's attributes, a function, a bound method, a ``partial``, a
call of a constructor with arguments. skops trusts its own list of safe types; everything
else is in :func:`skops.io.get_untrusted_types`, and whatever the loader passes back as
``trusted`` skops will import and use. Trusting by module prefix (``builtins.``,
``sklearn.``) trusts ``builtins.exec``, ``numpy.memmap`` (which writes files) and every
helper of scikit-learn — a constructor node naming ``builtins.exec`` with a string runs
that string as the file loads. So this module trusts exact names only:

* skops' own defaults (not listed here: skops never reports them as untrusted);
* :data:`TRUSTED_TYPES` — the scikit-learn internals, NumPy/SciPy containers, XGBoost and
  LightGBM classes and standard-library data types real models hold, each a type whose
  rebuilding from data runs no code of the file's choosing;
* the project's own model classes, as plain objects only: a type in one of the project's
  model packages (``models/`` or ``allowed_model_packages``, ``contract/model_packages``)
  whose every node is an object rebuilt from its attributes — never a function, method,
  ``partial``, type or constructor call.

Every other type is refused before anything is imported or built, and the error names each
refused type with what the file does with it. Every load of a ``.skops`` goes through
:func:`load_skops`: ``CREATE MODEL`` registration, PREDICT/EVALUATE/EXPLAIN steps, and
``ML_PREDICT``/``sqlml run-sql`` in the orchestrator's process.

A trusted type is no promise about its *content*: skops warns that a crafted
``sklearn.tree._tree.Tree`` can crash the process that predicts with it (out-of-bounds node
indices). Trees are what tree models are, so they are listed; a crash is a failed step, not
code run. ``docs/security.md`` ("Model files") says so.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

from ...contract.model_packages import PROJECT, SETTING, ModelPackages
from .. import StepError

#: Types outside skops' defaults that a model file may hold (exact ``module.Class`` names).
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        # scikit-learn's fitted internals: trees, boosting predictors, neighbour indexes,
        # distance metrics (not PyFuncDistance: it holds a Python function), MLP solvers
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        *(
            f"sklearn.metrics._dist_metrics.{metric}Distance{bits}"
            for bits in (32, 64)
            for metric in (
                "BrayCurtis",
                "Canberra",
                "Chebyshev",
                "Dice",
                "Euclidean",
                "Hamming",
                "Haversine",
                "Jaccard",
                "Kulsinski",
                "Mahalanobis",
                "Manhattan",
                "Matching",
                "Minkowski",
                "RogersTanimoto",
                "RussellRao",
                "SEuclidean",
                "SokalMichener",
                "SokalSneath",
            )
        ),
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        # NumPy and SciPy data (read with allow_pickle=False)
        "numpy.dtype",
        "scipy.sparse._csr.csr_matrix",
        "scipy.sparse._csc.csc_matrix",
        "scipy.sparse._coo.coo_matrix",
        "scipy.sparse._csr.csr_array",
        "scipy.sparse._csc.csc_array",
        "scipy.sparse._coo.coo_array",
        # XGBoost's and LightGBM's scikit-learn estimators and their boosters (a booster's
        # state is its model bytes, loaded by the library's C code)
        "xgboost.sklearn.XGBModel",
        "xgboost.sklearn.XGBClassifier",
        "xgboost.sklearn.XGBRegressor",
        "xgboost.sklearn.XGBRanker",
        "xgboost.sklearn.XGBRFClassifier",
        "xgboost.sklearn.XGBRFRegressor",
        "xgboost.core.Booster",
        "lightgbm.sklearn.LGBMModel",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRegressor",
        "lightgbm.sklearn.LGBMRanker",
        "lightgbm.basic.Booster",
        # standard-library data
        "collections.Counter",
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.deque",
        "builtins.frozenset",
        "builtins.range",
        "builtins.complex",
    }
)

#: What each kind of skops node does with the type it names, for the refusal message.
NODE_KINDS = {
    "ObjectNode": "object",
    "FunctionNode": "function",
    "MethodNode": "method",
    "PartialNode": "partial",
    "OperatorFuncNode": "operator function",
    "TypeNode": "type",
    "ConstructorFromReduceNode": "constructor call",
    "ReduceNode": "reduce",
    "TreeNode": "reduce",
    "LossNode": "reduce",
}


def load_skops(data: bytes, what: str, packages: ModelPackages) -> Any:
    """The estimator in the skops file ``data`` (``what`` names it in errors), loaded
    trusting :data:`TRUSTED_TYPES` and the project's own model classes only."""
    import skops.io as sio

    trusted = audit(data, what, packages)
    try:
        return sio.loads(data, trusted=trusted)
    except Exception as e:  # a damaged file: skops raises whatever its parser met
        raise StepError(f"cannot load {what}: {type(e).__name__}: {_first(e)}") from None


def audit(data: bytes, what: str, packages: ModelPackages) -> list[str]:
    """The types of ``data`` to pass to skops as trusted; a :class:`StepError` naming every
    type refused and what the file does with it (``builtins.exec (constructor call)``).
    Nothing is imported or built to decide."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=data)
        uses = node_uses(data)
    except Exception as e:  # not a zip, no schema, an unknown node: not a skops file
        raise StepError(f"{what} is not a skops model file: {_first(e)}") from None
    refused = [
        f"{name} ({', '.join(sorted(uses.get(name, {'unknown node'})))})"
        for name in untrusted
        if name not in TRUSTED_TYPES and not _own_class(name, uses, packages)
    ]
    if refused:
        raise StepError(
            f"refusing to load {what}: it holds types sqlml does not trust: "
            f"{', '.join(refused)}. A model file may hold only scikit-learn, NumPy, SciPy, "
            "XGBoost and LightGBM model types (runtime/flavors/trusted_types.py) and the "
            "project's own model classes as plain objects (docs/security.md, Model files)"
        )
    return list(untrusted)


def node_uses(data: bytes) -> dict[str, set[str]]:
    """Each type the file names → what its nodes do with it (``object``, ``function``,
    ``constructor call``…), read from the file's ``schema.json``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
    uses: dict[str, set[str]] = {}
    for node in _nodes(schema):
        name = f"{node.get('__module__')}.{node.get('__class__')}"
        kind = NODE_KINDS.get(str(node["__loader__"]), "data")
        uses.setdefault(name, set()).add(kind)
        content = node.get("content")
        if node["__loader__"] == "MethodNode" and isinstance(content, dict):
            uses.setdefault(f"{name}.{content.get('func')}", set()).add(kind)
    return uses


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__loader__" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _own_class(name: str, uses: dict[str, set[str]], packages: ModelPackages) -> bool:
    """A class of the project's own model packages, rebuilt only as a plain object."""
    return uses.get(name) == {"object"} and packages.origin(name) in (PROJECT, SETTING)


def _first(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__
