"""The row scope travels with the BEGIN (adapters/sql/row_scope.py, `ScopedConnection`): one
simple query opens the transaction and sets the role and tenant scope inside it, instead of
a statement of their own (one round trip less per transaction, issue 19). The settings stay
transaction-local, and a scope that cannot be entered fails its transaction and leaves the
connection as usable as a refused BEGIN would."""

from __future__ import annotations

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from adapters.sql.database import create_engine
from adapters.sql.row_scope import ScopedConnection, acting_for_platform, acting_for_tenant

pytestmark = pytest.mark.postgres

SETTINGS = text("SELECT current_user, current_setting('bookpay.tenant_id', true)")


async def test_the_scope_holds_inside_its_transaction_and_ends_with_it(
    migrated_postgres_url: str,
) -> None:
    engine = create_engine(migrated_postgres_url, pool_size=1, row_security_role="bookpay_app")
    try:
        with acting_for_tenant("tn_one"):
            async with engine.connect() as connection:
                driver = (await connection.get_raw_connection()).driver_connection
                assert isinstance(driver, ScopedConnection)
                assert tuple((await connection.execute(SETTINGS)).one()) == (
                    "bookpay_app",
                    "tn_one",
                )
                await connection.rollback()
                # The same server connection, outside any transaction: nothing outlived it.
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                user, scope = (await connection.execute(SETTINGS)).one()
                assert user == "postgres"
                assert scope in (None, "")
        with acting_for_platform():
            async with engine.connect() as connection:
                assert tuple((await connection.execute(SETTINGS)).one()) == ("bookpay_app", "*")
    finally:
        await engine.dispose()


async def test_a_tenant_id_that_is_not_plain_text_is_still_set_as_a_parameter(
    migrated_postgres_url: str,
) -> None:
    # Only plain values are written into the BEGIN's text; any other goes as before.
    engine = create_engine(migrated_postgres_url, pool_size=1, row_security_role="bookpay_app")
    try:
        with acting_for_tenant("tn_o'neil; --"):
            async with engine.connect() as connection:
                row = (await connection.execute(SETTINGS)).one()
                assert tuple(row) == ("bookpay_app", "tn_o'neil; --")
    finally:
        await engine.dispose()


async def test_a_scope_that_cannot_be_entered_fails_its_transaction_and_nothing_after(
    migrated_postgres_url: str,
) -> None:
    engine = create_engine(
        migrated_postgres_url, pool_size=1, row_security_role="bookpay_no_such_role"
    )
    try:
        with acting_for_platform():
            for _ in range(2):  # the same connection, twice: the same refusal each time
                async with engine.connect() as connection:
                    with pytest.raises(sqlalchemy.exc.DBAPIError, match="bookpay_no_such_role"):
                        await connection.execute(text("SELECT 1"))
        # And the connection still serves a transaction outside row-level security.
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
        async with engine.connect() as connection:
            as_login = await connection.execution_options(bookpay_as_login=True)
            assert (await as_login.execute(text("SELECT 2"))).scalar() == 2
            await as_login.commit()
    finally:
        await engine.dispose()


async def test_a_scope_never_sent_is_dropped_when_the_connection_goes_back(
    migrated_postgres_url: str,
) -> None:
    engine = create_engine(migrated_postgres_url, pool_size=1, row_security_role="bookpay_app")
    try:
        with acting_for_tenant("tn_one"):
            async with engine.connect() as connection:
                await connection.begin()  # ended before any statement: no BEGIN was sent
                driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, ScopedConnection)
        assert driver._begin_with is None
    finally:
        await engine.dispose()
