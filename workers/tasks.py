"""The thin tasks: decode ids, call one use case, map its outcome.

A task never crashes its worker and never loses an item:

- bad input becomes findings on a rejected item (the use case does that);
- a transient error is retried with backoff, up to ``max_attempts`` attempts,
  and the last attempt fails the item with STORAGE_UNAVAILABLE;
- a message that names nothing we know, or an error of ours, is logged and
  dropped; the item (if any) stays ``accepted`` in the catalog, where
  ``strongroom status`` shows it as stuck and the sweep sends it again.

Every task is safe to run twice for the same message: the catalog decides.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, cast

from celery import Task

from ingest.anchoring import anchor_audit_head
from ingest.copy_checks import OK, REPAIRED, UNREACHABLE
from ingest.errors import (
    TRANSIENT_ERRORS,
    Deaccessioned,
    NotFound,
    StorageUnavailable,
    StrongroomError,
)
from ingest.fixity_audit import run_fixity_check, verify_version
from ingest.fixity_due import enqueue_due
from ingest.fixity_policy import TIERS
from ingest.item_outcome import fail_lost_item
from ingest.location_fill import fill_version
from ingest.pipeline import ingest_item
from ingest.retry import retry_note
from ingest.stuck import stuck_before
from workers.actors import SCHEDULER, acting_for, requester_kwargs
from workers.celery_base import StrongroomCelery
from workers.reliability import (
    FIXITY_PLAN_EVERY,
    QUEUE_FIXITY,
    QUEUE_INGEST,
    SWEEP_LIMIT,
    TASK_ANCHOR_AUDIT,
    TASK_CHECK_COPY,
    TASK_ENQUEUE_DUE_FIXITY,
    TASK_FILL_COPY,
    TASK_INGEST_ITEM,
    TASK_REQUEUE_STUCK,
    TASK_VERIFY_VERSION,
    lost_attempts_bound,
    retry_delay,
)

log = logging.getLogger(__name__)


def _app(task: Task) -> StrongroomCelery:
    return cast(StrongroomCelery, task.app)


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _retry(task: Task, what: str, reason: object, **extra: str) -> Exception:
    """Send the next attempt, delayed by the settings' backoff, and say so in the
    one line a retry gets (``ingest.retry.retry_note``: ``what``, the attempt,
    the wait, the ``reason``; Celery's own line is left out, see
    ``workers.celery_app``). Celery's ``retry`` raises Retry itself; callers
    write ``raise _retry(task, …)`` as its docs advise."""
    settings = _app(task).worker_settings
    delay = retry_delay(settings, task.request.retries)
    log.info(retry_note(what, task.request.retries + 1, settings.max_attempts, delay, reason),
             extra=extra)
    return task.retry(countdown=delay, max_retries=settings.max_attempts - 1)


def _said(exc: Exception) -> str:
    """A transient error as a retry's reason, named by its kind as the pipeline names it."""
    return f"{type(exc).__name__}: {exc}"


def _last_attempt(task: Task) -> bool:
    return task.request.retries >= _app(task).worker_settings.max_attempts - 1


# --------------------------------------------------------------------------- ingest


def ingest_item_task(task: Task, item_id: Any, requested_by: Any = None) -> str:
    """Take one item to a final status, acting for ``requested_by`` (see
    ``workers.actors``); returns the outcome, for logs and tests.

    Raises celery's Retry (the task is sent again later) and nothing else.
    """
    if not _is_uuid(item_id):
        log.error("ingest message with an unusable item id %r: dropped", item_id)
        return "refused"
    final_attempt = _last_attempt(task)
    try:
        outcome, reason = _ingest(task, item_id, final_attempt, requested_by)
    except TRANSIENT_ERRORS as exc:
        # The catalog could not even say what the item is. Nothing was decided:
        # try again, or leave the item accepted for the stuck-item sweep.
        if final_attempt:
            log.warning("item %s: %s; left accepted for the stuck-item sweep", item_id, exc)
            return "gave-up"
        outcome, reason = "retry", _said(exc)
    except NotFound:
        log.error("ingest message for item %s, which the catalog does not know: dropped",
                  item_id)
        return "unknown"
    except Exception:
        log.exception("item %s: unexpected error; left accepted for the stuck-item sweep",
                      item_id)
        return "error"
    if outcome == "retry":
        raise _retry(task, f"item {item_id}", reason, item=item_id, event="ingestion")
    if outcome == "held":
        # Another attempt holds the item's lease (a duplicate message), or took
        # it over from this one: nothing was written here. If that holder dies,
        # its lease lapses and the sweep sends the item again.
        return outcome
    _anchor(task)
    return outcome


