"""`bookpay run --port N` (and `make run PORT=N`) prints links that work: with the fake
gateway and BOOKPAY_PUBLIC_BASE_URL unset, the public base URL follows the port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from entrypoints import cli

ORIGINAL_SERVE = cli.cmd_serve


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """The base URL the demo is seeded with (what `make run` prints); nothing is served.
    `bookpay run` writes to the environment (for its workers): put back as it was."""
    environment = dict(os.environ)
    base_urls: list[str] = []
    monkeypatch.setattr(cli, "cmd_demo", lambda args: base_urls.append(args.base_url))
    monkeypatch.setattr(cli, "cmd_serve", lambda args: None)
    monkeypatch.setattr(cli, "ADMIN_KEY_FILE", tmp_path / "admin-key")
    for name in ("BOOKPAY_GATEWAY", "BOOKPAY_PUBLIC_BASE_URL", "BOOKPAY_ADMIN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BOOKPAY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'run.db'}")
    yield base_urls
    os.environ.clear()
    os.environ.update(environment)


def run(*argv: str) -> None:
    cli.main(["run", *argv])


def test_the_printed_links_follow_the_port_when_no_public_url_is_set(seen: list[str]) -> None:
    run("--port", "8123")

    assert seen == ["http://127.0.0.1:8123"]


def test_a_host_listening_everywhere_is_reached_on_this_machine(seen: list[str]) -> None:
    run("--host", "0.0.0.0", "--port", "8124")  # noqa: S104 - listening everywhere

    assert seen == ["http://127.0.0.1:8124"]


def test_a_configured_public_url_is_kept_whatever_the_port(
    seen: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOOKPAY_PUBLIC_BASE_URL", "https://book.example.com")

    run("--port", "8125")

    assert seen == ["https://book.example.com"]


def test_development_base_url_brackets_an_ipv6_host() -> None:
    assert cli.development_base_url("::1", 9000) == "http://[::1]:9000"


def test_serve_alone_follows_its_port_too(
    seen: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`bookpay serve --port N` with the fake gateway: the fake's checkout pages, the way
    back from them and its webhooks are at the port served, not at 8000."""
    import uvicorn

    served: list[str] = []
    monkeypatch.setattr(
        uvicorn, "run", lambda *a, **k: served.append(os.environ["BOOKPAY_PUBLIC_BASE_URL"])
    )
    monkeypatch.setattr(cli, "cmd_serve", ORIGINAL_SERVE)
    monkeypatch.setenv("BOOKPAY_GATEWAY", "fake")

    cli.main(["serve", "--port", "8127"])

    assert served == ["http://127.0.0.1:8127"]
