"""The documentation site builds with warnings as errors, as ``make docs`` does.

Needs the ``docs`` extra (``pip install -e '.[docs]'``, which ``make docs`` does); without it
the build test is skipped, the checks of ``mkdocs.yml`` still run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _nav_pages(text: str) -> set[str]:
    return set(re.findall(r":\s*([\w/.-]+\.md)\s*$", text, flags=re.MULTILINE))


def test_every_docs_page_is_in_the_nav() -> None:
    nav = _nav_pages((ROOT / "mkdocs.yml").read_text("utf-8"))
    pages = {
        p.relative_to(ROOT / "docs").as_posix()
        for p in (ROOT / "docs").rglob("*.md")
        if "_hooks" not in p.parts
    }
    assert pages - nav == set(), "pages missing from the nav in mkdocs.yml"
    assert nav - pages <= {"security.md"}, "nav entries without a page"


def test_api_reference_covers_the_public_facades() -> None:
    for page, module in (
        ("api/blauweknop.md", "blauweknop"),
        ("api/debt.md", "blauweknop.debt"),
        ("api/rodeknop_vc.md", "rodeknop_vc"),
    ):
        assert f"::: {module}\n" in (ROOT / "docs" / page).read_text("utf-8"), page


def test_site_builds_strictly(tmp_path: Path) -> None:
    for mod in ("mkdocs", "material", "mkdocstrings_handlers.python", "mkdocs_click"):
        pytest.importorskip(mod, reason="the docs extra is not installed (make docs installs it)")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    p = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    site = tmp_path / "site"
    # The hook put the specifications into the site, and the CLI and API pages are generated.
    assert (site / "specs" / "error-codes" / "index.html").is_file()
    cli = (site / "cli" / "index.html").read_text("utf-8")
    for command in ("blauweknop trust build", "blauweknop wallet present", "rodeknop issue"):
        assert command in cli, command
    api = (site / "api" / "blauweknop" / "index.html").read_text("utf-8")
    for name in ("blauweknop.Verifier", "blauweknop.Wallet", "blauweknop.Issuer"):
        assert f'id="{name}"' in api, name
