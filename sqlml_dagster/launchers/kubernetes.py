"""The Kubernetes launcher: each ML step as a ``batch/v1`` Job running the image the
statement names, with the same command the local launcher runs.

The Job's container runs ``python -m sqlml_dagster.runtime SPEC_URI``; the StepSpec lives in
the data store, which the pod must reach (``s3://…`` through s3fs with credentials from a
Secret, or a shared volume). Dagster Pipes messages travel in the pod's log and are read by
dagster-k8s's log reader, so logs and metrics arrive exactly as from a local process; the
step's result is read from ``result.json`` beside the spec, which survives a rotated log.
The launcher follows the Job with a watch, turns every way a pod can fail into a message
that names the reason, the Job and the last log lines, and deletes the Job (and its pods)
whenever the step does not end in success — failure, cancellation or an orchestrator error.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import secrets
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import dagster as dg
import fsspec
from pydantic import BaseModel, Field

from ..contract import StepSpec, allowed_images_from_env, error_uri, image_allowed
from ..settings import settings_from_env
from .base import RUNTIME_MODULE, LaunchResult, StepFailed, result_of
from .kube_policy import PolicyViolation, checked_tolerations, merged_node_selector

if TYPE_CHECKING:
    import kubernetes.client

MANAGED_BY = "sqlml-dagster"
#: The runtime base image built from this repository's Dockerfile (docs/kubernetes.md).
DEFAULT_IMAGE = "sqlml-dagster-runtime:0.1.0"
#: The non-root user (and group) that Dockerfile creates; steps run as it by default.
RUNTIME_UID = 10001


#: Waiting reasons of a container that will never start by itself.
IMAGE_PULL_REASONS = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull")
CONFIG_REASONS = ("CreateContainerConfigError", "CreateContainerError")


class KubernetesSettings(BaseModel):
    """The Kubernetes launcher's settings, declared once: the resource, the ``kind:
    kubernetes`` launcher of a SqlMlProject's defs.yaml and ``SQLML_K8S_<NAME>`` environment
    variables (:func:`launcher_from_env`) all take exactly these."""

    namespace: str = Field(default="default", description="Namespace of the Jobs.")
    default_image: str | None = Field(
        default=DEFAULT_IMAGE, description="Image for statements that name none."
    )
    allowed_images: list[str] = Field(
        default_factory=list,
        description="Registry/repository prefixes a statement's image must start with, "
        "checked at compile time (SQLML208); empty: any.",
    )
    gpu_resource_name: str = Field(
        default="nvidia.com/gpu",
        json_schema_extra={"env": "SQLML_K8S_GPU_RESOURCE"},
        description="Extended resource that `WITH resources.gpu = N` requests.",
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="Node labels a step's pod must be scheduled on."
    )
    tolerations: list[dict[str, Any]] = Field(
        default_factory=list, description="Pod tolerations (Kubernetes' own shape)."
    )
    sql_tolerations: list[str] = Field(
        default_factory=lambda: ["nvidia.com/gpu"],
        description="Taint keys a statement's `resources.tolerations` may tolerate "
        "(NoSchedule/PreferNoSchedule only); empty: none.",
    )
    affinity: dict[str, Any] | None = Field(
        default=None, description="Pod affinity (Kubernetes' own shape)."
    )
    service_account_name: str | None = Field(
        default=None,
        json_schema_extra={"env": "SQLML_K8S_SERVICE_ACCOUNT"},
        description="Service account of the step pods.",
    )
    image_pull_secrets: list[str] = Field(
        default_factory=list, description="Secrets for pulling private images."
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Non-secret environment variables of the steps."
    )
    env_from_secrets: list[str] = Field(
        default_factory=list,
        description="Secrets whose keys become the steps' environment (storage credentials).",
    )
    run_as_non_root: bool = Field(
        default=True,
        description="Require a non-root user (Pod Security `restricted`); false relaxes it.",
    )
    run_as_user: int | None = Field(
        default=RUNTIME_UID,
        description="User id of the step pods (the runtime image's `sqlml` user); "
        "null: the image's USER.",
    )
    run_as_group: int | None = Field(
        default=RUNTIME_UID, description="Group id of the step pods; null: the image's."
    )
    fs_group: int | None = Field(
        default=None,
        description="Group that owns the shared volume's files (set only when "
        "shared_volume_claim is mounted); null: run_as_group.",
    )
    seccomp_profile: str | None = Field(
        default="RuntimeDefault",
        description="Seccomp profile type of the step pods (RuntimeDefault, Unconfined); "
        "null: none set, which relaxes `restricted`.",
    )
    allow_privilege_escalation: bool = Field(
        default=False, description="Let the step gain privileges; true relaxes `restricted`."
    )
    backoff_limit: int = Field(default=0, description="Job retries before it fails.")
    active_deadline_seconds: int | None = Field(
        default=None, description="Longest a step's Job may run."
    )
    ttl_seconds_after_finished: int | None = Field(
        default=3600, description="How long a finished Job is kept."
    )
    unschedulable_timeout_seconds: float = Field(
        default=300.0, description="How long a pod may stay unschedulable before failing."
    )
    image_pull_timeout_seconds: float = Field(
        default=120.0, description="How long an image may fail to pull before failing."
    )
    shared_volume_claim: str | None = Field(
        default=None,
        description="A PersistentVolumeClaim mounted at shared_volume_path, for stores on "
        "a shared volume rather than s3://.",
    )
    shared_volume_path: str = Field(default="/sqlml", description="Mount path of the claim.")
    python: str = Field(default="python", description="The interpreter inside the image.")
    api_host: str | None = Field(
        default=None, description="API server URL (no auth); otherwise kubeconfig/in-cluster."
    )
    kubeconfig: str | None = Field(
        default=None, description="Kubeconfig file (relative: to this defs.yaml's folder)."
    )
    kube_context: str | None = Field(
        default=None,
        description="Kubeconfig context.",
        json_schema_extra={"env": "SQLML_K8S_CONTEXT"},
    )
    in_cluster: bool = Field(
        default=False, description="Use the pod's service account (orchestrator in-cluster)."
    )
    watch_seconds: int = Field(default=2, description="Longest wait between status checks.")


class KubernetesLauncher(dg.ConfigurableResource, KubernetesSettings):
    """Runs each ML step as a Kubernetes Job from the image its statement names."""

    KIND: ClassVar[str] = "kubernetes"

    @property
    def shares_filesystem(self) -> bool:
        return False

    # -- the manifest ---------------------------------------------------------------------

    def image_for(self, spec: StepSpec) -> str:
        image = spec.image or self.default_image
        if not image:
            raise StepFailed(
                description=f"{spec.kind} step for '{spec.model_name}' names no image and the "
                "kubernetes launcher has no default_image: set one, or prefix the model "
                "reference with an image (registry/repo:tag/pkg.Model)"
            )
        if not image_allowed(image, self.allowed_images):
            raise StepFailed(
                description=f"image '{image}' is not in the launcher's allowed_images "
                f"({', '.join(self.allowed_images)})"
            )
        return image

    def job_manifest(
        self,
        spec: StepSpec,
        spec_uri: str,
        *,
        run_id: str,
        asset_key: str,
        env: Mapping[str, str] | None = None,
        suffix: str | None = None,
    ) -> dict[str, Any]:
        """The Job for one step, as the plain dict the API takes (and ``--k8s`` prints)."""
        name = job_name(spec, run_id, suffix)
        labels = {
            "app.kubernetes.io/managed-by": MANAGED_BY,
            "sqlml/step": spec.kind,
            "sqlml/model": dns_label(spec.model_name),
            "dagster/run-id": dns_label(run_id),
        }
        annotations = {
            "sqlml/asset-key": asset_key,
            "sqlml/model": spec.model_name,
            "sqlml/spec-uri": spec_uri,
            "dagster/run-id": run_id,
        }
        version = spec.model_version or _version_of(spec)
        if version is not None:
            annotations["sqlml/model-version"] = str(version)
        container: dict[str, Any] = {
            "name": "step",
            "image": self.image_for(spec),
            "command": [self.python, "-m", RUNTIME_MODULE, spec_uri],
            "env": [
                {"name": k, "value": v}
                for k, v in {**self.env, **(env or {}), "SQLML_STEP_ID": spec.step_id}.items()
            ],
            "resources": self.resources(spec),
            "securityContext": {
                "allowPrivilegeEscalation": self.allow_privilege_escalation,
                "capabilities": {"drop": ["ALL"]},
            },
        }
        if self.env_from_secrets:
            container["envFrom"] = [{"secretRef": {"name": s}} for s in self.env_from_secrets]
        pod_spec: dict[str, Any] = {
            "restartPolicy": "Never",
            "securityContext": self.pod_security_context(),
            "containers": [container],
        }
        try:  # SQL narrows the operator's policy, never widens it (kube_policy)
            node_selector = merged_node_selector(self.node_selector, _node_selector(spec))
            tolerations = [
                *self.tolerations,
                *checked_tolerations(_tolerations(spec), self.sql_tolerations),
            ]
        except PolicyViolation as e:
            raise StepFailed(description=f"{spec.kind} step for '{spec.model_name}': {e}") from None
        if node_selector:
            pod_spec["nodeSelector"] = node_selector
        if tolerations:
            pod_spec["tolerations"] = tolerations
        if self.affinity:
            pod_spec["affinity"] = self.affinity
        if self.service_account_name:
            pod_spec["serviceAccountName"] = self.service_account_name
        if self.image_pull_secrets:
            pod_spec["imagePullSecrets"] = [{"name": s} for s in self.image_pull_secrets]
        if self.shared_volume_claim:
            pod_spec["volumes"] = [
                {
                    "name": "sqlml-shared",
                    "persistentVolumeClaim": {"claimName": self.shared_volume_claim},
                }
            ]
            container["volumeMounts"] = [
                {"name": "sqlml-shared", "mountPath": self.shared_volume_path}
            ]
        job_spec: dict[str, Any] = {
            "backoffLimit": self.backoff_limit,
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
        }
        if self.active_deadline_seconds is not None:
            job_spec["activeDeadlineSeconds"] = self.active_deadline_seconds
        if self.ttl_seconds_after_finished is not None:
            job_spec["ttlSecondsAfterFinished"] = self.ttl_seconds_after_finished
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": labels,
                "annotations": annotations,
            },
            "spec": job_spec,
        }

    def pod_security_context(self) -> dict[str, Any]:
        """What the Pod Security ``restricted`` profile asks of a pod, unless a setting
        relaxes it: a non-root user and group, the runtime's default seccomp profile, and
        ``fsGroup`` on a shared volume so the step can write the stores' files there."""
        context: dict[str, Any] = {}
        if self.run_as_non_root:
            context["runAsNonRoot"] = True
        if self.run_as_user is not None:
            context["runAsUser"] = self.run_as_user
        if self.run_as_group is not None:
            context["runAsGroup"] = self.run_as_group
        fs_group = self.fs_group if self.fs_group is not None else self.run_as_group
        if self.shared_volume_claim and fs_group is not None:
            context["fsGroup"] = fs_group
        if self.seccomp_profile:
            context["seccompProfile"] = {"type": self.seccomp_profile}
        return context

    def resources(self, spec: StepSpec) -> dict[str, Any]:
        """``WITH resources.cpu/memory/gpu`` as requests and limits (GPUs: limits only
        matter, and requests equal limits for extended resources)."""
        wanted = spec.params.get("resources", {})
        requests: dict[str, str] = {}
        limits: dict[str, str] = {}
        for key in ("cpu", "memory"):
            if key in wanted:
                requests[key] = limits[key] = str(wanted[key])
        gpu = wanted.get("gpu")
        if gpu:
            requests[self.gpu_resource_name] = limits[self.gpu_resource_name] = str(gpu)
        out: dict[str, Any] = {}
        if requests:
            out["requests"] = requests
        if limits:
            out["limits"] = limits
        return out

    # -- running it ---------------------------------------------------------------------

    def launch(
        self,
        context: dg.AssetExecutionContext,
        spec: StepSpec,
        spec_uri: str,
        env: Mapping[str, str] | None = None,
    ) -> LaunchResult:
        self.check_reachable(spec, spec_uri)
        from dagster._core.pipes.utils import PipesEnvContextInjector, open_pipes_session
        from dagster_k8s.pipes import PipesK8sPodLogsMessageReader

        class PodLogsReader(PipesK8sPodLogsMessageReader):
            """dagster-k8s's pod-log reader; one pod writes the messages. Dagster's base
            answers the same but is marked preview and read for every session: stated
            here, no PreviewWarning per step (as for the local launcher's reader)."""

            @property
            def expected_writer_count(self) -> int:
                return 1

        api = self.api_client()
        reader = PodLogsReader()
        with open_pipes_session(
            context=context,
            context_injector=PipesEnvContextInjector(),
            message_reader=reader,
        ) as session:
            manifest = self.job_manifest(
                spec,
                spec_uri,
                run_id=context.run_id,
                asset_key=context.asset_key.to_user_string(),
                env={**(env or {}), **session.get_bootstrap_env_vars()},
            )
            job = _JobRun(self, api, manifest, context, spec, spec_uri, reader)
            job.run()
        result = result_of(dg.PipesClientCompletedInvocation(session), spec_uri)
        return dataclasses.replace(
            result,
            launched_as=f"job/{self.namespace}/{job.name}",
            image_digest=job.image_digest,
        )

    def check_reachable(self, spec: StepSpec, spec_uri: str) -> None:
        """A pod cannot read the orchestrator's disk: stores must be URLs it can reach."""
        for uri in (spec_uri, spec.input_uri, spec.model_uri, spec.output_uri):
            if not uri or not _is_local(uri):
                continue
            path = uri.removeprefix("file://")
            if self.shared_volume_claim and path.startswith(self.shared_volume_path.rstrip("/")):
                continue
            raise StepFailed(
                description=f"the kubernetes launcher cannot hand '{uri}' to a pod: set the "
                "model and data stores to a URL pods can reach (s3://bucket/prefix, credentials "
                "from env_from_secrets), or mount a shared volume (shared_volume_claim) at "
                f"shared_volume_path ({self.shared_volume_path}) and keep the stores under it"
            )

    def api_client(self) -> kubernetes.client.ApiClient:
        import kubernetes

        if self.api_host:
            configuration = kubernetes.client.Configuration()
            configuration.host = self.api_host
            return kubernetes.client.ApiClient(configuration)
        if self.in_cluster:
            kubernetes.config.load_incluster_config()
            return kubernetes.client.ApiClient()
        return kubernetes.config.new_client_from_config(
            config_file=self.kubeconfig, context=self.kube_context
        )


