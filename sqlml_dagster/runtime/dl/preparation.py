"""The start of a training step, whatever the framework: one streaming pass over the
training data fits the feature plan and scans the label, and the training and
validation feeds are built on the result."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ...contract.settings import ignored_settings
from ...contract.spec import StepSpec
from .. import Reporter, StepError
from ..data import input_file, validation_file
from ..features import FeaturePlan
from ..features.encoders import Embedding
from .feed import CACHE_BYTES, READ_ROWS, Feed, holdout
from .settings import TrainSettings, part_optimizer_warning
from .target import LabelScan, Target


@dataclass(frozen=True)
class Prepared:
    """What a flavor needs to build and train a model: the fitted plan, the target, the
    training and validation feeds, and the rows each holds."""

    plan: FeaturePlan
    target: Target | None
    train: Feed
    validation: Feed | None
    settings: TrainSettings
    #: Training rows (without those ``validation.split`` holds out).
    rows: int
    #: With ``parts`` (a wide & deep model): how many of the plan's features, encoded
    #: first, are the first part's (``linear_feature_columns``).
    leading_features: int = 0

    @property
    def leading_width(self) -> int:
        """The dense width of the first part's features (they are encoded first)."""
        leading = self.plan.features[: self.leading_features]
        return sum(f.width for f in leading if not isinstance(f, Embedding))


def prepare(
    spec: StepSpec,
    reporter: Reporter,
    group: str = "feature_columns",
    fitted: tuple[FeaturePlan, Target | None] | None = None,
    parts: tuple[str, ...] = (),
) -> Prepared:
    """Fit the feature plan and scan the label in one streaming pass over the training data.
    ``fitted``: a warm start's plan and target, used as they are — vocabularies and
    normalization are not refit, so the base's weights read the inputs they were trained on."""
    settings = TrainSettings.of(spec)
    for key, why in ignored_settings(spec.flavor, spec.params, spec.model_reference):
        reporter.log(f"warning: {key} is ignored here: {why}")
    if (warning := part_optimizer_warning(spec)) is not None:
        reporter.log(warning)
    source, held_out = input_file(spec), validation_file(spec)
    schema = source.schema()
    groups = spec.columns or {}
    exclude = {spec.label} if spec.label else set()
    columns, leading = _grouped(spec, groups, parts) if parts else (None, 0)
    unknown = [g for g in groups if g not in (*parts, group)]
    if unknown:
        raise StepError(
            f"COLUMN … FOR {unknown[0]}: this model takes its features in one argument "
            f"('{group}'); remove FOR or write one COLUMN clause"
            if not parts
            else f"COLUMN … FOR {unknown[0]}: {spec.model_reference} takes " + " and ".join(parts)
        )
    if not parts:
        columns = groups.get(group)
    elif any(part in groups for part in parts) and group in groups:
        raise StepError(
            f"{spec.model_reference} takes " + " and ".join(parts) + ": write FOR on every "
            "COLUMN clause"
        )
    if columns is None and spec.features:  # a spec naming its features, as for scikit-learn
        columns = [{"function": "COLUMN", "name": name} for name in spec.features]
    plan = FeaturePlan.infer(columns, schema, exclude)
    scan = LabelScan(spec.label) if spec.label else None

    counted = [0]
    kept: list[pa.RecordBatch] | None = []  # the training rows, while they fit the cache
    kept_bytes = 0

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal kept, kept_bytes
        for index, batch in enumerate(source.batches(READ_ROWS)):
            if settings.validation_split > 0 and held_out is None:
                batch = batch.filter(pa.array(~holdout(batch.num_rows, index, settings)))
            counted[0] += batch.num_rows
            if kept is not None:
                kept_bytes += batch.nbytes
                if kept_bytes > CACHE_BYTES:
                    kept = None
                elif batch.num_rows:
                    kept.append(batch)
            if scan is not None:
                scan.add(batch)
            yield batch

    started = time.perf_counter()
    stream = batches()
    if fitted is None:
        plan = plan.fit(stream, normalize=settings.normalize)
    for _ in stream:  # a plan that learns nothing reads no batch: the label scan still must
        pass
    rows = counted[0]
    if rows == 0:
        raise StepError("the training SELECT returned no rows")
    target = (
        scan.target(settings, spec.model_reference, spec.params.get("model", {}))
        if scan is not None
        else None
    )
    if fitted is not None:
        plan, target = fitted[0], fitted[1] if scan is not None else None
    reporter.log(
        f"fitted features in {time.perf_counter() - started:.2f}s: "
        f"{len(plan.source_columns)} column(s) → {plan.dense_width} dense"
        + (f" + {len(plan.bags)} embedding(s)" if plan.bags else "")
        + (f"; {target.task} of '{target.name}'" if target else "")
        + (f" with classes {list(target.classes)[:10]}" if target and target.classes else "")
    )
    split = settings.validation_split > 0 and held_out is None
    train = Feed(source, plan, target, settings, part="train" if split else "all", preloaded=kept)
    validation = None
    if held_out is not None:
        validation = Feed(held_out, plan, target, settings)
    elif split:
        validation = Feed(source, plan, target, settings, part="validation")
    return Prepared(plan, target, train, validation, settings, rows, leading)


def _grouped(
    spec: StepSpec, groups: dict[str, list[dict[str, Any]]], parts: tuple[str, ...]
) -> tuple[list[dict[str, Any]] | None, int]:
    """A model with several feature-column arguments (``linear_feature_columns`` and
    ``dnn_feature_columns``): one clause, the first part's expressions first, and how many
    they are. Without any ``COLUMN … FOR``, every column goes to the last part (the
    network). The first part is linear: an ``EMBEDDING`` there is refused."""
    if not any(part in groups for part in parts):
        if "feature_columns" in groups:
            return list(groups["feature_columns"]), 0
        return None, 0
    first = list(groups.get(parts[0]) or [])
    for column in first:
        if str(column.get("function", "")).upper() == "EMBEDDING":
            raise StepError(
                f"COLUMN … FOR {parts[0]}: the linear part of {spec.model_reference} learns "
                "one weight an input; write the EMBEDDING in the COLUMN … FOR "
                f"{parts[-1]} clause, or INDICATOR(…) here"
            )
    rest = [c for part in parts[1:] for c in groups.get(part) or []]
    return first + rest, len(first)
