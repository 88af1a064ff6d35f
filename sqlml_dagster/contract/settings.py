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

from .explain import DEFAULT_PLOT_TYPE, PER_ROW_KEY, SUMMARY_HELP, summary_verdict

#: SQLFlow's estimators that run without a model zoo (``TO TRAIN DNNClassifier``),
#: implemented in ``runtime/flavors/_torch_builtins.py``.
BUILTIN_ESTIMATORS = (
    "DNNClassifier",
    "DNNRegressor",
    "LinearClassifier",
    "LinearRegressor",
    "DNNLinearCombinedClassifier",
    "DNNLinearCombinedRegressor",
)
#: The built-ins with a linear and a network part, each with its own optimizer namespace
#: (``linear_optimizer.learning_rate``, ``dnn_optimizer.learning_rate``).
WIDE_AND_DEEP = ("DNNLinearCombinedClassifier", "DNNLinearCombinedRegressor")
#: What those namespaces may set here: one optimizer class trains both parts, each part
#: with its own learning rate.
PART_OPTIMIZER_KEYS = frozenset({"learning_rate"})
#: Every estimator name SQLFlow's documentation and code accept without a package
#: (TensorFlow's premade estimators, ``go/attribute/model_parameters.go``; its XGBoost
#: names, ``go/codegen/xgboost/codegen.go``): what a misspelled name is compared with, so
#: ``DNNLinearCombinedRegresor`` is told about ``DNNLinearCombinedRegressor``.
SQLFLOW_ESTIMATORS = (
    *BUILTIN_ESTIMATORS,
    "BoostedTreesClassifier",
    "BoostedTreesRegressor",
    "XGBRegressor",
    "XGBClassifier",
    "XGBRFRegressor",
    "XGBRFClassifier",
    "XGBRanker",
)

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
        "max_runtime": "longest the step may run (6h, 90m, 3600s): the Job's deadline, a local timeout",
        "num_trials": "trials of a hyper-parameter search (HPARAM_RANGE, HPARAM_CANDIDATES)",
        "max_parallel_trials": "trials running at once (default 1)",
        "objective": "the metric that ranks trials (val_accuracy, val_loss, val_rmse…)",
        "trial_sampler": "how trials are sampled: tpe (default), random or grid",
        "early_stop": "stop a network's training when its metric stops improving",
        "patience": "epochs without improvement before early stopping (default 3)",
        "early_stop_metric": "the metric early stopping watches (default val_loss)",
        "num_workers": "processes training a PyTorch model together (pods on Kubernetes; "
        "DistributedDataParallel)",
        "max_steps": "stop after this many minibatches in all (SQLFlow's, TensorFlow's max_steps)",
        "checkpoint_every": "save a resumable checkpoint every N epochs (a retried step resumes)",
        "num_boost_round": "XGBoost's boosting rounds (default 10)",
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

#: The keys every flavor's step honours: the orchestrator and the launchers read them.
_EVERY_FLAVOR = frozenset(
    {
        "train.seed",
        "train.force",
        "train.max_runtime",
        # the search (the orchestrator's, ops/trials.py): every flavor's trials
        "train.num_trials",
        "train.max_parallel_trials",
        "train.objective",
        "train.trial_sampler",
        "validation.select",
        "validation.metrics",
        *(f"resources.{key}" for key in SETTINGS_KEYS["resources"]),
    }
)
_DEEP_LEARNING = frozenset(
    {
        *(
            f"train.{key}"
            for key in SETTINGS_KEYS["train"]
            if key not in ("num_boost_round", "num_workers")
        ),
        # early stopping watches a network's epochs (runtime/dl/early_stop.py)
        "validation.split",
    }
)
#: The ``train.*``/``validation.*``/``resources.*`` keys each flavor honours; ``auto``
#: (a user's class, whose flavor the runtime decides) may use any.
FLAVOR_SETTINGS: Mapping[str, frozenset[str]] = {
    "sklearn": _EVERY_FLAVOR | {"validation.split"},
    "xgboost": _EVERY_FLAVOR
    | {"train.num_boost_round", "train.verbose", "train.device", "validation.split"},
    # data-parallel training in several processes (runtime/dl/distributed.py)
    "pytorch": _EVERY_FLAVOR | _DEEP_LEARNING | {"train.num_workers"},
    "keras": _EVERY_FLAVOR | _DEEP_LEARNING,
}
#: Namespaces whose every key is an argument of the optimizer the deep-learning flavors
#: build (SQLFlow's ``optimizer.learning_rate``; ``model.optimizer`` names its class).
OPTIMIZER_NAMESPACES = ("optimizer",)
#: What the deep-learning flavors read from ``model.*`` themselves when the model's
#: constructor does not take it: SQLFlow's ``model.optimizer = Adagrad``.
RUNTIME_MODEL_KEYS = frozenset({"optimizer"})
#: SQLFlow's ``model.dnn_optimizer``/``model.linear_optimizer`` of the wide & deep models:
#: the one optimizer class both parts train with (``model.optimizer`` wins).
PART_OPTIMIZERS = ("dnn_optimizer", "linear_optimizer")


