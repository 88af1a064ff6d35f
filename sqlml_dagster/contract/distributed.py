"""Data-parallel training as every layer spells it (``train.num_workers``, ``resources.gpu``).

The compiler refuses workers for a flavor that cannot train in several processes, the
Kubernetes launcher turns workers into an Indexed Job's pods and a headless Service for
their rendezvous, and the runtime starts one process per GPU of a pod (one per worker on
CPU when the step runs locally) under ``torch.distributed``. All three read how many
processes a statement asks for here, and the environment variables that carry the answer
into a pod are torchrun's own names, so a step image needs nothing of ours to read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: ``WITH train.num_workers = W``: processes (pods on Kubernetes) training one model.
NUM_WORKERS = "num_workers"
#: The flavors whose steps train in several processes: PyTorch (DistributedDataParallel);
#: ``auto`` when its class turns out to be a ``torch.nn.Module`` (the runtime refuses the rest).
DISTRIBUTED_FLAVORS = ("pytorch", "auto")

#: What a distributed training's step writes into its error.json (docs/diagnostics.md):
#: a process of the group failed or never joined; a model module's ``sqlml_train_loop``
#: cannot be split over processes; ``train.num_workers > 1`` for a model that is not a
#: ``torch.nn.Module`` (``sqlml check`` refuses the flavors it knows: SQLML440).
RANK_FAILED = "SQLML530"
CUSTOM_LOOP = "SQLML531"
NOT_DISTRIBUTABLE = "SQLML532"

#: torchrun's environment: where rank 0's rendezvous store listens, how many processes
#: train in all and on this pod. The rank of a pod is its Indexed Job completion index.
MASTER_ADDR = "MASTER_ADDR"
MASTER_PORT = "MASTER_PORT"
WORLD_SIZE = "WORLD_SIZE"
RANK = "RANK"
LOCAL_RANK = "LOCAL_RANK"
LOCAL_WORLD_SIZE = "LOCAL_WORLD_SIZE"
NODE_RANK = "NODE_RANK"
#: Set by Kubernetes in every pod of an Indexed Job.
JOB_COMPLETION_INDEX = "JOB_COMPLETION_INDEX"
#: torchrun's default rendezvous port, the launcher's default (``rendezvous_port``).
DEFAULT_PORT = 29500


def num_workers(params: Mapping[str, Mapping[str, Any]]) -> int:
    """``train.num_workers`` (1 when unset or not a whole number of at least 1)."""
    value = params.get("train", {}).get(NUM_WORKERS, 1)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        return 1
    return max(1, int(value))


def processes_per_pod(params: Mapping[str, Mapping[str, Any]]) -> int:
    """One process per requested GPU when a pod has several, else one."""
    value = params.get("resources", {}).get("gpu", 0)
    try:
        gpus = int(float(str(value)))
    except ValueError:
        return 1
    return gpus if gpus > 1 else 1


def world_size(params: Mapping[str, Mapping[str, Any]]) -> int:
    """Processes training one model in all: workers (pods) times processes per pod."""
    return num_workers(params) * processes_per_pod(params)


def workers_value_problem(value: object) -> str | None:
    """Why ``train.num_workers = value`` is no number of workers (``None``: it is one)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return f"a whole number of at least 1, found {value!r}"
    return None


#: Flavors whose SQLFlow statements ask for workers (distributed XGBoost on PAI) and that
#: train the same model in one process: ``train.num_workers > 1`` is ignored with a warning
#: (SQLML414, ``contract.settings.IGNORED_SETTINGS``), not refused.
ONE_PROCESS_TOLERATED = ("xgboost",)


def workers_problem(flavor: str, value: object) -> str | None:
    """Why a ``flavor`` model cannot train with ``train.num_workers = value`` (``None``: it
    can)."""
    problem = workers_value_problem(value)
    if problem is not None:
        return problem
    assert isinstance(value, int)
    if value > 1 and flavor not in (*DISTRIBUTED_FLAVORS, *ONE_PROCESS_TOLERATED):
        return (
            f"a {flavor} model trains in one process; only PyTorch models train in several "
            "(DistributedDataParallel)"
        )
    return None
