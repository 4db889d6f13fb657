"""How a long use case tells its caller how far it has gone, and how it is asked to stop.

``Progress`` is the port a use case reports to while it works: how much there
is in all (``plan``), which item it starts (``item_started``), bytes as it
reads them (``bytes_done``, from the one read that also hashes and uploads:
never from a second pass) and when an item is over (``item_finished``). Items
may run side by side on threads, so every call names its item by a key. The
default, ``NO_PROGRESS``, shows nothing; an entry point on a terminal hands in
one that draws (the CLI's, on stderr).

``StopFlag`` is a cooperative stop: the entry point sets it (a first Ctrl-C)
and the use cases look at it between items and between the chunks of a file.
An item that sees it abandons its unfinished version as a failed attempt
would (nothing becomes visible: the commit comes last) and stays ``accepted``,
so ``strongroom requeue`` takes it up again; items not started are left as
they are.
"""

from __future__ import annotations

import threading
from typing import Protocol

from ingest.errors import StopRequested


class Progress(Protocol):
    """Where a long use case says how far it has gone. Callable from any thread."""

    def plan(self, items: int, octets: int | None) -> None:
        """The work in all: ``items`` items of ``octets`` bytes (None: not known)."""

    def item_started(self, key: str, label: str, octets: int | None) -> None:
        """Item ``key`` (shown as ``label``, of ``octets`` bytes) is being worked on."""

    def bytes_done(self, key: str, octets: int) -> None:
        """``octets`` more bytes of item ``key`` were read."""

    def item_finished(self, key: str) -> None:
        """Item ``key`` is over (whatever its outcome)."""


class NoProgress:
    """Shows nothing: the default of every use case."""

    def plan(self, items: int, octets: int | None) -> None:
        """Nothing to show."""

    def item_started(self, key: str, label: str, octets: int | None) -> None:
        """Nothing to show."""

    def bytes_done(self, key: str, octets: int) -> None:
        """Nothing to show."""

    def item_finished(self, key: str) -> None:
        """Nothing to show."""


NO_PROGRESS: Progress = NoProgress()


class StopFlag:
    """A request to stop, set once by the entry point and read by the use cases."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def request(self) -> None:
        """Ask the work to stop at its next boundary (between items or chunks)."""
        self._event.set()

    @property
    def requested(self) -> bool:
        """True once a stop was asked for."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise StopRequested once a stop was asked for."""
        if self._event.is_set():
            raise StopRequested("stopped on request")


__all__ = ["NO_PROGRESS", "NoProgress", "Progress", "StopFlag"]
