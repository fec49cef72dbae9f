"""Fast paths on the verifier's side agree with the plain code they stand beside.

* ``_jws.parse_compact`` remembers headers that passed its checks (by encoded header,
  allowed algorithms, ``typ`` and ``allow_x5c``): any sequence of parses, with any
  parameters, gives the result or the error a parse with an empty memory gives.
* ``_dcql.check_response`` sorts only the disclosures no requested claim covers: the extra
  claims are those, in the order, of the sort-everything reference.
* ``Verifier`` keeps the policy it hands the formats while its attributes are the same
  objects: changing an attribute takes effect at the next verification.

The status cache's hot path is checked in ``test_status_memory.py`` (same verdicts as a
cache without memory through puts, tampering, deletion and expiry crossings).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import suite_settings

from blauweknop import BlauweKnopError, Verifier
from blauweknop._codec import b64u_encode
from blauweknop._dcql import DCQLQuery, PresentedCredential, check_response
from blauweknop._dcql._paths import DEFAULT_PROTECTED_NAMES, Selection
from blauweknop._dcql._response import _coverage
from blauweknop._jws import _HEADER_MEMO, parse_compact
from blauweknop._keys import ALLOWED_JWS_ALGS

_PAYLOAD = b64u_encode(b'{"a":1}')
_SIG = b64u_encode(b"\x01" * 64)

header_members = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["ES256", "EdDSA", "none", "HS256", "RS256", 7]),
        "typ": st.sampled_from(["dc+sd-jwt", "kb+jwt", "JWT", ["kb+jwt"], None]),
        "kid": st.text(max_size=8),
        "crit": st.just(["b64"]),
        "b64": st.booleans(),
        "x5c": st.just(["MIIB"]),
        "jwk": st.just({"kty": "EC"}),
    },
)
encoded_headers = st.one_of(
    header_members.map(lambda h: b64u_encode(json.dumps(h).encode())),
    st.sampled_from(["", "e30", "W10", "eyJhbGciOiJFUzI1NiJ9=", "%%%"]),
)
parse_params = st.tuples(
    st.sampled_from([None, "dc+sd-jwt", "kb+jwt", ("kb+jwt", "JWT")]),
    st.booleans(),
    st.sampled_from([ALLOWED_JWS_ALGS, frozenset({"ES256"}), ("ES256", "EdDSA")]),
)


def _outcome(token: str, typ: Any, allow_x5c: bool, algs: Any) -> Any:
    try:
        p = parse_compact(token, typ=typ, allow_x5c=allow_x5c, algs=algs)
    except BlauweKnopError as e:
        return ("error", type(e).__name__, e.code, e.message)
    return ("ok", p.header, p.payload, p.signing_input, p.signature)


@suite_settings()
@given(st.data())
def test_header_memory_gives_what_an_empty_memory_gives(data: st.DataObject) -> None:
    # a few headers, parsed many times with changing parameters: the memory is consulted
    pool = data.draw(st.lists(encoded_headers, min_size=1, max_size=3))
    steps = data.draw(st.lists(st.tuples(st.sampled_from(pool), parse_params), max_size=12))
    _HEADER_MEMO.clear()
    for eh, (typ, allow_x5c, algs) in steps:
        token = f"{eh}.{_PAYLOAD}.{_SIG}"
        with_memory = _outcome(token, typ, allow_x5c, algs)
        saved = dict(_HEADER_MEMO)
        _HEADER_MEMO.clear()
        reference = _outcome(token, typ, allow_x5c, algs)
        _HEADER_MEMO.clear()
        _HEADER_MEMO.update(saved)
        assert with_memory == reference


def test_a_header_from_memory_is_a_copy() -> None:
    _HEADER_MEMO.clear()
    eh = b64u_encode(b'{"alg":"ES256","typ":"kb+jwt"}')
    token = f"{eh}.{_PAYLOAD}.{_SIG}"
    first = parse_compact(token, typ="kb+jwt")
    assert _HEADER_MEMO  # remembered
    first.header["alg"] = "none"  # a caller altering its header
    second = parse_compact(token, typ="kb+jwt")
    assert second.header == {"alg": "ES256", "typ": "kb+jwt"}
    with pytest.raises(BlauweKnopError) as e:
        parse_compact(token, typ="dc+sd-jwt")  # passed before, but for another typ
    assert e.value.code == "typ_mismatch"


paths = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "bsn"]), st.sampled_from(["x", "y", 0, 1])).map(
        lambda t: t if t[1] != "x" else t[:1]
    ),
    max_size=8,
    unique=True,
)


@suite_settings()
@given(paths, st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
def test_extra_claims_are_the_sort_everything_reference(
    disclosed: list[Any], asked: list[str]
) -> None:
    claims: dict[str, Any] = {"a": {"x": 1, "y": 2}, "b": [1, 2], "c": {"y": 3}, "bsn": "1"}
    query = DCQLQuery.parse(
        {
            "credentials": [
                {
                    "id": "q",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": ["t"]},
                    "claims": [{"path": [name]} for name in asked],
                }
            ]
        }
    )
    pc = PresentedCredential(
        format="dc+sd-jwt",
        types=("t",),
        claims=claims,
        disclosed=frozenset(disclosed),
        holder_bound=True,
    )
    got = [e.path for e in check_response(query, {"q": [pc]}).extra_claims]
    # the reference: every disclosed path sorted by repr, then the uncovered ones kept
    covered = _coverage([Selection((n,), claims[n]) for n in asked], DEFAULT_PROTECTED_NAMES)
    reference = [p for p in sorted(disclosed, key=repr) if not covered(p)]
    assert got == reference


def test_verifier_policy_follows_its_attributes(pilot_scheme: Any) -> None:
    verifier = Verifier(pilot_scheme.trust)
    first = verifier._policy()
    assert verifier._policy() is first  # kept
    verifier.leeway = verifier.leeway + 1
    second = verifier._policy()
    assert second is not first and second.leeway == verifier.leeway
    verifier.allow_missing_status = not verifier.allow_missing_status
    assert verifier._policy().allow_missing_status == verifier.allow_missing_status
