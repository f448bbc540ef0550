"""`make fuzz`: Schemathesis against Bookpay's own OpenAPI document, for a bounded time.

Starts `bookpay serve` on a fresh SQLite file with the fake gateway, seeds one onboarded
tenant with an offering and a slot, then fuzzes the API three times: as the platform admin
(/v1/admin), as that tenant (/v1/tenant) and anonymously (/v1/public, the webhooks, the
health probes). Every check that applies runs; a 5xx or an ignored authentication fails.
Each run is bounded by RUN_SECONDS, so the whole takes under three minutes.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

RUN_SECONDS = 45
BIN = Path(sys.executable).parent
ADMIN_KEY = "bp_admin_fuzz_" + secrets.token_urlsafe(24)
# Checks that do not apply to this API, and why:
# - positive_data_acceptance: valid-by-schema data is still refused by business rules
#   (an unknown slot is 404, a start in the past is 422), as the OpenAPI document says.
# - use_after_free / ensure_resource_availability: DELETE archives an offering, which stays
#   readable (with `archived: true`) by design.
# - allow_header_conformance: Litestar answers OPTIONS itself, which is not part of the
#   documented API.
EXCLUDED_CHECKS = (
    "positive_data_acceptance,use_after_free,ensure_resource_availability,allow_header_conformance"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_live(base: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise SystemExit("bookpay serve exited before it was ready")
        try:
            if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("bookpay serve did not become ready")


def _seed(base: str) -> str:
    """One onboarded tenant with an offering and a slot; its API key."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=base, timeout=30) as client:
        created = client.post(
            "/v1/admin/tenants",
            json={
                "name": "Fuzz Studio",
                "slug": "fuzz-studio",
                "country": "US",
                "default_currency": "usd",
                "timezone": "UTC",
            },
            headers=admin,
        )
        created.raise_for_status()
        tenant = {"Authorization": f"Bearer {created.json()['api_key']}"}
        link = client.post("/v1/tenant/connect/onboarding-link", headers=tenant)
        link.raise_for_status()
        onboarded = client.post(link.json()["url"], follow_redirects=False)
        if onboarded.status_code != 303:
            raise SystemExit(f"onboarding the fuzz tenant failed: {onboarded.text}")
        offering = client.post(
            "/v1/tenant/offerings",
            json={
                "name": "Class",
                "price": {"amount": 2000, "currency": "usd"},
                "duration_minutes": 60,
                "capacity": 10,
            },
            headers=tenant,
        )
        offering.raise_for_status()
        starts_at = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
        client.post(
            f"/v1/tenant/offerings/{offering.json()['id']}/slots",
            json={"starts_at": starts_at.isoformat()},
            headers=tenant,
        ).raise_for_status()
        return str(created.json()["api_key"])


def _fuzz(base: str, name: str, paths: str, headers: list[str], report: Path) -> bool:
    command = [
        str(BIN / "schemathesis"),
        "run",
        f"{base}/schema/openapi.json",
        "--url",
        base,
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED_CHECKS,
        "--include-path-regex",
        paths,
        "--max-time",
        str(RUN_SECONDS),
        # One worker: hypothesis parses lambdas with ast.parse, which CPython 3.11 cannot
        # run in two threads at once ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--seed",
        os.environ.get("FUZZ_SEED", "14"),
        "--request-timeout",
        "20",
        "--report",
        "junit",
        "--report-junit-path",
        str(report / f"{name}.xml"),
        "--warnings",
        "off",
    ]
    for header in headers:
        command += ["--header", header]
    print(f"\n== fuzzing as {name}: {paths}", flush=True)
    return subprocess.run(command, check=False).returncode == 0  # noqa: S603 - our own tools


def main() -> int:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="bookpay-fuzz-") as tmp:
        env = {
            **os.environ,
            "BOOKPAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/fuzz.db",
            "BOOKPAY_GATEWAY": "fake",
            "BOOKPAY_ADMIN_API_KEY": ADMIN_KEY,
            "BOOKPAY_PUBLIC_BASE_URL": base,
            "BOOKPAY_STRIPE_WEBHOOK_SECRET": "whsec_fuzz_" + secrets.token_urlsafe(16),
            "BOOKPAY_STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_fuzz_" + secrets.token_urlsafe(16),
            "BOOKPAY_SWEEP_SECONDS": "0",
            # One address sends everything here; the limits have tests of their own.
            "BOOKPAY_CHECKOUT_LIMIT_PER_MINUTE": "0",
            "BOOKPAY_AUTH_FAILURES_PER_MINUTE": "0",
        }
        log = Path(tmp) / "server.log"
        with log.open("wb") as output:
            server = subprocess.Popen(  # noqa: S603 - our own server
                [str(BIN / "bookpay"), "serve", "--port", str(port)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_until_live(base, server)
                tenant_key = _seed(base)
                report = Path("var/fuzz")
                report.mkdir(parents=True, exist_ok=True)
                runs = [
                    _fuzz(
                        base,
                        "admin",
                        "^/v1/admin",
                        [f"Authorization: Bearer {ADMIN_KEY}"],
                        report,
                    ),
                    _fuzz(
                        base,
                        "tenant",
                        "^/v1/tenant",
                        [f"Authorization: Bearer {tenant_key}"],
                        report,
                    ),
                    _fuzz(base, "anonymous", "^/(v1/public|v1/webhooks|health)", [], report),
                ]
            finally:
                server.terminate()
                server.wait(timeout=30)
        errors = [line for line in log.read_text().splitlines() if "Traceback" in line]
        if errors:
            print(log.read_text()[-5000:])
    ok = all(runs) and not errors
    print("\nmake fuzz:", "no failures" if ok else "FAILURES (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
