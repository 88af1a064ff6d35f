"""EXPLAIN's chart (``summary.plot_type``) and its per-row attributions.

``bar`` is the mean |attribution| per feature, which every method has (permutation
importance included), drawn on a bare Agg figure as the other charts of ``plots.py``.
``dot``, ``violin`` and ``decision`` draw every explained row's SHAP values with SHAP's own
plotting (``shap.summary_plot``, ``shap.decision_plot``, as SQLFlow draws them), which
draws on pyplot's current figure: the step switches pyplot to Agg (a step process draws
nothing on a screen) and closes the figure after saving it.

A model with one output per class has one attribution per row, feature and class. A row
of the per-row table is explained towards the class the model predicts for it (towards
the positive class for two classes, so that a sign means the same on every row); a chart,
which has one base value, shows the class predicted most often.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import fsspec
import numpy as np

from ..contract.explain import (
    BAD_EXPLAIN_OPTION,
    PER_ROW_PLOTS,
    option_problem,
    plot_type,
    summary_verdict,
)
from ..contract.spec import StepSpec
from . import Reporter, StepError
from .plots import new_figure, save_png

#: The bar chart shows at most this many features unless ``summary.max_display`` says.
PLOT_FEATURES = 30


@dataclass(frozen=True)
class Chart:
    """``summary.*`` as the step draws it: the plot type and its checked options."""

    plot_type: str
    options: Mapping[str, Any]

    @property
    def per_row(self) -> bool:
        return self.plot_type in PER_ROW_PLOTS

    @classmethod
    def of(cls, spec: StepSpec) -> Chart:
        """The statement's ``summary.*``: the chart's own keys, each value checked as
        ``sqlml check`` checks it; a key SHAP takes that cannot be set here is SQLML539.
        Keys the chart ignores were logged when the step began (``runtime.run_step``)."""
        summary = dict(spec.params.get("summary", {}))
        problem = option_problem("summary.plot_type", summary.get("plot_type"))
        if "plot_type" in summary and problem is not None:
            raise StepError(problem, BAD_EXPLAIN_OPTION)
        chart = plot_type(summary.pop("plot_type", None))
        options: dict[str, Any] = {}
        for key, value in summary.items():
            verdict, why = summary_verdict(key, chart)
            if verdict == "refused":
                raise StepError(f"summary.{key} cannot be set here: {why}", BAD_EXPLAIN_OPTION)
            if verdict != "honoured":
                continue
            problem = option_problem(f"summary.{key}", value)
            if problem is not None:
                raise StepError(problem, BAD_EXPLAIN_OPTION)
            options[key] = value
        return cls(chart, options)


@dataclass(frozen=True)
class RowAttributions:
    """Every explained row's attributions towards one output: ``values[row, feature]``,
    the base value and the explained output (base + Σ values) per row, and the class each
    row is explained towards (None for a model with one non-class output)."""

    values: np.ndarray
    base: np.ndarray
    output: np.ndarray
    classes: list[Any] | None
    #: The chart's rows: the class predicted most often (all rows for one output).
    chart_values: np.ndarray
    chart_base: float
    chart_class: Any | None

    @classmethod
    def of(
        cls, values: np.ndarray, base: np.ndarray, labels: Sequence[Any] | None
    ) -> RowAttributions:
        """From SHAP's ``Explanation.values`` (``[rows, features]`` or ``[rows, features,
        outputs]``) and ``base_values``; ``labels``: the classifier's classes."""
        n = values.shape[0]
        if values.ndim == 2:
            base_1 = np.broadcast_to(np.asarray(base, dtype=float).reshape(-1), (n,)).copy()
            label = labels[-1] if labels is not None and len(labels) == 2 else None
            output = base_1 + values.sum(axis=1)
            return cls(
                values,
                base_1,
                output,
                None if label is None else [label] * n,
                values,
                float(base_1.mean()),
                label,
            )
        k = values.shape[2]
        base_k = np.asarray(base, dtype=float)
        base_k = np.broadcast_to(base_k.reshape(-1, k) if base_k.size != k else base_k, (n, k))
        outputs = base_k + values.sum(axis=1)
        chosen = np.full(n, 1) if k == 2 else np.argmax(outputs, axis=1)
        rows = np.arange(n)
        names = list(labels) if labels is not None and len(labels) == k else list(range(k))
        common = int(np.bincount(chosen, minlength=k).argmax())
        return cls(
            values[rows, :, chosen],
            base_k[rows, chosen].astype(float),
            outputs[rows, chosen].astype(float),
            [names[i] for i in chosen],
            values[:, :, common],
            float(base_k[:, common].mean()),
            names[common],
        )


