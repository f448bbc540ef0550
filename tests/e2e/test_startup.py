"""Start-up: real Stripe refuses to start without its secrets; fake mode prints a key."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import BOOKPAY, Server, free_port, stop_server


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKPAY_")}
    env["BOOKPAY_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'start.db'}"
    env.update(extra)
    return env


def test_the_stripe_gateway_refuses_to_start_without_its_secrets(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BOOKPAY), "serve", "--port", str(free_port())],
        env=_env(tmp_path, BOOKPAY_GATEWAY="stripe", BOOKPAY_STRIPE_SECRET_KEY="sk_test_x"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "BOOKPAY_STRIPE_WEBHOOK_SECRET" in result.stderr
    assert "BOOKPAY_ADMIN_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_fake_mode_generates_and_prints_an_admin_key_that_works(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [str(BOOKPAY), "serve", "--port", str(port)],
            env=_env(tmp_path),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", "", process, log)
    try:
        key = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            for line in log.read_text().splitlines():
                if "generated admin key" in line:
                    key = line.rsplit(" ", 1)[-1]
            try:
                if key and httpx.get(f"{server.base_url}/health/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        assert key.startswith("bp_admin_")
        with server.client(key) as admin:
            assert admin.get("/v1/admin/tenants").status_code == 200
        with server.client("bp_admin_guess") as stranger:
            assert stranger.get("/v1/admin/tenants").status_code == 401
    finally:
        stop_server(server)


def test_the_demo_seeds_once_and_prints_a_checkout_to_click(tmp_path: Path) -> None:
    env = _env(tmp_path, BOOKPAY_PUBLIC_BASE_URL="http://127.0.0.1:8123")
    first = subprocess.run(
        [str(BOOKPAY), "demo"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert first.returncode == 0, first.stderr
    assert "seeded tenant 'demo-studio'" in first.stdout
    assert "http://127.0.0.1:8123/fake-stripe/checkout/cs_" in first.stdout
    assert "Tenant key:      bp_tenant_" in first.stdout
    second = subprocess.run(
        [str(BOOKPAY), "demo"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert second.returncode == 0, second.stderr
    assert "already exists" in second.stdout
    assert "/fake-stripe/checkout/cs_" in second.stdout
