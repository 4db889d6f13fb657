"""How many messages wait in each of the workers' queues, asked of the broker.

For monitoring (``strongroom.metrics``), the stuck-item sweep and ``strongroom
status`` (``ingest_queue_depth``): one short connection to the Redis
broker, the length of each queue's lists (Celery's Redis transport keeps a queue
as one list per priority level), and let go. Nothing is declared or changed: a
queue no worker has declared yet simply holds no message.
"""

from __future__ import annotations

from typing import Any

from ingest.errors import QueueUnavailable
from ingest.health import without_credentials
from workers.reliability import QUEUE_FIXITY, QUEUE_HOUSEKEEPING, QUEUE_INGEST

#: Seconds to connect to the broker and for it to answer.
DEPTH_TIMEOUT = 3.0


def queue_depths(broker_url: str,
                 queues: tuple[str, ...] = (QUEUE_INGEST, QUEUE_FIXITY, QUEUE_HOUSEKEEPING),
                 timeout: float = DEPTH_TIMEOUT) -> dict[str, int]:
    """Messages waiting in each of ``queues`` (taken by no worker yet). Raises
    QueueUnavailable when the broker cannot be reached."""
    from kombu import Connection
    from kombu.exceptions import KombuError

    options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    connection = Connection(broker_url, connect_timeout=timeout, transport_options=options)
    try:
        connection.ensure_connection(max_retries=0)
        channel: Any = connection.default_channel
        client = channel.client
        return {queue: sum(int(client.llen(key)) for key in _lists_of(queue, channel))
                for queue in queues}
    except (KombuError, OSError, *connection.connection_errors,
            *connection.channel_errors) as exc:
        raise QueueUnavailable(f"the broker at {without_credentials(broker_url)} cannot be "
                               f"reached: {without_credentials(str(exc))}") from exc
    finally:
        connection.release()


def ingest_queue_depth(broker_url: str, timeout: float = DEPTH_TIMEOUT) -> int | None:
    """How many messages wait in the ingest queue; None when the broker cannot be
    reached (cannot tell). The one place that question is asked: each caller
    decides what "cannot tell" means for it (the stuck-item sweep sends nothing
    it need not, ``strongroom status`` calls waiting items stuck)."""
    try:
        return queue_depths(broker_url, (QUEUE_INGEST,), timeout)[QUEUE_INGEST]
    except QueueUnavailable:
        return None


def _lists_of(queue: str, channel: Any) -> list[str]:
    """The Redis lists that hold ``queue``'s messages: one per priority step, the
    first under the queue's own name (as kombu's Redis transport names them)."""
    return [queue, *(f"{queue}{channel.sep}{step}" for step in channel.priority_steps if step)]


__all__ = ["DEPTH_TIMEOUT", "ingest_queue_depth", "queue_depths"]
