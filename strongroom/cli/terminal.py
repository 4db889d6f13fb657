"""What a person at a terminal gets from a long command: a progress bar, and Ctrl-C that stops cleanly.

``progress_for`` hands the use cases a ``TerminalProgress`` (``ingest.progress.Progress``
drawn with rich on stderr: bytes and items, the current item, rate and time
left) only when stdout and stderr are terminals and ``--json`` was not asked
for; anywhere else the use cases keep ``NO_PROGRESS`` and nothing extra is written.

``ctrl_c_stops`` turns the first Ctrl-C into a cooperative stop (``services.stop``:
the current file is abandoned cleanly, items not started stay accepted) and
the second into an immediate exit; either way the commit comes last, so no
package is ever half-visible.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ingest.progress import StopFlag
    from ingest.services import Services

#: exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it
EXIT_INTERRUPTED = 130


def on_terminal(as_json: bool) -> bool:
    """True when a person watches: stdout and stderr are terminals and no --json."""
    return not as_json and sys.stdout.isatty() and sys.stderr.isatty()


class TerminalProgress:
    """``ingest.progress.Progress`` as a rich progress bar on stderr."""

    def __init__(self, verb: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.verb = verb
        self._lock = threading.Lock()
        self._items_total: int | None = None
        self._items_done = 0
        #: key -> [label, bytes expected, bytes read so far]
        self._active: dict[str, list[Any]] = {}
        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TextColumn("{task.fields[items]}"), TransferSpeedColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=True, refresh_per_second=8)
        self._task = self.bar.add_task(verb, total=None, items="")

    # -- ingest.progress.Progress
    def plan(self, items: int, octets: int | None) -> None:
        with self._lock:
            self._items_total = items
            self.bar.update(self._task, total=octets, items=self._items_text())

    def item_started(self, key: str, label: str, octets: int | None) -> None:
        with self._lock:
            self._active[key] = [label, octets or 0, 0]
            self.bar.update(self._task, description=self._description())

    def bytes_done(self, key: str, octets: int) -> None:
        with self._lock:
            entry = self._active.get(key)
            if entry is not None:
                entry[2] += octets
        self.bar.advance(self._task, octets)

    def item_finished(self, key: str) -> None:
        with self._lock:
            entry = self._active.pop(key, None)
            self._items_done += 1
            # Bytes the item did not read (rejected, unchanged, stopped) are
            # counted as done, so the bar and the time left stay honest.
            unread = max(0, entry[1] - entry[2]) if entry is not None else 0
            self.bar.update(self._task, advance=unread, description=self._description(),
                            items=self._items_text())

    # -- for the CLI alone
    def items_finished(self, count: int) -> None:
        """``count`` more items are final (seen in the catalog, not read here)."""
        with self._lock:
            self._items_done += count
            self.bar.update(self._task, items=self._items_text())

    def _items_text(self) -> str:
        total = "?" if self._items_total is None else str(self._items_total)
        return f"{self._items_done}/{total} items"

    def _description(self) -> str:
        if not self._active:
            return self.verb
        labels = [entry[0] for entry in self._active.values()]
        more = f" (+{len(labels) - 1})" if len(labels) > 1 else ""
        return f"{self.verb} {labels[-1][:40]}{more}"


@contextmanager
def progress_for(services: Services, as_json: bool, verb: str) -> Iterator[Services]:
    """The services with a progress bar when a person watches (``on_terminal``);
    the bar is drawn while the block runs and removed when it ends."""
    if not on_terminal(as_json):
        yield services
        return
    progress = TerminalProgress(verb)
    with progress.bar:
        yield replace(services, progress=progress)


def terminal_progress(services: Services) -> TerminalProgress | None:
    """The ``TerminalProgress`` these services report to, if any."""
    progress = services.progress
    return progress if isinstance(progress, TerminalProgress) else None


@contextmanager
def ctrl_c_stops(stop: StopFlag, first: str, second: Callable[[], str]) -> Iterator[None]:
    """While the block runs, a first Ctrl-C sets ``stop`` (and says ``first`` on
    stderr), a second ends the process at once after saying ``second()``.

    SIGTERM (what ``kill``, systemd and ``docker stop`` send) is taken the same
    way: before, it ended the process where it stood, with no word, leaving the
    file in hand half-written in the store's staging and its version claimed
    until the claim was found stale."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    presses = 0

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            stop.request()
            told = "asked to stop (SIGTERM): " if signum == signal.SIGTERM else ""
            click.echo(f"\nstrongroom: {told}{first}", err=True)
            return
        # Work in flight is dropped where it stands: nothing was committed for
        # it, so nothing is half-visible; a resume finishes it.
        try:
            # Straight to the file descriptor: the progress bar may hold sys.stderr.
            cursor = "\x1b[?25h" if os.isatty(2) else ""  # the cursor the bar hid
            os.write(2, f"{cursor}\nstrongroom: {second()}\n".encode())
        finally:
            os._exit(EXIT_INTERRUPTED)

    previous = signal.signal(signal.SIGINT, on_sigint)
    previous_term = signal.signal(signal.SIGTERM, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)


__all__ = ["EXIT_INTERRUPTED", "TerminalProgress", "ctrl_c_stops", "on_terminal", "progress_for",
           "terminal_progress"]
