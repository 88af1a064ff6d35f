"""PNG charts a step writes beside its output (EXPLAIN's bar chart, EVALUATE's curves).

matplotlib is optional (the ``explain`` extra), so a lean step image still evaluates and
explains: without it :func:`new_figure` returns ``None`` and the caller logs why. Charts
draw on an explicit Agg canvas of a bare ``Figure``: no pyplot, no global backend switch.
"""

from __future__ import annotations

import io
from typing import Any

import fsspec

from . import Reporter


def new_figure(width: float, height: float, reporter: Reporter, what: str) -> Any | None:
    """A figure to draw on, or ``None`` (and a log line naming ``what`` is skipped) when
    matplotlib is not installed in the step image."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        reporter.log(
            f"matplotlib is not installed in the step image: no {what} "
            "(pip install 'sqlml-dagster[explain]')"
        )
        return None
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def save_png(figure: Any, uri: str, reporter: Reporter) -> str:
    """Write ``figure`` as a PNG at ``uri`` (any fsspec URL); returns ``uri``."""
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    with fsspec.open(uri, "wb") as f:
        f.write(buffer.getvalue())
    reporter.log(f"wrote {uri}")
    return uri
