"""Issue 14 (brief "edges", item 1): row-level security is active for the running server on
PostgreSQL. A tenant's request runs in that tenant's scope: a repository query that forgot
its tenant filter still returns that tenant's rows only; the admin, who works across
tenants, sees every tenant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.sql import orm
from adapters.sql.codecs import _offering_from_row
from adapters.sql.offerings import SqlAlchemyOfferingRepository
from tests.support.app_client import AppClient
from tests.support.hard_edges import ADMIN, new_shop
from tests.support.http_app import BASE_URL, build_test_app

pytestmark = pytest.mark.postgres


async def test_a_query_that_forgets_its_tenant_filter_shows_only_the_callers_rows(
    migrated_postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forgetful_calls: list[str] = []

    async def forgets_the_tenant(
        self: SqlAlchemyOfferingRepository, tenant_id: str, **_: Any
    ) -> list[Any]:
        forgetful_calls.append(tenant_id)
        rows = await self._connection.execute(self._sql.offering_rows.order_by(orm.offerings.c.id))
        return [_offering(row) for row in rows]

    app, _container = build_test_app(tmp_path, migrated_postgres_url)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        ours = await new_shop(client)
        theirs = await new_shop(client)
        monkeypatch.setattr(SqlAlchemyOfferingRepository, "list", forgets_the_tenant)
        listed = await client.get("/v1/tenant/offerings", headers=ours.tenant)
        assert listed.status_code == 200, listed.text
        assert [o["id"] for o in listed.json()["data"]] == [ours.offering_id]
        # The admin works platform-wide.
        tenants = await client.get("/v1/admin/tenants", headers=ADMIN)
        assert tenants.status_code == 200, tenants.text
        slugs = {t["slug"] for t in tenants.json()["data"]}
        assert {ours.slug, theirs.slug} <= slugs
    assert forgetful_calls


def _offering(row: Any) -> Any:
    return _offering_from_row(row)
