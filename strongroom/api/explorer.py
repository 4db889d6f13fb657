"""The OpenAPI explorer at ``/docs``, from files this service serves itself.

FastAPI's default page loads Swagger UI from a public CDN and starts it with
an inline script: blank on an archive network without internet, and refused
by the console's Content-Security-Policy. This page loads the vendored copy
under ``/static/explorer/`` and starts it from a file.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Strongroom API · explorer</title>
  <link rel="stylesheet" href="/static/explorer/swagger-ui.css">
  <script src="/static/explorer/swagger-ui-bundle.js" defer></script>
  <script src="/static/explorer/start.js" defer></script>
</head>
<body>
  <main id="explorer"><noscript>The explorer needs JavaScript; the document itself is at
    <a href="/openapi.json">/openapi.json</a>.</noscript></main>
</body>
</html>
"""


@router.get("/docs")
def explorer() -> HTMLResponse:
    return HTMLResponse(PAGE)
