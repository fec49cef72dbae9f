"""The layers of DESIGN §2: no import cycle among ``blauweknop`` modules, no CLI import of a
private module (``tools/check_imports.py``), and the import-linter contracts of pyproject.toml.

The checker is fed small packages with the defects it must find, so that a checker that finds
nothing cannot pass for a clean tree.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_imports", ROOT / "tools/check_imports.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


checker = _load_checker()


def _tree(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


# --- the repository as it is --------------------------------------------------------------


def test_no_import_cycle_among_blauweknop_modules_besides_the_known_ones() -> None:
    found = {tuple(c) for c in checker.cycles(checker.import_edges())}
    assert found - checker.KNOWN_CYCLES == set()
    # A known cycle that is gone must leave the list (the check is there to be emptied).
    assert checker.KNOWN_CYCLES - found == set()


def test_the_cli_imports_no_private_module() -> None:
    assert checker.private_cli_imports(checker.import_edges()) == []


def test_the_checker_reports_success() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools/check_imports.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: no import cycle among blauweknop modules" in result.stdout


# --- the checker finds what it must --------------------------------------------------------


def test_a_cycle_hidden_in_a_function_is_found(tmp_path: Path) -> None:
    _tree(
        tmp_path / "pkg",
        {
            "__init__.py": "",
            "a.py": """
                def later():
                    from .b import thing  # function-local: invisible at import time
                    return thing
            """,
            "b.py": "from pkg.sub import deep\nthing = deep\n",
            "sub/__init__.py": "",
            "sub/deep.py": """
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from .. import a
            """,
            "c.py": "from . import b\n",  # imports into the cycle, not part of it
        },
    )
    modules = checker.module_files({"pkg": tmp_path / "pkg"})
    assert checker.cycles(checker.import_edges(modules), "pkg") == [
        ["pkg.a", "pkg.b", "pkg.sub.deep"]
    ]


def test_a_module_importing_itself_through_its_package_is_found(tmp_path: Path) -> None:
    _tree(tmp_path / "pkg", {"__init__.py": "from .a import x\n", "a.py": "import pkg\nx = 1\n"})
    modules = checker.module_files({"pkg": tmp_path / "pkg"})
    assert checker.cycles(checker.import_edges(modules), "pkg") == [["pkg", "pkg.a"]]


def test_an_acyclic_package_has_no_cycle(tmp_path: Path) -> None:
    _tree(
        tmp_path / "pkg",
        {
            "__init__.py": "from .a import x\nfrom .b import y\n",
            "a.py": "x = 1\n",
            "b.py": "def f():\n    from .a import x\n    return x\ny = 2\n",
        },
    )
    modules = checker.module_files({"pkg": tmp_path / "pkg"})
    assert checker.cycles(checker.import_edges(modules), "pkg") == []


def test_private_cli_imports_are_found_in_every_spelling(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "blauweknop/__init__.py": "",
            "blauweknop/_codec.py": "",
            "blauweknop/debt/__init__.py": "",
            "blauweknop/debt/_statement.py": "",
            "rodeknop_vc/__init__.py": "",
            "blauweknop_cli/__init__.py": "",
            "blauweknop_cli/main.py": """
                import blauweknop
                from blauweknop import debt, Issuer
                from blauweknop.debt import DebtStatement
                import blauweknop._codec as codec
                def run():
                    from blauweknop import _codec
                    from blauweknop.debt._statement import DebtStatement
                    from rodeknop_vc._batch import issue_batch
            """,
        },
    )
    modules = checker.module_files(
        {name: tmp_path / name for name in ("blauweknop", "rodeknop_vc", "blauweknop_cli")}
    )
    found = sorted(
        (e.line, e.target) for e in checker.private_cli_imports(checker.import_edges(modules))
    )
    assert found == [
        (5, "blauweknop._codec"),
        (7, "blauweknop._codec"),
        (8, "blauweknop.debt._statement"),
        (9, "rodeknop_vc._batch"),
    ]


# --- import-linter -------------------------------------------------------------------------

LINT_IMPORTS = Path(sysconfig.get_path("scripts")) / "lint-imports"
needs_import_linter = pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="import-linter is not installed (pip install -e '.[test]')"
)


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run the contracts of ``root``/pyproject.toml on the packages under ``root``."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{root / 'src'}:{root / 'cli'}"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@needs_import_linter
def test_the_import_linter_contracts_are_kept() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@needs_import_linter
@pytest.mark.parametrize(
    ("file", "line", "expected"),
    [
        # The CLI reaching past the facade.
        (
            "cli/blauweknop_cli/_batch.py",
            "from blauweknop._codec import parse_json as _p",
            "blauweknop_cli._batch -> blauweknop._codec",
        ),
        (
            "cli/blauweknop_cli/_batch.py",
            "def _f() -> None:\n    from rodeknop_vc import _batch",
            "blauweknop_cli._batch -> rodeknop_vc._batch",
        ),
        # Core importing a recipe, inside a function.
        (
            "src/blauweknop/_keys.py",
            "def _f() -> None:\n    from ._issuer import Issuer",
            "blauweknop._keys is not allowed to import blauweknop._issuer",
        ),
        # Core importing the domain.
        (
            "src/blauweknop/_trust.py",
            "from .debt import DebtStatement",
            "blauweknop._trust is not allowed to import blauweknop.debt",
        ),
        # The library importing the Rode Knop package.
        (
            "src/blauweknop/_codec.py",
            "import rodeknop_vc",
            "blauweknop is not allowed to import rodeknop_vc",
        ),
        # A new module that no layer names.
        ("src/blauweknop/_unplaced.py", "", "- blauweknop._unplaced"),
    ],
)
def test_an_import_across_the_layers_breaks_a_contract(
    tmp_path: Path, file: str, line: str, expected: str
) -> None:
    for folder in ("src", "cli"):
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / file
    text = target.read_text("utf-8") if target.exists() else ""
    target.write_text(text + "\n" + line + "\n", encoding="utf-8")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert expected in result.stdout, result.stdout
