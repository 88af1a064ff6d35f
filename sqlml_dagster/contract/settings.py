"""What ``sqlml check`` and a step agree on about a statement's ``WITH``.

``sqlml check`` validates a statement before anything runs, and the runtime validates it
again when the step starts; both must say the same thing, so both read these: the
``train.*``/``validation.*``/``resources.*`` keys the runtime understands, the constructor
arguments the runtime fills in itself, SQLFlow's built-in estimator names and the image
allow-list's environment variable.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

#: SQLFlow's estimators that run without a model zoo (``TO TRAIN DNNClassifier``),
#: implemented in ``runtime/flavors/_torch_builtins.py``.
BUILTIN_ESTIMATORS = ("DNNClassifier", "DNNRegressor", "LinearClassifier", "LinearRegressor")

#: ``WITH`` keys the runtime and the launchers read, by namespace, with what each does.
#: A key outside these is silently ignored at run time — usually a typo — so ``sqlml check``
#: reports it. ``model.*`` is checked against the model's constructor instead; ``predict``,
#: ``explain``, ``summary`` and ``check`` keys are not checked here.
SETTINGS_KEYS: Mapping[str, Mapping[str, str]] = {
    "train": {
        "epoch": "passes over the training rows",
        "epochs": "passes over the training rows (same as train.epoch)",
        "batch_size": "rows per minibatch",
        "learning_rate": "passed to the model module's optimizer(…)",
        "seed": "seeds estimators, shuffling, initialization and the validation split",
        "shuffle": "reshuffle every epoch",
        "verbose": "Keras' verbose",
        "normalize": "standardize numeric features and regression labels",
        "task": "classification or regression",
        "device": "cpu, cuda, cuda:1",
        "amp": "mixed precision on a GPU",
        "force": "retrain even when nothing changed",
        "max_runtime": "longest the step may run on Kubernetes (6h, 90m, 3600s): the Job's deadline",
    },
    "validation": {
        "select": "a second SELECT yielding validation rows",
        "split": "fraction of training rows held out",
        "metrics": "metrics to compute (EVALUATE): AUC, LogLoss, BalancedAccuracy, per_class…",
        "curves": "tables and charts beside an evaluation (EVALUATE): roc, pr, confusion",
    },
    "resources": {
        "cpu": "CPU request and limit (Kubernetes quantity: 2, 500m)",
        "memory": "memory request and limit (Kubernetes quantity: 8Gi, 512Mi)",
        "gpu": "whole GPUs requested from Kubernetes",
        "node_selector": "node labels, gpu-type=a100",
        "tolerations": "taints tolerated, kubectl syntax",
    },
}

#: Constructor arguments the deep-learning flavors fill in when the constructor takes them
#: and the statement does not set them: the encoded feature width, the classes of a
#: classification label, the COLUMN clause's feature columns.
OFFERED_ARGUMENTS = frozenset(
    {"input_dim", "in_features", "n_features", "feature_columns", "n_classes", "num_classes"}
)

#: ``resources.*`` keys whose value is a Kubernetes quantity, and those counted in whole units.
QUANTITY_KEYS = ("cpu", "memory", "gpu")
WHOLE_QUANTITY_KEYS = ("gpu",)
#: ``namespace.key`` settings whose value is a duration (``contract.parse_duration``).
DURATION_KEYS = ("train.max_runtime",)

#: The image allow-list as deployments and CI set it (comma-separated prefixes).
ALLOWED_IMAGES_ENV = "SQLML_K8S_ALLOWED_IMAGES"


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelled ``word``, if any is close."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1)
    return close[0] if close else None


def image_allowed(image: str, prefixes: Sequence[str]) -> bool:
    """Whether ``image`` lies under one of ``prefixes`` at a boundary.

    A prefix naming a registry host (``registry.example.com``, ``registry.example.com:5000``,
    ``localhost``) allows that host and port exactly: ``registry.example.com/x`` but neither
    ``registry.example.com:5000/x`` nor ``registry.example.com.evil.io/x``. A prefix with a
    repository path (``registry.example.com/team``) allows the repository itself with a tag
    or digest and everything below it, not ``registry.example.com/team-evil/x`` (so does a
    Docker Hub name: ``python`` allows ``python:3.11``). A prefix
    ending in ``/``, ``:`` or ``@`` is taken literally. The compiler checks it (SQLML208)
    and the Kubernetes launcher checks it again before it creates a Job."""
    if not prefixes:
        return True
    for prefix in prefixes:
        if image == prefix or (prefix.endswith(("/", ":", "@")) and image.startswith(prefix)):
            return True
        if not image.startswith(prefix) or len(image) == len(prefix):
            continue
        boundary = image[len(prefix)]
        if _is_registry_host(prefix):  # a host[:port]: only its own repositories
            if boundary == "/":
                return True
        elif boundary in "/:@":
            return True
    return False


def _is_registry_host(prefix: str) -> bool:
    """Docker's rule for the first part of a reference: a registry host has a ``.`` or a
    ``:`` or is ``localhost`` (``python`` is a Docker Hub repository, not a host)."""
    return "/" not in prefix and ("." in prefix or ":" in prefix or prefix == "localhost")


def allowed_images_from_env(environ: Mapping[str, str]) -> list[str]:
    """``SQLML_K8S_ALLOWED_IMAGES``: the registry/repository prefixes an image must start with."""
    return [v.strip() for v in environ.get(ALLOWED_IMAGES_ENV, "").split(",") if v.strip()]
