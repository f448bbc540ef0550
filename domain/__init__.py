"""Bookpay's domain: pure rules about money, fees, tenants, offerings, slots and bookings."""
