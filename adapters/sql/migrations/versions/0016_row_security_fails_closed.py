"""Row-level security fails closed: platform-wide work says so; silence sees nothing.

Until now (0012, 0014) an unset `bookpay.tenant_id` meant platform-wide, so a connection
of the application's role that forgot to say whom it acts for saw every tenant. Now:

- a tenant's id: that tenant's rows only (as before);
- `*`: platform-wide, the explicit scope of the work that spans tenants (the application's
  engine sets it for every transaction not narrowed to a tenant, adapters/sql/row_scope.py);
- unset or anything else: no tenant-owned row at all.

`idempotency_keys` names its caller, not a tenant (`tenant:<id>`, `admin`, `public`): a
tenant sees and writes its own keys only. Owners and superusers still bypass the policies;
the application's transactions run as `bookpay_app` (0012). SQLite: nothing.

Revision ID: 0016
Revises: 0014
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Callable, Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTING = "bookpay.tenant_id"
POLICY = "tenant_isolation"
PLATFORM = "*"
_SCOPE = f"current_setting('{SETTING}', true)"

# Each tenant-owned table and how a row names its tenant (0012 and 0014).
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
    "webhook_endpoints": "owner_tenant_id",
    "outbox_events": "tenant_id",
    "webhook_deliveries": "tenant_id",
}
# Caller scopes, not tenant ids (entrypoints/http/auth.py, Caller.scope).
NAMED_BY_CALLER = {"idempotency_keys"}


def _closed(table: str, column: str) -> str:
    tenant = f"'tenant:' || {_SCOPE}" if table in NAMED_BY_CALLER else _SCOPE
    return f"({_SCOPE} = '{PLATFORM}' OR {column} = {tenant})"


def _open(column: str) -> str:
    return f"(coalesce({_SCOPE}, '') = '' OR {column} = {_SCOPE})"


def _replace(condition: Callable[[str, str], str]) -> None:
    for table, column in TENANT_OWNED.items():
        rule = condition(table, column)
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING {rule} WITH CHECK {rule}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _replace(_closed)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _replace(lambda _table, column: _open(column))
