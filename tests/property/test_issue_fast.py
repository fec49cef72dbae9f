"""Issue 18: the fast issuance paths of SD-JWT (VC) held to their references.

* :class:`_FastBuilder.build` (inline encoding, one base64 call per object's digests) against
  :class:`_Builder` (each disclosure encoded and digested on its own), with decoys;
* :meth:`_FastBuilder.build_ruled` (the profile's rules applied during the walk) against
  marking a copy first (what ``CredentialProfile.mark`` does) and then :class:`_Builder`;
* ``issue_sd_jwt_vc`` on the example credentials against ``profile.mark`` + the reference.

Both sides read the same deterministic random stream (``_disclosures._urandom`` replaced for
the comparison), so equal output means: the same salts for the same disclosures, the same
disclosure bytes and digests, the same decoys, the same sorted ``_sd`` arrays, the same order.
Then the fast path's token is verified and must give back the claims it was given.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pathlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from strategies import claim_names, json_scalars, sd_claims, suite_settings

from blauweknop import SD, BlauweKnopError, Key, verify_sd_jwt
from blauweknop._limits import DEFAULT_LIMITS
from blauweknop._profile import TECHNICAL_CLAIMS, all_profiles
from blauweknop._sdjwt import _disclosures
from blauweknop._sdjwt._disclosures import _Entropy, _parse_disclosure
from blauweknop._sdjwt._issue import (
    _Builder,
    _FastBuilder,
    _Rules,
    issue_sd_jwt_ruled,
)
from blauweknop._sdjwt_vc import issue_sd_jwt_vc

SETTINGS = suite_settings(suppress_health_check=[HealthCheck.too_slow])
ISSUER = Key.generate("ES256")
HOLDER = Key.generate("ES256")
ROOT = pathlib.Path(__file__).resolve().parents[2]


class Stream:
    """A deterministic byte stream standing in for ``os.urandom``: successive calls hand out
    successive bytes, however the requests are cut."""

    def __init__(self, seed: int) -> None:
        self.seed, self.ctr, self.data, self.pos = seed, 0, b"", 0

    def __call__(self, n: int) -> bytes:
        while len(self.data) - self.pos < n:
            self.data += hashlib.sha256(f"{self.seed}:{self.ctr}".encode()).digest()
            self.ctr += 1
        self.pos += n
        return self.data[self.pos - n : self.pos]


@contextlib.contextmanager
def stream(seed: int) -> Iterator[None]:
    saved = _disclosures._urandom
    _disclosures._urandom = Stream(seed)
    try:
        yield
    finally:
        _disclosures._urandom = saved


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("ok", fn())
    except BlauweKnopError as e:
        return ("error", e.code)


def decoy_counter(e: _Entropy, decoys: tuple[int, int]) -> Callable[[], int]:
    lo, hi = decoys
    return lambda: lo + e.below(hi - lo + 1)  # what issue_sd_jwt draws


def reference(value: Any, decoys: tuple[int, int]) -> tuple[Any, list[str]]:
    e = _Entropy()
    b = _Builder(e.salt, decoy_counter(e, decoys), e.decoy)
    return b.build(value, ()), b.disclosures


# -- the generic builder ----------------------------------------------------------------------
@SETTINGS
@given(sd_claims(max_leaves=12), st.integers(0, 3), st.integers(0, 3), st.integers(0, 2**32))
def test_fast_builder_builds_what_the_reference_builder_builds(
    claims: dict[str, Any], lo: int, span: int, seed: int
) -> None:
    decoys = (lo, lo + span)
    with stream(seed):
        expected = outcome(lambda: reference(claims, decoys))
    with stream(seed):
        e = _Entropy()
        fast = _FastBuilder(e.salt, decoy_counter(e, decoys), e.take)
        got = outcome(lambda: (fast.build(claims, ()), fast.disclosures))
    assert got == expected


# -- the profile's rules applied during the walk ------------------------------------------------
@dataclass
class Node:
    """A rule-trie node shaped like the profile's."""

    rule: str | None = None
    children: dict[Any, Node] = field(default_factory=dict)


NONE = Node()
RULES = st.sampled_from([None, None, "always", "allowed", "never"])


