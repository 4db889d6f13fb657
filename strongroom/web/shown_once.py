"""A new token's secret on its way from the form that made it to the page that shows it.

The console answers a form by sending the browser on to a page (Post, Redirect,
Get), so that reloading that page never sends the form again. The secret of a
token just made must still reach its maker once, and never through an address
(addresses are kept in histories, access logs and proxies). So the form's
answer puts it in a cookie of its own that only the admin page is sent
(``Path=/console/admin``), ``HttpOnly``, ``SameSite=Strict``, lasting
``LIFETIME`` at most, and the admin page deletes it as it shows the secret:
a reload finds it gone.

The cookie is sealed with a key drawn from the session's own secret (which the
server never keeps, only its digest): encrypted (an HMAC-SHA256 key stream
under a random nonce) and then authenticated (HMAC-SHA256). Its copy in a
browser's cookie store opens nothing without that session, and it dies with it
(signing out, a new sign-in). Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

from fastapi import Request, Response

from strongroom.api.session import is_secure, session_secret

PLAIN_COOKIE = "strongroom_new_token"
#: ``__Secure-`` (not ``__Host-``, which needs ``Path=/``): browsers send it over https only
SECURE_COOKIE = "__Secure-strongroom_new_token"
PATH = "/console/admin"
#: a secret not shown within this many seconds is not shown at all (revoke the token)
LIFETIME = 300

_NONCE, _TAG = 16, 32


def _keys(session: str) -> tuple[bytes, bytes]:
    root = hashlib.sha256(b"strongroom token shown once\x00" + session.encode("utf-8")).digest()
    return (hmac.new(root, b"encrypt", hashlib.sha256).digest(),
            hmac.new(root, b"authenticate", hashlib.sha256).digest())


def _stream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (hmac.new(key, nonce + n.to_bytes(4, "big"), hashlib.sha256).digest()
              for n in range(-(-length // 32)))
    return b"".join(blocks)[:length]


def seal(session: str, token_id: str, secret: str, now: float) -> str:
    """The cookie value carrying ``token_id`` and ``secret`` for this session."""
    encrypt, authenticate = _keys(session)
    plain = json.dumps({"token_id": token_id, "secret": secret, "at": int(now)}).encode("utf-8")
    nonce = secrets.token_bytes(_NONCE)
    sealed = bytes(a ^ b for a, b in zip(plain, _stream(encrypt, nonce, len(plain)), strict=True))
    tag = hmac.new(authenticate, nonce + sealed, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(nonce + sealed + tag).decode("ascii")


def unseal(session: str, value: str, now: float) -> tuple[str, str] | None:
    """(token id, secret) from a cookie ``seal`` made for this session, not older
    than ``LIFETIME``; None for anything else."""
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    if not session or len(raw) <= _NONCE + _TAG:
        return None
    encrypt, authenticate = _keys(session)
    nonce, sealed, tag = raw[:_NONCE], raw[_NONCE:-_TAG], raw[-_TAG:]
    if not hmac.compare_digest(tag, hmac.new(authenticate, nonce + sealed, hashlib.sha256).digest()):
        return None
    try:
        plain = json.loads(bytes(a ^ b for a, b in zip(sealed, _stream(encrypt, nonce, len(sealed)),
                                                        strict=True)))
        token_id, secret, at = str(plain["token_id"]), str(plain["secret"]), int(plain["at"])
    except (ValueError, KeyError, TypeError):
        return None
    return (token_id, secret) if 0 <= now - at <= LIFETIME else None


def hand_over(request: Request, response: Response, token_id: str, secret: str) -> None:
    """Put the new token's secret in ``response`` for the admin page to show once."""
    secure = is_secure(request)
    response.set_cookie(SECURE_COOKIE if secure else PLAIN_COOKIE,
                        seal(session_secret(request), token_id, secret, time.time()),
                        path=PATH, max_age=LIFETIME, httponly=True, samesite="strict", secure=secure)


def take(request: Request) -> tuple[str, str] | None:
    """(token id, secret) handed over to this request's session, if any. The page
    that shows it calls ``forget`` on its answer: it is shown this once."""
    for name in (SECURE_COOKIE, PLAIN_COOKIE):
        value = request.cookies.get(name)
        found = unseal(session_secret(request), value, time.time()) if value else None
        if found is not None:
            return found
    return None


def forget(request: Request, response: Response) -> None:
    """Delete in the browser every cookie ``hand_over`` set."""
    for name in (SECURE_COOKIE, PLAIN_COOKIE):
        if name in request.cookies:
            response.delete_cookie(name, path=PATH, httponly=True, samesite="strict",
                                   secure=name == SECURE_COOKIE)


__all__ = ["LIFETIME", "forget", "hand_over", "seal", "take", "unseal"]
