"""Tables for the catalog's API tokens and package search (see storage.tables for conventions)."""

from __future__ import annotations
