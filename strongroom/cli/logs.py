"""Logging of the long-running commands (``serve``, ``worker``, ``beat``), from the settings."""

from __future__ import annotations

from strongroom.log_format import configure_logging
from strongroom.settings import Settings


def configure_from(settings: Settings, level: str | None = None) -> None:
    """Log at ``level`` (default STRONGROOM_LOG_LEVEL) in STRONGROOM_LOG_FORMAT to stderr."""
    configure_logging((level or settings.log_level).upper(), settings.log_format)


__all__ = ["configure_from", "configure_logging"]
