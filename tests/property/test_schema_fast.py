"""The compiled schema check (``_schema_fast``) says "no problem" exactly when ``jsonschema``
finds none, for every bundled profile, whole or partial (selectively disclosed), on the
example claims changed at random: claims removed, replaced by other JSON values (bools for
numbers, floats, near-miss dates and strings, nested objects), unknown claims added; on
instances drawn from each bundled profile's own schema; for every keyword of the subset; and
on random schemas of the subset with random instances. The generated source holds no literal
and no name but its own, whatever the schema's property names, enums or patterns are."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import re
import tokenize
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from strategies import json_values, suite_settings

from blauweknop._profile import DEBT_STATEMENT_VCT, RODE_KNOP_VCT, all_profiles, get_profile
from blauweknop._schema_fast import _generate, compile_schema

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
EXAMPLES = [
    (DEBT_STATEMENT_VCT, "debt-statement.json"),
    (DEBT_STATEMENT_VCT, "debt-statement-duo.json"),
    (RODE_KNOP_VCT, "rode-knop-declaration.json"),
]

odd_values = st.one_of(
    json_values(),
    st.integers(-3, 3),
    st.sampled_from(
        [
            True,
            False,
            0,
            1,
            -1,
            1.0,
            2.5,
            10**12,
            "",
            "EUR",
            "2026-02-30",
            "2026-02-28",
            "2026-11-20T09:00:00+01:00",
            "2026-13-20T09:00:00Z",
            "00000001003214345000",
            "999999990",
            [],
            {},
            [1, 1],
            None,
        ]
    ),
)


def _paths(v: Any, p: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [p]
    items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()
    for k, x in items:
        out += _paths(x, (*p, k))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for k in path[:-1]:
        doc = doc[k]
    return doc


@st.composite
def changed_claims(draw: st.DrawFn) -> tuple[str, Any]:
    vct, name = draw(st.sampled_from(EXAMPLES))
    doc = json.loads((DATA / name).read_text())
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        how = draw(st.sampled_from(["drop", "set", "add", "dup"]))
        if how == "drop":
            del parent[path[-1]]
        elif how == "set":
            parent[path[-1]] = draw(odd_values)
        elif how == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "name", "code", "oin", "_sd"]))] = draw(
                odd_values
            )
        elif how == "dup" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
    if draw(st.integers(0, 9)) == 0:
        doc = draw(odd_values)  # not even an object
    return vct, doc


def _reference(vct: str) -> Any:
    """The profile without its compiled check: jsonschema alone, as before."""
    ref = dataclasses.replace(get_profile(vct))
    object.__setattr__(ref, "_fast", None)
    return ref


@suite_settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=changed_claims(), partial=st.booleans())
def test_compiled_check_agrees_with_jsonschema(case: tuple[str, Any], partial: bool) -> None:
    vct, doc = case
    profile = get_profile(vct)
    assert profile._fast is not None  # the bundled schemas are all in the compiled subset
    want = _reference(vct)._first_problem(doc, partial=partial)
    assert profile._first_problem(doc, partial=partial) == want
    assert profile._fast(doc, profile._absent_ok if partial else None) == (want is None)


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"const": 1}, [1, 1.0], [True, "1", [1]]),
        ({"enum": [True, [0]]}, [True, [0], [0.0]], [1, [False], 0]),
        ({"type": "integer"}, [1, 2.0, -3], [True, 1.5, "1"]),
        ({"uniqueItems": True}, [[1, True], [[1], [True]]], [[1, 1.0], [{"a": 1}, {"a": 1}]]),
        ({"maxLength": 2}, ["ab", "\U0001f600\U0001f600", 5], ["abc"]),
        ({"minProperties": 1}, [{"a": 1}, []], [{}]),
        ({"minimum": 0, "maximum": 5}, [0, 5, 2.5, "x", True], [-1, 5.5, -0.5]),
        ({"pattern": "^a"}, ["ab", 1], ["ba", ""]),
    ],
)
def test_compiled_keywords_follow_json_schema_equality(
    schema: dict[str, Any], good: list[Any], bad: list[Any]
) -> None:
    check = compile_schema(schema)
    assert check is not None
    validator = jsonschema.Draft202012Validator(schema)
    for v in good:
        assert check(v) and validator.is_valid(v), v
    for v in bad:
        assert not check(v) and not validator.is_valid(v), v


def test_a_schema_outside_the_subset_is_left_to_jsonschema() -> None:
    assert compile_schema({"oneOf": [{"type": "string"}]}) is None
    assert compile_schema({"$ref": "https://example.org/other.json"}) is None
    assert compile_schema({"properties": {"a": {"patternProperties": {}}}}) is None


# Every keyword of the subset, alone and in the combinations the generator treats apart ---------

_DATES = jsonschema.FormatChecker(formats=("date",))  # jsonschema's own checker, for "date"


class _WordyChecker(jsonschema.FormatChecker):
    """A checker whose ``conforms`` is its own: the compiled check must go through it."""

    def __init__(self) -> None:
        super().__init__(formats=())
        self.asked: list[tuple[Any, str]] = []

    def conforms(self, instance: object, format: str) -> bool:  # noqa: A002
        self.asked.append((instance, format))
        return instance != "refused"


_KEYWORD_CASES: list[tuple[dict[str, Any], list[Any], list[Any]]] = [
    ({"type": "object"}, [{}, {"a": 1}], [[], "x", None, 1]),
    ({"type": "array"}, [[], [1]], [{}, "x", (1,)]),
    ({"type": "string"}, ["", "x"], [1, None, b"x"]),
    ({"type": "integer"}, [0, -1, 2.0, 10**30], [True, False, 1.5, float("inf"), "1", None]),
    ({"type": "number"}, [0, 1.5, -2, 10**30], [True, "1", None, [1]]),
    ({"type": "boolean"}, [True, False], [0, 1, "true", None]),
    ({"type": "null"}, [None], [0, False, "", []]),
    ({"type": ["string", "null"]}, ["x", None], [0, False, []]),
    ({"type": ["integer", "boolean"]}, [1, True, 3.0], [1.5, "1"]),
    ({"type": ["object", "array"], "minItems": 1, "minProperties": 1}, [[1], {"a": 1}], [[], {}]),
    ({"properties": {"a": {"type": "string"}}}, [{}, {"a": "x"}, {"b": 1}, 5], [{"a": 1}]),
    ({"required": ["a", "b"]}, [{"a": 1, "b": 2}, [], "x"], [{"a": 1}, {}]),
    ({"required": ["a", "a"], "properties": {"a": True}}, [{"a": 1}], [{"b": 1}]),
    ({"required": ["a"], "properties": {"a": {"const": 1}}}, [{"a": 1.0}], [{"a": 2}, {}]),
    (
        {"properties": {"a": {}}, "additionalProperties": False},
        [{}, {"a": [1]}, "not an object"],
        [{"b": 1}, {"a": 1, "": 2}],
    ),
    (
        {"properties": {"a": {}}, "additionalProperties": {"type": "integer"}},
        [{"a": "x", "b": 1}, {}],
        [{"b": "x"}, {"a": 1, "c": 1.5}],
    ),
    ({"additionalProperties": True}, [{"a": 1}], []),
    ({"additionalProperties": {"required": ["x"]}}, [{}, {"a": {"x": 1}}, {"a": 1}], [{"a": {}}]),
    ({"enum": ["a", "b"]}, ["a", "b"], ["c", 1, None, ["a"]]),
    ({"enum": [1, None, {"a": [1]}]}, [1, 1.0, None, {"a": [1.0]}], [True, False, {"a": [True]}]),
    ({"enum": []}, [], [1, "a", None]),
    ({"const": "x"}, ["x"], ["y", 1, ["x"]]),
    ({"const": True}, [True], [1, 1.0, "true"]),
    ({"const": False}, [False], [0, 0.0, None]),
    ({"const": None}, [None], [False, 0, "", []]),
    ({"const": 0}, [0, 0.0, -0.0], [False, None, "0"]),
    ({"const": [1, {"b": False}]}, [[1.0, {"b": False}]], [[True, {"b": False}], [1, {"b": 0}]]),
    ({"const": {}}, [{}], [[], None, {"a": 1}]),
    ({"pattern": "^[0-9]{2}$"}, ["12", 12, None], ["1", "123", "ab"]),
    ({"pattern": "b"}, ["abc", "b"], ["ac", ""]),
    ({"format": "date"}, ["2026-02-28", 5, None], ["2026-02-30", "x"]),
    ({"format": "no-such-format"}, ["anything", 1], []),
    ({"minimum": 1}, [1, 1.0, 2, "0", None, False], [0, 0.5, -1]),
    ({"maximum": 1.5}, [1.5, 1, "9", True], [2, 1.6]),
    ({"minLength": 2}, ["ab", 1, ["a"]], ["a", ""]),
    ({"maxLength": 1}, ["", "\U0001f600", 12], ["ab"]),
    ({"minLength": 2.0}, ["ab"], ["a"]),
    ({"minItems": 1}, [[0], "x", {}], [[]]),
    ({"maxItems": 1}, [[], [0], {"a": 1, "b": 2}], [[0, 1]]),
    ({"minProperties": 2}, [{"a": 1, "b": 2}, [1]], [{}, {"a": 1}]),
    ({"maxProperties": 0}, [{}, [1, 2]], [{"a": None}]),
    ({"uniqueItems": True}, [[], [1, "1", True], [{"a": 1}, {"a": 2}]], [[1, 1.0], [[0], [0]]]),
    ({"uniqueItems": False}, [[1, 1]], []),
    ({"items": {"type": "integer"}}, [[], [1, 2.0], "x"], [[1, "2"], [True]]),
    ({"items": False}, [[], {"a": 1}], [[1]]),
    ({"items": {"items": {"items": {"const": 1}}}}, [[[[1]]], [[]]], [[[[2]]], [[[1, 0]]]]),
    (True, [1, None, {}], []),
    (False, [], [1, None, {}]),
    ({}, [1, "x", None], []),
    ({"$defs": {"t": {"type": "string"}}, "$ref": "#/$defs/t"}, ["x"], [1]),
    (
        {
            "$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}},
            "$ref": "#/$defs/node",
        },
        [{}, {"next": {"next": {}}}],
        [{"next": {"next": 1}}, []],
    ),
    (
        {
            "$defs": {
                "even": {"type": "array", "items": {"$ref": "#/$defs/odd"}},
                "odd": {"type": "array", "items": {"$ref": "#/$defs/even"}, "minItems": 1},
            },
            "$ref": "#/$defs/even",
        },
        [[], [[[]]], [[[], []]]],
        [[[]], [1], [[[[]]]]],
    ),
    (
        {"$comment": "c", "title": "t", "description": "d", "examples": [1], "$id": "urn:x"},
        [1, "x"],
        [],
    ),
]


def _deep(n: int) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "integer"}
    for _ in range(n):
        s = {"type": "object", "required": ["a"], "properties": {"a": {"items": s}}}
    return s


def _nested(n: int, leaf: Any) -> Any:
    v = leaf
    for _ in range(n):
        v = {"a": [v]}
    return v


_KEYWORD_CASES.append(
    (_deep(30), [_nested(30, 1), _nested(10, {"a": []})], [_nested(30, "1"), _nested(12, {})])
)


@pytest.mark.parametrize(("schema", "good", "bad"), _KEYWORD_CASES)
def test_every_keyword_of_the_subset_agrees_with_jsonschema(
    schema: Any, good: list[Any], bad: list[Any]
) -> None:
    check = compile_schema(schema, formats=_DATES)
    assert check is not None
    validator = jsonschema.Draft202012Validator(schema, format_checker=_DATES)
    for v in good:
        assert validator.is_valid(v), v  # the case itself is right
        assert check(v) is True, v
    for v in bad:
        assert not validator.is_valid(v), v
        assert check(v) is False, v


def test_format_goes_through_the_given_checker_only() -> None:
    schema = {"type": "string", "format": "date"}
    assert compile_schema(schema)("2026-02-30") is True  # no checker: an annotation
    wordy = _WordyChecker()
    check = compile_schema(schema, formats=wordy)
    assert check is not None
    assert check("2026-02-30") is True  # this checker knows no dates ...
    assert check("refused") is False  # ... and refuses what it refuses
    assert check(1) is False  # the type test runs first: the checker is not asked
    assert wordy.asked == [("2026-02-30", "date"), ("refused", "date")]
    # a jsonschema.FormatChecker: a format registered after compiling counts too
    late = jsonschema.FormatChecker(formats=())
    check = compile_schema({"format": "late"}, formats=late)
    assert check is not None and check("x") is True
    late.checks("late", raises=ValueError)(lambda v: int(v) > 0)
    assert check("1") is True
    assert check("-1") is False  # falsy result
    assert check("x") is False  # the declared exception
    late.checks("late")(lambda v: int(v) > 0)  # no exception declared: it escapes, as there
    with pytest.raises(ValueError):
        check("x")


def test_may_be_absent_is_asked_only_about_missing_required_names_with_the_path() -> None:
    schema = {
        "type": "object",
        "required": ["a", "b"],
        "properties": {
            "a": {
                "type": "array",
                "items": {"required": ["x", "y"], "properties": {"y": {"type": "integer"}}},
            },
            "c": {"additionalProperties": {"required": ["z"]}},
        },
        "$defs": {},
    }
    check = compile_schema(schema)
    assert check is not None
    asked: list[tuple[tuple[Any, ...], str]] = []

    def allow(path: tuple[Any, ...], name: str) -> bool:
        asked.append((path, name))
        return name != "y"

    doc = {"a": [{"x": 1, "y": 2}, {"y": 3}, {"x": 1}], "c": {"k\n'": {"z": 1}, "q": {}}}
    assert check(doc, allow) is False  # ("a", 2) lacks "y", which must be there
    assert ("a", 2) in {p for p, n in asked if n == "y"}
    asked.clear()
    del doc["a"][2]
    assert check(doc, allow) is True
    assert sorted(asked, key=repr) == sorted(
        [((), "b"), (("a", 1), "x"), (("c", "q"), "z")], key=repr
    )
    assert all(type(p) is tuple for p, _ in asked)
    assert check(doc) is False  # without may_be_absent a missing name is a problem


def _deep_required(n: int) -> dict[str, Any]:
    s: dict[str, Any] = {"required": ["id"]}
    for _ in range(n):
        s = {"required": ["id"], "properties": {"kids": {"items": s}}}
    return s


def _nested_required(n: int, leaf: Any) -> Any:
    v = leaf
    for i in range(n):
        v = {"kids": [v]} if i % 3 else {"id": i, "kids": [v]}
    return v


@pytest.mark.parametrize(
    "schema",
    [
        # through a recursive $defs entry (a function of its own, given the path so far)
        {
            "$defs": {
                "node": {
                    "required": ["id", "kids"],
                    "properties": {"kids": {"items": {"$ref": "#/$defs/node"}}},
                }
            },
            "properties": {"root": {"items": {"$ref": "#/$defs/node"}}},
        },
        # nested deeper than one function writes out
        _deep_required(20),
    ],
)
def test_may_be_absent_gets_the_path_through_functions_of_their_own(schema: Any) -> None:
    check = compile_schema(schema)
    assert check is not None
    assert _generate(schema, None)[0].count("def ") > 1  # more than the one function
    validator = jsonschema.Draft202012Validator(schema)
    doc: Any = {"root": [{"id": 1, "kids": [{"kids": []}, {"id": 2, "kids": [{"id": 3}]}]}]}
    if "$defs" not in schema:
        doc = {"kids": [_nested_required(19, {"kids": []})]}
    asked: list[tuple[tuple[Any, ...], str]] = []

    def allow(path: tuple[Any, ...], name: str) -> bool:
        asked.append((path, name))
        return True

    assert check(doc, allow) is True
    assert check(doc) is False
    want = _missing_required(validator, doc)
    assert want  # the document does lack names
    assert set(asked) == want


@pytest.mark.parametrize(
    "schema",
    [
        {"oneOf": [{"type": "string"}]},
        {"$ref": "https://example.org/other.json"},
        {"$ref": "#/$defs/missing", "$defs": {}},
        {"$ref": "#/definitions/a", "definitions": {"a": {}}},
        {"$ref": 1},
        {"properties": {"a": {"$defs": {"b": {}}}}},
        {"$defs": []},
        {"type": "float"},
        {"type": []},
        {"type": 1},
        {"enum": "ab"},
        {"pattern": "("},
        {"pattern": 1},
        {"format": 1},
        {"minimum": "1"},
        {"maximum": True},
        {"minLength": 1.5},
        {"maxItems": "1"},
        {"uniqueItems": 1},
        {"required": "a"},
        {"required": [1]},
        {"properties": []},
        {"items": [{}]},
        {"items": 1},
        {"additionalProperties": False, "patternProperties": {}},
        {"prefixItems": [{}]},
        {"dependentRequired": {}},
        "a schema",
    ],
)
def test_a_keyword_or_value_outside_the_subset_gives_none(schema: Any) -> None:
    assert compile_schema(schema) is None


# No injection: schema data is only ever data -----------------------------------------------------

_HOSTILE = [
    '"',
    "'",
    "\\",
    "\n",
    "\r\n",
    "\x00",
    "\u2028",
    "a'b\"c",
    '"""',
    "'''",
    "__import__('os').system('false')",
    "'); __import__('os').system('false'); ('",
    '"]) or __import__("os") #',
    "\\'; raise SystemExit #",
    "{x}",
    "}{",
    "# comment",
    "v",
    "m",
    "p",
    "check",
    "_c1",
    "_v2",
    "True",
    "None",
    "return False",
    "\tif 1:\n\t\treturn True",
    "",
]
_ALLOWED_NAMES = frozenset(
    {
        "def",
        "return",
        "if",
        "elif",
        "not",
        "and",
        "or",
        "is",
        "in",
        "for",
        "try",
        "except",
        "True",
        "False",
        "None",
        "check",
        "instance",
        "may_be_absent",
        "v",
        "m",
        "p",
        "isinstance",
        "type",
        "int",
        "float",
        "bool",
        "dict",
        "list",
        "str",
        "len",
        "enumerate",
        "_equal",
        "_in_enum",
        "_unique",
        "issuperset",
        "items",
        "get",
        "is_integer",
    }
)
_MADE_UP = re.compile(r"_[a-z]+[0-9]+")


