"""The application ``strongroom serve`` runs: the HTTP API with the web console
mounted on it.

The one place that knows both: the API (``strongroom.api``) does not import the
console, and the console's pages use the API's intake, problems and sign-in
session, so the two packages depend one way only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ingest.services import Services
    from strongroom.settings import Settings


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The API and the console on ``services`` (built from ``settings`` when not
    given). Raises SettingsError, CatalogUnavailable."""
    from strongroom import web
    from strongroom.api.app import create_app as create_api

    return create_api(settings, services, mounts=(web.install,))
