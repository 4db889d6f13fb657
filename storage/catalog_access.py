"""The catalog's API tokens and package search."""

from __future__ import annotations


class AccessAndSearch:
    """Part of ``SqlCatalog``: needs ``self._write()`` and ``self._read()`` sessions."""
