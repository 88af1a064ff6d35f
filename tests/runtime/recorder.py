"""A reporter for steps run in the test process: keeps what a step logs and reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlml_dagster.contract import StepResult, result_from_json


class Recorder:
    """A reporter that keeps what a step reports: the typed result, and ``payload``, the
    JSON that crosses the process boundary (checked to read back as the same result)."""

    def __init__(self) -> None:
        self.logs: list[str] = []
        self.metadata: dict[str, Any] = {}
        self.payload: dict[str, Any] = {}
        self.reported: StepResult | None = None

    def log(self, message: str) -> None:
        self.logs.append(message)

    def result(self, metadata: Mapping[str, Any], result: StepResult) -> None:
        self.metadata, self.reported, self.payload = dict(metadata), result, result.to_json()
        assert result_from_json(self.payload) == result
