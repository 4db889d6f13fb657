"""The work-done counters of one process, on prometheus-client: the implementation of
``ingest.work_metrics.WorkMetrics`` that the entry points hand to the use cases.

prometheus-client is loaded, and the counters made, at the first observation or
scrape: a command that ingests nothing (``list``, ``show``) never pays for it.
What the metrics mean: ``docs/monitoring.md``; how they are served: ``strongroom.metrics``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

#: Ingest durations (seconds): from a small record to a multi-gigabyte item.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class PrometheusWorkMetrics:
    """``ingest.work_metrics.WorkMetrics`` on Prometheus counters of a registry of
    its own (``registry()``), so that two archives served from one process (tests)
    never mix their counts. Safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registry: CollectorRegistry | None = None
        self._metric: dict[str, Any] = {}

    def registry(self) -> CollectorRegistry:
        """The registry of these counters, made on first use."""
        with self._lock:
            if self._registry is None:
                self._registry = self._make()
            return self._registry

    def _make(self) -> CollectorRegistry:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        registry = CollectorRegistry(auto_describe=True)
        self._metric = {
            "items": Counter("strongroom_items_finished", "Items this process brought to a "
                             "final status, by status", ["status"], registry=registry),
            "bytes": Counter("strongroom_ingested_bytes", "Payload bytes of the versions this "
                             "process stored", registry=registry),
            "duration": Histogram("strongroom_ingest_duration_seconds", "Time of the attempt "
                                  "that brought an item to its final status, by status",
                                  ["status"], buckets=DURATION_BUCKETS, registry=registry),
            "checks": Counter("strongroom_fixity_checks", "Fixity checks of one copy recorded "
                              "by this process, by tier and outcome", ["tier", "outcome"],
                              registry=registry),
            "checked": Counter("strongroom_fixity_checked_bytes", "Bytes of the copies checked "
                               "by this process, by tier (a shallow check reads none of them)",
                               ["tier"], registry=registry),
        }
        return registry

    def _get(self, name: str) -> Any:
        self.registry()
        return self._metric[name]

    def item_finished(self, status: str, payload_octets: int, seconds: float) -> None:
        self._get("items").labels(status).inc()
        self._get("duration").labels(status).observe(seconds)
        if payload_octets:
            self._get("bytes").inc(payload_octets)

    def copy_checked(self, tier: str, outcome: str, octets: int) -> None:
        self._get("checks").labels(tier, outcome).inc()
        self._get("checked").labels(tier).inc(octets)


def work_metrics() -> PrometheusWorkMetrics:
    """A new set of work counters (one per ``Services``)."""
    return PrometheusWorkMetrics()


__all__ = ["DURATION_BUCKETS", "PrometheusWorkMetrics", "work_metrics"]
