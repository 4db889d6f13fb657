"""The HTTP API's app factory: settings and services in, a FastAPI app out.

The API knows nothing of the web console: ``strongroom.asgi`` builds the app
that is served, handing ``create_app`` the console's ``install`` as a mount.

The routes call the same use cases as the CLI. Work that outlives a request
(ingesting an uploaded batch, a fixity check without a broker) runs on a small
thread pool owned by the app, so POST returns 202 at once; with a broker it is
sent to the Celery workers instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from ingest.accounts import SignInThrottle
from ingest.anchoring import HeadAnchorer, anchor_audit_head
from ingest.models import VERSION, Actor
from ingest.services import Services
from strongroom.api import problems
from strongroom.api.body_limit import BodyLimit
from strongroom.api.callbacks import CallbackSender
from strongroom.settings import Settings

_log = logging.getLogger("strongroom.api")
#: How long a callback waits for the workers to finish a batch before giving up.
CALLBACK_WATCH_SECONDS = 24 * 3600.0


@dataclass
class ApiState:
    """What every route reaches through ``request.app.state.strongroom``."""

    settings: Settings
    services: Services
    background: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="api-work"))
    pending: list[Future[object]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _fill_lock: threading.Lock = field(default_factory=threading.Lock)
    #: locations being filled in the background here (``fill``)
    _filling: set[str] = field(default_factory=set)
    #: anchors the audit head after requests and background work (see ingest.anchoring)
    anchorer: HeadAnchorer | None = None
    #: callbacks go out on threads of their own: a receiver that never answers
    #: must not hold the threads that ingest
    callbacks: CallbackSender = field(init=False)
    #: the console's failed sign-ins, per name and per address (ingest.accounts)
    sign_in_throttle: SignInThrottle = field(default_factory=SignInThrottle)

    def __post_init__(self) -> None:
        self.callbacks = CallbackSender(self.settings.max_attempts, self.settings.retry_backoff)
        if self.anchorer is None:
            services = self.services
            self.anchorer = HeadAnchorer(lambda: anchor_audit_head(services),
                                         every=self.settings.anchor_every, log=_log)

    def ingest(self, batch_id: str, item_ids: Sequence[str],
               callback_url: str | None = None, actor: Actor | None = None,
               upload: Path | None = None) -> str:
        """Have a batch's items ingested (``ingest.handover``): sent to the workers
        with a broker, else on this process's background pool; then, with
        ``callback_url``, POST the batch document there once every item is final.
        Returns how ("queued" or "in-process"). ``actor`` asked for the work: the
        events name it (the workers act on its behalf). ``upload``: the staged
        upload the batch was registered from, removed once an in-process ingest
        has finished every item (kept while one may be requeued: ``staging
        prune``). Raises QueueUnavailable (the items stay accepted)."""
        from ingest.handover import hand_over
        from strongroom.bootstrap import build_dispatcher

        services = replace(self.services, actor=actor)
        dispatcher = build_dispatcher(self.settings, services)
        if not dispatcher.finishes_items:
            handed = hand_over(services, dispatcher, batch_id, item_ids)
            if handed.error is not None:
                raise handed.error
            if callback_url:
                # The workers finish the items; a light thread watches the catalog.
                threading.Thread(target=self._watch_then_call, args=(batch_id, callback_url),
                                 name="batch-callback", daemon=True).start()
            return "queued"

        def ingest_then_call() -> None:
            hand_over(services, dispatcher, batch_id, item_ids)
            if upload is not None:
                from strongroom.api.staging import release

                release(upload, self.services.catalog)
            if callback_url:
                self._call_back(batch_id, callback_url)

        self._run(ingest_then_call)
        return "in-process"

    def _watch_then_call(self, batch_id: str, url: str, poll: float = 2.0) -> None:
        from ingest.handover import wait_until_final

        # Nobody waits on this watcher: a look every ``poll`` seconds, not as
        # often as a small batch's look is cheap (``submit --wait``'s pace).
        if wait_until_final(self.services.catalog, batch_id, None, CALLBACK_WATCH_SECONDS,
                            min_pause=poll, max_pause=poll):
            self._call_back(batch_id, url)

    def _call_back(self, batch_id: str, url: str) -> None:
        from strongroom.api.staging import client_view
        from strongroom.reports import batch_report

        document = client_view(batch_report(self.services.catalog, batch_id),
                               self.settings.staging)
        self.callbacks.send(url, document)

    def verify(self, package_id: str, numbers: Sequence[int], actor: Actor | None = None) -> str:
        """Deep-check versions (``ingest.handover.check_versions``): on the workers'
        fixity queue, or in the background here. Raises QueueUnavailable."""
        from ingest.handover import check_versions
        from strongroom.bootstrap import build_dispatcher

        services = replace(self.services, actor=actor)
        dispatcher = build_dispatcher(self.settings, services)
        if not dispatcher.finishes_items:
            check_versions(dispatcher, package_id, numbers)
            return "queued"
        for number in numbers:  # one background task each, as many at once as the pool runs
            self._run(check_versions, build_dispatcher(self.settings, services), package_id,
                      [number])
        return "in-process"

    def check_due(self, actor: Actor | None = None) -> str:
        """Run every fixity check the policy says is due now
        (``ingest.fixity_due.run_due``, as ``strongroom fixity run-due`` does), in
        the background here; ``actor`` asked for it: the events name it. Returns
        "in-process"."""
        from ingest.fixity_due import run_due
        from strongroom.settings import fixity_policy

        self._run(run_due, replace(self.services, actor=actor), fixity_policy(self.settings))
        return "in-process"

    def fill(self, location: str, actor: Actor | None = None) -> dict[str, Any]:
        """Have ``location`` hold every committed version whole, as ``strongroom
        locations fill`` does: one task per version on the workers' fixity queue
        with a broker (``ingest.storage_locations.queue_fill``), else in the
        background here, one fill of a location at a time (asked again while it
        runs, it is not started twice). ``actor`` asked for it: the events name
        it. Returns how (``dispatch``) and, queued, how many versions were sent.
        Raises LocationNotFound, StorageUnavailable (the location cannot be used:
        nothing starts), QueueUnavailable."""
        from ingest.storage_locations import check_fillable, queue_fill
        from strongroom.bootstrap import build_dispatcher
        from strongroom.settings import fixity_policy

        services = replace(self.services, actor=actor)
        dispatcher = build_dispatcher(self.settings, services)
        try:
            if not dispatcher.finishes_items:
                queued = queue_fill(services, dispatcher, location,
                                    fixity_policy(self.settings).requeue_after)
                return {"location": location, "dispatch": "queued", "sent": queued.sent,
                        "already_queued": queued.already_queued}
        finally:
            dispatcher.close()
        check_fillable(services, location)
        with self._fill_lock:
            if location not in self._filling:
                self._filling.add(location)
                self._run(self._fill_here, services, location)
        return {"location": location, "dispatch": "in-process", "sent": None,
                "already_queued": None}

    def _fill_here(self, services: Services, location: str) -> None:
        from ingest.storage_locations import fill_location

        try:
            fill_location(services, location)
        finally:
            with self._fill_lock:
                self._filling.discard(location)

    def _run(self, fn: Callable[..., object], *args: object) -> None:
        # Requests call this from several threadpool threads at once.
        with self._lock:
            self.pending = [f for f in self.pending if not f.done()]
            future = self.background.submit(fn, *args)
            future.add_done_callback(_log_failure)
            if self.anchorer is not None:
                anchorer = self.anchorer
                future.add_done_callback(lambda _: anchorer.poke())
            self.pending.append(future)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the background work started so far is done, and the callbacks
        it sent delivered or given up (tests, shutdown)."""
        with self._lock:
            started = list(self.pending)
        for future in started:
            future.result(timeout=timeout)
        self.callbacks.wait(timeout)


