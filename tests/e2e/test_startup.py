"""Start-up: real Stripe refuses to start without its secrets; fake mode prints a key."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import BOOKPAY, Server, stop_server
from tests.support.workers import free_port


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


def test_fake_mode_keeps_a_stable_admin_key_in_var_that_works(tmp_path: Path) -> None:
    key_file = tmp_path / "var" / "admin-key"
    keys = []
    for _ in range(2):  # a restart keeps the key
        port = free_port()
        log = tmp_path / "serve.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                [str(BOOKPAY), "serve", "--port", str(port)],
                env=_env(tmp_path),
                cwd=tmp_path,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        server = Server(f"http://127.0.0.1:{port}", "", process, log)
        try:
            ready = False
            deadline = time.monotonic() + 120
            while not ready and time.monotonic() < deadline and process.poll() is None:
                try:
                    ready = httpx.get(f"{server.base_url}/health/ready").status_code == 200
                except httpx.HTTPError:
                    time.sleep(0.1)
            assert ready, log.read_text()
            key = key_file.read_text().strip()
            assert key.startswith("bp_admin_")
            assert key_file.stat().st_mode & 0o777 == 0o600
            assert key not in log.read_text(), "the admin key is kept in var/, never logged"
            assert "var/admin-key" in log.read_text()
            with server.client(key) as admin:
                assert admin.get("/v1/admin/tenants").status_code == 200
            with server.client("bp_admin_guess") as stranger:
                assert stranger.get("/v1/admin/tenants").status_code == 401
            keys.append(key)
        finally:
            stop_server(server)
    assert keys[0] == keys[1]


def test_the_demo_seeds_once_and_prints_a_checkout_to_click(tmp_path: Path) -> None:
    env = _env(tmp_path, BOOKPAY_PUBLIC_BASE_URL="http://127.0.0.1:8123")
    first = subprocess.run(
        [str(BOOKPAY), "demo"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    assert "seeded tenant 'demo-studio'" in first.stdout
    assert "http://127.0.0.1:8123/fake-stripe/checkout/cs_" in first.stdout
    assert "Tenant key:      bp_tenant_" in first.stdout
    second = subprocess.run(
        [str(BOOKPAY), "demo"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert second.returncode == 0, second.stderr
    assert "already exists" in second.stdout
    assert "/fake-stripe/checkout/cs_" in second.stdout
    (url,) = {
        line.split()[-1] for line in first.stdout.splitlines() if "/fake-stripe/checkout/" in line
    }
    assert url in second.stdout, "the open demo checkout is shown again, not a new one"
    tenant_key = subprocess.run(
        [str(BOOKPAY), "tenant-key", "demo-studio"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tenant_key.returncode == 0, tenant_key.stderr
    assert tenant_key.stdout.strip().startswith("bp_tenant_")
    unknown = subprocess.run(
        [str(BOOKPAY), "tenant-key", "no-such-studio"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert unknown.returncode != 0
    assert "no-such-studio" in unknown.stderr
    assert "Traceback" not in unknown.stderr
