"""Prometheus metrics: the work done, counted where it happens, and the archive's
state, read from the catalog at each scrape.

Two kinds, kept apart on purpose (``docs/monitoring.md`` lists every metric):

- *Work done* (items finished, bytes ingested, ingest durations, fixity checks by
  tier and outcome): counters and a histogram, observed by the use cases through
  ``ingest.work_metrics.WorkMetrics``, implemented by ``strongroom.work_metrics``.
  Each process counts its
  own work; in a Celery worker's pool (many processes) they are kept in
  Prometheus's multiprocess files (``PROMETHEUS_MULTIPROC_DIR``) and served by the
  worker's main process (``serve_worker_metrics``).
- *State* (items by status, stuck items, coverage per location, failures
  outstanding, bytes due, the audit chain's head and anchor, queue depth):
  gauges computed when scraped, from the catalog (``ingest.archive_figures``) and
  the broker (``workers.queue_depth``). Never counted in a process: the catalog is
  the one source of truth, so every scrape of every API process agrees.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from ingest.archive_figures import archive_figures
from ingest.errors import CatalogUnavailable, QueueUnavailable
from ingest.health import without_credentials
from strongroom.work_metrics import PrometheusWorkMetrics

if TYPE_CHECKING:
    from ingest.services import Services
    from strongroom.settings import Settings

#: The media type of the text exposition format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Registered(Collector):
    """Everything ``registry`` holds, as one collector of another registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()


class ArchiveCollector(Collector):
    """The archive's state as gauges, read when scraped: the catalog's figures
    (``ingest.archive_figures``) and, with a broker, the queues' lengths."""

    def __init__(self, services: Services, settings: Settings) -> None:
        self._services = services
        self._settings = settings

    def collect(self) -> Iterator[Metric]:
        yield from self._catalog_figures()
        if self._settings.broker_url:
            yield from self._queues(self._settings.broker_url)

    def _catalog_figures(self) -> Iterator[Metric]:
        from strongroom.settings import fixity_policy

        up = GaugeMetricFamily("strongroom_catalog_up", "1 when the catalog answered this scrape")
        try:
            figures = archive_figures(self._services, fixity_policy(self._settings))
        except CatalogUnavailable:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        items = GaugeMetricFamily("strongroom_items", "Items in the catalog, by status "
                                  "(accepted: not final yet)", labels=["status"])
        for status, count in figures.items_by_status.items():
            items.add_metric([status], count)
        yield items
        yield GaugeMetricFamily("strongroom_items_stuck", "Accepted items without progress for "
                                "STRONGROOM_STUCK_AFTER seconds", value=figures.stuck_items)
        ratio = GaugeMetricFamily("strongroom_fixity_coverage_ratio", "Share of the copies in a "
                                  "location deep-verified whole within the fixity window "
                                  "(1 when it holds none)", labels=["location"])
        copies = GaugeMetricFamily("strongroom_fixity_copies", "Copies (versions) held in a "
                                   "location", labels=["location"])
        covered = GaugeMetricFamily("strongroom_fixity_copies_covered", "Copies in a location "
                                    "deep-verified whole within the fixity window",
                                    labels=["location"])
        for place in figures.coverage:
            label = [without_credentials(place.location)]
            ratio.add_metric(label, place.share)
            copies.add_metric(label, place.copies)
            covered.add_metric(label, place.covered)
        yield from (ratio, copies, covered)
        yield GaugeMetricFamily("strongroom_fixity_versions", "Committed versions",
                                value=figures.versions)
        yield GaugeMetricFamily("strongroom_fixity_versions_covered", "Versions whose every copy "
                                "is covered", value=figures.versions_covered)
        yield GaugeMetricFamily("strongroom_fixity_copies_overdue", "Copies whose deep check is "
                                "past its deadline", value=figures.copies_overdue)
        yield GaugeMetricFamily("strongroom_fixity_due_bytes", "Bytes of the copies whose deep "
                                "check is due (deadline passed, to the hour)",
                                value=figures.octets_due_deep)
        yield GaugeMetricFamily("strongroom_fixity_failures_outstanding", "Copies whose last "
                                "check of a tier failed and that no later check found whole",
                                value=figures.failures_outstanding)
        yield GaugeMetricFamily("strongroom_audit_head_sequence", "Sequence number of the last "
                                "event of the audit chain", value=figures.audit_head_seq)
        if figures.anchor_seq is not None and figures.anchor_age_seconds is not None:
            yield GaugeMetricFamily("strongroom_audit_anchor_sequence", "Sequence number of the "
                                    "newest anchored head", value=figures.anchor_seq)
            yield GaugeMetricFamily("strongroom_audit_anchor_age_seconds", "Seconds since the "
                                    "newest anchor was written", value=figures.anchor_age_seconds)

    def _queues(self, broker_url: str) -> Iterator[Metric]:
        from workers.queue_depth import queue_depths

        up = GaugeMetricFamily("strongroom_broker_up", "1 when the broker answered this scrape")
        try:
            depths = queue_depths(broker_url)
        except QueueUnavailable:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        waiting = GaugeMetricFamily("strongroom_queue_messages", "Messages waiting in a queue "
                                    "(not yet taken by a worker)", labels=["queue"])
        for queue, depth in depths.items():
            waiting.add_metric([queue], depth)
        yield waiting


def exposition(services: Services, settings: Settings) -> bytes:
    """The text a scrape of the API gets: the archive's state, and the work done
    by this process, or by every process that shares ``PROMETHEUS_MULTIPROC_DIR``."""
    registry = CollectorRegistry(auto_describe=False)
    if settings.prometheus_multiproc_dir is not None:
        MultiProcessCollector(registry, path=str(settings.prometheus_multiproc_dir))
    elif isinstance(services.metrics, PrometheusWorkMetrics):
        registry.register(_Registered(services.metrics.registry()))
    registry.register(ArchiveCollector(services, settings))
    return generate_latest(registry)


class _Restarts(Collector):
    """How many times the stall watch replaced this worker's process (counted
    across the replacements, which keep the process id)."""

    def __init__(self, restarts: int) -> None:
        self._restarts = restarts

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "strongroom_worker_stall_restarts",
            "Times this worker restarted itself because its connection to the broker "
            "no longer delivered while work waited", value=self._restarts)


def serve_worker_metrics(host: str, port: int, multiproc_dir: Path, restarts: int = 0) -> None:
    """Serve the work done by every process of this worker (its pool processes
    write to ``multiproc_dir``) and how many times the stall watch replaced it
    (``restarts``) on http://host:port/metrics, from a daemon thread. Raises
    OSError when the port cannot be bound."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path=str(multiproc_dir))
    registry.register(_Restarts(restarts))
    start_http_server(port, addr=host, registry=registry)


__all__ = ["CONTENT_TYPE", "ArchiveCollector", "exposition", "serve_worker_metrics"]
