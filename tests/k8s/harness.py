"""A Kubernetes API server and kubelet on loopback, for tests of code that uses the official client.

Why this exists: code that launches Kubernetes Jobs is only worth testing against the *real*
``kubernetes`` Python client speaking real HTTP -- monkeypatching the client hides exactly the
bugs that matter (wrong paths, wrong query parameters, models that do not deserialize, watch
streams that never end, ``None`` where a count was expected).  There is no cluster, Docker or
network in CI, so this module serves the REST paths the client uses from a stdlib
``ThreadingHTTPServer`` and runs each Job's first container as a local subprocess.

What is emulated, on purpose the way a real (1.31+) cluster does it:

* ConfigMaps, Secrets, Pods, Events, Namespaces (core/v1) and Jobs (batch/v1): create / get /
  list / replace / patch (JSON, merge and strategic-merge) / delete / deletecollection, the
  ``/status`` subresource, ``labelSelector`` and ``fieldSelector``, ``dryRun``.
* ``resourceVersion`` that increases on every change, ``uid``, ``creationTimestamp``,
  ``generation``; 404 / 409 (AlreadyExists and Conflict) / 422 (Invalid, with real name and
  label validation) / 400 as ``Status`` objects.
* ``?watch=true`` as chunked newline-delimited JSON, honouring ``resourceVersion`` and
  ``timeoutSeconds``, over a *bounded* history (2 s by default, like a real cluster's watch
  cache and etcd compaction, only shorter): resuming from an older position is 410 Gone, as
  is anything before :meth:`KubernetesTestCluster.compact`. A leader-election Lease renewed
  in the background keeps the resourceVersion moving, as on any real control plane.
* Pod logs (``/log``) with ``follow``, ``tailLines``, ``limitBytes``, ``timestamps``,
  ``sinceTime`` / ``sinceSeconds`` and the apiserver's 400s for containers that have not
  started.
* Transport faults a test plans (tests/k8s/faults.py): 429/500/502/503/504 answers, slow
  answers, watches and followed logs that end early or reset, requests whose answer is lost.
* Job API defaults (selector, ``controller-uid`` / ``job-name`` labels, ``backoffLimit: 6``,
  ``podReplacementPolicy``) and validation of ``podFailurePolicy``; a Job controller as 1.31+
  runs it (pods named ``<job>-<5 chars>``, backoff retries after the pod failure backoff --
  scaled down --, ``podFailurePolicy`` rules ``FailJob`` / ``Ignore`` / ``Count`` on exit codes
  and pod conditions, ``activeDeadlineSeconds``, ``ttlSecondsAfterFinished``, ``suspend``;
  ``SuccessCriteriaMet`` / ``FailureTarget`` first and ``Complete`` / ``Failed`` in a later
  update, once the pods it deleted with their grace period are no longer ``terminating``;
  zero counts omitted as the real API omits them) and garbage collection by
  ``propagationPolicy`` -- including the batch/v1 legacy default of *orphaning* a deleted
  Job's pods, which leaves their processes running.
* Pod admission (tests/k8s/admission.py): a ServiceAccount that must exist, Pod Security
  (``restricted`` enforced in the ``default`` namespace), ResourceQuota; a refused pod of a
  Job leaves a ``FailedCreate`` event (repeats merged, its ``count`` rising) and the
  controller retries with backoff.
* A kubelet: the first container's ``command`` + ``args`` run as a subprocess (image ignored,
  nothing mounted) in a fresh working directory, with only the image's environment
  (``image_env``) and the manifest's: literal env values, ``valueFrom`` secret/configmap/field
  refs, ``envFrom`` and ``$(VAR)`` expansion (a missing Secret: ``CreateContainerConfigError``,
  retried); graceful deletion sends SIGTERM then SIGKILL.
* Simulated failures chosen by the test, via the label or annotation ``sqlml-test/simulate`` on
  the Job (or its pod template / a bare Pod) or :meth:`KubernetesTestCluster.simulate`:
  ``ImagePullBackOff``, ``OOMKilled``, ``DeadlineExceeded``, ``Unschedulable`` (and a cluster
  autoscaler's ``ScaleUp`` / ``NotTriggerScaleUp``), ``FailedMount``,
  ``LogRotated`` (the container runs normally but its log is rotated away as it is written:
  see :class:`LogBuffer`), and failures that are not the program's: ``Evicted`` (node
  memory pressure), ``Preempted`` (by a higher-priority pod) and ``AdmissionRejected`` (the
  kubelet refuses the pod, as with an unhealthy GPU device plugin).  A rule or the
  ``sqlml-test/simulate-attempts`` annotation can limit one to a Job's first pods, so the
  Job's retry runs normally.

Use it as ``with KubernetesTestCluster() as cluster:`` or via the :func:`k8s_cluster` fixture
(import it into a test module or conftest).  Errors inside the server or its controller
threads fail the test at exit instead of hiding behind a 500.
"""

from __future__ import annotations

import base64
import bisect
import calendar
import contextlib
import copy
import fnmatch
import hashlib
import io
import itertools
import json
import os
import queue
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from .admission import (
    ENFORCE_LABEL,
    pod_security_error,
    quota_error,
    service_account_error,
)
from .faults import CuttingStream, DropMode, Fault, Faults, StreamCut, reset_connection

if TYPE_CHECKING:
    import kubernetes.client

Obj = dict[str, Any]

SIMULATE_KEY = "sqlml-test/simulate"
"""Label or annotation whose value picks a simulated failure for a Job's (or Pod's) pods."""
SIMULATE_ATTEMPTS_KEY = "sqlml-test/simulate-attempts"
"""Job annotation: only that many first pods get the simulation (``"1"``: a retry runs)."""

SIMULATIONS = frozenset(
    {
        "ImagePullBackOff",
        "OOMKilled",
        "DeadlineExceeded",
        "Unschedulable",
        "LogRotated",
        "ScaleUp",
        "NotTriggerScaleUp",
        "FailedMount",
        "Evicted",
        "Preempted",
        "AdmissionRejected",
    }
)
UNSCHEDULABLE_MESSAGE = "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."
#: cluster-autoscaler's events on a pending pod (core/scaleup/orchestrator: the recorder's
#: ``TriggeredScaleUp`` "pod triggered scale-up: %v" with ``{group from->to (max: n)}``, and
#: ``NotTriggerScaleUp`` "pod didn't trigger scale-up …: <reasons>"); both are Normal events.
AUTOSCALER = "cluster-autoscaler"
TRIGGERED_SCALE_UP_MESSAGE = "pod triggered scale-up: [{sqlml-test-gpu-pool 0->1 (max: 4)}]"
NOT_TRIGGERED_SCALE_UP_MESSAGE = (
    "pod didn't trigger scale-up (it wouldn't fit if a new node is added): "
    "1 Insufficient nvidia.com/gpu"
)
#: The kubelet's FailedMount event while a volume will not mount
#: (pkg/kubelet/volumemanager/volume_manager.go ``WaitForAttachAndMount``).
FAILED_MOUNT_MESSAGE = (
    "Unable to attach or mount volumes: unmounted volumes=[{volume}], "
    "unattached volumes=[{volume}]: timed out waiting for the condition"
)
#: pkg/kubelet/eviction/helpers.go: nodeLowMessageFmt + thresholdMetMessageFmt +
#: containerMessageFmt (format it with the container's name and memory request), trailing
#: space included, as the kubelet writes it into the pod's status.message.
EVICTION_MESSAGE = (
    "The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. "
    "Container {container} was using 1948312Ki, request is {request}, has larger "
    "consumption of memory. "
)
#: pkg/scheduler/framework/preemption: the DisruptionTarget message on a preempted pod.
PREEMPTION_MESSAGE = "default-scheduler: preempting to accommodate a higher priority pod"
#: pkg/kubelet/cm/admission (unexpectedAdmissionError) through Kubelet.rejectPod, for a GPU
#: device plugin that reports its devices unhealthy; format with the resource name.
ADMISSION_MESSAGE = (
    "Allocate failed due to no healthy devices present; cannot allocate unhealthy devices "
    "{resource}, which is unexpected"
)
#: kubelet_pods.go: a container of a killed pod the runtime no longer knows.
CONTAINER_STATUS_UNKNOWN_MESSAGE = "The container could not be located when the pod was terminated"
NODE_NAME = "sqlml-test-node"
_POD_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the apiserver's generateName alphabet
_MAX_CONFIG_BYTES = 1024 * 1024
_MAX_ANNOTATION_BYTES = 256 * 1024


# --------------------------------------------------------------------------------------------
# Resources, errors, time
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """One REST resource: enough to build paths, kinds and the apiserver's error messages."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    has_status: bool = False

    @property
    def api_version(self) -> str:
        """``v1`` or ``batch/v1``, as written in objects."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``jobs.batch`` or ``pods``: how the apiserver names the resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """``Job.batch`` or ``Pod``: how 422 messages name the kind."""
        return f"{self.kind}.{self.group}" if self.group else self.kind


RESOURCES: dict[tuple[str, str], Resource] = {
    (r.group, r.plural): r
    for r in (
        Resource("", "v1", "ConfigMap", "configmaps"),
        Resource("", "v1", "Secret", "secrets"),
        Resource("", "v1", "Service", "services", has_status=True),
        Resource("", "v1", "Pod", "pods", has_status=True),
        Resource("", "v1", "Event", "events"),
        Resource("", "v1", "Namespace", "namespaces", namespaced=False, has_status=True),
        Resource("", "v1", "ServiceAccount", "serviceaccounts"),
        Resource("", "v1", "ResourceQuota", "resourcequotas", has_status=True),
        Resource("batch", "v1", "Job", "jobs", has_status=True),
        Resource("coordination.k8s.io", "v1", "Lease", "leases"),
    )
}
JOBS = RESOURCES[("batch", "jobs")]
PODS = RESOURCES[("", "pods")]
EVENTS = RESOURCES[("", "events")]
NAMESPACES = RESOURCES[("", "namespaces")]
SECRETS = RESOURCES[("", "secrets")]
CONFIGMAPS = RESOURCES[("", "configmaps")]
LEASES = RESOURCES[("coordination.k8s.io", "leases")]
SERVICE_ACCOUNTS = RESOURCES[("", "serviceaccounts")]
SERVICES = RESOURCES[("", "services")]
#: The annotation and label the Job controller gives each pod of an Indexed Job, and the
#: variable it adds to each container (from that annotation).
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
RESOURCE_QUOTAS = RESOURCES[("", "resourcequotas")]


class ApiError(Exception):
    """An error answered as a Kubernetes ``Status`` object, as the real apiserver does."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: Obj | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> Obj:
        """The ``Status`` body; clients read ``reason`` and ``code`` from it."""
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _not_found(res: Resource, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{res.qualified} "{name}" not found',
        {"name": name, "group": res.group, "kind": res.plural}
        if res.group
        else {"name": name, "kind": res.plural},
    )


