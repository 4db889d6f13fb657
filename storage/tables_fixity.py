"""Tables for the catalog's fixity checks of every copy: when each was last checked, by which tier, what is due (see storage.tables for conventions)."""

from __future__ import annotations
