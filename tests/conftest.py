"""Fixtures every test directory may ask for: the databases (tests.support.databases), and
the pool of in-process HTTP apps that build_test_app lends (tests.support.http_app)."""

import sys

# Bytecode caches (gitignored) even where PYTHONDONTWRITEBYTECODE is set: without them every
# xdist worker, and every server process a test starts, compiles every module of Bookpay
# and pytest rewrites every test module again, run after run.
sys.dont_write_bytecode = False

pytest_plugins = ["tests.support.http_app", "tests.support.databases"]
