"""The application object for other ASGI servers: `uvicorn recoms.api.asgi:app` (settings from the
environment). `recoms serve` runs granian with the factory `recoms.api.app:create_app` instead."""

from recoms.api.app import create_app

app = create_app()
