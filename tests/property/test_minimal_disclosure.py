"""Minimal disclosure, end to end: wallet plan -> SD-JWT VC presentation -> verifier.

For random DCQL requests over the two credential types (random subsets of the profiles' claim
paths, case fields through ``null`` wildcards, random ``multiple``, ``claim_sets`` and
``credential_sets``), the verifier sees exactly the claims the request asked for that the
credential holds, plus the claims the profile always shows, and nothing else; a BSN only
when a request names it. Dropping one requested, selectively disclosable claim from the
request the wallet answers is caught by ``verify(..., request=...)`` as ``claim_missing``.

The expected views are worked out here from the type metadata files and the example data,
independently of the wallet's planner and of the SD-JWT code.

Index pointers are limited to ``0``: with elements withheld one by one, later indices shift
in the presentation (see ``blauweknop._dcql``: "Prefer null"), so a request with
``["cases", 1, ...]`` cannot be checked against the response positionally.

The scheme (issuers, trust list, wallet, status cache) is the shared one of ``tests/scheme.py``,
built once for the module.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given
from hypothesis import strategies as st
from scheme import CJIB, DUO, GEM, PILOT_NOW, Scheme
from strategies import suite_settings

from blauweknop import (
    DEBT_STATEMENT_VCT,
    RODE_KNOP_VCT,
    PolicyError,
    Verifier,
    Wallet,
)

SETTINGS = suite_settings(
    max_examples=max(1, suite_settings().max_examples * 2 // 3),  # each example signs and verifies
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"
PROFILES = ROOT / "src" / "blauweknop" / "profiles"
NOW = PILOT_NOW
NONCE = "n-minimal-disclosure"
AUD = CJIB
VCT = {"decl": RODE_KNOP_VCT, "debt": DEBT_STATEMENT_VCT}
FILES = {
    GEM: "rode-knop-declaration.json",
    CJIB: "debt-statement.json",
    DUO: "debt-statement-duo.json",
}

P = tuple[str | int | None, ...]


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def rules(vct: str) -> dict[P, str]:
    name = "debt-statement.json" if vct == DEBT_STATEMENT_VCT else "rode-knop-declaration.json"
    md = json.loads((PROFILES / name).read_text())
    return {tuple(c["path"]): c["sd"] for c in md["claims"] if "sd" in c}


RULES = {kind: rules(vct) for kind, vct in VCT.items()}


def rule(kind: str, path: Sequence[Any]) -> str | None:
    return RULES[kind].get(tuple(None if isinstance(p, int) else p for p in path))


def is_sd(kind: str, path: Sequence[Any]) -> bool:
    return rule(kind, path) in ("always", "allowed")


# Paths a request may name: every path of the type metadata (arrays through null), the first
# case by index, and the members of the address (disclosed as a whole).
def _request_paths(kind: str) -> list[P]:
    out = sorted(RULES[kind], key=repr)
    if kind == "debt":
        out += [("cases", 0), ("cases", 0, "amount_outstanding"), ("cases", 0, "components", None)]
    else:
        out += [("subject", "address", "city"), ("requested_measures", 0)]
    return out


PATHS = {kind: _request_paths(kind) for kind in VCT}
SD_PATHS = {kind: [p for p in PATHS[kind] if is_sd(kind, p)] for kind in VCT}


# ------------------------------------------------------------------------------------------
# The independent model
# ------------------------------------------------------------------------------------------
def select(value: Any, path: Sequence[Any]) -> list[tuple[tuple[Any, ...], Any]]:
    """DCQL claims path pointer (OpenID4VP 1.0 section 7) over a plain JSON value."""
    cur: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    for comp in path:
        nxt = []
        for p, v in cur:
            if comp is None and isinstance(v, list):
                nxt += [((*p, i), x) for i, x in enumerate(v)]
            else:
                index_ok = isinstance(comp, int) and isinstance(v, list) and 0 <= comp < len(v)
                key_ok = isinstance(comp, str) and isinstance(v, dict) and comp in v
                if index_ok or key_ok:
                    nxt.append(((*p, comp), v[comp]))
        cur = nxt
    return cur


def expected_view(kind: str, data: dict[str, Any], requested: Sequence[Sequence[Any]]) -> Any:
    """Always-shown claims, plus each claim a requested path selects, with its subtree and the
    path to it (a BSN inside a selected subtree only when named)."""
    targets = [t for r in requested for t, _ in select(data, r)]

    def asked(path: tuple[Any, ...]) -> bool:
        for t in targets:
            if path[: len(t)] == t[: len(path)]:  # an ancestor of t, t, or under t
                if len(path) > len(t) and "bsn" in path[len(t) :]:
                    continue
                return True
        return False

    def walk(value: Any, path: tuple[Any, ...]) -> Any:
        if isinstance(value, dict):
            items = [(k, v, (*path, k)) for k, v in value.items()]
            return {k: walk(v, p) for k, v, p in items if not is_sd(kind, p) or asked(p)}
        if isinstance(value, list):
            items = [(i, v, (*path, i)) for i, v in enumerate(value)]
            return [walk(v, p) for _, v, p in items if not is_sd(kind, p) or asked(p)]
        return value

    return walk(data, ())


def sd_paths_of(kind: str, view: Any, path: tuple[Any, ...] = ()) -> set[tuple[Any, ...]]:
    """The selectively disclosable claims in a (compacted) view: what came from disclosures."""
    out: set[tuple[Any, ...]] = set()
    children = (
        view.items()
        if isinstance(view, dict)
        else enumerate(view)
        if isinstance(view, list)
        else ()
    )
    for k, v in children:
        p = (*path, k)
        if is_sd(kind, p):
            out.add(p)
        out |= sd_paths_of(kind, v, p)
    return out


def options_of(q: dict[str, Any]) -> list[list[P]]:
    """The claim options of a credential query, most preferred first (section 6.4.1)."""
    claims = q.get("claims")
    if claims is None:
        return [[]]
    if "claim_sets" not in q:
        return [[tuple(c["path"]) for c in claims]]
    by_id = {c["id"]: tuple(c["path"]) for c in claims}
    return [[by_id[i] for i in option] for option in q["claim_sets"]]


def first_option(q: dict[str, Any], data: dict[str, Any]) -> int | None:
    for i, option in enumerate(options_of(q)):
        if all(select(data, p) for p in option):
            return i
    return None


# ------------------------------------------------------------------------------------------
# Scheme, once per module
# ------------------------------------------------------------------------------------------
@dataclass
class World:
    wallet: Wallet
    verifier: Verifier
    data: dict[str, dict[str, Any]]  # issuer id -> the credential's domain claims
    kind_of: dict[str, str]  # issuer id -> "decl" / "debt"


@pytest.fixture(scope="module")
def world(pilot_wallet_scheme: Scheme) -> World:
    """The shared pilot scheme (tests/scheme.py): a wallet with the three pilot credentials
    and a verifier with the status cache synced after their issuance."""
    s = pilot_wallet_scheme
    assert s.now == NOW and s.wallet is not None
    return World(
        wallet=s.wallet,
        verifier=s.verifier(),
        data={iss: load(f) for iss, f in FILES.items()},
        kind_of={GEM: "decl", CJIB: "debt", DUO: "debt"},
    )


def holders_of(w: World, kind: str) -> list[str]:
    return [iss for iss, k in w.kind_of.items() if k == kind]


# ------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------
@st.composite
def credential_query(draw: st.DrawFn, kind: str, *, claim_sets: bool = True) -> dict[str, Any]:
    q: dict[str, Any] = {"id": kind, "format": "dc+sd-jwt", "meta": {"vct_values": [VCT[kind]]}}
    if kind == "debt" and draw(st.booleans()):
        q["multiple"] = True
    paths = draw(st.lists(st.sampled_from(PATHS[kind]), max_size=6, unique=True))
    if not paths:
        return q  # no claims: only what is always shown
    q["claims"] = [{"id": f"c{i}", "path": list(p)} for i, p in enumerate(paths)]
    if claim_sets and draw(st.integers(0, 3)) == 0:
        ids = [c["id"] for c in q["claims"]]
        q["claim_sets"] = draw(
            st.lists(
                st.lists(st.sampled_from(ids), min_size=1, unique=True), min_size=1, max_size=3
            )
        )
    return q


CREDENTIAL_SETS = [
    None,
    [{"options": [["decl"]]}, {"required": False, "options": [["debt"]]}],
    [{"options": [["decl", "debt"], ["decl"]]}],
    [{"options": [["debt"], ["decl"]]}],
]


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    kinds = draw(st.sampled_from([("decl",), ("debt",), ("decl", "debt")]))
    req: dict[str, Any] = {"credentials": [draw(credential_query(k)) for k in kinds]}
    if len(kinds) == 2:
        sets = draw(st.sampled_from(CREDENTIAL_SETS))
        if sets is not None:
            req["credential_sets"] = sets
    return req


def answerable(w: World, q: dict[str, Any]) -> list[str]:
    """Issuers whose credential answers query ``q`` (some claim option fully present)."""
    return [iss for iss in holders_of(w, q["id"]) if first_option(q, w.data[iss]) is not None]


def expected_queries(w: World, req: dict[str, Any]) -> set[str] | None:
    """The query ids a correct wallet answers, or ``None`` when it must answer nothing."""
    ok = {q["id"]: bool(answerable(w, q)) for q in req["credentials"]}
    sets = req.get("credential_sets")
    if sets is None:
        return set(ok) if all(ok.values()) else None
    chosen: set[str] = set()
    for s in sets:
        pick = next((o for o in s["options"] if all(ok[x] for x in o)), None)
        if pick is None and s.get("required", True):
            return None
        chosen |= set(pick or ())
    return chosen


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------
@SETTINGS
@given(req=requests())
def test_presentation_reveals_exactly_the_requested_claims(
    world: World, req: dict[str, Any]
) -> None:
    plan = world.wallet.plan(req, now=NOW)
    wanted = expected_queries(world, req)
    assert plan.satisfiable == (wanted is not None), plan.to_dict()["missing"]
    event("answered" if wanted else "cannot be answered" if wanted is None else "nothing asked")
    if wanted is None:
        assert plan.missing and plan.presentations() == {}
        with pytest.raises(PolicyError) as e:
            world.wallet.present(req, nonce=NONCE, audience=AUD, now=NOW)
        assert e.value.code == "request_not_satisfied"
        return

    vp = world.wallet.present(plan, nonce=NONCE, audience=AUD, now=NOW)
    assert set(vp) == wanted
    result = world.verifier.verify(vp, nonce=NONCE, audience=AUD, request=req, now=NOW)
    queries = {q["id"]: q for q in req["credentials"]}
    for qid in wanted:
        q = queries[qid]
        got = result.by_query(qid)
        fits = answerable(world, q)
        if q.get("multiple"):
            assert sorted(c.issuer for c in got) == sorted(fits)
        else:
            assert len(got) == 1 and got[0].issuer in fits
        for c in got:
            kind, data = world.kind_of[c.issuer], world.data[c.issuer]
            assert c.vct == VCT[kind] and c.status == "valid"
            option = first_option(q, data)
            assert option is not None
            view = expected_view(kind, data, options_of(q)[option])
            assert dict(c.claims) == view
            assert set(c.disclosed) == sd_paths_of(kind, view)
            named = any(p[-1:] == ("bsn",) for p in options_of(q)[option])
            assert ("999999990" in json.dumps(c.claims)) == named


@st.composite
def drop_cases(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """A one-query request naming at least one selectively disclosable claim, and the claim
    to drop from it."""
    kind = draw(st.sampled_from(["decl", "debt"]))
    q = draw(credential_query(kind, claim_sets=False))
    must = draw(st.sampled_from(SD_PATHS[kind]))
    claims = [c for c in q.get("claims", []) if tuple(c["path"]) != must]
    claims.insert(draw(st.integers(0, len(claims))), {"id": "must", "path": list(must)})
    q["claims"] = claims
    drop = draw(st.sampled_from([tuple(c["path"]) for c in claims]))
    return {"credentials": [q]}, drop


@SETTINGS
@given(case=drop_cases())
def test_dropping_a_requested_claim_is_rejected(
    world: World, case: tuple[dict[str, Any], tuple[Any, ...]]
) -> None:
    req, drop = case
    q = req["credentials"][0]
    assume(answerable(world, q))
    fewer = copy.deepcopy(req)
    fewer["credentials"][0]["claims"] = [c for c in q["claims"] if tuple(c["path"]) != drop]
    if not fewer["credentials"][0]["claims"]:
        del fewer["credentials"][0]["claims"]
    kept = options_of(fewer["credentials"][0])[0]
    # the drop must matter: some credential that answers the smaller request no longer
    # shows the dropped claim (it is not always shown, nor inside another requested claim)
    fits = answerable(world, fewer["credentials"][0])
    assume(fits)
    lost = [
        iss
        for iss in fits
        if not select(expected_view(world.kind_of[iss], world.data[iss], kept), drop)
    ]
    assume(lost if q.get("multiple") else len(lost) == len(fits))

    vp = world.wallet.present(fewer, nonce=NONCE, audience=AUD, now=NOW)
    # the smaller request itself is answered correctly ...
    assert world.verifier.verify(vp, nonce=NONCE, audience=AUD, request=fewer, now=NOW)
    # ... but not the original one
    with pytest.raises(PolicyError) as e:
        world.verifier.verify(vp, nonce=NONCE, audience=AUD, request=req, now=NOW)
    assert e.value.code == "claim_missing", e.value.message
