"""Alembic's environment: run the migrations on the connection :mod:`storage.migrate` opened.

That connection is already inside the transaction (and holds the lock) that the whole upgrade
runs in, so Alembic neither opens one of its own nor commits. There is no offline (``--sql``)
mode and no ``sqlalchemy.url``: upgrade with :func:`storage.migrate.upgrade`.
"""

from __future__ import annotations

from alembic import context

from core.errors import MigrationError
from storage.migrate import include_object

config = context.config
connection = config.attributes.get("connection")
if context.is_offline_mode() or connection is None:
    raise MigrationError(
        "Earshot's migrations run on a connection: use storage.migrate.upgrade(url)"
        " (earshot db upgrade), or pass connection= to storage.migrate.alembic_config()"
    )

context.configure(
    connection=connection,
    target_metadata=config.attributes.get("target_metadata"),
    include_object=include_object,
    # SQLite alters a table by copying it; autogenerate writes such changes as batch blocks.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)

with context.begin_transaction():
    context.run_migrations()
