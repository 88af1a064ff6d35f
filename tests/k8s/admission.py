"""Admission of pods, as a real API server decides it before a pod exists.

A Job's pods are created by the Job controller, so a pod the API server refuses leaves no pod
at all — only a Warning ``FailedCreate`` event on the Job ("Error creating: <the API
error>"; ``pkg/controller/controller_utils.go``, ``RealPodControl.createPods``). The three
admission plugins emulated here are the usual reasons, each with the upstream text:

* **ServiceAccount** (``plugin/pkg/admission/serviceaccount/admission.go``, ``Admit``): the
  pod's ``serviceAccountName`` (default ``default``) must exist in its namespace, else
  ``error looking up service account <ns>/<name>: serviceaccount "<name>" not found``.
* **PodSecurity** (``staging/src/k8s.io/pod-security-admission``): a namespace labelled
  ``pod-security.kubernetes.io/enforce=<level>`` refuses pods that fail the level's checks,
  ``violates PodSecurity "restricted:latest": <reason> (<detail>), …``. The checks and their
  texts are ``policy/check_*.go``; their order is the registry's (``policy/registry.go``:
  baseline checks first, then the restricted ones, each in file order).
* **ResourceQuota** (``plugin/pkg/admission/resourcequota/controller.go``): a pod that would
  take a namespace past a ``ResourceQuota``'s ``spec.hard`` is refused, ``exceeded quota:
  <quota>, requested: …, used: …, limited: …``; one that leaves a constrained compute
  resource unset, ``failed quota: <quota>: must specify …``.

Every function here is pure (objects in, message out): the API server in ``harness.py``
wraps a message as ``pods "<name>" is forbidden: <message>`` (``admission.NewForbidden``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import Any

Obj = dict[str, Any]

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"
LEVELS = ("privileged", "baseline", "restricted")

#: Inline volume sources the restricted profile allows (check_restrictedVolumes.go).
RESTRICTED_VOLUME_SOURCES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
#: Fields of a volume that are not its source.
_VOLUME_META = frozenset({"name"})


# --------------------------------------------------------------------------------------------
# ServiceAccount
# --------------------------------------------------------------------------------------------


def service_account_error(namespace: str, pod: Obj, exists: Callable[[str], bool]) -> str | None:
    """The ServiceAccount plugin's refusal of a pod whose account does not exist.

    ``getServiceAccount`` falls back to a live GET and then answers
    ``errors.NewNotFound(api.Resource("serviceaccount"), name)``; ``Admit`` wraps it."""
    name = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    if exists(name):
        return None
    return f'error looking up service account {namespace}/{name}: serviceaccount "{name}" not found'


# --------------------------------------------------------------------------------------------
# PodSecurity
# --------------------------------------------------------------------------------------------


def _join_quote(items: Iterable[str]) -> str:
    """policy/helpers.go ``joinQuote``."""
    items = list(items)
    return '"' + '", "'.join(items) + '"' if items else ""


def _pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def _containers(spec: Obj) -> list[Obj]:
    """policy/visitor.go ``visitContainers``: init containers, containers, ephemeral ones."""
    return [
        c
        for key in ("initContainers", "containers", "ephemeralContainers")
        for c in spec.get(key) or []
    ]


def _context(container: Obj) -> Obj:
    return container.get("securityContext") or {}


Check = Callable[[Obj], "tuple[str, str] | None"]


def _host_namespaces(spec: Obj) -> tuple[str, str] | None:
    """check_hostNamespaces.go (baseline): hostNetwork, hostPID, hostIPC."""
    used = sorted(k for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k))
    return ("host namespaces", ", ".join(used)) if used else None


def _privileged(spec: Obj) -> tuple[str, str] | None:
    """check_privileged.go (baseline)."""
    bad = [c["name"] for c in _containers(spec) if _context(c).get("privileged")]
    if not bad:
        return None
    noun = _pluralize("container", "containers", len(bad))
    return "privileged", f"{noun} {_join_quote(bad)} must not set securityContext.privileged=true"


def _host_path_volumes(spec: Obj) -> tuple[str, str] | None:
    """check_hostPathVolumes.go (baseline; restricted checks all volume types instead)."""
    bad = [v["name"] for v in spec.get("volumes") or [] if "hostPath" in v]
    if not bad:
        return None
    return "hostPath volumes", f"{_pluralize('volume', 'volumes', len(bad))} {_join_quote(bad)}"


def _allow_privilege_escalation(spec: Obj) -> tuple[str, str] | None:
    """check_allowPrivilegeEscalation.go: every container must set it to false."""
    bad = [
        c["name"]
        for c in _containers(spec)
        if _context(c).get("allowPrivilegeEscalation") is not False
    ]
    if not bad:
        return None
    noun = _pluralize("container", "containers", len(bad))
    return (
        "allowPrivilegeEscalation != false",
        f"{noun} {_join_quote(bad)} must set securityContext.allowPrivilegeEscalation=false",
    )


def _capabilities(spec: Obj) -> tuple[str, str] | None:
    """check_capabilities_restricted.go: drop ALL; add nothing but NET_BIND_SERVICE."""
    missing_drop: list[str] = []
    adding: list[str] = []
    forbidden: set[str] = set()
    for c in _containers(spec):
        caps = _context(c).get("capabilities")
        if caps is None:
            missing_drop.append(c["name"])
            continue
        if "ALL" not in (caps.get("drop") or []):
            missing_drop.append(c["name"])
        added = {a for a in caps.get("add") or [] if a != "NET_BIND_SERVICE"}
        if added:
            adding.append(c["name"])
            forbidden |= added
    details = []
    if missing_drop:
        noun = _pluralize("container", "containers", len(missing_drop))
        details.append(
            f'{noun} {_join_quote(missing_drop)} must set securityContext.capabilities.drop=["ALL"]'
        )
    if adding:
        noun = _pluralize("container", "containers", len(adding))
        details.append(
            f"{noun} {_join_quote(adding)} must not include "
            f"{_join_quote(sorted(forbidden))} in securityContext.capabilities.add"
        )
    return ("unrestricted capabilities", "; ".join(details)) if details else None


def _restricted_volumes(spec: Obj) -> tuple[str, str] | None:
    """check_restrictedVolumes.go: only the listed inline sources."""
    bad: list[str] = []
    kinds: set[str] = set()
    for volume in spec.get("volumes") or []:
        sources = set(volume) - _VOLUME_META
        if sources & RESTRICTED_VOLUME_SOURCES:
            continue
        bad.append(volume["name"])
        kinds |= sources or {"unknown"}
    if not bad:
        return None
    n = len(bad)
    return (
        "restricted volume types",
        f"{_pluralize('volume', 'volumes', n)} {_join_quote(bad)} {_pluralize('uses', 'use', n)} "
        f"{_pluralize('restricted volume type', 'restricted volume types', len(kinds))} "
        f"{_join_quote(sorted(kinds))}",
    )


def _explicit_or_inherited(
    spec: Obj, field: str, good: Callable[[Any], bool], reason: str, must: str, must_not: str
) -> tuple[str, str] | None:
    """The shape check_runAsNonRoot.go and check_seccompProfile_restricted.go share: a
    bad pod-level value or containers setting a bad one are named first; otherwise every
    container must inherit or set a good one."""
    pod_value = (spec.get("securityContext") or {}).get(field)
    setters: list[str] = []
    pod_good = False
    bad_values: set[str] = set()
    if pod_value is not None:
        if good(pod_value):
            pod_good = True
        else:
            setters.append("pod")
            bad_values.add(str(_shown(pod_value)))
    explicit: list[str] = []
    implicit: list[str] = []
    for c in _containers(spec):
        value = _context(c).get(field)
        if value is not None:
            if not good(value):
                explicit.append(c["name"])
                bad_values.add(str(_shown(value)))
        elif not pod_good:
            implicit.append(c["name"])
    if explicit:
        setters.append(
            f"{_pluralize('container', 'containers', len(explicit))} {_join_quote(explicit)}"
        )
    if setters:
        return reason, must_not.format(
            who=" and ".join(setters), values=_join_quote(sorted(bad_values))
        )
    if implicit:
        noun = _pluralize("container", "containers", len(implicit))
        return reason, must.format(who=f"pod or {noun} {_join_quote(implicit)}")
    return None


def _shown(value: Any) -> Any:
    return value.get("type") if isinstance(value, dict) else value


def _run_as_non_root(spec: Obj) -> tuple[str, str] | None:
    """check_runAsNonRoot.go."""
    return _explicit_or_inherited(
        spec,
        "runAsNonRoot",
        lambda v: v is True,
        "runAsNonRoot != true",
        "{who} must set securityContext.runAsNonRoot=true",
        "{who} must not set securityContext.runAsNonRoot=false",
    )


def _run_as_user(spec: Obj) -> tuple[str, str] | None:
    """check_runAsUser.go: nobody may set runAsUser=0."""
    setters = ["pod"] if (spec.get("securityContext") or {}).get("runAsUser") == 0 else []
    bad = [c["name"] for c in _containers(spec) if _context(c).get("runAsUser") == 0]
    if bad:
        setters.append(f"{_pluralize('container', 'containers', len(bad))} {_join_quote(bad)}")
    return ("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0") if setters else None


def _seccomp_profile(spec: Obj) -> tuple[str, str] | None:
    """check_seccompProfile_restricted.go: RuntimeDefault or Localhost."""
    return _explicit_or_inherited(
        spec,
        "seccompProfile",
        lambda v: isinstance(v, dict) and v.get("type") in ("RuntimeDefault", "Localhost"),
        "seccompProfile",
        '{who} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
        "{who} must not set securityContext.seccompProfile.type to {values}",
    )


#: Baseline checks evaluated at both levels, then checks of one level only (registry.go).
BASELINE_CHECKS: tuple[Check, ...] = (_host_namespaces, _privileged)
BASELINE_ONLY_CHECKS: tuple[Check, ...] = (_host_path_volumes,)
RESTRICTED_CHECKS: tuple[Check, ...] = (
    _allow_privilege_escalation,
    _capabilities,
    _restricted_volumes,
    _run_as_non_root,
    _run_as_user,
    _seccomp_profile,
)


def pod_security_violations(level: str, pod_spec: Obj) -> list[tuple[str, str]]:
    """(reason, detail) of every check of ``level`` the pod spec fails, in upstream order."""
    if level == "privileged":
        return []
    checks = BASELINE_CHECKS + (
        RESTRICTED_CHECKS if level == "restricted" else BASELINE_ONLY_CHECKS
    )
    return [found for check in checks if (found := check(pod_spec)) is not None]


def pod_security_error(namespace_labels: Mapping[str, str], pod: Obj) -> str | None:
    """PodSecurity's refusal under the namespace's ``enforce`` label, or None."""
    level = namespace_labels.get(ENFORCE_LABEL)
    if level not in LEVELS or level == "privileged":
        return None
    violations = pod_security_violations(level, pod.get("spec") or {})
    if not violations:
        return None
    version = namespace_labels.get(ENFORCE_VERSION_LABEL) or "latest"
    detail = ", ".join(f"{r} ({d})" if d else r for r, d in violations)  # ForbiddenDetail()
    return f'violates PodSecurity "{level}:{version}": {detail}'


# --------------------------------------------------------------------------------------------
# ResourceQuota
# --------------------------------------------------------------------------------------------

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000)}
_DECIMAL.update({"": Fraction(1), "k": Fraction(10**3), "M": Fraction(10**6)})
_DECIMAL.update({"G": Fraction(10**9), "T": Fraction(10**12), "P": Fraction(10**15)})
#: Compute resources a quota may make every container specify (``must specify``).
_MUST_SPECIFY = ("limits.cpu", "limits.memory", "requests.cpu", "requests.memory")


def _quantity(text: Any) -> tuple[Fraction, bool]:
    """A quantity's value and whether it is written in binary units (``Gi``)."""
    raw = str(text).strip()
    for suffix, factor in _BINARY.items():
        if raw.endswith(suffix):
            return Fraction(raw[: -len(suffix)]) * factor, True
    suffix = raw[-1:] if raw[-1:] in _DECIMAL and not raw[-1:].isdigit() else ""
    number = raw[: -len(suffix)] if suffix else raw
    return Fraction(number) * _DECIMAL[suffix], False


