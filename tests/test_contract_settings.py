"""What ``sqlml check`` and a step agree on about a statement's ``WITH``
(``contract/settings.py``), as whole verdicts: the reason a person reads is part of the
behaviour, so each row compares ``(verdict, why)`` in full.

``tests/runtime/test_sqlflow_training_keys.py`` checks that every key gets *a* verdict and
that the step logs what it ignores; ``tests/test_scoring_keys_check.py`` checks the
scoring keys through ``sqlml check``. These tables pin the texts and the branches those
leave open: SQLFlow's wide-and-deep optimizers, a user's class (``auto``), which flavors
would read a refused key, and the ``model.*`` keys the deep-learning flavors read
themselves (docs/testing.md, *Mutation testing*).
"""

from __future__ import annotations

import pytest

from sqlml_dagster.contract.settings import (
    ignored_settings,
    runtime_model_keys,
    scoring_verdict,
    setting_verdict,
)

WIDE = "DNNLinearCombinedClassifier"
ONE_OPTIMIZER = (
    "one optimizer class (model.optimizer, optimizer.*) trains both parts here; "
    "only {}.learning_rate is the part's own"
)


@pytest.mark.parametrize(
    ("flavor", "key", "reference", "verdict"),
    [
        # a wide-and-deep model's part sets its own learning rate, nothing else
        ("pytorch", "dnn_optimizer.learning_rate", WIDE, ("honoured", "")),
        ("keras", "linear_optimizer.learning_rate", WIDE, ("honoured", "")),
        (
            "pytorch",
            "linear_optimizer.beta_1",
            WIDE,
            ("ignored", ONE_OPTIMIZER.format("linear_optimizer")),
        ),
        # the part's key is exactly `learning_rate`, not a path through or under it
        (
            "pytorch",
            "dnn_optimizer.learning_rate.x",
            WIDE,
            ("ignored", ONE_OPTIMIZER.format("dnn_optimizer")),
        ),
        (
            "pytorch",
            "dnn_optimizer.foo.learning_rate",
            WIDE,
            ("ignored", ONE_OPTIMIZER.format("dnn_optimizer")),
        ),
        # any other model has no parts: SQLFlow's reason, by namespace
        (
            "pytorch",
            "dnn_optimizer.learning_rate",
            "DNNClassifier",
            ("ignored", "only SQLFlow's DNNLinearCombined estimators have a DNN optimizer"),
        ),
        (
            "sklearn",
            "linear_optimizer.learning_rate",
            None,
            ("ignored", "only SQLFlow's DNNLinearCombined estimators have a linear optimizer"),
        ),
        # optimizer.* goes to a network's optimizer; a user's class may be a network
        ("keras", "optimizer.learning_rate", None, ("honoured", "")),
        ("pytorch", "optimizer.momentum", None, ("honoured", "")),
        ("auto", "optimizer.learning_rate", None, ("honoured", "")),
        (
            "xgboost",
            "optimizer.eta",
            None,
            ("refused", "a xgboost model has no optimizer to pass optimizer.eta to"),
        ),
        # a refusal names the flavors that would read the key, or none
        (
            "sklearn",
            "train.epoch",
            None,
            ("refused", "a sklearn model's step never reads it (only keras, pytorch models do)"),
        ),
        (
            "sklearn",
            "train.num_boost_round",
            None,
            ("refused", "a sklearn model's step never reads it (only xgboost models do)"),
        ),
        ("sklearn", "train.nonsense", None, ("refused", "a sklearn model's step never reads it")),
        (
            "sklearn",
            "validation.select.x",
            None,
            ("refused", "a sklearn model's step never reads it"),
        ),
        # a flavor's own ignored reason wins over the one for every flavor
        ("xgboost", "train.epoch", None, ("ignored", "XGBoost's rounds are train.num_boost_round")),
        (
            "sklearn",
            "train.num_workers",
            None,
            (
                "ignored",
                "only PyTorch models train in several processes; this one trains in one "
                "(give it more CPUs with resources.cpu)",
            ),
        ),
        ("pytorch", "train.num_workers", None, ("honoured", "")),
    ],
)
def test_a_setting_s_whole_verdict(
    flavor: str, key: str, reference: str | None, verdict: tuple[str, str]
) -> None:
    assert setting_verdict(flavor, key, reference) == verdict


@pytest.mark.parametrize(
    ("flavor", "params", "reference", "ignored"),
    [
        (
            "pytorch",
            {"dnn_optimizer": {"learning_rate": 0.1, "beta_1": 0.9}, "train": {"epoch": 1}},
            WIDE,
            [("dnn_optimizer.beta_1", ONE_OPTIMIZER.format("dnn_optimizer"))],
        ),
        (
            "pytorch",
            {"dnn_optimizer": {"learning_rate": 0.1}},
            None,
            [
                (
                    "dnn_optimizer.learning_rate",
                    "only SQLFlow's DNNLinearCombined estimators have a DNN optimizer",
                )
            ],
        ),
        (
            "xgboost",
            {"train": {"epoch": 1, "num_boost_round": 3}},
            None,
            [("train.epoch", "XGBoost's rounds are train.num_boost_round")],
        ),
    ],
)
def test_the_step_logs_what_its_flavor_and_model_ignore(
    flavor: str,
    params: dict[str, dict[str, object]],
    reference: str | None,
    ignored: list[tuple[str, str]],
) -> None:
    assert ignored_settings(flavor, params, reference) == ignored


@pytest.mark.parametrize(
    ("reference", "keys"),
    [
        ("DNNLinearCombinedClassifier", {"optimizer", "dnn_optimizer", "linear_optimizer"}),
        ("DNNLinearCombinedRegressor", {"optimizer", "dnn_optimizer", "linear_optimizer"}),
        ("DNNClassifier", {"optimizer"}),
        ("my_models.Net", {"optimizer"}),
        (None, {"optimizer"}),
    ],
)
def test_the_model_keys_a_network_s_flavor_reads_itself(
    reference: str | None, keys: set[str]
) -> None:
    assert runtime_model_keys(reference) == keys


PREDICT_KEYS = (
    "known: predict.probabilities, predict.batch_size, predict.num_workers, predict.extra_outputs"
)


@pytest.mark.parametrize(
    ("key", "verdict"),
    [
        ("predict.probabilities", ("honoured", "")),
        ("explain.max_rows", ("honoured", "")),
        ("explain.repeats", ("honoured", "")),
        (
            "predict.batch_size",
            ("ignored", "the step scores its rows in batches it picks by memory"),
        ),
        (
            "explain.plot_type",  # SQLFlow's spelling is summary.plot_type
            ("ignored", "SQLFlow's explain steps read summary.plot_type: write that"),
        ),
        ("summary.alpha", ("honoured", "")),  # SHAP's summary_plot options are drawn
        ("explain.per_row", ("honoured", "")),
        (
            "predict.probabilties",
            ("unknown", f"did you mean 'predict.probabilities'? {PREDICT_KEYS}"),
        ),
        (
            "explain.foo",
            (
                "unknown",
                "did you mean 'explain.per_row'? known: explain.max_rows, explain.repeats, "
                "explain.per_row, explain.plot_type",
            ),
        ),
        ("predict.zzzzzz", ("unknown", PREDICT_KEYS)),
        ("predict", ("unknown", PREDICT_KEYS)),
        ("train.epoch", ("other", "")),  # not a scoring step's namespace
        ("model.n_estimators", ("other", "")),
    ],
)
def test_a_scoring_key_s_whole_verdict(key: str, verdict: tuple[str, str]) -> None:
    assert scoring_verdict(key) == verdict