def plain_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    return st.recursive(
        json_scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(claim_names(), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def draw_trie(data: st.DataObject, value: Any) -> Node:
    node = Node(rule=data.draw(RULES))
    if isinstance(value, dict):
        for k, v in value.items():
            if data.draw(st.booleans()):
                node.children[k] = draw_trie(data, v)
    elif isinstance(value, list) and value and data.draw(st.booleans()):
        node.children[None] = draw_trie(data, value[0])
        for v in value[1:]:
            draw_trie(data, v)  # the same element node for all: draw only to vary
    return node


def mark(value: Any, node: Node, marks: frozenset[str | None]) -> Any:
    """``CredentialProfile.mark`` on a test trie."""
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            sub = node.children.get(None if isinstance(k, int) else k, NONE)
            m = mark(v, sub, marks)
            out[k] = SD(m) if sub.rule in marks else m
        return out
    if isinstance(value, list):
        sub = node.children.get(None, NONE)
        items = [mark(v, sub, marks) for v in value]
        return [SD(v) for v in items] if sub.rule in marks else items
    return value


PLAIN = {"iss": "urn:x", "iat": 1, "vct": "urn:t"}


@SETTINGS
@given(
    st.dictionaries(claim_names(), plain_values(), max_size=5),
    st.data(),
    st.integers(0, 3),
    st.integers(0, 2**32),
    st.sampled_from([0.0, float("inf"), float("nan")]),
)
def test_ruled_walk_builds_what_marking_a_copy_builds(
    claims: dict[str, Any], data: st.DataObject, lo: int, seed: int, odd: float
) -> None:
    claims = {k: v for k, v in claims.items() if k not in PLAIN}
    if odd:  # a non-finite float somewhere: both refuse it the same way
        claims["odd"] = [odd]
    trie = draw_trie(data, claims)
    marks = frozenset({"always", "allowed"})
    decoys = (lo, lo + 1)
    with stream(seed):
        marked = {**PLAIN, **mark(claims, trie, marks)}
        expected = outcome(lambda: reference(marked, decoys))
    with stream(seed):
        e = _Entropy()
        fast = _FastBuilder(e.salt, decoy_counter(e, decoys), e.take)
        got = outcome(
            lambda: (
                fast.build_ruled(
                    {**PLAIN, **claims}, trie, (), _Rules(marks, NONE), plain_keys=PLAIN.keys()
                ),
                fast.disclosures,
            )
        )
    assert got == expected
    if got[0] == "error":
        return
    # The token of the fast path verifies and gives back exactly the claims.
    token = issue_sd_jwt_ruled(
        PLAIN,
        claims,
        trie,
        marks,
        NONE,
        ISSUER,
        typ="dc+sd-jwt",
        holder_jwk=HOLDER.public_jwk(with_kid=False),
        decoys=decoys,
    )
    res = verify_sd_jwt(token, issuer_key=ISSUER, typ="dc+sd-jwt", now=2)
    back = {k: v for k, v in res.claims.items() if k not in ("cnf", "_sd_alg")}
    assert back == json.loads(json.dumps({**PLAIN, **claims}))


def test_claims_already_marked_take_the_reference_path() -> None:
    """An SD mark in the claims themselves: the ruled walk gives way to the marked path,
    which discloses it (and refuses a mark inside a marked value)."""
    trie = Node(children={"b": Node(rule="always")})
    token = issue_sd_jwt_ruled(
        PLAIN,
        {"a": SD(1), "b": 2},
        trie,
        {"always"},
        NONE,
        ISSUER,
        typ="t",
        holder_jwk=None,
        decoys=0,
    )
    disclosed = sorted(json.loads(_disclosures.b64u_decode(d))[1] for d in token.split("~")[1:-1])
    assert disclosed == ["a", "b"]
    with pytest.raises(BlauweKnopError) as e:
        issue_sd_jwt_ruled(
            PLAIN,
            {"b": SD(2)},
            trie,
            {"always"},
            NONE,
            ISSUER,
            typ="t",
            holder_jwk=None,
            decoys=0,
        )
    assert e.value.code == "invalid_sd_mark"


# -- the example credentials through issue_sd_jwt_vc -------------------------------------------
def _examples() -> list[tuple[str, Any, dict[str, Any]]]:
    out = []
    for name in ("debt-statement.json", "debt-statement-duo.json", "rode-knop-declaration.json"):
        doc = json.loads((ROOT / "examples" / "data" / name).read_text())
        for p in all_profiles():
            with contextlib.suppress(BlauweKnopError):
                p.validate(doc)
                out.append((name, p, doc))
                break
    return out


@pytest.mark.parametrize("seed", range(12))
def test_issue_sd_jwt_vc_equals_marking_and_the_reference_builder(seed: int) -> None:
    cases = _examples()
    assert len(cases) == 3
    for _name, profile, claims in cases:
        with stream(seed):
            token = issue_sd_jwt_vc(
                profile,
                claims,
                issuer_id="urn:x",
                signer=ISSUER,
                holder_jwk=HOLDER.public_jwk(with_kid=False),
                iat=100,
                exp=200,
                status={"status_list": {"idx": 7, "uri": "https://s.example/1"}},
            )
        tech = {
            "iss": "urn:x",
            "iat": 100,
            "exp": 200,
            "vct": profile.vct,
            "status": {"status_list": {"idx": 7, "uri": "https://s.example/1"}},
        }
        with stream(seed):
            payload, disclosures = reference({**tech, **profile.mark(claims)}, (1, 3))
        jwt, *rest = token.split("~")
        assert rest[:-1] == disclosures
        got = json.loads(_disclosures.b64u_decode(jwt.split(".")[1]))
        assert got.pop("cnf") == {"jwk": HOLDER.public_jwk(with_kid=False)}
        assert got.pop("_sd_alg") == "sha-256"
        assert got == payload
        for d in disclosures:  # each disclosure is well formed, with its own 128-bit salt
            parsed = _parse_disclosure(d, DEFAULT_LIMITS)
            assert len(_disclosures.b64u_decode(parsed.salt)) == 16
        res = verify_sd_jwt(token, issuer_key=ISSUER, typ="dc+sd-jwt", now=150)
        assert {k: v for k, v in res.claims.items() if k not in TECHNICAL_CLAIMS} == claims
