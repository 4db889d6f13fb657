"""Who the workers act for, and how a task message carries it.

A message that asks for work on someone's behalf carries the requester as a
keyword argument ``requested_by`` (``Actor.to_dict``, plain JSON). The task then
works as this worker's host acting on behalf of that requester, so every event
it records names both. Work that beat started is done on behalf of the
``scheduler``. A message without ``requested_by`` (sent before actors were
recorded) is done on behalf of nobody named.
"""

from __future__ import annotations

import socket
from dataclasses import replace
from typing import Any

from ingest.models import Actor
from ingest.services import Services

#: The agent of work that beat's schedule started.
SCHEDULER = Actor("scheduler", kind="scheduler")


def requester_kwargs(actor: Actor | None) -> dict[str, Any]:
    """The keyword arguments a message carries for ``actor`` (none for None)."""
    return {"requested_by": actor.to_dict()} if actor is not None else {}


def worker_actor(requester: Any) -> Actor:
    """This worker host acting for ``requester`` (a ``requested_by`` document,
    or anything else for nobody named)."""
    return Actor(socket.gethostname(), kind="worker").acting_for(Actor.from_dict(requester))


def acting_for(services: Services, requester: Any) -> Services:
    """``services`` whose events name this worker acting for ``requester``."""
    return replace(services, actor=worker_actor(requester))
