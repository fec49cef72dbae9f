"""Authorization Requests (OpenID4VP 1.0 sections 5 and 5.10; RFC 9101 JAR; HAIP 1.0 section 5).

The verifier signs its request as a JWT (``typ: oauth-authz-req+jwt``, ES256, the ``x5c``
chain of its certificate in the header) and the client identifier is ``x509_hash:<hash of the
leaf>``. The wallet takes nothing from the request before the signature, the chain to a pinned
root and the client identifier are checked (:func:`verify_request_object`).
"""

from __future__ import annotations

import ipaddress
import json
import time
import urllib.parse
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from .._codec import b64u_decode, parse_json_object
from .._dcql import DCQLQuery
from .._errors import MalformedError, PolicyError, SignatureError, TrustError
from .._jws import ParsedJWS, sign_compact
from .._keys import Signer
from .._limits import DEFAULT_LIMITS, Limits
from ._certs import X509_HASH, client_id_for, leaf_key, leaf_names, verify_x5c
from ._jwe import ALLOWED_ENC, JWE_ALG

__all__ = [
    "REQUEST_TYP",
    "SELF_ISSUED_AUD",
    "VerifiedRequest",
    "check_response_uri",
    "request_claims",
    "sign_request",
    "verify_request_object",
]

REQUEST_TYP = "oauth-authz-req+jwt"
#: The ``aud`` of a request object under static wallet discovery (section 5.8).
SELF_ISSUED_AUD = "https://self-issued.me/v2"
#: Wallet invocation schemes: OpenID4VP's own, HAIP 1.0's ``haip://`` and ``haip-vp://``.
WALLET_SCHEMES = ("openid4vp", "haip", "haip-vp")
MAX_REQUEST_BYTES = 128 * 1024
_LOOPBACK_HOSTS = {"localhost"}


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_response_uri(uri: object, *, what: str = "response_uri") -> str:
    """An ``https`` URL, or ``http`` on a loopback host (local development and tests only)."""
    if not isinstance(uri, str) or len(uri) > 2048:
        raise MalformedError("request_invalid", f"{what} must be a URL")
    parts = urllib.parse.urlsplit(uri)
    ok = parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname or ""))
    if not ok or not parts.hostname or parts.username or parts.password:
        raise MalformedError("request_invalid", f"{what} must be https (http only on loopback)")
    return uri


