"""Tables for the catalog's copies of versions in each location, and anchors of the audit chain (see storage.tables for conventions)."""

from __future__ import annotations
