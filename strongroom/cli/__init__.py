"""The ``strongroom`` command.

Contract (other tools rely on it): every command takes ``--json`` and then
prints exactly one JSON document on stdout. Exit codes: 0 all good; 1 the
command ran and found problems (an item rejected, failed or stuck, a fixity
failure, a broken audit chain, a service unavailable); 2 usage error or
unreadable input. The long-running ``worker`` and ``beat`` print their document
when they stop.

Without a broker, ``submit`` and ``requeue`` ingest in this process; with
STRONGROOM_BROKER_URL set, they send item ids to the Celery workers (only once
the catalog rows are committed) and return, or wait with ``--wait``.

Heavy libraries are imported inside the commands so that ``--help`` stays fast,
and each command's module only when that command runs (``strongroom.cli.commands``).
"""

from __future__ import annotations

from strongroom.cli.base import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, main

__all__ = ["EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "main"]
