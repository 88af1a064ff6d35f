"""A step's stderr without TensorFlow's load-time banners (``contract/logs.py``).

The banners are written by C++ straight to file descriptor 2 while the library loads, so
nothing in Python can filter them as they pass; instead, while a framework is imported,
descriptor 2 points at a temporary file, and afterwards every line of it that is not a
banner is written to the real stderr, in order. Only imports are wrapped: a step's own
lines and its progress reach the log as they happen, and a crash while training still
prints where it always did.

TensorFlow also probes for CUDA once per process, the first time anything asks for
devices; on a machine without a GPU that probe logs an error line. For a step that asked
for no GPU (:func:`quiet_step`) the probe is made inside the quiet block, right after
TensorFlow loads, and its failure dropped; a step that asked for a GPU keeps it — it is
the one hint why it trains on the CPU.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

from ..contract.logs import FRAMEWORK_LOG_ENV, is_framework_banner
from ..contract.spec import StepSpec

#: Whether this process's step asked for no GPU (one step per runtime process).
_cpu_only = False


def quiet_framework_env() -> None:
    """The frameworks' log-level defaults, before any of them is imported (a value the
    step's environment sets stays)."""
    for name, value in FRAMEWORK_LOG_ENV.items():
        os.environ.setdefault(name, value)


def quiet_step(spec: StepSpec) -> None:
    """What this process's step asked for, before anything is imported for it."""
    global _cpu_only
    _cpu_only = not wants_gpu(spec)


def wants_gpu(spec: StepSpec) -> bool:
    """Whether a step asked for a GPU (``resources.gpu``, ``train.device = 'cuda…'``)."""
    gpus = str(spec.param("resources", "gpu", 0) or 0).strip()
    device = str(spec.param("train", "device", "") or "").lower()
    return gpus not in ("0", "0.0", "") or device.startswith(("cuda", "gpu"))


@contextlib.contextmanager
def framework_banners_dropped() -> Iterator[None]:
    """Within the block, stderr (descriptor 2) is collected; when it ends, what was
    collected is written to the real stderr less :func:`is_framework_banner` lines (and,
    for a step that asked for no GPU, the failed CUDA probe)."""
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to protect
        yield
        return
    collected = tempfile.TemporaryFile()  # noqa: SIM115  # closed in finally
    try:
        os.dup2(collected.fileno(), 2)
        try:
            yield
            if _cpu_only:
                _probe_devices()
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            collected.seek(0)
            for line in collected:  # also when the import failed: its reason is here
                if not is_framework_banner(line, cpu_only=_cpu_only):
                    os.write(2, line)
    finally:
        os.close(saved)
        collected.close()


def _probe_devices() -> None:
    """TensorFlow's once-per-process CUDA probe, now, if TensorFlow is loaded."""
    tensorflow = sys.modules.get("tensorflow")
    config = getattr(tensorflow, "config", None)
    if config is not None:
        with contextlib.suppress(Exception):
            config.list_physical_devices("GPU")


def import_quietly(name: str) -> Any:
    """``importlib.import_module(name)`` without the framework banners it prints."""
    with framework_banners_dropped():
        return importlib.import_module(name)


def preload_tensorflow() -> None:
    """TensorFlow loaded now, quietly, when installed — before a Keras step imports it in
    the middle of its work, where its banners would go straight to the log."""
    if importlib.util.find_spec("tensorflow") is not None:
        import_quietly("tensorflow")
