"""SQLFlow's XGBoost estimators and the parameters ``WITH`` may give them.

SQLFlow trains XGBoost with ``xgboost.train(params, dtrain, num_boost_round)``
(``go/codegen/xgboost/codegen.go``, ``python/runtime/step/xgboost/train.py``): the model
reference only picks a default (``xgboost.gbtree`` → ``booster = gbtree``,
``xgboost.XGBRegressor`` → ``objective = reg:squarederror``), every key without a namespace
(or under ``model.``) is a booster parameter, and ``train.num_boost_round`` the number of
rounds. ``sqlml check`` and the ``xgboost`` step both check a statement against this module:
a parameter XGBoost does not know is an error here, where XGBoost itself would only warn
that it is unused and train without it.

Standard library only (the contract's rule): the names are XGBoost's documented parameters
(doc/parameter.rst: general, tree booster, DART, linear booster, learning task), and a test
holds them to what the installed XGBoost reports in ``Booster.save_config()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: SQLFlow's estimator names (``resolveModelParams``) → the parameters each one defaults.
#: Matched without regard to case, with or without the ``xgboost.`` prefix for the
#: scikit-learn-style names, as SQLFlow matches them.
XGBOOST_ESTIMATORS: Mapping[str, Mapping[str, Any]] = {
    "xgboost.gbtree": {"booster": "gbtree"},
    "xgboost.gblinear": {"booster": "gblinear"},
    "xgboost.dart": {"booster": "dart"},
    "xgboost.XGBRegressor": {"objective": "reg:squarederror"},
    "xgboost.XGBClassifier": {"objective": "binary:logistic"},
    "xgboost.XGBRFRegressor": {
        "objective": "reg:squarederror",
        "learning_rate": 1,
        "subsample": 0.8,
        "colsample_bynode": 0.8,
        "reg_lambda": 1e-05,
        "num_parallel_tree": 100,
    },
    "xgboost.XGBRFClassifier": {
        "objective": "multi:softprob",
        "learning_rate": 1,
        "subsample": 0.8,
        "colsample_bynode": 0.8,
        "reg_lambda": 1e-05,
        "num_parallel_tree": 100,
    },
    "xgboost.XGBRanker": {"objective": "rank:pairwise"},
}
_BY_FOLDED = {name.lower(): name for name in XGBOOST_ESTIMATORS}
_BARE = {name.split(".", 1)[1].lower(): name for name in XGBOOST_ESTIMATORS if "XGB" in name}

#: XGBoost's booster parameters and their aliases (doc/parameter.rst).
XGBOOST_PARAMS: frozenset[str] = frozenset(
    {
        # general
        "booster", "device", "verbosity", "validate_parameters", "nthread", "n_jobs",
        "disable_default_eval_metric", "num_feature",
        # tree booster
        "eta", "learning_rate", "gamma", "min_split_loss", "max_depth", "min_child_weight",
        "max_delta_step", "subsample", "sampling_method", "colsample_bytree",
        "colsample_bylevel", "colsample_bynode", "lambda", "reg_lambda", "alpha",
        "reg_alpha", "tree_method", "scale_pos_weight", "updater", "refresh_leaf",
        "process_type", "grow_policy", "max_leaves", "max_bin", "num_parallel_tree",
        "monotone_constraints", "interaction_constraints", "multi_strategy",
        "max_cached_hist_node", "max_cat_to_onehot", "max_cat_threshold",
        "sparse_threshold",
        # DART
        "sample_type", "normalize_type", "rate_drop", "one_drop", "skip_drop",
        # linear booster
        "feature_selector", "top_k",
        # learning task
        "objective", "num_class", "base_score", "eval_metric", "seed", "random_state",
        "seed_per_iteration", "tweedie_variance_power", "huber_slope", "quantile_alpha",
        "aft_loss_distribution", "aft_loss_distribution_scale", "lambdarank_pair_method",
        "lambdarank_num_pair_per_sample", "lambdarank_normalization",
        "lambdarank_score_normalization", "lambdarank_unbiased", "lambdarank_bias_norm",
        "ndcg_exp_gain", "tolerance",
    }
)  # fmt: skip

#: Names of XGBoost's scikit-learn wrapper that SQLFlow's attribute list also accepts
#: (``go/attribute/model_parameters.go``), and what each becomes here.
WRAPPER_PARAMS: Mapping[str, str] = {
    "n_estimators": "the number of rounds, as train.num_boost_round",
    # SQLFlow's Python runtime tests write it without its namespace
    # (python/runtime/local/submitter_test.py)
    "num_boost_round": "the number of rounds, as train.num_boost_round",
    "missing": "the value read as missing when the rows become XGBoost's DMatrix",
}
#: Keys SQLFlow accepts that mean nothing to ``xgboost.train``: accepted with a warning.
IGNORED_MODEL_PARAMS: Mapping[str, str] = {
    "importance_type": "it only picks what XGBModel.feature_importances_ reports; TO EXPLAIN "
    "attributes with SHAP values instead",
    "silent": "XGBoost removed it in 1.0; write verbosity = 0 instead",
}
#: Every ``model.*`` key an XGBoost statement may write.
ACCEPTED_MODEL_PARAMS: frozenset[str] = frozenset(
    XGBOOST_PARAMS | set(WRAPPER_PARAMS) | set(IGNORED_MODEL_PARAMS)
)
#: ``train.num_boost_round`` when a statement does not write it (SQLFlow's default).
DEFAULT_ROUNDS = 10


def xgboost_estimator(reference: str) -> str | None:
    """SQLFlow's canonical name of an XGBoost estimator reference (``XGBOOST.GBTREE`` →
    ``xgboost.gbtree``, ``XGBRegressor`` → ``xgboost.XGBRegressor``), or None."""
    folded = reference.lower()
    return _BY_FOLDED.get(folded) or _BARE.get(folded)


def is_xgboost_reference(reference: str) -> bool:
    """A reference the ``xgboost`` flavor trains: in the ``xgboost`` package, or one of
    SQLFlow's bare ``XGB…`` names."""
    return reference.split(".", 1)[0].lower() == "xgboost" or reference.lower() in _BARE
