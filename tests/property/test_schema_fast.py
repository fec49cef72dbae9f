"""The compiled schema check (``_schema_fast``) says "no problem" exactly when ``jsonschema``
finds none, for every bundled profile, whole or partial (selectively disclosed), on the
example claims changed at random: claims removed, replaced by other JSON values (bools for
numbers, floats, near-miss dates and strings, nested objects), unknown claims added."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from strategies import json_values, suite_settings

from blauweknop._profile import DEBT_STATEMENT_VCT, RODE_KNOP_VCT, get_profile
from blauweknop._schema_fast import compile_schema

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
    import jsonschema

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
