"""Adapters: object stores (filesystem, S3), the SQL catalog and the audit log."""
