"""A presigned URL refused because the catalog no longer agrees with the seal is
recorded as damage found on the way out, and that event names the token that
asked, as the same refusal on the file route does.

Before, the presign route called the use case with the server's own services,
which act for no one: the failed fixity-check event it recorded had no actor.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from tests.unit.api_support import EXAMPLES, make_api, zip_of

FORGED = b"a forged page\n"


def test_a_refused_presign_is_recorded_naming_the_token_that_asked(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    batch = api.upload(zip_of(EXAMPLES), "application/zip")
    package = next(i["package_id"] for i in batch["items"] if i["package_id"])
    path = next(f["path"] for f in api.client.get(f"/packages/{package}",
                                                  headers=api.auth("reader")).json()
                ["versions"][0]["files"] if f["path"].startswith("data/"))
    # The catalog's row of one payload file rewritten: the sealed manifest disagrees.
    with sqlite3.connect(tmp_path / "data" / "catalog.sqlite3") as db:
        db.execute("UPDATE files SET size = ?, sha256 = ?, sha512 = ? WHERE path = ?",
                   (len(FORGED), hashlib.sha256(FORGED).hexdigest(),
                    hashlib.sha512(FORGED).hexdigest(), path))
    before = len(list(api.services.catalog.events(package)))

    reply = api.client.get(f"/packages/{package}/versions/1/presigned/{path}",
                           headers=api.auth("reader"))

    assert reply.status_code == 500, reply.text
    assert reply.json()["type"] == "urn:strongroom:problem:delivery-refused"
    recorded = list(api.services.catalog.events(package))[before:]
    assert recorded, "the refusal was not recorded"
    for event in recorded:
        assert event.event_type == "fixity check" and event.outcome == "failure"
        assert event.actor is not None, "the event names no one"
        assert event.actor.to_dict()["name"] == "test reader"
        assert event.actor.to_dict()["kind"] == "token"
