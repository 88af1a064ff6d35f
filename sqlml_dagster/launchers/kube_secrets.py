"""Credentials reach a step's pod as Secret references, never as values in its Job.

A Job's manifest is readable by anyone who may ``get jobs`` in the namespace, shows in
``kubectl describe`` and in ``sqlml compile --k8s``. The step's environment carries the
stores' fsspec options (``FSSPEC_S3={"endpoint_url": …, "key": …, "secret": …}``), and an
operator may put credentials there (docs/security.md, "Credentials"). Any variable that
holds a credential — a known credential variable (``AWS_SECRET_ACCESS_KEY``), or fsspec
options with a credential key — goes into one Secret per step (``<job>-env``), created
just before the Job and owned by it once the Job exists, so the cluster's garbage
collector removes it with the Job (after its TTL, or when the launcher deletes a failed
Job); the container names it with ``valueFrom.secretKeyRef``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: fsspec option names (s3fs, gcsfs, adlfs…) whose value is a credential.
CREDENTIAL_OPTIONS = frozenset(
    {
        "key",
        "secret",
        "token",
        "password",
        "session_token",
        "client_secret",
        "access_key",
        "secret_key",
        "account_key",
        "sas_token",
        "connection_string",
        "credentials",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
    }
)
#: Environment variables that are credentials by name.
CREDENTIAL_VARIABLES = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AZURE_STORAGE_KEY",
        "AZURE_STORAGE_CONNECTION_STRING",
        "GOOGLE_APPLICATION_CREDENTIALS_JSON",
        "PGPASSWORD",
        "MYSQL_PWD",
    }
)


def is_credential(name: str, value: str) -> bool:
    """Whether the variable ``name=value`` holds a credential (module docstring)."""
    if name in CREDENTIAL_VARIABLES:
        return True
    if name.startswith("FSSPEC_"):
        try:
            options = json.loads(value)
        except ValueError:
            return False
        return isinstance(options, dict) and bool(
            CREDENTIAL_OPTIONS & {str(k).lower() for k in options}
        )
    return False


def secret_name(job_name: str) -> str:
    """The step's Secret: the Job's name (≤ 55 characters) and ``-env``."""
    return f"{job_name}-env"


def env_entries(env: Mapping[str, str], job_name: str) -> list[dict[str, Any]]:
    """The container's ``env``: plain values inline, credentials by Secret reference."""
    entries: list[dict[str, Any]] = []
    for name, value in env.items():
        if is_credential(name, value):
            entries.append(
                {
                    "name": name,
                    "valueFrom": {"secretKeyRef": {"name": secret_name(job_name), "key": name}},
                }
            )
        else:
            entries.append({"name": name, "value": value})
    return entries


def credentials_of(env: Mapping[str, str]) -> dict[str, str]:
    """The variables :func:`env_entries` refers to in the Secret."""
    return {name: value for name, value in env.items() if is_credential(name, value)}


def secret_manifest(
    job_name: str, namespace: str, labels: Mapping[str, str], values: Mapping[str, str]
) -> dict[str, Any]:
    """The step's Secret (``stringData``: the API server encodes it)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name(job_name), "namespace": namespace, "labels": dict(labels)},
        "type": "Opaque",
        "stringData": dict(values),
    }


def owned_by_job(job: Any) -> dict[str, Any]:
    """A merge patch making the Secret a dependent of the Job (garbage-collected with it)."""
    return {
        "metadata": {
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": job.metadata.name,
                    "uid": job.metadata.uid,
                    "blockOwnerDeletion": True,
                }
            ]
        }
    }