def _assert_only_our_tokens(source: str) -> None:
    """The generated source holds no literal (no string, no number but 0 and 1 as indices) and
    no name a schema could have put there: every name is ours."""
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING:
            raise AssertionError(f"a string literal in the generated source: {tok.string}")
        if tok.type == tokenize.NUMBER:
            assert tok.string in ("0", "1"), tok.string
        if tok.type == tokenize.NAME:
            assert tok.string in _ALLOWED_NAMES or _MADE_UP.fullmatch(tok.string), tok.string
        if tok.type == tokenize.COMMENT:
            raise AssertionError(f"a comment in the generated source: {tok.string}")
    for ch in ("'", '"', "\\", "#", "\x00"):
        assert ch not in source


def _hostile_schema() -> dict[str, Any]:
    props = {name: {"type": "string", "pattern": "^" + re.escape(name)} for name in _HOSTILE}
    return {
        "$defs": {name: {"const": name} for name in _HOSTILE},
        "type": "object",
        "additionalProperties": False,
        "required": _HOSTILE[:6],
        "properties": {
            **props,
            "__class__": {"$ref": "#/$defs/" + _HOSTILE[11]},
            "e": {"enum": _HOSTILE},
            "f": {"format": _HOSTILE[12]},
            "g": {"additionalProperties": {"enum": [_HOSTILE[0], {"'": "\\"}]}},
        },
    }


