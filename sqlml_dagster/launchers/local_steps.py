"""The local steps running on this machine, counted across processes, so the local
launcher can divide the cores among them (``contract/threads.py``).

Dagster's multiprocess executor runs each asset in a process of its own and a search runs
its trials in threads of one: neither knows the others. Each running step holds a marker
file, ``<pid>-<token>``, in one folder under the system's temporary directory; counting
the markers of live processes tells a starting step how many share the cores. A marker of
a process that died without removing it is not counted (and is removed).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..contract.threads import visible_cores

#: Where the markers live (one folder per user: other users' steps are not counted).
DEFAULT_FOLDER = Path(tempfile.gettempdir()) / f"sqlml-local-steps-{getattr(os, 'getuid', int)()}"


class LocalSteps:
    """The markers of running local steps in ``folder``."""

    def __init__(self, folder: Path = DEFAULT_FOLDER):
        self.folder = folder

    @contextlib.contextmanager
    def running(self) -> Iterator[int]:
        """Mark a step as running while the block runs; yields its share of the cores."""
        self.folder.mkdir(parents=True, exist_ok=True)
        marker = self.folder / f"{os.getpid()}-{secrets.token_hex(6)}"
        marker.touch()
        try:
            yield max(1, visible_cores() // self.count())
        finally:
            marker.unlink(missing_ok=True)

    def count(self) -> int:
        """Running steps, this one included."""
        live = 0
        for marker in self.folder.iterdir():
            pid = marker.name.split("-", 1)[0]
            if pid.isdigit() and _alive(int(pid)):
                live += 1
            else:
                marker.unlink(missing_ok=True)
        return max(1, live)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process with a recycled pid: count it
        return True
    return True
