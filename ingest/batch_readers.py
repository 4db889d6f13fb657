"""Who may read a batch through the API: the token that submitted it, auditors
and admins.

A batch holds what a submitter sent (names of items, findings quoting their
metadata), so one submitter does not read another's. The rule is decided here
and applied by the API; whoever may open the catalog itself (the command line)
reads every batch.
"""

from __future__ import annotations

from ingest.models import Actor, BatchRecord

#: Roles that read every batch.
READ_EVERY_BATCH = frozenset({"auditor", "admin"})


def may_read_batch(reader: Actor, batch: BatchRecord) -> bool:
    """True when ``reader`` (the agent of an API token or of a console account)
    may read ``batch``: it has a role that reads every batch, or it is the very
    token or account that submitted it (a new token given the same name is
    another token)."""
    if reader.role in READ_EVERY_BATCH:
        return True
    submitted_by = batch.submitted_by
    if submitted_by is None:
        return False
    if submitted_by.token_id is not None and submitted_by.token_id == reader.token_id:
        return True
    return submitted_by.account_id is not None and submitted_by.account_id == reader.account_id
