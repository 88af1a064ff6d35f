"""How many CPU threads a step may use, decided the same way wherever it runs.

A framework left alone starts a thread per core it sees: on a 2-CPU machine running two
steps at once (trials of a search, two assets of a run) that is four busy threads on two
cores, and a PyTorch step runs several times slower than with the one core it has. So
every step caps its frameworks to its budget: ``resources.cpu`` when the statement sets
it (what Kubernetes gives the pod), else what the launcher hands it in
``$SQLML_STEP_CPUS`` (the local launcher: the cores divided among the local steps
running when it starts), else every core it sees.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping

from .quantities import QuantityError, parse_quantity

#: The CPU budget a launcher hands a step, in whole cores.
STEP_CPUS_ENV = "SQLML_STEP_CPUS"
#: What the step's own libraries and its subprocesses read: OpenMP (PyTorch, scikit-learn),
#: the BLAS libraries numpy may use, numexpr, TensorFlow's two pools.
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def visible_cores() -> int:
    """The cores this process may run on (its affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def cpu_budget(resources_cpu: object, environ: Mapping[str, str]) -> int:
    """Whole threads for a step: the smallest of ``resources.cpu`` (rounded up: 500m is
    one thread) and ``$SQLML_STEP_CPUS``, else every visible core."""
    found: list[int] = []
    if resources_cpu not in (None, ""):
        with contextlib.suppress(QuantityError):  # the launcher refuses it with its message
            found.append(max(1, math.ceil(parse_quantity(resources_cpu))))
    handed = environ.get(STEP_CPUS_ENV, "").strip()
    if handed.isdigit() and int(handed) > 0:
        found.append(int(handed))
    return min(found) if found else visible_cores()
