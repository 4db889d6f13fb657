"""``GET /metrics``: the Prometheus metrics of the archive and of this process's
work, for an admin token (``strongroom token create --role admin``).

What each metric means, and how to scrape it: ``docs/monitoring.md``. Not in the
OpenAPI document: it is the Prometheus text format, read by Prometheus.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from strongroom.api.auth import Permission, require

router = APIRouter()


@router.get("/metrics", include_in_schema=False,
            dependencies=[Depends(require(Permission.METRICS))])
def metrics(request: Request) -> Response:
    """The archive's state (read from the catalog and the broker now) and the work
    done by this process (or by every process sharing PROMETHEUS_MULTIPROC_DIR)."""
    from strongroom.metrics import CONTENT_TYPE, exposition

    state = request.app.state.strongroom
    return Response(exposition(state.services, state.settings), media_type=CONTENT_TYPE)
