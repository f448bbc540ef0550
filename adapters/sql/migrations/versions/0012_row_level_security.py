"""Row-level security on PostgreSQL: a second wall for tenant isolation.

Every tenant-owned table gets a policy keyed on the transaction-local setting
`bookpay.tenant_id` (set with `set_config('bookpay.tenant_id', <id>, true)`, which
PgBouncer's transaction pooling keeps to the transaction):

- set to a tenant's id: only that tenant's rows are seen, and only that tenant's rows may be
  inserted, updated or deleted — a query that forgets its `tenant_id` filter finds nothing
  of another tenant and cannot write another tenant's rows;
- unset or empty: platform-wide, for the work that spans tenants (the sweeper,
  reconciliation, a webhook that looks a payment up before it knows the tenant, the admin).

Policies bind only roles that do not own the tables (owners and superusers bypass them), so
the application should connect as a role of its own: this migration creates `bookpay_app`
(NOLOGIN; the deployment gives it a password and LOGIN, or grants it to its login role)
when the migrating role may create roles, and grants it the rows of every table, now and
later. Migrations keep running as the owner. SQLite has no row-level security: nothing
changes there.

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-30 09:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "bookpay_app"
SETTING = "bookpay.tenant_id"
POLICY = "tenant_isolation"

# Each tenant-owned table and the column that names its tenant.
TENANT_OWNED = {
    "tenants": "id",
    "tenant_api_keys": "tenant_id",
    "fee_policies": "tenant_id",
    "offerings": "tenant_id",
    "offering_fee_policies": "tenant_id",
    "slots": "tenant_id",
    "bookings": "tenant_id",
    "booking_refunds": "tenant_id",
    "disputes": "tenant_id",
    "ledger_entries": "tenant_id",
    "idempotency_keys": "tenant_id",
}


def _visible(column: str) -> str:
    setting = f"current_setting('{SETTING}', true)"
    return f"(coalesce({setting}, '') = '' OR {column} = {setting})"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Roles are shared by the whole server: another database (or a migration racing this
    # one) may have made it already; a migrating role without CREATEROLE leaves it to the
    # deployment.
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN;
            END IF;
        EXCEPTION
            WHEN duplicate_object OR unique_violation OR insufficient_privilege THEN NULL;
        END
        $$
        """
    )
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                GRANT USAGE ON SCHEMA public TO {APP_ROLE};
                GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public
                    TO {APP_ROLE};
                GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
                REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {APP_ROLE};
                ALTER DEFAULT PRIVILEGES IN SCHEMA public
                    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE};
                ALTER DEFAULT PRIVILEGES IN SCHEMA public
                    GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE};
            END IF;
        END
        $$
        """  # noqa: S608 - module constants only, no input
    )
    for table, column in TENANT_OWNED.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {POLICY} ON {table} "
            f"USING {_visible(column)} WITH CHECK {_visible(column)}"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TENANT_OWNED:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    # The role stays (other databases of the server may use it); its rights here go.
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                ALTER DEFAULT PRIVILEGES IN SCHEMA public
                    REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {APP_ROLE};
                ALTER DEFAULT PRIVILEGES IN SCHEMA public
                    REVOKE USAGE, SELECT ON SEQUENCES FROM {APP_ROLE};
                REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE};
                REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE};
                REVOKE USAGE ON SCHEMA public FROM {APP_ROLE};
            END IF;
        END
        $$
        """  # noqa: S608 - module constants only, no input
    )
