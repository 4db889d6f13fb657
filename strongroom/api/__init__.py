"""The HTTP API: a FastAPI app over the same use cases as the CLI (``create_app``)."""

from __future__ import annotations

from strongroom.api.app import ApiState, create_app

__all__ = ["ApiState", "create_app"]
