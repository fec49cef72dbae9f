"""SD-JWT VC interop with an independent implementation: ``@sd-jwt/sd-jwt-vc`` and
``@sd-jwt/crypto-nodejs`` (OpenWallet Foundation), exact versions in ``sdjwt-node/package.json``.

Every direction is exercised: the peer issues and/or presents and we verify, and the other way
round, with ES256 and EdDSA keys, on a flat credential and on a debt-statement shape with nested
(recursive) object disclosures and selectively disclosable array elements that themselves hold
selectively disclosable fields. Tampered presentations made by one side must be refused by the
other.

One source of truth per scenario: the claims carry our :class:`SD` marks; the peer's disclosure
frame and presentation frame are derived from them, and the expected disclosed claims are
written out by hand.

Peer behaviour worth knowing (checked by tests below):
- ``@sd-jwt/core`` checks the KB-JWT ``nonce`` and ``sd_hash`` but not ``aud``; ``peer.mjs``
  compares ``aud`` (and the ``typ`` header) itself, as an application would.
- It ignores disclosures no digest refers to, so a holder who rewrites a disclosure and signs a
  fresh KB-JWT is not refused: the claim merely disappears. We refuse such a presentation.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import pytest

from blauweknop import (
    SD,
    SDJWT,
    BlauweKnopError,
    DisclosureError,
    HolderBindingError,
    Key,
    KeyBindingPolicy,
    SignatureError,
    issue_sd_jwt,
    verify_sd_jwt,
)
from blauweknop._codec import b64u_decode, b64u_encode
from blauweknop._sdjwt import make_kb_jwt

pytestmark = pytest.mark.interop

ISS = "https://cjib.example.nl"
VCT = "urn:eudi:blauweknop:debt-statement:1"
NONCE = "n-0S6_WzA2Mj"
AUD = "https://verifier.schuldhulp.example.nl"
TYP = "dc+sd-jwt"
Path_ = tuple[str | int, ...]


# ------------------------------------------------------------------------------------------
# Scenarios
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """Claims with SD marks, what the holder reveals, and what a verifier must then see."""

    id: str
    claims: dict[str, Any]
    reveal: list[Path_] | None  # None: every disclosure
    expected: dict[str, Any]  # disclosed claims, without iss/vct/iat/exp/cnf


PERSON = {
    "given_name": SD("Zoë"),
    "family_name": SD("de Vries"),
    "birthdate": SD("1987-06-05"),
    "municipality": "'s-Hertogenbosch",
}

DEBT_STATEMENT = {
    "creditor": {"name": "Centraal Justitieel Incassobureau", "oin": "00000001003214345000"},
    "debtor": SD({"name": SD("Zoë de Vries"), "bsn": SD("999993653")}),
    "totals": {"currency": "EUR", "outstanding": SD(128_450), "case_count": SD(3)},
    "cases": [
        SD(
            {
                "reference": "CJIB-2025-000101",
                "amount": SD(45_000),
                "status": SD("open"),
                "description": SD("Verkeersboete A2 — flitser km 97,3"),
            }
        ),
        SD({"reference": "CJIB-2025-000102", "amount": SD(33_450), "status": SD("regeling")}),
        SD({"reference": "CJIB-2025-000103", "amount": SD(50_000), "status": SD("open")}),
    ],
    "statement_date": "2025-11-01",
    "remark": "Bedragen in eurocent — peildatum 1 november",
}

CREDITOR = {"name": "Centraal Justitieel Incassobureau", "oin": "00000001003214345000"}

SCENARIOS = [
    Scenario(
        "person-some",
        PERSON,
        [("given_name",), ("birthdate",)],
        {"given_name": "Zoë", "birthdate": "1987-06-05", "municipality": "'s-Hertogenbosch"},
    ),
    Scenario(
        "debt-some",
        DEBT_STATEMENT,
        [("debtor", "name"), ("totals", "outstanding"), ("cases", 0, "amount"), ("cases", 2)],
        {
            "creditor": CREDITOR,
            "debtor": {"name": "Zoë de Vries"},
            "totals": {"currency": "EUR", "outstanding": 128_450},
            "cases": [
                {"reference": "CJIB-2025-000101", "amount": 45_000},
                {"reference": "CJIB-2025-000103", "amount": 50_000, "status": "open"},
            ],
            "statement_date": "2025-11-01",
            "remark": "Bedragen in eurocent — peildatum 1 november",
        },
    ),
    Scenario(
        "debt-none",
        DEBT_STATEMENT,
        [],
        {
            "creditor": CREDITOR,
            "totals": {"currency": "EUR"},
            "cases": [],
            "statement_date": "2025-11-01",
            "remark": "Bedragen in eurocent — peildatum 1 november",
        },
    ),
    Scenario(
        "debt-all",
        DEBT_STATEMENT,
        None,
        {
            "creditor": CREDITOR,
            "debtor": {"name": "Zoë de Vries", "bsn": "999993653"},
            "totals": {"currency": "EUR", "outstanding": 128_450, "case_count": 3},
            "cases": [
                {
                    "reference": "CJIB-2025-000101",
                    "amount": 45_000,
                    "status": "open",
                    "description": "Verkeersboete A2 — flitser km 97,3",
                },
                {"reference": "CJIB-2025-000102", "amount": 33_450, "status": "regeling"},
                {"reference": "CJIB-2025-000103", "amount": 50_000, "status": "open"},
            ],
            "statement_date": "2025-11-01",
            "remark": "Bedragen in eurocent — peildatum 1 november",
        },
    ),
]
DEBT_SOME = SCENARIOS[1]

# Values JavaScript treats as falsy, empty containers and null, as properties and elements.
EDGES = {
    "given_name": SD("Zoë"),
    "is_minor": SD(False),
    "middle_name": SD(None),
    "children": SD(0),
    "nickname": SD(""),
    "aliases": SD([]),
    "extra": SD({}),
    "tags": [SD(""), SD(False), "vast", SD(None), SD(0)],
}
SCENARIOS.append(
    Scenario(
        "edges",
        EDGES,
        [
            ("is_minor",),
            ("middle_name",),
            ("children",),
            ("aliases",),
            ("extra",),
            ("tags", 1),
            ("tags", 3),
            ("tags", 4),
        ],
        {
            "is_minor": False,
            "middle_name": None,
            "children": 0,
            "aliases": [],
            "extra": {},
            "tags": [False, "vast", None, 0],
        },
    )
)


# ------------------------------------------------------------------------------------------
# SD marks -> the peer's frames
# ------------------------------------------------------------------------------------------
def _unwrap(v: Any) -> Any:
    return v.value if isinstance(v, SD) else v


def _plain(v: Any) -> Any:
    """The claims with every SD mark removed (what the issuer signs, before packing)."""
    v = _unwrap(v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _has_marks(v: Any) -> bool:
    v = _unwrap(v)
    if isinstance(v, dict):
        return any(isinstance(x, SD) or _has_marks(x) for x in v.values())
    if isinstance(v, list):
        return any(isinstance(x, SD) or _has_marks(x) for x in v)
    return False


def _items(v: Any) -> list[tuple[str | int, Any]]:
    return list(v.items()) if isinstance(v, dict) else list(enumerate(v))


def disclosure_frame(v: Any, decoys: int = 0) -> dict[str, Any]:
    """``@sd-jwt`` DisclosureFrame: ``_sd`` lists the marked names (indices for arrays), a
    member per child that has marks inside, and ``decoys`` decoy digests where ``_sd`` is."""
    v = _unwrap(v)
    frame: dict[str, Any] = {}
    sd = [k for k, x in _items(v) if isinstance(x, SD)]
    if sd:
        frame["_sd"] = sd
        if decoys:
            frame["_sd_decoy"] = decoys
    for k, x in _items(v):
        if _has_marks(x):
            frame[str(k)] = disclosure_frame(x, decoys)
    return frame


def _reveal_all(v: Any) -> dict[str, Any] | bool:
    """Presentation frame revealing every disclosure at or under ``v`` (our path semantics)."""
    v = _unwrap(v)
    if not isinstance(v, (dict, list)):
        return True
    return {str(k): _reveal_all(x) for k, x in _items(v) if isinstance(x, SD) or _has_marks(x)}


def _merge(a: dict[str, Any] | bool, b: dict[str, Any] | bool) -> dict[str, Any] | bool:
    if not isinstance(a, dict):
        return b
    if not isinstance(b, dict):
        return a
    out = dict(a)
    for k, x in b.items():
        out[k] = _merge(out[k], x) if k in out else x
    return out


def presentation_frame(claims: dict[str, Any], reveal: list[Path_] | None) -> Any:
    """``@sd-jwt`` PresentationFrame for our claim paths (``None``: present everything).

    The peer's ``{"a": {"b": true}}`` presents the disclosures of ``a`` and ``a.b`` only, so a
    path to a container is expanded to everything beneath it, as our ``select`` does.
    """
    if reveal is None:
        return None
    frame: dict[str, Any] | bool = {}
    for path in reveal:
        node: Any = claims
        for seg in path:
            node = _unwrap(node)[seg]
        sub: dict[str, Any] | bool = _reveal_all(node)
        for seg in reversed(path):
            sub = {str(seg): sub}
        frame = _merge(frame, sub)
    return frame


def dotted_keys(v: Any, prefix: str = "") -> list[str]:
    """Claim keys as ``@sd-jwt`` names them (``cases.0.amount``), for ``requiredClaimKeys``."""
    out: list[str] = []
    if isinstance(v, (dict, list)):
        for k, x in _items(v):
            name = f"{prefix}.{k}" if prefix else str(k)
            out.append(name)
            out.extend(dotted_keys(x, name))
    return out


# ------------------------------------------------------------------------------------------
# Fixtures and helpers
# ------------------------------------------------------------------------------------------
@pytest.fixture
def peer(node_peer: Any) -> Any:
    return node_peer("sdjwt-node")


@dataclass(frozen=True)
class Parties:
    issuer: Key
    holder: Key
    now: int

    @property
    def time_claims(self) -> dict[str, int]:
        return {"iat": self.now, "exp": self.now + 3600}

    def full(self, disclosed: dict[str, Any]) -> dict[str, Any]:
        """All claims a verifier sees except ``cnf``."""
        return {"iss": ISS, "vct": VCT, **self.time_claims, **disclosed}


@pytest.fixture(params=["ES256", "EdDSA"])
def parties(request: pytest.FixtureRequest) -> Parties:
    return Parties(Key.generate(request.param), Key.generate(request.param), int(time.time()))


@pytest.fixture
def es256() -> Parties:
    return Parties(Key.generate("ES256"), Key.generate("ES256"), int(time.time()))


def theirs_issue(peer: Any, p: Parties, claims: dict[str, Any]) -> str:
    token = peer.call(
        "issue",
        issuer_jwk=p.issuer.private_jwk(),
        holder_jwk=p.holder.public_jwk(),
        claims={**p.time_claims, **_plain(claims)},
        disclosure_frame=disclosure_frame(claims, decoys=2),
        vct=VCT,
        iss=ISS,
        header={"kid": p.issuer.kid},
    )["sd_jwt"]
    assert isinstance(token, str)
    return token


def ours_issue(p: Parties, claims: dict[str, Any]) -> str:
    return issue_sd_jwt(
        {"iss": ISS, "vct": VCT, **p.time_claims, **claims},
        p.issuer,
        typ=TYP,
        holder_jwk=p.holder.public_jwk(),
    )


def theirs_present(
    peer: Any,
    sd_jwt: str,
    s: Scenario,
    holder: Key | None,
    *,
    nonce: str = NONCE,
    iat: float | None = None,
) -> str:
    args: dict[str, Any] = {
        "sd_jwt": sd_jwt,
        "presentation_frame": presentation_frame(s.claims, s.reveal),
    }
    if holder is not None:
        args |= {"holder_jwk": holder.private_jwk(), "nonce": nonce, "aud": AUD}
    if iat is not None:
        args["iat"] = iat
    vp = peer.call("present", **args)["presentation"]
    assert isinstance(vp, str)
    return vp


def ours_present(sd_jwt: str, s: Scenario, holder: Key | None, *, nonce: str = NONCE) -> str:
    return SDJWT.parse(sd_jwt).present(
        s.reveal,
        holder_key=holder,
        nonce=nonce if holder else None,
        audience=AUD if holder else None,
    )


def ours_verify(vp: str, p: Parties, *, nonce: str = NONCE, aud: str = AUD) -> dict[str, Any]:
    res = verify_sd_jwt(
        vp,
        issuer_key=p.issuer.public(),
        key_binding=KeyBindingPolicy(nonce=nonce, audience=aud),
        typ=TYP,
    )
    assert res.key_bound
    assert res.header["typ"] == TYP
    assert _same_key(res.holder_jwk, p.holder)
    return res.claims


def theirs_verify_args(vp: str, p: Parties, s: Scenario) -> dict[str, Any]:
    return {
        "token": vp,
        "issuer_jwk": p.issuer.public_jwk(),
        "required_claim_keys": dotted_keys(s.expected),
        "nonce": NONCE,
        "aud": AUD,
        "typ": TYP,
    }


def theirs_verify(peer: Any, vp: str, p: Parties, s: Scenario) -> dict[str, Any]:
    res = peer.call("verify", **theirs_verify_args(vp, p, s))
    assert res["kb"] is not None, "peer did not check key binding"
    assert res["kb"]["payload"]["nonce"] == NONCE
    assert res["kb"]["payload"]["aud"] == AUD
    assert res["header"]["typ"] == TYP
    assert _same_key(res["payload"]["cnf"]["jwk"], p.holder)
    payload: dict[str, Any] = res["payload"]
    return payload


def _same_key(jwk: Any, key: Key) -> bool:
    return isinstance(jwk, dict) and Key.from_jwk(jwk) == key.public()


def _without_cnf(claims: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k != "cnf"}


def _split(vp: str) -> tuple[str, list[str], str]:
    jwt, *disclosures, kb = vp.split("~")
    return jwt, disclosures, kb


def _join(jwt: str, disclosures: list[str], kb: str) -> str:
    return "~".join([jwt, *disclosures, kb])


def _flip_char(s: str, at: int) -> str:
    """Replace one base64url character by another (a one-symbol transmission/tamper error)."""
    c = s[at]
    return s[:at] + ("B" if c == "A" else "A") + s[at + 1 :]


def _rewrite_disclosure(encoded: str, new_value: Any) -> str:
    """The same salt and claim name with a different value: what a cheating holder sends."""
    arr = json.loads(b64u_decode(encoded))
    arr[-1] = new_value
    return b64u_encode(json.dumps(arr, ensure_ascii=False).encode())


def _alter_issuer_payload(sd_jwt: str) -> str:
    """Change an always-visible claim in the issuer-signed JWT, keeping its signature."""
    jwt, rest = sd_jwt.split("~", 1)
    h, payload, sig = jwt.split(".")
    claims = json.loads(b64u_decode(payload))
    claims["creditor"]["name"] = "Incassobureau Malafide B.V."
    return ".".join([h, b64u_encode(json.dumps(claims).encode()), sig]) + "~" + rest


def _disclosure_index(vp: str, name: str) -> int:
    for i, enc in enumerate(_split(vp)[1]):
        arr = json.loads(b64u_decode(enc))
        if len(arr) == 3 and arr[1] == name:
            return i
    raise AssertionError(f"no disclosure for {name!r}")


# ------------------------------------------------------------------------------------------
# The four directions, on every scenario, ES256 and EdDSA
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("s", SCENARIOS, ids=lambda s: s.id)
def test_theirs_issue_theirs_present_ours_verify(peer: Any, parties: Parties, s: Scenario) -> None:
    sd_jwt = theirs_issue(peer, parties, s.claims)
    vp = theirs_present(peer, sd_jwt, s, parties.holder)
    assert _without_cnf(ours_verify(vp, parties)) == parties.full(s.expected)


@pytest.mark.parametrize("s", SCENARIOS, ids=lambda s: s.id)
def test_ours_issue_theirs_present_ours_verify(peer: Any, parties: Parties, s: Scenario) -> None:
    sd_jwt = ours_issue(parties, s.claims)
    vp = theirs_present(peer, sd_jwt, s, parties.holder)
    assert _without_cnf(ours_verify(vp, parties)) == parties.full(s.expected)


@pytest.mark.parametrize("s", SCENARIOS, ids=lambda s: s.id)
def test_ours_issue_ours_present_theirs_verify(peer: Any, parties: Parties, s: Scenario) -> None:
    vp = ours_present(ours_issue(parties, s.claims), s, parties.holder)
    assert _without_cnf(theirs_verify(peer, vp, parties, s)) == parties.full(s.expected)


@pytest.mark.parametrize("s", SCENARIOS, ids=lambda s: s.id)
def test_theirs_issue_ours_present_theirs_verify(peer: Any, parties: Parties, s: Scenario) -> None:
    vp = ours_present(theirs_issue(peer, parties, s.claims), s, parties.holder)
    assert _without_cnf(theirs_verify(peer, vp, parties, s)) == parties.full(s.expected)


def test_both_sides_decode_our_issuance_alike(peer: Any, es256: Parties) -> None:
    """The peer's unverified view of our credential: same claims, same disclosures."""
    sd_jwt = ours_issue(es256, DEBT_STATEMENT)
    decoded = peer.call("decode", token=sd_jwt)
    ours = verify_sd_jwt(sd_jwt, issuer_key=es256.issuer.public(), typ=TYP)
    assert decoded["claims"] == ours.claims
    assert decoded["header"]["typ"] == TYP
    assert decoded["header"]["kid"] == es256.issuer.kid
    assert decoded["kb"] is None
    theirs = sorted(
        json.dumps([d["key"], d["value"]], sort_keys=True) for d in decoded["disclosures"]
    )
    mine = sorted(
        json.dumps([d.name, d.value], sort_keys=True) for d in SDJWT.parse(sd_jwt).disclosures
    )
    assert theirs == mine
    assert len(mine) == 15  # debtor (+2), totals (2), 3 cases (+7 fields)


