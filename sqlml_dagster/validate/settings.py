"""``WITH train.* / validation.* / resources.* / optimizer.*``: keys the runtime reads, values
Kubernetes takes.

A misspelled setting is not an error at run time — the runtime reads the keys it knows and
never looks at the rest — so ``train.epcoh = 100`` trains for the default 10 epochs. Here
it is an error, checked against :data:`sqlml_dagster.contract.SETTINGS_KEYS`, the list the
runtime's readers are tested against. Resource amounts are parsed the way Kubernetes parses
them (``contract.parse_quantity``): ``"2GB"`` would otherwise only fail when the Job is
created, on the cluster; ``train.max_runtime`` the way the Kubernetes launcher reads it
(``contract.parse_duration``), which would otherwise fail only when the step is launched.

A known key is then judged for the flavor of the model a ``TO TRAIN`` names
(``contract.setting_verdict``): one its step honours passes; one SQLFlow defines that means
nothing here (``train.max_steps`` for XGBoost, ``validation.throttle_secs``) is a warning
that says why it is ignored (SQLML414); one the flavor's step never reads
(``train.epoch`` for a scikit-learn estimator) is an error (SQLML413) — no key is accepted
and silently ignored.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from ..compiler import codes
from ..compiler.diagnostics import Diagnostic, Severity
from ..compiler.ir import MLStatement, Param, TrainStatement
from ..compiler.project import Project
from ..contract import (
    DURATION_KEYS,
    QUANTITY_KEYS,
    SETTINGS_KEYS,
    WHOLE_QUANTITY_KEYS,
    DurationError,
    QuantityError,
    did_you_mean,
    parse_duration,
    parse_quantity,
    setting_verdict,
)
from ..contract.distributed import NUM_WORKERS, workers_problem, workers_value_problem
from ..contract.explain import (
    DEFAULT_PLOT_TYPE,
    PER_ROW_KEY,
    PER_ROW_PLOTS,
    PLOT_TYPES,
    option_problem,
    plot_type,
)
from ..contract.metrics import split_names, unknown_names
from ..contract.settings import SCORING_KEYS, scoring_verdict
from ._spans import Sources, key_span, value_span


def check_settings(project: Project, sources: Sources) -> list[Diagnostic]:
    """Unknown ``train``/``validation``/``resources`` keys and resource values Kubernetes
    would refuse, in every ML statement of the project."""
    found: list[Diagnostic] = []
    for sql_file in project.files:
        for statement in sql_file.statements:
            if not isinstance(statement, MLStatement):
                continue
            flavor = statement.model.flavor if isinstance(statement, TrainStatement) else None
            reference = statement.model.reference if isinstance(statement, TrainStatement) else None
            owned = _SCORING_NAMESPACES.get(statement.KIND, ())
            for param in statement.params:
                if owned and param.namespace in SCORING_KEYS:
                    problem = _scoring_key(param, owned, sources, project.dialect, statement)
                    if problem is not None:
                        found.append(problem)
                    continue
                known = SETTINGS_KEYS.get(param.namespace)
                if flavor is not None and param.key == f"train.{NUM_WORKERS}":
                    workers = _workers_problem(param, flavor, sources, project.dialect)
                    if workers is not None:
                        found.append(workers)
                        continue
                if flavor is not None and param.namespace != "model":
                    verdict, _ = setting_verdict(flavor, param.key, reference)
                    if verdict == "ignored" or (
                        verdict == "refused" and (known is None or param.path in known)
                    ):  # a key nobody reads is the unknown-setting error below
                        found.append(_verdict(param, flavor, sources, project.dialect, reference))
                        continue
                if known is None:
                    continue
                if param.path not in known:
                    found.append(_unknown_key(param, known, sources, project.dialect))
                elif param.namespace == "resources" and param.path in QUANTITY_KEYS:
                    whole = param.path in WHOLE_QUANTITY_KEYS
                    problem = _value_problem(
                        param,
                        functools.partial(parse_quantity, whole=whole),
                        codes.BAD_RESOURCE,
                        sources,
                        project.dialect,
                    )
                    if problem is not None:
                        found.append(problem)
                elif param.key in NAMED_LIST_KEYS:
                    found.extend(_unknown_names(param, sources, project.dialect))
                elif param.key in DURATION_KEYS:
                    problem = _value_problem(
                        param, parse_duration, codes.BAD_DURATION, sources, project.dialect
                    )
                    if problem is not None:
                        found.append(problem)
    return found


def _workers_problem(
    param: Param, flavor: str, sources: Sources, dialect: str
) -> Diagnostic | None:
    """SQLML440: ``train.num_workers > 1`` for a model that trains in one process
    (scikit-learn, XGBoost, Keras), which the step would run in one process anyway. A value
    that is no number of workers is the compiler's SQLML135."""
    if workers_value_problem(param.value) is not None:
        return None
    problem = workers_problem(flavor, param.value)
    if problem is None:
        return None
    source = sources.get(param.span.file)
    return Diagnostic(
        codes.WORKERS_NOT_DISTRIBUTED,
        f"train.num_workers: {problem}",
        value_span(param, source, dialect),
        hint="drop train.num_workers (give the step more CPUs with resources.cpu), or train "
        "a PyTorch model (torch.nn.Module, DNNClassifier…) in several processes",
        source=source,
    )


