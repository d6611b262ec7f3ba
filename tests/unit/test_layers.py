"""The floors of DESIGN.md: tui → core → storage, sandbox apart, no Textual below tui.

Checked twice: statically, from every module's import statements, and dynamically, by
importing each headless module in a fresh interpreter and looking at `sys.modules`
(as harlequin's test_import_hygiene does).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("storage", "core", "tui", "sandbox")

#: What each layer must never import, of ours and of the outside world.
FORBIDDEN: dict[str, frozenset[str]] = {
    "storage": frozenset({"core", "tui", "sandbox", "textual"}),
    "core": frozenset({"tui", "sandbox", "textual"}),
    "sandbox": frozenset({"core", "storage", "tui"}),
    "tui": frozenset(),
}


def modules_of(layer: str) -> list[Path]:
    folder = ROOT / layer
    return sorted(folder.rglob("*.py")) if folder.is_dir() else []


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_roots(source: str, module: str, is_package: bool = False) -> set[str]:
    """The top-level packages `module` imports, its relative imports resolved."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] or package
            roots.add(base[0])
    return roots


def imports_of(path: Path) -> set[str]:
    return imported_roots(
        path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
    )


def headless_modules() -> list[str]:
    return [module_name(p) for layer in ("storage", "core") for p in modules_of(layer)]


# --- static --------------------------------------------------------------------------------------


def test_the_layers_exist() -> None:
    assert modules_of("storage"), "storage/ has no modules"
    assert modules_of("core"), "core/ has no modules"
    assert "triage.storage.models" in headless_modules()
    assert "triage.core.board.workflow" in headless_modules()


def test_imported_roots_resolves_every_form_of_import() -> None:
    source = (
        "import os.path, json\n"
        "from textual.app import App\n"
        "from . import agency\n"
        "from .jql import parse\n"
        "def late():\n"
        "    import tui.app\n"
    )

    assert imported_roots(source, "triage.sandbox.probe") == {
        "os",
        "json",
        "textual",
        "sandbox",
        "tui",
    }
    assert imported_roots("from .mapping import x", "triage.core.tracker", is_package=True) == {
        "core"
    }
    assert imported_roots("from ..errors import E", "triage.core.tracker.mapping") == {"core"}


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_what_its_floor_allows(layer: str) -> None:
    breaches = {
        str(path.relative_to(ROOT)): sorted(imports_of(path) & FORBIDDEN[layer])
        for path in modules_of(layer)
    }
    breaches = {path: found for path, found in breaches.items() if found}

    assert breaches == {}, f"{layer}/ must not import {sorted(FORBIDDEN[layer])}"


# --- dynamic -------------------------------------------------------------------------------------

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
found = sorted(
    name for name in sys.modules
    if name.split(".")[0] in ("textual", "tui", "sandbox")
)
print(json.dumps(found))
"""


@pytest.mark.parametrize("module", headless_modules())
def test_a_headless_module_loads_no_textual_tui_or_sandbox(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, module],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


#: The only modules of the app that may reach into the sandbox: the demo and sandbox commands.
SANDBOX_USERS = frozenset({"triage.tui.cli.demo"})


def test_only_the_demo_commands_import_the_sandbox() -> None:
    offenders = [
        module_name(path)
        for path in modules_of("tui")
        if "sandbox" in imports_of(path) and module_name(path) not in SANDBOX_USERS
    ]
    assert offenders == [], f"only {sorted(SANDBOX_USERS)} may import sandbox: {offenders}"
    assert all("sandbox" in imports_of(ROOT / f"{m.replace('.', '/')}.py") for m in SANDBOX_USERS)
