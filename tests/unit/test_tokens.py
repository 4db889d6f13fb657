"""API tokens: one live token per name, revoke names exactly one token, and
``token list`` shows when each was last used."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import InputError
from tests.unit.api_support import make_api


def test_a_reference_that_fits_two_tokens_revokes_neither(tmp_path: Path) -> None:
    """A token named like another token's id: revoke refuses to guess."""
    api = make_api(tmp_path / "data")
    catalog = api.services.catalog
    first, _ = catalog.create_token("first", "reader")  # type: ignore[attr-defined]
    catalog.create_token(first.token_id, "reader")  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="names 2 live tokens"):
        catalog.revoke_token(first.token_id)  # type: ignore[attr-defined]
    assert all(t.revoked_at is None for t in catalog.list_tokens())  # type: ignore[attr-defined]
