"""A step's stderr without TensorFlow's load-time banners (``contract/logs.py``).

The banners are written by C++ straight to file descriptor 2 while the library loads, so
nothing in Python can filter them as they pass; instead, while a framework is imported,
descriptor 2 points at a temporary file, and afterwards every line of it that is not a
banner is written to the real stderr, in order. Only imports are wrapped: a step's own
lines and its progress reach the log as they happen, and a crash while training still
prints where it always did.
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


def quiet_framework_env() -> None:
    """The frameworks' log-level defaults, before any of them is imported (a value the
    step's environment sets stays)."""
    for name, value in FRAMEWORK_LOG_ENV.items():
        os.environ.setdefault(name, value)


@contextlib.contextmanager
def framework_banners_dropped() -> Iterator[None]:
    """Within the block, stderr (descriptor 2) is collected; when it ends, what was
    collected is written to the real stderr less :func:`is_framework_banner` lines."""
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
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            collected.seek(0)
            for line in collected:  # also when the import failed: its reason is here
                if not is_framework_banner(line):
                    os.write(2, line)
    finally:
        os.close(saved)
        collected.close()


def import_quietly(name: str) -> Any:
    """``importlib.import_module(name)`` without the framework banners it prints."""
    with framework_banners_dropped():
        return importlib.import_module(name)


def preload_tensorflow() -> None:
    """TensorFlow loaded now, quietly, when installed — before a Keras step imports it in
    the middle of its work, where its banners would go straight to the log."""
    if importlib.util.find_spec("tensorflow") is not None:
        import_quietly("tensorflow")
