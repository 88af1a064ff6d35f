"""``auto``: a model reference whose package does not name its framework (``my_models.MyModel``).

The class is imported and its shape decides the flavor; the manifest records the flavor
that was used, so prediction never guesses.
"""

from __future__ import annotations

from .. import Reporter, StepError
from ..spec import StepSpec
from . import sklearn


def train(spec: StepSpec, reporter: Reporter) -> None:
    model_class = sklearn.import_model_class(spec.model_reference)
    if sklearn.is_estimator_class(model_class):
        sklearn.train(spec, reporter)
        return
    raise StepError(
        f"{spec.model_reference} is not a model this runtime can train: "
        "scikit-learn-style estimators (fit/predict/get_params) are supported"
    )
