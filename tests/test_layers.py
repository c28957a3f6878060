"""The dependency rule: the core imports no framework and no edge.

The core is every module of `broadcaster` except the edges `broadcaster.web`, `broadcaster.cli`
and `broadcaster.sandbox` (and `workers`, a package of its own). Two checks, so that neither a
lazy import inside a function nor an import hidden behind another module slips through:

- statically, every `import` statement of every core file, at any depth;
- at run time, each core module imported in a fresh interpreter, then `sys.modules`. The
  core's own third-party dependencies are imported first: httpx, for one, loads rich for its
  command line when rich is installed, which is httpx's business, not ours.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "broadcaster"
EDGES = ("broadcaster.web", "broadcaster.cli", "broadcaster.sandbox")
#: What the core may use besides the standard library.
DEPENDENCIES = ("httpx", "redis", "redis.asyncio", "pydantic", "pydantic_settings", "phonenumbers")
FORBIDDEN = (
    "celery", "kombu", "fastapi", "starlette", "uvicorn", "typer", "rich", "flower",
    "workers", *EDGES,
)  # fmt: skip


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def core_modules(root: Path) -> list[tuple[str, Path]]:
    """(name, path) of every core module under the package at `root`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        name = module_name(path, root)
        if not any(name == edge or name.startswith(edge + ".") for edge in EDGES):
            found.append((name, path))
    return found


def forbidden_imports(name: str, path: Path) -> list[str]:
    """The forbidden modules `path` imports anywhere in its code (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    bad = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base]) if base else ".".join(parent)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            if any(target == f or target.startswith(f + ".") for f in FORBIDDEN):
                bad.append(f"{name} imports {target} (line {node.lineno})")
                break
    return bad


def test_the_core_is_every_module_but_the_edges():
    names = {name for name, _ in core_modules(PACKAGE)}
    assert {"broadcaster", "broadcaster.operations", "broadcaster.store.sending"} <= names
    assert not any(name.startswith(tuple(edge + "." for edge in EDGES)) for name in names)
    assert "broadcaster.webhook_changes" in names  # a prefix of an edge's name is not an edge
    assert len(names) > 30  # the walk found the package, not a handful of files


def test_no_core_module_imports_an_edge_or_a_framework():
    bad = [line for name, path in core_modules(PACKAGE) for line in forbidden_imports(name, path)]
    assert bad == []


def test_importing_the_core_loads_no_edge_or_framework():
    names = [name for name, _ in core_modules(PACKAGE)]
    code = (
        "import importlib, sys\n"
        f"for dependency in {DEPENDENCIES!r}:\n"
        "    importlib.import_module(dependency)\n"
        f"forbidden = {FORBIDDEN!r}\n"
        f"for name in {names!r}:\n"
        "    before = set(sys.modules)\n"
        "    importlib.import_module(name)\n"
        "    for loaded in set(sys.modules) - before:\n"
        "        if any(loaded == f or loaded.startswith(f + '.') for f in forbidden):\n"
        "            print(name, 'loads', loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    ("planted", "expected"),
    [
        ("import celery\n", "broadcaster.planted imports celery"),
        (
            "def later():\n    from .web import app\n",
            "broadcaster.planted imports broadcaster.web",
        ),
        ("from broadcaster.cli import demo\n", "broadcaster.planted imports broadcaster.cli"),
        ("from workers.tasks import send_messages\n", "broadcaster.planted imports workers"),
    ],
)
def test_a_planted_import_is_caught(tmp_path, planted, expected):
    """The check fails when a core module imports an edge: plant one in a copy, see it caught."""
    root = tmp_path / "broadcaster"
    (root / "web").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "web" / "__init__.py").write_text("import fastapi\n")  # an edge may
    (root / "planted.py").write_text(planted)
    bad = [line for name, path in core_modules(root) for line in forbidden_imports(name, path)]
    assert len(bad) == 1 and bad[0].startswith(expected)
