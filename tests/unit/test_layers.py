"""The floors of the architecture (docs/architecture.md): tui → core → storage, sandbox apart,
no Textual below tui, and inside core the groups depend on each other only downwards.

Checked twice: statically, from every module's import statements, and dynamically, by
importing each headless module in a fresh interpreter and looking at `sys.modules`
(as harlequin's test_import_hygiene does).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "triage"
LAYERS = ("storage", "core", "tui", "sandbox")

#: What each layer must never import, of ours and of the outside world.
FORBIDDEN: dict[str, frozenset[str]] = {
    "storage": frozenset({"core", "tui", "sandbox", "textual"}),
    "core": frozenset({"tui", "sandbox", "textual"}),
    "sandbox": frozenset({"core", "storage", "tui"}),
    "tui": frozenset(),
}

#: The sandbox module that makes the demo's sites with core's own environment code (one
#: exception to "sandbox imports nothing of ours"), and the only modules of core it may use.
SANDBOX_MAY_USE_CORE = {"sandbox/demo_sites.py": {"triage.core.sites.environments",
                                                  "triage.core.sites.inventory"}}  # fmt: skip

#: The groups of core and what each may import of core (docs/architecture.md, "Layers").
#: "base" is core's top-level modules: errors, config, paths and the text helpers.
CORE_GROUPS: dict[str, frozenset[str]] = {
    "base": frozenset({"base"}),
    "jobs": frozenset({"base"}),
    "tracker": frozenset({"base"}),
    "board": frozenset({"base", "tracker"}),
    "sites": frozenset({"base", "jobs"}),
    "sla": frozenset({"base", "board", "tracker", "sites"}),
    "health": frozenset({"base", "jobs", "sites", "tracker", "board"}),
    "intake": frozenset({"base", "tracker", "board"}),
    "security": frozenset({"base", "jobs", "sites", "tracker", "board"}),
    "actions": frozenset({"base", "board", "jobs", "sites"}),
    "demo": frozenset({"base", "tracker"}),
    "demo_run": frozenset({"base", "tracker"}),
    "review": frozenset({"base", "board", "sites", "tracker"}),
}
#: Modules of a group the base may import: the SLA policies are sections of the one settings
#: object (core.config), and import nothing of ours themselves.
BASE_MAY_IMPORT = frozenset({"triage.core.sla.policy"})
#: Known debt, one import against the grain: the push runs e-mail intake's own create-issue
#: operation (attachments from the stored mail). It goes once intake queues the generic one.
UPWARD_DEBT = frozenset({("core/tracker/push.py", "triage.core.intake.create")})
#: Top-level modules of core that join groups rather than being part of the base.
CORE_JOINERS = frozenset({"actions", "demo", "demo_run"})


def modules_of(layer: str) -> list[Path]:
    folder = ROOT / layer
    return sorted(folder.rglob("*.py")) if folder.is_dir() else []


def module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)] or package
    return ".".join([*base, *([node.module] if node.module else [])])


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """The absolute names `module` imports (`from a import b` gives `a`), relative resolved."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(_absolute(node, module, is_package))
    return names


def root_of(name: str) -> str:
    """The layer (ours) or the top-level package (theirs) an absolute import names."""
    parts = name.split(".")
    if parts[0] == PACKAGE and len(parts) > 1:
        return parts[1]
    return parts[0]


def imported_roots(source: str, module: str, is_package: bool = False) -> set[str]:
    """The layers and outside packages `module` imports."""
    return {root_of(name) for name in imported_modules(source, module, is_package)}


def imports_of(path: Path) -> set[str]:
    return imported_roots(
        path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
    )


