"""Launchers: where a StepSpec runs (``base.Launcher`` is the seam).

``local`` runs it as a subprocess (the default); ``kubernetes`` as a Job. Adding a
launcher is its module plus one line in :data:`LAUNCHER_KINDS`; callers choose one with
:func:`launcher_from_env` or build it from settings, and never name its class.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..settings import load_factory
from .base import RUNTIME_MODULE, Launcher, LaunchResult, StepFailed, result_of

#: ``SQLML_LAUNCHER`` picks a launcher by kind; ``SQLML_K8S_*`` configure the Kubernetes one.
LAUNCHER_ENV = "SQLML_LAUNCHER"
#: Launcher kind → ``module:factory`` building it from the environment (imported lazily:
#: the Kubernetes client is not loaded by a project that runs locally).
LAUNCHER_KINDS: Mapping[str, str] = {
    "local": "sqlml_dagster.launchers.local:local_from_env",
    "kubernetes": "sqlml_dagster.launchers.kubernetes:kubernetes_from_env",
}


def launcher_from_env(environ: Mapping[str, str], kind: str | None = None) -> Launcher:
    """The launcher ``SQLML_LAUNCHER`` names (default ``local``), configured from the
    environment. Moving a project to a cluster is a change of environment, never of SQL."""
    choice = (kind or environ.get(LAUNCHER_ENV, "") or "local").strip().lower()
    target = LAUNCHER_KINDS.get(choice)
    if target is None:
        raise ValueError(
            f"{LAUNCHER_ENV}={choice!r}: choose {' or '.join(repr(k) for k in LAUNCHER_KINDS)}"
        )
    launcher: Launcher = load_factory(target)(environ)
    return launcher


__all__ = [
    "LAUNCHER_ENV",
    "LAUNCHER_KINDS",
    "RUNTIME_MODULE",
    "LaunchResult",
    "Launcher",
    "StepFailed",
    "launcher_from_env",
    "result_of",
]
