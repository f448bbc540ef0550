"""The layer contracts in `make check` are real: a forbidden import breaks them."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for package in ("domain", "application", "adapters", "entrypoints", "tools"):
        shutil.copytree(
            ROOT / package, project / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    return project


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
    )


def test_the_untouched_project_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint_imports(_copy_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("domain/sneaky.py", "import sqlalchemy\n", "domain.sneaky imports sqlalchemy"),
        ("domain/sneaky.py", "import requests\n", "domain.sneaky imports requests"),
        ("domain/sneaky.py", "from application import ports\n", "domain.sneaky"),
        ("application/sneaky.py", "import stripe\n", "application.sneaky imports stripe"),
        ("application/sneaky.py", "import adapters\n", "application.sneaky imports adapters"),
        ("adapters/sneaky.py", "import entrypoints\n", "adapters.sneaky"),
        ("adapters/fake_stripe/sneaky.py", "import adapters.sql\n", "adapters.fake_stripe"),
        ("adapters/sql/sneaky.py", "import adapters.rate_limits\n", "adapters.sql"),
    ],
)
def test_a_forbidden_import_breaks_the_layer_contract(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    project = _copy_project(tmp_path)
    (project / module).write_text(line)

    result = _lint_imports(project)

    assert result.returncode != 0
    assert broken in result.stdout
    assert "BROKEN" in result.stdout


def test_adapter_packages_share_stripes_wire_format_only(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    (project / "adapters/sql/sneaky.py").write_text("import adapters.stripe_wire\n")

    result = _lint_imports(project)

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_adapter_package_is_in_the_independence_contract() -> None:
    """A new adapter package cannot import another one unnoticed; only stripe_wire,
    Stripe's wire format, is shared by the Stripe adapters and stays out."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = pyproject["tool"]["importlinter"]["contracts"]
    [independence] = [c for c in contracts if c["type"] == "independence"]
    packages = {
        f"adapters.{init.parent.name}" for init in (ROOT / "adapters").glob("*/__init__.py")
    }
    assert set(independence["modules"]) == packages - {"adapters.stripe_wire"}