def _anchor(task: Task) -> None:
    """Anchor the audit chain's head after a task that appended events; best effort
    (beat's periodic anchor catches up on what a failure here leaves)."""
    try:
        anchor_audit_head(_app(task).services())
    except StrongroomError as exc:
        log.warning("audit head not anchored: %s", exc)
    except Exception:  # never let anchoring turn a finished task into a failed one
        log.exception("audit head not anchored")


def anchor_audit_head_task(task: Task) -> bool:
    """Write the audit chain's head to every location unless it is anchored already.
    Returns whether a new anchor was written; never raises (beat comes again)."""
    try:
        return anchor_audit_head(_app(task).services()) is not None
    except Exception:
        log.exception("anchoring the audit head failed; the next run tries again")
        return False


def _ingest(task: Task, item_id: str, final_attempt: bool,
            requester: Any) -> tuple[str, str | None]:
    """The outcome of one attempt at the item, and its reason."""
    services = acting_for(_app(task).services(), requester)
    item = services.catalog.get_item(item_id)
    if item.status.is_final:
        return "done", None
    bound = lost_attempts_bound(_app(task).worker_settings)
    if item.attempts >= bound:
        # Attempts kept starting and never ending: a poison item killing its
        # worker process. Fail it with a reason instead of redelivering it for ever.
        if fail_lost_item(services, item):
            log.error("item %s failed after %d unfinished attempts", item_id, item.attempts)
        return "failed", None
    result = ingest_item(item_id, services, final_attempt=final_attempt)
    if result.outcome == "held":
        log.info("item %s: %s; left to the lease's holder", item_id, result.reason)
    return result.outcome, result.reason


# --------------------------------------------------------------------------- fixity


def verify_version_task(task: Task, package_id: Any, number: Any,
                        requested_by: Any = None) -> str:
    """Deep-check one stored version and record the outcome; returns ok / failed.

    Raises celery's Retry while the store or catalog is unreachable, up to the
    attempt bound; then the check is dropped (an unreachable store is not
    evidence about the bytes, and the next scheduled check will come).
    """
    if not _is_uuid(package_id) or not isinstance(number, int) or isinstance(number, bool):
        log.error("fixity message with unusable arguments %r, %r: dropped", package_id, number)
        return "refused"
    try:
        check = verify_version(acting_for(_app(task).services(), requested_by), package_id,
                               number)
    except TRANSIENT_ERRORS as exc:
        if _last_attempt(task):
            log.warning("fixity check of %s v%s: %s; given up", package_id, number, exc)
            return "gave-up"
        raise _retry(task, f"fixity check of {package_id} v{number}", _said(exc),
                     package=package_id, event="fixity check") from exc
    except NotFound:
        log.error("fixity message for %s v%s, which the catalog does not know: dropped",
                  package_id, number)
        return "unknown"
    except Exception:
        log.exception("fixity check of %s v%s: unexpected error", package_id, number)
        return "error"
    _anchor(task)
    return check.status


