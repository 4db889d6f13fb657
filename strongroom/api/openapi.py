"""Write the API's OpenAPI document: ``python -m strongroom.api.openapi > docs/openapi.json``.

The document is checked in; a test regenerates it and fails when it differs,
so a route change and its published contract change together.
"""

from __future__ import annotations

import json
import sys

from strongroom.api.app import openapi_document


def render() -> str:
    """The document as stable, reviewable JSON text."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
