"""The HTTP API: a FastAPI app over the same use cases as the CLI
(``strongroom.api.app.create_app``). The app ``strongroom serve`` runs, the API
with the web console mounted on it, is ``strongroom.asgi.create_app``."""