def test_hostile_property_names_stay_data() -> None:
    schema = _hostile_schema()
    source, _ = _generate(schema, _DATES)
    _assert_only_our_tokens(source)
    check = compile_schema(schema, formats=_DATES)
    assert check is not None
    validator = jsonschema.Draft202012Validator(schema, format_checker=_DATES)
    good: dict[str, Any] = {name: name + "tail" for name in _HOSTILE}
    good.update({"__class__": _HOSTILE[11], "e": _HOSTILE[10], "f": "x", "g": {"k": {"'": "\\"}}})
    assert validator.is_valid(good) and check(good) is True
    for key, value in [
        (_HOSTILE[3], "no"),  # a pattern that does not match
        (_HOSTILE[10], 1),  # not a string
        ("__class__", "other"),  # the $ref's const
        ("e", "x"),
        ("g", {"k": "'"}),
        ("unknown", 1),  # additionalProperties false
    ]:
        bad = {**good, key: value}
        assert not validator.is_valid(bad) and check(bad) is False, key
    bad = {k: v for k, v in good.items() if k != _HOSTILE[2]}
    assert not validator.is_valid(bad) and check(bad) is False
    assert check(bad, lambda path, name: path == () and name == _HOSTILE[2]) is True


# Random schemas of the subset, random instances --------------------------------------------------