def _ignored(param: Param, why: str, source: Any, dialect: str) -> Diagnostic:
    """SQLML414: a key of SQLFlow's that the step accepts and ignores, with why."""
    return Diagnostic(
        codes.SETTING_IGNORED,
        f"'{param.key}' is accepted and ignored here: {why}",
        key_span(param, source, dialect),
        hint="SQLFlow defines it; docs/language.md (SQLFlow conformance) lists what "
        "each key does here — remove it to silence this warning",
        severity=Severity.WARNING,
        source=source,
    )


#: The namespaces each scoring statement's step reads (``contract.SCORING_KEYS``).
_SCORING_NAMESPACES = {"predict": ("predict",), "explain": ("explain", "summary")}


def _scoring_key(
    param: Param, owned: tuple[str, ...], sources: Sources, dialect: str, statement: MLStatement
) -> Diagnostic | None:
    """A ``TO PREDICT``/``TO EXPLAIN`` key checked like a ``TO TRAIN`` one: honoured,
    ignored with a warning that says why (SQLML414), or unknown (SQLML405 with the
    closest key); ``summary.*`` for the chart ``summary.plot_type`` draws — an unknown plot
    type is SQLML415, a value or a key of SHAP's the step cannot use SQLML416."""
    source = sources.get(param.span.file)
    try:
        chart = plot_type(statement.param("summary.plot_type"))
    except ValueError:
        chart = DEFAULT_PLOT_TYPE
    verdict, why = scoring_verdict(param.key, chart)
    if param.namespace not in owned:
        verdict, why = (
            "unknown",
            (
                f"{param.namespace}.* keys belong to "
                + " / ".join(
                    f"TO {k.upper()}"
                    for k, v in _SCORING_NAMESPACES.items()
                    if param.namespace in v
                )
            ),
        )
    if verdict == "honoured":
        return _explain_option(param, source, dialect, statement)
    if verdict == "ignored":
        return _ignored(param, why, source, dialect)
    if verdict == "refused":
        return Diagnostic(
            codes.BAD_EXPLAIN_OPTION,
            f"'{param.key}' cannot be set here: {why}",
            key_span(param, source, dialect),
            hint="remove it; docs/language.md (TO EXPLAIN's charts) lists the summary.* keys "
            "each chart takes",
            source=source,
        )
    return _unknown(param, source, dialect, why)


