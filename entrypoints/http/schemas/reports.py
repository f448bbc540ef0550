"""Bodies of the money reports (API.md): statements, the platform's fee report, and one named
page type per list.
"""

from __future__ import annotations

from msgspec import Struct

from entrypoints.http.schemas.bookings import Booking
from entrypoints.http.schemas.catalogue import Offering, PublicOffering, Slot, Tenant
from entrypoints.http.schemas.wire import Money, SignedMoney

# --- statements and reports ----------------------------------------------------------


class StatementLine(Struct):
    currency: str
    bookings: int
    gross: Money
    refunds: Money
    fees: Money
    fee_refunds: Money
    disputes: Money
    net: SignedMoney


class Statement(Struct):
    data: list[StatementLine]


class FeeReportLine(Struct):
    tenant_id: str
    tenant_slug: str
    currency: str
    bookings: int
    fees: Money
    fee_refunds: Money
    # Fees minus fee refunds: negative when a period refunds more fees than it takes.
    net_fees: SignedMoney


class FeeReport(Struct):
    data: list[FeeReportLine]
    next_cursor: str | None = None


# One named page type per list, so generated clients get typed items (a subclass of the
# generic Page loses its item type in the document).
class TenantPage(Struct):
    data: list[Tenant]
    next_cursor: str | None


class OfferingPage(Struct):
    data: list[Offering]
    next_cursor: str | None


class PublicOfferingPage(Struct):
    data: list[PublicOffering]
    next_cursor: str | None


class SlotPage(Struct):
    data: list[Slot]
    next_cursor: str | None


class BookingPage(Struct):
    data: list[Booking]
    next_cursor: str | None
