"""What assets show in the Dagster UI: table, model, launch, history and metrics metadata."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import dagster as dg
import fsspec

from ..compiler.ir import QualifiedName
from ..compiler.project import Node
from ..store import ModelVersion
from ..warehouses import TableStats


def table_metadata(
    node: Node, stats: TableStats, name: QualifiedName | None = None
) -> dict[str, Any]:
    """A table asset's row count, name and columns (``name``: one of the node's further
    outputs, ``TO RUN … INTO a, b``)."""
    return {
        "dagster/row_count": stats.rows,
        "dagster/table_name": str(name or node.name),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name=name, type=kind) for name, kind in stats.columns]
        ),
    }


def model_metadata(version: ModelVersion, previous: ModelVersion | None) -> dict[str, Any]:
    """What a model asset's materialization shows: the version and where it lives, what
    was trained with which params, its metrics beside the previous version's, and where
    it ran (image, Kubernetes Job) — all from the manifest, so a reused version shows
    the run that trained it.

    The UI lists entries in this order: what people look for first (version, metrics,
    params) leads; the ``metric/*`` numbers, which Dagster plots across materializations,
    and the fingerprints follow."""
    m = version.manifest
    metadata: dict[str, Any] = {
        "model_version": m.version,
        "metrics": metrics_table(m.metrics, previous.manifest.metrics if previous else {}),
        "params": params_table(m.params),
        "model_uri": dg.MetadataValue.path(version.uri),
        "dagster/uri": version.uri,  # Dagster's standard "where the asset lives"
        "model_reference": m.model_reference,
        "flavor": m.flavor,
    }
    if m.image:
        metadata["image"] = m.image
    metadata.update(launch_metadata(m.launched_as, m.image_digest))
    if previous is not None:
        metadata["previous_version"] = previous.manifest.version
    metadata.update({f"metric/{k}": v for k, v in held_out_first(m.metrics).items()})
    metadata.update(
        {
            "training_rows": m.training_rows,
            "features": dg.MetadataValue.json(m.features),
            "fingerprint": m.fingerprint,
            "training_data_fingerprint": m.training_data_fingerprint,
            "created_at": m.created_at,
        }
    )
    return metadata


def params_table(params: dict[str, Any]) -> dg.TableMetadataValue:
    """Params by namespace (``model``, ``train``, ``validation``, ``options``…) as one
    ``namespace.key | value`` row each — the final values the step reported, so the
    estimator's defaults show beside what the statement set."""
    rows = []
    for namespace, values in params.items():
        items = values.items() if isinstance(values, dict) else [("", values)]
        for key, value in items:
            name = f"{namespace}.{key}" if key else namespace
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            rows.append(dg.TableRecord({"param": name, "value": shown}))
    return dg.MetadataValue.table(
        records=rows,
        schema=dg.TableSchema(
            columns=[dg.TableColumn("param", "string"), dg.TableColumn("value", "string")]
        ),
    )


#: Metadata keys naming the Kubernetes Job a step ran as.
K8S_JOB_KEY = "kubernetes/job"
K8S_NAMESPACE_KEY = "kubernetes/namespace"


def launch_metadata(launched_as: str | None, image_digest: str | None) -> dict[str, Any]:
    """Where a step ran, for the UI: a Kubernetes Job by name and namespace (so
    ``kubectl -n NS logs job/NAME`` is a copy away; ``launched_as`` is
    ``job/<namespace>/<name>``) and the image by digest. Nothing for a local step."""
    metadata: dict[str, Any] = {}
    if image_digest:
        metadata["image_digest"] = image_digest
    if launched_as and launched_as != "local":
        metadata["launched_as"] = launched_as
        where, _, rest = launched_as.partition("/")
        namespace, _, job = rest.partition("/")
        if where == "job" and namespace and job:
            metadata[K8S_JOB_KEY] = job
            metadata[K8S_NAMESPACE_KEY] = namespace
    return metadata


def history_table(history: list[dict[str, Any]]) -> dg.TableMetadataValue:
    """Per-epoch loss and validation metrics of a training, one row per epoch."""
    names = list(dict.fromkeys(k for row in history for k in row))
    return dg.MetadataValue.table(
        records=[dg.TableRecord({n: row.get(n) for n in names}) for row in history],
        schema=dg.TableSchema(
            columns=[dg.TableColumn(n, "int" if n == "epoch" else "float") for n in names]
        ),
    )


def held_out_first(metrics: dict[str, float]) -> dict[str, float]:
    """The metrics with the held-out ones (``val_*``: ``validation.select`` or
    ``validation.split`` rows the model never trained on) first — what judges a model —
    and the fit to its own training rows after them."""
    return dict(sorted(metrics.items(), key=lambda item: not item[0].startswith("val_")))


def metrics_table(metrics: dict[str, float], previous: dict[str, float]) -> dg.TableMetadataValue:
    """Metrics as a table in the UI: this version's value beside the previous version's,
    held-out metrics first."""
    metrics = held_out_first(metrics)
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord(
                {
                    "metric": name,
                    "value": float(value),
                    "previous": float(previous[name]) if name in previous else None,
                    "change": float(value) - float(previous[name]) if name in previous else None,
                }
            )
            for name, value in metrics.items()
        ],
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn("metric", "string"),
                dg.TableColumn("value", "float"),
                dg.TableColumn("previous", "float"),
                dg.TableColumn("change", "float"),
            ]
        ),
    )


def png_markdown(uri: str, alt: str, warn: Callable[[str], None]) -> dg.MetadataValue | None:
    """A step's PNG chart embedded in the materialization (the step folder it was written
    to is cleaned later), or ``None`` — and a warning — when it cannot be read."""
    try:
        with fsspec.open(uri, "rb") as f:
            png = base64.b64encode(f.read()).decode()
    except OSError as e:
        warn(f"could not read the chart {uri}: {e}")
        return None
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{png})")
