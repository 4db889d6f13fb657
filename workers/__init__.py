"""How work runs: the in-process runner and the Celery app."""
