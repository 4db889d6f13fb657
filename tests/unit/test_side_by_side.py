"""Small store requests sent side by side (``ingest.replication.side_by_side``)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from ingest.errors import StorageUnavailable
from ingest.replication import requests_in_flight, side_by_side


def test_results_come_back_in_the_order_of_the_calls_whatever_order_they_end_in() -> None:
    second_done = threading.Event()

    def first() -> str:
        assert second_done.wait(timeout=10)  # ends last
        return "first"

    def second() -> str:
        second_done.set()
        return "second"

    assert side_by_side([first, second], most=2) == ["first", "second"]


def test_at_most_that_many_run_at_once() -> None:
    lock = threading.Lock()
    running, most_seen = 0, 0

    def call() -> None:
        nonlocal running, most_seen
        with lock:
            running += 1
            most_seen = max(most_seen, running)
        threading.Event().wait(0.02)
        with lock:
            running -= 1

    side_by_side([call] * 12, most=3)
    assert 1 <= most_seen <= 3


def test_a_failure_is_raised_only_once_every_call_has_ended() -> None:
    ended: list[int] = []

    def failing() -> None:
        raise StorageUnavailable("the store is away")

    def slow(n: int) -> Callable[[], None]:
        def call() -> None:
            threading.Event().wait(0.05)
            ended.append(n)
        return call

    with pytest.raises(StorageUnavailable, match="away"):
        side_by_side([failing, slow(1), slow(2), slow(3)], most=4)
    assert sorted(ended) == [1, 2, 3]


def test_a_store_that_says_nothing_is_asked_one_request_at_a_time() -> None:
    class Local:
        pass

    class Remote:
        requests_in_flight = 8

    assert requests_in_flight(Local()) == 1  # type: ignore[arg-type]
    assert requests_in_flight(Remote()) == 8  # type: ignore[arg-type]