def _explain_option(
    param: Param, source: Any, dialect: str, statement: MLStatement
) -> Diagnostic | None:
    """SQLML415 for a plot type that is none, SQLML416 for a ``summary.*``/
    ``explain.per_row`` value the step refuses, or a per-row chart or table asked of
    ``USING permutation`` (one importance per feature, no row's): the step's SQLML539 and
    SQLML538, found before anything runs."""
    problem = option_problem(param.key, param.value)
    if problem is not None:
        plot = param.key == "summary.plot_type"
        return Diagnostic(
            codes.UNKNOWN_PLOT_TYPE if plot else codes.BAD_EXPLAIN_OPTION,
            problem,
            value_span(param, source, dialect),
            hint=f"one of {', '.join(PLOT_TYPES)}"
            if plot
            else "docs/language.md (TO EXPLAIN's charts) lists each summary.* key's values",
            source=source,
        )
    asks_rows = (param.key == "summary.plot_type" and plot_type(param.value) in PER_ROW_PLOTS) or (
        param.key == f"explain.{PER_ROW_KEY}" and param.value is True
    )
    explainer = getattr(statement, "explainer", None)
    if asks_rows and explainer is not None and explainer.lower() == "permutation":
        return Diagnostic(
            codes.BAD_EXPLAIN_OPTION,
            f"{param.key} = {str(param.value).lower()} needs every row's attributions; "
            "USING permutation "
            "measures one importance per feature",
            value_span(param, source, dialect),
            hint="write USING shap (or TreeExplainer, KernelExplainer…), or drop it for the "
            "bar chart of mean attributions",
            source=source,
        )
    return None


def _verdict(
    param: Param, flavor: str, sources: Sources, dialect: str, reference: str | None = None
) -> Diagnostic:
    """SQLML413 for a key ``flavor``'s step never reads, SQLML414 (a warning) for a key of
    SQLFlow's it ignores."""
    verdict, why = setting_verdict(flavor, param.key, reference)
    source = sources.get(param.span.file)
    if verdict == "ignored":
        return _ignored(param, why, source, dialect)
    readers = [f for f in ("sklearn", "xgboost", "pytorch", "keras") if f != flavor]
    honoured = [f for f in readers if setting_verdict(f, param.key)[0] == "honoured"]
    return Diagnostic(
        codes.SETTING_NOT_READ,
        f"'{param.key}' means nothing to this model: {why}",
        key_span(param, source, dialect),
        hint=(f"{', '.join(honoured)} models read it; " if honoured else "")
        + "remove it, or train a model whose step reads it",
        source=source,
    )


#: ``WITH`` keys whose value names EVALUATE's metrics or curves (a list or a comma string).
NAMED_LIST_KEYS = ("validation.metrics", "validation.curves")


def _unknown_names(param: Param, sources: Sources, dialect: str) -> list[Diagnostic]:
    """SQLML435/436: a ``validation.metrics``/``validation.curves`` entry the step would
    refuse when it runs (``contract.metric_name``/``curve_name``: the runtime's own
    reading), at the value, with the closest known name."""
    curves = param.key == "validation.curves"
    unknown = unknown_names(split_names(param.value), curves=curves)
    source = sources.get(param.span.file)
    what = "curve" if curves else "metric"
    return [
        Diagnostic(
            codes.UNKNOWN_CURVE if curves else codes.UNKNOWN_METRIC,
            f"{param.key}: unknown {what} '{u.written}'",
            value_span(param, source, dialect),
            hint=(f"did you mean '{u.suggestion}'? " if u.suggestion else "")
            + f"known: {', '.join(u.known)}",
            source=source,
        )
        for u in unknown
    ]


def _unknown_key(
    param: Param, known: Mapping[str, str], sources: Sources, dialect: str
) -> Diagnostic:
    names = list(known)
    source = sources.get(param.span.file)
    close = did_you_mean(param.path, names)
    listing = ", ".join(f"{param.namespace}.{k}" for k in names)
    hint = (f"did you mean '{param.namespace}.{close}'? " if close else "") + f"known: {listing}"
    return _unknown(param, source, dialect, hint, reader="runtime")


def _unknown(
    param: Param, source: Any, dialect: str, hint: str, reader: str = "step"
) -> Diagnostic:
    """SQLML405: a key nothing reads, at the key."""
    return Diagnostic(
        codes.UNKNOWN_SETTING,
        f"unknown setting '{param.key}': the {reader} never reads it",
        key_span(param, source, dialect),
        hint=hint,
        source=source,
    )


def _value_problem(
    param: Param,
    parse: Callable[[object], object],
    code: str,
    sources: Sources,
    dialect: str,
) -> Diagnostic | None:
    """The diagnostic of a value ``parse`` refuses (a quantity, a duration), at the value."""
    try:
        parse(param.value)
    except (QuantityError, DurationError) as e:
        source = sources.get(param.span.file)
        return Diagnostic(
            code,
            f"{param.key}: {e}",
            value_span(param, source, dialect),
            hint=e.hint,
            source=source,
        )
    return None
