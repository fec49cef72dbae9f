"""Griffe extension: the docstrings of ``src/`` as the API pages should show them.

The docstrings are written for readers of the code (and for ``help()``): Google style, with
Sphinx-style roles for cross-references. mkdocstrings reads them with griffe, which

* knows the section ``Examples:`` (a doctest, shown as a Python console block) but takes
  ``Example:`` for an admonition whose body is Markdown, where ``>>> # comment`` is a heading
  inside a quote (so it landed in the page's table of contents);
* shows ``:class:`Issuer``` as literal text.

This extension rewrites, before griffe parses them, ``Example:`` section titles to ``Examples:``
and every role (``:class:``, ``:func:``, ``:meth:``, ``:attr:``, ``:exc:``, ``:data:``,
``:mod:``, ``:obj:``) to Markdown: a cross-reference (``[`Issuer`][blauweknop.Issuer]``,
resolved by mkdocs-autorefs) when the target is public API documented on the site, otherwise
the name in code type. The source keeps one spelling; the site renders it properly.

Listed in ``mkdocs.yml`` under the python handler's ``extensions``.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import griffe

#: The modules whose ``__all__`` the API pages document (docs/api/*.md).
PUBLIC_MODULES = ("blauweknop", "blauweknop.debt", "rodeknop_vc")
ROLE_RE = re.compile(r":(?:py:)?(class|func|meth|attr|exc|data|mod|obj):`(?P<target>[^`]+)`")
EXAMPLE_RE = re.compile(r"^(?P<indent>[ \t]*)Example:[ \t]*$", re.MULTILINE)


def _public_names() -> dict[str, str]:
    """Short name -> the identifier its heading has on the API pages."""
    names: dict[str, str] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            names.setdefault(name, f"{module_name}.{name}")
    return names


def _resolve(target: str, public: dict[str, str]) -> str | None:
    """The site identifier of ``target`` (``Wallet.present``, ``blauweknop.Issuer``...) or None.

    Only objects that the API pages show get a link: a public name, or a public (non-underscore)
    attribute of one; anything else (private modules, modules, attributes of private classes)
    has no heading to point at.
    """
    parts = target.split(".")
    for start in range(len(parts)):
        head = parts[start]
        if head not in public:
            continue
        if parts[:start] and ".".join(parts[:start]) not in PUBLIC_MODULES:
            continue
        rest = parts[start + 1 :]
        if any(p.startswith("_") for p in rest) or len(rest) > 1:
            return None
        if rest:
            module_name, _, name = public[head].rpartition(".")
            owner = getattr(importlib.import_module(module_name), name)
            if not hasattr(owner, rest[0]):
                return None
        return ".".join([public[head], *rest])
    return None


def rewrite(text: str, public: dict[str, str]) -> str:
    """A docstring with ``Example:`` renamed and the roles turned into Markdown."""

    def role(m: re.Match[str]) -> str:
        target = m.group("target").strip()
        short = target.startswith("~")
        target = target.lstrip("~!.")
        shown = target.rsplit(".", 1)[-1] if short else target
        if m.group(1) in ("func", "meth"):
            shown += "()"
        ident = None if m.group(1) == "mod" else _resolve(target, public)
        return f"[`{shown}`][{ident}]" if ident else f"`{shown}`"

    return ROLE_RE.sub(role, EXAMPLE_RE.sub(r"\g<indent>Examples:", text))


class DocstringsForTheSite(griffe.Extension):
    """Rewrites each object's docstring as described in the module docstring."""

    def __init__(self) -> None:
        self._public = _public_names()

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value, self._public)
