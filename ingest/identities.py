"""Who may act: making and ending accounts and tokens, setting passwords, each
change an audit event that names who made it; and who stands behind an actor,
for the two-person rule of a deaccession.

Disabling an account revokes the tokens its person made (``end_account``), in
the console or at the command line under a name the two-person rule takes for
theirs (``ingest.tombstones.same_person``): a token stands for the person who
made it, and must not outlast them. The accounts whose password that person
set stay enabled, and are named so that someone reviews them.

Every change here is a PREMIS ``policy assignment`` event (the permissions of
an agent assigned or changed), appended in the same transaction as the change,
with ``detail.action`` one of ``ACTIONS`` and the account or token concerned
(never a secret nor a hash). The actor is ``services.actor``: the signed-in
administrator, the token of an API call, or the person at the command line.

Whoever made a token holds its secret, and whoever last set an account's
password knows it: both can act as that credential. So a deaccession's second
person is refused not only when it is the requester but when the requester
stands behind it (``stands_behind``): a token the requester made, an account
whose password the requester set and its owner never changed, or a credential
made by one of those. The audit log shows the rest: who made which credential,
when.
"""

from __future__ import annotations

from typing import Any

from ingest.access import TokenInfo
from ingest.accounts import (
    AccountInfo,
    DisabledAccount,
    SignInRefused,
    SignInThrottle,
    change_password,
    check_password_rules,
    create_account,
    disable_account,
    hash_password,
    password_matches,
    passwords_set_by,
)
from ingest.errors import InputError
from ingest.models import Actor, EventType, NewEvent, Outcome
from ingest.services import Services
from ingest.tombstones import same_person

ACTIONS = ("account created", "account disabled", "password set", "password changed",
           "token created", "token revoked")
#: How many generations of makers ``stands_behind`` follows back from an actor
#: (each credential once); a longer chain is taken as the same person.
MOST_MAKERS = 10_000


def _event(services: Services, action: str, **detail: Any) -> NewEvent:
    return services.event(EventType.POLICY_ASSIGNMENT, Outcome.SUCCESS,
                          detail={"action": action, **detail})


def _account(account: AccountInfo) -> dict[str, Any]:
    return {"account_id": account.account_id, "name": account.name, "role": account.role}


def _token(token: TokenInfo) -> dict[str, Any]:
    return {"token_id": token.token_id, "name": token.name, "role": token.role}


def _actor(services: Services) -> Actor:
    if services.actor is None:
        raise ValueError("a change of who may act needs to know who makes it (Services.actor)")
    return services.actor


def make_token(services: Services, name: str, role: str) -> tuple[TokenInfo, str]:
    """A new token made by ``services.actor``; returns it and its secret (shown
    once). Raises InputError for an unknown role or a name a live token holds."""
    return services.catalog.create_token(
        name, role, created_by=_actor(services),
        events=lambda token: [_event(services, "token created", token=_token(token))])


def revoke_token(services: Services, ref: str) -> list[TokenInfo]:
    """Revoke the one live token with this id or name, as ``services.actor``.
    Raises TokenNotFound, InputError when the reference fits two."""
    _actor(services)
    return services.catalog.revoke_token(
        ref, events=lambda revoked: [_event(services, "token revoked", token=_token(t))
                                     for t in revoked])


def make_account(services: Services, name: str, role: str, password: str) -> AccountInfo:
    """A new account whose first password ``services.actor`` chose. Raises
    InputError for an unknown role, a name already taken or a refused password."""
    who = _actor(services)
    return create_account(services.catalog, name, role, password, services.clock.now(), set_by=who,
                          events=lambda account: [_event(services, "account created",
                                                         account=_account(account))])


def end_account(services: Services, name: str) -> DisabledAccount:
    """Disable an account as ``services.actor``; its sessions end now and the
    live tokens its person made are revoked with it, each a ``token revoked``
    event saying who disabled the account and why, in the same transaction.
    The result names the accounts, left enabled, whose password that person
    set (``passwords_set_by``); the ``account disabled`` event names them too.
    Raises AccountNotFound."""
    who = _actor(services)
    found = services.catalog.find_account(name)
    review = [] if found is None else passwords_set_by(found[0], services.catalog.list_accounts())

    def events(account: AccountInfo, revoked: list[TokenInfo]) -> list[NewEvent]:
        return [_event(services, "account disabled", account=_account(account),
                       passwords_set=[_account(a) for a in review]),
                *(_event(services, "token revoked", token=_token(t), disabled_by=who.to_dict(),
                         reason=_why_revoked(account, t, who)) for t in revoked)]

    disabled = disable_account(services.catalog, name, services.clock.now(), events=events)
    return DisabledAccount(disabled.account, disabled.tokens_revoked, review)