def _invalid(res: Resource, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 Invalid with one cause per (field, message), formatted like the apiserver's."""
    text = ", ".join(f"{f}: {m}" for f, m in causes)
    if len(causes) > 1:
        text = f"[{text}]"
    return ApiError(
        422,
        "Invalid",
        f'{res.qualified_kind} "{name}" is invalid: {text}',
        {
            "name": name,
            "group": res.group,
            "kind": res.kind,
            "causes": [
                {"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes
            ],
        },
    )


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def _now() -> str:
    """RFC 3339 at second precision, like ``metav1.Time`` on the wire."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _now_nano(t: float) -> str:
    """RFC 3339 with nanoseconds, like kubelet log timestamps."""
    whole = int(t)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((t - whole) * 1e9):09d}Z"
    )


def _now_micro(t: float) -> str:
    """``metav1.MicroTime`` on the wire: RFC 3339 with microseconds (Lease renewals)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + f".{int(t % 1 * 1e6):06d}Z"


def _short_suffix(n: int = 5) -> str:
    return "".join(random.choice(_POD_SUFFIX_ALPHABET) for _ in range(n))


# --------------------------------------------------------------------------------------------
# Validation (the subset of apiserver validation that catches real launcher bugs)
# --------------------------------------------------------------------------------------------

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")

_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  "
    "or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def _qualified_key_errors(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return f"prefix part {_SUBDOMAIN_MSG}"
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        return (
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
            "and end with an alphanumeric character, and be no more than 63 characters"
        )
    return None


def _validate_meta(meta: Obj, path: str = "metadata") -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    for key, value in (meta.get("labels") or {}).items():
        if (msg := _qualified_key_errors(key)) is not None:
            errors.append((f"{path}.labels", f'Invalid value: "{key}": {msg}'))
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            msg = (
                "must be no more than 63 characters"
                if isinstance(value, str) and len(value) > 63
                else _LABEL_VALUE_MSG
            )
            errors.append((f"{path}.labels", f'Invalid value: "{value}": {msg}'))
    annotations = meta.get("annotations") or {}
    for key in annotations:
        if (msg := _qualified_key_errors(key)) is not None:
            errors.append((f"{path}.annotations", f'Invalid value: "{key}": {msg}'))
    size = sum(len(k) + len(str(v)) for k, v in annotations.items())
    if size > _MAX_ANNOTATION_BYTES:
        errors.append(
            (f"{path}.annotations", f"Too long: must have at most {_MAX_ANNOTATION_BYTES} bytes")
        )
    return errors


def _validate_pod_spec(spec: Obj, path: str) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    containers = spec.get("containers") or []
    if not containers:
        errors.append((f"{path}.containers", "Required value"))
    for i, container in enumerate(containers):
        cpath = f"{path}.containers[{i}]"
        name = container.get("name") or ""
        if not name:
            errors.append((f"{cpath}.name", "Required value"))
        elif len(name) > 63 or not _DNS_LABEL.match(name):
            errors.append(
                (
                    f"{cpath}.name",
                    f"Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'",
                )
            )
        if not container.get("image"):
            errors.append((f"{cpath}.image", "Required value"))
        for j, env in enumerate(container.get("env") or []):
            if not _ENV_NAME.match(env.get("name") or ""):
                errors.append(
                    (
                        f"{cpath}.env[{j}].name",
                        f"Invalid value: \"{env.get('name')}\": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
                    )
                )
            if "value" in env and not isinstance(env["value"], str):
                errors.append((f"{cpath}.env[{j}].value", "Invalid value: must be a string"))
    return errors


def _validate(res: Resource, obj: Obj) -> None:
    """Reject what a real apiserver rejects with 422 (names, labels, sizes, Job/Pod essentials)."""
    meta = obj["metadata"]
    name = meta["name"]
    errors: list[tuple[str, str]] = []
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        errors.append(("metadata.name", f'Invalid value: "{name}": {_SUBDOMAIN_MSG}'))
    errors += _validate_meta(meta)
    if res in (CONFIGMAPS, SECRETS):
        total = 0
        for section in ("data", "binaryData"):
            for key, value in (obj.get(section) or {}).items():
                if len(key) > 253 or not _CONFIG_KEY.match(key):
                    errors.append(
                        (
                            f"{section}[{key}]",
                            f"Invalid value: \"{key}\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                        )
                    )
                total += len(key) + len(str(value))
        if total > _MAX_CONFIG_BYTES:
            errors.append(("data", f"Too long: must have at most {_MAX_CONFIG_BYTES} bytes"))
    if res is JOBS:
        if len(name) > 63:
            errors.append(
                ("metadata.name", f'Invalid value: "{name}": must be no more than 63 characters')
            )
        template = (obj.get("spec") or {}).get("template") or {}
        pod_spec = template.get("spec") or {}
        errors += _validate_meta(template.get("metadata") or {}, "spec.template.metadata")
        errors += _validate_pod_spec(pod_spec, "spec.template.spec")
        if pod_spec.get("restartPolicy") not in ("Never", "OnFailure"):
            errors.append(
                (
                    "spec.template.spec.restartPolicy",
                    'Required value: valid values: "OnFailure", "Never"',
                )
            )
        errors += _validate_failure_handling(obj.get("spec") or {})
    if res is PODS:
        errors += _validate_pod_spec(obj.get("spec") or {}, "spec")
    if res is SERVICES:
        errors += _validate_service(obj)
    if errors:
        raise _invalid(res, name, errors)


def _validate_service(obj: Obj) -> list[tuple[str, str]]:
    """``ValidateService``'s essentials: a DNS-1035 label of a name, ports with numbers in
    range and distinct names, ``clusterIP`` ``None`` (headless) or left to the server."""
    errors: list[tuple[str, str]] = []
    name = obj["metadata"]["name"]
    if len(name) > 63 or not re.match(r"^[a-z]([-a-z0-9]*[a-z0-9])?$", name):
        errors.append(
            (
                "metadata.name",
                f'Invalid value: "{name}": a DNS-1035 label must consist of '
                "lower case alphanumeric characters or '-', start with an alphabetic character, "
                "and end with an alphanumeric character",
            )
        )
    spec = obj.get("spec") or {}
    ports = spec.get("ports") or []
    if not ports and spec.get("clusterIP") != "None":
        errors.append(("spec.ports", "Required value"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        number = port.get("port")
        if not isinstance(number, int) or not 0 < number < 65536:
            errors.append(
                (
                    f"spec.ports[{i}].port",
                    f"Invalid value: {number}: must be between 1 and 65535, inclusive",
                )
            )
        if len(ports) > 1 and not port.get("name"):
            errors.append((f"spec.ports[{i}].name", "Required value"))
        if port.get("name") in names:
            errors.append((f"spec.ports[{i}].name", f'Duplicate value: "{port.get("name")}"'))
        names.add(port.get("name") or "")
    if spec.get("clusterIP") not in (None, "", "None"):
        errors.append(("spec.clusterIP", "Invalid value: the test cluster allocates no IPs"))
    return errors


# --------------------------------------------------------------------------------------------
# Selectors and patches
# --------------------------------------------------------------------------------------------

_REQUIREMENT = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*"
    r"(?:(?P<op>==|=|!=)\s*(?P<val>[A-Za-z0-9_.-]*)|\s+(?P<setop>in|notin)\s*\((?P<vals>[^)]*)\))?\s*$"
)


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def parse_label_selector(selector: str) -> Callable[[Mapping[str, str]], bool]:
    """Compile a label selector (``a=b,c!=d,e in (x,y),!f``) into a predicate on labels."""
    requirements: list[tuple[str, str, frozenset[str]]] = []  # (operator, key, values)
    for part in _split_top_level(selector):
        m = _REQUIREMENT.match(part)
        if m is None or (m["neg"] and (m["op"] or m["setop"])):
            raise _bad_request(
                f"unable to parse requirement: found '{part.strip()}', expected: label selector"
            )
        if m["neg"]:
            requirements.append(("!", m["key"], frozenset()))
        elif m["op"]:
            requirements.append(("!=" if m["op"] == "!=" else "=", m["key"], frozenset([m["val"]])))
        elif m["setop"]:
            values = frozenset(v.strip() for v in m["vals"].split(",") if v.strip())
            requirements.append((m["setop"], m["key"], values))
        else:
            requirements.append(("exists", m["key"], frozenset()))

    def matches(labels: Mapping[str, str]) -> bool:
        for operator, key, values in requirements:
            present = key in labels
            if operator == "!" and present:
                return False
            if operator == "exists" and not present:
                return False
            if operator in ("=", "in") and (not present or labels[key] not in values):
                return False
            if operator in ("!=", "notin") and present and labels[key] in values:
                return False
        return True

    return matches


def _field_value(obj: Obj, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def parse_field_selector(selector: str) -> Callable[[Obj], bool]:
    """Compile ``metadata.name=x,status.phase!=Running`` into a predicate on whole objects.

    Real apiservers only allow a few fields per resource; any dotted path is accepted here."""
    requirements: list[tuple[str, bool, str]] = []  # (path, equal?, value)
    for part in _split_top_level(selector):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if m is None:
            raise _bad_request(f"invalid selector: '{selector}'; can't understand '{part}'")
        requirements.append((m[1], m[2] != "!=", m[3]))

    def matches(obj: Obj) -> bool:
        return all(
            (_field_value(obj, path) == value) == equal for path, equal, value in requirements
        )

    return matches


def _json_pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, "Invalid", f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _json_patch(doc: Obj, ops: list[Obj]) -> Obj:
    """RFC 6902, enough for the ``add``/``replace``/``remove``/``test``/``move``/``copy`` ops."""
    doc = copy.deepcopy(doc)

    def parent(parts: list[str]) -> tuple[Any, str]:
        node: Any = doc
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node[p]
        return node, parts[-1]

    def get(parts: list[str]) -> Any:
        node: Any = doc
        for p in parts:
            node = node[int(p)] if isinstance(node, list) else node[p]
        return node

    def put(parts: list[str], value: Any, replace: bool) -> None:
        node, last = parent(parts)
        if isinstance(node, list):
            if last == "-":
                node.append(value)
            elif replace:
                node[int(last)] = value
            else:
                node.insert(int(last), value)
        else:
            if replace and last not in node:
                raise KeyError(last)
            node[last] = value

    def remove(parts: list[str]) -> Any:
        node, last = parent(parts)
        return node.pop(int(last)) if isinstance(node, list) else node.pop(last)

    try:
        for op in ops:
            kind, parts = op["op"], _json_pointer(op["path"])
            if kind == "add":
                put(parts, copy.deepcopy(op["value"]), replace=False)
            elif kind == "replace":
                put(parts, copy.deepcopy(op["value"]), replace=True)
            elif kind == "remove":
                remove(parts)
            elif kind == "test":
                if get(parts) != op["value"]:
                    raise ApiError(422, "Invalid", f"test operation failed at {op['path']}")
            elif kind == "move":
                put(parts, remove(_json_pointer(op["from"])), replace=False)
            elif kind == "copy":
                put(parts, copy.deepcopy(get(_json_pointer(op["from"]))), replace=False)
            else:
                raise ApiError(422, "Invalid", f"unknown JSON patch op {kind!r}")
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise ApiError(
            422,
            "Invalid",
            f"the server rejected our request due to an error in our request: {exc!r}",
        ) from exc
    return doc


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: dicts merge, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


# Lists the apiserver merges element-wise in strategic merge patches, by their merge key.
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "conditions": "type",
    "ownerReferences": "uid",
    "imagePullSecrets": "name",
    "containerStatuses": "name",
}


def _strategic_merge(target: Any, patch: Any) -> Any:
    """An approximation of strategic merge patch: merge-keyed lists merge, ``$patch`` honoured."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        current = result.get(key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            if value.get("$patch") == "delete":
                result.pop(key, None)
            else:
                result[key] = _strategic_merge(current, value)
        elif isinstance(value, list) and key in _MERGE_KEYS and isinstance(current, list):
            merge_key = _MERGE_KEYS[key]
            merged = [copy.deepcopy(item) for item in current]
            for item in value:
                if not isinstance(item, dict):
                    merged.append(copy.deepcopy(item))
                    continue
                index = next(
                    (
                        i
                        for i, m in enumerate(merged)
                        if isinstance(m, dict) and m.get(merge_key) == item.get(merge_key)
                    ),
                    None,
                )
                if item.get("$patch") == "delete":
                    if index is not None:
                        merged.pop(index)
                elif index is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[index] = _strategic_merge(merged[index], item)
            result[key] = merged
        elif isinstance(value, list) and key == "finalizers" and isinstance(current, list):
            result[key] = current + [v for v in value if v not in current]
        else:
            result[key] = copy.deepcopy(value)
    return result


# --------------------------------------------------------------------------------------------
# Store: objects, resourceVersions, the event history watches read
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchEvent:
    """One change, as recorded for watches and the controller."""

    rv: int
    resource: Resource
    namespace: str
    type: str
    obj: Obj


Key = tuple[Resource, str, str]


class Store:
    """In-memory etcd: thread-safe, every change gets the next resourceVersion and an event.

    The event history that watches resume from is bounded, as on a real cluster: events older
    than ``history_seconds`` or beyond the newest ``history_events`` are forgotten, and a watch
    from a resourceVersion older than what is left gets ``410 Gone``. Upstream, the watch
    cache keeps a ring of events (``staging/src/k8s.io/apiserver/pkg/storage/cacher/
    watch_cache.go``: ``updateCache`` evicts the oldest when full, ``resizeCacheLocked`` sizes
    it by ``eventFreshDuration``, 75 s) and answers ``getAllEventsSinceLocked`` with
    ``NewResourceExpired("too old resource version: %d (%d)")`` when ``resourceVersion <
    oldest-1``; etcd compacts its revisions every 5 minutes; an apiserver restart empties the
    cache. Revisions are global (one counter for every resource, as etcd's), so any change
    anywhere moves an old resourceVersion out of reach.
    """

    def __init__(
        self, history_seconds: float | None = None, history_events: int | None = None
    ) -> None:
        self.cond = threading.Condition(threading.RLock())
        self._objects: dict[Key, Obj] = {}
        self._rv = 0
        self._events: list[WatchEvent] = []
        self._event_rvs: list[int] = []
        self._event_times: list[float] = []
        self._compacted_rv = 0
        self._listeners: list[Callable[[WatchEvent], None]] = []
        self.history_seconds = history_seconds
        self.history_events = history_events

    @property
    def resource_version(self) -> int:
        """The newest resourceVersion, as list responses report it."""
        with self.cond:
            return self._rv

    def add_listener(self, listener: Callable[[WatchEvent], None]) -> None:
        """Called under the store lock for every event; must not block."""
        self._listeners.append(listener)

    def _emit(self, res: Resource, namespace: str, kind: str, obj: Obj) -> None:
        event = WatchEvent(self._rv, res, namespace, kind, copy.deepcopy(obj))
        self._events.append(event)
        self._event_rvs.append(self._rv)
        self._event_times.append(time.monotonic())
        self._forget_old_events()
        for listener in self._listeners:
            listener(event)
        self.cond.notify_all()

    def get(self, res: Resource, namespace: str, name: str) -> Obj | None:
        """A deep copy of the object, or None."""
        with self.cond:
            obj = self._objects.get((res, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def select(self, res: Resource, namespace: str | None = None) -> list[Obj]:
        """Deep copies sorted by namespace then name, as etcd's key order gives them."""
        with self.cond:
            keys = sorted(
                k for k in self._objects if k[0] is res and (namespace is None or k[1] == namespace)
            )
            return [copy.deepcopy(self._objects[k]) for k in keys]

    def create(self, res: Resource, obj: Obj) -> Obj:
        """Insert a fully prepared object; 409 AlreadyExists if the name is taken."""
        meta = obj["metadata"]
        key = (res, meta.get("namespace", ""), meta["name"])
        with self.cond:
            if key in self._objects:
                raise ApiError(
                    409,
                    "AlreadyExists",
                    f'{res.qualified} "{meta["name"]}" already exists',
                    {"name": meta["name"], "group": res.group, "kind": res.plural},
                )
            self._rv += 1
            meta["resourceVersion"] = str(self._rv)
            self._objects[key] = copy.deepcopy(obj)
            self._emit(res, key[1], "ADDED", obj)
            return copy.deepcopy(obj)

    def mutate(
        self, res: Resource, namespace: str, name: str, fn: Callable[[Obj], Obj | None]
    ) -> Obj:
        """Read-modify-write under the lock; ``fn`` edits a copy (or returns a new object).

        A no-op change keeps the resourceVersion and emits nothing, like the real apiserver."""
        with self.cond:
            current = self._objects.get((res, namespace, name))
            if current is None:
                raise _not_found(res, name)
            draft = copy.deepcopy(current)
            replaced = fn(draft)
            new = replaced if replaced is not None else draft
            new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            if new == current:
                return copy.deepcopy(current)
            if res.has_status and new.get("spec") != current.get("spec"):
                new["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
            self._rv += 1
            new["metadata"]["resourceVersion"] = str(self._rv)
            self._objects[(res, namespace, name)] = new
            self._emit(res, namespace, "MODIFIED", new)
            return copy.deepcopy(new)

    def delete(self, res: Resource, namespace: str, name: str) -> Obj:
        """Remove the object; the DELETED event carries its last state at a new resourceVersion."""
        with self.cond:
            obj = self._objects.pop((res, namespace, name), None)
            if obj is None:
                raise _not_found(res, name)
            self._rv += 1
            obj["metadata"]["resourceVersion"] = str(self._rv)
            self._emit(res, namespace, "DELETED", obj)
            return copy.deepcopy(obj)

    def compact(self) -> int:
        """Forget the event history, so older resourceVersions get 410 Gone like after etcd compaction."""
        with self.cond:
            self._compacted_rv = self._rv
            self._events.clear()
            self._event_rvs.clear()
            self._event_times.clear()
            return self._rv

    def _forget_old_events(self) -> None:
        """Drop what the bounded history no longer holds (see the class docstring)."""
        drop = 0
        if self.history_events is not None:
            drop = max(0, len(self._events) - self.history_events)
        if self.history_seconds is not None:
            cutoff = time.monotonic() - self.history_seconds
            drop = max(drop, bisect.bisect_left(self._event_times, cutoff))
        if drop:
            self._compacted_rv = self._event_rvs[drop - 1]
            del self._events[:drop], self._event_rvs[:drop], self._event_times[:drop]

    @property
    def oldest_resumable(self) -> int:
        """The oldest resourceVersion a watch may start from (upstream's ``oldest-1``)."""
        with self.cond:
            self._forget_old_events()
            return self._compacted_rv

    def events_since(self, rv: int) -> tuple[list[WatchEvent], bool]:
        """Events newer than ``rv``, and whether ``rv`` is still inside the retained history."""
        with self.cond:
            self._forget_old_events()
            if rv < self._compacted_rv:
                return [], False
            start = bisect.bisect_right(self._event_rvs, rv)
            return self._events[start:], True


# --------------------------------------------------------------------------------------------
# Pod logs
# --------------------------------------------------------------------------------------------


class LogBuffer:
    """A container's combined stdout/stderr, readable whole, tailed, or followed while it grows.

    ``data`` is the kubelet's *current* log file, the only one the API serves: the kubelet
    rotates a container's log once it passes ``containerLogMaxSize`` (10 MiB by default;
    pkg/kubelet/logs/container_log_manager.go) and ``GET …/log`` reads just the current file
    (pkg/kubelet/kuberuntime/logs/logs.go, ``ReadLogs``). A follower that sees the file
    rotated reopens the new one (``waitLogs`` → ``recreated``) and never reads what the old
    file gained after its last read. ``max_bytes`` (the ``LogRotated`` simulation sets 0)
    rotates as soon as a write passes it, before any reader can see that write: the
    deterministic worst case of a rotation racing a reader. ``rotated`` keeps the rotated
    files' bytes for the test's own inspection; ``rotations`` counts them.
    """

    def __init__(self, max_bytes: int | None = None) -> None:
        self.cond = threading.Condition()
        self.data = bytearray()
        self.line_starts: list[tuple[int, float]] = []
        self.closed = False
        self.max_bytes = max_bytes
        self.rotated = bytearray()
        self.rotations = 0

    def append(self, chunk: bytes) -> None:
        """Add output; remember when each line started for ``timestamps=true``."""
        if not chunk:
            return
        now = time.time()
        with self.cond:
            base = len(self.data)
            if base == 0 or self.data[-1:] == b"\n":
                self.line_starts.append((base, now))
            newline = chunk.find(b"\n")
            while newline != -1 and newline + 1 < len(chunk):
                self.line_starts.append((base + newline + 1, now))
                newline = chunk.find(b"\n", newline + 1)
            self.data.extend(chunk)
            if self.max_bytes is not None and len(self.data) > self.max_bytes:
                self.rotated += self.data
                self.data = bytearray()
                self.line_starts = []
                self.rotations += 1
            self.cond.notify_all()

    def close(self) -> None:
        """The container ended: followers finish once they have read everything."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def tail_offset(self, tail_lines: int | None) -> int:
        """Byte offset where the last ``tail_lines`` lines start (0 for all)."""
        with self.cond:
            if tail_lines is None or tail_lines >= len(self.line_starts):
                return 0
            if tail_lines <= 0:
                return len(self.data)
            return self.line_starts[-tail_lines][0]

    def since_offset(self, since: float | None) -> int:
        """Byte offset of the first line written at or after ``since`` (0 for None): the
        kubelet skips each line whose timestamp is ``Before(since)``
        (pkg/kubelet/kuberuntime/logs/logs.go, ``logWriter.write``)."""
        if since is None:
            return 0
        with self.cond:
            i = bisect.bisect_left(self.line_starts, since, key=lambda start: start[1])
            return self.line_starts[i][0] if i < len(self.line_starts) else len(self.data)

    def render(self, start: int, end: int, timestamps: bool) -> bytes:
        """Bytes ``[start, end)``, with an RFC 3339 timestamp before each line when asked."""
        with self.cond:
            piece = bytes(self.data[start:end])
            if not timestamps:
                return piece
            out = bytearray()
            cursor = start
            for at, when in self.line_starts:
                if start <= at < end:
                    out += self.data[cursor:at] + _now_nano(when).encode() + b" "
                    cursor = at
            out += self.data[cursor:end]
            return bytes(out)


# --------------------------------------------------------------------------------------------
# Kubelet: one thread per pod, the first container as a subprocess
# --------------------------------------------------------------------------------------------


class _ConfigError(Exception):
    """A container's env cannot be resolved: the kubelet's CreateContainerConfigError."""


@dataclass
class PodRun:
    """The kubelet's state for one pod."""

    namespace: str
    name: str
    uid: str
    log: LogBuffer = field(default_factory=LogBuffer)
    process: subprocess.Popen[bytes] | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    grace: float = 0.0
    started: bool = False
    finished: threading.Event = field(default_factory=threading.Event)
    waiting_reason: str | None = "ContainerCreating"
    thread: threading.Thread | None = None
    #: The kubelet evicted the pod, with this message (its container was killed).
    evicted: str | None = None
    #: The container process's blocked and ignored signals when it started (``SigBlk``
    #: and ``SigIgn`` of ``/proc/<pid>/status``): what a test of a graceful stop shows.
    signal_masks: str = ""

    @property
    def alive(self) -> bool:
        """Whether deleting the pod must wait for the kubelet to stop something."""
        return self.thread is not None and self.thread.is_alive() and not self.finished.is_set()


def _signal_masks(pid: int) -> str:
    """``SigBlk: … SigIgn: …`` of a process (Linux), or ``""`` where ``/proc`` lacks it."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return ""
    return " ".join(
        line.replace("\t", " ") for line in lines if line.startswith(("SigBlk", "SigIgn"))
    )


def _simulation(*metas: Obj | None) -> str | None:
    for meta in metas:
        if not meta:
            continue
        value = (meta.get("labels") or {}).get(SIMULATE_KEY) or (meta.get("annotations") or {}).get(
            SIMULATE_KEY
        )
        if value:
            return str(value)
    return None


_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][-._A-Za-z0-9]*)\)")


def _expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: only container-defined vars; ``$$`` escapes."""

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return _VAR_REF.sub(repl, text)


class Kubelet:
    """Runs pods on the one fake node and keeps their status as a kubelet would report it."""

    def __init__(self, cluster: KubernetesTestCluster) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self.runs: dict[str, PodRun] = {}
        self.lock = threading.Lock()

    # -- status helpers ------------------------------------------------------------------

    def _set_status(self, run: PodRun, fn: Callable[[Obj], None]) -> bool:
        """Apply ``fn`` to the pod's status; False if the pod is gone (the caller stops)."""

        def edit(pod: Obj) -> None:
            pod.setdefault("status", {})
            fn(pod)

        try:
            self.store.mutate(PODS, run.namespace, run.name, edit)
        except ApiError:
            return False
        return True

    @staticmethod
    def _container_statuses(
        pod: Obj, state: Obj, ready: bool = False, started: bool = False
    ) -> list[Obj]:
        statuses = []
        for i, container in enumerate(pod["spec"].get("containers") or []):
            this = copy.deepcopy(state)
            if i > 0 and "terminated" in this:
                this["terminated"].update(exitCode=0, reason="Completed")
                this["terminated"].pop("message", None)
            statuses.append(
                {
                    "name": container["name"],
                    "image": container.get("image", ""),
                    # A real kubelet reports the pulled image's digest once it ran.
                    "imageID": _image_id(container.get("image", ""))
                    if ("running" in this or "terminated" in this)
                    else "",
                    "ready": ready,
                    "started": started,
                    "restartCount": 0,
                    "state": this,
                    "lastState": {},
                }
            )
        return statuses

    @staticmethod
    def _condition(
        pod: Obj, kind: str, status: str, reason: str | None = None, message: str | None = None
    ) -> None:
        conditions = [c for c in pod["status"].get("conditions", []) if c["type"] != kind]
        cond: Obj = {
            "type": kind,
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": _now(),
        }
        if reason:
            cond["reason"] = reason
        if message:
            cond["message"] = message
        conditions.append(cond)
        pod["status"]["conditions"] = conditions

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, pod: Obj) -> None:
        """A new pod was created: schedule it and run it in its own thread."""
        meta = pod["metadata"]
        run = PodRun(meta["namespace"], meta["name"], meta["uid"])
        with self.lock:  # started under the lock: shutdown never sees an unstarted thread
            if run.uid in self.runs:
                return
            self.runs[run.uid] = run
            run.thread = threading.Thread(
                target=self._guarded, args=(run, pod), name=f"kubelet-{run.name}", daemon=True
            )
            run.thread.start()

    def _guarded(self, run: PodRun, pod: Obj) -> None:
        # A container starts with no blocked signals, as runc starts it; a process inherits
        # the mask of the thread that forks it, and this thread's comes from whichever thread
        # started it (a library may have blocked SIGTERM there: then a graceful delete could
        # not stop the container before its grace period ran out).
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        try:
            self._run(run, pod)
        except Exception:
            self.cluster.record_error(f"kubelet {run.namespace}/{run.name}")
        finally:
            run.finished.set()
            run.log.close()
            if run.process is not None and run.process.poll() is None:
                self._signal(run.process, signal.SIGKILL)
            if run.stop.is_set() and not self.cluster.stopping.is_set():
                # Deleted while running: the grace period is over, the object goes.
                with contextlib.suppress(ApiError):
                    self.store.delete(PODS, run.namespace, run.name)

    def _run(self, run: PodRun, pod: Obj) -> None:
        sim = self.cluster.simulation_for_pod(pod)
        if sim is not None and sim not in SIMULATIONS:
            raise ValueError(f"unknown {SIMULATE_KEY} value {sim!r}; known: {sorted(SIMULATIONS)}")
        container = pod["spec"]["containers"][0]
        image = container.get("image", "")

        if sim in ("Unschedulable", "ScaleUp", "NotTriggerScaleUp") and not self._scale_up(
            run, pod, sim
        ):
            return
        if sim == "AdmissionRejected":
            self._reject(run, pod)
            return

        def scheduled(p: Obj) -> None:
            p["spec"]["nodeName"] = NODE_NAME
            p["status"].update(
                phase="Pending",
                hostIP="127.0.0.1",
                podIP="127.0.0.1",
                podIPs=[{"ip": "127.0.0.1"}],
                startTime=_now(),
            )
            self._condition(p, "PodScheduled", "True")
            self._condition(p, "Initialized", "True")
            self._condition(
                p,
                "Ready",
                "False",
                "ContainersNotReady",
                f"containers with unready status: [{container['name']}]",
            )
            p["status"]["containerStatuses"] = self._container_statuses(
                p, {"waiting": {"reason": "ContainerCreating"}}
            )

        if not self._set_status(run, scheduled):
            return
        self.cluster.emit_event(
            pod,
            "Normal",
            "Scheduled",
            f"Successfully assigned {run.namespace}/{run.name} to {NODE_NAME}",
            "default-scheduler",
        )

        if sim == "FailedMount":
            self._fail_mount(run, pod)
            return

        if sim == "ImagePullBackOff":
            message = f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack image "{image}": not found'
            for reason, msg in (
                ("ErrImagePull", message),
                ("ImagePullBackOff", f'Back-off pulling image "{image}"'),
            ):
                run.waiting_reason = reason
                waiting = {"waiting": {"reason": reason, "message": msg}}

                def pulling(p: Obj, waiting: Obj = waiting) -> None:
                    p["status"]["containerStatuses"] = self._container_statuses(p, waiting)

                if not self._set_status(run, pulling):
                    return
                self.cluster.emit_event(
                    pod,
                    "Warning",
                    "Failed" if reason == "ErrImagePull" else "BackOff",
                    msg,
                    "kubelet",
                )
                if run.stop.wait(0.05):
                    return
            return

        resolved = self._resolve_command(run, pod, container)
        if resolved is None:
            return
        argv, env = resolved

        started_at = _now()
        if sim == "LogRotated":
            run.log.max_bytes = 0
        if sim in ("OOMKilled", "DeadlineExceeded") or run.stop.is_set():
            run.started = True
            run.waiting_reason = None
            self._mark_running(run, started_at)
            if sim == "OOMKilled":
                self._finish(run, 137, "OOMKilled", started_at)
                return
            self._hang(run, pod)  # DeadlineExceeded: until the Job controller deletes the pod
            self._finish(run, 137, "Error", started_at)
            return

        workdir = container.get("workingDir")
        cwd = workdir if workdir and Path(workdir).is_dir() else self.cluster.pod_dir(run.uid)
        try:
            if not argv:
                raise OSError(
                    0,
                    "no command given and image entrypoints are not emulated by the sqlml test kubelet",
                )
            run.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
            run.signal_masks = _signal_masks(run.process.pid)
        except OSError as exc:
            run.waiting_reason = None
            run.started = True
            message = f'failed to create containerd task: failed to create shim task: OCI runtime create failed: exec: "{argv[0] if argv else ""}": {exc.strerror or exc}'
            self._finish(run, 128, "StartError", started_at, message)
            return
        run.started = True
        run.waiting_reason = None
        reader = threading.Thread(
            target=self._pump, args=(run,), name=f"log-{run.name}", daemon=True
        )
        reader.start()
        self.cluster.emit_event(
            pod, "Normal", "Started", f"Started container {container['name']}", "kubelet"
        )
        self._mark_running(run, started_at)
        if sim in ("Evicted", "Preempted"):
            self._disrupt_later(run, pod, sim)

        process = run.process
        while process.poll() is None and not run.stop.wait(0.01):
            pass
        if process.poll() is None:  # deletion: SIGTERM, grace period, SIGKILL
            self._signal(process, signal.SIGTERM if run.grace > 0 else signal.SIGKILL)
            try:
                process.wait(timeout=run.grace)
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait()
        self._signal(process, signal.SIGKILL)  # the container's other processes die with it
        reader.join(timeout=5)
        run.log.close()
        code = process.returncode
        if run.evicted is not None:
            self._finish_evicted(run, run.evicted)
            return
        exit_code = code if code >= 0 else 128 - code
        self._finish(run, exit_code, "Completed" if exit_code == 0 else "Error", started_at)

    # -- simulations of a pod that does not start ----------------------------------------

    def _scale_up(self, run: PodRun, pod: Obj, sim: str) -> bool:
        """Unschedulable (the scheduler's PodScheduled=False and FailedScheduling), then what
        a cluster autoscaler says: ``ScaleUp`` announces TriggeredScaleUp and, after
        ``cluster.scale_up_seconds`` (a node joining), lets the pod be scheduled (True);
        ``NotTriggerScaleUp`` declines; ``Unschedulable`` has no autoscaler at all."""

        def unschedulable(p: Obj) -> None:
            p["status"]["phase"] = "Pending"
            self._condition(p, "PodScheduled", "False", "Unschedulable", UNSCHEDULABLE_MESSAGE)

        run.waiting_reason = None
        self._set_status(run, unschedulable)
        self.cluster.emit_event(
            pod, "Warning", "FailedScheduling", UNSCHEDULABLE_MESSAGE, "default-scheduler"
        )
        if sim == "NotTriggerScaleUp":
            self.cluster.emit_event(
                pod, "Normal", "NotTriggerScaleUp", NOT_TRIGGERED_SCALE_UP_MESSAGE, AUTOSCALER
            )
        if sim != "ScaleUp":
            return False
        self.cluster.emit_event(
            pod, "Normal", "TriggeredScaleUp", TRIGGERED_SCALE_UP_MESSAGE, AUTOSCALER
        )
        return not run.stop.wait(self.cluster.scale_up_seconds)

    def _fail_mount(self, run: PodRun, pod: Obj) -> None:
        """FailedMount: scheduled, the container ``ContainerCreating`` for good, and the
        kubelet's FailedMount event repeated (aggregated into one, its count rising)."""
        volumes = [v["name"] for v in pod["spec"].get("volumes") or []]
        if not volumes:
            raise ValueError("the FailedMount simulation needs a pod with a volume")
        message = FAILED_MOUNT_MESSAGE.format(volume=volumes[0])
        while True:
            self.cluster.emit_event(pod, "Warning", "FailedMount", message, "kubelet")
            if run.stop.wait(0.25):
                return

    def _resolve_command(
        self, run: PodRun, pod: Obj, container: Obj
    ) -> tuple[list[str], dict[str, str]] | None:
        """argv and env; while a referenced Secret or ConfigMap is missing the container
        waits in CreateContainerConfigError and the kubelet retries on its next pod sync
        (pkg/kubelet/kuberuntime/kuberuntime_container.go ``startContainer``), so creating
        the Secret later starts the container. None when the pod is deleted meanwhile."""
        while True:
            try:
                return self._command(pod, container)
            except _ConfigError as exc:
                problem = str(exc)
            if run.waiting_reason != "CreateContainerConfigError":
                run.waiting_reason = "CreateContainerConfigError"
                self._set_status(run, self._waiting("CreateContainerConfigError", problem))
            self.cluster.emit_event(pod, "Warning", "Failed", f"Error: {problem}", "kubelet")
            if run.stop.wait(self.cluster.kubelet_retry_seconds):
                return None

    def _waiting(self, reason: str, message: str) -> Callable[[Obj], None]:
        """A status edit: the container waiting for ``reason``."""
        waiting = {"waiting": {"reason": reason, "message": message}}

        def edit(p: Obj) -> None:
            p["status"]["containerStatuses"] = self._container_statuses(p, waiting)

        return edit

    def _hang(self, run: PodRun, pod: Obj) -> None:
        """A container that never ends by itself (the DeadlineExceeded simulation): only
        the Job's ``activeDeadlineSeconds`` stops it. A Job without one would hang for ever,
        as a hung training does; the harness gives up after ``cluster.hang_limit`` seconds
        and fails the test, rather than inventing a deadline."""
        if run.stop.wait(self.cluster.hang_limit):
            return
        owner = _controller_uid(pod)
        job = self.cluster.controller._job_by_uid(run.namespace, owner) if owner else None
        deadline = (job or {}).get("spec", {}).get("activeDeadlineSeconds")
        self.cluster.errors.append(
            f"pod {run.namespace}/{run.name} simulates DeadlineExceeded, but no "
            f"activeDeadlineSeconds ended it (its Job's: {deadline}); the harness killed it "
            f"after hang_limit={self.cluster.hang_limit}s"
        )

    # -- failures that are not the program's -------------------------------------------

    def _reject(self, run: PodRun, pod: Obj) -> None:
        """Kubelet admission refuses the scheduled pod (``Kubelet.rejectPod``): phase
        Failed, the reason and "Pod was rejected: ..." on the pod, no container statuses
        (nothing was created), a Warning event -- common with GPU device plugins."""
        limits = (pod["spec"]["containers"][0].get("resources") or {}).get("limits") or {}
        resource = next((k for k in limits if "/" in k), "nvidia.com/gpu")
        message = ADMISSION_MESSAGE.format(resource=resource)
        run.waiting_reason = None

        def rejected(p: Obj) -> None:
            p["spec"]["nodeName"] = NODE_NAME
            p["status"].update(
                phase="Failed",
                reason="UnexpectedAdmissionError",
                message=f"Pod was rejected: {message}",
                startTime=_now(),
            )
            self._condition(p, "PodScheduled", "True")

        if self._set_status(run, rejected):
            self.cluster.emit_event(pod, "Warning", "UnexpectedAdmissionError", message, "kubelet")

    def _disrupt_later(self, run: PodRun, pod: Obj, sim: str) -> None:
        """After ``cluster.disrupt_after`` seconds of running, the kubelet evicts the pod
        or the scheduler preempts it (if it still runs)."""

        def disrupt() -> None:
            if run.stop.wait(self.cluster.disrupt_after) or run.finished.is_set():
                return
            try:
                if sim == "Evicted":
                    self.evict(run.uid)
                else:
                    self.cluster.preempt(run.name, run.namespace)
            except Exception:
                self.cluster.record_error(f"{sim} {run.namespace}/{run.name}")

        threading.Thread(target=disrupt, name=f"disrupt-{run.name}", daemon=True).start()

    def evict(self, uid: str) -> None:
        """Node-pressure eviction (eviction_manager.go ``evictPod``): a Warning ``Evicted``
        event, the container killed at once (a hard threshold has no grace period); its
        status is written when the container is gone (:meth:`_finish_evicted`)."""
        with self.lock:
            run = self.runs.get(uid)
        if run is None or run.process is None or run.process.poll() is not None:
            return
        pod = self.store.get(PODS, run.namespace, run.name)
        if pod is None:
            return
        container = pod["spec"]["containers"][0]
        request = ((container.get("resources") or {}).get("requests") or {}).get("memory", "0")
        run.evicted = EVICTION_MESSAGE.format(container=container["name"], request=request)
        self.cluster.emit_event(pod, "Warning", "Evicted", run.evicted, "kubelet")
        self._signal(run.process, signal.SIGKILL)

    def _finish_evicted(self, run: PodRun, message: str) -> None:
        """An evicted pod as the kubelet leaves it: phase Failed, reason ``Evicted`` and the
        eviction message, ``DisruptionTarget`` (reason ``TerminationByKubelet``), and a
        container the runtime no longer knows: ``ContainerStatusUnknown``, exit code 137.
        The pod object stays (nothing deletes an evicted pod but the pod GC)."""
        run.log.close()
        terminated = {
            "exitCode": 137,
            "reason": "ContainerStatusUnknown",
            "message": CONTAINER_STATUS_UNKNOWN_MESSAGE,
        }

        def evicted(p: Obj) -> None:
            p["status"].update(phase="Failed", reason="Evicted", message=message)
            self._condition(p, "DisruptionTarget", "True", "TerminationByKubelet", message)
            self._condition(p, "Ready", "False", "PodCompleted")
            self._condition(p, "ContainersReady", "False", "PodCompleted")
            p["status"]["containerStatuses"] = self._container_statuses(
                p, {"terminated": terminated}
            )

        self._set_status(run, evicted)

    def _mark_running(self, run: PodRun, started_at: str) -> None:
        def running(p: Obj) -> None:
            p["status"]["phase"] = "Running"
            self._condition(p, "Ready", "True")
            self._condition(p, "ContainersReady", "True")
            p["status"]["containerStatuses"] = self._container_statuses(
                p, {"running": {"startedAt": started_at}}, ready=True, started=True
            )

        self._set_status(run, running)

    def _finish(
        self, run: PodRun, exit_code: int, reason: str, started_at: str, message: str | None = None
    ) -> None:
        """Record the container's end; a pod being deleted is then removed, as after its grace period."""
        run.log.close()
        terminated: Obj = {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": started_at,
            "finishedAt": _now(),
            "containerID": f"sqlml-test://{run.uid}",
        }
        if message:
            terminated["message"] = message

        def done(p: Obj) -> None:
            p["status"]["phase"] = "Succeeded" if exit_code == 0 else "Failed"
            self._condition(p, "Ready", "False", "PodCompleted")
            self._condition(p, "ContainersReady", "False", "PodCompleted")
            p["status"]["containerStatuses"] = self._container_statuses(
                p, {"terminated": terminated}
            )

        self._set_status(run, done)

    def _pump(self, run: PodRun) -> None:
        assert run.process is not None and run.process.stdout is not None
        fd = run.process.stdout.fileno()
        while chunk := os.read(fd, 65536):
            run.log.append(chunk)
        run.process.stdout.close()

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)

    def _command(self, pod: Obj, container: Obj) -> tuple[list[str], dict[str, str]]:
        """argv and environment as the container would see them (image entrypoints unknown)."""
        namespace = pod["metadata"]["namespace"]
        defined: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            prefix = source.get("prefix", "")
            if ref := source.get("configMapRef"):
                cm = self.store.get(CONFIGMAPS, namespace, ref["name"])
                if cm is None:
                    if not ref.get("optional"):
                        raise _ConfigError(f'configmap "{ref["name"]}" not found')
                    continue
                defined.update({prefix + k: v for k, v in (cm.get("data") or {}).items()})
            if ref := source.get("secretRef"):
                secret = self.store.get(SECRETS, namespace, ref["name"])
                if secret is None:
                    if not ref.get("optional"):
                        raise _ConfigError(f'secret "{ref["name"]}" not found')
                    continue
                defined.update(
                    {
                        prefix + k: base64.b64decode(v).decode()
                        for k, v in (secret.get("data") or {}).items()
                    }
                )
        for var in container.get("env") or []:
            value = self._env_value(pod, var, defined)
            if value is not None:
                defined[var["name"]] = value
        # No command means the image's entrypoint, which cannot be known here: argv stays empty
        # and the container fails with StartError rather than hanging the Job.
        argv = (
            [
                _expand(str(a), defined)
                for a in (container.get("command") or []) + (container.get("args") or [])
            ]
            if container.get("command")
            else []
        )
        # A container's environment: the image's ENV, the runtime's HOSTNAME (and HOME when
        # the image sets none), the service links of the ``kubernetes`` Service, then the
        # manifest's env — never the test process's own environment.
        env = dict(self.cluster.image_env)
        env.setdefault("HOME", self.cluster.home)
        env.update(
            HOSTNAME=pod["metadata"]["name"],
            KUBERNETES_SERVICE_HOST="127.0.0.1",
            KUBERNETES_SERVICE_PORT=str(self.cluster.port),
            KUBERNETES_SERVICE_PORT_HTTPS=str(self.cluster.port),
        )
        env.update(defined)
        return argv, {k: self._resolved(namespace, v) for k, v in env.items()}

    def _resolved(self, namespace: str, value: str) -> str:
        """The cluster DNS's answer for a pod's name under a headless Service, which every
        pod here shares: loopback. A variable whose whole value is such a name
        (``<job>-0.<service>``, optionally ``.<namespace>.svc.cluster.local``) is given
        127.0.0.1, since the processes run on this machine without a cluster resolver."""
        m = re.match(
            r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.(?P<service>[a-z]([-a-z0-9]*[a-z0-9])?)"
            r"(\.(?P<namespace>[a-z0-9-]+)(\.svc(\.cluster\.local)?)?)?$",
            value,
        )
        if m is None:
            return value
        where = m.group("namespace") or namespace
        if self.store.get(SERVICES, where, m.group("service")) is None:
            return value
        return "127.0.0.1"

    def _env_value(self, pod: Obj, var: Obj, defined: Mapping[str, str]) -> str | None:
        if "value" in var:
            return _expand(var["value"], defined)
        source = var.get("valueFrom")
        if not source:
            return ""
        namespace = pod["metadata"]["namespace"]
        for ref_key, res in (("secretKeyRef", SECRETS), ("configMapKeyRef", CONFIGMAPS)):
            if ref := source.get(ref_key):
                obj = self.store.get(res, namespace, ref["name"])
                label = "secret" if res is SECRETS else "configmap"
                if obj is None:
                    if ref.get("optional"):
                        return None
                    raise _ConfigError(f'{label} "{ref["name"]}" not found')
                data = obj.get("data") or {}
                if ref["key"] not in data:
                    if ref.get("optional"):
                        return None
                    raise _ConfigError(
                        f"couldn't find key {ref['key']} in {res.kind} {namespace}/{ref['name']}"
                    )
                value = data[ref["key"]]
                return base64.b64decode(value).decode() if res is SECRETS else str(value)
        if ref := source.get("fieldRef"):
            path = ref["fieldPath"]
            m = re.match(r"^metadata\.(labels|annotations)\['(.+)'\]$", path)
            if m:
                return str((pod["metadata"].get(m.group(1)) or {}).get(m.group(2), ""))
            known = {
                "metadata.name": pod["metadata"]["name"],
                "metadata.namespace": namespace,
                "metadata.uid": pod["metadata"]["uid"],
                "spec.nodeName": NODE_NAME,
                "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
                "status.hostIP": "127.0.0.1",
                "status.podIP": "127.0.0.1",
            }
            return known.get(path, "")
        return None  # resourceFieldRef and friends: not emulated

    def request_stop(self, uid: str, grace: float) -> PodRun | None:
        """Ask the pod's container to stop (deletion); returns the run if it is still alive."""
        with self.lock:
            run = self.runs.get(uid)
        if run is None:
            return None
        run.grace = grace
        run.stop.set()
        return run if run.alive else None

    def shutdown(self) -> None:
        """Kill every container (cluster teardown) and wait for the pod threads."""
        with self.lock:
            runs = list(self.runs.values())
        for run in runs:
            run.grace = 0
            run.stop.set()
            if run.process is not None and run.process.poll() is None:
                self._signal(run.process, signal.SIGKILL)
        for run in runs:
            if run.thread is not None:
                run.thread.join(timeout=5)


# --------------------------------------------------------------------------------------------
# Pod failure policy: validated as the apiserver validates it, matched as the Job controller
# matches it
# --------------------------------------------------------------------------------------------

#: ``supportedPodFailurePolicyActions`` & co. in pkg/apis/batch/validation/validation.go,
#: sorted as ``sets.List`` lists them in the apiserver's messages.
POD_FAILURE_POLICY_ACTIONS = ("Count", "FailIndex", "FailJob", "Ignore")
_EXIT_CODE_OPERATORS = ("In", "NotIn")
_CONDITION_STATUSES = ("False", "True", "Unknown")
_MAX_POLICY_RULES = 20  # maxPodFailurePolicyRules
_MAX_CONDITION_PATTERNS = 20  # maxPodFailurePolicyOnPodConditionsPatterns
_MAX_EXIT_CODE_VALUES = 255  # maxPodFailurePolicyOnExitCodesValues


def _go_value(value: Any) -> str:
    """A bad value as apimachinery's ``field.Error.ErrorBody`` prints it: strings quoted,
    numbers bare, an exit-code list as Go's ``%#v`` of an ``[]int32``."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[]int32{" + ", ".join(str(v) for v in value) + "}"
    if value is None:
        return "[]int32(nil)"
    return str(value)


def _not_supported(value: Any, supported: tuple[str, ...]) -> str:
    """``field.NotSupported``'s text."""
    quoted = ", ".join(json.dumps(s) for s in supported)
    return f"Unsupported value: {_go_value(value)}: supported values: {quoted}"


def _required(supported: tuple[str, ...]) -> str:
    """``field.Required(path, fmt.Sprintf("valid values: %q", sets.List(...)))``'s text."""
    return "Required value: valid values: [" + " ".join(json.dumps(s) for s in supported) + "]"


def _validate_failure_handling(spec: Obj) -> list[tuple[str, str]]:
    """``spec.podFailurePolicy`` and ``spec.podReplacementPolicy`` as ``validateJobSpec``
    checks them (validatePodFailurePolicy, validatePodFailurePolicyRule,
    ...RuleOnExitCodes, ...RuleOnPodConditions, validatePodReplacementPolicy); the
    apiserver answers any of these with 422 Invalid."""
    errors: list[tuple[str, str]] = []
    policy = spec.get("podFailurePolicy")
    replacement = spec.get("podReplacementPolicy")
    if replacement is not None:
        allowed = ("Failed",) if policy is not None else ("Failed", "TerminatingOrFailed")
        if replacement not in allowed:
            errors.append(("spec.podReplacementPolicy", _not_supported(replacement, allowed)))
    if policy is None:
        return errors
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    restart = pod_spec.get("restartPolicy")
    if restart == "OnFailure":
        errors.append(
            (
                "spec.template.spec.restartPolicy",
                'Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy '
                "is specified",
            )
        )
    names = {
        c.get("name")
        for c in [*(pod_spec.get("containers") or []), *(pod_spec.get("initContainers") or [])]
    }
    rules = policy.get("rules") or []
    path = "spec.podFailurePolicy.rules"
    if len(rules) > _MAX_POLICY_RULES:
        errors.append(
            (path, f"Too many: {len(rules)}: must have at most {_MAX_POLICY_RULES} items")
        )
    for i, rule in enumerate(rules):
        errors += _validate_policy_rule(rule, f"{path}[{i}]", names, spec)
    return errors


def _validate_policy_rule(
    rule: Obj, path: str, container_names: set[Any], spec: Obj
) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    action = rule.get("action") or ""
    if not action:
        errors.append((f"{path}.action", _required(POD_FAILURE_POLICY_ACTIONS)))
    elif action == "FailIndex":
        if spec.get("backoffLimitPerIndex") is None:
            errors.append(
                (
                    f"{path}.action",
                    'Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set',
                )
            )
    elif action not in POD_FAILURE_POLICY_ACTIONS:
        errors.append((f"{path}.action", _not_supported(action, POD_FAILURE_POLICY_ACTIONS)))
    on_exit = rule.get("onExitCodes")
    patterns = rule.get("onPodConditions") or []
    if on_exit is not None:
        errors += _validate_on_exit_codes(on_exit, f"{path}.onExitCodes", container_names)
    if patterns:
        cpath = f"{path}.onPodConditions"
        if len(patterns) > _MAX_CONDITION_PATTERNS:
            errors.append(
                (
                    cpath,
                    f"Too many: {len(patterns)}: must have at most {_MAX_CONDITION_PATTERNS} items",
                )
            )
        for j, pattern in enumerate(patterns):
            kind = str(pattern.get("type") or "")
            if (msg := _qualified_name_error(kind)) is not None:
                errors.append((f"{cpath}[{j}].type", f"Invalid value: {_go_value(kind)}: {msg}"))
            status = pattern.get("status") or ""
            if not status:
                errors.append((f"{cpath}[{j}].status", _required(_CONDITION_STATUSES)))
            elif status not in _CONDITION_STATUSES:
                errors.append((f"{cpath}[{j}].status", _not_supported(status, _CONDITION_STATUSES)))
    if on_exit is not None and patterns:
        errors.append(
            (
                path,
                "Invalid value: specifying both OnExitCodes and OnPodConditions is not supported",
            )
        )
    if on_exit is None and not patterns:
        errors.append(
            (path, "Invalid value: specifying one of OnExitCodes and OnPodConditions is required")
        )
    return errors


def _qualified_name_error(name: str) -> str | None:
    """apimachinery's ``IsQualifiedName``, worded as it words each problem."""
    prefix, slash, part = name.rpartition("/")
    if slash and not prefix:
        return "prefix part must be non-empty"
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return f"prefix part {_SUBDOMAIN_MSG}"
    if not part:
        return "name part must be non-empty"
    if len(part) > 63:
        return "name part must be no more than 63 characters"
    if not _QUALIFIED_NAME.match(part):
        return (
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
            "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        )
    return None


def _validate_on_exit_codes(
    on_exit: Obj, path: str, container_names: set[Any]
) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    operator = on_exit.get("operator") or ""
    if not operator:
        errors.append((f"{path}.operator", _required(_EXIT_CODE_OPERATORS)))
    elif operator not in _EXIT_CODE_OPERATORS:
        errors.append((f"{path}.operator", _not_supported(operator, _EXIT_CODE_OPERATORS)))
    name = on_exit.get("containerName")
    if name is not None and name not in container_names:
        errors.append(
            (
                f"{path}.containerName",
                f"Invalid value: {_go_value(name)}: must be one of the container or "
                "initContainer names in the pod template",
            )
        )
    values = on_exit.get("values")
    if not values:
        errors.append(
            (
                f"{path}.values",
                f"Invalid value: {_go_value(values)}: at least one value is required",
            )
        )
        return errors
    if len(values) > _MAX_EXIT_CODE_VALUES:
        errors.append(
            (
                f"{path}.values",
                f"Too many: {len(values)}: must have at most {_MAX_EXIT_CODE_VALUES} items",
            )
        )
    seen: set[int] = set()
    for j, value in enumerate(values):
        if operator == "In" and value == 0:
            errors.append(
                (f"{path}.values[{j}]", "Invalid value: 0: must not be 0 for the In operator")
            )
        if value in seen:
            errors.append((f"{path}.values[{j}]", f"Duplicate value: {value}"))
        seen.add(value)
    if any(a > b for a, b in itertools.pairwise(values)):
        errors.append((f"{path}.values", f"Invalid value: {_go_value(values)}: must be ordered"))
    return errors


def match_pod_failure_policy(policy: Obj | None, pod: Obj) -> tuple[str | None, bool, str | None]:
    """A failed pod against the Job's rules, as ``matchPodFailurePolicy``
    (pkg/controller/job/pod_failure_policy.go) matches it: (the FailJob message, whether
    the failure counts towards ``backoffLimit``, the matched action). The first rule that
    matches decides; none matching counts the failure, as without a policy."""
    if policy is None:
        return None, True, None
    status = pod.get("status") or {}
    meta = pod["metadata"]
    for index, rule in enumerate(policy.get("rules") or []):
        action = rule.get("action")
        on_exit = rule.get("onExitCodes")
        if on_exit is not None:
            container = _matching_exit_code(status, on_exit)
            if container is None:
                continue
            code = container["state"]["terminated"]["exitCode"]
            message = (
                f"Container {container['name']} for pod {meta['namespace']}/{meta['name']} "
                f"failed with exit code {code} matching {action} rule at index {index}"
            )
        elif rule.get("onPodConditions") is not None:
            condition = _matching_condition(status, rule["onPodConditions"])
            if condition is None:
                continue
            message = (
                f"Pod {meta['namespace']}/{meta['name']} has condition {condition['type']} "
                f"matching {action} rule at index {index}"
            )
        else:
            continue
        if action == "Ignore":
            return None, False, action
        if action in ("Count", "FailIndex"):
            return None, True, action
        if action == "FailJob":
            return message, True, action
        # an unknown action: "Clients should react to an unknown action by skipping the rule"
    return None, True, None


def _matching_exit_code(status: Obj, requirement: Obj) -> Obj | None:
    """``matchOnExitCodes``: the first terminated container (app, then init) with a
    non-zero exit code the operator accepts; running containers have none to match."""
    name, operator = requirement.get("containerName"), requirement.get("operator")
    values = requirement.get("values") or []
    for key in ("containerStatuses", "initContainerStatuses"):
        for container in status.get(key) or []:
            terminated = (container.get("state") or {}).get("terminated")
            if terminated is None or name not in (None, container.get("name")):
                continue
            code = terminated.get("exitCode", 0)
            if code == 0:
                continue
            if (operator == "In" and code in values) or (
                operator == "NotIn" and code not in values
            ):
                return dict(container)
    return None


def _matching_condition(status: Obj, patterns: list[Obj]) -> Obj | None:
    """``matchOnPodConditions``: the first pod condition some pattern names (type and
    status)."""
    for condition in status.get("conditions") or []:
        for pattern in patterns:
            if (condition.get("type"), condition.get("status")) == (
                pattern.get("type"),
                pattern.get("status"),
            ):
                return dict(condition)
    return None


# --------------------------------------------------------------------------------------------
# Job controller and garbage collector
# --------------------------------------------------------------------------------------------


@dataclass
class _JobTrack:
    """What the controller has counted for one Job -- upstream, the job-tracking finalizer
    and ``.status.uncountedTerminatedPods`` make sure each finished pod counts once."""

    succeeded: set[str] = field(default_factory=set)
    #: Failed pods that count towards ``backoffLimit`` (``.status.failed``).
    failed: set[str] = field(default_factory=set)
    #: Failed pods a podFailurePolicy ``Ignore`` rule matched: replaced, never counted.
    ignored: set[str] = field(default_factory=set)
    #: Pods gone from the store, as last seen (their DELETED event).
    gone: dict[str, Obj] = field(default_factory=dict)
    #: The message of the first ``FailJob`` rule a failed pod matched.
    fail_job: str | None = None
    #: Pods created so far: the 0-based attempt number of the next one.
    created: int = 0
    #: Failures since the last success and when the last was counted: the pod failure
    #: backoff before a replacement (backoff_utils.go).
    failures_since_success: int = 0
    last_failure: float | None = None
    started: float | None = None
    finished: float | None = None
    #: Creates the API server refused in a row, and when the next may be tried (the
    #: sync's rate-limited requeue after a FailedCreate).
    create_failures: int = 0
    next_create: float = 0.0
    #: An Indexed Job's pods by uid: their completion index; and the indexes that succeeded.
    indexes: dict[str, int] = field(default_factory=dict)
    succeeded_indexes: set[int] = field(default_factory=set)


def _index_ranges(indexes: set[int]) -> str:
    """``.status.completedIndexes``: ``1,3-5,7``."""
    ordered, parts = sorted(indexes), []
    start = previous = ordered[0]
    for i in [*ordered[1:], None]:
        if i is not None and i == previous + 1:
            previous = i
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if i is not None:
            start = previous = i
    return ",".join(parts)


def _condition_true(obj: Obj, kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True"
        for c in (obj.get("status") or {}).get("conditions") or []
    )


def _pod_active(pod: Obj) -> bool:
    """Neither finished nor being deleted: the controller's active pods."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp")


def _pod_terminating(pod: Obj) -> bool:
    """``controller.CountTerminatingPods``: being deleted, not yet in a terminal phase."""
    phase = (pod.get("status") or {}).get("phase")
    return bool(pod["metadata"].get("deletionTimestamp")) and phase not in ("Succeeded", "Failed")


def _replaces_only_failed(spec: Obj) -> bool:
    """``onlyReplaceFailedPods``: podReplacementPolicy Failed, which a podFailurePolicy implies."""
    return spec.get("podReplacementPolicy") == "Failed" or spec.get("podFailurePolicy") is not None


def _decided_outcome(conditions: list[Obj]) -> tuple[str, str, str] | None:
    """The outcome an interim condition already records: (terminal type, reason, message)."""
    for condition in conditions:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "FailureTarget":
            return ("Failed", condition.get("reason", ""), condition.get("message", ""))
        if condition.get("type") == "SuccessCriteriaMet":
            return ("Complete", condition.get("reason", ""), condition.get("message", ""))
    return None


def _controller_uid(pod: Obj) -> str | None:
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == "Job":
            return str(ref["uid"])
    return None


class JobController:
    """kube-controller-manager's Job, TTL-after-finished and garbage-collector loops, in one thread."""

    def __init__(self, cluster: KubernetesTestCluster) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self.queue: queue.Queue[WatchEvent | Callable[[], None] | None] = queue.Queue()
        self.tracks: dict[str, _JobTrack] = {}
        self.thread = threading.Thread(target=self._loop, name="job-controller", daemon=True)

    def _loop(self) -> None:
        while True:
            item: WatchEvent | Callable[[], None] | str | None
            try:
                item = self.queue.get(timeout=0.05)
            except queue.Empty:
                item = "tick"
            if item is None:
                return
            try:
                if item == "tick":
                    self._tick()
                elif isinstance(item, WatchEvent):
                    self._handle(item)
                elif callable(item):
                    item()
            except Exception:
                self.cluster.record_error("job controller")

    def _handle(self, event: WatchEvent) -> None:
        if event.resource is JOBS and event.type != "DELETED":
            self.reconcile(event.namespace, event.obj["metadata"]["name"])
        elif event.resource is PODS:
            if event.type == "ADDED":
                self.cluster.kubelet.start(event.obj)
            owner = _controller_uid(event.obj)
            if owner is None:
                return
            job = self._job_by_uid(event.namespace, owner)
            if job is not None:
                self.reconcile(event.namespace, job["metadata"]["name"])

    def observe(self, event: WatchEvent) -> None:
        """A store listener (called under the store lock as each change happens): a pod
        that goes is remembered at once with its last state, so a reconcile that no longer
        finds it in the store still counts it -- the job-tracking finalizer's role."""
        if event.resource is PODS and event.type == "DELETED":
            owner = _controller_uid(event.obj)
            if owner is not None:
                track = self.tracks.setdefault(owner, _JobTrack())
                track.gone[event.obj["metadata"]["uid"]] = event.obj

    def _job_by_uid(self, namespace: str, uid: str) -> Obj | None:
        return next(
            (j for j in self.store.select(JOBS, namespace) if j["metadata"]["uid"] == uid), None
        )

    def _tick(self) -> None:
        now = time.monotonic()
        for job in self.store.select(JOBS):
            meta = job["metadata"]
            track = self.tracks.get(meta["uid"])
            if track is None:
                continue
            ttl = job["spec"].get("ttlSecondsAfterFinished")
            if (
                track.finished is not None
                and ttl is not None
                and now - track.finished >= ttl
                and not meta.get("deletionTimestamp")
            ):
                with contextlib.suppress(ApiError):
                    self.cluster.delete_object(
                        JOBS, meta["namespace"], meta["name"], propagation="Background"
                    )
            elif track.finished is None and track.started is not None:
                self.reconcile(meta["namespace"], meta["name"])

    def reconcile(self, namespace: str, name: str) -> None:
        """Drive one Job toward its spec as ``syncJob`` (pkg/controller/job/job_controller.go,
        1.31+) does: count finished pods through the podFailurePolicy, decide whether the
        Job is finished, then either create pods (after the pod failure backoff) or delete
        the active ones with their grace period and mark the Job -- ``FailureTarget`` /
        ``SuccessCriteriaMet`` first, ``Failed`` / ``Complete`` in a later update once no
        pod is terminating (``enactJobFinished``; job.md "Terminal Job conditions")."""
        job = self.store.get(JOBS, namespace, name)
        if job is None:
            return
        meta, spec = job["metadata"], job["spec"]
        uid = meta["uid"]
        track = self.tracks.setdefault(uid, _JobTrack())
        if meta.get("deletionTimestamp"):
            self._finish_foreground_or_orphan(job)
            return
        if _condition_true(job, "Complete") or _condition_true(job, "Failed"):
            return
        completions = spec.get("completions") or 1
        parallelism = spec.get("parallelism", 1)
        backoff_limit = spec.get("backoffLimit", 6)
        deadline = spec.get("activeDeadlineSeconds")
        suspended = bool(spec.get("suspend"))
        now = time.monotonic()
        first = track.started is None
        if first and not suspended:
            track.started = now  # the deadline is checked from the next pass, after pods exist
        conditions: list[Obj] = list((job.get("status") or {}).get("conditions") or [])

        # Once FailureTarget / SuccessCriteriaMet is set, the outcome is decided: no rule
        # is evaluated again, the terminal condition copies its reason and message.
        finish = _decided_outcome(conditions)
        pods, gone = self._pods_and_gone(namespace, uid)
        self._count_finished(job, track, pods, gone, now, may_fail_job=finish is None)
        active = [p for p in pods if _pod_active(p)]
        if finish is None and track.fail_job is not None:
            finish = ("Failed", "PodFailurePolicy", track.fail_job)
        elif finish is None and len(track.failed) > backoff_limit:
            finish = (
                "Failed",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            )
        elif (
            finish is None
            and deadline is not None
            and not first
            and track.started is not None
            and now - track.started >= deadline
        ):
            finish = ("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")

        created = 0
        if finish is not None:
            for pod in active:  # deleteActivePods: with the pods' own grace period
                self._delete_pod(job, pod, grace=None)
        elif suspended:
            for pod in active:
                with contextlib.suppress(ApiError):
                    self.cluster.delete_object(PODS, namespace, pod["metadata"]["name"], grace=0)
        else:
            busy = len(active)
            if _replaces_only_failed(spec):  # a replacement waits for the old pod to end
                busy += sum(1 for p in pods if _pod_terminating(p))
            indexed = spec.get("completionMode") == "Indexed"
            done = len(track.succeeded_indexes if indexed else track.succeeded)
            want = min(parallelism, completions - done) - busy
            # an Indexed Job's pods: one for each index neither succeeded nor running
            # (job/indexed_job_utils.go firstPendingIndexes)
            running = {track.indexes.get(p["metadata"]["uid"]) for p in active}
            pending = [
                i
                for i in range(completions)
                if i not in track.succeeded_indexes and i not in running
            ]
            # after a failed pod: the pod failure backoff; after a refused create: the
            # sync's rate-limited requeue
            if want > 0 and self._backoff_left(track, now) <= 0 and now >= track.next_create:
                for n in range(want):
                    index = pending[n] if indexed and n < len(pending) else None
                    if indexed and index is None:
                        break
                    if not self._create_pod(job, track, now, index):
                        break
                    created += 1
            if not active and not created and done >= completions:
                finish = (
                    "Complete",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                )

        def stamp(kind: str, reason: str, message: str) -> Obj:
            return {
                "type": kind,
                "status": "True",
                "lastProbeTime": _now(),
                "lastTransitionTime": _now(),
                "reason": reason,
                "message": message,
            }

        pods = self._pods_of(namespace, uid)  # after the deletions and creations
        active = [p for p in pods if _pod_active(p)]
        terminating = sum(1 for p in pods if _pod_terminating(p))
        if finish is not None:
            outcome, reason, message = finish
            interim = "SuccessCriteriaMet" if outcome == "Complete" else "FailureTarget"
            if not _condition_true(job, interim):
                # The interim condition goes out on its own; the terminal one follows in a
                # later update (this update's MODIFIED event reconciles again).
                conditions = [c for c in conditions if c["type"] not in (interim, "Suspended")]
                conditions.append(stamp(interim, reason, message))
            elif not terminating and not active:
                track.finished = now
                conditions = [c for c in conditions if c["type"] != outcome]
                conditions.append(stamp(outcome, reason, message))
                self.cluster.emit_event(
                    job,
                    "Normal" if outcome == "Complete" else "Warning",
                    "Completed" if outcome == "Complete" else reason,
                    "Job completed" if outcome == "Complete" else message,
                    "job-controller",
                )
        elif suspended and not _condition_true(job, "Suspended"):
            conditions = [c for c in conditions if c["type"] != "Suspended"] + [
                stamp("Suspended", "JobSuspended", "Job suspended")
            ]

        ready = sum(1 for p in active if _condition_true(p, "Ready"))
        complete = track.finished is not None and finish is not None and finish[0] == "Complete"

        def update(j: Obj) -> None:
            status = j.setdefault("status", {})
            for key, value in (
                ("active", len(active)),
                ("succeeded", len(track.succeeded)),
                ("failed", len(track.failed)),
            ):
                if value:
                    status[key] = value
                else:
                    status.pop(key, None)  # omitempty, as the real API serves it
            status["ready"] = ready
            status["terminating"] = terminating  # JobPodReplacementPolicy: always reported
            status["uncountedTerminatedPods"] = {}
            if not suspended:
                status.setdefault("startTime", _now())
            if conditions:
                status["conditions"] = conditions
            if complete:
                status["completionTime"] = _now()
            if track.succeeded_indexes:
                status["completedIndexes"] = _index_ranges(track.succeeded_indexes)

        with contextlib.suppress(ApiError):
            self.store.mutate(JOBS, namespace, name, update)

    def _pods_of(self, namespace: str, uid: str) -> list[Obj]:
        return [p for p in self.store.select(PODS, namespace) if _controller_uid(p) == uid]

    def _pods_and_gone(self, namespace: str, uid: str) -> tuple[list[Obj], list[Obj]]:
        """The Job's pods in the store, and those gone from it (as last seen), read together."""
        track = self.tracks.setdefault(uid, _JobTrack())
        with self.store.cond:
            pods = self._pods_of(namespace, uid)
            present = {p["metadata"]["uid"] for p in pods}
            return pods, [p for u, p in track.gone.items() if u not in present]

    def _count_finished(
        self,
        job: Obj,
        track: _JobTrack,
        pods: list[Obj],
        gone: list[Obj],
        now: float,
        may_fail_job: bool,
    ) -> None:
        """Count each pod once when it finishes: succeeded, or failed as ``isPodFailed``
        says (phase Failed; with podReplacementPolicy TerminatingOrFailed also a pod being
        deleted; a pod gone without a terminal phase, which the pod GC would mark Failed)
        and then through the podFailurePolicy: an ``Ignore`` rule keeps it out of
        ``.status.failed`` and ``backoffLimit``, a ``FailJob`` rule fails the Job."""
        spec = job["spec"]
        policy = spec.get("podFailurePolicy")
        only_failed = _replaces_only_failed(spec)
        present = {p["metadata"]["uid"] for p in pods}
        for pod in [*pods, *gone]:
            uid = pod["metadata"]["uid"]
            if uid in track.succeeded or uid in track.failed or uid in track.ignored:
                continue
            phase = (pod.get("status") or {}).get("phase")
            if phase == "Succeeded":
                track.succeeded.add(uid)
                if uid in track.indexes:
                    track.succeeded_indexes.add(track.indexes[uid])
                track.failures_since_success = 0
                continue
            failed = (
                phase == "Failed"
                or uid not in present
                or (not only_failed and bool(pod["metadata"].get("deletionTimestamp")))
            )
            if not failed:
                continue
            message, counts, _ = match_pod_failure_policy(policy, pod)
            (track.failed if counts else track.ignored).add(uid)
            track.failures_since_success += 1
            track.last_failure = now
            if message is not None and may_fail_job and track.fail_job is None:
                track.fail_job = message

    def _backoff_left(self, track: _JobTrack, now: float) -> float:
        """Seconds until a replacement may be created: ``DefaultJobPodFailureBackOff``
        (10 s) doubled per failure since the last success, capped at
        ``MaxJobPodFailureBackOff`` (10 min) -- both scaled by the cluster's
        ``pod_failure_backoff``, the stand-in for 10 s."""
        if not track.failures_since_success or track.last_failure is None:
            return 0.0
        base = self.cluster.pod_failure_backoff
        delay = min(base * 2 ** (track.failures_since_success - 1), base * 60)
        return track.last_failure + delay - now

    def _delete_pod(self, job: Obj, pod: Obj, grace: float | None) -> None:
        """``podControl.DeletePod``: a graceful DELETE and its ``SuccessfulDelete`` event."""
        name = pod["metadata"]["name"]
        try:
            self.cluster.delete_object(PODS, pod["metadata"]["namespace"], name, grace=grace)
        except ApiError:
            return
        self.cluster.emit_event(
            job, "Normal", "SuccessfulDelete", f"Deleted pod: {name}", "job-controller"
        )

    def _create_pod(self, job: Obj, track: _JobTrack, now: float, index: int | None = None) -> bool:
        """Create one pod from the template; False when the API server refuses it. A pod
        of an Indexed Job (``index``) is named ``<job>-<index>-…``, carries its index as an
        annotation and a label, in ``JOB_COMPLETION_INDEX`` (from the annotation) and in its
        hostname ``<job>-<index>`` (job/indexed_job_utils.go ``addCompletionIndex…``).

        A refusal (admission: a missing ServiceAccount, Pod Security, a quota) leaves no pod,
        only the Warning ``FailedCreate`` event "Error creating: <the API error>" on the Job
        (controller_utils.go ``RealPodControl.createPods``); the sync returns the error and
        the Job is requeued rate-limited (job_controller.go: DefaultJobApiBackOff 1 s,
        doubling to MaxJobApiBackOff 60 s; here 0.2 s doubling to 2 s)."""
        meta, template = job["metadata"], job["spec"]["template"]
        tmeta = copy.deepcopy(template.get("metadata") or {})
        annotations = tmeta.get("annotations") or {}
        sim = self.cluster.simulation_for_attempt(job, track.created)
        if sim is not None:
            annotations[SIMULATE_KEY] = sim
        pod: Obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "generateName": f"{meta['name']}-",
                "name": f"{meta['name']}-{_short_suffix()}",
                "namespace": meta["namespace"],
                "labels": tmeta.get("labels") or {},
                "annotations": annotations,
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": copy.deepcopy(template.get("spec") or {}),
        }
        if index is not None:
            stem = f"{meta['name']}-{index}"
            pod["metadata"].update(generateName=f"{stem}-", name=f"{stem}-{_short_suffix()}")
            annotations[COMPLETION_INDEX] = str(index)
            pod["metadata"]["labels"] = {**pod["metadata"]["labels"], COMPLETION_INDEX: str(index)}
            pod["spec"].setdefault("hostname", stem)
            path = f"metadata.annotations['{COMPLETION_INDEX}']"
            for container in pod["spec"].get("containers") or []:
                container["env"] = [
                    {"name": COMPLETION_INDEX_ENV, "valueFrom": {"fieldRef": {"fieldPath": path}}},
                    *(container.get("env") or []),
                ]
        if not annotations:
            del pod["metadata"]["annotations"]
        try:
            created = self.cluster.create_object(PODS, pod)
        except ApiError as refused:
            self.cluster.emit_event(
                job,
                "Warning",
                "FailedCreate",
                f"Error creating: {refused.message}",
                "job-controller",
            )
            track.next_create = now + min(0.2 * 2**track.create_failures, 2.0)
            track.create_failures += 1
            return False
        track.create_failures = 0
        track.created += 1
        if index is not None:
            track.indexes[created["metadata"]["uid"]] = index
        self.cluster.emit_event(
            job,
            "Normal",
            "SuccessfulCreate",
            f"Created pod: {created['metadata']['name']}",
            "job-controller",
        )
        return True

    def _finish_foreground_or_orphan(self, job: Obj) -> None:
        """Finalizers ``orphan`` / ``foregroundDeletion``: handle dependents, then remove the Job."""
        meta = job["metadata"]
        finalizers = meta.get("finalizers") or []
        dependents = [
            p
            for p in self.store.select(PODS, meta["namespace"])
            if any(r.get("uid") == meta["uid"] for r in p["metadata"].get("ownerReferences") or [])
        ]
        if "orphan" in finalizers:

            def disown(pod: Obj) -> None:
                refs = [
                    r
                    for r in pod["metadata"].get("ownerReferences") or []
                    if r.get("uid") != meta["uid"]
                ]
                if refs:
                    pod["metadata"]["ownerReferences"] = refs
                else:
                    pod["metadata"].pop("ownerReferences", None)

            for pod in dependents:
                with contextlib.suppress(ApiError):
                    self.store.mutate(PODS, meta["namespace"], pod["metadata"]["name"], disown)
        elif "foregroundDeletion" in finalizers:
            for pod in dependents:
                if not pod["metadata"].get("deletionTimestamp"):
                    with contextlib.suppress(ApiError):
                        self.cluster.delete_object(PODS, meta["namespace"], pod["metadata"]["name"])
            if dependents:
                return  # wait for the pods to go; their DELETED events reconcile again
        with contextlib.suppress(ApiError):
            self.store.delete(JOBS, meta["namespace"], meta["name"])

    def collect_garbage(self, owner_uid: str, namespace: str) -> None:
        """Background propagation: delete what the removed owner owned — its pods, and any
        other namespaced dependent (a step's Secret), as the garbage collector does for
        every object whose ``ownerReferences`` name the owner (garbagecollector.go)."""
        for res in (PODS, SECRETS, CONFIGMAPS, SERVICES):
            for obj in self.store.select(res, namespace):
                if any(
                    r.get("uid") == owner_uid for r in obj["metadata"].get("ownerReferences") or []
                ) and not obj["metadata"].get("deletionTimestamp"):
                    with contextlib.suppress(ApiError):
                        self.cluster.delete_object(res, namespace, obj["metadata"]["name"])


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------

_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<ns>[^/]+)(?=/[^/]+))?/(?P<plural>[^/]+)"
    r"(?:/(?P<name>[^/]+)(?:/(?P<sub>status|log))?)?/?$"
)


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


class _Handler(BaseHTTPRequestHandler):
    """Translates REST calls into cluster operations; every error becomes a ``Status``."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; requests are recorded on the cluster instead."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing -------------------------------------------------------------------------

    def _send_json(self, code: int, body: Any) -> None:
        self._send_body(code, "application/json", json.dumps(body).encode())

    def _send_text(self, code: int, data: bytes) -> None:
        self._send_body(code, "text/plain", data)

    def _send_body(self, code: int, content_type: str, data: bytes) -> None:
        """A whole answer; a planned drop cuts it short of its promised Content-Length."""
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        cut = False
        if self._cutting is not None:
            data, cut = self._cutting.pass_through(data)
        self.wfile.write(data)
        if cut:
            self._cut_stream()

    def _start_chunked(self, content_type: str) -> None:
        self.headers_sent_chunked = True
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        cut = False
        if self._cutting is not None:
            data, cut = self._cutting.pass_through(data)
        if data:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        if cut:
            self._cut_stream()

    def _end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def _client_gone(self) -> bool:
        """A streaming client that hung up shows as a readable socket with nothing to read."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise _bad_request(f"the body of the request was in an unknown format: {exc}") from exc

    def _dispatch(self, method: str) -> None:
        cluster = self.server.cluster
        cluster.requests.append((method, self.path))
        self._cutting: CuttingStream | None = None
        self.headers_sent_chunked = False
        fault = cluster.faults.take(method, self.path)
        try:
            if fault is not None and self._apply_fault(fault):
                return
            self._route(method)
            if fault is not None and fault.served:
                self._lose_response(fault)
        except ApiError as err:
            self._send_json(err.code, err.status())
            if fault is not None and fault.served:
                self._lose_response(fault)
        except StreamCut:
            self.close_connection = True
        except OSError:  # the client hung up mid-stream
            self.close_connection = True
        except Exception:
            cluster.record_error(f"{method} {self.path}")
            with contextlib.suppress(OSError):
                self._send_json(
                    500,
                    ApiError(
                        500, "InternalError", "sqlml test apiserver error; see cluster.errors"
                    ).status(),
                )

    # -- faults (tests/k8s/faults.py) -------------------------------------------------------

    def _apply_fault(self, fault: Fault) -> bool:
        """Apply what happens before the request is served; True if it is answered."""
        if fault.delay and not fault.served:
            time.sleep(fault.delay)
        if fault.status is not None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))  # keep-alive intact
            code, headers, body = fault.error_response()
            self.send_response(code)
            for key, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
            return True
        if fault.drop is not None:
            self._cutting = CuttingStream(fault)
        if fault.served:  # keep the answer from the client: it is lost afterwards
            self.wfile = io.BytesIO()
        return False

    def _lose_response(self, fault: Fault) -> None:
        """The request took effect; the client never hears of it (after ``delay``: its own
        read timeout fires first)."""
        time.sleep(fault.delay)
        fault.cuts += 1
        reset_connection(self.connection, self.rfile)
        self.close_connection = True

    def _cut_stream(self) -> None:
        """End the answer here: a reset, or a clean end (of the chunked body; a plain body
        ends short of its length, which the client reads as an incomplete answer)."""
        assert self._cutting is not None
        if self._cutting.fault.drop == "reset":
            self.wfile.flush()
            time.sleep(0.2)  # what was sent arrives; a reset would discard the unread rest
            reset_connection(self.connection, self.rfile)
        elif self.headers_sent_chunked:
            self._end_chunked()
        raise StreamCut()

    # -- routing --------------------------------------------------------------------------

    def _route(self, method: str) -> None:
        cluster = self.server.cluster
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        path = url.path
        if path != "/" and path.endswith("/"):  # the client asks for "/version/"
            path = path.rstrip("/")
        if path in ("/healthz", "/livez", "/readyz"):
            self._send_text(200, b"ok")
            return
        if path == "/version":
            self._send_json(
                200,
                {
                    "major": "1",
                    "minor": "33",
                    "gitVersion": "v1.33.0-sqlml-test",
                    "gitCommit": "0" * 40,
                    "gitTreeState": "clean",
                    "buildDate": "2025-01-01T00:00:00Z",
                    "goVersion": "go1.24.0",
                    "compiler": "gc",
                    "platform": "linux/amd64",
                },
            )
            return
        if path == "/api":
            self._send_json(
                200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
            )
            return
        m = _PATH.match(path)
        group = "" if m is None or m["core"] else m["group"]
        res = RESOURCES.get((group, m["plural"])) if m else None
        if m is None or res is None or (m["group"] and m["version"] != res.version):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        namespace = unquote(m["ns"]) if m["ns"] else None
        if res.namespaced is False and namespace is not None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = unquote(m["name"]) if m["name"] else None
        sub = m["sub"]
        dry_run = "dryRun" in query
        if res.namespaced and namespace is None and (method != "GET" or name is not None):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        ns = namespace or ""
        if sub == "log":
            if res is not PODS or method != "GET":
                raise ApiError(
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                )
            self._log(ns, name or "", query)
        elif name is None:
            if method == "GET" and _truthy(query.get("watch")):
                self._watch(res, namespace, query)
            elif method == "GET":
                self._send_json(
                    200,
                    cluster.list_response(
                        res, namespace, query.get("labelSelector"), query.get("fieldSelector")
                    ),
                )
            elif method == "POST":
                body = self._body()
                if not isinstance(body, dict):
                    raise _bad_request("the body of the request was in an unknown format")
                code, obj = (
                    201,
                    cluster.create_object(res, body, namespace=namespace, dry_run=dry_run),
                )
                self._send_json(code, obj)
            elif method == "DELETE":
                selector = query.get("labelSelector")
                for obj in cluster.list_objects(
                    res, namespace, selector, query.get("fieldSelector")
                ):
                    with contextlib.suppress(ApiError):
                        cluster.delete_object(
                            res,
                            ns,
                            obj["metadata"]["name"],
                            propagation=query.get("propagationPolicy"),
                        )
                self._send_json(
                    200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
                )
            else:
                raise ApiError(
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                )
        elif method == "GET":
            found = cluster.store.get(res, ns, name)
            if found is None:
                raise _not_found(res, name)
            self._send_json(200, found)
        elif method in ("PUT", "PATCH"):
            if sub == "status" and not res.has_status:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            body = self._body()
            content_type = (
                (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
            )
            self._send_json(
                200,
                cluster.update_object(
                    res,
                    ns,
                    name,
                    method,
                    body,
                    content_type,
                    status=sub == "status",
                    dry_run=dry_run,
                ),
            )
        elif method == "DELETE":
            options = self._body() or {}
            propagation = query.get("propagationPolicy") or options.get("propagationPolicy")
            if propagation is None and (
                "orphanDependents" in query or "orphanDependents" in options
            ):
                orphan = query.get("orphanDependents", options.get("orphanDependents"))
                propagation = "Orphan" if orphan in (True, "true") else "Background"
            grace_raw = query.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
            grace = float(grace_raw) if grace_raw not in (None, "") else None
            preconditions = options.get("preconditions") or {}
            current = cluster.store.get(res, ns, name)
            if current is None:
                raise _not_found(res, name)
            for key in ("uid", "resourceVersion"):
                if preconditions.get(key) and preconditions[key] != current["metadata"].get(key):
                    raise ApiError(
                        409,
                        "Conflict",
                        f"Precondition failed: {key}: {preconditions[key]}, {key} in object meta: {current['metadata'].get(key)}",
                    )
            if dry_run:
                self._send_json(200, current)
                return
            self._send_json(
                200, cluster.delete_object(res, ns, name, propagation=propagation, grace=grace)
            )
        else:
            raise ApiError(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )

    # -- streaming ------------------------------------------------------------------------

    def _watch(self, res: Resource, namespace: str | None, query: dict[str, str]) -> None:
        cluster = self.server.cluster
        labels = parse_label_selector(query.get("labelSelector") or "")
        fields = parse_field_selector(query.get("fieldSelector") or "")
        timeout = query.get("timeoutSeconds")
        deadline = time.monotonic() + float(timeout) if timeout else None

        def matches(obj: Obj) -> bool:
            return labels(obj["metadata"].get("labels") or {}) and fields(obj)

        store = cluster.store
        rv_raw = query.get("resourceVersion") or "0"
        try:
            since = int(rv_raw)
        except ValueError as exc:
            raise _bad_request(f'invalid resource version "{rv_raw}"') from exc
        initial: list[Obj] = []
        with store.cond:
            if since == 0:  # "start at most recent": synthetic ADDED for what exists now
                since = store.resource_version
                initial = [o for o in store.select(res, namespace) if matches(o)]
            _, retained = store.events_since(since)
        self._start_chunked("application/json")
        if not retained:
            gone = ApiError(
                410, "Expired", f"too old resource version: {since} ({store.oldest_resumable})"
            ).status()
            self._chunk(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
            self._end_chunked()
            return
        for obj in initial:
            self._chunk(json.dumps({"type": "ADDED", "object": obj}).encode() + b"\n")
        while not cluster.stopping.is_set():
            with store.cond:
                events, retained = store.events_since(since)
                if not events:
                    wait = (
                        0.1 if deadline is None else max(0.0, min(0.1, deadline - time.monotonic()))
                    )
                    store.cond.wait(wait)
                    events, retained = store.events_since(since)
            if not retained:  # fell behind the history: the cacher closes such a watcher
                break
            for event in events:
                since = event.rv
                if (
                    event.resource is res
                    and (namespace is None or event.namespace == namespace)
                    and matches(event.obj)
                ):
                    self._chunk(
                        json.dumps({"type": event.type, "object": event.obj}).encode() + b"\n"
                    )
            if (deadline is not None and time.monotonic() >= deadline) or (
                not events and self._client_gone()
            ):
                break
        with contextlib.suppress(OSError):
            self._end_chunked()

    def _log(self, namespace: str, name: str, query: dict[str, str]) -> None:
        cluster = self.server.cluster
        pod = cluster.store.get(PODS, namespace, name)
        if pod is None:
            raise _not_found(PODS, name)
        containers = [c["name"] for c in pod["spec"].get("containers") or []]
        container = query.get("container")
        if container is None:
            if len(containers) > 1:
                raise _bad_request(
                    f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
                )
            container = containers[0]
        if container not in containers:
            raise _bad_request(f"container {container} is not valid for pod {name}")
        if _truthy(query.get("previous")):
            raise _bad_request(
                f'previous terminated container "{container}" in pod "{name}" not found'
            )
        if not pod["spec"].get("nodeName"):
            raise _bad_request(f"pod {name} does not have a host assigned")
        run = cluster.kubelet.runs.get(pod["metadata"]["uid"])
        if run is None or not run.started:
            reason = run.waiting_reason if run is not None else "ContainerCreating"
            if reason in ("ErrImagePull", "ImagePullBackOff"):
                reason = "trying and failing to pull image"
            raise _bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: {reason}'
            )
        log = run.log
        tail = int(query["tailLines"]) if query.get("tailLines") else None
        limit = int(query["limitBytes"]) if query.get("limitBytes") else None
        timestamps = _truthy(query.get("timestamps"))
        start = max(log.tail_offset(tail), log.since_offset(_log_since(name, query)))
        if not _truthy(query.get("follow")):
            with log.cond:
                end = len(log.data) if limit is None else min(len(log.data), start + limit)
            self._send_text(200, log.render(start, end, timestamps))
            return
        self._start_chunked("text/plain")
        position, sent, rotations = start, 0, log.rotations
        while True:
            with log.cond:
                if len(log.data) <= position and not log.closed and log.rotations == rotations:
                    log.cond.wait(0.1)
                if log.rotations != rotations:  # reopen the new file; the old one's rest is lost
                    position, start, rotations = 0, -sent, log.rotations
                end = len(log.data)
                closed = log.closed
            if limit is not None:
                end = min(end, start + limit)
            if end > position:
                self._chunk(log.render(position, end, timestamps))
                sent += end - position
                position = end
            if (closed and position >= len(log.data)) or (limit is not None and sent >= limit):
                break
            if cluster.stopping.is_set() or self._client_gone():
                break
        with contextlib.suppress(OSError):
            self._end_chunked()


def _log_since(pod: str, query: Mapping[str, str]) -> float | None:
    """The time a log request starts at, from ``sinceSeconds`` or ``sinceTime``, as the
    apiserver and kubelet compute it: ``ValidatePodLogOptions`` (pkg/apis/core/validation/
    validation.go) refuses both at once and ``sinceSeconds < 1``; the apiserver hands
    ``sinceTime`` on to the kubelet formatted as ``time.RFC3339``, i.e. truncated to whole
    seconds (pkg/registry/core/pod/strategy.go, ``LogLocation``); the kubelet starts at
    ``now - sinceSeconds`` (pkg/kubelet/kuberuntime/logs/logs.go, ``NewLogOptions``)."""
    seconds, stamp = query.get("sinceSeconds"), query.get("sinceTime")
    problem: tuple[str, str] | None = None
    if seconds is not None and stamp is not None:
        problem = ("", "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified")
    elif seconds is not None and int(seconds) < 1:
        problem = ("sinceSeconds", f"Invalid value: {int(seconds)}: must be greater than 0")
    if problem is not None:
        field_name, message = problem
        raise ApiError(
            422,
            "Invalid",
            f'PodLogOptions "{pod}" is invalid: {field_name + ": " if field_name else ""}{message}',
            {"name": pod, "kind": "PodLogOptions", "causes": [{"message": message}]},
        )
    if seconds is not None:
        return time.time() - int(seconds)
    if stamp is None:
        return None
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", stamp)
    if m is None:
        raise _bad_request(
            f'parsing time "{stamp}" as "2006-01-02T15:04:05Z07:00": cannot parse "{stamp}"'
        )
    whole = float(calendar.timegm(time.strptime(m[1], "%Y-%m-%dT%H:%M:%S")))
    if m[3] != "Z":
        sign = 1 if m[3][0] == "+" else -1
        whole -= sign * (int(m[3][1:3]) * 3600 + int(m[3][4:6]) * 60)
    return whole  # the fraction is dropped on the way to the kubelet


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, cluster: KubernetesTestCluster) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.cluster = cluster

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-stream (a cancelled log follow or watch) is normal for an
        apiserver; anything else is printed as socketserver does."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


