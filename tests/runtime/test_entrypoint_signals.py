"""A step stops on SIGTERM however it was launched. A Dagster process whose SIGINT is
ignored — started in the background by a shell, or by nohup — maps SIGTERM to SIG_IGN
too (``dagster._utils.interrupts``), and a local step inherits it: the entrypoint puts
SIGTERM back to its default, so a cancelled or timed-out step stops at once, as a
container's process does, instead of at the launcher's SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

#: Start the entrypoint the way such a launcher would: with SIGTERM ignored.
LAUNCHER_IGNORING_SIGTERM = (
    "import os, signal, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "os.execv(sys.executable, [sys.executable, '-m', 'sqlml_dagster.runtime', sys.argv[1]])"
)


def ignored_signals(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return int(line.split()[1], 16)
    raise AssertionError(f"no SigIgn for {pid}")


def test_a_step_launched_with_sigterm_ignored_still_stops_on_sigterm(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    os.mkfifo(spec)  # the step waits here for its spec: it is running, not finished
    step = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER_IGNORING_SIGTERM, str(spec)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    writer = None
    try:
        deadline = time.monotonic() + 60
        while writer is None and step.poll() is None and time.monotonic() < deadline:
            try:  # succeeds once the step opened its spec for reading: it is running
                writer = os.open(spec, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.1)
        assert writer is not None, f"the step never read its spec (exit {step.poll()})"
        sigterm = 1 << (signal.SIGTERM - 1)
        assert not ignored_signals(step.pid) & sigterm, "the entrypoint kept SIGTERM ignored"
        step.send_signal(signal.SIGTERM)
        assert step.wait(timeout=30) == -signal.SIGTERM
    finally:
        if writer is not None:
            os.close(writer)
        if step.poll() is None:
            step.kill()
            step.wait()
