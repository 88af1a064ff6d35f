"""Reading a step's Pipes messages from a local file, one complete line at a time."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster_pipes import PipesDefaultMessageWriter


class CompleteLinesMessageReader(dg.PipesMessageReader):
    """Dagster's temp-file message reader, handing on only complete lines.

    Dagster's reader tails the file with ``readline()``, which returns whatever part of a
    line is on disk; a message the step is still writing (a write crossing a page boundary)
    then fails to parse and stops the reader, and the step "finishes without a result".
    A training step's per-epoch progress makes that likely enough to have failed a CI run,
    so this reader keeps a partial line until its newline arrives.
    """

    @property
    def expected_writer_count(self) -> int:
        """One step process writes the messages. Dagster's base answers the same but is
        marked preview and read for every session: stated here, no PreviewWarning per step."""
        return 1

    @contextmanager
    def read_messages(self, handler: Any) -> Iterator[dict[str, Any]]:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "messages")
            open(path, "w", encoding="utf-8").close()
            finished = threading.Event()
            reader = threading.Thread(
                target=self._read, args=(path, handler, finished), daemon=True
            )
            reader.start()
            try:
                yield {
                    PipesDefaultMessageWriter.FILE_PATH_KEY: path,
                    PipesDefaultMessageWriter.INCLUDE_STDIO_IN_MESSAGES_KEY: False,
                }
            finally:
                finished.set()
                reader.join()

    @staticmethod
    def _read(path: str, handler: Any, finished: threading.Event) -> None:
        pending = ""
        try:
            with open(path, encoding="utf-8") as messages:
                while True:
                    text = messages.readline()
                    if text:
                        pending += text
                        if pending.endswith("\n"):
                            handler.handle_message(json.loads(pending))
                            pending = ""
                    elif finished.is_set():
                        break
                    else:
                        time.sleep(0.01)
        except Exception:
            handler.report_pipes_framework_exception(
                "CompleteLinesMessageReader reader thread", sys.exc_info()
            )
            raise

    def no_messages_debug_text(self) -> str:
        return "Attempted to read messages from a local temporary file."
