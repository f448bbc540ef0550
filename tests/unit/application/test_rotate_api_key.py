"""Tenant API key rotation: the old key works through its grace period, then never again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.reference_data.countries import IsoCountries
from adapters.system.ids import RandomIds
from application.create_tenant import CreateTenant, NewTenant
from application.errors import InvalidRequest, NotFound, Unauthorized
from application.rotate_api_key import RotateApiKey, RotateApiKeyCommand
from application.tenant_queries import TenantQueries
from tests.fakes.clock import ManualClock
from tests.fakes.database import InMemoryDatabase


async def test_the_old_key_ends_when_its_grace_period_does() -> None:
    db, clock = InMemoryDatabase(), ManualClock(datetime(2030, 5, 1, 9, 0, tzinfo=UTC))
    created = await CreateTenant(db.unit_of_work, RandomIds(), clock, IsoCountries())(
        NewTenant("Studio", "studio", "US", "usd", "UTC")
    )
    rotate, queries = RotateApiKey(db.unit_of_work, clock), TenantQueries(db.unit_of_work, clock)
    issued = await rotate(RotateApiKeyCommand(created.tenant.id, timedelta(hours=2)))
    assert issued.others_revoked_at == clock.now() + timedelta(hours=2)

    clock.advance(timedelta(hours=2) - timedelta(seconds=1))
    assert (await queries.authenticate(created.api_key)).id == created.tenant.id
    clock.advance(timedelta(seconds=1))
    with pytest.raises(Unauthorized):
        await queries.authenticate(created.api_key)
    assert (await queries.authenticate(issued.api_key)).id == created.tenant.id

    # A later rotation never lengthens a key's life, only shortens it.
    later = await rotate(RotateApiKeyCommand(created.tenant.id, timedelta(days=30)))
    with pytest.raises(Unauthorized):
        await queries.authenticate(created.api_key)
    assert later.others_revoked == 1  # only `issued` got an end date


async def test_a_grace_out_of_bounds_or_an_unknown_tenant_is_refused() -> None:
    db, clock = InMemoryDatabase(), ManualClock(datetime(2030, 5, 1, 9, 0, tzinfo=UTC))
    rotate = RotateApiKey(db.unit_of_work, clock)
    with pytest.raises(InvalidRequest):
        await rotate(RotateApiKeyCommand("tn_x", timedelta(days=31)))
    with pytest.raises(NotFound):
        await rotate(RotateApiKeyCommand("tn_x"))