class _JobRun:
    """One Job from creation to deletion: watch it, read its logs, explain its failure."""

    def __init__(
        self,
        launcher: KubernetesLauncher,
        api: kubernetes.client.ApiClient,
        manifest: dict[str, Any],
        context: dg.AssetExecutionContext,
        spec: StepSpec,
        spec_uri: str,
        reader: Any,
    ):
        import kubernetes

        self.launcher = launcher
        self.batch = kubernetes.client.BatchV1Api(api)
        self.core = kubernetes.client.CoreV1Api(api)
        self.manifest = manifest
        self.name: str = manifest["metadata"]["name"]
        self.namespace = launcher.namespace
        self.context = context
        self.spec = spec
        self.spec_uri = spec_uri
        self.reader = reader
        self.log_thread: threading.Thread | None = None
        self.log_lines: queue.Queue[str] = queue.Queue()
        self.lines_handled = 0
        self.log_complete = False
        self.log_error: BaseException | None = None
        self.pod_name: str | None = None
        self.image_digest: str | None = None

    def run(self) -> None:
        self.batch.create_namespaced_job(self.namespace, self.manifest)
        self.context.log.info(
            f"created Job {self.namespace}/{self.name} with image "
            f"{self.manifest['spec']['template']['spec']['containers'][0]['image']}"
        )
        succeeded = False
        try:
            self.follow()
            self.finish_logs()
            succeeded = True
        finally:
            if not succeeded:  # failed, cancelled or the orchestrator broke: no orphans
                self.delete()

    def follow(self) -> None:
        """Watch the Job until it completes; between events, look at its pod for reasons
        that stop a Job without ending it (image pulls, scheduling)."""
        from kubernetes import watch

        first_seen: dict[str, float] = {}
        resource_version: str | None = None
        while True:
            stream = watch.Watch().stream(
                self.batch.list_namespaced_job,
                self.namespace,
                field_selector=f"metadata.name={self.name}",
                timeout_seconds=self.launcher.watch_seconds,
                **({"resource_version": resource_version} if resource_version else {}),
            )
            for event in stream:
                self.drain_logs()
                job = event["object"]
                resource_version = job.metadata.resource_version
                if self.finished(job):
                    return
            self.inspect_pods(first_seen)
            self.drain_logs()
            job = self.batch.read_namespaced_job(self.name, self.namespace)
            resource_version = job.metadata.resource_version
            if self.finished(job):
                return

    def finished(self, job: Any) -> bool:
        """True on success; raises the step's failure on a Failed condition."""
        conditions = {c.type: c for c in (job.status.conditions or []) if c.status == "True"}
        if "Complete" in conditions:
            self.start_logs()
            self.record_image_digest()
            return True
        failed = conditions.get("Failed")
        if failed is not None:
            self.fail(failed.reason or "Failed", failed.message or "")
        return False

    def record_image_digest(self) -> None:
        """The image the pod ran, by digest, for the model's manifest (when reported)."""
        if self.image_digest is None:
            for pod in self.pods():
                self.note_digest(pod)

    def pods(self) -> list[Any]:
        return list(
            self.core.list_namespaced_pod(
                self.namespace, label_selector=f"job-name={self.name}"
            ).items
        )

    def note_digest(self, pod: Any) -> None:
        """A started container's imageID is the image by digest (``…@sha256:…``)."""
        for status in pod.status.container_statuses or []:
            if status.image_id and "@" in status.image_id:
                self.image_digest = status.image_id.split("://", 1)[-1]

    def inspect_pods(self, first_seen: dict[str, float]) -> None:
        pods = self.pods()
        now = time.monotonic()
        for pod in pods:
            name = pod.metadata.name
            self.pod_name = name
            phase = pod.status.phase
            if phase in ("Running", "Succeeded", "Failed"):
                self.start_logs()
            self.note_digest(pod)
            for status in pod.status.container_statuses or []:
                waiting = status.state.waiting if status.state else None
                if waiting is None or not waiting.reason:
                    continue
                key = f"{name}/{waiting.reason}"
                first_seen.setdefault(key, now)
                if waiting.reason in CONFIG_REASONS:
                    self.fail(waiting.reason, waiting.message or "", pod=name)
                if (
                    waiting.reason in IMAGE_PULL_REASONS
                    and now - first_seen[key] >= self.launcher.image_pull_timeout_seconds
                ):
                    self.fail(waiting.reason, waiting.message or "", pod=name)
            for condition in pod.status.conditions or []:
                if (
                    condition.type == "PodScheduled"
                    and condition.status == "False"
                    and condition.reason == "Unschedulable"
                ):
                    key = f"{name}/Unschedulable"
                    first_seen.setdefault(key, now)
                    if now - first_seen[key] >= self.launcher.unschedulable_timeout_seconds:
                        self.fail("Unschedulable", condition.message or "", pod=name)

    def start_logs(self) -> None:
        """Stream the pod's log once it runs. A thread only reads lines; the step's own
        thread hands them to Pipes (:meth:`drain_logs`), because Dagster's event log is
        not safe to write from other threads."""
        if self.log_thread is not None:
            return
        if self.pod_name is None:
            self.pod_name = self.latest_pod()
            if self.pod_name is None:
                return
        pod_name = self.pod_name

        def read() -> None:
            try:
                response = self.core.read_namespaced_pod_log(
                    pod_name, self.namespace, follow=True, _preload_content=False
                )
                pending = b""
                for chunk in response.stream(4096):
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        self.log_lines.put(line.decode("utf-8", errors="replace"))
                if pending:
                    self.log_lines.put(pending.decode("utf-8", errors="replace"))
                self.log_complete = True
            except BaseException as e:  # a dropped stream: the log is re-read at the end
                self.log_error = e

        self.log_thread = threading.Thread(target=read, name=f"logs-{pod_name}", daemon=True)
        self.log_thread.start()

    def drain_logs(self) -> None:
        from dagster._core.pipes.utils import extract_message_or_forward_to_stdout

        handler = self.reader._handler  # set while the Pipes session is open
        while True:
            try:
                line = self.log_lines.get_nowait()
            except queue.Empty:
                return
            self.lines_handled += 1
            if handler is not None and line:
                extract_message_or_forward_to_stdout(handler, line)

    def finish_logs(self) -> None:
        """After the Job: all lines handled, re-reading the log if the stream broke."""
        if self.log_thread is None:
            self.start_logs()
        if self.log_thread is not None:
            self.log_thread.join(timeout=30)
        self.drain_logs()
        if self.log_complete or self.pod_name is None:
            return
        self.context.log.info(
            f"the log stream of {self.pod_name} ended early ({self.log_error!r}); reading it again"
        )
        response = self.core.read_namespaced_pod_log(
            self.pod_name, self.namespace, _preload_content=False
        )
        lines = response.data.decode("utf-8", errors="replace").split("\n")
        for line in lines[self.lines_handled :]:
            self.log_lines.put(line)
        self.drain_logs()

    def fail(self, reason: str, message: str, pod: str | None = None) -> None:
        pod = pod or self.pod_name or self.latest_pod()
        detail = self.explain_pod(pod) if pod else ""
        user_reason = self.user_reason()
        text = (
            f"{self.spec.kind} step for '{self.spec.model_name}' failed: {reason}"
            + (f" ({message})" if message else "")
            + f"; Job {self.namespace}/{self.name}"
            + (f", pod {pod}" if pod else "")
            + (f"; {detail}" if detail else "")
            + (f"\nstep error: {user_reason}" if user_reason else "")
        )
        lines = self.last_log_lines(pod) if pod else ""
        if lines:
            text += "\nlast log lines:\n" + lines
        raise StepFailed(description=text)

    def latest_pod(self) -> str | None:
        pods = self.pods()
        return pods[-1].metadata.name if pods else None

    def explain_pod(self, pod_name: str) -> str:
        """What the pod itself says: OOMKilled, an exit code, a waiting reason."""
        import kubernetes

        try:
            pod = self.core.read_namespaced_pod(pod_name, self.namespace)
        except kubernetes.client.ApiException:
            return ""
        for status in pod.status.container_statuses or []:
            terminated = status.state.terminated if status.state else None
            if terminated is not None:
                return f"container {terminated.reason or 'terminated'} with exit code {terminated.exit_code}"
            waiting = status.state.waiting if status.state else None
            if waiting is not None and waiting.reason:
                return f"container waiting: {waiting.reason}"
        return f"pod phase {pod.status.phase}"

    def last_log_lines(self, pod_name: str, count: int = 20) -> str:
        import kubernetes

        try:
            response = self.core.read_namespaced_pod_log(
                pod_name, self.namespace, tail_lines=count, _preload_content=False
            )
            text = response.data.decode("utf-8", errors="replace")
        except kubernetes.client.ApiException:
            return ""
        lines = [line for line in text.splitlines() if not _is_pipes_message(line)]
        return "\n".join(lines[-count:])

    def user_reason(self) -> str | None:
        """The runtime's one-line reason (error.json beside the spec), when it wrote one."""
        try:
            with fsspec.open(error_uri(self.spec_uri), "r", encoding="utf-8") as f:
                return str(json.load(f).get("message")) or None
        except (OSError, ValueError):
            return None

    def delete(self) -> None:
        import kubernetes

        try:
            self.batch.delete_namespaced_job(
                self.name,
                self.namespace,
                propagation_policy="Background",
                _preload_content=False,
            )
            self.context.log.info(f"deleted Job {self.namespace}/{self.name} and its pods")
        except kubernetes.client.ApiException as e:
            if e.status != 404:
                self.context.log.warning(f"could not delete Job {self.name}: {e.reason}")


