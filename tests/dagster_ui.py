"""A real ``dagster-webserver`` on loopback, for tests and the docs' screenshot script.

The webserver runs as its own process group (it starts a code server for the code
location as a child), so stopping it ends every process it started — also when the test
that uses it fails — and :func:`dagster_webserver` checks that none is left behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Whether the code location loaded, and why not when it did not.
LOCATION_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message causes { message } }
        }
      }
    }
  }
}
"""


class WebserverError(RuntimeError):
    """The webserver did not come up, or its code location did not load."""


@dataclass(frozen=True)
class Webserver:
    """A started webserver: its URL and the file collecting its output."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST a query to ``/graphql``; GraphQL errors raise with the server's message."""
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": dict(variables or {})}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer: dict[str, Any] = json.load(response)
        if answer.get("errors"):
            raise WebserverError(f"GraphQL errors: {answer['errors']}")
        data: dict[str, Any] = answer["data"]
        return data

    def output(self, last: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-last:] if self.log.exists() else ""


def free_port() -> int:
    """A port nothing listens on right now (the kernel's choice, on loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def dagster_webserver(
    module: str | None = None,
    *,
    python_file: Path | None = None,
    cwd: Path,
    dagster_home: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 240.0,
) -> Iterator[Webserver]:
    """``dagster-webserver -m MODULE`` (or ``-f PYTHON_FILE``) on 127.0.0.1 and a free
    port, with instance state in ``dagster_home``; yields once its code location has
    loaded, stops it on exit."""
    target = ("-m", module) if module else ("-f", str(python_file))
    dagster_home.mkdir(parents=True, exist_ok=True)
    log = dagster_home / "webserver.log"
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("dagster-webserver")),
        *target,
        *("-h", "127.0.0.1", "-p", str(port)),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **(env or {}), "DAGSTER_HOME": str(dagster_home)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: one signal reaches its children
        )
    server = Webserver(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        wait_until_loaded(server, timeout)
        yield server
    finally:
        left = stop(process)
        if left:
            raise WebserverError(f"processes left running after the webserver stopped: {left}")


def wait_until_loaded(server: Webserver, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise WebserverError(
                f"dagster-webserver exited with {server.process.returncode}:\n{server.output()}"
            )
        try:
            workspace = server.graphql(LOCATION_QUERY)["workspaceOrError"]
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
            continue
        entries = workspace.get("locationEntries", [])
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            errors = [
                "\n".join([error["message"], *(c["message"] for c in error["causes"])])
                for error in (e["locationOrLoadError"] for e in entries)
                if error["__typename"] == "PythonError"
            ]
            if errors:
                raise WebserverError("the code location failed to load:\n" + "\n".join(errors))
            return
        time.sleep(0.5)
    raise WebserverError(f"dagster-webserver not ready after {timeout:.0f}s:\n{server.output()}")


def stop(process: subprocess.Popen[bytes], grace: float = 30.0) -> list[int]:
    """SIGTERM the process group, SIGKILL what is left after ``grace`` seconds; returns
    the ids of group members still alive afterwards (none, when all went well)."""
    group = process.pid  # start_new_session: the group id is the leader's pid
    _signal_group(group, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    deadline = time.monotonic() + grace
    while _members(group) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _members(group):
        _signal_group(group, signal.SIGKILL)
        process.wait(timeout=grace)
        time.sleep(0.5)
    return _members(group)


def _signal_group(group: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(group, sig)


def _members(group: int) -> list[int]:
    """Live (not zombie) processes of the group: ``/proc`` where there is one, else
    whether the group still answers a signal."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return []
        return [group]
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp …; comm may contain spaces, so split after ")"
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == group:
            found.append(int(entry.name))
    return found