_NAMES = ["a", "b", "", "c d", "'", '"', "\\", "\n", "__import__('os')", "_c1", "v", "p"]
_DEF_NAMES = ["x", "y", "it's"]


def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(
            [
                None,
                True,
                False,
                0,
                1,
                -1,
                1.0,
                2.5,
                10**20,
                "",
                "a",
                "ab",
                "12",
                "2026-02-28",
                "2026-02-30",
                "'",
                *_NAMES,
            ]
        ),
        st.integers(-5, 5),
        st.floats(-5, 5, allow_nan=False).map(lambda f: round(f, 1)),
        st.text(alphabet="ab1'\\\"", max_size=4),
    )


def _instances() -> st.SearchStrategy[Any]:
    return st.recursive(
        _scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(_NAMES), inner, max_size=5)
        ),
        max_leaves=16,
    )


def _leaf_keywords() -> st.SearchStrategy[dict[str, Any]]:
    small = st.integers(0, 3)
    number = st.one_of(st.integers(-2, 3), st.sampled_from([0.5, 1.0, 2.5]))
    types = st.sampled_from(["object", "array", "string", "integer", "number", "boolean", "null"])
    return st.fixed_dictionaries(
        {},
        optional={
            "type": st.one_of(types, st.lists(types, min_size=1, max_size=3)),
            "enum": st.lists(_scalars(), max_size=4),
            "const": st.one_of(_scalars(), st.just([1, {"a": True}]), st.just({"a": 1.0})),
            "pattern": st.sampled_from(["^a", "b$", "^[0-9]+$", "'", "\\\\", "^$"]),
            "format": st.sampled_from(["date", "unknown"]),
            "minimum": number,
            "maximum": number,
            "minLength": small,
            "maxLength": small,
            "minItems": small,
            "maxItems": small,
            "minProperties": small,
            "maxProperties": small,
            "uniqueItems": st.booleans(),
            "description": st.text(max_size=5),
        },
    )


