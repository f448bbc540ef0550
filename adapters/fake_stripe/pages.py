"""The fake Stripe's hosted pages, rendered as plain self-contained HTML strings.

Each button is a form posting to a `/fake-stripe/...` path of API.md ("Fake gateway"):
- an open checkout: Pay (card) and Pay with a delayed method → `…/pay` (form field
  `method` = `card` | `delayed`), Decline → `…/decline`, Cancel → `…/cancel`;
- a checkout awaiting its delayed payment: succeeds → `…/pay`, fails → `…/decline`;
- onboarding: Complete onboarding → `POST /fake-stripe/onboarding/{account_id}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from application.ports.gateway import LineItem, PaymentStatus, SessionStatus
from domain.money import Money

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 2rem auto; color: #222; }
table { width: 100%; border-collapse: collapse; margin: 1rem 0; }
td { padding: .3rem 0; } td.amount { text-align: right; }
tr.total td { border-top: 1px solid #999; font-weight: bold; }
form { display: inline-block; margin: .3rem .3rem 0 0; }
button { font-size: 1rem; padding: .5rem 1rem; cursor: pointer; }
.note { color: #666; font-size: .9rem; }
"""


@dataclass(frozen=True, slots=True)
class CheckoutPage:
    """What the fake's hosted checkout shows for one session."""

    session_id: str
    status: SessionStatus
    payment_status: PaymentStatus
    line_items: tuple[LineItem, ...]
    amount_total: Money
    customer_email: str | None
    payment_failed: bool = False
    # Where the customer goes back to the shop (the session's success_url), once the
    # payment has failed and nothing is left to do here.
    return_url: str | None = None


# The pages are sent with `Cache-Control: no-store`, yet a browser may still show one from
# its back/forward cache after Cancel then Back: ask for it anew, as it is now. (Without
# script, a button of such a page answers a refusal page in words.)
_FRESH_ON_BACK = (
    "<script>addEventListener('pageshow', function (e) "
    "{ if (e.persisted) location.reload(); });</script>"
)


def _document(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n{_FRESH_ON_BACK}\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _button(action: str, label: str, *, fields: dict[str, str] | None = None) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in (fields or {}).items()
    )
    return (
        f'<form method="post" action="{escape(action)}">{hidden}'
        f'<button type="submit">{escape(label)}</button></form>'
    )


def checkout_path(base_url: str, session_id: str, action: str = "") -> str:
    path = f"{base_url.rstrip('/')}/fake-stripe/checkout/{session_id}"
    return f"{path}/{action}" if action else path


def onboarding_path(base_url: str, account_id: str) -> str:
    return f"{base_url.rstrip('/')}/fake-stripe/onboarding/{account_id}"


def _line_rows(page: CheckoutPage) -> str:
    rows = [
        f"<tr><td>{escape(line.name)} × {line.quantity}</td>"
        f'<td class="amount">{escape(line.unit_amount.times(line.quantity).format())}</td></tr>'
        for line in page.line_items
    ]
    rows.append(
        '<tr class="total"><td>Total</td>'
        f'<td class="amount">{escape(page.amount_total.format())}</td></tr>'
    )
    return "<table>" + "".join(rows) + "</table>"


def _checkout_actions(page: CheckoutPage, base_url: str) -> str:
    def url(action: str) -> str:
        return checkout_path(base_url, page.session_id, action)

    if page.status is SessionStatus.OPEN:
        return (
            "<div>"
            + _button(url("pay"), "Pay", fields={"method": "card"})
            + _button(url("decline"), "Decline")
            + _button(url("cancel"), "Cancel")
            + '</div>\n<p class="note">Delayed payment method (like a bank debit):</p><div>'
            + _button(url("pay"), "Pay with a delayed method", fields={"method": "delayed"})
            + "</div>"
        )
    if page.payment_failed:
        back = (
            f'<p><a href="{escape(page.return_url)}">Return to the shop</a></p>'
            if page.return_url
            else ""
        )
        return "<p>The payment failed. No money was taken.</p>" + back
    if page.status is SessionStatus.COMPLETE and page.payment_status is PaymentStatus.UNPAID:
        return (
            "<p>The delayed payment is processing.</p><div>"
            + _button(url("pay"), "Delayed payment succeeds")
            + _button(url("decline"), "Delayed payment fails")
            + "</div>"
        )
    if page.status is SessionStatus.COMPLETE:
        return "<p>This checkout is paid.</p>"
    return "<p>This checkout has expired and can no longer be paid.</p>"


def render_checkout_page(page: CheckoutPage, *, base_url: str = "") -> str:
    """The hosted test checkout: the order, then the buttons its state allows."""
    email = (
        f'<p class="note">Paying as {escape(page.customer_email)}</p>'
        if page.customer_email
        else ""
    )
    body = (
        "<h1>Test checkout</h1>\n"
        f'<p class="note">Fake Stripe — session {escape(page.session_id)}. '
        "No real money moves.</p>\n"
        f"{email}\n{_line_rows(page)}\n{_checkout_actions(page, base_url)}"
    )
    return _document("Test checkout", body)


def render_onboarding_page(
    *, account_id: str, charges_enabled: bool, base_url: str = "", email: str | None = None
) -> str:
    """The hosted test onboarding: one button that enables charges and payouts."""
    who = f" for {escape(email)}" if email else ""
    state = (
        "<p>This account can already take charges.</p>"
        if charges_enabled
        else "<p>Charges and payouts are not enabled yet.</p>"
    )
    body = (
        "<h1>Test onboarding</h1>\n"
        f'<p class="note">Fake Stripe — connected account {escape(account_id)}{who}.</p>\n'
        f"{state}\n" + _button(onboarding_path(base_url, account_id), "Complete onboarding")
    )
    return _document("Test onboarding", body)


def render_refusal_page(text: str, *, back_url: str | None = None) -> str:
    """A refusal shown to a browser (a button pressed on a page that is out of date), in
    words, with the way back to the booking when there is one."""
    back = f'<p><a href="{escape(back_url)}">Back to your booking</a></p>' if back_url else ""
    body = f"<h1>Test checkout</h1>\n<p>{escape(text)}</p>\n{back}"
    return _document("Test checkout", body)
