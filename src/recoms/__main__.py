"""`python -m recoms`: the `recoms` command (how `recoms serve` starts its jobs process)."""

from recoms.cli import app

app()
