"""A compiled yes/no check for the profiles' JSON Schemas: the fast path of
:meth:`CredentialProfile.check_received <blauweknop._profile.CredentialProfile.check_received>`.

``jsonschema`` walks a schema through its generic machinery (reference resolution, error
objects) for every claim of every credential verified; most of a verification's non-crypto
time went there. :func:`compile_schema` turns the subset of JSON Schema 2020-12 the bundled
profiles use into nested closures that only answer "is there any problem?". When the answer
is yes, or when a schema uses anything outside the subset (then :func:`compile_schema`
returns ``None``), the caller asks ``jsonschema`` for the problem and its words, so messages
never come from here. ``tests/property/test_schema_fast.py`` checks the answer against
``jsonschema`` on generated claims.

Example:
    >>> check = compile_schema({"type": "object", "required": ["a"],
    ...                         "properties": {"a": {"type": "integer", "minimum": 0}}})
    >>> check({"a": 1}), check({"a": -1}), check({})
    (True, False, False)
    >>> check({}, lambda path, missing: True)  # a missing claim the caller allows
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["MayBeAbsent", "SchemaCheck", "compile_schema"]

#: ``may_be_absent(path, name)``: whether the claim ``name`` of the object at ``path`` may be
#: missing (a partial, selectively disclosed document).
MayBeAbsent = Callable[[tuple[str | int, ...], str], bool]
#: ``check(instance, may_be_absent=None) -> bool``: ``True`` when there is no problem.
SchemaCheck = Callable[..., bool]

_Node = Callable[[Any, list[str | int], "MayBeAbsent | None"], bool]

_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples"})


class _Unsupported(Exception):
    pass


def _is_int(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and v.is_integer())


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_int,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _equal(a: Any, b: Any) -> bool:
    """JSON equality as JSON Schema means it: ``true`` is not ``1``, ``1.0`` is ``1``."""
    if a is b:
        return True
    if isinstance(a, str) or isinstance(b, str):
        return bool(a == b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, Sequence | Mapping) or isinstance(b, Sequence | Mapping):
        return False
    return bool(a == b)


def compile_schema(schema: Mapping[str, Any] | bool, *, formats: Any = None) -> SchemaCheck | None:
    """A fast ``check(instance, may_be_absent=None) -> bool`` for ``schema``, or ``None`` when
    it uses a keyword outside the supported subset (``$ref`` to local ``$defs``, ``type``,
    ``properties``, ``required``, ``additionalProperties``, ``enum``, ``const``, ``pattern``,
    ``format`` (through ``formats``, a ``jsonschema.FormatChecker``), ``minimum``,
    ``maximum``, ``minLength``, ``maxLength``, ``items``, ``minItems``, ``maxItems``,
    ``uniqueItems``, ``minProperties``, ``maxProperties``).

    ``may_be_absent`` relaxes ``required`` like the partial check of a presentation: a
    missing claim is no problem when it says so.
    """
    root = schema
    defs = schema.get("$defs", {}) if isinstance(schema, Mapping) else {}
    compiled: dict[str, _Node] = {}

    def ref(target: str) -> _Node:
        prefix = "#/$defs/"
        if not target.startswith(prefix) or target[len(prefix) :] not in defs:
            raise _Unsupported(target)
        name = target[len(prefix) :]
        if name not in compiled:
            holder: list[_Node] = []
            compiled[name] = lambda v, p, m: holder[0](v, p, m)  # recursion through a cell
            holder.append(build(defs[name]))
        return compiled[name]

    def build(s: Any) -> _Node:
        if s is True:
            return lambda v, p, m: True
        if s is False:
            return lambda v, p, m: False
        if not isinstance(s, Mapping):
            raise _Unsupported("schema")
        checks: list[_Node] = []
        for kw, val in s.items():
            if kw in _ANNOTATIONS or kw == "$defs":
                if kw == "$defs" and s is not root:
                    raise _Unsupported("nested $defs")
                continue
            checks.append(keyword(kw, val, s))
        if not checks:
            return lambda v, p, m: True
        if len(checks) == 1:
            return checks[0]
        if len(checks) == 2:
            a, b = checks
            return lambda v, p, m: a(v, p, m) and b(v, p, m)
        t = tuple(checks)

        def every(v: Any, p: list[str | int], m: MayBeAbsent | None) -> bool:
            for c in t:  # noqa: SIM110 - a loop, not all() over a generator: runs per node
                if not c(v, p, m):
                    return False
            return True

        return every

    def keyword(kw: str, val: Any, s: Mapping[str, Any]) -> _Node:
        if kw == "$ref":
            if not isinstance(val, str):
                raise _Unsupported(kw)
            return ref(val)
        if kw == "type":
            names = [val] if isinstance(val, str) else val
            if not isinstance(names, list) or not all(n in _TYPES for n in names):
                raise _Unsupported(kw)
            tests = tuple(_TYPES[n] for n in names)
            if len(tests) == 1:
                one = tests[0]
                return lambda v, p, m: one(v)
            return lambda v, p, m: any(t(v) for t in tests)
        if kw == "properties":
            if not isinstance(val, Mapping):
                raise _Unsupported(kw)
            props = {k: build(sub) for k, sub in val.items()}

            def properties(v: Any, p: list[str | int], m: MayBeAbsent | None) -> bool:
                if not isinstance(v, dict):
                    return True
                # the verdict is a conjunction: walk whichever side is smaller (a
                # presentation discloses a few of a profile's many properties)
                if len(v) < len(props):
                    for k, item in v.items():
                        node = props.get(k)
                        if node is not None:
                            p.append(k)
                            ok = node(item, p, m)
                            p.pop()
                            if not ok:
                                return False
                    return True
                for k, node in props.items():
                    if k in v:
                        p.append(k)
                        ok = node(v[k], p, m)
                        p.pop()
                        if not ok:
                            return False
                return True

            return properties
        if kw == "required":
            if not isinstance(val, list) or not all(isinstance(r, str) for r in val):
                raise _Unsupported(kw)
            names_req = tuple(val)

            def required(v: Any, p: list[str | int], m: MayBeAbsent | None) -> bool:
                if not isinstance(v, dict):
                    return True
                missing = [r for r in names_req if r not in v]
                if not missing:
                    return True
                if m is None:
                    return False
                base = tuple(p)
                return all(m(base, r) for r in missing)

            return required
        if kw == "additionalProperties":
            if "patternProperties" in s:
                raise _Unsupported(kw)
            known = frozenset(s.get("properties", {}))
            if val is False:
                return lambda v, p, m: not isinstance(v, dict) or all(k in known for k in v)
            extra = build(val)

            def additional(v: Any, p: list[str | int], m: MayBeAbsent | None) -> bool:
                if not isinstance(v, dict):
                    return True
                for k, item in v.items():
                    if k not in known:
                        p.append(k)
                        ok = extra(item, p, m)
                        p.pop()
                        if not ok:
                            return False
                return True

            return additional
        if kw == "enum":
            if not isinstance(val, list):
                raise _Unsupported(kw)
            options = tuple(val)
            if all(isinstance(o, str) for o in options):
                strings = frozenset(options)
                return lambda v, p, m: isinstance(v, str) and v in strings
            return lambda v, p, m: any(_equal(v, o) for o in options)
        if kw == "const":
            return lambda v, p, m: _equal(v, val)
        if kw == "pattern":
            if not isinstance(val, str):
                raise _Unsupported(kw)
            search = re.compile(val).search
            return lambda v, p, m: not isinstance(v, str) or search(v) is not None
        if kw == "format":
            if formats is None:
                return lambda v, p, m: True  # an annotation without a checker, as in jsonschema
            conforms = formats.conforms
            return lambda v, p, m: bool(conforms(v, val))
        if kw in ("minimum", "maximum"):
            if not _is_number(val):
                raise _Unsupported(kw)
            if kw == "minimum":
                return lambda v, p, m: not _is_number(v) or not v < val
            return lambda v, p, m: not _is_number(v) or not v > val
        if kw in (
            "minLength",
            "maxLength",
            "minItems",
            "maxItems",
            "minProperties",
            "maxProperties",
        ):
            if not _is_int(val):
                raise _Unsupported(kw)
            kind = {"L": str, "I": list, "P": dict}[kw[3]]
            if kw.startswith("min"):
                return lambda v, p, m: not isinstance(v, kind) or len(v) >= val
            return lambda v, p, m: not isinstance(v, kind) or len(v) <= val
        if kw == "items":
            item = build(val)

            def items(v: Any, p: list[str | int], m: MayBeAbsent | None) -> bool:
                if not isinstance(v, list):
                    return True
                for i, x in enumerate(v):
                    p.append(i)
                    ok = item(x, p, m)
                    p.pop()
                    if not ok:
                        return False
                return True

            return items
        if kw == "uniqueItems":
            if val is not True:
                if val is False:
                    return lambda v, p, m: True
                raise _Unsupported(kw)
            return lambda v, p, m: (
                not isinstance(v, list)
                or all(not _equal(v[i], v[j]) for i in range(len(v)) for j in range(i + 1, len(v)))
            )
        raise _Unsupported(kw)

    try:
        top = build(root)
    except (_Unsupported, re.error):
        return None

    def check(instance: Any, may_be_absent: MayBeAbsent | None = None) -> bool:
        return top(instance, [], may_be_absent)

    return check
