"""JSON Pointers (RFC 6901) and JSON-LD selection (VC-DI-ECDSA 3.4.10 - 3.4.13).

Pointers are parsed strictly: they start with ``/``, ``~`` is only allowed as ``~0`` or
``~1``, and array indexes are ``0`` or digits without a leading zero. A pointer that does not
match the document raises :class:`~blauweknop.DisclosureError` (``pointer_not_found``).

Example:
    >>> doc = {"@context": ["c"], "id": "urn:x", "type": "T",
    ...        "a": {"b": [1, 2, 3]}, "c": "hidden"}
    >>> select_json_ld(["/a/b/2"], doc)
    {'@context': ['c'], 'id': 'urn:x', 'type': 'T', 'a': {'b': [3]}}
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from .._errors import DisclosureError, MalformedError

__all__ = ["parse_pointer", "select_json_ld"]

_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")
_MAX_POINTERS = 4096


def parse_pointer(pointer: str) -> list[str]:
    """Split an RFC 6901 pointer into unescaped reference tokens (VC-DI-ECDSA 3.4.10).

    >>> parse_pointer("/a~1b/~0c/0")
    ['a/b', '~c', '0']
    >>> parse_pointer("a")
    Traceback (most recent call last):
    ...
    blauweknop._errors.MalformedError: pointer_malformed: JSON pointer must start with '/': 'a'
    """
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise MalformedError("pointer_malformed", f"JSON pointer must start with '/': {pointer!r}")
    tokens = pointer[1:].split("/")
    out = []
    for t in tokens:
        if "~" in t:
            if re.search(r"~(?![01])", t):
                raise MalformedError(
                    "pointer_malformed", f"invalid escape in JSON pointer {pointer!r}"
                )
            t = t.replace("~1", "/").replace("~0", "~")
        out.append(t)
    return out


class _Sparse(dict[int, Any]):
    """A selected array under construction: index -> value, made dense at the end."""


def _step(container: Any, token: str, pointer: str) -> tuple[Any, Any]:
    """Return (key, value) of ``token`` in ``container`` or raise ``pointer_not_found``."""
    if isinstance(container, list):
        if _INDEX.match(token) and int(token) < len(container):
            return int(token), container[int(token)]
    elif isinstance(container, dict) and token in container:
        return token, container[token]
    raise DisclosureError(
        "pointer_not_found", f"JSON pointer {pointer} does not match the document"
    )


def _initial_selection(source: Any) -> dict[str, Any]:
    """VC-DI-ECDSA 3.4.11: keep a non-blank ``id`` and the ``type`` of every node on a path."""
    selection: dict[str, Any] = {}
    if isinstance(source, dict):
        ident = source.get("id")
        if isinstance(ident, str) and not ident.startswith("_:"):
            selection["id"] = ident
        if "type" in source:
            selection["type"] = copy.deepcopy(source["type"])
    return selection


def _get(container: Any, key: Any) -> Any:
    if isinstance(container, list):
        return container[key] if isinstance(key, int) and key < len(container) else None
    if isinstance(container, dict):
        return container.get(key)
    return None


def _select_paths(
    pointer: str, tokens: list[str], document: Any, selection: dict[str, Any]
) -> None:
    """VC-DI-ECDSA 3.4.12 selectPaths."""
    value: Any = document
    selected_parent: Any = selection
    selected_value: Any = selection
    key: Any = None
    for token in tokens:
        selected_parent = selected_value
        key, value = _step(value, token, pointer)
        selected_value = _get(selected_parent, key)
        if selected_value is None:
            selected_value = _Sparse() if isinstance(value, list) else _initial_selection(value)
            _put(selected_parent, key, selected_value)
    if isinstance(value, list):
        selected_value = copy.deepcopy(value)
    elif isinstance(value, dict):
        base = selected_value if isinstance(selected_value, dict) else {}
        selected_value = {**base, **copy.deepcopy(value)}
    else:
        selected_value = value
    _put(selected_parent, key, selected_value)


def _put(container: Any, key: Any, value: Any) -> None:
    container[key] = value


def _densify(value: Any) -> Any:
    if isinstance(value, _Sparse):
        return [_densify(value[k]) for k in sorted(value)]
    if isinstance(value, dict):
        return {k: _densify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_densify(v) for v in value]
    return value


def select_json_ld(pointers: Sequence[str], document: dict[str, Any]) -> dict[str, Any] | None:
    """VC-DI-ECDSA 3.4.13 selectJsonLd: the part of ``document`` the pointers select, with the
    ``id``/``type`` of every node on the way and the top-level ``@context``; ``None`` when
    ``pointers`` is empty.
    """
    if not pointers:
        return None
    if len(pointers) > _MAX_POINTERS:
        raise MalformedError("too_large", f"more than {_MAX_POINTERS} JSON pointers")
    selection: dict[str, Any] = {"@context": copy.deepcopy(document["@context"])}
    selection.update(_initial_selection(document))
    for pointer in pointers:
        _select_paths(pointer, parse_pointer(pointer), document, selection)
    result = _densify(selection)
    assert isinstance(result, dict)
    return result
