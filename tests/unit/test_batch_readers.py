"""Who may read a batch over HTTP: the token that submitted it, auditors and
admins. Another submitter gets 404, exactly as for a batch that does not exist,
so batch ids cannot be probed; a reader's role may not read batches at all."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.unit.api_support import EXAMPLES, make_api, zip_of


def test_another_submitters_batch_answers_404_like_a_missing_one(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    other = api.services.catalog.create_token("other submitter", "submitter")[1]  # type: ignore[attr-defined]
    batch = api.upload(zip_of(EXAMPLES), "application/zip")
    url = f"/batches/{batch['batch_id']}"

    for role in ("submitter", "auditor", "admin"):
        reply = api.client.get(url, headers=api.auth(role))
        assert reply.status_code == 200, (role, reply.text)
        assert reply.json()["batch_id"] == batch["batch_id"]

    absent = str(uuid.uuid4())
    probing = api.client.get(url, headers={"Authorization": f"Bearer {other}"})
    missing = api.client.get(f"/batches/{absent}", headers={"Authorization": f"Bearer {other}"})
    assert probing.status_code == missing.status_code == 404
    # Word for word the answer for a batch that does not exist.
    assert probing.text.replace(batch["batch_id"], "ID") == missing.text.replace(absent, "ID")
    assert api.client.get(url, headers=api.auth("reader")).status_code == 403


def test_an_upload_records_the_token_not_the_claimed_submitter(tmp_path: Path) -> None:
    """batch.json says "Reading Room, sample submissions"; the token says who sent it."""
    api = make_api(tmp_path / "data")
    batch = api.upload(zip_of(EXAMPLES), "application/zip", role="admin")
    assert batch["submitted_by"]["name"] == "test admin"
    assert batch["submitted_by"]["kind"] == "token" and batch["submitted_by"]["role"] == "admin"
    assert batch["claimed_submitter"] == "Reading Room, sample submissions"
