"""Telling a submitter's system that a batch is done: one POST to its callback URL.

The batch document (as ``GET /batches/{id}`` shows it) is POSTed as JSON once
every item is final. A failed delivery (no answer, or a status other than 2xx)
is tried again after a doubling delay, a bounded number of times; then it is
given up and logged. Only the URL's scheme and host are logged: its path or
query may carry a secret of the receiver's. Redirects are not followed: the
host was checked against the operator's allow-list when the batch was
submitted, and a redirect could lead anywhere inside the network. A URL with a
user name or password (``http://u:p@host/``) is never called: the host checked
must be the host connected to, and userinfo is where parsers disagree.

Callbacks never hold ingest capacity: ``CallbackSender`` sends them on its own
few threads, with a short timeout, and a retry is scheduled for later on one
timer thread rather than slept on, so a receiver that accepts connections and
never answers costs callback threads only.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from ingest.retry import backoff_delay

_log = logging.getLogger("strongroom.api")

#: seconds one attempt may wait to connect, and then for each part of the answer
TIMEOUT = 5.0


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx answer is an answer, not an invitation to call another host."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def has_userinfo(url: str) -> bool:
    """Whether ``url`` names a user or password before its host (``u:p@host``)."""
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:
        return False


def _where(url: str) -> str:
    try:
        return "{0.scheme}://{0.hostname}".format(urlsplit(url))
    except ValueError:
        return "(unparsable URL)"


def post_once(url: str, body: bytes, timeout: float = TIMEOUT) -> str | None:
    """POST ``body`` to ``url`` once. Returns None when answered 2xx, else what went
    wrong in a few words; raises nothing."""
    if has_userinfo(url):
        return "a user name or password in the URL"
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "strongroom"})
    try:
        with _opener.open(request, timeout=timeout) as answer:
            if 200 <= answer.status < 300:
                return None
            return f"status {answer.status}"
    except urllib.error.HTTPError as exc:
        return f"status {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return type(exc).__name__


def _body(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, default=str).encode("utf-8")


def deliver(url: str, document: dict[str, Any], *, attempts: int = 5, backoff: float = 1.0,
            timeout: float = TIMEOUT, sleep: Callable[[float], None] = time.sleep) -> bool:
    """POST ``document`` to ``url`` until a 2xx answer, at most ``attempts`` times,
    sleeping between attempts in the calling thread (the CLI's way; the API uses
    ``CallbackSender``). Returns whether it was delivered; raises nothing."""
    body = _body(document)
    for attempt in range(1, attempts + 1):
        problem = post_once(url, body, timeout)
        if problem is None:
            return True
        _log.warning("callback to %s failed (%s), attempt %d of %d", _where(url), problem,
                     attempt, attempts)
        if attempt < attempts:
            sleep(backoff_delay(attempt, backoff))
    _log.error("callback to %s given up after %d attempts", _where(url), attempts)
    return False


class CallbackSender:
    """Sends callbacks on ``workers`` threads of its own; a failed attempt is put on
    a timer heap for its doubling delay and sent again from there."""

    def __init__(self, attempts: int, backoff: float, *, workers: int = 2,
                 timeout: float = TIMEOUT) -> None:
        self.attempts, self.backoff, self.timeout = attempts, backoff, timeout
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="api-callback")
        self._lock = threading.Condition()
        self._due: list[tuple[float, int, str, bytes, int]] = []  # (when, tie, url, body, attempt)
        self._tie = itertools.count()
        self._outstanding = 0  # callbacks neither delivered nor given up
        self._timer: threading.Thread | None = None
        self._closed = False

    def send(self, url: str, document: dict[str, Any]) -> None:
        """Have ``document`` POSTed to ``url``; returns at once, raises nothing."""
        with self._lock:
            if self._closed:
                return
            self._outstanding += 1
        self._submit(url, _body(document), 1)

    def _submit(self, url: str, body: bytes, attempt: int) -> None:
        try:
            self._pool.submit(self._attempt, url, body, attempt)
        except RuntimeError:  # closed meanwhile
            self._settled()

    def _attempt(self, url: str, body: bytes, attempt: int) -> None:
        problem = post_once(url, body, self.timeout)
        if problem is None:
            self._settled()
            return
        _log.warning("callback to %s failed (%s), attempt %d of %d", _where(url), problem,
                     attempt, self.attempts)
        if attempt >= self.attempts:
            _log.error("callback to %s given up after %d attempts", _where(url), self.attempts)
            self._settled()
            return
        when = time.monotonic() + backoff_delay(attempt, self.backoff)
        with self._lock:
            heapq.heappush(self._due, (when, next(self._tie), url, body, attempt + 1))
            if self._timer is None:
                self._timer = threading.Thread(target=self._run_timer, name="api-callback-timer",
                                               daemon=True)
                self._timer.start()
            self._lock.notify_all()

    def _run_timer(self) -> None:
        while True:
            with self._lock:
                while not self._closed and (not self._due or self._due[0][0] > time.monotonic()):
                    self._lock.wait(self._due[0][0] - time.monotonic() if self._due else None)
                if self._closed:
                    return
                _, _, url, body, attempt = heapq.heappop(self._due)
            self._submit(url, body, attempt)

    def _settled(self) -> None:
        with self._lock:
            self._outstanding -= 1
            self._lock.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every callback sent so far is delivered or given up (tests,
        shutdown); returns whether they all were within ``timeout``."""
        with self._lock:
            return self._lock.wait_for(lambda: self._outstanding <= 0, timeout)

    def close(self) -> None:
        """Stop: retries not yet due are dropped (and logged), attempts under way end
        with their timeout."""
        with self._lock:
            self._closed = True
            dropped = len(self._due)
            self._due.clear()
            self._lock.notify_all()
        if dropped:
            _log.warning("%d callback retries dropped at shutdown", dropped)
        self._pool.shutdown(wait=False, cancel_futures=True)
