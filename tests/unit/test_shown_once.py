"""The sealed cookie that carries a new token's secret to the one page that shows it:
only the session that made it opens it, only for a few minutes, and a changed
byte opens nothing."""

from __future__ import annotations

import base64

from strongroom.web.shown_once import LIFETIME, seal, unseal

SESSION, OTHER = "a session secret of forty-odd characters", "another session's secret"
NOW = 1_800_000_000.0


def test_a_sealed_secret_opens_for_its_session_only_and_not_for_long() -> None:
    value = seal(SESSION, "tok-1", "srt_the_secret", NOW)

    assert "srt_the_secret" not in value and "the_secret" not in base64.urlsafe_b64decode(value).decode(
        "latin-1")
    assert unseal(SESSION, value, NOW + 1) == ("tok-1", "srt_the_secret")
    assert unseal(OTHER, value, NOW + 1) is None
    assert unseal("", value, NOW + 1) is None
    assert unseal(SESSION, value, NOW + LIFETIME + 1) is None
    raw = bytearray(base64.urlsafe_b64decode(value))
    raw[20] ^= 1
    assert unseal(SESSION, base64.urlsafe_b64encode(bytes(raw)).decode(), NOW + 1) is None
    assert unseal(SESSION, "not base64 at all!", NOW) is None
    assert seal(SESSION, "tok-1", "srt_the_secret", NOW) != value  # a fresh nonce each time
