"""A backing service's outage, as the background loops log it: one line when it starts,
a reminder at most every minute, one line when it ends, never a traceback; a failure
that is not an outage (a bug) keeps its traceback every time."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
import redis

from resolvers.outage import OutageLog
from resolvers.subscriptions.bus import RedisBus


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def records(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == name]


def test_an_outage_is_one_line_then_a_reminder_a_minute_then_its_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    log = OutageLog(logging.getLogger("t.outage"), "listener", every=60, clock=clock)
    caplog.set_level(logging.INFO, "t.outage")
    for second in range(150):  # a retry every second for 150 s
        clock.now = float(second)
        log.failed(redis.ConnectionError("Error 111 connecting to 127.0.0.1:1."))
    assert log.down
    clock.now = 151.0
    log.recovered()
    log.recovered()  # nothing more: it was already back
    lines = records(caplog, "t.outage")
    assert [r.levelname for r in lines] == ["WARNING", "WARNING", "WARNING", "INFO"]
    assert "service unavailable (ConnectionError: Error 111" in lines[0].getMessage()
    assert "still unavailable after 61 failures in 60 s" in lines[1].getMessage()
    assert "still unavailable after 121 failures in 120 s" in lines[2].getMessage()
    assert lines[3].getMessage() == "listener: service back after 150 failures in 151 s"
    assert all(r.exc_info is None for r in lines)
    assert not log.down


def test_a_bug_keeps_its_traceback_every_time(caplog: pytest.LogCaptureFixture) -> None:
    log = OutageLog(logging.getLogger("t.bug"), "scheduler")
    caplog.set_level(logging.INFO, "t.bug")
    for _ in range(3):
        log.failed(KeyError("job"), "monthly_statements for 2026-12")
    lines = records(caplog, "t.bug")
    assert len(lines) == 3
    assert all(r.levelname == "ERROR" and r.exc_info is not None for r in lines)
    assert lines[0].getMessage() == "scheduler failed: monthly_statements for 2026-12"
    assert not log.down


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(30)
async def test_the_event_bus_with_redis_down_logs_one_line_per_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No Redis at all (a closed port): 50 publishes and 3 s of a listener reconnecting
    every second write one warning each, no traceback, and never raise."""
    caplog.set_level(logging.INFO, "resolvers.subscriptions.bus")
    bus = RedisBus(f"redis://127.0.0.1:{_closed_port()}/0", "pgtest-outage")
    await bus.start()
    try:
        for n in range(50):
            bus.publish([n + 1])
        await asyncio.sleep(3)
    finally:
        await bus.stop()
    lines = records(caplog, "resolvers.subscriptions.bus")
    assert all(r.exc_info is None for r in lines), [r.getMessage() for r in lines]
    assert sorted(r.getMessage().split(":")[0] for r in lines) == [
        "event bus listener on pgtest-outage",
        "event bus publish to pgtest-outage",
    ]
    assert bus.publishing.failures == 50
    assert bus.listening.failures >= 2
