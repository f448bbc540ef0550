"""Gateway events, each applied by one small handler dispatched from a table (bus.py)."""

from application.payment_events.bus import HANDLERS, ApplyPaymentEvent
from application.payment_events.outcome import EventApplied, Outcome

__all__ = ["HANDLERS", "ApplyPaymentEvent", "EventApplied", "Outcome"]
