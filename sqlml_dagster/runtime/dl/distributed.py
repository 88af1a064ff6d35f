"""Data-parallel PyTorch training: the step's processes, their group and their shards.

``train.num_workers = W`` (CPU) or ``resources.gpu = N > 1`` makes one training run in
several processes under ``torch.distributed``: ``gloo`` on CPU, ``nccl`` on CUDA, the
network wrapped in ``DistributedDataParallel``, which all-reduces gradients. The processes
are started here, under the step's entrypoint, so a local step and a Kubernetes pod run
the same code: the process the launcher started is local rank 0 and starts the others
with ``torch.multiprocessing`` (spawned: CUDA and gloo want fresh interpreters), each of
which runs the same step with torchrun's variables (``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``) set. A pod of an Indexed Job arrives
with ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` from the launcher and its rank
from ``JOB_COMPLETION_INDEX``; a local step has none and rendezvouses on loopback.

Every rank reads the same rows and draws the same shuffled minibatches (one seed); each
trains on its own contiguous part of every minibatch, its loss weighted by its share of the
rows, so the averaged gradient is the whole minibatch's: ``train.batch_size`` is the global
batch, and the weights match one process's within float rounding (``docs/deep-learning.md``).
Only rank 0 publishes.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ...contract import distributed as contract
from ...contract.spec import StepSpec
from ...contract.threads import STEP_CPUS_ENV
from .. import Reporter, StepError

RANK_FAILED = contract.RANK_FAILED
CUSTOM_LOOP = contract.CUSTOM_LOOP
NOT_DISTRIBUTABLE = contract.NOT_DISTRIBUTABLE


@dataclass(frozen=True)
class World:
    """This process's place in a distributed training."""

    rank: int
    size: int
    local_rank: int
    backend: str

    @property
    def leader(self) -> bool:
        """Rank 0: the one process that publishes."""
        return self.rank == 0

    def summary(self) -> dict[str, Any]:
        """What ``signature.json`` records about how the version was trained."""
        return {"world_size": self.size, "backend": self.backend}


def requested(spec: StepSpec) -> bool:
    """Whether the statement asks for more than one process, or this process is one of a
    group the launcher started (a pod of an Indexed Job)."""
    return contract.world_size(spec.params) > 1 or contract.WORLD_SIZE in os.environ


@contextlib.contextmanager
def joined(spec: StepSpec, reporter: Reporter, cuda: bool) -> Iterator[World | None]:
    """This process inside its group, the other local processes started first when it is
    local rank 0; ``None`` for a training in one process. On leaving, the group is
    destroyed and the local processes joined: one that failed fails the step (SQLML530)."""
    env = os.environ
    if not requested(spec):
        yield None
        return
    children: Any = None
    if contract.RANK in env:  # started by a local rank 0 below
        rank, size = int(env[contract.RANK]), int(env[contract.WORLD_SIZE])
        local_rank = int(env.get(contract.LOCAL_RANK, "0"))
        per_pod = int(env.get(contract.LOCAL_WORLD_SIZE, "1"))
    else:
        per_pod = int(env.get(contract.LOCAL_WORLD_SIZE) or 0) or _local_processes(spec, cuda)
        if contract.WORLD_SIZE in env:  # a pod: the launcher said where rank 0 listens
            size = int(env[contract.WORLD_SIZE])
            pod = int(env.get(contract.NODE_RANK) or env.get(contract.JOB_COMPLETION_INDEX) or 0)
        else:  # the local launcher: every process on this machine, on loopback
            size, pod = per_pod, 0
        if size == 1:  # resources.gpu > 1 on a machine without them
            yield None
            return
        if contract.WORLD_SIZE not in env:
            env.setdefault(contract.MASTER_ADDR, "127.0.0.1")
            env.setdefault(contract.MASTER_PORT, str(_free_port()))
        rank, local_rank = pod * per_pod, 0
        env.update(
            {
                contract.WORLD_SIZE: str(size),
                contract.LOCAL_WORLD_SIZE: str(per_pod),
                contract.RANK: str(rank),
                contract.LOCAL_RANK: "0",
            }
        )
        if per_pod > 1:
            children = _start(spec, rank, per_pod)
    _share_cores(per_pod)
    import torch
    import torch.distributed as dist

    # nccl wants a GPU of its own per process; more processes than GPUs on one machine
    # (train.num_workers locally beside one GPU) share them through gloo instead
    gpus = torch.cuda.device_count() if cuda else 0
    backend = "nccl" if cuda and per_pod <= gpus else "gloo"
    world = World(rank=rank, size=size, local_rank=local_rank, backend=backend)
    if cuda:
        torch.cuda.set_device(local_rank % max(1, gpus))
    reporter.log(
        f"distributed training: rank {rank} of {size} ({backend}, rendezvous at "
        f"{env[contract.MASTER_ADDR]}:{env[contract.MASTER_PORT]}, pid {os.getpid()})"
    )
    try:
        dist.init_process_group(backend, init_method="env://", rank=rank, world_size=size)
        yield world
    except BaseException as e:
        failed = _failures(children, stop=True)
        if failed:
            raise StepError(f"distributed training failed: {failed}", RANK_FAILED) from None
        if isinstance(e, (StepError, KeyboardInterrupt)):
            raise
        if isinstance(e, RuntimeError) and _is_peer_loss(e):
            raise StepError(
                f"distributed training failed: rank {rank} lost its group ({_first_line(e)}); "
                "another process of the training failed or never started",
                RANK_FAILED,
            ) from None
        raise
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    failed = _failures(children, stop=False)
    if failed:
        raise StepError(f"distributed training failed: {failed}", RANK_FAILED)


