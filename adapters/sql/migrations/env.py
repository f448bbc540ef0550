"""Alembic's entry point: runs the migrations on the connection handed over in the config.

`adapters.sql.migrations.migrate(url)` hands over a connection; run by the `alembic` command
line instead, the `sqlalchemy.url` option names the database.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from adapters.sql.migrations import run_on
from adapters.sql.orm import metadata

# Any number of processes may start at once and each migrate: the first one to take this
# lock migrates, the others then find the database at head.
_MIGRATION_LOCK_KEY = 0x626F6F6B706179  # "bookpay"


def _include_name(name: str | None, type_: str, _parents: object) -> bool:
    # The fake Stripe's tables are its own (adapters/fake_stripe/tables.py): a development
    # database may keep them, and they are no difference from the product's schema.
    return not (type_ == "table" and (name or "").startswith("fake_"))


def _run_migrations(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        # Alembic assumes SQLite cannot roll DDL back because of the Python driver's own
        # transaction handling; adapters/database.py turns that off and begins every
        # transaction IMMEDIATE. So on SQLite too the whole run is one transaction, which
        # holds the write lock from reading the version to the last step: processes
        # starting together migrate one after the other, as the advisory lock makes them
        # on PostgreSQL, instead of two running the same step.
        transactional_ddl=True,
        compare_type=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_migrations(connection)
    elif url:
        asyncio.run(run_on(url, _run_migrations))
    else:
        raise RuntimeError("no database: pass a connection or set sqlalchemy.url")


_main()
