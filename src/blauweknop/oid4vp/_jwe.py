"""Encrypted responses (OpenID4VP 1.0 section 8.3): an unsigned JWT inside a compact JWE.

Only what HAIP needs is accepted: ``alg`` ``ECDH-ES`` with a P-256 key, ``enc`` ``A128GCM``
or ``A256GCM``, no compression. The header is checked here before jwcrypto sees the token, so
``dir``, ``none``, RSA, key wrapping, other ``enc`` values and tokens for a key other than the
session's are refused with their own codes and no key is ever tried on them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from jwcrypto import jwe as _jwe
from jwcrypto import jwk as _jwk
from jwcrypto.common import JWException

from .._codec import b64u_decode, parse_json_object
from .._errors import MalformedError, PolicyError
from .._limits import DEFAULT_LIMITS, Limits

__all__ = [
    "ALLOWED_ENC",
    "JWE_ALG",
    "decrypt_response",
    "encrypt_response",
    "ephemeral_key",
    "public_enc_jwk",
]

JWE_ALG = "ECDH-ES"
#: Content encryption the verifier offers and accepts (HAIP: A128GCM must be supported).
ALLOWED_ENC = ("A128GCM", "A256GCM")
_ALLOWED_HEADER = frozenset({"alg", "enc", "kid", "epk", "apu", "apv", "typ", "cty"})
MAX_JWE_BYTES = 3 * 1024 * 1024


def ephemeral_key() -> dict[str, str]:
    """A fresh P-256 key pair for one request, as a private JWK with a random ``kid``."""
    key = _jwk.JWK.generate(kty="EC", crv="P-256")
    key["kid"] = key.thumbprint()
    priv: dict[str, str] = json.loads(key.export_private())
    return priv


def public_enc_jwk(private_jwk: Mapping[str, str]) -> dict[str, str]:
    """The public half of an ephemeral key, marked for response encryption (section 8.3)."""
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": private_jwk["x"],
        "y": private_jwk["y"],
        "kid": private_jwk["kid"],
        "use": "enc",
        "alg": JWE_ALG,
    }


def encrypt_response(
    payload: Mapping[str, Any], public_jwk: Mapping[str, Any], *, enc: str = "A128GCM"
) -> str:
    """Encrypt an Authorization Response to the verifier's key (wallet side)."""
    if enc not in ALLOWED_ENC:
        raise PolicyError("jwe_enc_not_allowed", f"enc {enc!r} is not supported")
    if (
        public_jwk.get("kty") != "EC"
        or public_jwk.get("crv") != "P-256"
        or public_jwk.get("alg", JWE_ALG) != JWE_ALG
        or any(m in public_jwk for m in ("d", "p", "q", "k"))
    ):
        raise PolicyError("jwe_key_unsupported", "the verifier offers no P-256 ECDH-ES key")
    try:
        key = _jwk.JWK(**{k: public_jwk[k] for k in ("kty", "crv", "x", "y")})
    except (JWException, ValueError, TypeError) as e:
        raise PolicyError("jwe_key_unsupported", "the verifier's encryption key is invalid") from e
    header: dict[str, Any] = {"alg": JWE_ALG, "enc": enc}
    if isinstance(public_jwk.get("kid"), str):
        header["kid"] = public_jwk["kid"]
    token = _jwe.JWE(
        json.dumps(payload, separators=(",", ":")).encode(), protected=json.dumps(header)
    )
    token.add_recipient(key)
    out: str = token.serialize(compact=True)
    return out


def jwe_header(token: str, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """The protected header of a compact JWE, parsed strictly (no key is used)."""
    if not isinstance(token, str):
        raise MalformedError("jwe_invalid", "the response is not a compact JWE string")
    if len(token) > MAX_JWE_BYTES:
        raise MalformedError("too_large", f"the response is larger than {MAX_JWE_BYTES} bytes")
    parts = token.split(".")
    if len(parts) != 5:
        raise MalformedError("jwe_invalid", "a compact JWE has five segments")
    return parse_json_object(b64u_decode(parts[0], what="JWE header"), limits=limits, what="JWE")


def decrypt_response(
    token: str,
    private_jwk: Mapping[str, str],
    *,
    enc_values: Collection[str] = ALLOWED_ENC,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Decrypt the ``response`` of ``direct_post.jwt`` / ``dc_api.jwt`` with the session key.

    Raises:
        MalformedError: ``jwe_invalid`` (not a JWE, does not decrypt, payload not a JSON
            object), ``too_large``.
        PolicyError: ``jwe_alg_not_allowed`` (anything but ``ECDH-ES``), ``jwe_enc_not_allowed``,
            ``jwe_key_unknown`` (``kid`` or ``epk`` curve does not fit this session's key).
    """
    header = jwe_header(token, limits)
    alg = header.get("alg")
    if alg != JWE_ALG:
        raise PolicyError("jwe_alg_not_allowed", f"JWE alg {alg!r} is not allowed (only ECDH-ES)")
    enc = header.get("enc")
    if not isinstance(enc, str) or enc not in enc_values or enc not in ALLOWED_ENC:
        raise PolicyError("jwe_enc_not_allowed", f"JWE enc {enc!r} is not allowed")
    extra = set(header) - _ALLOWED_HEADER
    if extra:  # zip, crit, jku, x5u...: nothing we process
        raise PolicyError("jwe_header_not_allowed", f"JWE header {sorted(extra)[0]!r}")
    if header.get("kid", private_jwk["kid"]) != private_jwk["kid"]:
        raise PolicyError("jwe_key_unknown", "the response is encrypted to another key")
    epk = header.get("epk")
    if not isinstance(epk, Mapping) or epk.get("kty") != "EC" or epk.get("crv") != "P-256":
        raise PolicyError("jwe_key_unknown", "the response's epk is not a P-256 key")
    try:
        key = _jwk.JWK(**dict(private_jwk))
        box = _jwe.JWE(algs=[JWE_ALG, enc])
        box.deserialize(token, key=key)
        plain: bytes = box.payload
    except (JWException, ValueError, TypeError, KeyError) as e:
        raise MalformedError(
            "jwe_invalid", "the response does not decrypt with this session's key"
        ) from e
    return parse_json_object(plain, limits=limits, what="response", max_bytes=MAX_JWE_BYTES)
