"""Fast paths on the issuing side agree with the plain code they stand beside.

* ``_spreadsheet.check_spreadsheet_safe`` walks the claims once without building paths and
  only then, for claims that fail, walks them again naming the first refused claim: the
  verdict and the error are those of the path-building walk alone.
* ``_model._to_json`` keeps each dataclass type's public field names and returns scalars at
  once: the JSON is that of the plain ``dataclasses.fields`` walk.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import suite_settings

from blauweknop._errors import InvalidDataError
from blauweknop._model import _to_json
from blauweknop._spreadsheet import _check_with_paths, check_spreadsheet_safe
from blauweknop.debt import DebtStatement

ROOT = Path(__file__).resolve().parents[2]

texts = st.one_of(
    st.text(max_size=6),
    st.sampled_from(
        ["=1+1", "+31 40 238 6000", "-12,50", "-x", "@SUM(A1)", "\tx", "+ 1", "Jansen"]
    ),
)
claims = st.recursive(
    st.one_of(texts, st.integers(), st.booleans(), st.none()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=4), inner, max_size=4),
    ),
    max_leaves=20,
)


def _verdict(check: Any, value: Any) -> Any:
    try:
        check(value)
    except InvalidDataError as e:
        return (e.code, e.message, e.field)
    return None


@suite_settings()
@given(claims)
def test_spreadsheet_check_is_the_path_building_walk(value: Any) -> None:
    assert _verdict(check_spreadsheet_safe, value) == _verdict(_check_with_paths, value)


def test_spreadsheet_check_names_the_first_refused_claim() -> None:
    bad = {"subject": {"family_name": "Jansen", "given_names": "=HYPERLINK(1)"}}
    with pytest.raises(InvalidDataError) as e:
        check_spreadsheet_safe(bad)
    assert e.value.field == "subject.given_names"


def _plain_to_json(value: Any) -> Any:
    """The walk as it was: ``dataclasses.fields`` at every node."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            if f.name.startswith("_"):
                continue
            v = getattr(value, f.name)
            if v is not None:
                out[f.name] = _plain_to_json(v)
        return out
    if isinstance(value, tuple | list):
        return [_plain_to_json(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class _Inner:
    a: Any = None
    _private: Any = None


@dataclasses.dataclass(frozen=True)
class _Outer:
    inner: Any = None
    items: Any = None
    n: Any = None


leaves = st.one_of(st.text(max_size=3), st.integers(), st.floats(allow_nan=False), st.none())
models = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(_Inner, a=inner, _private=inner),
        st.builds(_Outer, inner=inner, items=st.lists(inner, max_size=3).map(tuple), n=inner),
        st.lists(inner, max_size=3),
    ),
    max_leaves=15,
)


@suite_settings()
@given(models)
def test_to_json_is_the_plain_fields_walk(value: Any) -> None:
    assert _to_json(value) == _plain_to_json(value)


def test_to_json_of_the_example_statement_is_the_plain_walk() -> None:
    claims = json.loads((ROOT / "examples" / "data" / "debt-statement.json").read_text())
    statement = DebtStatement.from_claims(claims)
    assert _to_json(statement) == _plain_to_json(statement) == statement.to_claims()
