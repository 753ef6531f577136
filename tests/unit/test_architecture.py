"""Imports point one way: every module imports only modules listed above it in ARCHITECTURE.md.

The order lives in one place, ARCHITECTURE.md's table; this test parses it and every module of
the package with ``ast``. Imports inside functions count (they are imports all the same); those
under ``if TYPE_CHECKING:`` do not (type hints only).
"""
import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "jkn_risk"


def _order() -> list[str]:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    paths = re.findall(r"^\| `(jkn_risk/[\w/]+\.py)` \|", text, flags=re.MULTILINE)
    return [p[:-3].replace("/", ".").removesuffix(".__init__") for p in paths]


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    return ".".join(rel.parts).removesuffix(".__init__")


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``path`` imports (resolving relative imports and
    ``from package import submodule``)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("jkn_risk"):
                        found.add(alias.name)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                if not mod.startswith("jkn_risk"):
                    continue
                for alias in child.names:
                    sub = f"{mod}.{alias.name}"
                    found.add(sub if sub in modules else mod)
            visit(child)

    visit(ast.parse(path.read_text()))
    found.discard(name)
    return {m for m in found if m in modules or m == "jkn_risk"}


def test_architecture_lists_every_module_once():
    order = _order()
    actual = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    assert len(order) == len(set(order)), "a module is listed twice"
    assert set(order) == actual, (f"missing from ARCHITECTURE.md: {sorted(actual - set(order))}; "
                                  f"listed but absent: {sorted(set(order) - actual)}")


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: _module_name(p))
def test_no_module_imports_one_below_it(path):
    order = _order()
    rank = {m: i for i, m in enumerate(order)}
    name = _module_name(path)
    upward = sorted(m for m in _imports(path, set(order)) if rank.get(m, -1) > rank[name])
    assert not upward, f"{name} imports {upward}, listed below it in ARCHITECTURE.md"


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """A module importing one listed below it, even inside a function, is caught."""
    fake = tmp_path / "jkn_risk"
    fake.mkdir()
    (fake / "codes.py").write_text("def f():\n    from jkn_risk import cli\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _imports(fake / "codes.py", {"jkn_risk.codes", "jkn_risk.cli"}) == {"jkn_risk.cli"}
