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
    # TensorFlow's gradient-boosted trees (tf.estimator.BoostedTrees*), which SQLFlow
    # accepts as premade estimators: trained here by XGBoost, their parameters translated
    # (BOOSTED_TREES_PARAMS).
    # TensorFlow's defaults: learning_rate 0.1, max_depth 6, no L2, no minimum node weight.
    "BoostedTreesClassifier": {
        "objective": "binary:logistic",
        "eta": 0.1,
        "max_depth": 6,
        "lambda": 0.0,
        "min_child_weight": 0.0,
    },
    "BoostedTreesRegressor": {
        "objective": "reg:squarederror",
        "eta": 0.1,
        "max_depth": 6,
        "lambda": 0.0,
        "min_child_weight": 0.0,
    },
}
#: TensorFlow's ``BoostedTrees*`` estimators, which take ``BOOSTED_TREES_PARAMS``.
BOOSTED_TREES = ("BoostedTreesClassifier", "BoostedTreesRegressor")
_BY_FOLDED = {name.lower(): name for name in XGBOOST_ESTIMATORS}
_BARE = {
    name.split(".", 1)[-1].lower(): name
    for name in XGBOOST_ESTIMATORS
    if "XGB" in name or name in BOOSTED_TREES
}

#: ``tf.estimator.BoostedTreesClassifier/Regressor``'s arguments → the XGBoost booster
#: parameter each one is (``n_trees`` is the number of rounds, ``n_classes`` picks the
#: objective). The same trees: depth-wise growth, a shrinkage, L1/L2 on the leaf weights, a
#: minimum gain to split and a minimum hessian a leaf.
BOOSTED_TREES_PARAMS: Mapping[str, str] = {
    "n_trees": "num_boost_round",
    "max_depth": "max_depth",
    "learning_rate": "eta",
    "l1_regularization": "alpha",
    "l2_regularization": "lambda",
    "tree_complexity": "gamma",
    "min_node_weight": "min_child_weight",
    "n_classes": "num_class",
    "label_dimension": "label_dimension",
}
#: Their arguments that change nothing when XGBoost grows the trees: accepted, warned.
BOOSTED_TREES_IGNORED: Mapping[str, str] = {
    "n_batches_per_layer": "XGBoost grows each tree from all training rows at once",
    "center_bias": "XGBoost starts every model from base_score, which it estimates from the "
    "labels as center_bias does",
    "pruning_mode": "XGBoost prunes splits whose gain is below tree_complexity (gamma) "
    "after growing each tree",
    "quantile_sketch_epsilon": "XGBoost's hist method bins features into max_bin buckets instead",
    "train_in_memory": "rows are always read into memory",
}

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


def accepted_model_params(estimator: str | None) -> frozenset[str]:
    """The ``model.*`` keys an estimator takes: XGBoost's, and for ``BoostedTrees*`` also
    TensorFlow's names."""
    if estimator in BOOSTED_TREES:
        return ACCEPTED_MODEL_PARAMS | set(BOOSTED_TREES_PARAMS) | set(BOOSTED_TREES_IGNORED)
    return ACCEPTED_MODEL_PARAMS


def ignored_model_params(estimator: str | None) -> Mapping[str, str]:
    """The keys an estimator accepts and ignores, with why (SQLML414)."""
    if estimator in BOOSTED_TREES:
        return {**IGNORED_MODEL_PARAMS, **BOOSTED_TREES_IGNORED}
    return IGNORED_MODEL_PARAMS


def translate_boosted_trees(estimator: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """``BoostedTrees*``'s arguments as XGBoost's (``n_trees`` → ``num_boost_round``,
    ``l2_regularization`` → ``lambda``…); ``n_classes`` > 2 makes the classifier
    ``multi:softprob`` over that many classes. Raises ``ValueError`` for what XGBoost cannot
    do here (``label_dimension`` > 1)."""
    out: dict[str, Any] = {}
    for key, value in given.items():
        target = BOOSTED_TREES_PARAMS.get(key, key)
        if target in out and out[target] != value:
            raise ValueError(f"{key} and {target} both set {target}; write one")
        out[target] = value
    dimension = out.pop("label_dimension", 1)
    if dimension != 1:
        raise ValueError(f"label_dimension = {dimension!r}: one label column is trained here")
    classes = out.pop("num_class", None) if estimator == "BoostedTreesClassifier" else None
    if classes is not None:
        if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
            raise ValueError(f"n_classes must be a whole number ≥ 2, found {classes!r}")
        if classes > 2:
            out.setdefault("objective", "multi:softprob")
            out["num_class"] = classes
    return out


#: ``train.num_boost_round`` when a statement does not write it (SQLFlow's default).
DEFAULT_ROUNDS = 10
#: ``n_trees``' default for ``BoostedTrees*`` (TensorFlow's).
BOOSTED_TREES_ROUNDS = 100


def xgboost_estimator(reference: str) -> str | None:
    """SQLFlow's canonical name of an XGBoost estimator reference (``XGBOOST.GBTREE`` →
    ``xgboost.gbtree``, ``XGBRegressor`` → ``xgboost.XGBRegressor``), or None."""
    folded = reference.lower()
    return _BY_FOLDED.get(folded) or _BARE.get(folded)


def is_xgboost_reference(reference: str) -> bool:
    """A reference the ``xgboost`` flavor trains: in the ``xgboost`` package, or one of
    SQLFlow's bare ``XGB…`` names."""
    return reference.split(".", 1)[0].lower() == "xgboost" or reference.lower() in _BARE