def runtime_model_keys(reference: str | None) -> frozenset[str]:
    """The ``model.*`` keys the deep-learning flavors read themselves for ``reference``."""
    if reference in WIDE_AND_DEEP:
        return RUNTIME_MODEL_KEYS | set(PART_OPTIMIZERS)
    return RUNTIME_MODEL_KEYS


#: Keys SQLFlow defines (``go/codegen/tensorflow/codegen.go``'s and
#: ``go/codegen/xgboost/codegen.go``'s attribute lists) that mean nothing to a flavor here:
#: accepted, with a warning from ``sqlml check`` and the step that says why. By flavor,
#: then ``*`` for every flavor that does not honour the key.
IGNORED_SETTINGS: Mapping[str, Mapping[str, str]] = {
    "*": {
        "train.max_steps": "it bounds TensorFlow's training loop; this model trains to the end",
        "train.save_checkpoints_steps": "checkpoints are written per epoch, not per step: "
        "write train.checkpoint_every = N (epochs) for a network",
        "train.log_every_n_iter": "progress is logged once an epoch (a round for XGBoost)",
        "train.disk_cache": "the step reads its rows into memory from the exported Parquet "
        "file; XGBoost's external-memory cache is never used",
        "train.num_workers": "only PyTorch models train in several processes; this one "
        "trains in one (give it more CPUs with resources.cpu)",
        "train.num_ps": "distributed training is not supported; see resources.*",
        "train.worker_cpu": "distributed training is not supported; see resources.cpu",
        "train.worker_gpu": "distributed training is not supported; see resources.gpu",
        "validation.steps": "validation scores every validation row",
        "validation.start_delay_secs": "validation runs after every epoch, not on a timer",
        "validation.throttle_secs": "validation runs after every epoch, not on a timer",
        "dnn_optimizer": "only SQLFlow's DNNLinearCombined estimators have a DNN optimizer",
        "linear_optimizer": "only SQLFlow's DNNLinearCombined estimators have a linear optimizer",
    },
    "xgboost": {
        "train.batch_size": "XGBoost trains on all rows at once (SQLFlow's batches only "
        "bound its memory)",
        "train.epoch": "XGBoost's rounds are train.num_boost_round",
        "train.epochs": "XGBoost's rounds are train.num_boost_round",
        "train.num_workers": "XGBoost trains in one process here, on every CPU thread the "
        "step has (SQLFlow's distributed XGBoost ran on PAI); the model is the same",
    },
}


