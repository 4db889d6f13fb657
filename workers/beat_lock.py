"""One scheduler per installation, even when two ``strongroom beat`` are started.

Beat holds a lock in the broker's Redis (``BEAT_LOCK_KEY``, a token of the
process, expiring after ``LOCK_TTL`` seconds) and renews it at every tick, before
it sends anything; a beat that does not hold the lock sends nothing and looks
again at its next tick. So a second beat started by mistake doubles no schedule:
``strongroom beat`` refuses to start while another holds the lock (saying which),
and one started past that check (``celery beat`` directly, or two at the same
moment) stands by. Should the running beat die, its lock expires within
``LOCK_TTL`` seconds and a standing-by beat takes over.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import Any

import redis
from celery.beat import PersistentScheduler

from ingest.errors import QueueUnavailable
from ingest.health import without_credentials

log = logging.getLogger(__name__)

#: The Redis key of the lock, in the broker's database.
BEAT_LOCK_KEY = "strongroom:beat-lock"
#: Seconds the lock lives unless renewed; beat ticks at least every BEAT_TICK seconds.
LOCK_TTL = 30
#: Longest sleep of beat between two ticks (``beat_max_loop_interval``), so the lock
#: is renewed well within LOCK_TTL whatever the schedule.
BEAT_TICK = 5.0

# Renew only our own lock, atomically: extend when the value is our token.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('expire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class BeatLock:
    """The lock one beat holds: ``hold`` takes or renews it, ``release`` gives it up."""

    def __init__(self, broker_url: str, *, ttl: int = LOCK_TTL) -> None:
        self._client = redis.Redis.from_url(broker_url, socket_timeout=5,
                                            socket_connect_timeout=5)
        self._where = without_credentials(broker_url)
        self.ttl = ttl
        #: who holds it, as another beat shows it: host, process, a token of this run
        self.token = f"{socket.gethostname()} pid {os.getpid()} ({uuid.uuid4().hex[:8]})"

    def hold(self) -> bool:
        """Take the lock if free, renew it if ours; False while another beat holds
        it. Raises QueueUnavailable when Redis cannot be reached."""
        try:
            if self._client.set(BEAT_LOCK_KEY, self.token, nx=True, ex=self.ttl):
                return True
            return bool(self._client.eval(_RENEW, 1, BEAT_LOCK_KEY, self.token, self.ttl))
        except redis.RedisError as exc:
            raise QueueUnavailable(f"the broker at {self._where} cannot be reached: {exc}") from exc

    def holder(self) -> str | None:
        """Who holds the lock now (None: nobody). Raises QueueUnavailable."""
        try:
            value = self._client.get(BEAT_LOCK_KEY)
        except redis.RedisError as exc:
            raise QueueUnavailable(f"the broker at {self._where} cannot be reached: {exc}") from exc
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value

    def holder_or_unknown(self) -> str:
        """``holder`` for a log line: never raises."""
        try:
            return self.holder() or "just expired"
        except QueueUnavailable:
            return "unknown: the broker does not answer"

    def release(self) -> None:
        """Give the lock up if it is ours (a clean stop: another beat may start at once)."""
        try:
            self._client.eval(_RELEASE, 1, BEAT_LOCK_KEY, self.token)
        except redis.RedisError:
            log.warning("the beat lock was not released; it expires in %d s", self.ttl)

    def close(self) -> None:
        self._client.close()


def running_beat(broker_url: str) -> str | None:
    """Who runs beat for this broker now, or None. Raises QueueUnavailable."""
    lock = BeatLock(broker_url)
    try:
        return lock.holder()
    finally:
        lock.close()


class SingleBeatScheduler(PersistentScheduler):
    """Celery's persistent scheduler, sending only while it holds the beat lock."""

    def __init__(self, app: Any, *args: Any, **kwargs: Any) -> None:
        self._lock = BeatLock(app.conf.broker_url)
        self._holding: bool | None = None
        super().__init__(app, *args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            holding = self._lock.hold()
        except QueueUnavailable as exc:
            log.warning("%s; nothing is sent until it answers", exc)
            holding = False
        if holding != self._holding:
            self._holding = holding
            if holding:
                log.info("this beat holds the beat lock (%s) and sends the schedule",
                         self._lock.token)
            else:
                log.warning("another beat holds the beat lock (%s): this one sends nothing "
                            "and stands by", self._lock.holder_or_unknown())
        if not holding:
            return min(self.max_interval, BEAT_TICK)
        return float(super().tick(*args, **kwargs))

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._holding:
                self._lock.release()
            self._lock.close()


__all__ = ["BEAT_LOCK_KEY", "BEAT_TICK", "LOCK_TTL", "BeatLock", "SingleBeatScheduler",
           "running_beat"]
