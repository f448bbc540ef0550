"""The layer contracts in `make check` are real: a forbidden import breaks them."""

import shutil
import subprocess
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# Each forbidden import, the module it is put in, and the line of lint-imports' report that
# names it: the report lists every illegal import of every broken contract, by importer,
# imported module and line, so one run over a copy holding all of them answers for each
# (the contracts only forbid, so each import is reported the same alone or beside others).
FORBIDDEN = [
    ("domain/sneaky.py", "import sqlalchemy", "domain.sneaky imports sqlalchemy (l.1)"),
    ("domain/sneaky.py", "import requests", "domain.sneaky imports requests (l.2)"),
    (
        "domain/sneaky.py",
        "from application import ports",
        "- domain.sneaky -> application.ports (l.3)",
    ),
    ("application/sneaky.py", "import stripe", "application.sneaky imports stripe (l.1)"),
    ("application/sneaky.py", "import adapters", "application.sneaky imports adapters (l.2)"),
    ("adapters/sneaky.py", "import entrypoints", "- adapters.sneaky -> entrypoints (l.1)"),
    (
        "adapters/fake_stripe/sneaky.py",
        "import adapters.sql",
        "- adapters.fake_stripe.sneaky -> adapters.sql (l.1)",
    ),
    (
        "adapters/sql/sneaky.py",
        "import adapters.rate_limits",
        "- adapters.sql.sneaky -> adapters.rate_limits (l.1)",
    ),
]


def _copy_project(root: Path) -> Path:
    project = root / "project"
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


@pytest.fixture(scope="module")
def with_every_forbidden_import(
    tmp_path_factory: pytest.TempPathFactory,
) -> subprocess.CompletedProcess[str]:
    """lint-imports' verdict on a copy of the project holding every import of FORBIDDEN."""
    project = _copy_project(tmp_path_factory.mktemp("forbidden"))
    lines: defaultdict[str, list[str]] = defaultdict(list)
    for module, line, _ in FORBIDDEN:
        lines[module].append(line + "\n")
    for module, written in lines.items():
        (project / module).write_text("".join(written))
    return _lint_imports(project)


def test_the_untouched_project_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint_imports(_copy_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "broken"), FORBIDDEN)
def test_a_forbidden_import_breaks_the_layer_contract(
    with_every_forbidden_import: subprocess.CompletedProcess[str],
    module: str,
    line: str,
    broken: str,
) -> None:
    result = with_every_forbidden_import

    assert result.returncode != 0
    assert broken in result.stdout.splitlines(), result.stdout
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
