"""Self-signed JWTs that carry their key in the ``jwk`` header: the OpenID4VCI ``jwt`` key
proof (OpenID4VCI 1.0 appendix F.1, ``typ: openid4vci-proof+jwt``) and the DPoP proof
(RFC 9449 section 4, ``typ: dpop+jwt``). Checking both here, making both for the wallet.

Both refuse: another ``typ``, an algorithm outside ES256/EdDSA (never ``none``/HS*), a
missing or private ``jwk``, ``crit``, a bad signature, an ``iat`` outside the window.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .._codec import b64u_decode, b64u_encode, parse_json_object
from .._errors import BlauweKnopError
from .._jws import ParsedJWS
from .._keys import ALLOWED_JWS_ALGS, Key, Signer
from ._errors import OAuthError

__all__ = [
    "DPOP_TYP",
    "PROOF_TYP",
    "VerifiedKeyJWT",
    "access_token_hash",
    "make_dpop",
    "make_key_proof",
    "normalise_htu",
    "verify_dpop",
    "verify_key_proof",
]

PROOF_TYP = "openid4vci-proof+jwt"
DPOP_TYP = "dpop+jwt"
#: Largest proof accepted (a proof carries one public key and a few claims).
MAX_PROOF_BYTES = 4096
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k"})


@dataclass(frozen=True, kw_only=True)
class VerifiedKeyJWT:
    """A proof whose signature checked against the key in its own header."""

    key: Key
    jwk: dict[str, Any]
    claims: dict[str, Any]


def _check(token: object, *, typ: str, error: str, what: str) -> VerifiedKeyJWT:
    if not isinstance(token, str) or not token:
        raise OAuthError(error, f"{what} must be a compact JWT")
    if len(token) > MAX_PROOF_BYTES:
        raise OAuthError(error, f"{what} is larger than {MAX_PROOF_BYTES} bytes")
    parts = token.split(".")
    if len(parts) != 3:
        raise OAuthError(error, f"{what} must have three segments")
    try:
        header = parse_json_object(b64u_decode(parts[0], what="header"), what=f"{what} header")
        payload = b64u_decode(parts[1], what="payload")
        signature = b64u_decode(parts[2], what="signature")
        claims = parse_json_object(payload, what=f"{what} payload")
    except BlauweKnopError as e:
        raise OAuthError(error, f"{what}: {e.message}") from e
    if header.get("typ") != typ:
        raise OAuthError(error, f"{what} typ must be {typ}")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_JWS_ALGS:
        raise OAuthError(error, f"{what} algorithm {alg!r} is not allowed")
    if "crit" in header:
        raise OAuthError(error, f"{what}: crit is not supported")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise OAuthError(error, f"{what} must carry the public key in its jwk header")
    if _PRIVATE_MEMBERS.intersection(jwk):
        raise OAuthError(error, f"{what}: the jwk header holds a private key")
    if "x5c" in header or ("kid" in header and "jwk" not in header):
        raise OAuthError(error, f"{what}: only the jwk header is supported")
    try:
        key = Key.from_jwk(jwk)
        ParsedJWS(header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), signature).verify(
            key, algs=ALLOWED_JWS_ALGS
        )
    except BlauweKnopError as e:
        raise OAuthError(error, f"{what}: {e.message}") from e
    if key.has_private:
        raise OAuthError(error, f"{what}: the jwk header holds a private key")
    return VerifiedKeyJWT(key=key, jwk=key.public_jwk(with_kid=False), claims=claims)


def _check_iat(
    claims: Mapping[str, Any], now: int, *, max_age: int, skew: int, error: str, what: str
) -> None:
    iat = claims.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise OAuthError(error, f"{what} has no numeric iat")
    if iat > now + skew:
        raise OAuthError(error, f"{what} iat lies in the future")
    if iat < now - max_age:
        raise OAuthError(error, f"{what} is too old (iat)")


def verify_key_proof(
    token: object, *, audience: str, now: int, max_age: int = 300, skew: int = 60
) -> tuple[VerifiedKeyJWT, str]:
    """Check one ``jwt`` key proof: ``typ``, signature by its ``jwk``, ``aud`` equal to the
    Credential Issuer Identifier, ``iat`` within ``max_age`` seconds (and ``skew`` ahead),
    a ``nonce``. Returns the proof and its nonce (the caller uses the nonce once).

    Raises :class:`OAuthError` ``invalid_proof``.
    """
    proof = _check(token, typ=PROOF_TYP, error="invalid_proof", what="key proof")
    aud = proof.claims.get("aud")
    if not (aud == audience or (isinstance(aud, list) and aud == [audience])):
        raise OAuthError("invalid_proof", "key proof aud is not this credential issuer")
    _check_iat(
        proof.claims, now, max_age=max_age, skew=skew, error="invalid_proof", what="key proof"
    )
    nonce = proof.claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise OAuthError("invalid_proof", "key proof has no c_nonce")
    return proof, nonce


def normalise_htu(url: str) -> str:
    """An ``htu`` as compared (RFC 9449 section 4.3): no query, no fragment, lower-case
    scheme and host."""
    p = urlsplit(url)
    return urlunsplit((p.scheme.lower(), p.netloc.lower(), p.path or "/", "", ""))


def access_token_hash(token: str) -> str:
    """The DPoP ``ath``: base64url SHA-256 of the access token."""
    return b64u_encode(hashlib.sha256(token.encode("ascii")).digest())


def verify_dpop(
    token: object,
    *,
    method: str,
    url: str,
    now: int,
    access_token: str | None = None,
    max_age: int = 300,
    skew: int = 60,
) -> VerifiedKeyJWT:
    """Check a DPoP proof for this request (RFC 9449 section 4.3): ``typ``, signature by its
    ``jwk``, ``jti``, ``htm`` equal to ``method``, ``htu`` equal to ``url``, ``iat`` fresh,
    ``ath`` when an access token is presented. Replay (``jti``) is the caller's store's job.

    Raises :class:`OAuthError` ``invalid_dpop_proof``.
    """
    proof = _check(token, typ=DPOP_TYP, error="invalid_dpop_proof", what="DPoP proof")
    c = proof.claims
    jti = c.get("jti")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 256:
        raise OAuthError("invalid_dpop_proof", "DPoP proof needs a jti")
    if c.get("htm") != method:
        raise OAuthError("invalid_dpop_proof", "DPoP proof is for another HTTP method")
    htu = c.get("htu")
    if not isinstance(htu, str) or normalise_htu(htu) != normalise_htu(url):
        raise OAuthError("invalid_dpop_proof", "DPoP proof is for another URL")
    _check_iat(c, now, max_age=max_age, skew=skew, error="invalid_dpop_proof", what="DPoP proof")
    if access_token is not None and c.get("ath") != access_token_hash(access_token):
        raise OAuthError("invalid_dpop_proof", "DPoP proof ath does not match the access token")
    return proof


def _sign(header: dict[str, Any], claims: dict[str, Any], key: Signer) -> str:
    from .._jws import sign_compact

    return sign_compact(header, json.dumps(claims, separators=(",", ":")).encode(), key)


def make_key_proof(
    key: Key, *, audience: str, nonce: str, now: int, client_id: str | None = None
) -> str:
    """A ``jwt`` key proof for the wallet: the holder key proves possession for ``audience``."""
    claims: dict[str, Any] = {"aud": audience, "iat": now, "nonce": nonce}
    if client_id is not None:
        claims["iss"] = client_id
    header = {"typ": PROOF_TYP, "jwk": key.public_jwk(with_kid=False)}
    return _sign(header, claims, key)


def make_dpop(
    key: Key,
    *,
    method: str,
    url: str,
    now: int,
    access_token: str | None = None,
    nonce: str | None = None,
) -> str:
    """A DPoP proof for one HTTP request (fresh ``jti`` each call)."""
    claims: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": method,
        "htu": normalise_htu(url),
        "iat": now,
    }
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    header = {"typ": DPOP_TYP, "jwk": key.public_jwk(with_kid=False)}
    return _sign(header, claims, key)
