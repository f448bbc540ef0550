"""Fixtures every test directory may ask for: the databases (tests.support.databases), and
the pool of in-process HTTP apps that build_test_app lends (tests.support.http_app)."""

pytest_plugins = ["tests.support.http_app", "tests.support.databases"]
