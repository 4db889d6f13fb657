"""When a worker counts as no longer taking work (``workers.stall_watch.StallClock``).

The restart itself is tested with a real worker whose broker connection stops
delivering (tests/integration/test_faults.py)."""

from __future__ import annotations

from workers.stall_watch import StallClock


def looks(clock: StallClock, *observations: tuple[float, int | None, int, int]) -> list[float | None]:
    return [clock.observe(*seen) for seen in observations]


def test_messages_waiting_while_the_worker_holds_and_takes_nothing_is_a_stall_after_the_delay() -> None:
    clock = StallClock(stall_after=30)
    assert looks(clock, (0, 4, 0, 7), (10, 4, 0, 7), (29, 5, 0, 7), (31, 5, 0, 7)) == [
        None, None, None, 31]


def test_a_worker_busy_with_its_tasks_is_not_stalled_however_long_work_waits() -> None:
    clock = StallClock(stall_after=30)
    assert looks(clock, *((t, 100, 2, 7) for t in range(0, 300, 5))) == [None] * 60


def test_an_idle_worker_with_nothing_waiting_is_not_stalled() -> None:
    clock = StallClock(stall_after=30)
    assert looks(clock, *((t, 0, 0, 7) for t in range(0, 300, 5))) == [None] * 60


def test_any_task_accepted_or_held_or_an_empty_queue_starts_the_count_again() -> None:
    clock = StallClock(stall_after=30)
    assert looks(clock, (0, 4, 0, 7), (25, 4, 0, 8),  # took one: working
                 (50, 4, 0, 8), (70, 4, 1, 8),  # holds one
                 (80, 4, 0, 9), (95, 0, 0, 9),  # the queue emptied
                 (100, 3, 0, 9), (129, 3, 0, 9), (130, 3, 0, 9)) == [
        None, None, None, None, None, None, None, None, 30]


def test_a_broker_that_cannot_be_asked_proves_nothing() -> None:
    clock = StallClock(stall_after=30)
    assert looks(clock, (0, 4, 0, 7), (20, None, 0, 7), (40, 4, 0, 7), (60, 4, 0, 7),
                 (70, 4, 0, 7)) == [None, None, None, None, 30]
