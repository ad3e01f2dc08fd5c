"""The application object for ASGI servers: `uvicorn recoms.api.asgi:app` (what `serve --workers N` runs)."""

from recoms.api.app import create_app

app = create_app()
