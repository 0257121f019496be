"""Each unit's public API is its package's ``__all__``, and other plugins use only that.

A unit is ``plugins/<module>/<unit>/`` of a service module (eldercare, childcare), or the engine
and privacy plugins. DESIGN.md: a module never imports another module, and a district imports
only what a module exports. Checked on the source with ``ast``, so an import inside a function
counts too:

* every name in a unit's ``__all__`` exists;
* a district imports module code only as ``plugins.<module>.<unit>`` (the package), and only
  names in its ``__all__``;
* a unit's files import their own unit, their module's shared files
  (``plugins/<module>/<file>.py``, e.g. ``plugins/childcare/consent.py``) and the engine plugin
  (the layer below), never a sibling unit or another module; the module's shared files import
  no unit.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
MODULES = ("eldercare", "childcare")
CORE_PLUGINS = ("engine", "privacy")
#: The engine plugin's pure role declarations, which any plugin may import besides the engine's
#: package (workflow modules import them there so as not to pull the engine's activities).
ENGINE_ROLES = "plugins.engine.roles"


@dataclass(frozen=True)
class Import:
    """One ``import``/``from ... import`` of project plugin code in a source file."""

    path: Path
    line: int
    module: str
    names: tuple[str, ...]

    def __str__(self) -> str:
        names = f" import {', '.join(self.names)}" if self.names else ""
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.module}{names}"


def _package(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).parts)


def _units() -> list[str]:
    units = [
        _package(init.parent)
        for module in MODULES
        for init in sorted((PLUGINS / module).glob("*/__init__.py"))
    ]
    return units + [f"plugins.{name}" for name in CORE_PLUGINS]


def _districts() -> list[Path]:
    return sorted(
        init.parent
        for init in PLUGINS.glob("*/__init__.py")
        if init.parent.name not in (*MODULES, *CORE_PLUGINS)
    )


def _sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def _imports(path: Path) -> list[Import]:
    """Imports of ``plugins.*`` in ``path``; a relative import is resolved against the file."""
    found: list[Import] = []
    package = _package(path.parent)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [
                Import(path, node.lineno, alias.name, ())
                for alias in node.names
                if alias.name.split(".")[0] == "plugins"
            ]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            if module.split(".")[0] == "plugins":
                found.append(Import(path, node.lineno, module, tuple(a.name for a in node.names)))
    return found


def _all_of(package: str) -> list[str]:
    exported = getattr(importlib.import_module(package), "__all__", None)
    assert isinstance(exported, list | tuple), f"{package} has no __all__"
    return list(exported)


def _unit_of(module: str) -> str | None:
    """The unit package a dotted module belongs to, or None for a module's shared file."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in CORE_PLUGINS:
        return ".".join(parts[:2])
    if len(parts) >= 3 and parts[1] in MODULES and (PLUGINS / parts[1] / parts[2]).is_dir():
        return ".".join(parts[:3])
    return None


def test_the_tree_has_the_units_and_districts_this_test_knows() -> None:
    assert "plugins.eldercare.green_channel" in _units()
    assert "plugins.childcare.microwish" in _units()
    assert {d.name for d in _districts()} >= {"yingze", "xinghualing", "wanbailin", "xiaodian"}


@pytest.mark.parametrize("unit", _units())
def test_every_exported_name_exists(unit: str) -> None:
    exported = _all_of(unit)
    assert len(exported) == len(set(exported)), f"{unit}.__all__ names a name twice"
    package = importlib.import_module(unit)
    missing = [name for name in exported if not hasattr(package, name)]
    assert not missing, f"{unit}.__all__ names what the package does not define: {missing}"
    if unit.split(".")[1] in MODULES:
        assert "part" in exported, f"{unit} does not export its part"


@pytest.mark.parametrize("district", _districts(), ids=lambda p: p.name)
def test_a_district_imports_only_unit_packages_and_their_exports(district: Path) -> None:
    own = _package(district)
    wrong: list[str] = []
    for path in _sources(district):
        for imp in _imports(path):
            if imp.module == own or imp.module.startswith(f"{own}."):
                continue
            if imp.module == ENGINE_ROLES:
                continue
            unit = _unit_of(imp.module)
            if unit is None or imp.module != unit:
                wrong.append(f"{imp} (a submodule or a module's internals, not a unit package)")
                continue
            hidden = [n for n in imp.names if n not in _all_of(unit)]
            if hidden:
                wrong.append(f"{imp} (not in {unit}.__all__: {', '.join(hidden)})")
    assert not wrong, "a district imports module internals:\n" + "\n".join(wrong)


@pytest.mark.parametrize("module", MODULES)
def test_units_import_no_sibling_unit_and_no_other_module(module: str) -> None:
    wrong: list[str] = []
    for path in _sources(PLUGINS / module):
        here = _unit_of(_package(path.parent) + "." + path.stem)
        shared_file = here is None and path.name != "__init__.py"
        if path.parent == PLUGINS / module and path.name == "__init__.py":
            continue  # the module's __init__ assembles its units
        for imp in _imports(path):
            if imp.module.split(".")[:2] == ["plugins", "engine"]:
                # The engine is the layer below the modules: its roles and the pure models of
                # its shared processes (Delivery) travel into the modules' workflows.
                continue
            parts = imp.module.split(".")
            if len(parts) < 2 or parts[1] != module:
                wrong.append(f"{imp} (another plugin)")
                continue
            target = _unit_of(imp.module)
            if target is None:
                continue  # the module's own shared file
            if shared_file or target != here:
                wrong.append(f"{imp} (a unit imported from outside it)")
    assert not wrong, f"{module}: units reach into each other:\n" + "\n".join(wrong)