# -- names and settings ----------------------------------------------------------------


def job_name(spec: StepSpec, run_id: str, suffix: str | None = None) -> str:
    """``sqlml-train-iris-rf-1a2b3c4d-x7k2``: a DNS-1123 label, unique per run and step."""
    stem = dns_label(f"sqlml-{spec.kind}-{spec.model_name}")[:40].rstrip("-")
    return f"{stem}-{dns_label(run_id)[:8].rstrip('-')}-{suffix or secrets.token_hex(2)}"


def from_settings(settings: Mapping[str, Any]) -> KubernetesLauncher:
    """The launcher from a defs.yaml's ``launcher: {kind: kubernetes, …}``."""
    return KubernetesLauncher(**settings)


def from_env(environ: Mapping[str, str]) -> KubernetesLauncher:
    """A KubernetesLauncher from ``SQLML_K8S_<SETTING>`` variables (and the allow-list's
    ``SQLML_K8S_ALLOWED_IMAGES``, which ``sqlml check`` reads too)."""
    settings = settings_from_env(KubernetesSettings, environ, prefix="SQLML_K8S_")
    settings["allowed_images"] = allowed_images_from_env(environ)
    return KubernetesLauncher(**settings)


def dns_label(text: str) -> str:
    """Lower-case letters, digits and '-', at most 63, starting and ending alphanumeric."""
    cleaned = "".join(c if c.isascii() and c.isalnum() else "-" for c in text.lower())
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    return cleaned.strip("-")[:63].strip("-") or "x"