def test_keys_generated_by_the_peer(peer: Any) -> None:
    """WebCrypto-exported JWKs (``key_ops``, ``ext``) work as issuer and holder keys for us."""
    issuer_keys = peer.call("generate_key", alg="ES256")
    holder_keys = peer.call("generate_key", alg="EdDSA")
    p = Parties(
        Key.from_jwk(issuer_keys["private_jwk"]),
        Key.from_jwk(holder_keys["private_jwk"]),
        int(time.time()),
    )
    assert Key.from_jwk(issuer_keys["public_jwk"]) == p.issuer.public()
    sd_jwt = theirs_issue(peer, p, DEBT_SOME.claims)
    vp = theirs_present(peer, sd_jwt, DEBT_SOME, p.holder)
    assert _without_cnf(ours_verify(vp, p)) == p.full(DEBT_SOME.expected)
    vp = ours_present(sd_jwt, DEBT_SOME, p.holder)
    assert _without_cnf(theirs_verify(peer, vp, p, DEBT_SOME)) == p.full(DEBT_SOME.expected)


def test_ours_accepts_a_fractional_kb_iat(peer: Any, es256: Parties) -> None:
    """A NumericDate may be fractional (RFC 7519 section 2): a holder writing
    ``Date.now() / 1000`` into the KB-JWT must not be refused for that."""
    iat = int(time.time()) - 0.5
    vp = theirs_present(peer, ours_issue(es256, DEBT_SOME.claims), DEBT_SOME, es256.holder, iat=iat)
    assert peer.call("decode", token=vp)["kb"]["payload"]["iat"] == iat != int(iat)
    assert _without_cnf(ours_verify(vp, es256)) == es256.full(DEBT_SOME.expected)


