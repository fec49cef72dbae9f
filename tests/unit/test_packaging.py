"""The package as a user gets it: version, license, changelog, and the wheel's contents."""

from __future__ import annotations

import email.parser
import re
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

import blauweknop
import rodeknop_vc

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
#: Distributions the library imports at run time (the wheel's Requires-Dist without an extra).
RUNTIME_IMPORTS = {"cryptography", "pyld", "click", "rich", "jsonschema", "tzdata", "jwcrypto"}
RUNTIME_IMPORTS |= {"httpx", "starlette", "uvicorn", "segno"}  # the protocol services


def test_version_comes_from_the_package_metadata() -> None:
    assert blauweknop.__version__ == version("blauweknop") == PYPROJECT["project"]["version"]
    assert rodeknop_vc.__version__ == blauweknop.__version__
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+([ab]|rc)?[0-9]*", blauweknop.__version__)


def test_license_file_is_the_eupl_1_2() -> None:
    text = (ROOT / "LICENSE").read_text("utf-8")
    assert PYPROJECT["project"]["license"] == "EUPL-1.2"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    assert "EUROPEAN UNION PUBLIC LICENCE v. 1.2" in text
    for heading in ("1. Definitions", "5. Obligations of the Licensee", "15. Applicable Law"):
        assert f"\n{heading}\n" in text, heading
    assert "Compatible Licences’ according to Article 5 EUPL are:" in text  # the appendix
    assert len(text.split()) > 2000, "the full text, not a pointer to it"


def test_changelog_names_this_version_and_an_unreleased_section() -> None:
    text = (ROOT / "CHANGELOG.md").read_text("utf-8")
    headings = re.findall(r"^## \[([^\]]+)\]", text, flags=re.MULTILINE)
    assert headings[0] == "Unreleased"
    assert PYPROJECT["project"]["version"] in headings


def test_test_only_libraries_are_not_runtime_dependencies() -> None:
    """cbor2 cross-checks our CBOR in the tests; the library does not import it, so it is in
    the ``test`` extra only (jwcrypto became a runtime dependency for OpenID4VP's JWE)."""
    runtime = {re.split(r"[<>=!~ ;\[]", d)[0].lower() for d in PYPROJECT["project"]["dependencies"]}
    assert runtime == RUNTIME_IMPORTS
    test_extra = {
        re.split(r"[<>=!~ ;\[]", d)[0].lower()
        for d in PYPROJECT["project"]["optional-dependencies"]["test"]
    }
    assert {"cbor2"} <= test_extra
    for path in [*(ROOT / "src").rglob("*.py"), *(ROOT / "cli").rglob("*.py")]:
        code = path.read_text("utf-8")
        assert not re.search(r"^\s*(import|from)\s+(cbor2)\b", code, re.MULTILINE), path


@pytest.mark.slow
def test_wheel_contents(tmp_path: Path) -> None:
    """Build the wheel as a user's ``pip install`` would (hatchling, from the test extra) and
    look inside: license, typing marker, packages, bundled contexts and profiles, metadata."""
    pytest.importorskip("hatchling", reason="the test extra installs the build backend")
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    (wheel,) = tmp_path.glob("blauweknop-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        dist_info = f"blauweknop-{blauweknop.__version__}.dist-info"
        metadata = email.parser.Parser().parsestr(z.read(f"{dist_info}/METADATA").decode())
        wheel_license = z.read(f"{dist_info}/licenses/LICENSE").decode()
        entry_points = z.read(f"{dist_info}/entry_points.txt").decode()
    assert wheel_license == (ROOT / "LICENSE").read_text("utf-8")
    for package in ("blauweknop", "rodeknop_vc"):
        assert f"{package}/py.typed" in names, package
        assert f"{package}/__init__.py" in names, package
    assert "blauweknop_cli/main.py" in names
    assert "blauweknop/debt/__init__.py" in names
    for folder in ("contexts", "profiles"):
        src = {f.name for f in (ROOT / "src" / "blauweknop" / folder).iterdir() if f.is_file()}
        inside = {n.rsplit("/", 1)[1] for n in names if n.startswith(f"blauweknop/{folder}/")}
        assert src and src <= inside, f"{folder}: missing {src - inside}"
    assert not any("__pycache__" in n or n.startswith(("tests/", "examples/")) for n in names)
    assert metadata["Version"] == blauweknop.__version__
    assert metadata["License-Expression"] == "EUPL-1.2"
    assert "Typing :: Typed" in metadata.get_all("Classifier")
    requires = metadata.get_all("Requires-Dist")
    unconditional = {
        re.split(r"[<>=!~ ;\[]", r)[0].lower() for r in requires if "extra ==" not in r
    }
    assert unconditional == RUNTIME_IMPORTS
    assert "blauweknop = blauweknop_cli.main:blauweknop" in entry_points
    assert "rodeknop = blauweknop_cli.main:rodeknop" in entry_points
