"""Pausing Python's cyclic garbage collector while a project is built.

Compiling a project and building its Dagster definitions allocate many objects that all
stay alive until the end (every statement's tree; every asset, op and spec), so each
collection meanwhile re-scans all of them and frees nothing: about a fifth of the
definitions' load time (bench/bench_definitions.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """No automatic collection inside the block; nested blocks leave it to the outermost."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                # Hand the objects allocated meanwhile to the oldest generation without
                # scanning them: otherwise the first allocation after gc.enable() runs a
                # young collection over every one of them.
                gc.freeze()
                gc.unfreeze()
            gc.enable()
