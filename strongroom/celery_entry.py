"""The Celery app of this installation, wired from the settings.

``celery -A strongroom.celery_entry worker`` (or ``beat``) finds ``app`` here;
``strongroom worker`` and ``strongroom beat`` use ``app_for`` directly. The app is
made on first access, so importing this module reads no settings.
"""

from __future__ import annotations

from typing import Any

from strongroom.bootstrap import build_services, worker_settings
from strongroom.settings import Settings
from workers.celery_app import create_app
from workers.celery_base import StrongroomCelery


def app_for(settings: Settings) -> StrongroomCelery:
    """A Celery app whose worker processes each build their own catalog and store
    from ``settings`` (after the fork). Raises SettingsError without a broker."""
    return create_app(worker_settings(settings), lambda: build_services(settings))


def __getattr__(name: str) -> Any:
    # Celery's -A looks up ``app``: make it from the environment on first access.
    if name == "app":
        app = app_for(Settings.from_env())
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