def bar_chart(
    uri: str,
    chart: Chart,
    features: list[str],
    importance: np.ndarray,
    std: np.ndarray,
    *,
    title: str,
    xlabel: str,
    reporter: Reporter,
) -> str | None:
    """A horizontal bar chart of ``importance`` (in ``features``' order), most important on
    top unless ``summary.sort = false``; None (and a log line) without matplotlib, which is
    optional so that a lean step image can still EXPLAIN."""
    figure = new_figure(7.0, 2.5, reporter, uri.rsplit("/", 1)[-1])
    if figure is None:
        return None
    options = chart.options
    order = (
        np.argsort(-importance, kind="stable")
        if options.get("sort", True)
        else np.arange(len(features))
    )
    shown = min(len(features), int(options.get("max_display", PLOT_FEATURES)))
    title = str(options.get("title", title))
    if shown < len(features) and "title" not in options:
        title += f" (top {shown} of {len(features)})"
    order = order[:shown]
    width, height = _size(options.get("plot_size"), 7.0, max(2.5, 0.35 * shown + 1.3))
    figure.set_size_inches(width, height)
    axes = figure.add_subplot()
    rows = np.arange(shown)[::-1]
    axes.barh(
        rows,
        importance[order],
        xerr=np.nan_to_num(std[order]),
        color="#4C72B0",
        ecolor="#444444",
        capsize=3,
        alpha=float(options.get("alpha", 1.0)),
    )
    axes.set_yticks(rows, labels=[features[i] for i in order])
    axes.axvline(0.0, color="#999999", linewidth=0.8)
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    return save_png(figure, uri, reporter)


def shap_chart(
    uri: str,
    chart: Chart,
    rows: RowAttributions,
    x: np.ndarray,
    features: list[str],
    *,
    title: str,
    seed: int,
    reporter: Reporter,
) -> str | None:
    """``dot``/``violin`` (``shap.summary_plot``) or ``decision`` (``shap.decision_plot``)
    of the chart's rows; None (and a log line) without matplotlib."""
    try:
        import matplotlib
        import shap
        from matplotlib import pyplot
    except ImportError:
        reporter.log(
            f"matplotlib is not installed in the step image: no {chart.plot_type} chart "
            "(pip install 'sqlml-dagster[explain]')"
        )
        return None
    if matplotlib.get_backend().lower() != "agg":
        pyplot.switch_backend("agg")  # a step draws files, never windows
    options = dict(chart.options)
    if rows.chart_class is not None and "title" not in options:
        title += f" — class {rows.chart_class}"
    options.setdefault("title", title)
    size = options.pop("plot_size", "auto")
    pyplot.close("all")
    try:
        if chart.plot_type == "decision":
            shown = options.pop("max_display", 20)
            ordered = options.pop("sort", True)
            shap.decision_plot(
                rows.chart_base,
                rows.chart_values,
                features=x,
                feature_names=features,
                feature_order="importance" if ordered else "none",
                feature_display_range=slice(None, -(int(shown) + 1), -1),
                show=False,
                ignore_warnings=True,  # more than 2,000 rows is ours to allow (max_rows)
                **options,
            )
            figure = pyplot.gcf()
            if size != "auto":
                figure.set_size_inches(*_size(size, *figure.get_size_inches()))
        else:
            # SHAP's summary_plot takes a title and draws none (its "unused title argument"
            # TODO): set on the chart's axes after it has drawn
            title = str(options.pop("title"))
            shap.summary_plot(
                rows.chart_values,
                x,
                feature_names=features,
                plot_type=chart.plot_type,
                show=False,
                plot_size=tuple(size) if isinstance(size, list) else size,
                rng=np.random.default_rng(seed),
                **options,
            )
            figure = pyplot.gcf()
            figure.axes[0].set_title(title)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight", dpi=100)
    finally:
        pyplot.close("all")
    with fsspec.open(uri, "wb") as f:
        f.write(buffer.getvalue())
    reporter.log(f"wrote {uri}")
    return uri


def _size(value: object, width: float, height: float) -> tuple[float, float]:
    """``summary.plot_size``: "auto" (or unset) keeps ``width`` by ``height``; a number is the
    width (the height scaled with it, as SHAP scales it); ``[w, h]`` both."""
    if isinstance(value, (list, tuple)):
        return float(value[0]), float(value[1])
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), float(height) * float(value) / float(width)
    return float(width), float(height)