def check_copy_task(task: Task, package_id: Any, number: Any, location: Any, tier: Any,
                    requested_by: Any = None) -> str:
    """Run one planned fixity check of one copy (a version in the store at the
    location URL ``location``) and record it; returns ok / failed, or, when the
    policy's auto_repair set off a repair of the damage, repaired / repair-refused /
    repair-failed (the repair's findings are in the audit log and the catalog).

    Raises celery's Retry while the store or catalog is unreachable, up to the
    attempt bound; then the check is dropped and its queue entry stays queued,
    so the planner sends it again once the policy's requeue_after has passed.
    """
    if (not _is_uuid(package_id) or not isinstance(number, int) or isinstance(number, bool)
            or not isinstance(location, str) or tier not in TIERS):
        log.error("fixity message with unusable arguments %r: dropped",
                  (package_id, number, location, tier))
        return "refused"
    try:
        check = run_fixity_check(acting_for(_app(task).services(), requested_by), package_id,
                           number, location, tier,
                           policy=_app(task).worker_settings.fixity_policy)
    except TRANSIENT_ERRORS as exc:
        if _last_attempt(task):
            log.warning("%s check of %s v%s in %s: %s; given up", tier, package_id, number,
                        location, exc)
            return "gave-up"
        raise _retry(task, f"{tier} check of {package_id} v{number} in {location}", _said(exc),
                     package=package_id, event="fixity check") from exc
    except NotFound:
        log.error("fixity message for %s v%s in %s, which is unknown: dropped",
                  package_id, number, location)
        return "unknown"
    except Exception:
        log.exception("%s check of %s v%s in %s: unexpected error", tier, package_id, number,
                      location)
        return "error"
    _anchor(task)
    if check.repair is not None:
        log.warning("%s check of %s v%s in %s found damage; repair: %s", tier, package_id,
                    number, location, check.repair.status)
        return "repaired" if check.repair.status == "repaired" else f"repair-{check.repair.status}"
    return check.status


def fill_copy_task(task: Task, package_id: Any, number: Any, location: Any,
                   requested_by: Any = None) -> str:
    """Copy one committed version into the location URL ``location`` unless it is
    held whole there already (``strongroom locations fill``); returns made / whole
    / failed / refused.

    Raises celery's Retry while a store or the catalog is out of reach, up to the
    attempt bound; then the version stays queued in the catalog, and the next
    ``locations fill`` after the policy's requeue_after sends it again. A
    duplicate message finds the version whole and reads nothing.
    """
    if (not _is_uuid(package_id) or not isinstance(number, int) or isinstance(number, bool)
            or not isinstance(location, str)):
        log.error("fill message with unusable arguments %r: dropped",
                  (package_id, number, location))
        return "refused"
    what = f"filling {package_id} v{number} into {location}"
    try:
        result = fill_version(acting_for(_app(task).services(), requested_by), package_id,
                              number, location)
        mine = result.copies[-1]
        if mine.status == UNREACHABLE:
            raise StorageUnavailable(mine.detail or f"{location} could not be reached")
    except TRANSIENT_ERRORS as exc:
        if _last_attempt(task):
            log.warning("%s: %s; given up", what, exc)
            return "gave-up"
        raise _retry(task, what, _said(exc), package=package_id, event="replication") from exc
    except Deaccessioned:
        log.info("%s: deaccessioned meanwhile, nothing of it kept there", what)
        return "withdrawn"
    except NotFound:
        log.error("fill message for %s v%s in %s, which is unknown: dropped",
                  package_id, number, location)
        return "unknown"
    except Exception:
        log.exception("%s: unexpected error", what)
        return "error"
    _anchor(task)
    if mine.status == OK:
        return "whole"
    if mine.status == REPAIRED:
        return "made"
    log.warning("%s: %s (%s)", what, result.status,
                result.detail or mine.detail or "the copy is still not whole")
    return result.status


