"""A catalog as an earlier release left it: its database brought to chosen alembic
revisions only, for the tests of what a later migration does to rows already there."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from storage.database import alembic_config, writing


def upgrade_to(engine: Engine, revisions: list[str] | tuple[str, ...]) -> None:
    """Bring the catalog database of ``engine`` to each of ``revisions`` in turn."""
    from alembic import command

    with writing(engine).connect() as connection, connection.begin():
        config = alembic_config()
        config.attributes["connection"] = connection
        for revision in revisions:
            command.upgrade(config, revision)
