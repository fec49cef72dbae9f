"""DCQL properties: exact disclosure, verifier acceptance of the plan, rejection of a drop.

Model of selective disclosure used here: every object member is disclosable, array elements
are not (so a shown array keeps its positions and index pointers stay valid; with withheld
array elements later indices shift, a limitation DCQL shares with SD-JWT).
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import strategies as st
from strategies import suite_settings

from blauweknop._dcql import (
    CandidateCredential,
    DCQLQuery,
    PresentedCredential,
    check_response,
    plan,
    select_paths,
)
from blauweknop._errors import MalformedError, PolicyError

# The suite's Hypothesis profile (tests/strategies.py: ci by default, modest, no deadline).
SETTINGS = suite_settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
VCT = "urn:blauweknop:debt-statement:1"
KEYS = ["a", "b", "c", "bsn"]
NO_PROTECTION: frozenset[str] = frozenset()

scalars = st.one_of(
    st.text(alphabet="xy1", max_size=2), st.integers(-2, 2), st.booleans(), st.none()
)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=14,
)
roots = st.dictionaries(st.sampled_from(KEYS), trees, min_size=1, max_size=4)


def all_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += all_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += all_paths(v, (*path, i))
    return out


@st.composite
def pointers(draw: st.DrawFn, tree: dict[str, Any]) -> list[Any]:
    """A claims path pointer: usually into the tree (some indices made null), sometimes not."""
    existing = all_paths(tree)
    if existing and draw(st.integers(0, 4)) > 0:
        base = list(draw(st.sampled_from(existing)))
        path = [None if isinstance(c, int) and draw(st.booleans()) else c for c in base]
        if draw(st.integers(0, 5)) == 0:
            path.append(draw(st.sampled_from([*KEYS, 0, None])))
        return path
    first = draw(st.sampled_from(KEYS))
    rest = draw(st.lists(st.sampled_from([*KEYS, 0, 1, None]), max_size=2))
    return [first, *rest]


@st.composite
def claim_queries(
    draw: st.DrawFn, tree: dict[str, Any], *, explicit_bsn: bool = True
) -> dict[str, Any]:
    path = draw(pointers(tree))
    if not explicit_bsn:
        path = ["c" if c == "bsn" else c for c in path]
    claim: dict[str, Any] = {"path": path}
    if draw(st.integers(0, 3)) == 0:
        found = [s.value for s in select_paths(tree, path)]
        pool = [v for v in found if isinstance(v, str | int) and v is not None]
        extra = draw(
            st.lists(
                st.one_of(st.text(alphabet="xy1", max_size=2), st.integers(-2, 2), st.booleans()),
                max_size=2,
            )
        )
        values = [*pool[:2], *extra]
        if values:
            claim["values"] = values
    return claim


@st.composite
def queries_for(
    draw: st.DrawFn, tree: dict[str, Any], *, explicit_bsn: bool = True
) -> dict[str, Any]:
    claims = draw(st.lists(claim_queries(tree, explicit_bsn=explicit_bsn), min_size=1, max_size=4))
    return {
        "credentials": [
            {"id": "q", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]}, "claims": claims}
        ]
    }


def keys_only(path: tuple[str | int, ...]) -> bool:
    return isinstance(path[-1], str)


def expected_selection(tree: dict[str, Any], claims: list[dict[str, Any]]) -> list[Any] | None:
    """What section 6.4.1 asks for, computed independently: None if a claim is unsatisfiable."""
    out = []
    for c in claims:
        found = select_paths(tree, c["path"])
        if "values" in c:
            found = [
                s
                for s in found
                if any(type(s.value) is type(v) and s.value == v for v in c["values"])
            ]
        if not found:
            return None
        out += found
    return out


def drop(claims: dict[str, Any], path: list[Any]) -> dict[str, Any]:
    """Remove every claim a pointer ending in a key selects."""
    out = copy.deepcopy(claims)
    for sel in select_paths(out, path):
        parent: Any = out
        for k in sel.path[:-1]:
            parent = parent[k]
        del parent[sel.path[-1]]
    return out


@SETTINGS
@given(st.data(), roots)
def test_plan_discloses_exactly_the_requested_paths_that_exist(
    data: st.DataObject, tree: dict[str, Any]
) -> None:
    raw = data.draw(queries_for(tree))
    cand = CandidateCredential(id="c", format="dc+sd-jwt", types=(VCT,), claims=tree)
    p = plan(DCQLQuery.parse(raw), [cand], protected_names=NO_PROTECTION)
    want = expected_selection(tree, raw["credentials"][0]["claims"])
    if want is None:
        assert not p.satisfiable
        assert p.presentations() == {}
        assert p.missing and all(m.code in {"claim_missing", "value_mismatch"} for m in p.missing)
        return
    assert p.satisfiable
    (d,) = p.presentations()["q"]
    assert set(d.disclose_paths) == {s.path for s in want}
    assert len(d.disclose_paths) == len(set(d.disclose_paths))
    for s in d.disclose:  # values are the credential's, untouched
        assert select_paths(tree, list(s.path)) == [s]


@SETTINGS
@given(st.data(), roots)
def test_verifier_accepts_the_plan_and_rejects_a_dropped_claim(
    data: st.DataObject, tree: dict[str, Any]
) -> None:
    raw = data.draw(queries_for(tree))
    query = DCQLQuery.parse(raw)
    cand = CandidateCredential(
        id="c", format="dc+sd-jwt", types=(VCT,), claims=tree, disclosable=keys_only
    )
    p = plan(query, [cand], protected_names=NO_PROTECTION)
    assume(p.satisfiable)
    seen = p.presentations()["q"][0].preview(cand)
    res = check_response(query, {"q": [seen]}, strict_minimal=True, protected_names=NO_PROTECTION)
    assert res.answered == ("q",) and res.extra_claims == ()

    droppable = [
        c["path"] for c in raw["credentials"][0]["claims"] if isinstance(c["path"][-1], str)
    ]
    assume(droppable)
    victim = data.draw(st.sampled_from(droppable))
    broken = PresentedCredential(
        format=seen.format, types=seen.types, claims=drop(dict(seen.claims), victim)
    )
    with pytest.raises(PolicyError) as e:
        check_response(query, {"q": [broken]}, protected_names=NO_PROTECTION)
    assert e.value.code in {"claim_missing", "value_mismatch"}


@SETTINGS
@given(st.data(), roots)
def test_claim_sets_round_trip(data: st.DataObject, tree: dict[str, Any]) -> None:
    claims = data.draw(st.lists(claim_queries(tree), min_size=1, max_size=4))
    for i, c in enumerate(claims):
        c["id"] = f"c{i}"
    ids = [c["id"] for c in claims]
    sets = data.draw(
        st.lists(
            st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True),
            min_size=1,
            max_size=3,
        )
    )
    raw = {
        "credentials": [
            {
                "id": "q",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [VCT]},
                "claims": claims,
                "claim_sets": sets,
            }
        ]
    }
    query = DCQLQuery.parse(raw)
    cand = CandidateCredential(
        id="c", format="dc+sd-jwt", types=(VCT,), claims=tree, disclosable=keys_only
    )
    p = plan(query, [cand], protected_names=NO_PROTECTION)
    by_id = {c["id"]: c for c in claims}
    first_ok = next(
        (
            i
            for i, s in enumerate(sets)
            if expected_selection(tree, [by_id[x] for x in s]) is not None
        ),
        None,
    )
    if first_ok is None:
        assert not p.satisfiable
        return
    (d,) = p.presentations()["q"]
    assert d.claim_set_index == first_ok  # the wallet returns the first option it can
    want = expected_selection(tree, [by_id[x] for x in sets[first_ok]])
    assert want is not None and set(d.disclose_paths) == {s.path for s in want}
    res = check_response(
        query, {"q": [d.preview(cand)]}, strict_minimal=True, protected_names=NO_PROTECTION
    )
    assert res.claim_sets["q"][0] is not None and res.claim_sets["q"][0] <= first_ok


def contains_key(value: Any, key: str) -> bool:
    if isinstance(value, dict):
        return key in value or any(contains_key(v, key) for v in value.values())
    if isinstance(value, list):
        return any(contains_key(v, key) for v in value)
    return False


@SETTINGS
@given(st.data(), roots)
def test_bsn_only_by_explicit_path(data: st.DataObject, tree: dict[str, Any]) -> None:
    raw = data.draw(queries_for(tree, explicit_bsn=False))
    query = DCQLQuery.parse(raw)
    cand = CandidateCredential(
        id="c", format="dc+sd-jwt", types=(VCT,), claims=tree, disclosable=keys_only
    )
    p = plan(query, [cand])
    for d in p.presentations().get("q", []):
        assert all("bsn" not in path for path in d.disclose_paths)
        assert not contains_key(d.preview(cand).claims, "bsn")
        res = check_response(query, {"q": [d.preview(cand)]}, strict_minimal=True)
        assert res.extra_claims == ()
    if contains_key(tree, "bsn") and p.satisfiable:
        # The deepest BSNs: a BSN inside a BSN is itself withheld unless named.
        explicit = [
            b
            for b in all_paths(tree)
            if b[-1] == "bsn" and not contains_key(select_paths(tree, list(b))[0].value, "bsn")
        ]
        q2 = DCQLQuery.parse(
            {"credentials": [{**raw["credentials"][0], "claims": [{"path": list(explicit[0])}]}]}
        )
        d2 = plan(q2, [cand]).presentations()["q"][0]
        assert d2.disclose_paths == (explicit[0],)


@SETTINGS
@given(st.data(), st.lists(roots, min_size=1, max_size=4))
def test_plan_does_not_depend_on_candidate_order(
    data: st.DataObject, trees_: list[dict[str, Any]]
) -> None:
    raw = data.draw(queries_for(trees_[0]))
    raw["credentials"][0]["multiple"] = data.draw(st.booleans())
    query = DCQLQuery.parse(raw)
    stamps = data.draw(
        st.lists(st.none() | st.integers(0, 3), min_size=len(trees_), max_size=len(trees_))
    )
    cands = [
        CandidateCredential(id=f"c{i}", format="dc+sd-jwt", types=(VCT,), claims=t, issued_at=s)
        for i, (t, s) in enumerate(zip(trees_, stamps, strict=True))
    ]
    outs = {
        json.dumps(plan(query, list(perm)).to_dict(), sort_keys=True)
        for perm in itertools.islice(itertools.permutations(cands), 6)
    }
    assert len(outs) == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "credentials",
                    "id",
                    "format",
                    "meta",
                    "claims",
                    "path",
                    "values",
                    "claim_sets",
                    "credential_sets",
                    "options",
                    "required",
                    "multiple",
                    "vct_values",
                    "type_values",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@SETTINGS
@given(json_values)
def test_parse_returns_or_raises_malformed_only(value: Any) -> None:
    try:
        q = DCQLQuery.parse(value)
    except MalformedError:
        return
    assert DCQLQuery.parse(q.to_dict()) == q


@SETTINGS
@given(st.data(), roots)
def test_parse_round_trips_generated_queries(data: st.DataObject, tree: dict[str, Any]) -> None:
    raw = data.draw(queries_for(tree))
    q = DCQLQuery.parse(raw)
    assert DCQLQuery.parse(json.dumps(q.to_dict())) == q
