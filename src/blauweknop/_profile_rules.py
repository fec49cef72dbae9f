"""Helpers of :mod:`blauweknop._profile`: the claim-path rule trie, the JSON Schema format
checks (real calendar dates) and the wording of schema errors."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema

Path = tuple[str | int | None, ...]


def _generalise(path: Iterable[str | int | None]) -> Path:
    return tuple(None if isinstance(p, int) else p for p in path)


class _RuleNode:
    """The type metadata ``sd`` rules as a trie over generalised claim paths (array
    indices are ``None``): marking and checking a credential walk it alongside the claims
    instead of building and looking up a path tuple per claim."""

    __slots__ = ("always_below", "children", "rule")

    def __init__(self) -> None:
        self.rule: str | None = None
        self.children: dict[str | int | None, _RuleNode] = {}
        self.always_below = False  # some rule here or below is "always"

    @classmethod
    def build(cls, rules: Mapping[Path, str]) -> _RuleNode:
        root = cls()
        for path, rule in rules.items():
            node = root
            for elem in path:
                node = node.children.setdefault(elem, cls())
            node.rule = rule

        def mark_always(node: _RuleNode) -> bool:
            below = [mark_always(c) for c in node.children.values()]
            node.always_below = node.rule == "always" or any(below)
            return node.always_below

        mark_always(root)
        return root

    def child(self, key: Any) -> _RuleNode | None:
        """The node for one more path element, as :func:`_generalise` would see it."""
        return self.children.get(None if isinstance(key, int) else key)


_NO_RULES = _RuleNode()  # below a path no rule mentions; never modified

#: ``format`` is asserted, not just annotated: ``date`` and ``date-time`` must name a real
#: calendar day and time (the ``pattern`` beside them only checks the shape).
_FORMATS = jsonschema.FormatChecker(formats=())


def _real_date(value: object) -> bool:
    if isinstance(value, str):
        dt.date.fromisoformat(value)
    return True


def _real_datetime(value: object) -> bool:
    if isinstance(value, str):
        dt.datetime.fromisoformat(value)
    return True


_FORMATS.checks("date", raises=(ValueError, TypeError))(_real_date)
_FORMATS.checks("date-time", raises=(ValueError, TypeError))(_real_datetime)


def _describe(error: Any) -> tuple[str, str]:
    """(field, message in words) for one JSON Schema error: a ``pattern`` or ``format``
    failure says what is expected (the schema's ``description``), never the raw regex."""
    where = _dotted(error.absolute_path)
    value = error.instance
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    kind = error.validator
    if kind in ("pattern", "format"):
        expected = error.schema.get("description") or "in the expected form"
        extra = ": no such day or time" if kind == "format" else ""
        return where, f"{shown} is not {expected}{extra}"
    if kind == "required" and isinstance(value, Mapping):
        missing = [r for r in error.validator_value if r not in value]
        name = missing[0] if missing else "?"
        return _join(where, name), "missing"
    if kind == "additionalProperties" and isinstance(value, Mapping):
        known = error.schema.get("properties", {})
        extra_names = sorted(k for k in value if k not in known)
        name = extra_names[0] if extra_names else "?"
        return _join(where, name), "is not a claim of this credential type"
    msg = error.message
    return where, msg if len(msg) <= 200 else msg[:197] + "..."


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _same_name(a: str, b: str) -> bool:
    """Organisation names compare without regard to case, Unicode form or spacing."""

    def norm(s: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", s).casefold().split())

    return norm(a) == norm(b)


def _dotted(path: Iterable[Any]) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif p is None:
            out += "[*]"
        else:
            out += ("." if out else "") + str(p)
    return out
