"""Package search finds names spelled out: ``Mueller`` finds ``Müller``, ``Soeren``
and ``Soren`` find ``Søren``, ``Aarhus`` finds ``Århus``.

Since this revision each package keeps, besides its title's and creators' folded
form (``ingest.access.search_fold``, which now also writes ø, æ, œ, ł, đ, ð, þ and
ı plainly), the form with ä, ö, ü, ø and å spelled out, a line each
(``ingest.access.search_spellings``). Here the keys of the packages already in
the catalog are made again from their latest version's record, a thousand
packages at a time (a row is written only where they change). No column changes.

Revision ID: 0029_spelled_out_letters
Revises: 0027_unused_title_index
Create Date: 2026-12-08
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0029_spelled_out_letters"
down_revision: str | Sequence[str] | None = "0027_unused_title_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ``ingest.access`` as it is at this revision, written out, so that this revision
# does not change when it does.
_PLAIN = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d",
                        "þ": "th", "ı": "i"})
_SPELLED = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ø": "oe", "å": "aa"})
_PAGE = 1000


def _fold(text: str) -> str:
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(bare.casefold().translate(_PLAIN).split())


def _spellings(text: str) -> list[str]:
    folded = _fold(text)
    spelled = _fold(unicodedata.normalize("NFC", text.casefold()).translate(_SPELLED))
    return [folded] if spelled == folded else [folded, spelled]


def _keys(title: str | None, record: Any) -> dict[str, str]:
    record = record if isinstance(record, dict) else {}
    creators = record.get("creators")
    names = [c["name"] for c in creators if isinstance(c, dict)
             and isinstance(c.get("name"), str)] if isinstance(creators, list) else []
    lines = [spelling for name in names for spelling in _spellings(name) if spelling]
    collection = record.get("collection")
    return {"title_key": "\n".join(_spellings(title or "")),
            "creators_key": "\n" + "".join(f"{line}\n" for line in lines),
            "collection_key": _fold(collection) if isinstance(collection, str) else ""}


def upgrade() -> None:
    bind = op.get_bind()
    packages = sa.table("packages", sa.column("package_id", sa.String),
                        sa.column("latest_version", sa.Integer), sa.column("title_key", sa.Text),
                        sa.column("creators_key", sa.Text), sa.column("collection_key", sa.Text))
    versions = sa.table("versions", sa.column("package_id", sa.String),
                        sa.column("number", sa.Integer), sa.column("title", sa.Text),
                        sa.column("record", sa.JSON()))
    update = (packages.update().where(packages.c.package_id == sa.bindparam("id"))
              .values(title_key=sa.bindparam("title_key"),
                      creators_key=sa.bindparam("creators_key"),
                      collection_key=sa.bindparam("collection_key")))
    after = ""
    while True:
        rows = bind.execute(
            sa.select(versions.c.package_id, versions.c.title, versions.c.record,
                      packages.c.title_key, packages.c.creators_key, packages.c.collection_key)
            .join(packages, sa.and_(packages.c.package_id == versions.c.package_id,
                                    packages.c.latest_version == versions.c.number))
            .where(versions.c.package_id > after)
            .order_by(versions.c.package_id).limit(_PAGE)).all()
        if not rows:
            return
        changed = []
        for row in rows:  # most titles and names hold none of these letters
            keys = _keys(row.title, row.record)
            if keys != {"title_key": row.title_key, "creators_key": row.creators_key,
                        "collection_key": row.collection_key}:
                changed.append({"id": row.package_id, **keys})
        if changed:
            bind.execute(update, changed)
        after = rows[-1].package_id


def downgrade() -> None:
    """Nothing is undone: a title's and the creators' keys still hold the form
    revision 0024 made (a line of its own), which the release before searches as
    it did. Only a collection whose name holds ø, æ, œ, ł, đ, ð, þ or ı is then
    found by that release as written plainly (``soren``), not as written."""
