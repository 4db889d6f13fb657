"""A worker that stopped taking work while work waits is restarted, by itself.

A worker's consumer can go on living without reading from the broker again: a
connection that the network dropped without closing it (a firewall or NAT that
forgot it, a broker host that vanished) leaves the blocking pop waiting for ever,
and Celery's consumer has been seen not to resume after Redis restarted (it
reconnects, then takes nothing). Nothing is lost (the items stay accepted in the
catalog), but nothing moves either, and the stuck-item sweep cannot help: it is
a task, sent to the same workers.

So each worker watches itself from a thread of its own (the event loop may be
what is stuck): every few seconds it asks the broker, on a new connection, how
many messages wait in the queues it consumes, and looks at what it holds. When
messages have waited for ``stall_after`` seconds while it held nothing and
accepted nothing, it is not taking work: it says so and restarts (a warm
shutdown, then the same command again in the same process, ``os.execv``). An
idle worker that works takes a waiting message within a second or two.

What the old process set up for itself alone (a temporary folder) is undone
before it is replaced (``before_replace``), and the new process knows how many
times the worker was replaced (``restarts``), which its metrics tell.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from celery import bootsteps
from celery.signals import worker_shutting_down
from celery.worker import state

from ingest.errors import QueueUnavailable
from workers.queue_depth import queue_depths

log = logging.getLogger(__name__)

#: After asking a worker to stop, seconds before its process is replaced anyway
#: (its event loop may be blocked on a connection that never answers). The
#: worker holds nothing then: that is what a stall is.
STOP_GRACE = 10.0


@dataclass
class StallClock:
    """Decides, from observations, whether a worker has stopped taking work.

    A stall: at every observation for ``stall_after`` seconds, messages waited
    in the worker's queues, the worker held no task (running, reserved or
    scheduled) and had accepted no new one. Any other observation, or one
    where the broker could not be asked, starts the count again.
    """

    stall_after: float
    _since: float | None = None
    _accepted: int = -1

    def observe(self, now: float, waiting: int | None, held: int, accepted: int) -> float | None:
        """Record one look; the seconds the worker has been stalled, once that
        reaches ``stall_after``, else None."""
        idle_with_work = waiting is not None and waiting > 0 and held == 0
        if not idle_with_work or accepted != self._accepted or self._since is None:
            self._accepted = accepted
            self._since = now if idle_with_work else None
            return None
        stalled = now - self._since
        return stalled if stalled >= self.stall_after else None


#: Carries, across a replacement, how many times the watch replaced this worker's
#: process. Set by the watch alone: not a setting (no ``STRONGROOM_`` prefix).
RESTARTS_VARIABLE = "_STRONGROOM_STALL_RESTARTS"

#: What to undo before the process is replaced (``before_replace``).
_BEFORE_REPLACE: list[Callable[[], None]] = []


def restarts() -> int:
    """How many times the stall watch has replaced this worker's process."""
    try:
        return max(0, int(os.environ.get(RESTARTS_VARIABLE, "0")))
    except ValueError:
        return 0


def before_replace(action: Callable[[], None]) -> None:
    """Run ``action`` just before this process is replaced by its own command, or
    ends without its exit handlers (blocked from stopping): for what the process
    made for itself alone and would otherwise leave behind (a new process makes
    its own again)."""
    _BEFORE_REPLACE.append(action)


#: What to do when the worker ends without its exit handlers (``at_forced_end``).
_AT_FORCED_END: list[Callable[[], None]] = []


def at_forced_end(action: Callable[[], None]) -> None:
    """Run ``action`` if the watch ends the worker without its exit handlers
    (told to stop while a restart was under way, and blocked from stopping)."""
    _AT_FORCED_END.append(action)


def _remove_pool_temp_dirs() -> None:
    """The temporary folders the pool's machinery made for this process (``pymp-…``,
    removed by a finalizer at a normal exit, which a replacement skips)."""
    import multiprocessing

    import billiard  # type: ignore[import-untyped]

    for module in (multiprocessing, billiard):
        config = getattr(module.current_process(), "_config", {})
        folder = config.pop("tempdir", None) if isinstance(config, dict) else None
        if isinstance(folder, str):
            shutil.rmtree(folder, ignore_errors=True)


