"""The work-done metrics port: what the use cases tell an observer as they work.

Counts of work done (items finished, bytes ingested, how long an ingest took,
fixity checks by tier and outcome) can only be seen where the work happens: in
the process that does it. The use cases report them here; the entry point hands
in an implementation (Prometheus, in ``strongroom.metrics``), and the default
observes nothing. What the archive *is* (coverage, failures outstanding, stuck
items, items by status) is not counted here but read from the catalog when asked
(``ingest.archive_figures``): the catalog stays the one source of that truth.

An observer never raises into the work it watches.
"""

from __future__ import annotations

from typing import Protocol


class WorkMetrics(Protocol):
    """Where the use cases report the work they have done."""

    def item_finished(self, status: str, payload_octets: int, seconds: float) -> None:
        """An attempt at an item ended with a final ``status`` (stored, unchanged,
        rejected, failed) after ``seconds``; ``payload_octets`` were ingested (the
        payload bytes of a version stored; 0 for any other status)."""

    def copy_checked(self, tier: str, outcome: str, octets: int) -> None:
        """A fixity check of ``tier`` (deep, shallow) of one copy of ``octets`` bytes
        was recorded with ``outcome`` (ok, failed)."""


class NoMetrics:
    """Observes nothing: the default where no entry point asked for metrics."""

    def item_finished(self, status: str, payload_octets: int, seconds: float) -> None:
        pass

    def copy_checked(self, tier: str, outcome: str, octets: int) -> None:
        pass


NO_METRICS = NoMetrics()

__all__ = ["NO_METRICS", "NoMetrics", "WorkMetrics"]
