"""What crosses process and layer boundaries, defined once.

The compiler, the orchestrator (``ops``), ``sqlml check`` and the runtime inside a step
all import this package, so it uses the standard library only: reading a setting key or a
StepSpec must not pull in Dagster, sqlglot, torch or TensorFlow.

- ``spec``: the versioned StepSpec, the one input of a step;
- ``result``: the typed, versioned StepResult a step reports back;
- ``features``: the signature of each ``COLUMN`` feature-column function;
- ``flavors``: the model flavors and what each implies;
- ``settings``: the ``WITH train.*/validation.*/resources.*`` keys a step reads;
- ``quantities``: Kubernetes resource quantities;
- ``durations``: how long a step may run (``train.max_runtime``);
- ``constructors``: which ``WITH model.*`` arguments a model's constructor takes;
- ``metrics``: EVALUATE's metric names;
- ``layout``: the files of a model version folder;
- ``exits``: the exit statuses of a step's process (a user error is not a crash);
- ``step_data``: the format of a step's data files and where each is used;
- ``programs``: what a ``TO RUN`` program is given and must write;
- ``optimization``: ``TO MAXIMIZE``/``TO MINIMIZE``'s program as data.
"""

from __future__ import annotations

from .constructors import (
    ConstructorSignature,
    is_estimator_class,
    prefer_tf_keras,
    unknown_parameters_message,
)
from .durations import DurationError, parse_duration
from .exits import SUCCESS_EXIT_CODE, USER_ERROR_EXIT_CODE
from .features import FEATURE_SIGNATURES, Arg, ArgKind, argument_order
from .flavors import (
    AUTO,
    FILE_FLAVORS,
    FLAVORS,
    KERAS,
    PYTORCH,
    REGISTRABLE_FLAVORS,
    SKLEARN,
    XGBOOST,
    Flavor,
    flavor_of_reference,
    ui_kind,
)
from .layout import SIGNATURE_FILE
from .metrics import DEFAULT_EVALUATION_METRICS, EVALUATION_METRICS
from .quantities import QuantityError, parse_quantity
from .result import (
    RESULT_VERSION,
    EvaluationResult,
    ExplanationResult,
    OptimizationResult,
    PredictionResult,
    ProgramResult,
    ResultError,
    StepResult,
    TrainingResult,
    is_step_result,
    result_from_json,
)
from .settings import (
    ALLOWED_IMAGES_ENV,
    BUILTIN_ESTIMATORS,
    DURATION_KEYS,
    FLAVOR_SETTINGS,
    IGNORED_SETTINGS,
    OFFERED_ARGUMENTS,
    QUANTITY_KEYS,
    SETTINGS_KEYS,
    WHOLE_QUANTITY_KEYS,
    allowed_images_from_env,
    did_you_mean,
    ignored_settings,
    image_allowed,
    setting_verdict,
)
from .spec import SPEC_VERSION, SpecError, StepKind, StepSpec, error_uri, result_uri

__all__ = [
    "ALLOWED_IMAGES_ENV",
    "AUTO",
    "BUILTIN_ESTIMATORS",
    "DEFAULT_EVALUATION_METRICS",
    "DURATION_KEYS",
    "EVALUATION_METRICS",
    "FEATURE_SIGNATURES",
    "FILE_FLAVORS",
    "FLAVORS",
    "FLAVOR_SETTINGS",
    "IGNORED_SETTINGS",
    "KERAS",
    "OFFERED_ARGUMENTS",
    "PYTORCH",
    "QUANTITY_KEYS",
    "REGISTRABLE_FLAVORS",
    "RESULT_VERSION",
    "SETTINGS_KEYS",
    "SIGNATURE_FILE",
    "SKLEARN",
    "SPEC_VERSION",
    "SUCCESS_EXIT_CODE",
    "USER_ERROR_EXIT_CODE",
    "WHOLE_QUANTITY_KEYS",
    "XGBOOST",
    "Arg",
    "ArgKind",
    "ConstructorSignature",
    "DurationError",
    "EvaluationResult",
    "ExplanationResult",
    "Flavor",
    "OptimizationResult",
    "PredictionResult",
    "ProgramResult",
    "QuantityError",
    "ResultError",
    "SpecError",
    "StepKind",
    "StepResult",
    "StepSpec",
    "TrainingResult",
    "allowed_images_from_env",
    "argument_order",
    "did_you_mean",
    "error_uri",
    "flavor_of_reference",
    "ignored_settings",
    "image_allowed",
    "is_estimator_class",
    "is_step_result",
    "parse_duration",
    "parse_quantity",
    "prefer_tf_keras",
    "result_from_json",
    "result_uri",
    "setting_verdict",
    "ui_kind",
    "unknown_parameters_message",
]