def _undo_own_setup() -> None:
    _remove_pool_temp_dirs()
    while _BEFORE_REPLACE:
        action = _BEFORE_REPLACE.pop()
        try:
            action()
        except Exception:  # the replacement matters more than a tidy folder
            log.exception("could not undo %r before the worker's process ends", action)


#: Set when a person or a supervisor stopped the worker (SIGTERM, SIGINT, SIGQUIT):
#: a restart asked for before then is not done; the worker stops as it was told.
_STOPPED_BY_SIGNAL = threading.Event()


@worker_shutting_down.connect(weak=False)
def _stopped_by_signal(**_: Any) -> None:
    _STOPPED_BY_SIGNAL.set()


def replace_process() -> None:
    """Run this process's own command again in its place (same pid, environment
    and standard streams), unless a signal told the worker to stop meanwhile.
    ``sys.orig_argv`` is the command as it was started, interpreter options
    included (``python -m strongroom.cli worker …``)."""
    if _STOPPED_BY_SIGNAL.is_set():
        return
    _undo_own_setup()
    os.environ[RESTARTS_VARIABLE] = str(restarts() + 1)
    for handler in logging.getLogger().handlers:
        handler.flush()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


class StallWatch(bootsteps.StartStopStep):
    """The worker bootstep that runs the watch (``app.steps['worker']``)."""

    label = "stall watch"
    requires = ("celery.worker.components:Pool",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, parent: Any) -> None:
        settings = parent.app.worker_settings
        every = max(0.5, min(5.0, settings.stall_after / 6))
        watch = _Watch(settings.broker_url, StallClock(settings.stall_after),
                       queues=lambda: _consumed_queues(parent), every=every,
                       stop=self._stop)
        self._thread = threading.Thread(target=watch.run, name="stall-watch", daemon=True)
        self._thread.start()

    def stop(self, parent: Any) -> None:
        self._stop.set()

    def shutdown(self, parent: Any) -> None:
        self._stop.set()


@dataclass
class _Watch:
    broker_url: str
    clock: StallClock
    queues: Callable[[], Iterable[str]]
    every: float
    stop: threading.Event

    def run(self) -> None:
        while not self.stop.wait(self.every):
            try:
                names = tuple(self.queues())
                waiting: int | None = sum(queue_depths(self.broker_url, names).values())
            except QueueUnavailable:
                waiting = None  # Celery's own reconnecting covers a broker that is away
            except Exception:  # a look that failed proves nothing; the watch goes on
                log.exception("the stall watch could not look at the queues this time")
                waiting = None
            stalled = self.clock.observe(time.monotonic(), waiting, len(state.requests),
                                         state.all_total_count[0])
            if stalled is None:
                continue
            log.error("this worker has taken no work for %.0f s while %d messages wait in "
                      "its queues (%s): its connection to the broker no longer delivers. "
                      "It restarts now; nothing it held is lost", stalled, waiting,
                      ", ".join(names))
            self._restart()
            return

    def _restart(self) -> None:
        # A warm shutdown first (the pool processes end cleanly), and the command
        # runs again as the process exits. If the worker has not exited after
        # STOP_GRACE (its event loop, or its shutdown, blocked on a connection
        # that never answers), the process is replaced from here.
        atexit.register(replace_process)
        state.should_stop = 0
        time.sleep(STOP_GRACE)
        if _STOPPED_BY_SIGNAL.is_set():
            # Told to stop meanwhile, and blocked from stopping: it holds nothing.
            log.error("the worker did not stop within %.0f s; it ends now", STOP_GRACE)
            _undo_own_setup()
            for action in reversed(_AT_FORCED_END):
                try:
                    action()
                except Exception:
                    log.exception("could not finish %r as the worker ends", action)
            os._exit(0)
        log.error("the worker did not stop within %.0f s; replacing its process", STOP_GRACE)
        replace_process()


def _consumed_queues(worker: Any) -> list[str]:
    """The queues the worker's consumer takes messages from now."""
    consumer = getattr(worker, "consumer", None)
    task_consumer = getattr(consumer, "task_consumer", None)
    if task_consumer is not None:
        return [queue.name for queue in task_consumer.queues]
    return list(worker.app.amqp.queues.consume_from)


__all__ = ["RESTARTS_VARIABLE", "STOP_GRACE", "StallClock", "StallWatch", "at_forced_end",
           "before_replace", "replace_process", "restarts"]
