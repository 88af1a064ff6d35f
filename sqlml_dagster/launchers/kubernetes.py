"""The Kubernetes launcher: each ML step as a ``batch/v1`` Job running the image the
statement names, with the same command the local launcher runs.

The Job's container runs ``python -m sqlml_dagster.runtime SPEC_URI``; the StepSpec lives in
the data store, which the pod must reach (``s3://…`` through s3fs with credentials from a
Secret, or a shared volume). Dagster Pipes messages travel in the pod's log, which the
launcher follows across broken connections (kube_logs.py) and hands to the Pipes session
line by line, each once, so logs and metrics arrive exactly as from a local process; the
step's result is read from ``result.json`` beside the spec, which survives a rotated log.
The launcher follows the Job with list-then-watch (kube_watch.py), retries what a real
control plane fails transiently (kube_api.py), turns every way a pod can fail into a
message that names the reason, the Job and the last log lines, and deletes the Job (and
its pods) whenever the step does not end in success — failure, cancellation, an
orchestrator error or an API that stayed unreachable.
No wait is unbounded: a pod that never starts ends the step after a patience per cause
(:mod:`.kube_waits`, reading the cluster's Events, :mod:`.kube_events`), and every Job has
an ``activeDeadlineSeconds`` unless a setting removes it.
The Job's ``podFailurePolicy`` fails it at once on the runtime's user-error exit code and
replaces pods the cluster evicted or preempted; the launcher then follows the newest pod
(:mod:`.kube_pods`).
"""

from __future__ import annotations

import dataclasses
import queue
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import dagster as dg
from pydantic import BaseModel, Field

from ..contract import (
    StepSpec,
    allowed_images_from_env,
    image_allowed,
)
from ..contract.distributed import DEFAULT_PORT
from ..contract.layout import TRIALS_FOLDER
from ..settings import settings_from_env
from . import kube_pods
from .base import (
    RUNTIME_MODULE,
    LaunchResult,
    StepFailed,
    code_prefix,
    max_runtime,
    result_of,
    step_error,
)
from .cancel import StepCancelled, cancelled
from .kube_api import Contact, NameTaken, RetryingApi, create_job
from .kube_distributed import indexed_job, rank_zero, service_manifest
from .kube_events import read_events
from .kube_logs import LogFollower
from .kube_policy import PolicyViolation, checked_tolerations, merged_node_selector
from .kube_secrets import (
    credentials_of,
    env_entries,
    owned_by_job,
    secret_manifest,
    secret_name,
)
from .kube_waits import EventSource, Patience, stuck
from .kube_watch import JobVanished, job_states

if TYPE_CHECKING:
    import kubernetes.client

