"""A compiled yes/no check for the profiles' JSON Schemas: the fast path of
:meth:`CredentialProfile.check_received <blauweknop._profile.CredentialProfile.check_received>`.

``jsonschema`` walks a schema through its generic machinery (reference resolution, error
objects) for every claim of every credential verified; most of a verification's non-crypto
time went there. :func:`compile_schema` turns the subset of JSON Schema 2020-12 the bundled
profiles use into Python source, one function for the schema (and one for each recursive or
large ``$defs`` entry; the others are written inline where they are used), compiled once,
that only answers "is there any problem?". When the answer is yes, or when a schema uses
anything outside the subset (then :func:`compile_schema` returns ``None``), the caller asks
``jsonschema`` for the problem and its words, so messages never come from here.
``tests/property/test_schema_fast.py`` checks the answer against ``jsonschema`` on generated
claims.

Nothing from a schema is written into the source as code: property names, patterns, enums,
constants and format names are bound as constants under names this module makes up
(``_c0``, ``_c1``, ...) in the generated functions' own namespace, so a property name such as
``"]) or __import__('os') #`` is only ever a dictionary key.

Example:
    >>> check = compile_schema({"type": "object", "required": ["a"],
    ...                         "properties": {"a": {"type": "integer", "minimum": 0}}})
    >>> check({"a": 1}), check({"a": -1}), check({})
    (True, False, False)
    >>> check({}, lambda path, missing: True)  # a missing claim the caller allows
    True
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jsonschema

__all__ = ["MayBeAbsent", "SchemaCheck", "compile_schema"]

#: ``may_be_absent(path, name)``: whether the claim ``name`` of the object at ``path`` may be
#: missing (a partial, selectively disclosed document).
MayBeAbsent = Callable[[tuple[str | int, ...], str], bool]
#: ``check(instance, may_be_absent=None) -> bool``: ``True`` when there is no problem.
SchemaCheck = Callable[..., bool]

_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples"})
_KEYWORDS = frozenset(
    {
        "$ref",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "enum",
        "const",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
    }
)
_DEFS = "#/$defs/"
#: a ``$defs`` entry of at most this many subschemas (its inlined references included) is
#: written inline at each use; a larger or recursive one becomes a function of its own
_INLINE_BUDGET = 40
#: deeper nesting than this many indentation levels continues in a function of its own
#: (Python limits statically nested blocks and indentation)
_MAX_INDENT = 12


class _Unsupported(Exception):
    pass


def _is_int(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and v.is_integer())


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


#: a type test on the local variable ``{x}``; the exact-type tests come first (cheapest)
_TYPE_TESTS = {
    "object": "isinstance({x}, dict)",
    "array": "isinstance({x}, list)",
    "string": "isinstance({x}, str)",
    "integer": (
        "(type({x}) is int or (isinstance({x}, float) and {x}.is_integer())"
        " or (isinstance({x}, int) and not isinstance({x}, bool)))"
    ),
    "number": (
        "(type({x}) is int or type({x}) is float"
        " or (isinstance({x}, (int, float)) and not isinstance({x}, bool)))"
    ),
    "boolean": "({x} is True or {x} is False)",
    "null": "{x} is None",
}
#: which keywords apply to which kind of value, and the kinds a ``type`` establishes
_KIND_OF_TYPE = {"object": "object", "array": "array", "string": "string"}
_KIND_OF_TYPE.update(integer="number", number="number")


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


def _in_enum(v: Any, options: tuple[Any, ...]) -> bool:
    return any(_equal(v, o) for o in options)


def _unique(v: list[Any]) -> bool:
    n = len(v)
    return all(not _equal(v[i], v[j]) for i in range(n) for j in range(i + 1, n))


def _refs(s: Any) -> set[str]:
    """Every ``$ref`` string anywhere under ``s`` (over-approximates: enum values count too)."""
    out: set[str] = set()
    stack = [s]
    while stack:
        x = stack.pop()
        if isinstance(x, Mapping):
            r = x.get("$ref")
            if isinstance(r, str):
                out.add(r)
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return out


def _size(s: Any) -> int:
    """Number of subschemas (mappings) under ``s``, ``s`` included."""
    n = 0
    stack = [s]
    while stack:
        x = stack.pop()
        if isinstance(x, Mapping):
            n += 1
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return n


class _Path:
    """Where the value a block checks sits: the enclosing function's path ``p`` (or the
    root, ``()``) and then the expressions of the keys and indices below it."""

    __slots__ = ("at_root", "parts")

    def __init__(self, at_root: bool, parts: tuple[str, ...] = ()) -> None:
        self.at_root = at_root
        self.parts = parts

    def child(self, part: str) -> _Path:
        return _Path(self.at_root, (*self.parts, part))

    def expr(self) -> str:
        if self.at_root:
            return f"({', '.join(self.parts)},)" if self.parts else "()"
        return f"(*p, {', '.join(self.parts)})" if self.parts else "p"


class _Generator:
    def __init__(self, root: Mapping[str, Any] | bool, formats: Any) -> None:
        self.root = root
        defs = root.get("$defs", {}) if isinstance(root, Mapping) else {}
        if not isinstance(defs, Mapping):
            raise _Unsupported("$defs")
        self.defs: Mapping[str, Any] = defs
        self.formats = formats
        # the checker's own table, read at each call, when its class keeps jsonschema's
        # conforms()/check() (same answer, two Python frames fewer); else conforms()
        self.format_table: Any = None
        if formats is not None:
            cls = type(formats)
            if (
                isinstance(formats, jsonschema.FormatChecker)
                and cls.conforms is jsonschema.FormatChecker.conforms
                and cls.check is jsonschema.FormatChecker.check
                and isinstance(getattr(formats, "checkers", None), dict)
            ):
                self.format_table = formats.checkers
        self.ns: dict[str, Any] = {
            "__builtins__": {
                "isinstance": isinstance,
                "type": type,
                "int": int,
                "float": float,
                "bool": bool,
                "dict": dict,
                "list": list,
                "str": str,
                "len": len,
                "enumerate": enumerate,
            },
            "_equal": _equal,
            "_in_enum": _in_enum,
            "_unique": _unique,
        }
        self.functions: list[list[str]] = []
        self.def_functions: dict[str, str] = {}
        self.inline_cost: dict[str, int | None] = {}
        self.targets: dict[str, set[str]] = {}
        self.counter = 0

    # names and constants -------------------------------------------------------------------

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"_{stem}{self.counter}"

    def const(self, value: Any) -> str:
        """A made-up global name bound to ``value``: schema data never becomes code."""
        name = self.fresh("c")
        self.ns[name] = value
        return name

    # $defs ---------------------------------------------------------------------------------

    def target(self, ref: Any) -> str:
        if not isinstance(ref, str) or not ref.startswith(_DEFS):
            raise _Unsupported("$ref")
        name = ref[len(_DEFS) :]
        if name not in self.defs:
            raise _Unsupported("$ref")
        return name

    def cost(self, name: str) -> int | None:
        """Subschemas an inline copy of ``$defs/name`` writes out, or ``None`` when it is a
        function instead (on a cycle of references, or over the budget)."""
        if name in self.inline_cost:
            return self.inline_cost[name]
        targets = self._targets(name)
        total: int | None = None
        if not any(name in self._reachable(t) for t in targets):  # not recursive
            total = _size(self.defs[name])
            for t in targets:
                sub = self.cost(t)  # terminates: no cycle leads back here
                total += 1 if sub is None else sub
            if total > _INLINE_BUDGET:
                total = None
        self.inline_cost[name] = total
        return total

    def _targets(self, name: str) -> set[str]:
        found = self.targets.get(name)
        if found is None:
            refs = _refs(self.defs[name])
            found = {r[len(_DEFS) :] for r in refs if r.startswith(_DEFS)}
            found &= set(self.defs)
            self.targets[name] = found
        return found

    def _reachable(self, start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(self._targets(n))
        return seen

    def def_function(self, name: str) -> str:
        fn = self.def_functions.get(name)
        if fn is None:
            fn = self.fresh("d")
            self.def_functions[name] = fn  # before the body: recursion calls it by name
            self.function(fn, self.defs[name])
        return fn

    # code ----------------------------------------------------------------------------------

    def function(self, fn: str, s: Any) -> None:
        lines = [f"def {fn}(v, m, p):"]
        lines += self.block(s, "v", _Path(at_root=False), 1)
        lines.append("    return True")
        self.functions.append(lines)

    def root_function(self) -> None:
        lines = [
            "def check(instance, may_be_absent=None):",
            "    v = instance",
            "    m = may_be_absent",
        ]
        lines += self.block(self.root, "v", _Path(at_root=True), 1)
        lines.append("    return True")
        self.functions.append(lines)

    def block(self, s: Any, x: str, path: _Path, depth: int) -> list[str]:
        """Lines, indented ``depth`` levels, that ``return False`` when the value in the local
        ``x`` (at ``path``) has a problem under ``s`` and fall through when it has none."""
        ind = "    " * depth
        if s is True:
            return []
        if s is False:
            return [f"{ind}return False"]
        if not isinstance(s, Mapping):
            raise _Unsupported("schema")
        for kw in s:
            if kw in _ANNOTATIONS:
                continue
            if kw == "$defs":
                if s is not self.root:
                    raise _Unsupported("nested $defs")
                continue
            if kw not in _KEYWORDS:
                raise _Unsupported(kw)
        if depth > _MAX_INDENT:
            # continue in a function of its own, called with the path so far
            fn = self.fresh("n")
            self.function(fn, s)
            return [f"{ind}if not {fn}({x}, m, {path.expr()}): return False"]
        out: list[str] = []
        kind: str | None = None  # the kind of value the type test leaves, if only one
        if "type" in s:
            val = s["type"]
            names = [val] if isinstance(val, str) else val
            if (
                not isinstance(names, list)
                or not names
                or not all(isinstance(n, str) and n in _TYPE_TESTS for n in names)
            ):
                raise _Unsupported("type")
            tests = " or ".join(_TYPE_TESTS[n].format(x=x) for n in dict.fromkeys(names))
            out.append(f"{ind}if not ({tests}): return False")
            kinds = {_KIND_OF_TYPE.get(n, n) for n in names}
            if len(kinds) == 1:
                kind = kinds.pop()
        if "$ref" in s:
            name = self.target(s["$ref"])
            if self.cost(name) is None:
                fn = self.def_function(name)
                out.append(f"{ind}if not {fn}({x}, m, {path.expr()}): return False")
            else:
                out += self.block(self.defs[name], x, path, depth)
        if "const" in s:
            val = s["const"]
            c = self.const(val)
            if val is True or val is False or val is None:
                out.append(f"{ind}if {x} is not {c}: return False")
            elif isinstance(val, str):
                out.append(f"{ind}if not ({x} == {c}): return False")
            else:
                out.append(f"{ind}if not _equal({x}, {c}): return False")
        if "enum" in s:
            val = s["enum"]
            if not isinstance(val, list):
                raise _Unsupported("enum")
            if all(isinstance(o, str) for o in val):
                c = self.const(frozenset(val))
                out.append(f"{ind}if not (isinstance({x}, str) and {x} in {c}): return False")
            else:
                c = self.const(tuple(val))
                out.append(f"{ind}if not _in_enum({x}, {c}): return False")
        for guard, body in (
            ("object", self.object_lines),
            ("array", self.array_lines),
            ("string", self.string_lines),
            ("number", self.number_lines),
        ):
            lines = body(s, x, path, depth + (kind != guard))
            if not lines or (kind is not None and kind != guard):
                continue  # nothing to check, or keywords that cannot apply to this kind
            if kind == guard:
                out += lines
            else:
                test = _TYPE_TESTS["number" if guard == "number" else guard].format(x=x)
                out.append(f"{ind}if {test}:")
                out += lines
        if "format" in s:
            out += self.format_lines(s["format"], x, ind)
        return out

    def format_lines(self, fmt: Any, x: str, ind: str) -> list[str]:
        if not isinstance(fmt, str):
            raise _Unsupported("format")
        if self.formats is None:
            return []  # an annotation without a checker, as in jsonschema
        f = self.const(fmt)
        if self.format_table is None:
            conforms = self.const(self.formats.conforms)
            return [f"{ind}if not {conforms}({x}, {f}): return False"]
        # FormatChecker.conforms() spelled out: no checker for the name is no problem; the
        # checker's declared exceptions and a falsy result are a problem
        table = self.const(self.format_table)
        e, ok = self.fresh("e"), self.fresh("ok")
        return [
            f"{ind}{e} = {table}.get({f})",
            f"{ind}if {e} is not None:",
            f"{ind}    try:",
            f"{ind}        {ok} = {e}[0]({x})",
            f"{ind}    except {e}[1]:",
            f"{ind}        return False",
            f"{ind}    if not {ok}: return False",
        ]

    def object_lines(self, s: Mapping[str, Any], x: str, path: _Path, depth: int) -> list[str]:
        ind = "    " * depth
        out: list[str] = []
        props = s.get("properties", {})
        if not isinstance(props, Mapping):
            raise _Unsupported("properties")
        req: Any = s.get("required", [])
        if not isinstance(req, list) or not all(isinstance(r, str) for r in req):
            raise _Unsupported("required")
        required = list(dict.fromkeys(req))
        if "additionalProperties" in s:
            if "patternProperties" in s:
                raise _Unsupported("additionalProperties")
            extra = s["additionalProperties"]
            known = self.const(frozenset(props))
            if extra is False:
                out.append(f"{ind}if not {known}.issuperset({x}): return False")
            elif extra is not True:
                k, y = self.fresh("k"), self.fresh("v")
                body = self.block(extra, y, path.child(k), depth + 2)
                if body:
                    out.append(f"{ind}for {k}, {y} in {x}.items():")
                    out.append(f"{ind}    if {k} not in {known}:")
                    out += body
        for kw, op in (("minProperties", "<"), ("maxProperties", ">")):
            if kw in s:
                out.append(f"{ind}if len({x}) {op} {self.count(s[kw], kw)}: return False")
        where = path.expr()
        for name in required:
            if name not in props:
                c = self.const(name)
                out.append(
                    f"{ind}if {c} not in {x} and (m is None or not m({where}, {c})): return False"
                )
        for name, sub in props.items():
            c = self.const(name)
            y = self.fresh("v")
            body = self.block(sub, y, path.child(c), depth + 1)
            if name in required:
                missing = f"m is None or not m({where}, {c})"
                if body:
                    out.append(f"{ind}if {c} in {x}:")
                    out.append(f"{ind}    {y} = {x}[{c}]")
                    out += body
                    out.append(f"{ind}elif {missing}: return False")
                else:
                    out.append(f"{ind}if {c} not in {x} and ({missing}): return False")
            elif body:
                out.append(f"{ind}if {c} in {x}:")
                out.append(f"{ind}    {y} = {x}[{c}]")
                out += body
        return out

    def array_lines(self, s: Mapping[str, Any], x: str, path: _Path, depth: int) -> list[str]:
        ind = "    " * depth
        out: list[str] = []
        for kw, op in (("minItems", "<"), ("maxItems", ">")):
            if kw in s:
                out.append(f"{ind}if len({x}) {op} {self.count(s[kw], kw)}: return False")
        if "uniqueItems" in s:
            val = s["uniqueItems"]
            if val is True:
                out.append(f"{ind}if not _unique({x}): return False")
            elif val is not False:
                raise _Unsupported("uniqueItems")
        if "items" in s:
            i, y = self.fresh("i"), self.fresh("v")
            body = self.block(s["items"], y, path.child(i), depth + 1)
            if body:
                uses_index = re.search(rf"\b{i}\b", "\n".join(body)) is not None
                head = f"{i}, {y} in enumerate({x})" if uses_index else f"{y} in {x}"
                out.append(f"{ind}for {head}:")
                out += body
        return out

    def string_lines(self, s: Mapping[str, Any], x: str, path: _Path, depth: int) -> list[str]:
        ind = "    " * depth
        out: list[str] = []
        for kw, op in (("minLength", "<"), ("maxLength", ">")):
            if kw in s:
                out.append(f"{ind}if len({x}) {op} {self.count(s[kw], kw)}: return False")
        if "pattern" in s:
            val = s["pattern"]
            if not isinstance(val, str):
                raise _Unsupported("pattern")
            search = self.const(re.compile(val).search)
            out.append(f"{ind}if {search}({x}) is None: return False")
        return out

    def number_lines(self, s: Mapping[str, Any], x: str, path: _Path, depth: int) -> list[str]:
        ind = "    " * depth
        out: list[str] = []
        for kw, op in (("minimum", "<"), ("maximum", ">")):
            if kw in s:
                val = s[kw]
                if not _is_number(val):
                    raise _Unsupported(kw)
                out.append(f"{ind}if {x} {op} {self.const(val)}: return False")
        return out

    def count(self, val: Any, kw: str) -> str:
        if not _is_int(val):
            raise _Unsupported(kw)
        return self.const(val)

    def source(self) -> str:
        self.root_function()
        return "\n\n".join("\n".join(lines) for lines in reversed(self.functions)) + "\n"


def _generate(schema: Mapping[str, Any] | bool, formats: Any) -> tuple[str, dict[str, Any]]:
    """The Python source of the check for ``schema`` and the namespace it runs in (its
    constants and helpers); raises ``_Unsupported`` or ``re.error``."""
    gen = _Generator(schema, formats)
    return gen.source(), gen.ns


@functools.lru_cache(maxsize=32)
def _compiled(source: str) -> Any:
    # the same schema gives the same source (a profile copied with dataclasses.replace)
    return compile(source, "<blauweknop schema check>", "exec")


def compile_schema(schema: Mapping[str, Any] | bool, *, formats: Any = None) -> SchemaCheck | None:
    """A fast ``check(instance, may_be_absent=None) -> bool`` for ``schema``, or ``None`` when
    it uses a keyword outside the supported subset (``$ref`` to local ``$defs``, ``type``,
    ``properties``, ``required``, ``additionalProperties``, ``enum``, ``const``, ``pattern``,
    ``format`` (through ``formats``, a ``jsonschema.FormatChecker``), ``minimum``,
    ``maximum``, ``minLength``, ``maxLength``, ``items``, ``minItems``, ``maxItems``,
    ``uniqueItems``, ``minProperties``, ``maxProperties``).

    ``may_be_absent`` relaxes ``required`` like the partial check of a presentation: a
    missing claim is no problem when it says so; it is asked only about missing required
    names, with the path of their object as a tuple of keys and indices.
    """
    try:
        source, ns = _generate(schema, formats)
        code = _compiled(source)
    except (_Unsupported, re.error, RecursionError, SyntaxError, MemoryError):
        return None
    exec(code, ns)  # noqa: S102 - our own generated source; schema data only as bound constants
    check: SchemaCheck = ns["check"]
    return check
