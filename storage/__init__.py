"""The archive: SQLAlchemy tables, repositories returning core models, migrations and the outbox."""