MANAGED_BY = "sqlml-dagster"
#: The runtime base image built from this repository's Dockerfile (docs/kubernetes.md).
DEFAULT_IMAGE = "sqlml-dagster-runtime:0.1.0"
DEFAULT_RENDEZVOUS_PORT = DEFAULT_PORT
#: The non-root user (and group) that Dockerfile creates; steps run as it by default.
RUNTIME_UID = 10001
#: A step's Job may run a day unless its statement (``train.max_runtime``) or the
#: ``active_deadline_seconds`` setting says otherwise: a hung training (NCCL, a stuck data
#: loader) or a run worker that died without deleting its Job must not hold a GPU for ever.
DEFAULT_DEADLINE_SECONDS = 24 * 3600
#: The annotations that make a Job this step's: a 409 on a retried create is ours if they match.
JOB_IDENTITY = ("sqlml/spec-uri", "dagster/run-id")
#: How long a finished step waits for the rest of its pod's log.
LOG_END_SECONDS = 60.0
#: The name of a step pod's one container (podFailurePolicy rules name it).
STEP_CONTAINER = "step"


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
    backoff_limit: int = Field(
        default=0,
        description="Failed pods a Job retries before it fails; pods the cluster evicted or "
        "preempted do not count under the default pod_failure_policy.",
    )
    pod_failure_policy: dict[str, Any] | None = Field(
        default_factory=lambda: kube_pods.default_pod_failure_policy(STEP_CONTAINER),
        description="The Jobs' podFailurePolicy (Kubernetes' own shape). The default fails a "
        "Job at once when the runtime exits with its user-error code (65) and replaces pods "
        "the cluster evicted or preempted (DisruptionTarget) without counting them against "
        "backoff_limit; null: none, every failed pod counts.",
    )
    max_disruptions: int | None = Field(
        default=3,
        description="How many of a step's pods may be evicted or preempted (and replaced) "
        "before the step fails with the last one's reason; null: no limit.",
    )
    active_deadline_seconds: int | None = Field(
        default=DEFAULT_DEADLINE_SECONDS,
        description="Longest a step's Job may run (its activeDeadlineSeconds), unless the "
        "statement sets train.max_runtime; null or 0: no deadline.",
    )
    rendezvous_port: int = Field(
        default=DEFAULT_RENDEZVOUS_PORT,
        description="Port rank 0 of a training of several pods (`train.num_workers`) listens "
        "on for the others (torchrun's MASTER_PORT).",
    )
    ttl_seconds_after_finished: int | None = Field(
        default=3600, description="How long a finished Job is kept."
    )
    start_timeout_seconds: float = Field(
        default=1800.0,
        description="Longest a step's pod may take to start running (pod creation, "
        "scheduling and scale-up, image pull, volumes) before the step fails.",
    )
    failed_create_timeout_seconds: float = Field(
        default=60.0,
        description="How long the Job controller may fail to create the pod (FailedCreate: "
        "a quota, Pod Security, a missing ServiceAccount, a webhook) before the step fails "
        "with its message.",
    )
    unschedulable_timeout_seconds: float = Field(
        default=300.0,
        description="How long a pod may stay unschedulable before failing; a cluster "
        "autoscaler's scale-up in progress (TriggeredScaleUp) does not count.",
    )
    image_pull_timeout_seconds: float = Field(
        default=120.0, description="How long an image may fail to pull before failing."
    )
    config_error_timeout_seconds: float = Field(
        default=60.0,
        description="How long a container may wait on CreateContainerConfigError or "
        "CreateContainerError (a Secret not there yet: the kubelet retries) before failing.",
    )
    container_creating_timeout_seconds: float = Field(
        default=600.0,
        description="How long a container may stay ContainerCreating (volumes to mount) or "
        "in an unknown waiting reason before failing; an image pull in progress does not count.",
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
    api_retry_seconds: float = Field(
        default=300.0,
        description="How long the Kubernetes API may fail in a row (429, 5xx, resets, "
        "timeouts) before the step gives up; each answer restarts the clock.",
    )
    api_request_timeout_seconds: float = Field(
        default=60.0,
        description="Read timeout of each API request (a watch: its window plus this); a "
        "request that times out is retried.",
    )


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
                "kubernetes launcher has no default_image: set one"
                + (
                    ""
                    if spec.kind in ("run", "optimize")
                    else ", or prefix the model reference with an image (registry/repo:tag/pkg.Model)"
                )
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
            "name": STEP_CONTAINER,
            "image": self.image_for(spec),
            "command": [self.python, "-m", RUNTIME_MODULE, spec_uri],
            # credentials by Secret reference, never as values (kube_secrets.py)
            "env": env_entries(self.step_env(spec, env), name),
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
        pod_spec.update(self.pod_identity())
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
        if self.pod_failure_policy is not None:
            job_spec["podFailurePolicy"] = self.pod_failure_policy
        deadline = self.deadline_for(spec)
        if deadline is not None:
            job_spec["activeDeadlineSeconds"] = deadline
        if self.ttl_seconds_after_finished is not None:
            job_spec["ttlSecondsAfterFinished"] = self.ttl_seconds_after_finished
        job = {
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
        # several pods (train.num_workers): an Indexed Job beside a Service (kube_distributed)
        return indexed_job(job, spec, self.rendezvous_port)

    def deadline_for(self, spec: StepSpec) -> int | None:
        """The Job's ``activeDeadlineSeconds``: the statement's ``train.max_runtime``
        (``"6h"``, ``"90m"``, ``3600``), else the setting (null or 0: none)."""
        seconds = max_runtime(spec)
        return seconds if seconds is not None else (self.active_deadline_seconds or None)

    def patience(self) -> Patience:
        """How long each wait before the container runs may last (``kube_waits``)."""
        return Patience(**{f.name: getattr(self, f.name) for f in dataclasses.fields(Patience)})

    def step_env(self, spec: StepSpec, env: Mapping[str, str] | None) -> dict[str, str]:
        """The step's environment: the settings' ``env``, the orchestrator's, its id."""
        return {**self.env, **(env or {}), "SQLML_STEP_ID": spec.step_id}

    def pod_identity(self) -> dict[str, Any]:
        """The pod spec entries every pod of this launcher gets as configured — affinity,
        service account, image pull secrets — for step Jobs and serving Deployments alike."""
        out: dict[str, Any] = {}
        if self.affinity:
            out["affinity"] = self.affinity
        if self.service_account_name:
            out["serviceAccountName"] = self.service_account_name
        if self.image_pull_secrets:
            out["imagePullSecrets"] = [{"name": s} for s in self.image_pull_secrets]
        return out

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
            step_env = {**(env or {}), **session.get_bootstrap_env_vars()}
            manifest = self.job_manifest(
                spec,
                spec_uri,
                run_id=context.run_id,
                # The step's first asset: a TO RUN step writes several.
                asset_key=next(
                    iter(context.assets_def.keys_by_output_name.values())
                ).to_user_string(),
                env=step_env,
            )
            job = _JobRun(self, api, manifest, context, spec, spec_uri, reader)
            job.credentials = credentials_of(self.step_env(spec, step_env))
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
        self.api = api
        # Every call retries transient failures within one budget (kube_api.py).
        self.contact = Contact(
            launcher.api_retry_seconds, launcher.api_request_timeout_seconds, context.log.warning
        )
        self.batch = RetryingApi(kubernetes.client.BatchV1Api(api), self.contact)
        self.core = RetryingApi(kubernetes.client.CoreV1Api(api), self.contact)
        self.manifest = manifest
        self.name: str = manifest["metadata"]["name"]
        self.namespace = launcher.namespace
        self.context = context
        self.spec = spec
        self.spec_uri = spec_uri
        self.reader = reader
        self.logs: LogFollower | None = None
        self.log_lines: queue.Queue[str] = queue.Queue()
        self.pod_name: str | None = None
        #: The pod whose log is followed: the newest running one (a retry replaces it).
        self.log_pod: str | None = None
        #: Pods the cluster evicted or preempted, and what each says about it.
        self.disrupted: dict[str, str] = {}
        self.image_digest: str | None = None
        self.may_exist = False  # whether a Job of ours may exist under self.name
        #: Variables the container reads from the step's Secret (kube_secrets.py).
        self.credentials: dict[str, str] = {}
        self.secret_may_exist = False
        #: The headless Service a Job of several pods rendezvouses through (kube_distributed).
        self.service = service_manifest(manifest)
        self.service_may_exist = False

    def run(self) -> None:
        succeeded = False
        try:
            self.create()
            self.follow()
            self.finish_logs()
            succeeded = True
        finally:
            if self.logs is not None:
                self.logs.stop()
            if not succeeded and self.may_exist:  # failed, cancelled, broke: no orphans
                self.delete()
            if not succeeded and self.secret_may_exist:
                self.delete_secret()
            if self.service_may_exist:  # only the pods needed it: gone with them, or now
                self.delete_service()

    def create(self) -> None:
        """Create the Job; from the moment the request leaves, it may exist (its answer can
        be lost after the server accepted it), so ``run`` deletes it on any failure. The
        step's credentials go first, into a Secret the Job then owns."""
        if self.credentials:
            self.create_secret()
        if self.service is not None:  # before the pods, which look pod 0 up through it
            self.create_service()
        self.may_exist = True
        try:
            create_job(
                self.batch,
                self.namespace,
                self.manifest,
                {k: self.manifest["metadata"]["annotations"][k] for k in JOB_IDENTITY},
            )
        except NameTaken as e:
            self.may_exist = False  # somebody else's Job: never delete it
            raise StepFailed(description=f"{e}; run the step again for a new name") from None
        if self.credentials or self.service is not None:
            job = self.batch.read_namespaced_job(self.name, self.namespace)
        if self.credentials:  # garbage-collected with the Job from now on
            self.core.patch_namespaced_secret(
                secret_name(self.name), self.namespace, owned_by_job(job)
            )
        if self.service is not None:  # so is the Service of a run killed outright
            self.core.patch_namespaced_service(self.name, self.namespace, owned_by_job(job))
        self.context.log.info(
            f"created Job {self.namespace}/{self.name} with image "
            f"{self.manifest['spec']['template']['spec']['containers'][0]['image']}"
        )

    def follow(self) -> None:
        """Follow the Job (list, then watch: kube_watch.py) until it completes; at the end
        of each watch window, look at its pod for reasons that stop a Job without ending it
        (image pulls, scheduling)."""
        first_seen: dict[str, float] = {}
        states = job_states(
            self.batch, self.contact, self.namespace, self.name, self.launcher.watch_seconds
        )
        try:
            for job in states:
                self.drain_logs()
                if cancelled():  # a cancelled search's trial: run() deletes the Job
                    raise StepCancelled(description="the run was cancelled: the Job was deleted")
                if job is None:
                    self.inspect_pods(first_seen)
                    self.drain_logs()
                elif self.finished(job):
                    return
        except JobVanished as e:
            self.fail("JobDeleted", f"{e}: it was deleted outside the launcher")
        finally:
            states.close()

    def finished(self, job: Any) -> bool:
        """True on success; raises the step's failure as soon as the Job controller has
        decided it: ``FailureTarget`` (1.31+) comes first, ``Failed`` only once the pods it
        deletes have run out their grace period (up to 30 s later, the log often gone)."""
        conditions = {c.type: c for c in (job.status.conditions or []) if c.status == "True"}
        if "Complete" in conditions:
            self.follow_newest(self.pods())
            self.start_logs()
            self.record_image_digest()
            return True
        failed = conditions.get("FailureTarget") or conditions.get("Failed")
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
        """Look at the Job's pods: follow the newest one's log, count pods the cluster
        disrupted, and fail when the wait for a running container is over (``kube_waits``:
        refused pods, scheduling, images, Secrets, volumes), naming the event or waiting
        reason and the cluster's own message. Pods being deleted are not waited on."""
        pods = self.pods()
        self.note_disruptions(pods)
        newest = self.follow_newest(pods)
        if newest is not None and newest.status.phase in ("Running", "Succeeded", "Failed"):
            self.start_logs()
        for pod in pods:
            self.note_digest(pod)
        events = EventSource(
            job=lambda: read_events(self.core, self.namespace, "Job", self.name),
            pod=lambda name: read_events(self.core, self.namespace, "Pod", name),
        )
        waiting = [pod for pod in pods if not kube_pods.is_terminating(pod)]
        found = stuck(waiting, first_seen, time.monotonic(), self.launcher.patience(), events)
        if found is not None:
            self.fail(found.reason, found.message, pod=found.pod)

    def follow_newest(self, pods: list[Any]) -> Any | None:
        """The pod to follow from now on (:func:`kube_pods.current`; of several pods
        training together, rank 0's: :func:`kube_distributed.rank_zero`)."""
        newest = kube_pods.current(rank_zero(pods))
        if newest is not None:
            self.pod_name = newest.metadata.name
        return newest

    def note_disruptions(self, pods: list[Any]) -> None:
        """Remember each pod the cluster evicted or preempted; past ``max_disruptions`` the
        step fails with the last one's reason (the podFailurePolicy would replace them
        forever). A pod may vanish soon after, so each is noted when first seen."""
        for pod in pods:
            if kube_pods.disruption(pod) is not None and pod.metadata.name not in self.disrupted:
                self.disrupted[pod.metadata.name] = kube_pods.explain(pod)
                self.context.log.warning(
                    f"pod {pod.metadata.name} of Job {self.name}: {self.disrupted[pod.metadata.name]}"
                )
        limit = self.launcher.max_disruptions
        if limit is not None and len(self.disrupted) > limit:
            last = next(reversed(self.disrupted))
            self.fail(
                "Disrupted",
                f"{len(self.disrupted)} pods were evicted or preempted, more than "
                f"max_disruptions={limit}",
                pod=last,
            )

    def start_logs(self, replace: bool = False) -> None:
        """Follow the newest pod's log once it runs (kube_logs.py). A thread only reads
        lines; the step's own thread hands them to Pipes (:meth:`drain_logs`), because
        Dagster's event log is not safe to write from other threads. A newer pod (the retry
        of an evicted or preempted one) gets its own follower once the old pod's log has
        been read (``replace``: at once, the old one stopped)."""
        if self.pod_name is None and self.follow_newest(self.pods()) is None:
            return
        if self.logs is not None:
            if self.log_pod == self.pod_name:
                return
            if self.logs.thread.is_alive():
                if not replace:
                    return
                self.logs.stop()
            self.drain_logs()  # the old pod's lines first: the new pod's begin
        assert self.pod_name is not None
        self.log_pod = self.pod_name
        self.logs = LogFollower(
            self.api,
            self.namespace,
            self.log_pod,
            Contact(self.launcher.api_retry_seconds, self.launcher.api_request_timeout_seconds),
            self.log_lines,
        )
        self.logs.start()

    def drain_logs(self) -> None:
        from dagster._core.pipes.utils import extract_message_or_forward_to_stdout

        while self.logs is not None:
            try:
                self.context.log.info(self.logs.notices.get_nowait())
            except queue.Empty:
                break
        handler = self.reader._handler  # set while the Pipes session is open
        while True:
            try:
                line = self.log_lines.get_nowait()
            except queue.Empty:
                return
            if handler is not None and line:
                extract_message_or_forward_to_stdout(handler, line)

    def finish_logs(self) -> None:
        """After the Job: every line of the newest pod's log handed on, each once (the
        follower resumes a broken stream from its last timestamp); an older pod's log still
        being read is read first. A log that cannot be read to its end costs messages, not
        the step: the result is read from ``result.json``."""
        self.start_logs()
        if self.logs is not None and self.log_pod != self.pod_name:
            self.end_logs()  # a replaced pod's log, still being read
            self.start_logs(replace=True)
        self.end_logs()
        self.drain_logs()

    def end_logs(self) -> None:
        """Wait for the followed log's end, saying so when it does not come."""
        if self.logs is not None and not self.logs.join(timeout=LOG_END_SECONDS):
            self.context.log.warning(
                f"the log of {self.log_pod} was not read to its end; some step messages may "
                "be missing (the result is read from the data store)"
            )

    def fail(self, reason: str, message: str, pod: str | None = None) -> None:
        pod = pod or self.latest_pod()
        detail = self.explain_pod(pod) if pod else ""
        user_reason, code = step_error(self.spec_uri)
        text = (
            f"{code_prefix(code)}{self.spec.kind} step for '{self.spec.model_name}' failed: {reason}"
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
        """The pod a failure is explained from: the newest that failed, else the newest."""
        pod = kube_pods.to_explain(self.pods())
        return pod.metadata.name if pod is not None else None

    def explain_pod(self, pod_name: str) -> str:
        """What the pod itself says (:func:`kube_pods.explain`): an eviction, a
        preemption, a kubelet's refusal, OOMKilled, an exit code, a waiting reason."""
        import kubernetes

        try:
            pod = self.core.read_namespaced_pod(pod_name, self.namespace)
        except kubernetes.client.ApiException as e:
            # Gone already (a preempted pod is deleted): what was seen of it, if anything.
            return self.disrupted.get(pod_name, "") if e.status == 404 else ""
        return kube_pods.explain(pod)

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

    def create_secret(self) -> None:
        import kubernetes

        labels = self.manifest["metadata"]["labels"]
        self.secret_may_exist = True
        try:
            self.core.create_namespaced_secret(
                self.namespace,
                secret_manifest(self.name, self.namespace, labels, self.credentials),
            )
        except kubernetes.client.ApiException as e:
            if e.status != 409:  # 409: a retried create the server had accepted
                raise

    def delete_secret(self) -> None:
        """The Secret of a Job that never existed (or lost its owner) has no owner to be
        collected with: deleted here."""
        import kubernetes

        try:
            self.core.delete_namespaced_secret(secret_name(self.name), self.namespace)
        except kubernetes.client.ApiException as e:
            if e.status != 404:
                self.context.log.warning(
                    f"could not delete Secret {secret_name(self.name)}: {e.reason}"
                )
        except StepFailed as e:
            self.context.log.warning(
                f"could not delete Secret {self.namespace}/{secret_name(self.name)} "
                f"({e.description}); delete it with: kubectl delete secret -n "
                f"{self.namespace} {secret_name(self.name)}"
            )

    def create_service(self) -> None:
        import kubernetes

        assert self.service is not None
        self.service_may_exist = True
        try:
            self.core.create_namespaced_service(self.namespace, self.service)
        except kubernetes.client.ApiException as e:
            if e.status != 409:  # 409: a retried create the server had accepted
                raise
        self.context.log.info(
            f"created Service {self.namespace}/{self.name} for the rendezvous of "
            f"{self.manifest['spec']['completions']} pods"
        )

    def delete_service(self) -> None:
        """The rendezvous Service goes when the training ends, whatever its outcome: the
        Job may outlive it (``ttlSecondsAfterFinished``) but nothing looks pod 0 up then."""
        import kubernetes

        self.contact.ok()  # cleanup gets a budget of its own, even after losing contact
        try:
            self.core.delete_namespaced_service(self.name, self.namespace)
            self.service_may_exist = False
        except kubernetes.client.ApiException as e:
            if e.status == 404:
                self.service_may_exist = False
            else:
                self.context.log.warning(f"could not delete Service {self.name}: {e.reason}")
        except StepFailed as e:
            self.context.log.warning(
                f"could not delete Service {self.namespace}/{self.name} ({e.description}); "
                f"delete it with: kubectl delete service -n {self.namespace} {self.name}"
            )

    def delete(self) -> None:
        import kubernetes

        self.contact.ok()  # cleanup gets a budget of its own, even after losing contact
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
        except StepFailed as e:  # the API stayed unreachable: say what is left behind
            self.context.log.warning(
                f"could not delete Job {self.namespace}/{self.name} ({e.description}); "
                f"delete it with: kubectl delete job -n {self.namespace} {self.name}"
            )


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
    """A training step's version number is the last folder of its model URI — or, for a
    trial of a search, the folder holding its ``.trials/<n>``."""
    parts = spec.model_uri.rstrip("/").split("/")
    if len(parts) > 2 and parts[-2] == TRIALS_FOLDER:
        parts = parts[:-2]
    tail = parts[-1]
    return int(tail) if spec.kind in ("train", "register") and tail.isdigit() else None


def _is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def _is_pipes_message(line: str) -> bool:
    return '"__dagster_pipes_version"' in line
