"""Wiring and running newsbot: settings, the object graph, the runtime loop and the CLI."""

__version__ = "0.1.0"
