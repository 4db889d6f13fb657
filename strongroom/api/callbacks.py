"""Telling a submitter's system that a batch is done: one POST to its callback URL.

The batch document (as ``GET /batches/{id}`` shows it) is POSTed as JSON once
every item is final. A failed delivery (no answer, or a status other than 2xx)
is tried again after a doubling delay, a bounded number of times; then it is
given up and logged. Only the URL's scheme and host are logged: its path or
query may carry a secret of the receiver's. Redirects are not followed: the
host was checked against the operator's allow-list when the batch was
submitted, and a redirect could lead anywhere inside the network.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

_log = logging.getLogger("strongroom.api")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx answer is an answer, not an invitation to call another host."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def deliver(url: str, document: dict[str, Any], *, attempts: int = 5, backoff: float = 1.0,
            timeout: float = 10.0, sleep: Callable[[float], None] = time.sleep) -> bool:
    """POST ``document`` to ``url`` until a 2xx answer, at most ``attempts`` times.
    Returns whether it was delivered; raises nothing."""
    body = json.dumps(document, ensure_ascii=False, default=str).encode("utf-8")
    try:
        where = "{0.scheme}://{0.hostname}".format(urlsplit(url))
    except ValueError:
        where = "(unparsable URL)"
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "strongroom"})
        try:
            with _opener.open(request, timeout=timeout) as answer:
                if 200 <= answer.status < 300:
                    return True
                problem = f"status {answer.status}"
        except urllib.error.HTTPError as exc:
            problem = f"status {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            problem = type(exc).__name__
        _log.warning("callback to %s failed (%s), attempt %d of %d", where, problem, attempt,
                     attempts)
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    _log.error("callback to %s given up after %d attempts", where, attempts)
    return False