def _schemas() -> st.SearchStrategy[Any]:
    ref = st.sampled_from(_DEF_NAMES).map(lambda n: {"$ref": "#/$defs/" + n})

    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        child = st.one_of(inner, ref)  # a $ref only below a property or an item: it descends
        return st.tuples(
            _leaf_keywords(),
            st.fixed_dictionaries(
                {},
                optional={
                    "properties": st.dictionaries(st.sampled_from(_NAMES), child, max_size=4),
                    "required": st.lists(st.sampled_from(_NAMES), max_size=3),
                    "additionalProperties": st.one_of(st.booleans(), child),
                    "items": child,
                },
            ),
        ).map(lambda pair: {**pair[0], **pair[1]})

    return st.recursive(st.one_of(st.booleans(), _leaf_keywords()), extend, max_leaves=8)


@st.composite
def _rooted_schemas(draw: st.DrawFn) -> Any:
    root = draw(_schemas())
    if isinstance(root, bool):
        return root
    return {**root, "$defs": {n: draw(_schemas()) for n in _DEF_NAMES}}


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        doc = doc[k]
    return doc


def _missing_required(validator: Any, doc: Any) -> set[tuple[tuple[Any, ...], str]]:
    """Every (path of the object, name) jsonschema finds missing under ``required``."""
    return {
        (tuple(e.absolute_path), r)
        for e in validator.iter_errors(doc)
        if e.validator == "required" and isinstance(e.instance, dict)
        for r in e.validator_value
        if r not in e.instance
    }


