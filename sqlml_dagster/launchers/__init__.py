"""Launchers: where a StepSpec runs (``base.Launcher`` is the seam).

``local`` runs it as a subprocess (the default); ``kubernetes`` as a Job. Adding a
launcher is its module plus one line in :data:`LAUNCHER_KINDS`; callers choose one with
:func:`launcher_from_env` or build it from settings, and never name its class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..settings import load_factory
from .base import RUNTIME_MODULE, Launcher, LaunchResult, StepFailed, result_of, step_result

#: ``SQLML_LAUNCHER`` picks a launcher by kind; ``SQLML_K8S_*`` configure the Kubernetes one.
LAUNCHER_ENV = "SQLML_LAUNCHER"
#: Launcher kind → its module, which builds it with ``from_env(environ)`` and
#: ``from_settings(settings)`` (imported lazily: a project that runs locally never loads
#: the Kubernetes client).
LAUNCHER_KINDS: Mapping[str, str] = {
    "local": "sqlml_dagster.launchers.local",
    "kubernetes": "sqlml_dagster.launchers.kubernetes",
}


def launcher_from_settings(kind: str, settings: Mapping[str, Any]) -> Launcher:
    """The launcher of ``kind`` built from its settings (a defs.yaml's ``launcher:``)."""
    launcher: Launcher = load_factory(f"{_module(kind, 'launcher kind ')}:from_settings")(settings)
    return launcher


def launcher_from_env(environ: Mapping[str, str], kind: str | None = None) -> Launcher:
    """The launcher ``SQLML_LAUNCHER`` names (default ``local``), configured from the
    environment. Moving a project to a cluster is a change of environment, never of SQL."""
    choice = (kind or environ.get(LAUNCHER_ENV, "") or "local").strip().lower()
    launcher: Launcher = load_factory(f"{_module(choice, LAUNCHER_ENV + '=')}:from_env")(environ)
    return launcher


def _module(kind: str, named_by: str) -> str:
    module = LAUNCHER_KINDS.get(kind)
    if module is None:
        known = " or ".join(repr(k) for k in LAUNCHER_KINDS)
        raise ValueError(f"{named_by}{kind!r}: choose {known}")
    return module


__all__ = [
    "LAUNCHER_ENV",
    "LAUNCHER_KINDS",
    "RUNTIME_MODULE",
    "LaunchResult",
    "Launcher",
    "StepFailed",
    "launcher_from_env",
    "launcher_from_settings",
    "result_of",
    "step_result",
]
