"""Ports: what the use cases need from the outside world, and nothing Stripe- or SQL-typed.

One module per kind of port: gateway (and the events it parses), repositories, the unit of
work with its stores, time and identity.
"""