def _node_selector(spec: StepSpec) -> dict[str, str]:
    """``resources.node_selector = "gpu=a100,zone=x"`` (or a list of ``k=v``)."""
    written = spec.params.get("resources", {}).get("node_selector")
    if not written:
        return {}
    items = written if isinstance(written, list) else str(written).split(",")
    out = {}
    for item in items:
        key, _, value = str(item).partition("=")
        if key.strip():
            out[key.strip()] = value.strip()
    return out


def _tolerations(spec: StepSpec) -> list[dict[str, str]]:
    """``resources.tolerations = ["gpu=true:NoSchedule", "spot:NoExecute"]`` (kubectl taint
    syntax) → tolerations."""
    written = spec.params.get("resources", {}).get("tolerations")
    if not written:
        return []
    out = []
    for item in written if isinstance(written, list) else [written]:
        taint, _, effect = str(item).partition(":")
        key, eq, value = taint.partition("=")
        toleration = {"key": key.strip(), "operator": "Equal" if eq else "Exists"}
        if eq:
            toleration["value"] = value.strip()
        if effect:
            toleration["effect"] = effect.strip()
        out.append(toleration)
    return out


def _version_of(spec: StepSpec) -> int | None:
    """A training step's version number is the last folder of its model URI."""
    tail = spec.model_uri.rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if spec.kind in ("train", "register") and tail.isdigit() else None


def _is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def _is_pipes_message(line: str) -> bool:
    return '"__dagster_pipes_version"' in line
