"""``… LABEL y USING base@v INTO m`` for a network: the base version must be a training of
the same class, built with the same constructor arguments, and its fitted feature plan and
target are reused (vocabularies are not refit) — the same rules for PyTorch and Keras, so
both fail with the same one line naming the two."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ...contract.spec import StepSpec
from .. import StepError
from ..features import FeaturePlan
from ..flavors._register import plain, read_signature
from .target import Target


def version_ref(uri: str) -> str:
    """``model@3`` of a version folder URI."""
    parts = uri.rstrip("/").rsplit("/", 2)
    return f"{parts[-2]}@{parts[-1]}" if len(parts) == 3 else uri


def base_signature(spec: StepSpec, formats: Collection[str]) -> dict[str, Any]:
    """The base version's signature, which must be a training (of one of ``formats``) of
    the statement's class."""
    base = read_signature(str(spec.warm_start_uri))
    reference = base.get("model_class")
    if base.get("format") not in formats or reference != spec.model_reference:
        what = reference or f"a {base.get('format') or 'registered'} model"
        raise StepError(
            f"cannot warm-start {spec.model_reference} from "
            f"{version_ref(str(spec.warm_start_uri))}, which is {what}"
        )
    return base


def base_fitted(base: Mapping[str, Any]) -> tuple[FeaturePlan, Target | None]:
    """The base's fitted feature plan and target: reused, not refit."""
    target = base.get("target")
    plan = FeaturePlan.from_json(base["feature_plan"])
    return plan, (Target.from_json(target) if target else None)


def check_base_constructor(
    spec: StepSpec, base: Mapping[str, Any], kwargs: Mapping[str, Any]
) -> None:
    """The statement must build the base's network: the same constructor arguments."""
    built = {k: v for k, v in plain(dict(kwargs)).items() if k != "feature_columns"}
    was = dict(base.get("constructor") or {})
    if built != was:
        differs = sorted(k for k in built.keys() | was.keys() if built.get(k) != was.get(k))
        shown = "; ".join(f"{k} = {built.get(k)!r} here, {was.get(k)!r} there" for k in differs)
        raise StepError(
            f"cannot warm-start {spec.model_reference}({_show(built)}) from "
            f"{version_ref(str(spec.warm_start_uri))}, built as "
            f"{spec.model_reference}({_show(was)}): {shown}"
        )


def _show(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items() if k != "feature_columns")