def core_group(name: str) -> str | None:
    """The group of core a module belongs to ("base" for errors, config, …), None if not core."""
    parts = name.split(".")
    if parts[:2] != [PACKAGE, "core"] or len(parts) < 3:
        return None
    if (ROOT / "core" / parts[2]).is_dir() or parts[2] in CORE_JOINERS:
        return parts[2]
    return "base"


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
        "    import triage.tui.app\n"
    )

    assert imported_roots(source, "triage.sandbox.probe") == {
        "os",
        "json",
        "textual",
        "sandbox",
        "tui",
    }
    assert imported_roots("from .mapping import x", "triage.core.tracker", True) == {"core"}
    assert imported_roots("from ..errors import E", "triage.core.tracker.mapping") == {"core"}


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_what_its_floor_allows(layer: str) -> None:
    breaches = {
        str(path.relative_to(ROOT)): sorted(imports_of(path) & FORBIDDEN[layer])
        for path in modules_of(layer)
    }
    for path, allowed in SANDBOX_MAY_USE_CORE.items():
        if layer == "sandbox" and breaches.get(path) == ["core"]:
            used = {
                name
                for name in imported_modules((ROOT / path).read_text(encoding="utf-8"), path)
                if root_of(name) == "core"
            }
            assert used <= allowed, f"{path} may use only {sorted(allowed)} of core"
            breaches[path] = []
    breaches = {path: found for path, found in breaches.items() if found}

    assert breaches == {}, f"{layer}/ must not import {sorted(FORBIDDEN[layer])}"


def test_nothing_imports_the_old_top_level_names() -> None:
    """Every import of ours goes through `triage.`: `core`, `tui`, … are not installed."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in imported_modules(path.read_text(encoding="utf-8"), module_name(path))
            if name.split(".")[0] in LAYERS
        )
        for layer in LAYERS
        for path in modules_of(layer)
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_core_groups_depend_on_each_other_only_downwards() -> None:
    breaches: dict[str, list[str]] = {}
    for path in modules_of("core"):
        name = module_name(path)
        group = core_group(name)
        if group is None:  # core/__init__.py
            continue
        assert group in CORE_GROUPS, f"core/{group} is a new group: place it in CORE_GROUPS"
        source = path.read_text(encoding="utf-8")
        for target in imported_modules(source, name, path.name == "__init__.py"):
            other = core_group(target)
            if group == "base" and target in BASE_MAY_IMPORT:
                continue
            if (str(path.relative_to(ROOT)), target) in UPWARD_DEBT:
                continue
            if other is not None and other != group and other not in CORE_GROUPS[group]:
                breaches.setdefault(str(path.relative_to(ROOT)), []).append(target)
    assert breaches == {}


def test_every_package_is_installed() -> None:
    """pyproject.toml lists each folder with an __init__.py as a package of `triage`."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    folders = {
        module_name(init.parent / "__init__.py")
        for layer in LAYERS
        for init in (ROOT / layer).rglob("__init__.py")
    }
    assert listed == folders


# --- dynamic -------------------------------------------------------------------------------------

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
found = sorted(
    name for name in sys.modules
    if name.split(".")[0] == "textual" or name.startswith(("triage.tui", "triage.sandbox"))
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
SANDBOX_USERS = frozenset({"triage.tui.cli.demo", "triage.tui.cli.demo_sites"})


def test_only_the_demo_commands_import_the_sandbox() -> None:
    offenders = [
        module_name(path)
        for path in modules_of("tui")
        if "sandbox" in imports_of(path) and module_name(path) not in SANDBOX_USERS
    ]
    assert offenders == [], f"only {sorted(SANDBOX_USERS)} may import sandbox: {offenders}"
    paths = {module_name(path): path for path in modules_of("tui")}
    assert all("sandbox" in imports_of(paths[m]) for m in SANDBOX_USERS)


# --- cycles --------------------------------------------------------------------------------------


def import_graph() -> dict[str, set[str]]:
    """Every module of ours and the modules of ours it imports (lazy and type-only too)."""
    paths = {module_name(p): p for layer in LAYERS for p in modules_of(layer)}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                module = _absolute(node, name, path.name == "__init__.py")
                found.add(module)
                found.update(f"{module}.{alias.name}" for alias in node.names)
        graph[name] = {target for target in found if target in paths and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, round and round (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycles_finds_modules_that_import_each_other() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_two_modules_import_each_other() -> None:
    """Not even type-only: a reporter gets what it reads, a palette provider a protocol."""
    assert cycles(import_graph()) == []
