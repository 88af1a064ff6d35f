"""The local launcher's Pipes message reader hands on whole messages only: a message the
step is still writing must wait for its newline, not stop the reader."""

from __future__ import annotations

import json
import time
from typing import Any

from dagster_pipes import PipesDefaultMessageWriter

from sqlml_dagster.launchers.pipes import CompleteLinesMessageReader


class Collected:
    """Receives what the reader hands on, as Dagster's message handler would."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.errors: list[str] = []

    def handle_message(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    def report_pipes_framework_exception(self, origin: str, exc_info: Any) -> None:
        self.errors.append(f"{origin}: {exc_info[1]}")


def test_a_message_written_in_two_parts_arrives_whole() -> None:
    handler = Collected()
    big = {"method": "report_custom_message", "params": {"payload": "x" * 20_000}}
    text = json.dumps(big) + "\n"
    with CompleteLinesMessageReader().read_messages(handler) as params:
        path = params[PipesDefaultMessageWriter.FILE_PATH_KEY]
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"method": "opened", "params": {}}) + "\n")
            f.write(text[:5_000])
            f.flush()
            time.sleep(0.2)  # the reader sees half a line here, and must wait
            f.write(text[5_000:])
            f.flush()
        time.sleep(0.2)
    assert handler.errors == []
    assert [m["method"] for m in handler.messages] == ["opened", "report_custom_message"]
    assert handler.messages[1] == big


def test_the_reader_stops_after_the_session_with_everything_read() -> None:
    handler = Collected()
    with (
        CompleteLinesMessageReader().read_messages(handler) as params,
        open(params[PipesDefaultMessageWriter.FILE_PATH_KEY], "a", encoding="utf-8") as f,
    ):
        for i in range(200):
            f.write(json.dumps({"method": "log", "params": {"i": i}}) + "\n")
    assert [m["params"]["i"] for m in handler.messages] == list(range(200))