def wrap(network: Any, world: World | None) -> Any:
    """The module training runs through: ``DistributedDataParallel`` around the network
    (whose own state dict, without DDP's ``module.`` prefix, is what is saved)."""
    if world is None:
        return network
    import torch
    from torch.nn.parallel import DistributedDataParallel

    device = next(network.parameters()).device
    ids = [torch.cuda.current_device()] if device.type == "cuda" else None
    return DistributedDataParallel(network, device_ids=ids)


def shards(
    minibatches: Iterable[tuple[tuple[Any, ...], Any]], world: World | None
) -> Iterator[tuple[tuple[Any, ...], Any, float]]:
    """Each minibatch's part for this rank — the DistributedSampler's disjoint split, taken
    of every minibatch so the global batch stays ``train.batch_size`` — with the weight its
    loss gets so that averaging the ranks' gradients gives the whole minibatch's:
    (this rank's rows * ranks) / the minibatch's rows. One process: every minibatch, 1.0."""
    if world is None:
        for inputs, labels in minibatches:
            yield inputs, labels, 1.0
        return
    for inputs, labels in minibatches:
        rows = int(labels.shape[0])
        parts = [t.tensor_split(world.size)[world.rank] for t in (*inputs, labels)]
        mine = int(parts[-1].shape[0])
        yield tuple(parts[:-1]), parts[-1], mine * world.size / max(rows, 1)