# --------------------------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------------------------


class KubernetesTestCluster:
    """A loopback apiserver + Job controller + kubelet, as a context manager.

    ``cluster.host`` is the URL for ``kubernetes.client.Configuration(host=...)``;
    :meth:`api_client` builds that client; the inspection helpers read the store directly so
    assertions do not depend on the code under test's own client calls.
    """

    def __init__(
        self,
        *,
        grace_period_cap: float = 1.0,
        workdir: str | os.PathLike[str] | None = None,
        strict_namespaces: bool = False,
        pod_security: str | None = "restricted",
        image_env: Mapping[str, str] | None = None,
        scale_up_seconds: float = 2.0,
        kubelet_retry_seconds: float = 0.2,
        hang_limit: float = 60.0,
        pod_failure_backoff: float = 0.05,
        disrupt_after: float = 1.5,
        watch_history_seconds: float | None = 2.0,
        watch_history_events: int | None = None,
        lease_renew_seconds: float | None = 0.5,
    ) -> None:
        """``grace_period_cap`` bounds the SIGTERM->SIGKILL wait (real default: 30 s) to keep
        tests fast; ``workdir`` is the image's WORKDIR, the containers' cwd (default: a
        fresh directory per pod, never the test's cwd); ``strict_namespaces`` makes creates
        in unknown namespaces 404 as on a real cluster; ``pod_security`` is the Pod
        Security level the ``default`` namespace enforces (its
        ``pod-security.kubernetes.io/enforce`` label; None: none); ``image_env`` is what
        every image's ENV declares (default :func:`image_env`: a PATH and nothing of this
        process's environment); ``scale_up_seconds`` is how long the ScaleUp simulation's
        node takes to join; ``kubelet_retry_seconds`` how soon the kubelet retries a
        container it could not create; ``hang_limit`` how long a simulated hung container
        may hang without a deadline before the harness kills it and fails the test;
        ``pod_failure_backoff`` stands in for the Job controller's 10 s pod failure backoff
        (doubled per failure, capped at 60 times it, as 10 min is to 10 s);
        ``disrupt_after`` is how long an ``Evicted`` or ``Preempted`` container runs first.

        ``watch_history_seconds`` / ``watch_history_events`` bound the history watches resume
        from (:class:`Store`; None: unbounded). A real cluster keeps minutes of it; tests keep
        two seconds, so every step longer than that meets ``410 Gone``. ``lease_renew_seconds``
        is how often the control plane's leader-election Lease is renewed (real: every 2 s,
        ``--leader-elect-retry-period``), the background writes that move the global
        resourceVersion on while nothing else changes; None: no renewals."""
        self.grace_period_cap = grace_period_cap
        self.pod_failure_backoff = pod_failure_backoff
        self.disrupt_after = disrupt_after
        self.workdir = str(workdir) if workdir is not None else None
        self.strict_namespaces = strict_namespaces
        self.image_env = dict(image_env if image_env is not None else image_env_for())
        self.scale_up_seconds = scale_up_seconds
        self.kubelet_retry_seconds = kubelet_retry_seconds
        self.hang_limit = hang_limit
        self._scratch = Path(tempfile.mkdtemp(prefix="sqlml-k8s-"))
        self.home = str(self._scratch / "home")
        Path(self.home).mkdir()
        self._event_names: dict[tuple[str, ...], str] = {}
        self._similar_events: dict[tuple[str, ...], set[str]] = {}
        self.store = Store(watch_history_seconds, watch_history_events)
        self.faults = Faults()
        self.lease_renew_seconds = lease_renew_seconds
        self._lease_thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.requests: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self._simulations: list[tuple[str, str, str | None]] = []
        self._simulated_attempts: dict[tuple[str, str, str | None], int] = {}
        self.kubelet = Kubelet(self)
        self.controller = JobController(self)
        self.store.add_listener(self.controller.observe)
        self.store.add_listener(self.controller.queue.put)
        self._server: _Server | None = None
        self._serve_thread: threading.Thread | None = None
        for ns in ("default", "kube-system"):
            labels = {ENFORCE_LABEL: pod_security} if ns == "default" and pod_security else {}
            self.create_object(NAMESPACES, {"metadata": {"name": ns, "labels": labels}})

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> KubernetesTestCluster:
        """Bind a free loopback port and start serving."""
        self._server = _Server(self)
        self._serve_thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="k8s-apiserver",
            daemon=True,
        )
        self._serve_thread.start()
        self.controller.thread.start()
        if self.lease_renew_seconds is not None:
            self._lease_thread = threading.Thread(
                target=self._renew_leader_lease, name="k8s-leader-election", daemon=True
            )
            self._lease_thread.start()
        return self

    def _renew_leader_lease(self) -> None:
        """kube-controller-manager's leader election: renew ``kube-system/kube-controller-
        manager`` every ``lease_renew_seconds`` (``k8s.io/client-go/tools/leaderelection``)."""
        assert self.lease_renew_seconds is not None
        holder = f"{NODE_NAME}_{uuid.uuid4()}"
        lease = {
            "metadata": {"name": "kube-controller-manager", "namespace": "kube-system"},
            "spec": {
                "holderIdentity": holder,
                "leaseDurationSeconds": 15,
                "acquireTime": _now_micro(time.time()),
                "renewTime": _now_micro(time.time()),
                "leaseTransitions": 0,
            },
        }
        try:
            self.create_object(LEASES, lease)
            while not self.stopping.wait(self.lease_renew_seconds):

                def renew(obj: Obj) -> None:
                    obj["spec"]["renewTime"] = _now_micro(time.time())

                self.store.mutate(LEASES, "kube-system", "kube-controller-manager", renew)
        except ApiError:  # the test deleted it, or kube-system: nothing to renew any more
            return
        except Exception:
            self.record_error("leader election")

    def close(self) -> None:
        """Stop streams, kill every container process, stop the server."""
        self.stopping.set()
        with self.store.cond:
            self.store.cond.notify_all()
        self.controller.queue.put(None)
        if self._lease_thread is not None:
            self._lease_thread.join(timeout=5)
        self.kubelet.shutdown()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self.controller.thread.is_alive():
            self.controller.thread.join(timeout=5)
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> KubernetesTestCluster:
        return self.start()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close()
        if exc_type is None and self.errors:
            raise AssertionError(
                "errors inside the test Kubernetes cluster:\n" + "\n".join(self.errors)
            )

    def pod_dir(self, uid: str) -> str:
        """A fresh working directory for one pod's container (the image's WORKDIR when
        ``workdir`` is set): a container never starts in the test's own cwd."""
        if self.workdir is not None:
            return self.workdir
        path = self._scratch / "pods" / uid
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    def record_error(self, where: str) -> None:
        """Keep a harness-internal traceback; the test fails at exit rather than silently."""
        self.errors.append(f"{where}:\n{traceback.format_exc()}")

    @property
    def port(self) -> int:
        """The loopback port the apiserver listens on."""
        assert self._server is not None, "start the cluster first"
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def configuration(self) -> kubernetes.client.Configuration:
        """A client Configuration for this server: plain HTTP, no auth."""
        import kubernetes.client

        config = kubernetes.client.Configuration(host=self.host)
        config.verify_ssl = False
        return config

    def api_client(self) -> kubernetes.client.ApiClient:
        """An official ``ApiClient`` talking to this server; close it (or use ``with``)."""
        import kubernetes.client

        return kubernetes.client.ApiClient(self.configuration())

    def write_kubeconfig(self, path: str | os.PathLike[str], namespace: str = "default") -> Path:
        """A kubeconfig (JSON is YAML) for code that calls ``kubernetes.config.load_kube_config``."""
        target = Path(path)
        target.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "sqlml-test", "cluster": {"server": self.host}}],
                    "users": [{"name": "sqlml-test", "user": {}}],
                    "contexts": [
                        {
                            "name": "sqlml-test",
                            "context": {
                                "cluster": "sqlml-test",
                                "user": "sqlml-test",
                                "namespace": namespace,
                            },
                        }
                    ],
                    "current-context": "sqlml-test",
                }
            )
        )
        return target

    # -- simulation -----------------------------------------------------------------------

    def simulate(
        self, reason: str, job: str = "*", namespace: str | None = None, attempts: int | None = None
    ) -> None:
        """Make pods of Jobs whose name matches the glob ``job`` fail with ``reason``;
        with ``attempts``, only the first that many pods of each Job (so a retry runs
        normally, as after a node that ran out of memory).

        For when the code under test builds the manifest and the test cannot add the
        ``sqlml-test/simulate`` label itself.  Later rules win."""
        if reason not in SIMULATIONS:
            raise ValueError(f"unknown simulation {reason!r}; known: {sorted(SIMULATIONS)}")
        self._simulations.append((job, reason, namespace))
        if attempts is not None:
            self._simulated_attempts[(job, reason, namespace)] = attempts

    def simulation_for_job(self, job: Obj) -> str | None:
        """The failure a Job's pods should show: its label/annotation, its template's, or a rule."""
        found = _simulation(
            job["metadata"], (job.get("spec") or {}).get("template", {}).get("metadata")
        )
        if found is not None:
            return found
        rule = self._simulation_rule(job)
        return rule[1] if rule is not None else None

    def _simulation_rule(self, job: Obj) -> tuple[str, str, str | None] | None:
        for rule in reversed(self._simulations):
            pattern, _, namespace = rule
            if fnmatch.fnmatchcase(job["metadata"]["name"], pattern) and namespace in (
                None,
                job["metadata"].get("namespace"),
            ):
                return rule
        return None

    def simulation_for_attempt(self, job: Obj, attempt: int) -> str | None:
        """The failure the Job's pod number ``attempt`` (0-based) shows: the Job's
        simulation unless it is limited to fewer attempts -- by the rule's ``attempts`` or
        the Job's ``sqlml-test/simulate-attempts`` annotation."""
        sim = self.simulation_for_job(job)
        if sim is None:
            return None
        written = (job["metadata"].get("annotations") or {}).get(SIMULATE_ATTEMPTS_KEY)
        rule = self._simulation_rule(job)
        limit = (
            int(written)
            if written is not None
            else self._simulated_attempts.get(rule)
            if rule is not None
            else None
        )
        return sim if limit is None or attempt < limit else None

    def simulation_for_pod(self, pod: Obj) -> str | None:
        """The failure a pod shows: from its label/annotation (the Job controller copies it)."""
        return _simulation(pod["metadata"])

    # -- object operations (also used by the HTTP layer) ----------------------------------

    def create_object(
        self, res: Resource, body: Obj, namespace: str | None = None, dry_run: bool = False
    ) -> Obj:
        """Validate, default and store a new object, as a POST to the collection does."""
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if obj.get("kind") not in (None, res.kind) or obj.get("apiVersion") not in (
            None,
            res.api_version,
        ):
            raise _bad_request(
                f"the API version in the data ({obj.get('apiVersion')}) does not match the expected API version ({res.api_version})"
            )
        obj["kind"], obj["apiVersion"] = res.kind, res.api_version
        if res.namespaced:
            namespace = namespace or meta.get("namespace") or "default"
            if meta.get("namespace") not in (None, "", namespace):
                raise _bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
            if self.strict_namespaces and self.store.get(NAMESPACES, "", namespace) is None:
                raise _not_found(NAMESPACES, namespace)
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise _invalid(
                    res, "", [("metadata.name", "Required value: name or generateName is required")]
                )
            meta["name"] = meta["generateName"] + _short_suffix()
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        if res.has_status:
            meta["generation"] = 1
        self._default(res, obj)
        _validate(res, obj)
        if res is PODS:
            self._admit_pod(obj)
        if dry_run:
            return obj
        created = self.store.create(res, obj)
        if res is NAMESPACES:  # the serviceaccounts controller gives each namespace its default
            self.create_object(
                SERVICE_ACCOUNTS, {"metadata": {"name": "default", "namespace": meta["name"]}}
            )
        return created

    def _admit_pod(self, pod: Obj) -> None:
        """The admission plugins a pod passes before it is stored (``tests/k8s/admission.py``):
        ServiceAccount, PodSecurity, ResourceQuota, in the API server's plugin order. A
        refusal is 403 Forbidden, ``pods "<name>" is forbidden: …`` (``admission.NewForbidden``)."""
        meta = pod["metadata"]
        namespace = meta["namespace"]
        ns = self.store.get(NAMESPACES, "", namespace) or {}
        with self.store.cond:  # one decision against one state, as the quota plugin's CAS
            problem = (
                service_account_error(
                    namespace,
                    pod,
                    lambda name: self.store.get(SERVICE_ACCOUNTS, namespace, name) is not None,
                )
                or pod_security_error((ns.get("metadata") or {}).get("labels") or {}, pod)
                or quota_error(
                    pod,
                    self.store.select(RESOURCE_QUOTAS, namespace),
                    self.store.select(PODS, namespace),
                )
            )
        if problem is not None:
            raise ApiError(
                403,
                "Forbidden",
                f'pods "{meta["name"]}" is forbidden: {problem}',
                {"name": meta["name"], "kind": "pods"},
            )

    def _default(self, res: Resource, obj: Obj) -> None:
        """API-server defaulting that code under test may rely on (or trip over)."""
        meta = obj["metadata"]
        if res is SECRETS:
            data = obj.setdefault("data", {}) or {}
            for key, value in data.items():
                try:
                    base64.b64decode(value, validate=True)
                except (ValueError, TypeError) as exc:
                    raise _bad_request(f"illegal base64 data in secret key {key!r}") from exc
            for key, value in (obj.pop("stringData", None) or {}).items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data
            obj.setdefault("type", "Opaque")
        elif res is PODS:
            spec = obj.setdefault("spec", {})
            spec.setdefault("restartPolicy", "Always")
            spec.setdefault("terminationGracePeriodSeconds", 30)
            spec.setdefault("dnsPolicy", "ClusterFirst")
            spec.setdefault("schedulerName", "default-scheduler")
            spec.setdefault("serviceAccountName", "default")
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif res is JOBS:
            spec = obj.setdefault("spec", {})
            if spec.get("completions") is None and spec.get("parallelism") is None:
                spec["completions"] = 1
            spec.setdefault("parallelism", 1)
            spec.setdefault("backoffLimit", 6)
            spec.setdefault("completionMode", "NonIndexed")
            spec.setdefault("suspend", False)
            # SetDefaults_Job: Failed when a podFailurePolicy is set (a replacement waits
            # until the old pod is terminal, so the policy can read how it ended).
            spec.setdefault(
                "podReplacementPolicy",
                "Failed" if spec.get("podFailurePolicy") is not None else "TerminatingOrFailed",
            )
            controller = {
                "batch.kubernetes.io/controller-uid": meta["uid"],
                "batch.kubernetes.io/job-name": meta["name"],
                "controller-uid": meta["uid"],
                "job-name": meta["name"],
            }
            spec.setdefault(
                "selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": meta["uid"]}}
            )
            template = spec.setdefault("template", {})
            tmeta = template.setdefault("metadata", {}) or {}
            template["metadata"] = tmeta
            tmeta["labels"] = {**(tmeta.get("labels") or {}), **controller}
            pod_spec = template.setdefault("spec", {})
            pod_spec.setdefault("terminationGracePeriodSeconds", 30)
            pod_spec.setdefault("dnsPolicy", "ClusterFirst")
            pod_spec.setdefault("schedulerName", "default-scheduler")
            obj["status"] = {}
        elif res is SERVICES:
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            spec.setdefault("clusterIP", "None")  # no IPs here: every Service is headless
            spec["clusterIPs"] = [spec["clusterIP"]]
            for port in spec.get("ports") or []:
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
            obj["status"] = {"loadBalancer": {}}
        elif res is NAMESPACES:
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]

    def update_object(
        self,
        res: Resource,
        namespace: str,
        name: str,
        method: str,
        body: Any,
        content_type: str,
        status: bool = False,
        dry_run: bool = False,
    ) -> Obj:
        """PUT or PATCH the object (or its ``/status``), keeping what the server owns."""
        if method == "PATCH" and content_type == "application/apply-patch+yaml":
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "server-side apply is not emulated by the sqlml test cluster",
            )
        if body is None:
            raise _bad_request("the body of the request was empty")

        def edit(current: Obj) -> Obj:
            original = copy.deepcopy(current)
            if method == "PUT":
                if not isinstance(body, dict):
                    raise _bad_request("the body of the request was in an unknown format")
                new = copy.deepcopy(body)
                rv = (new.get("metadata") or {}).get("resourceVersion")
                if rv and rv != original["metadata"]["resourceVersion"]:
                    raise ApiError(
                        409,
                        "Conflict",
                        f'Operation cannot be fulfilled on {res.qualified} "{name}": the object has been modified; please apply your changes to the latest version and try again',
                        {"name": name, "group": res.group, "kind": res.plural},
                    )
                if (new.get("metadata") or {}).get("name") not in (None, name):
                    raise _bad_request("the name of the object does not match the name on the URL")
            elif content_type == "application/json-patch+json":
                if not isinstance(body, list):
                    raise _bad_request("the body of a JSON patch must be a list of operations")
                new = _json_patch(original, body)
            elif content_type == "application/merge-patch+json":
                new = _merge_patch(original, body)
            else:
                new = _strategic_merge(original, body)
            meta = new.setdefault("metadata", {})
            for key in (
                "uid",
                "creationTimestamp",
                "namespace",
                "name",
                "generation",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
            ):
                if key in original["metadata"]:
                    meta[key] = original["metadata"][key]
                else:
                    meta.pop(key, None)
            new["kind"], new["apiVersion"] = res.kind, res.api_version
            if res.has_status:
                if status:
                    kept = copy.deepcopy(original)
                    kept["status"] = new.get("status", {})
                    new = kept
                else:
                    new["status"] = original.get("status", {})
            if res is SECRETS:
                for key, value in (new.pop("stringData", None) or {}).items():
                    new.setdefault("data", {})[key] = base64.b64encode(str(value).encode()).decode()
            _validate(res, new)
            if dry_run:
                raise _DryRun(new)
            return new

        try:
            return self.store.mutate(res, namespace, name, edit)
        except _DryRun as dry:
            return dry.obj

    def delete_object(
        self,
        res: Resource,
        namespace: str,
        name: str,
        propagation: str | None = None,
        grace: float | None = None,
    ) -> Obj:
        """DELETE semantics: graceful pod termination, Job finalizers, garbage collection.

        Returns what the apiserver returns: the object while deletion is pending (pods being
        terminated, Jobs orphaning or deleting in the foreground), else a ``Status``."""
        current = self.store.get(res, namespace, name)
        if current is None:
            raise _not_found(res, name)
        meta = current["metadata"]
        success: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": res.group, "kind": res.plural, "uid": meta["uid"]},
        }
        if res is PODS:
            if meta.get("deletionTimestamp"):
                return current
            if grace is None:
                grace = float(current["spec"].get("terminationGracePeriodSeconds", 30))
            capped = min(grace, self.grace_period_cap)
            run = self.kubelet.request_stop(meta["uid"], capped)
            if run is not None and grace > 0:

                def terminating(pod: Obj) -> None:
                    pod["metadata"]["deletionTimestamp"] = time.strftime(
                        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + grace)
                    )
                    pod["metadata"]["deletionGracePeriodSeconds"] = int(grace)

                try:
                    return self.store.mutate(PODS, namespace, name, terminating)
                except ApiError:
                    return current  # the kubelet finished it meanwhile
            if run is not None:
                run.finished.wait(timeout=5)
            with contextlib.suppress(ApiError):
                return self.store.delete(PODS, namespace, name)
            return current
        if res is JOBS:
            if meta.get("deletionTimestamp"):
                return current
            policy = propagation or "Orphan"  # batch/v1's legacy default: orphan the pods
            if policy in ("Orphan", "Foreground"):
                finalizer = "orphan" if policy == "Orphan" else "foregroundDeletion"

                def pending(job: Obj) -> None:
                    job["metadata"]["deletionTimestamp"] = _now()
                    job["metadata"]["deletionGracePeriodSeconds"] = 0
                    job["metadata"]["finalizers"] = [
                        *job["metadata"].get("finalizers", []),
                        finalizer,
                    ]

                return self.store.mutate(JOBS, namespace, name, pending)
            self.store.delete(JOBS, namespace, name)
            self.controller.queue.put(
                lambda: self.controller.collect_garbage(meta["uid"], namespace)
            )
            return success
        if res is NAMESPACES:
            for other in RESOURCES.values():
                if other.namespaced:
                    for obj in self.store.select(other, name):
                        with contextlib.suppress(ApiError):
                            self.delete_object(
                                other,
                                name,
                                obj["metadata"]["name"],
                                propagation="Background",
                                grace=0,
                            )
            self.store.delete(NAMESPACES, "", name)
            return success
        self.store.delete(res, namespace, name)
        return success

    def list_objects(
        self,
        res: Resource,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        """Objects matching the selectors, in the order a list request returns them."""
        labels = parse_label_selector(label_selector or "")
        fields = parse_field_selector(field_selector or "")
        return [
            o
            for o in self.store.select(res, namespace)
            if labels(o["metadata"].get("labels") or {}) and fields(o)
        ]

    def list_response(
        self,
        res: Resource,
        namespace: str | None,
        label_selector: str | None,
        field_selector: str | None,
    ) -> Obj:
        """A ``<Kind>List`` body, with the resourceVersion to start a watch from."""
        with self.store.cond:
            items = self.list_objects(res, namespace, label_selector, field_selector)
            rv = self.store.resource_version
        return {
            "kind": f"{res.kind}List",
            "apiVersion": res.api_version,
            "metadata": {"resourceVersion": str(rv)},
            "items": items,
        }

    def emit_event(
        self, involved: Obj, kind: str, reason: str, message: str, component: str
    ) -> None:
        """A core/v1 Event like the scheduler, kubelet and job controller write.

        The same event again (object, type, reason, message, source) updates the first
        one's ``count`` and ``lastTimestamp`` instead, and past 10 similar events (the
        same but for the message) they are combined into one "(combined from similar
        events): <message>", as client-go's EventCorrelator does
        (tools/record/events_cache.go ``EventAggregator``, ``eventObserve``)."""
        meta = involved["metadata"]
        now = _now()
        similar = (meta["uid"], kind, reason, component)
        messages = self._similar_events.setdefault(similar, set())
        if message not in messages and len(messages) >= 10:
            key: tuple[str, ...] = (*similar, "(combined)")
            message = f"(combined from similar events): {message}"
        else:
            messages.add(message)
            key = (*similar, message)
        seen = self._event_names.get(key)
        if seen is not None:

            def again(event: Obj) -> None:
                event["count"] = int(event.get("count") or 1) + 1
                event["lastTimestamp"] = now
                event["message"] = message

            with contextlib.suppress(ApiError):
                self.store.mutate(EVENTS, meta["namespace"], seen, again)
                return
        event: Obj = {
            "metadata": {
                "name": f"{meta['name']}.{uuid.uuid4().hex[:16]}",
                "namespace": meta["namespace"],
            },
            "involvedObject": {
                "kind": involved["kind"],
                "apiVersion": involved["apiVersion"],
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
            },
            "reason": reason,
            "message": message,
            "type": kind,
            "source": {"component": component},
            "reportingComponent": component,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        with contextlib.suppress(ApiError):
            self.create_object(EVENTS, event)
            self._event_names[key] = event["metadata"]["name"]

    # -- inspection -----------------------------------------------------------------------

    def jobs(
        self, namespace: str | None = "default", label_selector: str | None = None
    ) -> list[Obj]:
        """Jobs as stored (raw dicts), for assertions."""
        return self.list_objects(JOBS, namespace, label_selector)

    def pods(
        self, namespace: str | None = "default", label_selector: str | None = None
    ) -> list[Obj]:
        """Pods as stored (raw dicts), for assertions."""
        return self.list_objects(PODS, namespace, label_selector)

    def configmaps(
        self, namespace: str | None = "default", label_selector: str | None = None
    ) -> list[Obj]:
        """ConfigMaps as stored (raw dicts), for assertions."""
        return self.list_objects(CONFIGMAPS, namespace, label_selector)

    def secrets(
        self, namespace: str | None = "default", label_selector: str | None = None
    ) -> list[Obj]:
        """Secrets as stored (raw dicts, ``data`` base64-encoded), for assertions."""
        return self.list_objects(SECRETS, namespace, label_selector)

    def events(
        self, namespace: str | None = "default", involved_name: str | None = None
    ) -> list[Obj]:
        """Events written by the emulated scheduler, kubelet and job controller."""
        return [
            e
            for e in self.list_objects(EVENTS, namespace)
            if involved_name in (None, e["involvedObject"]["name"])
        ]

    def get(self, kind: str, name: str, namespace: str = "default") -> Obj | None:
        """One object by kind (``Job``, ``Pod``, ``ConfigMap`` ...) and name, or None."""
        res = next(r for r in RESOURCES.values() if r.kind == kind)
        return self.store.get(res, namespace if res.namespaced else "", name)

    def pod_log(self, name: str, namespace: str = "default") -> str:
        """Everything the pod's container printed so far, rotated log files included."""
        pod = self.store.get(PODS, namespace, name)
        if pod is None:
            raise KeyError(f"pod {namespace}/{name} not found")
        run = self.kubelet.runs.get(pod["metadata"]["uid"])
        if run is None:
            return ""
        with run.log.cond:
            return bytes(run.log.rotated + run.log.data).decode(errors="replace")

    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        """Container processes by ``namespace/pod``, including finished ones."""
        return {
            f"{r.namespace}/{r.name}": r.process
            for r in list(self.kubelet.runs.values())
            if r.process is not None
        }

    def signal_masks(self, pod: str, namespace: str = "default") -> str:
        """The blocked and ignored signals a pod's container process started with."""
        return next(
            (
                r.signal_masks
                for r in list(self.kubelet.runs.values())
                if (r.namespace, r.name) == (namespace, pod)
            ),
            "",
        )

    def running_processes(self) -> dict[str, subprocess.Popen[bytes]]:
        """Container processes still alive: what a test checks to prove a kill."""
        return {k: p for k, p in self.processes().items() if p.poll() is None}

    def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01
    ) -> Any:
        """Poll until ``predicate()`` is truthy and return it; fail with a clear message on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {getattr(predicate, '__name__', predicate)}"
                )
            time.sleep(interval)

    def compact(self) -> int:
        """Drop the watch history: watches from an older resourceVersion get 410 Gone."""
        return self.store.compact()

    # -- transport faults (tests/k8s/faults.py) -------------------------------------------

    def fail_next(
        self, method: str, path: str, status: int = 503, *, times: int = 1, retry_after: int = 1
    ) -> Fault:
        """Answer the next ``times`` requests matching ``method`` and the glob ``path`` (with
        its query) with ``status`` — 429 (``Retry-After: retry_after``), 500, 502, 503 or 504,
        each as the upstream component that sends it answers (see tests/k8s/faults.py)."""
        return self.faults.plan(
            Fault(method, path, times=times, status=status, retry_after=retry_after)
        )

    def slow_next(self, method: str, path: str, seconds: float, *, times: int = 1) -> Fault:
        """Serve the next matching requests only after ``seconds``."""
        return self.faults.plan(Fault(method, path, times=times, delay=seconds))

    def drop_next(
        self, method: str, path: str, mode: DropMode = "reset", *, after: int = 0, times: int = 1
    ) -> Fault:
        """Cut the next matching answers after ``after`` lines: ``eof`` ends a stream (a
        watch, a followed log) cleanly, or a plain answer short of its length; ``reset``
        tears the next line and resets the connection."""
        return self.faults.plan(Fault(method, path, times=times, drop=mode, after=after))

    def lose_response_next(
        self, method: str, path: str, *, times: int = 1, delay: float = 0.0
    ) -> Fault:
        """Serve the next matching requests (a POST creates its object), then reset the
        connection instead of answering, ``delay`` seconds later."""
        return self.faults.plan(Fault(method, path, times=times, served=True, delay=delay))

    # -- disruptions -----------------------------------------------------------------

    def preempt(self, name: str, namespace: str = "default") -> None:
        """The scheduler preempts a pod for a higher-priority one (preemption.go
        ``prepareCandidate``): a ``DisruptionTarget`` condition (reason
        ``PreemptionByScheduler``), a ``Preempted`` event, then a graceful delete -- the
        container gets SIGTERM and the pod's grace period (capped) to stop."""
        pod = self.store.get(PODS, namespace, name)
        if pod is None:
            raise _not_found(PODS, name)

        def target(p: Obj) -> None:
            p.setdefault("status", {})
            Kubelet._condition(
                p, "DisruptionTarget", "True", "PreemptionByScheduler", PREEMPTION_MESSAGE
            )

        self.store.mutate(PODS, namespace, name, target)
        self.emit_event(
            pod,
            "Normal",
            "Preempted",
            f"Preempted by pod {uuid.uuid4()} on node {NODE_NAME}",
            "default-scheduler",
        )
        with contextlib.suppress(ApiError):
            self.delete_object(PODS, namespace, name)

    def evict(self, name: str, namespace: str = "default") -> None:
        """The kubelet evicts a running pod under memory pressure (see :meth:`Kubelet.evict`)."""
        pod = self.store.get(PODS, namespace, name)
        if pod is None:
            raise _not_found(PODS, name)
        self.kubelet.evict(pod["metadata"]["uid"])


class _DryRun(Exception):
    """Carries a validated would-be object out of a store mutation without committing it."""

    def __init__(self, obj: Obj) -> None:
        super().__init__("dry run")
        self.obj = obj


def image_env_for(*, checkout: bool = False) -> dict[str, str]:
    """What an image's ENV gives every container: a PATH on which this test run's
    interpreter comes first (the image's ``python``), and with ``checkout`` a PYTHONPATH
    naming this repository (an image with the package installed). Nothing else of the test
    process's environment reaches a container: the opt-in is this explicit."""
    env = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), *_IMAGE_PATH])}
    if checkout:
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


_IMAGE_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


@pytest.fixture
def k8s_cluster() -> Iterator[KubernetesTestCluster]:
    """A fresh loopback cluster per test, its ``default`` namespace enforcing Pod Security
    ``restricted``, its images holding this checkout; import this fixture where needed."""
    with KubernetesTestCluster(image_env=image_env_for(checkout=True)) as cluster:
        yield cluster


def _image_id(image: str) -> str:
    """What a kubelet reports as a started container's imageID: the image by digest (here a
    digest of the name, since the test kubelet pulls nothing)."""
    digest = hashlib.sha256(image.encode()).hexdigest()
    return f"docker-pullable://{image.rsplit(':', 1)[0]}@sha256:{digest}"