def _why_revoked(account: AccountInfo, token: TokenInfo, who: Actor) -> str:
    maker = token.created_by
    made = (f"the account {account.name} made it" if maker is None or maker.account_id == account.account_id
            else f"{maker.name} made it at the command line, the same person as the account "
                 f"{account.name}")
    return f"{made}, and {who.name} disabled that account"


def set_password(services: Services, name: str, new: str) -> AccountInfo:
    """An administrator sets the password of an account (``services.actor`` then
    stands behind it for good: ``stands_behind``). Raises InputError, AccountNotFound."""
    who = _actor(services)
    return change_password(services.catalog, name, None, new, services.clock.now(), set_by=who,
                           events=lambda account: [_event(services, "password set",
                                                          account=_account(account))])


def change_own_password(services: Services, throttle: SignInThrottle, address: str,
                        current: str, new: str) -> AccountInfo:
    """The signed-in person (``services.actor``) changes their own password, giving
    the current one first. Wrong guesses count against the same limits as
    sign-in: past them the current password is refused, right or not, for a
    while. Raises SignInRefused, InputError, AccountNotFound."""
    who = _actor(services)
    now = services.clock.now()
    found = services.catalog.find_account(who.name)
    if found is None or who.account_id is None or found[0].account_id != who.account_id:
        raise InputError("only a person signed in to the console changes their own password")
    account, password_hash = found
    refused = SignInRefused("the current password is not right; after several attempts, "
                            "wait a few minutes")
    if not throttle.allows(account.name, address, now) or not password_matches(password_hash, current):
        throttle.failed(account.name, address, now)
        raise refused
    throttle.succeeded(account.name, address)
    check_password_rules(new, account.name)
    return services.catalog.set_account_password(
        account.name, hash_password(new), now, set_by=who,
        events=lambda changed: [_event(services, "password changed", account=_account(changed))])


def stands_behind(services: Services, person: Actor, actor: Actor) -> bool:
    """True when ``person`` is ``actor``, or made it (a token ``person`` made, an
    account ``person`` made or whose password ``person`` ever set), or made
    whoever made it, and so on back.

    An account's owner changing its password does not end its maker's say: the
    maker knew the first password, and whoever knew a password could have
    signed in and "changed their own" to one they also know."""
    seen: set[str] = set()
    current: list[Actor] = [actor]
    for _ in range(MOST_MAKERS):
        if not current:
            return False
        if any(same_person(person, one) for one in current):
            return True
        current = [maker for one in current for maker in _makers(services, one, seen)]
    # Every credential is looked at once (``seen``), so only a chain longer than
    # any archive holds ends here: not known to be someone else, so taken as them.
    return bool(current)


def two_people(services: Services, one: Actor, other: Actor) -> bool:
    """Whether ``one`` and ``other`` are two people for a two-person rule: neither
    stands behind the other's credential (a token the approver made asked for a
    deaccession the approver then approved as themselves, before this was asked
    both ways)."""
    return not stands_behind(services, one, other) and not stands_behind(services, other, one)


def _makers(services: Services, actor: Actor, seen: set[str]) -> list[Actor]:
    """Who holds, or held, ``actor``'s credential besides its owner: the maker of
    its token, or everyone else who has set its account's password (none: not
    known, or only its owner)."""
    if actor.token_id is not None and actor.token_id not in seen:
        seen.add(actor.token_id)
        token = services.catalog.get_token(actor.token_id)
        return [token.created_by] if token is not None and token.created_by is not None else []
    if actor.account_id is not None and actor.account_id not in seen:
        seen.add(actor.account_id)
        account = services.catalog.get_account(actor.account_id)
        if account is None:
            return []
        setters = list(account.password_setters)
        last = account.password_set_by
        if last is not None and last.account_id != account.account_id and last not in setters:
            setters.append(last)
        return setters
    return []


__all__ = [
    "ACTIONS",
    "change_own_password",
    "end_account",
    "make_account",
    "make_token",
    "revoke_token",
    "set_password",
    "stands_behind",
    "two_people",
]