def _reference_answer(
    validator: Any, doc: Any, may_be_absent: Callable[[tuple[Any, ...], str], bool] | None
) -> bool:
    """jsonschema's answer, with required names relaxed as ``_profile`` relaxes them."""
    for e in validator.iter_errors(doc):
        if may_be_absent is not None and e.validator == "required" and isinstance(e.instance, dict):
            missing = [r for r in e.validator_value if r not in e.instance]
            if all(may_be_absent(tuple(e.absolute_path), r) for r in missing):
                continue
        return False
    return True


@suite_settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    schema=_rooted_schemas(),
    docs=st.lists(_instances(), min_size=1, max_size=6),
    with_formats=st.booleans(),
    relax=st.sampled_from([None, "even", "all"]),
)
def test_random_schemas_of_the_subset_agree_with_jsonschema(
    schema: Any, docs: list[Any], with_formats: bool, relax: str | None
) -> None:
    formats = _DATES if with_formats else None
    source, _ = _generate(schema, formats)
    _assert_only_our_tokens(source)
    check = compile_schema(schema, formats=formats)
    assert check is not None  # every generated schema is in the subset
    validator = jsonschema.Draft202012Validator(schema, format_checker=formats)
    asked: list[tuple[tuple[Any, ...], str]] = []

    def allow(path: tuple[Any, ...], name: str) -> bool:
        asked.append((path, name))
        return relax == "all" or (len(path) + len(name)) % 2 == 0

    m = None if relax is None else allow
    for doc in docs:
        asked.clear()
        assert check(doc, m) == _reference_answer(validator, doc, m), doc
        # asked only about required names missing from an object, with that object's path
        assert set(asked) <= _missing_required(validator, doc), (doc, asked)
        for path, name in asked:
            obj = _at(doc, path)
            assert isinstance(obj, dict) and name not in obj


