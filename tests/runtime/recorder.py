"""A reporter for steps run in the test process: keeps what a step logs and reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Recorder:
    """A reporter that keeps what a step reports."""

    def __init__(self) -> None:
        self.logs: list[str] = []
        self.metadata: dict[str, Any] = {}
        self.payload: dict[str, Any] = {}

    def log(self, message: str) -> None:
        self.logs.append(message)

    def result(self, metadata: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        self.metadata, self.payload = dict(metadata), dict(payload)
