"""The layering contracts in ``.importlinter`` hold, and the checker fails when one is broken.

The contracts are the rules of docs/ARCHITECTURE.md ("Layers"): the core imports nothing above
it, the engine nothing of the plugins, the plugins nothing of the composition layer, workflows
no I/O library, a service module no other module, a district only what a unit exports.
"""

from __future__ import annotations

import configparser
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import careflow

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"
PACKAGES = (
    "careflow",
    "cli",
    "workflows",
    "activities",
    "plugins",
    "worker",
    "staff_service",
    "ingress",
)
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    """Run the import linter over the packages under ``root`` with the repository's contracts."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(root / ".importlinter")],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "NO_COLOR": "1", "COLUMNS": "200"},
        check=False,
    )


def _contracts() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    return parser


def test_the_repository_keeps_every_contract() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_every_core_module_is_under_the_core_contract() -> None:
    listed = set(_contracts()["importlinter:contract:core"]["source_modules"].split())
    core = {f"careflow.{m.name}" for m in pkgutil.iter_modules(careflow.__path__)}
    assert core - listed == set(), "add the new core modules to .importlinter's core contract"
    assert listed - core == set(), "remove modules that no longer exist from the core contract"


def _copy_tree(target: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            target / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "static", "templates"),
        )
    shutil.copy(CONFIG, target / ".importlinter")
    return target


def test_a_core_module_importing_the_worker_breaks_the_core_contract(tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path)
    models = tree / "careflow" / "models.py"
    models.write_text(
        models.read_text(encoding="utf-8") + "\nimport worker.main  # noqa: E402,F401\n",
        encoding="utf-8",
    )
    result = _lint(tree)
    assert result.returncode != 0
    assert "The core imports nothing above it BROKEN" in result.stdout
    assert "careflow.models -> worker.main" in result.stdout


def test_a_workflow_reading_the_database_breaks_the_pure_workflows_contract(
    tmp_path: Path,
) -> None:
    tree = _copy_tree(tmp_path)
    workflows = tree / "plugins" / "eldercare" / "tiers" / "workflows.py"
    workflows.write_text(
        workflows.read_text(encoding="utf-8")
        + "\nfrom careflow.db import crud  # noqa: E402,F401\n",
        encoding="utf-8",
    )
    result = _lint(tree)
    assert result.returncode != 0
    assert "Workflows import no I/O library" in result.stdout
    assert "plugins.eldercare.tiers.workflows -> careflow.db" in result.stdout


def test_a_district_reading_a_units_table_breaks_the_district_contract(tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path)
    district = tree / "plugins" / "yingze" / "__init__.py"
    district.write_text(
        district.read_text(encoding="utf-8")
        + "\nfrom plugins.eldercare.health import tables  # noqa: E402,F401\n",
        encoding="utf-8",
    )
    result = _lint(tree)
    assert result.returncode != 0
    assert "A district imports only what a unit exports" in result.stdout
    assert "plugins.yingze -> plugins.eldercare.health.tables" in result.stdout