# Every bundled profile, on instances drawn from its own schema -----------------------------------

_ODD = st.sampled_from([None, True, 0, 1.0, -1, 2.5, "", "x", "2026-02-30", [], {}, {"x": 1}])


def _from_schema(draw: st.DrawFn, s: Any, defs: Mapping[str, Any]) -> Any:
    if draw(st.integers(0, 24)) == 0:
        return draw(_ODD)  # a wrong value here and there
    if s is True or s is False:
        return draw(_ODD)
    if "$ref" in s:
        return _from_schema(draw, defs[s["$ref"].removeprefix("#/$defs/")], defs)
    if "const" in s:
        return s["const"]
    if "enum" in s:
        return draw(st.sampled_from(s["enum"]))
    kind = s.get("type")
    if kind == "object":
        out: dict[str, Any] = {}
        for name, sub in s.get("properties", {}).items():
            p = 0.95 if name in s.get("required", ()) else 0.5
            if draw(st.floats(0, 1)) < p:
                out[name] = _from_schema(draw, sub, defs)
        if draw(st.integers(0, 19)) == 0:
            out[draw(st.sampled_from(["extra", "_sd", "name"]))] = draw(_ODD)
        return out
    if kind == "array":
        n = draw(st.integers(s.get("minItems", 0), min(s.get("minItems", 0) + 3, 4)))
        items = [_from_schema(draw, s.get("items", True), defs) for _ in range(n)]
        if items and draw(st.integers(0, 9)) == 0:
            items.append(items[0])  # a duplicate (uniqueItems)
        return items
    if kind == "string":
        fmt = s.get("format")
        if fmt == "date":
            return draw(st.dates().map(str) | st.sampled_from(["2026-02-29", "2026-13-01"]))
        if fmt == "date-time":
            return draw(
                st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + "Z")
                | st.sampled_from(["2026-02-28T24:00:00Z", "2026-02-28T10:00:00+01:00"])
            )
        if "pattern" in s:
            return draw(st.from_regex(s["pattern"]))
        lo, hi = s.get("minLength", 0), s.get("maxLength", 20)
        return draw(st.text(min_size=max(lo - 1, 0), max_size=min(hi + 1, 30)))
    if kind in ("integer", "number"):
        lo, hi = s.get("minimum", -(10**6)), s.get("maximum", 10**12)
        value = draw(st.integers(int(lo) - 1, int(hi) + 1))
        return float(value) if draw(st.integers(0, 9)) == 0 else value
    if kind == "boolean":
        return draw(st.booleans())
    return draw(_ODD)


