"""The operator's cluster policy against what a statement asks for (docs/security.md).

SQL may *narrow* where its step runs, never widen it: ``WITH resources.node_selector`` adds
node labels but cannot change one the operator's ``node_selector`` sets, and
``resources.tolerations`` may tolerate only the taints the operator lists in
``sql_tolerations`` (by default the GPU taint, ``nvidia.com/gpu``), never with the
``NoExecute`` effect, never a key-less "tolerate everything", never the control plane's or
the node lifecycle's own taints. A statement that asks for more fails before any Job is
created, with a message naming the setting. The operator's own ``tolerations`` and
``node_selector`` are taken as written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: Taints the Kubernetes control plane and node lifecycle controller set: SQL may never
#: tolerate them (a step on a control-plane node, or kept on a node being drained).
RESERVED_TAINT_PREFIXES = (
    "node-role.kubernetes.io/",
    "node.kubernetes.io/",
    "node.cloudprovider.kubernetes.io/",
)


class PolicyViolation(ValueError):
    """A statement's ``resources.*`` asks for more than the operator allows."""


def merged_node_selector(
    operator: Mapping[str, str], statement: Mapping[str, str]
) -> dict[str, str]:
    """The operator's labels plus the statement's; a statement's label that contradicts
    the operator's is refused."""
    for key, value in statement.items():
        if key in operator and operator[key] != value:
            raise PolicyViolation(
                f"resources.node_selector {key}={value} contradicts the launcher's "
                f"node_selector {key}={operator[key]}; SQL can add node labels, not change them"
            )
    return {**statement, **operator}


def checked_tolerations(
    statement: Sequence[Mapping[str, str]], allowed_keys: Sequence[str]
) -> list[dict[str, str]]:
    """The statement's tolerations, each within the operator's ``sql_tolerations``."""
    out = []
    for toleration in statement:
        key = toleration.get("key", "")
        effect = toleration.get("effect", "")
        shown = _shown(toleration)
        if not key:
            raise PolicyViolation(
                f"resources.tolerations {shown}: a toleration without a key tolerates every "
                "taint; name the taint"
            )
        if key.startswith(RESERVED_TAINT_PREFIXES):
            raise PolicyViolation(
                f"resources.tolerations {shown}: the cluster's own taint {key} cannot be "
                "tolerated from SQL"
            )
        if effect == "NoExecute" or not effect:
            if effect == "NoExecute":
                raise PolicyViolation(
                    f"resources.tolerations {shown}: NoExecute cannot be tolerated from SQL; "
                    "write the effect NoSchedule or PreferNoSchedule"
                )
            raise PolicyViolation(
                f"resources.tolerations {shown}: name the effect (NoSchedule or "
                "PreferNoSchedule); without one it would tolerate NoExecute too"
            )
        if key not in allowed_keys:
            raise PolicyViolation(
                f"resources.tolerations {shown}: taint {key} is not in the launcher's "
                f"sql_tolerations ({', '.join(allowed_keys) or 'none'})"
            )
        out.append(dict(toleration))
    return out


def _shown(toleration: Mapping[str, str]) -> str:
    key = toleration.get("key", "")
    value = f"={toleration['value']}" if "value" in toleration else ""
    effect = f":{toleration['effect']}" if toleration.get("effect") else ""
    return f"'{key}{value}{effect}'"
