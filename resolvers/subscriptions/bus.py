"""The event bus: committed integration event ids to every subscriber of every API process.

- :class:`LocalFanout` hands each published batch to the asyncio queues of this process's
  subscribers (thread-safe: a worker thread may publish).
- :class:`InProcessBus` (embedded default, no Redis): publish goes straight to the fanout.
- :class:`RedisBus`: publish goes to a Redis pub/sub channel (from any process: API or
  worker); each API process listens on it and feeds its fanout.

Messages are small JSON: ``{"events": [ids]}`` or ``{"revoked": true}`` (a session or a
token was revoked: subscribers check their credentials again at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis

from resolvers.outage import OutageLog

logger = logging.getLogger(__name__)

#: What a subscriber queue receives: a batch of event ids, or REVOKED.
REVOKED = "revoked"
Signal = list[int] | str
_QUEUE_LIMIT = 10_000


@dataclass(eq=False)
class Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Signal]

    def offer(self, signal: Signal) -> None:
        try:
            self.queue.put_nowait(signal)
        except asyncio.QueueFull:  # a stuck subscriber loses events, never blocks others
            logger.warning("subscriber queue full; an event batch was dropped")


class LocalFanout:
    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber(asyncio.get_running_loop(), asyncio.Queue(_QUEUE_LIMIT))
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    @property
    def count(self) -> int:
        return len(self._subscribers)

    def deliver(self, signal: Signal) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            with contextlib.suppress(RuntimeError):  # its loop closed
                subscriber.loop.call_soon_threadsafe(subscriber.offer, signal)


class EventBus:
    """Publish (sync, never raises, safe from any thread) and subscribe (async)."""

    def __init__(self) -> None:
        self.fanout = LocalFanout()

    def publish(self, event_ids: list[int]) -> None:
        raise NotImplementedError

    def publish_revocation(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class InProcessBus(EventBus):
    def publish(self, event_ids: list[int]) -> None:
        if event_ids:
            self.fanout.deliver(list(event_ids))

    def publish_revocation(self) -> None:
        self.fanout.deliver(REVOKED)


def _decode(raw: Any) -> Signal | None:
    try:
        message = json.loads(raw)
    except (TypeError, ValueError):
        return None
    if message.get("revoked"):
        return REVOKED
    events = message.get("events")
    if isinstance(events, list) and all(isinstance(e, int) for e in events):
        return events
    return None


class RedisBus(EventBus):
    """Redis pub/sub on ``<namespace>:integration-events``."""

    def __init__(self, url: str, namespace: str, *, listen: bool = True) -> None:
        super().__init__()
        self.url = url
        self.channel = f"{namespace}:integration-events"
        self.listen = listen
        self._publisher = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.publishing = OutageLog(logger, f"event bus publish to {self.channel}")
        self.listening = OutageLog(logger, f"event bus listener on {self.channel}")

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self._publisher.publish(self.channel, json.dumps(message))
        except redis.RedisError as exc:
            # Live subscribers miss this batch; the events stay recorded (and webhooks go
            # through the outbox): never fail the committed change for it.
            self.publishing.failed(exc)
        else:
            self.publishing.recovered()

    def publish(self, event_ids: list[int]) -> None:
        if event_ids:
            self._send({"events": list(event_ids)})

    def publish_revocation(self) -> None:
        self._send({"revoked": True})

    async def start(self) -> None:
        if self.listen and self._task is None:
            self._ready = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="event-bus")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), 5)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._publisher.close()

    async def _run(self) -> None:
        while True:
            client = aioredis.Redis.from_url(self.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.listening.recovered()
                    self._ready.set()
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        signal = _decode(message.get("data"))
                        if signal is not None:
                            self.fanout.deliver(signal)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.listening.failed(exc)  # then reconnect, every second
                await asyncio.sleep(1)
            finally:
                await client.aclose()


_bus: EventBus | None = None


def install_bus(bus: EventBus | None) -> None:
    global _bus
    _bus = bus


def current_bus() -> EventBus | None:
    return _bus


def publish(event_ids: list[int]) -> None:
    """Hand committed event ids to live subscribers (no bus: nobody listens). Never raises."""
    bus = _bus
    if bus is not None and event_ids:
        try:
            bus.publish(event_ids)
        except Exception:
            logger.warning("event publish failed", exc_info=True)


def publish_revocation() -> None:
    bus = _bus
    if bus is not None:
        try:
            bus.publish_revocation()
        except Exception:
            logger.warning("revocation publish failed", exc_info=True)
