"""`python -m recoms`: the `recoms` command (how `recoms serve` starts its jobs process)."""

from recoms.cli import app

if __name__ == "__main__":  # not when a spawned process imports it (the import's parser)
    app()
