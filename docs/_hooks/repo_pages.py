"""MkDocs hook: publish ``specs/`` inside the site and keep every link working.

* The specifications live in ``specs/`` at the repository root (one source of truth, tested by
  ``tests/unit/test_specs_docs.py``). This hook adds them to the site under ``specs/``, with
  their JSON files, and builds the "Specifications" section of the navigation from the files
  present, so a new spec page appears without editing ``mkdocs.yml``.
* The pages under ``docs/`` link to the repository the way GitHub shows it
  (``../specs/error-codes.md``, ``../examples/wallet_app.py``). Links into ``specs/`` are
  rewritten to the site's copies; links to other repository files (code, examples, data) become
  the path in code type, since the site does not hold them.
* ``security.md`` is linked in the navigation only when ``docs/security.md`` exists.
* Fenced blocks that the specs mark as checked examples (```` ```json example=kind ````) are
  shown as plain ``json``/``csv`` blocks.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SPECS = ROOT / "specs"
SPEC_ASSETS = (".md", ".json", ".jsonld")
#: Reading order of the specifications; files not listed follow alphabetically.
SPEC_ORDER = (
    "README.md",
    "glossary.md",
    "debt-statement.md",
    "rode-knop-declaration.md",
    "trust-list.md",
    "status-lists.md",
    "dcql-requests.md",
    "rode-knop-batch.md",
    "error-codes.md",
)
LINK_RE = re.compile(r"(?<!!)\[(?P<label>[^\]\n]*)\]\((?P<target>[^)\s]+)\)")
FENCE_RE = re.compile(r"^(\s*)(`{3,}|~{3,})")
EXAMPLE_INFO_RE = re.compile(r"^(\s*(?:`{3,}|~{3,})\s*)(json|csv)\s+example=\S+\s*$")


def _spec_pages() -> list[str]:
    names = [p.name for p in SPECS.glob("*.md")]
    known = [n for n in SPEC_ORDER if n in names]
    return [f"specs/{n}" for n in known + sorted(set(names) - set(known))]


def on_config(config: Any) -> Any:
    nav = []
    for item in config["nav"] or []:
        if isinstance(item, dict) and "Specifications" in item:
            item = {"Specifications": _spec_pages()}
        if isinstance(item, dict) and "Security" in item and not (DOCS / "security.md").exists():
            continue
        nav.append(item)
    config["nav"] = nav
    return config


def on_files(files: Files, config: Any) -> Files:
    for path in sorted(SPECS.rglob("*")):
        if path.is_file() and path.suffix in SPEC_ASSETS:
            uri = "specs/" + path.relative_to(SPECS).as_posix()
            if files.get_file_from_path(uri) is None:
                files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def _source_path(src_uri: str) -> Path:
    """Where a page really lives in the repository."""
    if src_uri.startswith("specs/"):
        return SPECS / src_uri.removeprefix("specs/")
    return DOCS / src_uri


def _site_uri(target: Path) -> str | None:
    """The site's URI of a repository file, or None when the site does not hold it."""
    for base, prefix in ((SPECS, "specs/"), (DOCS, "")):
        try:
            rel = target.relative_to(base)
        except ValueError:
            continue
        if target.is_file() and (prefix or "_hooks" not in rel.parts):
            return prefix + rel.as_posix()
        return None
    return None


def _rewrite_link(m: re.Match[str], page_uri: str) -> str:
    label, target = m.group("label"), m.group("target")
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
        return m.group(0)  # external, mail, in-page anchor or site-absolute: leave alone
    path, _, anchor = target.partition("#")
    real = (_source_path(page_uri).parent / path).resolve()
    uri = _site_uri(real)
    if uri is not None:
        rel = posixpath.relpath(uri, posixpath.dirname(page_uri) or ".")
        return f"[{label}]({rel}{'#' + anchor if anchor else ''})"
    try:
        shown = real.relative_to(ROOT).as_posix() + ("/" if real.is_dir() else "")
    except ValueError:
        return label
    code = f"`{shown}`"
    return code if label.strip("`") == shown.rstrip("/") or label == code else f"{label} ({code})"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    uri = page.file.src_uri
    out: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        m = FENCE_RE.match(line)
        if fence is None and m:
            fence = m.group(2)
            ex = EXAMPLE_INFO_RE.match(line)
            out.append(ex.group(1) + ex.group(2) if ex else line)
            continue
        if fence is not None:
            if (
                m
                and m.group(2)[0] == fence[0]
                and len(m.group(2)) >= len(fence)
                and not line.strip()[len(m.group(2)) :].strip()
            ):
                fence = None
            out.append(line)
            continue
        out.append(LINK_RE.sub(lambda mm: _rewrite_link(mm, uri), line))
    return "\n".join(out)
