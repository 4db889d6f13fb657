"""How long to wait before trying again: one exponential backoff for every retry.

The embedded runner retrying an item, the Celery worker retrying a task and the
API resending a callback all wait ``base * 2**(attempt - 1)`` seconds after
failed attempt number ``attempt``, at most ``cap`` when one is given; each
says so in one log line worded by ``retry_note``.
"""

from __future__ import annotations


def backoff_delay(attempt: int, base: float, cap: float | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 for the first)
    before the next: ``base``, then twice that, and so on, never more than ``cap``.
    An attempt number below 1 counts as 1. Raises nothing."""
    delay: float = base * 2 ** (max(1, attempt) - 1)
    return delay if cap is None else min(delay, cap)


def retry_note(what: str, attempt: int, attempts: int, delay: float, reason: object) -> str:
    """The one log line of a retry: what is retried, which attempt of how many
    failed, when the next comes and why (``item …: attempt 2 of 5 failed, tried
    again in 1.9 s: StorageUnavailable: …``)."""
    return f"{what}: attempt {attempt} of {attempts} failed, tried again in {delay:.1f} s: {reason}"