def enqueue_due_fixity_task(task: Task) -> int:
    """Plan the fixity checks due now and send each to the fixity queue, once they
    are queued in the catalog. Returns how many were sent; never raises (the next
    run plans again, and a lost message is re-planned after requeue_after)."""
    app = _app(task)
    try:
        services = app.services()
        due = enqueue_due(services, app.worker_settings.fixity_policy, services.clock.now(),
                          period=FIXITY_PLAN_EVERY)
        if not due:
            return 0
        with app.producer_or_acquire() as producer:
            for check in due:
                app.send_task(TASK_CHECK_COPY, queue=QUEUE_FIXITY, producer=producer,
                              args=[check.package_id, check.number, check.location, check.tier],
                              kwargs=requester_kwargs(SCHEDULER))
    except Exception:
        log.exception("planning due fixity checks failed; the next run tries again")
        return 0
    log.info("sent %d due fixity checks", len(due))
    return len(due)


# --------------------------------------------------------------------------- stuck items


def requeue_stuck_items_task(task: Task) -> int:
    """Send again every item accepted with no progress for ``stuck_after`` seconds:
    its lease lapsed (``ingest.lease``), or it was never begun.

    A worker killed with items in hand stops renewing their leases; messages lost
    by the broker (a restart without persistence) leave items accepted for ever;
    this finds both in the catalog and sends them again, without waiting for the
    broker's visibility timeout (the new attempt takes the lapsed lease over). A
    duplicate of a message still queued is harmless. Returns how many items were
    sent; never raises (the next sweep tries again).
    """
    app = _app(task)
    settings = app.worker_settings
    try:
        services = app.services()
        idle_before = stuck_before(services.clock.now(), settings.stuck_after)
        # An attempt began and its lease lapsed: its worker is gone. An item no
        # attempt began is most likely still waiting in a long queue: sent again
        # only when the queue is empty (its message was lost), or every item of
        # a long backlog would be queued once more each stuck_after seconds.
        stuck = services.catalog.stuck_items(idle_before, limit=SWEEP_LIMIT, begun=True)
        if len(stuck) < SWEEP_LIMIT and ingest_queue_is_empty(settings.broker_url):
            stuck += services.catalog.stuck_items(idle_before, limit=SWEEP_LIMIT - len(stuck),
                                                  begun=False)
        ids = [item.item_id for item in stuck]
        if not ids:
            return 0
        # The scheduler sends them again on behalf of whoever submitted each batch.
        submitters = {batch_id: services.catalog.get_batch(batch_id).submitted_by
                      for batch_id in {item.batch_id for item in stuck}}
        with app.producer_or_acquire() as producer:
            for item in stuck:
                requester = SCHEDULER.acting_for(submitters[item.batch_id])
                app.send_task(TASK_INGEST_ITEM, args=[item.item_id], queue=QUEUE_INGEST,
                              producer=producer, kwargs=requester_kwargs(requester))
        # Sent: not stuck again for another stuck_after seconds; a lapsed lease
        # that no new attempt has taken yet is revoked.
        services.catalog.record_requeue(ids, idle_before)
    except Exception:
        log.exception("sweep for stuck items failed; the next sweep tries again")
        return 0
    log.warning("sent %d stuck items again", len(ids))
    return len(ids)


def ingest_queue_is_empty(broker_url: str) -> bool:
    """Whether no message waits in the ingest queue (False when the broker does not
    answer: nothing could be sent then either)."""
    from workers.queue_depth import ingest_queue_depth

    return ingest_queue_depth(broker_url) == 0


def register_tasks(app: StrongroomCelery) -> None:
    """Register the tasks on ``app`` under their wire names."""
    app.task(bind=True, name=TASK_INGEST_ITEM)(ingest_item_task)
    app.task(bind=True, name=TASK_VERIFY_VERSION)(verify_version_task)
    app.task(bind=True, name=TASK_REQUEUE_STUCK)(requeue_stuck_items_task)
    app.task(bind=True, name=TASK_CHECK_COPY)(check_copy_task)
    app.task(bind=True, name=TASK_FILL_COPY)(fill_copy_task)
    app.task(bind=True, name=TASK_ENQUEUE_DUE_FIXITY)(enqueue_due_fixity_task)
    app.task(bind=True, name=TASK_ANCHOR_AUDIT)(anchor_audit_head_task)
