"""Each step caps its frameworks' threads to its CPU budget (``contract/threads.py``).

Called first in a step, before any framework is imported: the budget goes into the
variables OpenMP, the BLAS libraries, numexpr and TensorFlow read when they load (and
which the step's own subprocesses inherit); the flavors then also tell the framework
that is already imported (``torch.set_num_threads``), so the cap holds in a process that
imported it earlier.
"""

from __future__ import annotations

import contextlib
import os

from ..contract.spec import StepSpec
from ..contract.threads import STEP_CPUS_ENV, THREAD_ENV, cpu_budget


def cap_threads(spec: StepSpec) -> int:
    """Set the step's thread variables to its budget; returns the budget."""
    budget = cpu_budget(spec.param("resources", "cpu"), os.environ)
    os.environ[STEP_CPUS_ENV] = str(budget)
    for name in THREAD_ENV:
        os.environ[name] = str(budget)
    return budget


def step_threads() -> int:
    """The budget :func:`cap_threads` set (every visible core when it did not run)."""
    return cpu_budget(None, os.environ)


def cap_torch() -> int:
    """PyTorch's intra-op threads at the step's budget (its inter-op pool can only be set
    before it first runs anything in parallel: left to ``OMP_NUM_THREADS`` then)."""
    import torch

    budget = step_threads()
    torch.set_num_threads(budget)
    with contextlib.suppress(RuntimeError):  # already used in this process
        torch.set_num_interop_threads(budget)
    return int(torch.get_num_threads())


def cap_tensorflow() -> int:
    """TensorFlow's two thread pools at the step's budget (before its first op; after it,
    ``TF_NUM_INTRAOP_THREADS`` set at the step's start already applied)."""
    import tensorflow as tf

    budget = step_threads()
    with contextlib.suppress(RuntimeError):  # TensorFlow is initialized already
        tf.config.threading.set_intra_op_parallelism_threads(budget)
        tf.config.threading.set_inter_op_parallelism_threads(budget)
    return int(tf.config.threading.get_intra_op_parallelism_threads() or budget)