def request_claims(
    *,
    client_id: str,
    response_uri: str,
    nonce: str,
    state: str | None,
    dcql_query: Mapping[str, Any],
    enc_jwk: Mapping[str, str],
    response_mode: str = "direct_post.jwt",
    now: float,
    lifetime: int,
    wallet_nonce: str | None = None,
    expected_origins: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The request object's claims (sections 5.1, 5.2, 8.3; Annex A for ``dc_api.jwt``)."""
    claims: dict[str, Any] = {
        "response_type": "vp_token",
        "response_mode": response_mode,
        "client_id": client_id,
        "nonce": nonce,
        "dcql_query": dict(dcql_query),
        "client_metadata": {
            "jwks": {"keys": [dict(enc_jwk)]},
            "encrypted_response_enc_values_supported": list(ALLOWED_ENC),
            "vp_formats_supported": {
                "dc+sd-jwt": {
                    "sd-jwt_alg_values": ["ES256", "EdDSA"],
                    "kb-jwt_alg_values": ["ES256", "EdDSA"],
                },
                "ldp_vc": {
                    "proof_type_values": ["DataIntegrityProof"],
                    "cryptosuite_values": ["ecdsa-sd-2023", "ecdsa-rdfc-2019"],
                },
            },
        },
        "iat": int(now),
        "exp": int(now) + lifetime,
    }
    if response_mode == "direct_post.jwt":
        claims["aud"] = SELF_ISSUED_AUD
        claims["response_uri"] = response_uri
    if state is not None:
        claims["state"] = state
    if wallet_nonce is not None:
        claims["wallet_nonce"] = wallet_nonce
    if expected_origins is not None:
        claims["expected_origins"] = list(expected_origins)
    return claims


def sign_request(claims: Mapping[str, Any], signer: Signer, x5c: Sequence[str]) -> str:
    """Sign a request object as a JAR with the leaf certificate's key (ES256 only)."""
    if signer.alg != "ES256":
        raise SignatureError("algorithm_not_allowed", "HAIP request objects are signed with ES256")
    header = {"alg": "ES256", "typ": REQUEST_TYP, "x5c": list(x5c)}
    body = json.dumps(dict(claims), separators=(",", ":"), ensure_ascii=False).encode()
    return sign_compact(header, body, signer)


@dataclass(frozen=True, kw_only=True)
class VerifiedRequest:
    """A request object whose signature, ``x5c`` chain and client identifier were checked.

    Attributes:
        client_id: ``x509_hash:...``; the audience of the presentations.
        claims: the request object's claims (checked members below; the rest as received).
        certificate: the verified leaf certificate.
        names: its SAN URIs and DNS names (the organisation's trust-list id among them).
        dcql: the parsed DCQL query.
        nonce / state / response_uri / response_mode: as requested.
        enc_jwk / enc: the verifier's encryption key and the content encryption chosen.
    """

    client_id: str
    claims: Mapping[str, Any] = field(repr=False)
    certificate: x509.Certificate = field(repr=False)
    names: tuple[str, ...]
    dcql: DCQLQuery = field(repr=False)
    nonce: str = field(repr=False)
    state: str | None = field(repr=False)
    response_uri: str | None
    response_mode: str
    enc_jwk: Mapping[str, Any] = field(repr=False)
    enc: str


def _split_jws(token: str, limits: Limits) -> ParsedJWS:
    if not isinstance(token, str) or len(token) > MAX_REQUEST_BYTES:
        raise MalformedError("request_invalid", "request object missing or too large")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedError("request_invalid", "the request object is not a compact JWS")
    header = parse_json_object(
        b64u_decode(parts[0], what="request header"), limits=limits, what="request header"
    )
    alg = header.get("alg")
    if alg == "none" or (len(parts[2]) == 0):
        raise SignatureError("request_unsigned", "the request object is not signed")
    if alg != "ES256":
        raise SignatureError("algorithm_not_allowed", f"request alg {alg!r} (only ES256)")
    if header.get("typ") != REQUEST_TYP:
        raise MalformedError("typ_mismatch", f"request typ must be {REQUEST_TYP}")
    if "crit" in header:
        raise SignatureError("crit_not_understood", "crit is not supported in request objects")
    return ParsedJWS(
        header,
        b64u_decode(parts[1], what="request payload"),
        f"{parts[0]}.{parts[1]}".encode("ascii"),
        b64u_decode(parts[2], what="request signature"),
    )


def select_enc_key(metadata: Any) -> tuple[Mapping[str, Any], str]:
    """The verifier's response key (the first P-256 ``ECDH-ES`` key for encryption in
    ``client_metadata.jwks``) and the first offered ``enc`` we support (default A128GCM)."""
    if not isinstance(metadata, Mapping):
        raise MalformedError("request_invalid", "client_metadata is missing")
    keys = (
        metadata.get("jwks", {}).get("keys") if isinstance(metadata.get("jwks"), Mapping) else None
    )
    if not isinstance(keys, list):
        raise MalformedError("request_invalid", "client_metadata.jwks.keys is missing")
    chosen = None
    for k in keys:
        if (
            isinstance(k, Mapping)
            and k.get("kty") == "EC"
            and k.get("crv") == "P-256"
            and k.get("alg") == JWE_ALG
            and k.get("use", "enc") == "enc"
        ):
            chosen = k
            break
    if chosen is None:
        raise PolicyError("jwe_key_unsupported", "the verifier offers no P-256 ECDH-ES key")
    offered = metadata.get("encrypted_response_enc_values_supported", ["A128GCM"])
    if not isinstance(offered, list):
        raise MalformedError("request_invalid", "encrypted_response_enc_values_supported")
    for enc in offered:  # the verifier's preference order, among what we support
        if enc in ALLOWED_ENC:
            return chosen, enc
    raise PolicyError("jwe_enc_not_allowed", "no content encryption we support is offered")


def verify_request_object(
    token: str,
    *,
    roots: Sequence[x509.Certificate],
    now: float | None = None,
    expected_client_id: str | None = None,
    wallet_nonce: str | None = None,
    response_modes: Sequence[str] = ("direct_post.jwt",),
    revoked: Collection[str] = (),
    leeway: int = 60,
    limits: Limits = DEFAULT_LIMITS,
) -> VerifiedRequest:
    """Verify a signed request object (wallet side) and return what it asks.

    Checks, in order: JWS form, ``alg`` ES256, ``typ``, the ``x5c`` chain to one of ``roots``
    at ``now`` (none of its certificates in ``revoked``), the signature with the leaf's key,
    ``client_id`` = ``x509_hash`` of the leaf (and equal to the outer ``client_id``), times,
    ``wallet_nonce``, ``response_type``, ``response_mode``, ``response_uri``, the DCQL query
    and the encryption key.

    Raises:
        SignatureError: ``request_unsigned``, ``algorithm_not_allowed``, ``signature_invalid``.
        TrustError: ``x5c_*`` codes of the chain check, ``client_id_mismatch``.
        MalformedError: ``request_invalid``, ``typ_mismatch``, ``dcql_invalid``.
        ValidityError-like PolicyError: ``request_expired``, ``wallet_nonce_mismatch``,
            ``response_mode_not_supported``.
    """
    now = time.time() if now is None else now
    jws = _split_jws(token, limits)
    leaf = verify_x5c(jws.header.get("x5c"), roots, now=now, revoked=revoked)
    jws.verify(leaf_key(leaf), algs=("ES256",))
    claims = parse_json_object(jws.payload, limits=limits, what="request object")
    client_id = claims.get("client_id")
    if not isinstance(client_id, str) or not client_id.startswith(X509_HASH):
        raise TrustError("client_id_mismatch", "the client_id is not an x509_hash identifier")
    if client_id != client_id_for(jws.header["x5c"]):
        raise TrustError("client_id_mismatch", "x509_hash does not match the leaf certificate")
    if expected_client_id is not None and expected_client_id != client_id:
        raise TrustError("client_id_mismatch", "the request's client_id differs from the URL's")
    exp, iat = claims.get("exp"), claims.get("iat", now)
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp + leeway < now:
        raise PolicyError("request_expired", "the request object has expired (or has no exp)")
    if not isinstance(iat, int | float) or isinstance(iat, bool) or iat - leeway > now:
        raise PolicyError("request_expired", "the request object was issued in the future")
    if wallet_nonce is not None and claims.get("wallet_nonce") != wallet_nonce:
        raise PolicyError("wallet_nonce_mismatch", "the request does not carry our wallet_nonce")
    if claims.get("response_type") != "vp_token":
        raise MalformedError("request_invalid", "response_type must be vp_token")
    mode = claims.get("response_mode")
    if not isinstance(mode, str) or mode not in response_modes:
        raise PolicyError("response_mode_not_supported", f"response_mode {mode!r} is not offered")
    response_uri = None
    if mode == "direct_post.jwt":
        response_uri = check_response_uri(claims.get("response_uri"))
    nonce, state = claims.get("nonce"), claims.get("state")
    if not isinstance(nonce, str) or not nonce or len(nonce) > 512:
        raise MalformedError("request_invalid", "nonce must be a non-empty string")
    if state is not None and (not isinstance(state, str) or not state or len(state) > 512):
        raise MalformedError("request_invalid", "state must be a non-empty string")
    if "dcql_query" not in claims:
        raise MalformedError("request_invalid", "the request has no dcql_query")
    dcql = DCQLQuery.parse(claims["dcql_query"], limits)
    enc_jwk, enc = select_enc_key(claims.get("client_metadata"))
    return VerifiedRequest(
        client_id=client_id,
        claims=claims,
        certificate=leaf,
        names=leaf_names(leaf),
        dcql=dcql,
        nonce=nonce,
        state=state,
        response_uri=response_uri,
        response_mode=mode,
        enc_jwk=enc_jwk,
        enc=enc,
    )


def parse_wallet_uri(uri: str) -> dict[str, str]:
    """The parameters of an ``openid4vp://``, ``haip://`` or ``haip-vp://`` invocation URL
    (or an https link with the same query), each given once."""
    if not isinstance(uri, str) or len(uri) > 8192:
        raise MalformedError("request_uri_invalid", "the request link is too long")
    parts = urllib.parse.urlsplit(uri.strip())
    if parts.scheme not in (*WALLET_SCHEMES, "https", "http"):
        raise MalformedError("request_uri_invalid", f"unknown link scheme {parts.scheme!r}")
    try:
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError as e:
        raise MalformedError("request_uri_invalid", "the link's query is malformed") from e
    out: dict[str, str] = {}
    for k, v in pairs:
        if k in out:
            raise MalformedError("request_uri_invalid", f"parameter {k!r} given twice")
        out[k] = v
    return out