# ------------------------------------------------------------------------------------------
# Tampering: what one side produces, the other refuses
# ------------------------------------------------------------------------------------------
@pytest.fixture
def their_vp(peer: Any, es256: Parties) -> str:
    return theirs_present(
        peer, theirs_issue(peer, es256, DEBT_SOME.claims), DEBT_SOME, es256.holder
    )


@pytest.fixture
def our_vp(es256: Parties) -> str:
    return ours_present(ours_issue(es256, DEBT_SOME.claims), DEBT_SOME, es256.holder)


def test_ours_refuses_their_presentation_with_a_flipped_disclosure_char(
    their_vp: str, es256: Parties
) -> None:
    jwt, ds, kb = _split(their_vp)
    for at in (3, len(ds[0]) // 2):
        tampered = _join(jwt, [_flip_char(ds[0], at), *ds[1:]], kb)
        with pytest.raises((DisclosureError, HolderBindingError)):
            ours_verify(tampered, es256)


def test_ours_refuses_their_presentation_with_a_rewritten_disclosure(
    their_vp: str, es256: Parties
) -> None:
    jwt, ds, _ = _split(their_vp)
    i = _disclosure_index(their_vp, "outstanding")
    ds[i] = _rewrite_disclosure(ds[i], 1)
    # The holder may sign a fresh KB-JWT over the forgery: the digest check alone must catch it.
    forged = SDJWT.parse(_join(jwt, ds, "")).present(
        None, holder_key=es256.holder, nonce=NONCE, audience=AUD
    )
    with pytest.raises(DisclosureError) as e:
        ours_verify(forged, es256)
    assert e.value.code == "disclosure_unreferenced"


@pytest.mark.parametrize(
    ("nonce", "aud", "code"),
    [
        ("other-nonce", AUD, "nonce_mismatch"),
        (NONCE, "https://elsewhere.example", "audience_mismatch"),
    ],
)
def test_ours_refuses_their_presentation_for_another_nonce_or_audience(
    their_vp: str, es256: Parties, nonce: str, aud: str, code: str
) -> None:
    with pytest.raises(HolderBindingError) as e:
        ours_verify(their_vp, es256, nonce=nonce, aud=aud)
    assert e.value.code == code


def test_ours_refuses_their_presentation_signed_by_another_holder_key(
    peer: Any, es256: Parties
) -> None:
    sd_jwt = theirs_issue(peer, es256, DEBT_SOME.claims)
    vp = theirs_present(peer, sd_jwt, DEBT_SOME, Key.generate("ES256"))
    with pytest.raises(HolderBindingError) as e:
        ours_verify(vp, es256)
    assert e.value.code == "key_binding_signature"


def test_ours_refuses_their_presentation_without_key_binding(peer: Any, es256: Parties) -> None:
    vp = theirs_present(peer, theirs_issue(peer, es256, DEBT_SOME.claims), DEBT_SOME, None)
    assert vp.endswith("~")
    with pytest.raises(HolderBindingError) as e:
        ours_verify(vp, es256)
    assert e.value.code == "key_binding_missing"


def test_ours_refuses_their_credential_with_an_altered_payload(peer: Any, es256: Parties) -> None:
    forged = _alter_issuer_payload(theirs_issue(peer, es256, DEBT_SOME.claims))
    vp = theirs_present(peer, forged, DEBT_SOME, es256.holder)
    with pytest.raises(SignatureError) as e:
        ours_verify(vp, es256)
    assert e.value.code == "signature_invalid"


def test_theirs_refuses_our_presentation_with_a_flipped_disclosure_char(
    peer: Any, our_vp: str, es256: Parties
) -> None:
    jwt, ds, kb = _split(our_vp)
    for at in (3, len(ds[0]) // 2):
        tampered = _join(jwt, [_flip_char(ds[0], at), *ds[1:]], kb)
        args = theirs_verify_args(tampered, es256, DEBT_SOME)
        assert peer.fails("verify", **args)
        # Without required claims the peer still refuses: the KB-JWT's sd_hash, or the JSON.
        message = peer.fails("verify", **(args | {"required_claim_keys": []}))
        assert "sd_hash" in message or "JSON" in message


@pytest.mark.parametrize(
    ("nonce", "aud", "message"),
    [("other-nonce", AUD, "Invalid Nonce"), (NONCE, "https://elsewhere.example", "aud")],
)
def test_theirs_refuses_our_presentation_for_another_nonce_or_audience(
    peer: Any, our_vp: str, es256: Parties, nonce: str, aud: str, message: str
) -> None:
    args = theirs_verify_args(our_vp, es256, DEBT_SOME) | {"nonce": nonce, "aud": aud}
    assert message in peer.fails("verify", **args)


def test_theirs_refuses_our_presentation_signed_by_another_holder_key(
    peer: Any, es256: Parties
) -> None:
    sd_jwt = ours_issue(es256, DEBT_SOME.claims)
    vp = ours_present(sd_jwt, DEBT_SOME, Key.generate("ES256"))
    assert "Signature" in peer.fails("verify", **theirs_verify_args(vp, es256, DEBT_SOME))


def test_theirs_refuses_our_presentation_without_key_binding(peer: Any, es256: Parties) -> None:
    vp = ours_present(ours_issue(es256, DEBT_SOME.claims), DEBT_SOME, None)
    assert "Key Binding JWT not exist" in peer.fails(
        "verify", **theirs_verify_args(vp, es256, DEBT_SOME)
    )


def test_theirs_refuses_our_credential_with_an_altered_payload(peer: Any, es256: Parties) -> None:
    forged = _alter_issuer_payload(ours_issue(es256, DEBT_SOME.claims))
    vp = SDJWT.parse(forged).present(
        DEBT_SOME.reveal, holder_key=es256.holder, nonce=NONCE, audience=AUD
    )
    assert "Invalid JWT Signature" in peer.fails(
        "verify", **theirs_verify_args(vp, es256, DEBT_SOME)
    )


def test_theirs_never_surfaces_a_rewritten_disclosure(
    peer: Any, our_vp: str, es256: Parties
) -> None:
    """A holder rewrites ``totals.outstanding`` and signs a fresh KB-JWT. The peer ignores the
    unreferenced disclosure instead of refusing (more lenient than RFC 9901 section 7.1 step
    3.5, which we follow), but it must never show the forged value, and a verifier that
    requires the claim refuses."""
    jwt, ds, _ = _split(our_vp)
    i = _disclosure_index(our_vp, "outstanding")
    ds[i] = _rewrite_disclosure(ds[i], 1)
    forged_sd = _join(jwt, ds, "")
    forged = forged_sd + make_kb_jwt(forged_sd, es256.holder, nonce=NONCE, audience=AUD)
    with pytest.raises(DisclosureError):
        ours_verify(forged, es256)
    answer = peer.run(
        "verify", **(theirs_verify_args(forged, es256, DEBT_SOME) | {"required_claim_keys": []})
    )
    if answer["ok"]:
        assert "outstanding" not in answer["result"]["payload"]["totals"]
    assert "totals.outstanding" in peer.fails(
        "verify", **theirs_verify_args(forged, es256, DEBT_SOME)
    )


def test_peer_failures_are_reported_not_swallowed(peer: Any) -> None:
    """The harness itself: a malformed token is a refusal (``ok: false``), not a crash."""
    assert peer.fails("verify", token="not-a-token", issuer_jwk=Key.generate().public_jwk())


def test_all_failures_are_typed(their_vp: str, es256: Parties) -> None:
    """Whatever the peer's bytes, our verifier raises only our error tree."""
    jwt, ds, kb = _split(their_vp)
    for at in range(0, len(kb), max(1, len(kb) // 7)):
        with pytest.raises(BlauweKnopError):
            ours_verify(_join(jwt, ds, _flip_char(kb, at)), es256)