def summed(world: World | None, total: float, rows: int) -> tuple[float, int]:
    """An epoch's loss total and rows added up over the ranks, identical on every rank
    afterwards, so early stopping decides the same everywhere."""
    if world is None:
        return total, rows
    import torch
    import torch.distributed as dist

    device = "cuda" if world.backend == "nccl" else "cpu"
    tensor = torch.tensor([total, float(rows)], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return float(tensor[0]), int(tensor[1])


def refuse_custom_loop(world: World | None, reference: str) -> None:
    if world is not None:
        raise StepError(
            f"{reference}: its module's sqlml_train_loop owns training, which cannot be "
            f"split over {world.size} processes; drop train.num_workers (or resources.gpu > 1) "
            "or the sqlml_train_loop",
            CUSTOM_LOOP,
        )


def refuse(spec: StepSpec, flavor: str) -> None:
    """A flavor that trains in one process, asked for several (an ``auto`` model that is
    not a ``torch.nn.Module``; ``sqlml check`` refuses the flavors it knows, SQLML440)."""
    workers = spec.param("train", "num_workers", 1)
    if contract.num_workers(spec.params) > 1:
        raise StepError(
            f"train.num_workers = {workers}: {spec.model_reference} "
            f"is a {flavor} model, which trains in one process; only PyTorch models train in "
            "several",
            NOT_DISTRIBUTABLE,
        )


# -- the local processes ------------------------------------------------------------------


def _local_processes(spec: StepSpec, cuda: bool) -> int:
    """Processes on this machine when no launcher said: ``train.num_workers`` (the pods a
    local step stands in for) times one per requested GPU when there are several
    (``resources.gpu``) and CUDA is there to give them."""
    gpus = contract.processes_per_pod(spec.params) if cuda else 1
    return contract.num_workers(spec.params) * gpus


def _share_cores(per_pod: int) -> None:
    """The step's CPU budget divided among its processes on this machine (read by
    ``threads.cap_torch`` afterwards)."""
    budget = int(os.environ.get(STEP_CPUS_ENV) or os.cpu_count() or 1)
    os.environ[STEP_CPUS_ENV] = str(max(1, budget // max(1, per_pod)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(spec: StepSpec, first_rank: int, per_pod: int) -> Any:
    """Local ranks 1 to per_pod - 1, spawned by ``torch.multiprocessing`` (not joined yet)."""
    import torch.multiprocessing as mp

    env = {k: os.environ[k] for k in _INHERITED if k in os.environ}
    return mp.start_processes(
        _rank_main,
        args=(spec.to_json(), env, first_rank),
        nprocs=per_pod - 1,
        join=False,
        start_method="spawn",
    )


_INHERITED = (
    contract.MASTER_ADDR,
    contract.MASTER_PORT,
    contract.WORLD_SIZE,
    contract.LOCAL_WORLD_SIZE,
    STEP_CPUS_ENV,
)


def _rank_main(index: int, spec_json: str, env: Mapping[str, str], first_rank: int) -> None:
    """A spawned process: the same step at the next local rank, reporting to stderr."""
    from .. import run_step

    os.environ.update(env)
    os.environ[contract.LOCAL_RANK] = str(index + 1)
    os.environ[contract.RANK] = str(first_rank + index + 1)
    run_step(StepSpec.from_json(spec_json), _RankReporter(first_rank + index + 1))
    # as the entrypoint does: native libraries may abort in their static destructors at
    # exit, which would read as this rank failing after its work was done
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class _RankReporter:
    """A rank other than 0 logs to stderr and never has a result to report."""

    def __init__(self, rank: int) -> None:
        self.rank = rank

    def log(self, message: str) -> None:
        print(f"[sqlml rank {self.rank}] {message}", file=sys.stderr, flush=True)

    def result(self, metadata: Mapping[str, Any], result: Any) -> None:
        raise AssertionError("only rank 0 publishes")


def _failures(children: Any, stop: bool) -> str:
    """What went wrong in the local processes, after waiting for them (stopping them
    first when this process failed)."""
    if children is None:
        return ""
    if stop:
        for process in children.processes:
            if process.is_alive():
                process.terminate()
    problems = []
    try:
        while not children.join():
            pass
    except Exception as e:  # ProcessRaisedException / ProcessExitedException
        problems.append(_first_line(e, last=True))
    for offset, process in enumerate(children.processes):
        if process.exitcode not in (0, None) and not stop:
            problems.append(f"local rank {offset + 1} exited with status {process.exitcode}")
    return "; ".join(dict.fromkeys(problems))


def _is_peer_loss(error: BaseException) -> bool:
    text = str(error).lower()
    return any(
        word in text for word in ("connection closed", "connection reset", "timed out", "peer")
    )


def _first_line(error: BaseException, last: bool = False) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if last:  # a child's traceback: its last line is the exception
        return lines[-1]
    return lines[0]


__all__ = [
    "CUSTOM_LOOP",
    "NOT_DISTRIBUTABLE",
    "RANK_FAILED",
    "World",
    "joined",
    "refuse",
    "refuse_custom_loop",
    "requested",
    "shards",
    "summed",
    "wrap",
]
