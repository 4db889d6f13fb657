"""What a log record is about: the batch, item, package and agent of the work in hand.

A use case names the work it is doing (``working_on``); every log record written
meanwhile, in this thread or task, can then say which batch, item, package and
agent it concerns without each call repeating them. The entry point's log
formatter reads ``current_work`` (``strongroom.log_format``); a record's own
``extra=`` fields win over it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ingest.models import Actor

#: The fields a log record may carry about the work: batch, item, package, agent, event.
WORK_FIELDS = ("batch", "item", "package", "agent", "event")

_work: ContextVar[dict[str, str]] = ContextVar("strongroom_work", default={})  # noqa: B039 (never mutated)


@contextmanager
def working_on(*, batch: str | None = None, item: str | None = None, package: str | None = None,
               actor: Actor | None = None) -> Iterator[None]:
    """Name the work in hand for the log records written inside the block (fields
    left None keep what an outer block named)."""
    fields = {"batch": batch, "item": item, "package": package,
              "agent": actor_name(actor) if actor is not None else None}
    token = _work.set({**_work.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _work.reset(token)


def current_work() -> dict[str, str]:
    """The fields the innermost ``working_on`` block named; empty outside any."""
    return dict(_work.get())


def actor_name(actor: Actor) -> str:
    """The agent as a log line names it: the actor, and whom it acts for."""
    if actor.on_behalf_of is not None:
        return f"{actor.name} for {actor.on_behalf_of.name}"
    return actor.name


__all__ = ["WORK_FIELDS", "actor_name", "current_work", "working_on"]
