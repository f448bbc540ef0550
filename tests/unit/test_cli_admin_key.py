"""What `bookpay serve` (and so `run`, after the demo) says of the admin key in fake mode:
the truth. With BOOKPAY_ADMIN_API_KEY set it said the key was in var/admin-key, which held
another key (one an earlier `make run` made)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from entrypoints import cli


@pytest.fixture
def key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """var/admin-key of an earlier run, holding its own key; nothing is served. The
    commands write to the environment (for their workers): put back as it was."""
    saved = dict(os.environ)
    path = tmp_path / "admin-key"
    path.write_text("bp_admin_from_an_earlier_run\n")
    monkeypatch.setattr(cli, "ADMIN_KEY_FILE", path)
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: None)
    for name in [name for name in os.environ if name.startswith("BOOKPAY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BOOKPAY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    yield path
    os.environ.clear()
    os.environ.update(saved)


def test_a_key_set_in_the_environment_is_not_said_to_be_in_the_file(
    key_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOOKPAY_ADMIN_API_KEY", "bp_admin_the_operators_own_key")

    cli.main(["serve"])

    said = capsys.readouterr().out
    assert str(key_file) not in said
    assert "BOOKPAY_ADMIN_API_KEY" in said
    assert "bp_admin_the_operators_own_key" not in said  # the operator's secret stays theirs


def test_the_key_kept_in_the_file_is_said_to_be_there(
    key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["serve"])

    assert f"the admin key (fake gateway only) is in {key_file}" in capsys.readouterr().out
