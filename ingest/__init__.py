"""Strongroom's domain core: models, metadata, fixity, BagIt, batches, audit chain, use cases.

Imports no I/O library; reads and writes through the Protocols in ``ingest.ports``.
"""
