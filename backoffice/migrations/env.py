"""Alembic environment: migrations run on the connection backoffice.database hands over (no alembic.ini;
`backoffice.database.migrate` is the one entry point)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
