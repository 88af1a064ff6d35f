"""``TO EXPLAIN``'s chart and per-row options as every layer reads them.

SQLFlow passes every ``WITH summary.<key>`` of ``TO EXPLAIN`` to ``shap.summary_plot`` (its
``python/runtime/step/xgboost/explain.py``), except ``summary.plot_type = "decision"``,
which draws ``shap.decision_plot``; its INTO table holds the SHAP values of every explained
row, one column per feature. Here the INTO table keeps one row per feature (the mean
attributions every method has) and ``explain.per_row = true`` adds the per-row values as a
second table, ``<into>_rows``. ``sqlml check`` (SQLML415/416) and the step (SQLML538/539)
read the same tables below, so they never disagree on what a key means.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

#: ``summary.plot_type``: SQLFlow's documented charts. ``bar`` (the default) is the mean
#: |attribution| per feature, which any method gives; the others draw every explained
#: row's attributions, which only SHAP's explainers give.
PLOT_TYPES = ("bar", "dot", "violin", "decision")
DEFAULT_PLOT_TYPE = "bar"
PER_ROW_PLOTS = frozenset({"dot", "violin", "decision"})

#: ``summary.*`` keys the step passes on, with the chart types that draw them.
SUMMARY_KEYS: Mapping[str, frozenset[str]] = {
    "plot_type": frozenset(PLOT_TYPES),
    "max_display": frozenset(PLOT_TYPES),
    "sort": frozenset(PLOT_TYPES),
    "alpha": frozenset(PLOT_TYPES),
    "plot_size": frozenset(PLOT_TYPES),
    "title": frozenset(PLOT_TYPES),
    "color_bar": frozenset({"dot", "violin", "decision"}),
    "color_bar_label": frozenset({"dot", "violin"}),
    "axis_color": frozenset({"dot", "violin", "decision"}),
    "use_log_scale": frozenset({"dot", "violin"}),
}
#: What each honoured key does (``docs/language.md`` says the same).
SUMMARY_HELP: Mapping[str, str] = {
    "plot_type": "the chart: bar, dot, violin or decision",
    "max_display": "features shown, most important first",
    "sort": "order features by importance (false: the model's order)",
    "alpha": "opacity of the bars, dots or decision lines",
    "plot_size": '"auto", a width in inches, or [width, height]',
    "title": "the chart's title",
    "color_bar": "draw the colour bar (dot, violin, decision)",
    "color_bar_label": "the colour bar's label (dot, violin)",
    "axis_color": "colour of the axes (dot, violin, decision)",
    "use_log_scale": "a symmetric log scale for the attributions (dot, violin)",
}
#: ``shap.summary_plot`` arguments a statement cannot set here, with why (an error: the
#: chart would not be what was asked for).
SUMMARY_REFUSED: Mapping[str, str] = {
    "show": "the step saves the chart as a PNG; it never shows a window",
    "features": "the step passes the explained rows' feature values itself",
    "feature_names": "the features are the model's own columns",
    "class_names": "a multi-class model's chart shows the class it predicts most often",
    "class_inds": "a multi-class model's chart shows the class it predicts most often",
    "color": "the colours are SHAP's defaults (a colour map cannot be written in SQL)",
    "cmap": "the colours are SHAP's defaults (a colour map cannot be written in SQL)",
    "layered_violin_max_num_bins": "layered violins are not one of the plot types here",
    "show_values_in_legend": "a legend of values belongs to multi-class bar charts, "
    "which are not drawn here",
    "rng": "the step seeds SHAP from the statement's seed",
    "auto_size_plot": "SHAP removed it; write summary.plot_size",
}
#: ``explain.per_row = true``: the table beside the INTO table.
PER_ROW_KEY = "per_row"
ROWS_SUFFIX = "rows"
#: The per-row table's columns besides one attribution column per feature.
ROW_NUMBER, BASE_VALUE, MODEL_OUTPUT, EXPLAINED_CLASS = (
    "row_number",
    "base_value",
    "model_output",
    "explained_class",
)
#: Every name the per-row table uses besides the features': a feature of one of these
#: names is the step's SQLML539 (the table would hold two columns of one name).
PER_ROW_RESERVED = (
    ROW_NUMBER,
    BASE_VALUE,
    MODEL_OUTPUT,
    EXPLAINED_CLASS,
    "method",
    "model",
    "model_version",
)

#: A per-row chart or table asked of a method that gives no per-row attributions
#: (permutation importance), or of SHAP where it is not installed.
NO_PER_ROW = "SQLML538"
#: A ``summary.*``/``explain.per_row`` value the step refuses.
BAD_EXPLAIN_OPTION = "SQLML539"


def rows_table(into: Sequence[str]) -> tuple[str, ...]:
    """The name parts of the per-row table beside ``into``: ``house_explained`` →
    ``house_explained_rows``."""
    return (*into[:-1], f"{into[-1]}_{ROWS_SUFFIX}")


def plot_type(value: object) -> str:
    """The canonical chart of ``summary.plot_type``; ``ValueError`` with a did-you-mean
    for anything else."""
    if value is None:
        return DEFAULT_PLOT_TYPE
    key = str(value).strip().lower()
    if key in PLOT_TYPES:
        return key
    close = difflib.get_close_matches(key, PLOT_TYPES, n=1)
    raise ValueError(
        f"summary.plot_type: unknown plot type {value!r}"
        + (f" (did you mean '{close[0]}'?)" if close else "")
        + f"; known: {', '.join(PLOT_TYPES)}"
    )


def wants_per_row(params: Mapping[str, Mapping[str, object]]) -> bool:
    """Whether a statement's ``WITH`` asks for per-row attributions: a per-row chart or
    ``explain.per_row = true`` (a plot type that is no plot type asks for none)."""
    try:
        chart = plot_type(params.get("summary", {}).get("plot_type"))
    except ValueError:
        chart = DEFAULT_PLOT_TYPE
    return chart in PER_ROW_PLOTS or params.get("explain", {}).get(PER_ROW_KEY) is True


def summary_verdict(key: str, chart: str) -> tuple[str, str]:
    """How a step drawing ``chart`` treats ``summary.<key>``: ``("honoured", "")``,
    ``("ignored", why)`` (SHAP takes it for other charts), ``("refused", why)`` or
    ``("unknown", hint)`` with the closest key."""
    applies = SUMMARY_KEYS.get(key)
    if applies is not None:
        if chart in applies:
            return "honoured", ""
        return "ignored", (
            f"a {chart} chart has no use for it (only {', '.join(sorted(applies))} charts)"
        )
    why = SUMMARY_REFUSED.get(key)
    if why is not None:
        return "refused", why
    names = [f"summary.{k}" for k in SUMMARY_KEYS]
    close = difflib.get_close_matches(f"summary.{key}", names, n=1, cutoff=0.6)
    return "unknown", (f"did you mean '{close[0]}'? " if close else "") + (
        f"known: {', '.join(names)}"
    )


def _positive_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def option_problem(key: str, value: object) -> str | None:
    """What is wrong with the value of an honoured ``summary.<key>`` or
    ``explain.per_row`` (``key`` with its namespace), or None."""
    if key == f"explain.{PER_ROW_KEY}" or key in (
        "summary.sort",
        "summary.color_bar",
        "summary.use_log_scale",
    ):
        return None if isinstance(value, bool) else f"{key} must be true or false, not {value!r}"
    if key == "summary.plot_type":
        try:
            plot_type(value)
        except ValueError as e:
            return str(e)
        return None
    if key == "summary.max_display":
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return None
        return f"{key} must be a positive integer, not {value!r}"
    if key == "summary.alpha":
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
            return None
        return f"{key} must be a number from 0 to 1, not {value!r}"
    if key == "summary.plot_size":
        if value == "auto" or _positive_number(value):
            return None
        if (
            isinstance(value, (list, tuple))
            and len(value) == 2
            and all(_positive_number(v) for v in value)
        ):
            return None
        return f'{key} must be "auto", a width in inches or [width, height], not {value!r}'
    if key in ("summary.title", "summary.color_bar_label", "summary.axis_color"):
        return None if isinstance(value, str) else f"{key} must be a string, not {value!r}"
    return None
