"""Logging of the long-running commands (``serve``; ``worker`` and ``beat`` leave it to Celery)."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """Write log records of ``level`` (a name such as ``INFO``) and above to stderr, one
    line each; the level applies to whatever handlers the process already has too."""
    logging.basicConfig(level=level, format=FORMAT, stream=sys.stderr)
    logging.getLogger().setLevel(level)
