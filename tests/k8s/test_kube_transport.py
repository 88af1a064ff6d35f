"""The launcher's transport rules as tables: which failures are retried and for how long,
how log timestamps read, and which repeated log lines are dropped after a reconnect."""

from __future__ import annotations

from typing import Any

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from sqlml_dagster.launchers.base import StepFailed
from sqlml_dagster.launchers.kube_api import Contact, transient
from sqlml_dagster.launchers.kube_logs import SeenLines, parse_stamp

NO_POOL: Any = None  # urllib3's errors name the pool they came from; none here


def api_error(status: int, retry_after: str | None = None) -> ApiException:
    error = ApiException(status=status, reason="x")
    error.headers = {"Retry-After": retry_after} if retry_after else {}
    return error


@pytest.mark.parametrize(
    ("error", "wait"),
    [
        (api_error(429, "3"), 3.0),  # API Priority and Fairness: after its Retry-After
        (api_error(429), 0.0),
        (api_error(500), 0.0),  # etcdserver: leader changed
        (api_error(502), 0.0),
        (api_error(503, "1"), 1.0),
        (api_error(504), 0.0),
        (api_error(400), None),  # answers about the request are facts
        (api_error(401), None),
        (api_error(403), None),
        (api_error(404), None),
        (api_error(409), None),
        (api_error(410), None),  # the watch reader's to handle: list again
        (api_error(422), None),
        (urllib3.exceptions.ProtocolError("Connection broken"), 0.0),
        (urllib3.exceptions.ReadTimeoutError(NO_POOL, "/", "read timed out"), 0.0),
        (urllib3.exceptions.NewConnectionError(NO_POOL, "refused"), 0.0),
        (
            urllib3.exceptions.MaxRetryError(
                NO_POOL, "/", urllib3.exceptions.ResponseError("429s")
            ),
            0.0,
        ),
        (
            urllib3.exceptions.MaxRetryError(NO_POOL, "/", urllib3.exceptions.SSLError("bad cert")),
            None,
        ),
        (urllib3.exceptions.SSLError("bad cert"), None),
        (ConnectionResetError(104, "reset"), 0.0),
        (ValueError("a bug"), None),
    ],
)
def test_which_failures_are_retried(error: BaseException, wait: float | None) -> None:
    assert transient(error) == wait


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_budget_counts_failures_in_a_row_and_an_answer_restarts_it() -> None:
    fake = FakeTime()
    contact = Contact(budget=60, request_timeout=5, sleep=fake.sleep, clock=lambda: fake.now)
    calls: list[str] = []

    def flaky(outcomes: list[BaseException | None]) -> str:
        outcome = outcomes.pop(0)
        calls.append("call")
        if outcome is not None:
            raise outcome
        return "ok"

    # three failures, then an answer: retried with growing, jittered waits
    assert contact.call("list pods", flaky, [api_error(503)] * 3 + [None]) == "ok"
    assert len(fake.slept) == 3 and 0.25 <= fake.slept[0] <= 0.5 <= fake.slept[1] <= 1.0
    assert contact.lost_since is None  # the answer restarted the clock

    # a Retry-After longer than the backoff is honoured
    fake.slept.clear()
    assert contact.call("create", flaky, [api_error(429, "7"), None]) == "ok"
    assert fake.slept == [7.0]

    # an unreachable API: waits grow to 30 s, and the step fails once 60 s have passed
    with pytest.raises(StepFailed) as gave_up:
        contact.call("watch", flaky, [api_error(503)] * 1000)
    assert "lost contact with the Kubernetes API for 60 s" in str(gave_up.value.description)
    assert "503" in str(gave_up.value.description) and max(fake.slept) <= 30

    # a fact is not retried
    with pytest.raises(ApiException):
        Contact(60, 5, sleep=fake.sleep).call("get", flaky, [api_error(404)])


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        (b"2025-01-01T00:00:01.500000000Z hello", (1735689601_500000000, b"hello")),
        (b"2025-01-01T00:00:01.5Z hello", (1735689601_500000000, b"hello")),
        (b"2025-01-01T00:00:01Z hello", (1735689601_000000000, b"hello")),
        (b"2025-01-01T01:00:01.000000001+01:00 x y", (1735689601_000000001, b"x y")),
        (b"2025-01-01T00:00:01.000000000Z ", (1735689601_000000000, b"")),
        (b"hello", None),
        (b"2025-01-01 00:00:01 hello", None),
    ],
)
def test_log_timestamps_read_as_nanoseconds(line: bytes, parsed: tuple[int, bytes] | None) -> None:
    assert parse_stamp(line) == parsed


S = 1_000_000_000  # one second in nanoseconds


@pytest.mark.parametrize(
    ("connections", "delivered", "since"),
    [
        # a reconnect repeats the last line's second: its lines are dropped once each
        (
            [[(1 * S, b"a"), (2 * S + 1, b"b")], [(2 * S + 1, b"b"), (2 * S + 9, b"c")]],
            [b"a", b"b", b"c"],
            "1970-01-01T00:00:02Z",
        ),
        # the same line twice in the same instant was printed twice: both arrive once
        (
            [[(5 * S, b"x")], [(5 * S, b"x"), (5 * S, b"x"), (6 * S, b"y")]],
            [b"x", b"x", b"y"],
            "1970-01-01T00:00:06Z",
        ),
        # a torn line was never handed on: it arrives whole after the reconnect
        (
            [[(3 * S, b"p")], [(3 * S, b"p"), (3 * S + 5, b"q")]],
            [b"p", b"q"],
            "1970-01-01T00:00:03Z",
        ),
        # two reconnects in the same second
        (
            [
                [(7 * S, b"m")],
                [(7 * S, b"m"), (7 * S + 2, b"n")],
                [(7 * S, b"m"), (7 * S + 2, b"n")],
            ],
            [b"m", b"n"],
            "1970-01-01T00:00:07Z",
        ),
        # nothing read yet: the next connection starts at the beginning
        ([[]], [], None),
    ],
)
def test_a_reconnect_drops_exactly_the_repeated_lines(
    connections: list[list[tuple[int, bytes]]], delivered: list[bytes], since: str | None
) -> None:
    seen = SeenLines()
    out: list[bytes] = []
    for lines in connections:
        seen.reconnecting()
        out += [content for stamp, content in lines if seen.fresh(stamp, content)]
    assert out == delivered
    assert seen.since() == since
