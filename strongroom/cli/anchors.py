"""Anchoring the audit log at the end of a command that appended events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strongroom.cli.base import _warn

if TYPE_CHECKING:
    from ingest.services import Services


def anchor_after(services: Services) -> None:
    """Anchor the audit chain's head at the end of a command that appended events.

    The command's own work is done and reported either way: a store that cannot
    take the anchor is a warning on stderr (the next command anchors again).
    """
    from ingest.anchoring import anchor_audit_head
    from ingest.errors import StrongroomError

    try:
        anchor_audit_head(services)
    except StrongroomError as exc:
        _warn(f"the audit log head was not anchored: {exc}")
