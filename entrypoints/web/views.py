"""What each page shows, as plain values for the templates: text formatted for the
customer's locale, never a rule. The rules stay in the domain and the use cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import groupby
from typing import Any

from application.customer_pages import CustomerBooking, OfferingSlots, SlotOnSale
from domain.booking import Booking, BookingStatus
from domain.cancellation import CancellationPolicy
from domain.fee_quote import FeeQuote
from domain.fees import RefundOnCancel
from domain.offering import Offering
from domain.refund import CancelledBy
from entrypoints.web.formatting import Formats
from entrypoints.web.translation import N_
from entrypoints.web.translation import gettext as _

# The status page follows a payment still on its way by reloading itself (no script).
REFRESH_SECONDS = 3


@dataclass(frozen=True, slots=True)
class Headline:
    title: str
    text: str
    tone: str  # "ok" | "wait" | "stop": only the colour of the banner


def offering_row(offering: Offering, f: Formats) -> dict[str, Any]:
    return {
        "id": offering.id,
        "name": offering.name,
        "description": offering.description,
        "price": f.money(offering.price),
        "duration": _("%(minutes)d minutes") % {"minutes": offering.duration_minutes},
    }


def slot_days(found: OfferingSlots, f: Formats) -> list[dict[str, Any]]:
    """Slots grouped by their day on the tenant's clock, in order."""

    def day_of(entry: SlotOnSale) -> date:
        return f.local(entry.slot.starts_at).date()

    days = []
    for day, entries in groupby(found.slots, key=day_of):
        days.append(
            {
                "label": f.day(day),
                "slots": [
                    {
                        "id": entry.slot.id,
                        "time": f.time(entry.slot.starts_at),
                        "bookable": entry.bookable,
                        "seats_left": entry.slot.seats_available,
                    }
                    for entry in entries
                ],
            }
        )
    return days


def quote_rows(quote: FeeQuote, f: Formats) -> list[tuple[str, str]]:
    """The customer's side of a quote: never the platform's fee terms."""
    rows = [
        (
            _("%(seats)d × %(price)s") % {"seats": quote.seats, "price": f.money(quote.unit_price)},
            f.money(quote.subtotal),
        )
    ]
    if not quote.customer_fee.is_zero:
        rows.append((_("Service fee"), f.money(quote.customer_fee)))
    return rows


def policy_lines(policy: CancellationPolicy | None, refund_on_cancel: RefundOnCancel) -> list[str]:
    windows = sorted((policy or CancellationPolicy()).windows, key=lambda w: -w.hours_before)
    if not windows:
        lines = [_("You may cancel until the start for a full refund.")]
    else:
        lines = [
            _("Cancel at least %(hours)d hours before the start: %(percent)d %% back.")
            % {"hours": w.hours_before, "percent": w.refund_percent}
            for w in windows
        ]
        lines.append(_("Later than that, the booking can no longer be cancelled."))
    if refund_on_cancel is RefundOnCancel.NEVER:
        lines.append(_("The service fee is not refunded."))
    return lines


_HEADLINES = {
    BookingStatus.PENDING_PAYMENT: Headline(
        N_("Waiting for your payment"),
        N_("We have not heard from the payment yet. This page updates by itself."),
        "wait",
    ),
    BookingStatus.AWAITING_ASYNC_PAYMENT: Headline(
        N_("Your payment is on its way"),
        N_("Your seats stay held until the payment arrives. This page updates by itself."),
        "wait",
    ),
    BookingStatus.CONFIRMED: Headline(
        N_("Your booking is confirmed"), N_("Your booking is paid. See you there!"), "ok"
    ),
    BookingStatus.EXPIRED: Headline(
        N_("Your booking was not completed"),
        N_("Nothing was charged, and the seats you picked are free again."),
        "stop",
    ),
    BookingStatus.PAYMENT_FAILED: Headline(
        N_("Your payment did not go through"),
        N_("Nothing was charged, and the seats you picked are free again. You can try again."),
        "stop",
    ),
    BookingStatus.CANCELLED: Headline(N_("This booking is cancelled"), "", "stop"),
}


def _cancelled_text(booking: Booking) -> str:
    """Who cancelled, and the business's reason when it gave one."""
    if booking.cancelled_by is CancelledBy.TENANT:
        if booking.cancellation_reason:
            return _("The business cancelled this booking: %(reason)s") % {
                "reason": booking.cancellation_reason
            }
        return _("The business cancelled this booking.")
    if booking.cancelled_by is CancelledBy.CUSTOMER:
        return _("You cancelled this booking.")
    return ""


def booking_view(found: CustomerBooking, f: Formats) -> dict[str, Any]:
    booking = found.booking
    headline = _HEADLINES[booking.status]
    text = _(headline.text) if headline.text else ""
    if booking.status is BookingStatus.CANCELLED:
        text = _cancelled_text(booking)
    quote = booking.quote
    refunded = booking.refunded.customer_refund
    return {
        "id": booking.id,
        "status": booking.status.value,
        "title": _(headline.title),
        "text": text,
        "tone": headline.tone,
        "follows_payment": booking.status
        in (BookingStatus.PENDING_PAYMENT, BookingStatus.AWAITING_ASYNC_PAYMENT),
        "business": found.business.name,
        "offering": found.offering_name,
        "when": f.when(booking.starts_at),
        "seats": booking.seats,
        "customer": booking.customer.name or booking.customer.email,
        "rows": quote_rows(quote, f),
        "total": f.money(quote.customer_total),
        "paid": booking.is_paid or not refunded.is_zero,
        "refunded": None if refunded.is_zero else f.money(refunded),
        "terms": policy_lines(booking.cancellation_policy, booking.refund_on_cancel),
        "cancel_refund": (
            None if found.cancel_refund is None else f.money(found.cancel_refund.customer_refund)
        ),
        "cannot_cancel": booking.status is BookingStatus.CONFIRMED and found.cancel_refund is None,
        "try_again": booking.status in (BookingStatus.PAYMENT_FAILED, BookingStatus.EXPIRED),
        "again_url": f"/book/{found.business.slug}/{booking.offering_id}/{booking.slot_id}"
        f"?seats={booking.seats}",
        "slots_url": f"/book/{found.business.slug}/{booking.offering_id}",
        "refresh": REFRESH_SECONDS,
    }