def _log_failure(future: Future[object]) -> None:
    exc = future.exception()
    if exc is not None:  # the items stay accepted: `strongroom requeue` sends them again
        _log.error("background work failed: %s: %s", type(exc).__name__, exc)


#: Adds routes of its own to the API's app (the web console's ``install``).
Mount = Callable[[FastAPI], None]


def create_app(settings: Settings | None = None, services: Services | None = None,
               mounts: Sequence[Mount] = ()) -> FastAPI:
    """The API on ``services`` (built from ``settings`` when not given), with each of
    ``mounts`` given the app to add its routes to. Raises SettingsError, CatalogUnavailable."""
    settings = settings or Settings.from_env()
    if services is None:
        from strongroom.bootstrap import build_services

        services = build_services(settings)
    return _assemble(ApiState(settings, services), mounts)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the API, without opening any catalog or store."""
    return _assemble(None).openapi()


def _assemble(state: ApiState | None, mounts: Sequence[Mount] = ()) -> FastAPI:
    from strongroom.api import (
        explorer,
        routes_batches,
        routes_deaccession,
        routes_health,
        routes_metrics,
        routes_packages,
        routes_preservation,
    )
    from strongroom.api.paths import PackageSegment

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if state is not None:
            state.background.shutdown(wait=True)
            state.callbacks.close()
            if state.anchorer is not None:  # events appended here are anchored at the end
                state.anchorer.close()

    app = FastAPI(
        title="Strongroom",
        version=VERSION,
        description="Archival ingest and preservation: submit batches, follow them, "
                    "read, search and fetch verified BagIt packages, check fixity and "
                    "read the audit log. Every request carries `Authorization: Bearer "
                    "TOKEN` (but `/healthz` and `/readyz`; a GET from a browser signed in "
                    "to the console carries its session instead); errors are RFC 9457 "
                    "problem details.",
        lifespan=lifespan,
        docs_url=None, redoc_url=None,  # the explorer is served from local files (strongroom.api.explorer)
    )
    app.state.strongroom = state
    app.add_middleware(PackageSegment)  # identifiers with `/` sent as %2F: one segment
    problems.install(app)
    app.include_router(routes_batches.router)
    app.include_router(routes_packages.router)
    app.include_router(routes_preservation.router)
    app.include_router(routes_deaccession.router)
    app.include_router(routes_health.router)  # /healthz, /readyz: no token
    app.include_router(explorer.router)  # /docs, from files served here
    for mount in mounts:  # the console at /console/, its assets at /static/
        mount(app)
    app.include_router(routes_metrics.router)  # /metrics: Prometheus, admin token
    if state is not None and state.anchorer is not None:
        app.add_middleware(_AnchorAfter, anchorer=state.anchorer)
    # Outermost: a body is bounded before any route, dependency or middleware reads it.
    app.add_middleware(BodyLimit)
    return app


class _AnchorAfter:
    """ASGI middleware: once a request's response is fully sent (a streamed download
    records its fixity event while sending), have the audit head anchored soon."""

    def __init__(self, app: Any, anchorer: HeadAnchorer) -> None:
        self.app, self.anchorer = app, anchorer

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http" and scope.get("path") not in _UNTOUCHED:
                self.anchorer.poke()


#: Probed every few seconds by load balancers; they change nothing, so no anchoring after them.
_UNTOUCHED = frozenset({"/healthz", "/readyz"})
