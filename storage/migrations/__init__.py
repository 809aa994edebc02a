"""Alembic migrations of the archive; applied by `newsbot db upgrade` (see storage.migrate)."""
