"""``WITH model.*`` as a network constructor's arguments: checked against its signature
(as ``sqlml check`` checks them), completed with what the runtime knows and the
constructor asks for."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .. import StepError


def model_kwargs(
    constructor: Callable[..., Any],
    params: Mapping[str, Any],
    offered: Mapping[str, Any],
    reference: str,
) -> dict[str, Any]:
    """``WITH model.*`` checked against the constructor, plus what the runtime offers
    (``input_dim``, ``n_classes``, ``feature_columns``…) when the constructor takes it and
    the statement did not set it."""
    from ...contract import ConstructorSignature
    from ...contract.settings import runtime_model_keys
    from ..flavors._register import unknown_parameters

    signature = ConstructorSignature.of(constructor)  # what `sqlml check` checks too
    if signature is None:
        return dict(params)
    # SQLFlow's model.optimizer: the runtime builds the optimizer (TrainSettings), unless
    # the constructor takes such an argument itself.
    runtime_keys = runtime_model_keys(reference)
    params = {k: v for k, v in params.items() if k not in runtime_keys or k in signature.parameters}
    unknown = signature.unknown(params)
    if unknown:
        raise unknown_parameters(reference, unknown, signature.parameters)
    kwargs = dict(params)
    for name, value in offered.items():
        if name in signature.parameters and name not in kwargs:
            kwargs[name] = value
    missing = signature.missing(kwargs)
    if missing:
        raise StepError(
            f"{reference} needs {', '.join(missing)}: write WITH "
            + ", ".join(f"model.{m} = …" for m in missing)
        )
    return kwargs