def _format(value: Fraction, binary: bool) -> str:
    """``resource.Quantity.String()`` for the values quotas show: ``1Gi``, ``2``, ``500m``."""
    if value == 0:
        return "0"
    if binary and value.denominator == 1:
        for suffix, factor in reversed(_BINARY.items()):
            if value % factor == 0:
                return f"{value // factor}{suffix}"
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value * 1000}m" if (value * 1000).denominator == 1 else str(float(value))


def _pod_usage(pod: Obj) -> dict[str, tuple[Fraction, bool]]:
    """What a pod charges to a quota: ``pods`` and the containers' requests and limits
    (requests default to limits, as the API server defaults them)."""
    usage: dict[str, tuple[Fraction, bool]] = {"pods": (Fraction(1), False)}
    for c in (pod.get("spec") or {}).get("containers") or []:
        resources = c.get("resources") or {}
        limits = resources.get("limits") or {}
        requests = {**limits, **(resources.get("requests") or {})}
        for prefix, amounts in (("requests.", requests), ("limits.", limits)):
            for name, text in amounts.items():
                amount, binary = _quantity(text)
                key = prefix + name
                usage[key] = (usage.get(key, (Fraction(0), binary))[0] + amount, binary)
    for bare in ("cpu", "memory"):  # ``cpu`` in a quota means requests.cpu
        if f"requests.{bare}" in usage:
            usage[bare] = usage[f"requests.{bare}"]
    return usage


