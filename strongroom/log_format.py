"""How ``serve``, ``worker`` and ``beat`` write log records: human lines or JSON lines.

``STRONGROOM_LOG_FORMAT=human`` (the default) writes one readable line per record;
``json`` writes one JSON object per line, for a log collector. Either way a record
says which batch, item, package and agent it concerns, and what event, where
known: from the record's own ``extra=`` fields, else from the work in hand
(``ingest.work_context``).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from ingest.work_context import WORK_FIELDS, current_work

HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def work_fields(record: logging.LogRecord) -> dict[str, str]:
    """The batch, item, package, agent and event a record concerns, where known."""
    work = current_work()
    fields = {}
    for name in WORK_FIELDS:
        value = getattr(record, name, None) or work.get(name)
        if value:
            fields[name] = str(value)
    return fields


class JsonLines(logging.Formatter):
    """One JSON object per record, on one line: time (UTC, ISO 8601), level, logger,
    message, the work fields where known, and the exception's traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **work_fields(record),
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        return json.dumps(document, ensure_ascii=False, default=str)


class HumanLines(logging.Formatter):
    """``time LEVEL logger: message``, then the work fields in brackets when known."""

    def __init__(self) -> None:
        super().__init__(HUMAN_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = work_fields(record)
        if not fields:
            return line
        first, newline, rest = line.partition("\n")  # a traceback stays below the line
        about = " ".join(f"{name}={value}" for name, value in fields.items())
        return f"{first} [{about}]{newline}{rest}"


def configure_logging(level: str, log_format: str = "human", stream: TextIO | None = None) -> None:
    """Write log records of ``level`` (a name such as ``INFO``) and above to ``stream``
    (stderr), one line each in ``log_format`` (``human`` or ``json``); the handlers
    the process had on its root logger are replaced, so nothing is written twice;
    Python warnings become records of the ``py.warnings`` logger. A record of a
    logger that keeps its records from the root and has no handler of its own
    (billiard's ``multiprocessing``, telling that a pool process ended) is
    written by the same handler rather than as a bare line by Python's last resort."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines() if log_format == "json" else HumanLines())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.lastResort = handler
    logging.captureWarnings(True)  # a library's warning is a record too: one line, same format


__all__ = ["HumanLines", "JsonLines", "configure_logging", "work_fields"]
