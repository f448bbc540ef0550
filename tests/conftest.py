"""Fixtures every test directory may ask for: the databases (tests.support.databases)."""

pytest_plugins = ["tests.support.databases"]
