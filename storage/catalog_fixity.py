"""The catalog's fixity checks of every copy: when each was last checked, by which tier, what is due."""

from __future__ import annotations


class FixitySchedule:
    """Part of ``SqlCatalog``: needs ``self._write()`` and ``self._read()`` sessions."""