def _bundled() -> list[Any]:
    import blauweknop.arrangement  # noqa: F401 - registers the payment arrangement profile

    return all_profiles()


@st.composite
def _profile_instances(draw: st.DrawFn) -> tuple[Any, Any]:
    profile = draw(st.sampled_from(_bundled()))
    schema = profile._validator.schema
    return profile, _from_schema(draw, schema, schema.get("$defs", {}))


def test_every_bundled_profile_compiles() -> None:
    profiles = _bundled()
    assert {DEBT_STATEMENT_VCT, RODE_KNOP_VCT} <= {p.vct for p in profiles}
    assert len(profiles) >= 3
    for profile in profiles:
        assert profile._fast is not None, profile.vct
        source, _ = _generate(profile._validator.schema, profile._validator.format_checker)
        _assert_only_our_tokens(source)


@suite_settings(
    max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(case=_profile_instances(), partial=st.booleans())
def test_every_bundled_profile_agrees_with_jsonschema_on_its_own_instances(
    case: tuple[Any, Any], partial: bool
) -> None:
    profile, doc = case
    validator = profile._validator
    m = (lambda base, name: profile._may_be_absent((*base, name))) if partial else None
    want = _reference_answer(validator, doc, m)
    assert profile._fast(doc, profile._absent_ok if partial else None) == want
    assert profile._fast(doc, m) == want
    ref = dataclasses.replace(profile)
    object.__setattr__(ref, "_fast", None)
    assert profile._first_problem(doc, partial=partial) == ref._first_problem(doc, partial=partial)


# The profile's memo of may-be-absent answers ----------------------------------------------------


def test_absent_ok_memo_gives_the_trie_answer_and_stays_bounded() -> None:
    profile = dataclasses.replace(get_profile(DEBT_STATEMENT_VCT))  # a memo of its own
    memo = profile._absent_memo
    assert memo == {} and memo is not get_profile(DEBT_STATEMENT_VCT)._absent_memo
    paths = [
        ((), "creditor"),
        ((), "subject"),
        ((), "totals"),
        (("subject",), "bsn"),
        (("subject",), "family_name"),
        (("creditor",), "oin"),
        (("cases", 0), "imposed_at"),
        (("cases", 7), "case_reference"),
        (("cases", 1, "components", 0), "amount"),
        (("nowhere",), "x"),
    ]
    answers = {path: profile._may_be_absent((*path[0], path[1])) for path in paths}
    assert set(answers.values()) == {True, False}  # both answers are exercised
    for _ in range(2):  # computed, then from the memo
        for base, name in paths:
            assert profile._absent_ok(base, name) is answers[(base, name)]
    assert len(memo) == len(paths)
    for i in range(10_000):  # many indices: the memo starts over instead of growing
        assert (
            profile._absent_ok(("cases", i), "imposed_at") is answers[(("cases", 0), "imposed_at")]
        )
        assert len(memo) <= 4096
    for base, name in paths:
        assert profile._absent_ok(base, name) is answers[(base, name)]


def test_schemas_of_one_shape_share_code_but_not_data() -> None:
    a = {"required": ["a"], "properties": {"a": {"const": "x"}}}
    b = {"required": ["b"], "properties": {"b": {"const": "y"}}}
    assert _generate(a, None)[0] == _generate(b, None)[0]  # one compiled code object for both
    check_a, check_b = compile_schema(a), compile_schema(b)
    assert check_a is not None and check_b is not None
    assert check_a({"a": "x"}) is True and check_a({"b": "y"}) is False
    assert check_b({"b": "y"}) is True and check_b({"a": "x"}) is False