def setting_verdict(flavor: str, key: str, reference: str | None = None) -> tuple[str, str]:
    """How ``flavor``'s step treats the setting ``key`` (``train.epoch``,
    ``optimizer.learning_rate``): ``("honoured", "")``, ``("ignored", why)`` — SQLFlow
    defines it and it means nothing here — or ``("refused", why)``. ``reference``: the
    model, for the keys only some estimators read (``dnn_optimizer.learning_rate``)."""
    namespace = key.split(".", 1)[0]
    if reference in WIDE_AND_DEEP and namespace in ("dnn_optimizer", "linear_optimizer"):
        if key.split(".", 1)[1] in PART_OPTIMIZER_KEYS:
            return "honoured", ""
        return "ignored", (
            "one optimizer class (model.optimizer, optimizer.*) trains both parts here; "
            f"only {namespace}.learning_rate is the part's own"
        )
    honoured = FLAVOR_SETTINGS.get(flavor)
    if honoured is None:  # auto: any flavor's key may be meant
        honoured = frozenset().union(*FLAVOR_SETTINGS.values())
        deep_learning = True
    else:
        deep_learning = flavor in ("pytorch", "keras")
    if namespace in OPTIMIZER_NAMESPACES:
        if deep_learning:
            return "honoured", ""
        return "refused", f"a {flavor} model has no optimizer to pass {key} to"
    if key in honoured:
        return "honoured", ""
    why = IGNORED_SETTINGS.get(flavor, {}).get(key) or IGNORED_SETTINGS["*"].get(key)
    if why is None and namespace in IGNORED_SETTINGS["*"]:
        why = IGNORED_SETTINGS["*"][namespace]
    if why is not None:
        return "ignored", why
    readers = sorted(f for f, keys in FLAVOR_SETTINGS.items() if key in keys)
    return "refused", (
        f"a {flavor} model's step never reads it"
        + (f" (only {', '.join(readers)} models do)" if readers else "")
    )


def ignored_settings(
    flavor: str, params: Mapping[str, Mapping[str, object]], reference: str | None = None
) -> list[tuple[str, str]]:
    """The keys of ``params`` (by namespace) that ``flavor`` ignores, with why: what a step
    logs as a warning when it starts."""
    found = []
    for namespace, values in params.items():
        for key in values:
            full = f"{namespace}.{key}"
            verdict, why = setting_verdict(flavor, full, reference)
            if verdict == "ignored":
                found.append((full, why))
    return found


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


#: The ``WITH`` keys of ``TO PREDICT`` and ``TO EXPLAIN`` the step reads, by namespace,
#: with what each does (``sqlml check`` refuses another key of these namespaces, with the
#: closest as a hint, as it refuses a ``train.*`` key nobody reads). ``summary.*`` is
#: judged per chart by ``contract/explain.py``'s ``summary_verdict``.
SCORING_KEYS: Mapping[str, Mapping[str, str]] = {
    "predict": {
        "probabilities": "one probability column per class beside the prediction",
    },
    "explain": {
        "max_rows": "rows sampled for the attribution",
        "repeats": "shuffles per feature of permutation importance",
        PER_ROW_KEY: "every explained row's attributions in a second table, <into>_rows",
    },
    "summary": SUMMARY_HELP,
}
#: Keys SQLFlow's TO PREDICT / TO EXPLAIN accept that mean nothing here: warned, with why.
SCORING_IGNORED: Mapping[str, str] = {
    "predict.batch_size": "the step scores its rows in batches it picks by memory",
    "predict.num_workers": "a step predicts in one process (PAI's workers are not used)",
    "predict.extra_outputs": "every selected column is already written beside the prediction",
    "explain.plot_type": "SQLFlow's explain steps read summary.plot_type: write that",
}


def scoring_verdict(key: str, chart: str = DEFAULT_PLOT_TYPE) -> tuple[str, str]:
    """How a ``TO PREDICT``/``TO EXPLAIN`` step treats ``key`` (``predict.probabilities``):
    ``("honoured", "")``, ``("ignored", why)``, ``("refused", why)`` — a ``summary.*``
    argument of SHAP's that cannot be set here —, ``("unknown", hint)`` — the hint names
    the closest known key — or ``("other", "")`` for a namespace these steps do not own.
    ``chart``: the ``summary.plot_type`` the statement draws (some keys are for some
    charts only)."""
    namespace, _, path = key.partition(".")
    if namespace == "summary":
        return summary_verdict(path, chart)
    known = SCORING_KEYS.get(namespace)
    if known is None:
        return "other", ""
    if path in known:
        return "honoured", ""
    why = SCORING_IGNORED.get(key) or SCORING_IGNORED.get(namespace)
    if why is not None:
        return "ignored", why
    names = [f"{namespace}.{k}" for k in known] + [
        k for k in SCORING_IGNORED if k.startswith(f"{namespace}.")
    ]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    return "unknown", (f"did you mean '{close[0]}'? " if close else "") + (
        f"known: {', '.join(names)}" if names else f"{namespace}.* keys mean nothing here"
    )
