"""How queued work survives crashes, restarts and lost messages: every Celery setting
that matters, chosen and explained here and nowhere else.

The catalog, not the broker, is the record of truth. A message carries an item id
and nothing more; an item is finished when the catalog says so, and the ingest use
case does nothing for an item that is already final. So the broker may deliver a
message twice (a worker died before acknowledging it) and nothing is stored twice;
and when the broker loses messages outright (Redis restarted without persistence),
the items stay ``accepted`` in the catalog, where the stuck-item sweep finds them
and sends them again. The settings below make duplicates the only failure mode of
the queue, and the catalog makes duplicates harmless.

A worker that dies with items in hand (SIGKILL, a lost host) leaves their messages
unacknowledged, and Redis would hand them out again only after the visibility
timeout (an hour). The items do not wait for it: each attempt holds a lease on
its item that it renews every 15 s (``ingest.lease``), the dead worker's leases
lapse after ``stuck_after`` (60 s), and the sweep, every ``sweep_every`` (10 s),
sends them again: recovered within about 70 s, with no person acting. The late
redelivery an hour on finds the items final and does nothing; a redelivery while
a slow item is still at work finds its lease live and leaves it to its holder.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from kombu import Exchange, Queue

from ingest.fixity_policy import FixityPolicy
from ingest.retry import backoff_delay
from ingest.stuck import DEFAULT_STUCK_AFTER
from workers.beat_lock import BEAT_TICK

#: The queues. Ingest and fixity work (checks, and filling a new location) are
#: kept apart so that a long fixity sweep or fill never delays new batches, and
#: so each can get its own workers. Beat's own
#: work (the stuck-item sweep, planning fixity, anchoring) has a queue of its
#: own that every worker consumes beside the ones it is given: behind a backlog
#: of ingest work its messages expired unread, so fixity stopped being planned
#: for as long as an ingest campaign lasted.
QUEUE_INGEST = "ingest"
QUEUE_FIXITY = "fixity"
QUEUE_HOUSEKEEPING = "housekeeping"

#: Task names: the wire contract between whoever enqueues and the workers.
TASK_INGEST_ITEM = "strongroom.ingest_item"
TASK_VERIFY_VERSION = "strongroom.verify_version"
TASK_REQUEUE_STUCK = "strongroom.requeue_stuck_items"
TASK_CHECK_COPY = "strongroom.check_copy"
TASK_FILL_COPY = "strongroom.fill_copy"
TASK_ENQUEUE_DUE_FIXITY = "strongroom.enqueue_due_fixity"
TASK_ANCHOR_AUDIT = "strongroom.anchor_audit_head"
#: How often beat has the audit chain's head anchored in the object store, on top
#: of the anchor each task writes when it finishes (a lost one is caught here).
ANCHOR_EVERY = timedelta(minutes=5)

#: How often beat plans the due fixity checks; also the period the planner paces
#: for (each run takes about window/period of the work).
FIXITY_PLAN_EVERY = timedelta(hours=1)

#: At most this many stuck items are sent again by one sweep; the next sweep takes the rest.
SWEEP_LIMIT = 1000


@dataclass(frozen=True)
class WorkerSettings:
    """What the queue and the workers need to know, parsed by the entry point."""

    broker_url: str
    #: attempts at one item on transient errors before it is failed
    max_attempts: int = 5
    #: first retry delay in seconds, doubled on each retry
    retry_backoff: float = 1.0
    #: seconds a delivered, unacknowledged message stays invisible to other workers
    #: (a fallback: the sweep sends a dead worker's items again long before)
    visibility_timeout: int = 3600
    #: an accepted item whose lease was not renewed for this many seconds is stuck
    #: (``ingest.lease``: renewed every quarter of it while its attempt works)
    stuck_after: float = DEFAULT_STUCK_AFTER
    #: seconds between two sweeps for stuck items (run by ``strongroom beat``):
    #: a dead worker's items are sent again within stuck_after + sweep_every
    sweep_every: float = 10.0
    #: a worker whose queues have held waiting messages for this many seconds
    #: while it held and took nothing restarts itself (``workers.stall_watch``)
    stall_after: float = 30.0
    #: the fixity policy the planning task applies (STRONGROOM_FIXITY_*)
    fixity_policy: FixityPolicy = field(default_factory=FixityPolicy)

    def __post_init__(self) -> None:
        if not self.broker_url.startswith(("redis://", "rediss://")):
            raise ValueError("the broker must be redis://… or rediss://…")
        if self.max_attempts < 1 or self.visibility_timeout < 1:
            raise ValueError("max_attempts and visibility_timeout must be at least 1")
        if self.stuck_after <= 0 or self.sweep_every <= 0 or self.stall_after <= 0:
            raise ValueError("stuck_after, sweep_every and stall_after must be positive")


def celery_config(settings: WorkerSettings) -> dict[str, Any]:
    """The Celery configuration for ``settings``, one commented entry per decision."""
    # One visibility timeout everywhere: Redis redelivers a message that was handed
    # to a worker and not acknowledged within it. It must be longer than the
    # longest ingest (or a slow item is started twice) and longer than any retry
    # delay (a retry waits as an unacknowledged message, see retry_delay).
    transport = {"visibility_timeout": settings.visibility_timeout}
    return {
        "broker_url": settings.broker_url,
        # No result backend: the catalog records every outcome; results would be
        # a second, weaker record, and a stream of keys nobody reads in Redis.
        "result_backend": None,
        "task_ignore_result": True,
        # Acknowledge after the task returns, not when it is received: a worker
        # that dies mid-ingest leaves its message to be delivered again.
        "task_acks_late": True,
        # ... including when the pool process itself is killed (OOM, SIGKILL):
        # the message is put back instead of being acknowledged as "failed".
        # A poison item that kills its process every time is stopped by the
        # attempt bound in workers.tasks, not by dropping messages here.
        "task_reject_on_worker_lost": True,
        # A task that raised is acknowledged: our tasks turn every expected error
        # into a catalog outcome or a retry, so what still raises is a defect,
        # and redelivering it at once would only repeat it.
        "task_acks_on_failure_or_timeout": True,
        # Reserve one message per pool process: ingests are long, and a worker
        # must not hoard messages that idle workers could run (or that its death
        # would strand until the visibility timeout).
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": dict(transport),
        # Unused while there is no result backend, kept equal so that adding one
        # cannot silently bring a second, different timeout.
        "result_backend_transport_options": dict(transport),
        # JSON only: messages carry ids, never bytes or pickled objects, and a
        # worker must never unpickle what someone put on the broker.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_queues": tuple(Queue(name, Exchange(name, type="direct"), routing_key=name)
                             for name in (QUEUE_INGEST, QUEUE_FIXITY, QUEUE_HOUSEKEEPING)),
        "task_default_queue": QUEUE_INGEST,
        "task_routes": {
            TASK_INGEST_ITEM: {"queue": QUEUE_INGEST},
            TASK_VERIFY_VERSION: {"queue": QUEUE_FIXITY},
            TASK_CHECK_COPY: {"queue": QUEUE_FIXITY},
            TASK_FILL_COPY: {"queue": QUEUE_FIXITY},
            # Beat's work waits behind neither ingest nor fixity work: every
            # worker consumes this queue too, and the broker serves a worker's
            # queues in turn. Planning sends the checks themselves to the
            # fixity queue. Each message expires (see the schedule) rather
            # than piling up while no worker runs.
            TASK_ENQUEUE_DUE_FIXITY: {"queue": QUEUE_HOUSEKEEPING},
            TASK_REQUEUE_STUCK: {"queue": QUEUE_HOUSEKEEPING},
            TASK_ANCHOR_AUDIT: {"queue": QUEUE_HOUSEKEEPING},
        },
        # A worker started before Redis (docker-compose, a reboot) waits for it,
        # and one that lost Redis keeps reconnecting instead of exiting.
        "broker_connection_retry_on_startup": True,
        "broker_connection_retry": True,
        "broker_connection_max_retries": None,
        # Sending (submit, requeue, retries) retries briefly and then fails
        # loudly: the items stay accepted in the catalog and `requeue` sends
        # them once the broker is back. Never hang a command for ever.
        "task_publish_retry": True,
        "task_publish_retry_policy": {"max_retries": 3, "interval_start": 0,
                                      "interval_step": 0.5, "interval_max": 1},
        # When the broker connection drops, let running ingests finish: if the
        # broker lost its messages (a restart) a finished item needs nothing
        # more, and if it did not, the redelivered message finds the item final.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # "Started" would be a result-backend state; the catalog's attempts and
        # updated_at say the same.
        "task_track_started": False,
        # No time limit: a large item may take hours to hash and upload, and a
        # killed ingest would only be redelivered and killed again. Hung network
        # calls are bounded by the store's own timeouts.
        "task_time_limit": None,
        "task_soft_time_limit": None,
        "enable_utc": True,
        "timezone": "UTC",
        # One beat per installation: it sends only while it holds a lock in
        # Redis, renewed at every tick (workers.beat_lock); a second beat
        # started by mistake sends nothing and stands by. Ticks at least every
        # BEAT_TICK seconds, so the lock never lapses under a running beat.
        "beat_scheduler": "workers.beat_lock:SingleBeatScheduler",
        "beat_max_loop_interval": BEAT_TICK,
        # Lost messages recover by themselves: `strongroom beat` asks a worker
        # every sweep_every seconds to send stuck items again. A sweep message
        # that waited longer than one period is dropped: the next one is coming.
        "beat_schedule": {
            "requeue-stuck-items": {
                "task": TASK_REQUEUE_STUCK,
                "schedule": timedelta(seconds=settings.sweep_every),
                "options": {"expires": settings.sweep_every},
            },
            # Due fixity checks, planned from the catalog and sent to the fixity
            # queue as (package, version, location, tier). A copy already queued
            # is not sent twice; one whose message was lost is planned again once
            # the policy's requeue_after has passed.
            "enqueue-due-fixity": {
                "task": TASK_ENQUEUE_DUE_FIXITY,
                "schedule": FIXITY_PLAN_EVERY,
                "options": {"expires": FIXITY_PLAN_EVERY.total_seconds()},
            },
            # The audit chain's head, written to every location, so truncating or
            # rewriting the log is caught by `audit verify` even if a task died
            # before anchoring what it appended.
            "anchor-audit-head": {
                "task": TASK_ANCHOR_AUDIT,
                "schedule": ANCHOR_EVERY,
                "options": {"expires": ANCHOR_EVERY.total_seconds()},
            },
        },
    }


def retry_delay(settings: WorkerSettings, retries: int,
                rng: Callable[[], float] = random.random) -> float:
    """Seconds before retry number ``retries + 1``: ``backoff * 2**retries``, jittered.

    The jitter ("equal jitter": half fixed, half random) keeps workers that failed
    together from retrying together. The delay is capped at half the visibility
    timeout, because a retry waits on the worker as an unacknowledged message and
    Redis would hand it to a second worker once the timeout passed.
    """
    delay = backoff_delay(retries + 1, settings.retry_backoff, cap=settings.visibility_timeout / 2)
    return delay / 2 + rng() * delay / 2


def lost_attempts_bound(settings: WorkerSettings) -> int:
    """Attempts after which an item still accepted is failed rather than tried again.

    Within the retry bound an item's attempts never exceed ``max_attempts``; more
    attempts means attempts began and never ended: the worker process died each
    time (out of memory, a crash in a library). Without this bound,
    ``task_reject_on_worker_lost`` would redeliver such an item for ever.
    """
    return 2 * settings.max_attempts
