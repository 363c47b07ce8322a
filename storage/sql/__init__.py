"""The SQL implementation of the store, for SQLite (embedded) and PostgreSQL (production)."""

from storage.sql.store import SqlStore

__all__ = ["SqlStore"]