def _unspecified(pod: Obj, hard: Mapping[str, Any]) -> list[str]:
    """``must specify`` parts: constrained compute resources a container leaves unset."""
    parts = []
    for key in _MUST_SPECIFY:
        if key not in hard and key.removeprefix("requests.") not in hard:
            continue
        kind, _, name = key.partition(".")
        missing = []
        for c in (pod.get("spec") or {}).get("containers") or []:
            resources = c.get("resources") or {}
            given = dict(resources.get("limits") or {})
            if kind == "requests":
                given.update(resources.get("requests") or {})
            if name not in given:
                missing.append(c["name"])
        if missing:
            parts.append(f"{key} for: {','.join(missing)}")
    return parts


def quota_error(pod: Obj, quotas: Iterable[Obj], pods: Iterable[Obj]) -> str | None:
    """The ResourceQuota plugin's refusal of ``pod`` given the namespace's quotas and the
    pods already charged to them (not yet Succeeded or Failed), or None."""
    charged = [
        _pod_usage(p)
        for p in pods
        if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    wanted = _pod_usage(pod)
    for quota in sorted(quotas, key=lambda q: q["metadata"]["name"]):
        name = quota["metadata"]["name"]
        hard = (quota.get("spec") or {}).get("hard") or {}
        if missing := _unspecified(pod, hard):
            return f"failed quota: {name}: must specify {'; '.join(missing)}"
        exceeded = []
        for key in sorted(hard):
            limit, binary = _quantity(hard[key])
            requested, req_binary = wanted.get(key, (Fraction(0), binary))
            used = sum((u[key][0] for u in charged if key in u), Fraction(0))
            if requested and used + requested > limit:
                exceeded.append((key, requested, used, limit, binary or req_binary))
        if exceeded:

            def shown(index: int, rows: list[tuple[Any, ...]] = exceeded) -> str:
                return ",".join(f"{r[0]}={_format(r[index], r[4])}" for r in rows)

            return (
                f"exceeded quota: {name}, requested: {shown(1)}, used: {shown(2)}, "
                f"limited: {shown(3)}"
            )
    return None
