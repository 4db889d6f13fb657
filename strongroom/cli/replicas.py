"""Kept for modules that still import ``anchor_after`` from here; it lives in
``strongroom.cli.anchors`` (the repair command is in ``strongroom.cli.repair``,
the catalog rebuild in ``strongroom.cli.catalog``)."""

from __future__ import annotations

from strongroom.cli.anchors import anchor_after

__all__ = ["anchor_after"]
