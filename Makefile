# Bookpay — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
AXE := node_modules/axe-core/axe.min.js

.PHONY: run test quick check lint format typecheck layers install lock bench bench-before-after \
	fuzz clean

# `make run PORT=8001`: another port (the printed links follow it).
PORT ?= 8000
run: $(STAMP)
	$(BIN)/bookpay run --port $(PORT)

# Every test, on every core: pyproject.toml's addopts hold `-n auto --dist worksteal`.
test: check $(AXE)
	$(BIN)/pytest

# The quick loop while working: everything but the races, the many-process tests and the
# real servers (marked `slow`).
quick: $(STAMP)
	$(BIN)/pytest -m "not slow"

check: $(STAMP) lint typecheck layers

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

install: $(STAMP) $(AXE)

# The lock file pins every package with hashes, so every install is the same.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	# pytest rewrites the asserts of its plugins (anyio, pytest-bdd, xdist, hypothesis) in every
	# process, worker and run unless it finds them cached in .venv; where PYTHONDONTWRITEBYTECODE
	# is set it never writes them, so one collection writes them here.
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest --collect-only -q -n 0 -p no:randomly \
		tests/unit/test_config.py > /dev/null
	touch $(STAMP)

# axe-core (accessibility checks the browser tests inject into each page), from the npm
# registry, pinned by package-lock.json.
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $(AXE)

# Regenerate the lock after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--generate-hashes --universal -o requirements.lock

# Benchmarks (bench/, `python -m bench.run`): real servers on PostgreSQL (directly and through
# PgBouncer) and SQLite, 1 and 2 workers, loaded from a separate process; writes
# docs/benchmarks.md, events out appended even when a correctness check failed the run
# (which then fails), with the whole target's time; never to a report bench.run did not
# write in this run (`--started`). Needs PostgreSQL on 127.0.0.1:5432 and /usr/sbin/pgbouncer.
bench: $(STAMP)
	started=$$(date +%s); \
	$(BIN)/python -m bench.run --invoked-by "make bench"; status=$$?; \
	$(BIN)/python -m bench.events_out --append docs/benchmarks.md --started $$started \
		&& exit $$status

# Before and after in the same run (bench/before_after.py), not part of `make bench`: commit
# BASE (by default the last before issue 18's restructuring) in a temporary git worktree
# with its own venv, this tree, and this tree without two later features of other issues
# (bench/as_before.py, measurement only), in three configurations in turn (PostgreSQL 1
# worker, SQLite 1 worker, PostgreSQL 2 workers), each side on its own fresh database,
# loaded in turn in an order that changes every round; writes
# docs/benchmarks-before-after.md (a table per configuration) and fails when a correctness
# check does. About 16 minutes; run it on an idle machine.
BASE ?= 94bff09
bench-before-after: $(STAMP)
	$(BIN)/python -m bench.before_after --base $(BASE) \
		--invoked-by "make bench-before-after BASE=$(BASE)"

# Schemathesis against the app on SQLite, as admin, tenant and anonymous (under 3 minutes):
# no 5xx, no ignored authentication, every response as the OpenAPI document says.
fuzz: $(STAMP)
	$(BIN)/python -m tools.fuzz

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis bookpay.db* var
