"""One answer to "how many messages wait in the ingest queue?" (``workers.queue_depth.
ingest_queue_depth``), asked of a real Redis: the count, or None when the broker
cannot be reached. The stuck-item sweep and `strongroom status` both ask it, and
each decides what "cannot tell" means for it."""

from __future__ import annotations

import socket

import redis

from workers.queue_depth import ingest_queue_depth
from workers.reliability import QUEUE_FIXITY, QUEUE_INGEST
from workers.tasks import ingest_queue_is_empty


def test_ingest_queue_depth_counts_messages_and_says_none_when_the_broker_is_out_of_reach(
        redis_url: str) -> None:
    assert ingest_queue_depth(redis_url) == 0
    assert ingest_queue_is_empty(redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        client.lpush(QUEUE_INGEST, b"{}", b"{}")
        client.lpush(QUEUE_FIXITY, b"{}")  # another queue's messages are not counted
        assert ingest_queue_depth(redis_url) == 2
        assert not ingest_queue_is_empty(redis_url)
    finally:
        client.close()

    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    nowhere = f"redis://127.0.0.1:{port}/0"
    assert ingest_queue_depth(nowhere, timeout=0.5) is None
    # The sweep sends nothing it need not when it cannot tell.
    assert not ingest_queue_is_empty(nowhere)
