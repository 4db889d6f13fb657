"""The Celery app class: Strongroom's worker settings and services, built once per process.

Beneath ``workers.celery_app`` (which makes and configures the app) and
``workers.tasks`` (which run on it): both import it from here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from celery import Celery

from ingest.services import Services
from workers.reliability import WorkerSettings

ServicesFactory = Callable[[], Services]


class StrongroomCelery(Celery):
    """A Celery app that carries Strongroom's worker settings and services factory."""

    def __init__(self, settings: WorkerSettings,
                 services_factory: ServicesFactory | None = None) -> None:
        super().__init__("strongroom", set_as_current=False)
        self.worker_settings = settings
        self._services_factory = services_factory
        self._services: Services | None = None
        self._services_pid: int | None = None
        self._services_lock = threading.Lock()

    def services(self) -> Services:
        """The catalog and store of this process, built on first use.

        Raises RuntimeError when the app was made without a services factory (a
        producer only sends), and whatever the factory raises (CatalogUnavailable
        when the database cannot be reached).
        """
        with self._services_lock:
            if self._services is None or self._services_pid != os.getpid():
                if self._services_factory is None:
                    raise RuntimeError("this Celery app only sends tasks: it has no services")
                self._services = self._services_factory()
                self._services_pid = os.getpid()
            return self._services
