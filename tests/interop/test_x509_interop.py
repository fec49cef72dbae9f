"""``x5c`` in SD-JWT VCs across implementations, with the independent ``@sd-jwt/sd-jwt-vc``
peer (tests/interop/sdjwt-node): their issuer puts our scheme CA's chain in the header and we
verify through it (and refuse a chain to another root); our issuer's ``x5c`` token verifies in
their verifier with the leaf's key (specs/x509.md)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from blauweknop import Key, KeyBindingPolicy, TrustError, issue_sd_jwt, verify_sd_jwt
from blauweknop._jws import parse_compact
from blauweknop._sdjwt import SDJWT
from blauweknop.x509 import (
    CertificateAuthority,
    CertifiedSigner,
    decode_x5c,
    leaf_public_key,
    resolve_x5c_key,
)

pytestmark = pytest.mark.interop

ISS = "https://cjib.example.nl"
VCT = "urn:eudi:blauweknop:debt-statement:1"
NONCE, AUD, TYP = "n-x509-interop", "https://verifier.schuldhulp.example.nl", "dc+sd-jwt"


@pytest.fixture
def peer(node_peer: Any) -> Any:
    return node_peer("sdjwt-node")


def _their_token(peer: Any, ca: CertificateAuthority, issuer: Key, holder: Key, now: int) -> str:
    leaf = ca.issue("CJIB", issuer, uris=[ISS], now=now - 60)
    token = peer.call(
        "issue",
        issuer_jwk=issuer.private_jwk(),
        holder_jwk=holder.public_jwk(),
        claims={"iat": now, "exp": now + 3600, "balance": 1234},
        disclosure_frame={"_sd": ["balance"]},
        vct=VCT,
        iss=ISS,
        header={"kid": issuer.kid, "x5c": ca.x5c(leaf)},
    )["sd_jwt"]
    assert isinstance(token, str)
    return token


def _our_verify(vp: str, roots: list[Any]) -> dict[str, Any]:
    res = verify_sd_jwt(
        vp,
        issuer_key=lambda h, p: resolve_x5c_key(h["x5c"], p["iss"], roots, now=time.time()),
        key_binding=KeyBindingPolicy(nonce=NONCE, audience=AUD),
        typ=TYP,
        allow_x5c=True,
    )
    return res.claims


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_their_x5c_token_verifies_through_our_pinned_root(peer: Any, alg: str) -> None:
    now = int(time.time())
    root = CertificateAuthority.create("Scheme Root", Key.generate(alg), now=now - 60)
    issuer, holder = Key.generate(alg), Key.generate(alg)
    token = _their_token(peer, root, issuer, holder, now)
    vp = SDJWT.parse(token).present(None, holder_key=holder, nonce=NONCE, audience=AUD)
    claims = _our_verify(vp, [root.certificate])
    assert claims["iss"] == ISS and claims["balance"] == 1234
    other = CertificateAuthority.create("Scheme Root", now=now - 60)
    with pytest.raises(TrustError) as e:
        _our_verify(vp, [other.certificate])
    assert e.value.code == "x5c_untrusted_root"


def test_our_x5c_token_verifies_in_their_verifier(peer: Any) -> None:
    now = int(time.time())
    root = CertificateAuthority.create("Scheme Root", now=now - 60)
    sub = root.intermediate("Issuing CA", now=now - 60)
    issuer, holder = Key.generate(), Key.generate()
    signer = CertifiedSigner(
        issuer, [sub.issue("CJIB", issuer, uris=[ISS], now=now - 60), sub.certificate]
    )
    token = issue_sd_jwt(
        {"iss": ISS, "vct": VCT, "iat": now, "exp": now + 3600, "balance": 1234},
        signer,
        typ=TYP,
        holder_jwk=holder.public_jwk(),
    )
    header = parse_compact(token.split("~")[0], allow_x5c=True).header
    assert len(header["x5c"]) == 2
    # Their verifier is given the key the way an x5c-aware application takes it: the leaf's.
    leaf_key = leaf_public_key(decode_x5c(header["x5c"])[0])
    assert leaf_key == issuer.public()
    vp = SDJWT.parse(token).present(None, holder_key=holder, nonce=NONCE, audience=AUD)
    res = peer.call(
        "verify", token=vp, issuer_jwk=leaf_key.public_jwk(), nonce=NONCE, aud=AUD, typ=TYP
    )
    assert res["header"]["x5c"] == header["x5c"]
    assert res["payload"]["iss"] == ISS
