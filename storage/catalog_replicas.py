"""The catalog's copies of versions in each location, and anchors of the audit chain."""

from __future__ import annotations


class ReplicasAndAnchors:
    """Part of ``SqlCatalog``: needs ``self._write()`` and ``self._read()`` sessions."""
