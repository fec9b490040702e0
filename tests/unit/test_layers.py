"""The arrows between packages point one way (README, Architecture):

    hookgate  ←  providers  ←  gateway
        ↑
    consumers  ←  admin

`hookgate` (the wire contract and shared floor) imports none of the others; `providers` only
`hookgate`; the gateway `providers` and `hookgate`, never the consumer runtime; consumers only
`hookgate`, never the gateway or providers; `admin` (the status ledger and admin API) the
consumers and `hookgate`, never the gateway. Checked twice: every import statement in the source
(including those inside functions and `TYPE_CHECKING` blocks), and what a fresh interpreter has
loaded after importing every module of a package.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hookgate", "providers", "gateway", "consumers", "admin")
ALLOWED = {
    "hookgate": set(),
    "providers": {"hookgate"},
    "gateway": {"hookgate", "providers"},
    "consumers": {"hookgate"},
    "admin": {"hookgate", "consumers"},
}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_statement_points_the_wrong_way(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported - ALLOWED[package] - {package})
        for path in _modules(package)
        if (imported := _imported_packages(path)) - ALLOWED[package] - {package}
    }
    assert wrong == {}, f"{package} may import only {sorted(ALLOWED[package])}"


@pytest.mark.parametrize("package", PACKAGES)
def test_a_fresh_interpreter_loads_nothing_above_the_package(package: str) -> None:
    modules = [_module_name(path) for path in _modules(package)]
    # `__main__` runs the CLI; examples are separate distributions (their own installs).
    modules = [m for m in modules if not m.endswith("__main__") and ".examples" not in m]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split()) & set(PACKAGES)
    assert len(modules) > 3
    assert loaded - ALLOWED[package] - {package} == set()


def test_the_rule_would_catch_a_wrong_arrow(tmp_path: Path) -> None:
    # The checker itself can fail: an import of the consumer runtime from inside a function.
    module = tmp_path / "wrong.py"
    module.write_text("def f():\n    from consumers.dispatch import Dispatcher\n")
    assert _imported_packages(module) == {"consumers"}
