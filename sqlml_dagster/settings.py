"""Resource settings from the environment, read off the settings class itself.

A deployment configures the launcher (``SQLML_K8S_NAMESPACE=ml``) and the warehouse
without code. The variable of each setting is ``<PREFIX><FIELD NAME>`` (or the ``env``
its field declares), and its type comes from the field, so adding a setting to a
settings class adds its variable too: nothing lists the settings a second time.
"""

from __future__ import annotations

import importlib
import json
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def env_name(model: type[BaseModel], field: str, prefix: str) -> str:
    """The environment variable of one setting."""
    extra = model.model_fields[field].json_schema_extra
    named = extra.get("env") if isinstance(extra, dict) else None
    return str(named) if named else f"{prefix}{field.upper()}"


def settings_from_env(
    model: type[BaseModel], environ: Mapping[str, str], *, prefix: str
) -> dict[str, Any]:
    """The settings whose variables are set (and not empty), typed by their fields:
    booleans ``1/true/yes/on``, numbers, lists ``a,b``, string maps ``k=v,k2=v2``, JSON
    for anything nested (tolerations, affinity), and ``null`` where a setting may be none."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        variable = env_name(model, name, prefix)
        text = environ.get(variable, "").strip()
        if text:
            try:
                out[name] = _parse(field.annotation, text)
            except ValueError:  # json.JSONDecodeError is one too
                raise SettingError(
                    f"{variable}={text!r} is not a valid {name}: expected "
                    f"{_expected(field.annotation)} ({field.description or 'see the docs'})"
                ) from None
    return out


class SettingError(ValueError):
    """An environment variable that does not read as its setting: one line, no traceback
    of ours, naming the variable and what it takes."""


def _expected(annotation: Any) -> str:
    kinds = [a for a in _alternatives(annotation) if a is not type(None)]
    kind = kinds[0] if len(kinds) == 1 else None
    if kind is bool:
        return "one of " + "/".join((*TRUE, *FALSE))
    if kind in (int, float):
        return "a number" + (" or null" if len(kinds) < len(_alternatives(annotation)) else "")
    if typing.get_origin(kind) is list:
        return "a comma-separated list or JSON"
    if typing.get_origin(kind) is dict:
        return "k=v,k2=v2 or JSON"
    return "JSON"


def _parse(annotation: Any, text: str) -> Any:
    if text == "null" and type(None) in _alternatives(annotation):
        return None  # a setting whose null means "none" (no deadline, no limit, no policy)
    kinds = [a for a in _alternatives(annotation) if a is not type(None)]
    kind = kinds[0] if len(kinds) == 1 else None
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is bool:
        if text.lower() not in (*TRUE, *FALSE):
            raise ValueError(text)
        return text.lower() in TRUE
    if kind in (int, float, str):
        return kind(text)
    if origin is list and args == (str,):
        return [item.strip() for item in text.split(",") if item.strip()]
    if origin is dict and args == (str, str) and not text.startswith("{"):
        pairs = (item.partition("=") for item in text.split(",") if item.strip())
        return {key.strip(): value.strip() for key, _, value in pairs}
    return json.loads(text)


def _alternatives(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def load_factory(target: str) -> Any:
    """``"package.module:function"`` → the function, imported only now: a registry of
    engines or launchers names each by text, so a project never imports a driver or a
    cluster client it does not use."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
