"""The Celery app: the only place, with the task modules, where Celery is imported.

The app class itself (settings, services per process) is ``workers.celery_base``.

The entry points (``strongroom worker``, ``celery -A strongroom.celery_entry``)
parse the settings and hand in a *services factory*; this layer cannot build the
catalog and the store itself, because the wiring lives in the layer above.

Services are built once per worker process, after the fork
(``worker_process_init``): SQLAlchemy connection pools and boto3 clients must
never be shared by a parent and its forked children. They are also built on first
use, in the process that uses them, for pools that do not fork (``-P solo``,
threads) and for a process that forked after building them.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Callable
from typing import Any

from celery.app.trace import LOG_RETRY
from celery.signals import setup_logging, worker_process_init

from workers.celery_base import ServicesFactory, StrongroomCelery
from workers.reliability import WorkerSettings, celery_config
from workers.stall_watch import StallWatch
from workers.tasks import register_tasks

log = logging.getLogger(__name__)

#: Every app made by create_app in this process, to open their services after a fork.
_APPS: weakref.WeakSet[StrongroomCelery] = weakref.WeakSet()


def create_app(settings: WorkerSettings,
               services_factory: ServicesFactory | None = None) -> StrongroomCelery:
    """A Celery app configured by ``workers.reliability`` with Strongroom's tasks.

    ``services_factory`` builds the catalog and store; it is called once in each
    worker process. Leave it out for an app that only sends tasks. Raises
    ValueError for unusable settings.
    """
    app = StrongroomCelery(settings, services_factory)
    app.conf.update(celery_config(settings))
    register_tasks(app)
    # A worker that stopped taking work while work waits restarts itself.
    app.steps["worker"].add(StallWatch)
    _APPS.add(app)
    return app


@worker_process_init.connect(weak=False)
def _open_services_after_fork(**_: Any) -> None:
    """Build each app's services in a new pool process, before its first task.

    A failure is logged, not raised: a pool process that cannot start would be
    restarted in a tight loop. The first task builds again, and maps a database
    that is still unreachable to a retry.
    """
    for app in list(_APPS):
        if app._services_factory is None:
            continue
        try:
            app.services()
        except Exception:
            log.exception("could not open the catalog and store in worker process %d; "
                          "the first task will try again", os.getpid())


class _NoRetryLine(logging.Filter):
    """Drops Celery's ``Task … retry: Retry in 0.74s``: each retry is said once,
    by the task, with the item, the attempt and the reason (``workers.tasks._retry``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != LOG_RETRY


logging.getLogger("celery.app.trace").addFilter(_NoRetryLine())


def use_logging(configure: Callable[[str], None]) -> None:
    """Have Celery leave logging to ``configure`` (called with the level name that
    ``--loglevel`` gave) instead of setting up its own handlers, in the worker, its
    pool processes and beat: the entry point's format (human or JSON lines) holds."""

    def _configure(loglevel: int | str | None = None, **_: Any) -> None:
        if isinstance(loglevel, int):
            loglevel = logging.getLevelName(loglevel)
        configure(str(loglevel or "INFO"))

    setup_logging.connect(_configure, weak=False)


def notes_as_records() -> None:
    """Have the notes Celery's worker writes straight to the terminal (its warm or
    cold shutdown, the warnings that a second Ctrl-C ends the tasks in hand:
    ``celery.apps.worker.safe_say``) be records of the ``celery.apps.worker``
    logger instead, written by the root logger's handlers in their format: under
    JSON lines, a bare line among them is one a collector cannot read.

    They are said in signal handlers, where taking logging's locks could
    deadlock; so, as Celery does, each is written with one ``os.write``, here
    to the stream of each handler, once formatted by it."""
    from celery.apps import worker as celery_worker

    def say(message: str, *_: Any) -> None:
        record = logging.LogRecord("celery.apps.worker", logging.WARNING, __file__, 0,
                                   message.strip(), None, None)
        for handler in logging.getLogger().handlers:
            stream = getattr(handler, "stream", None)
            if stream is None or record.levelno < handler.level:
                continue
            try:
                os.write(stream.fileno(), (handler.format(record) + "\n").encode())
            except (OSError, ValueError):  # a note lost must not stop the shutdown it tells of
                pass

    celery_worker.safe_say = say


def run_command(app: StrongroomCelery, argv: list[str]) -> int:
    """Run one ``celery`` command (``worker``, ``beat``) on ``app`` in this process,
    as ``celery -A app ARGV`` would, and return its exit code (2 for arguments
    Celery does not accept). Blocks until the command ends."""
    import click
    from celery.bin.celery import celery as celery_command

    app_option = celery_command.params[0]  # -A/--app
    app_option.default = app
    try:
        code = celery_command.main(args=argv, prog_name="celery", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return 2
    finally:
        app_option.default = None
    return code if isinstance(code, int) else 0
