"""The documentation site builds with warnings as errors, as ``make docs`` does.

Needs the ``docs`` extra (the ``test`` extra includes it, and ``make docs`` installs it); without
it the build tests are skipped, the checks of ``mkdocs.yml`` still run.

The built site is also read for the defects a reader saw on the API pages: Sphinx roles shown as
literal text, ``Example:`` sections turned into admonitions, ``>>> # ...`` lines turned into
headings (and table-of-contents entries), and pointers to files that are not in the repository.
``docs/_hooks/griffe_docstrings.py`` fixes the first three when the site is built.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROLE_RE = re.compile(r":(?:py:)?(?:class|func|meth|attr|exc|data|mod|obj):`")
#: Documents that are not in the repository (they were cited by docstrings once).
ABSENT_DOCS = re.compile(r"DESIGN\.md|DESIGN §|SECURITY\.md|SECURITY-BATTERY")


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
        ("api/arrangement.md", "blauweknop.arrangement"),
        ("api/area.md", "blauweknop.area"),
        ("api/debt.md", "blauweknop.debt"),
        ("api/files.md", "blauweknop.files"),
        ("api/oid4vci.md", "blauweknop.oid4vci"),
        ("api/oid4vp.md", "blauweknop.oid4vp"),
        ("api/rodeknop_vc.md", "rodeknop_vc"),
    ):
        assert f"::: {module}\n" in (ROOT / "docs" / page).read_text("utf-8"), page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once for this module with warnings as errors."""
    for mod in ("mkdocs", "material", "mkdocstrings_handlers.python", "mkdocs_click"):
        pytest.importorskip(mod, reason="the docs extra is not installed (make docs installs it)")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    p = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    return out


def test_site_builds_strictly(site: Path) -> None:
    # The hook put the specifications into the site, and the CLI and API pages are generated.
    assert (site / "specs" / "error-codes" / "index.html").is_file()
    cli = (site / "cli" / "index.html").read_text("utf-8")
    for command in ("blauweknop trust build", "blauweknop wallet present", "rodeknop issue"):
        assert command in cli, command
    api = (site / "api" / "blauweknop" / "index.html").read_text("utf-8")
    for name in ("blauweknop.Verifier", "blauweknop.Wallet", "blauweknop.Issuer"):
        assert f'id="{name}"' in api, name


def _text(html: str) -> str:
    """The visible text of a page (tags, scripts and styles removed)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", "", html)


def _api_pages(site: Path) -> list[Path]:
    pages = sorted((site / "api").glob("*/index.html"))
    assert len(pages) == 8, pages
    return pages


def test_api_pages_render_docstrings_as_meant(site: Path) -> None:
    for page in _api_pages(site):
        html = page.read_text("utf-8")
        name = page.parent.name
        # Roles are links or code, never literal text.
        assert not ROLE_RE.search(_text(html)), f"{name}: {ROLE_RE.search(_text(html))}"
        # "Example:" is an examples section (code), not a collapsible admonition titled Example.
        assert not re.search(r'<details class="example', html), name
        assert not re.search(r"<summary>\s*Example", html), name
        assert "Examples:" in _text(html), f"{name}: the examples sections are shown"
        # Every heading is an API object's (or the page title): none from a ">>> # ..." line.
        for level, attrs in re.findall(r"<h([1-6])\b([^>]*)>", html):
            if level != "1":
                assert "doc-heading" in attrs, f"{name}: heading h{level}{attrs} from prose"
        # ... and so every entry of the page's table of contents names an API object.
        toc = html[html.index("md-nav--secondary") :]
        toc = toc[: toc.index("</nav>")]
        for anchor in re.findall(r'href="#([^"]*)"', toc):
            assert re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*", anchor), f"{name}: {anchor}"
    # The cross-references resolve to the objects' headings, also across pages.
    main = (site / "api" / "blauweknop" / "index.html").read_text("utf-8")
    assert re.search(r'<a[^>]+href="#blauweknop\.Issuer"[^>]*>\s*<code>Issuer</code>', main)
    rk = (site / "api" / "rodeknop_vc" / "index.html").read_text("utf-8")
    assert re.search(r'href="\.\./blauweknop/#blauweknop\.Verifier"', rk)


def test_site_cites_only_documents_in_the_repository(site: Path) -> None:
    for page in site.rglob("*.html"):
        m = ABSENT_DOCS.search(_text(page.read_text("utf-8")))
        assert m is None, f"{page.relative_to(site)}: cites {m.group(0)}, not in the repository"


def test_source_cites_only_documents_in_the_repository() -> None:
    for path in [*(ROOT / "src").rglob("*.py"), *(ROOT / "cli").rglob("*.py")]:
        m = ABSENT_DOCS.search(path.read_text("utf-8"))
        assert m is None, f"{path.relative_to(ROOT)}: cites {m.group(0)}, not in the repository"


def _extension() -> ModuleType:
    path = ROOT / "docs" / "_hooks" / "griffe_docstrings.py"
    pytest.importorskip("griffe", reason="the docs extra is not installed")
    spec = importlib.util.spec_from_file_location("griffe_docstrings", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docstring_rewrite() -> None:
    ext = _extension()
    public = ext._public_names()
    assert public["Issuer"] == "blauweknop.Issuer"
    assert public["hold_decision"] == "rodeknop_vc.hold_decision"
    assert public["DebtStatement"] == "blauweknop.debt.DebtStatement"
    got = ext.rewrite(
        "Intro.\n\n    Example:\n        >>> # a comment\n"
        "Use :class:`Issuer`, :meth:`Wallet.present`, :func:`~rodeknop_vc.hold_decision`,\n"
        ":class:`~blauweknop.MalformedError`, :mod:`blauweknop.debt`, :class:`_Private`,\n"
        ":meth:`Wallet.no_such_method` and :class:`blauweknop._wallet.Wallet`.",
        public,
    )
    assert "    Examples:\n        >>> # a comment" in got
    assert "[`Issuer`][blauweknop.Issuer]" in got
    assert "[`Wallet.present()`][blauweknop.Wallet.present]" in got
    assert "[`hold_decision()`][rodeknop_vc.hold_decision]" in got
    assert "[`MalformedError`][blauweknop.MalformedError]" in got
    # No heading to point at: code, not a link (a dangling link fails the strict build).
    assert "`blauweknop.debt`" in got and "[`blauweknop.debt`]" not in got
    assert "`_Private`" in got and "`Wallet.no_such_method()`" in got
    assert "`blauweknop._wallet.Wallet`" in got and "][" not in got.split("no_such_method")[1]
    assert not ROLE_RE.search(got)
