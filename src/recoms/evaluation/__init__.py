"""Offline evaluation: file loaders, protocols, metrics, the `recoms evaluate` and `recoms offline`
commands, and the quality benchmark of docs/quality.md. Nothing here is imported by the server."""
