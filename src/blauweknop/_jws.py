"""Compact JWS (RFC 7515) restricted to what this scheme needs, following RFC 8725.

Why our own and not ``jwcrypto`` in the hot path: every check here is explicit (algorithm
allow-list ES256/EdDSA only, ``alg`` must fit the key type, no ``crit``, no key-selecting
headers such as ``jwk``/``jku``/``x5u``/``x5c``, canonical base64url only), and it avoids
re-parsing the key per call, which matters for bulk verification. ``jwcrypto`` is used by the
test suite as an independent cross-check of these tokens.

Example:
    >>> from blauweknop._keys import Key
    >>> k = Key.generate()
    >>> tok = sign_compact({"typ": "JWT"}, b'{"a":1}', k)
    >>> parsed = parse_compact(tok)
    >>> parsed.verify(k)
    >>> parsed.payload_json()
    {'a': 1}
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from ._codec import b64u_decode, b64u_encode, parse_json_object
from ._errors import MalformedError, SignatureError
from ._keys import ALLOWED_JWS_ALGS, Key, Signer
from ._limits import DEFAULT_LIMITS, Limits

__all__ = ["ParsedJWS", "parse_compact", "sign_compact"]

#: Header parameters that would let a token choose its own verification key (RFC 8725 3.10).
_KEY_SELECTING_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"})
_ALG_CRV = {"ES256": "P-256", "ES384": "P-384", "EdDSA": "Ed25519"}
_HEADER_ENCODER = json.JSONEncoder(separators=(",", ":"))  # json.dumps builds one per call
# Headers that passed parse_compact's checks, by (encoded header, algs, typ, allow_x5c):
# bounded, only short headers (an x5c chain is not kept), callers get a copy.
_HEADER_MEMO: dict[tuple[Any, ...], dict[str, Any]] = {}
_MEMO_SIZE = 256
_MEMO_MAX_HEADER = 512


def sign_compact(header: dict[str, Any], payload: bytes, signer: Signer) -> str:
    """Sign ``payload`` with ``signer``; ``alg`` and ``kid`` come from the signer unless given.

    A signer that carries a certificate chain (an ``x5c`` attribute, e.g.
    :class:`blauweknop._x509.CertifiedSigner`) puts it in the ``x5c`` header (HAIP 1.0).
    """
    h = {"alg": signer.alg, **header}
    x5c = getattr(signer, "x5c", None)
    if x5c and "x5c" not in h:
        h["x5c"] = list(x5c)
    if h["alg"] != signer.alg:
        raise SignatureError("algorithm_not_allowed", "header alg does not match the signer")
    enc_h = b64u_encode(_HEADER_ENCODER.encode(h).encode())
    signing_input = f"{enc_h}.{b64u_encode(payload)}"
    return f"{signing_input}.{b64u_encode(signer.sign(signing_input.encode('ascii')))}"


@dataclass(frozen=True, slots=True)
class ParsedJWS:
    """A syntactically valid compact JWS whose signature has not been checked yet."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes

    def payload_json(self, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
        """The payload parsed strictly as a JSON object."""
        return parse_json_object(self.payload, limits=limits, what="JWS payload")

    def verify(self, key: Key, *, algs: Collection[str] = ALLOWED_JWS_ALGS) -> None:
        """Check the signature with ``key``; ``alg`` must be allowed and fit the key's curve."""
        alg = self.header["alg"]
        if alg not in algs:
            raise SignatureError("algorithm_not_allowed", f"algorithm {alg!r} is not allowed")
        if _ALG_CRV.get(alg) != key.crv:
            raise SignatureError(
                "algorithm_key_mismatch", f"algorithm {alg} does not fit a {key.crv} key"
            )
        key.verify(self.signing_input, self.signature)


def parse_compact(
    token: str,
    *,
    algs: Collection[str] = ALLOWED_JWS_ALGS,
    typ: str | Collection[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    max_bytes: int = 0,
    allow_x5c: bool = False,
) -> ParsedJWS:
    """Split and decode a compact JWS and check its header (not yet the signature).

    Checks: three base64url segments, header a JSON object, ``alg`` in ``algs`` (never
    ``none`` or HS*), ``typ`` equal to ``typ`` when given, no ``crit``, no key-selecting
    headers, no ``b64: false``. ``allow_x5c`` lets an ``x5c`` header through for a caller
    that validates the chain against pinned roots itself (``blauweknop._x509``) or does not
    use the header's key at all.
    """
    if not isinstance(token, str):
        raise MalformedError("malformed_jws", "JWS must be a string")
    limit = max_bytes or limits.max_token_bytes
    if len(token) > limit:
        raise MalformedError("too_large", f"JWS is larger than {limit} bytes")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedError("malformed_jws", "compact JWS must have three segments")
    eh, ep, es = parts
    # Most tokens of one issuer (or wallet) carry the very same header: a header that passed
    # these checks with these parameters before passes again (only successes are kept).
    memo_key: tuple[Any, ...] | None = None
    if (
        len(eh) <= _MEMO_MAX_HEADER
        and type(algs) is frozenset
        and (typ is None or type(typ) is str)
        and limits is DEFAULT_LIMITS
    ):
        memo_key = (eh, algs, typ, allow_x5c)
        known = _HEADER_MEMO.get(memo_key)
        if known is not None:
            return ParsedJWS(
                dict(known),
                b64u_decode(ep, what="JWS payload"),
                f"{eh}.{ep}".encode("ascii"),
                b64u_decode(es, what="JWS signature"),
            )
    header = parse_json_object(b64u_decode(eh, what="JWS header"), limits=limits, what="JWS header")
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise MalformedError("malformed_jws", "JWS header has no alg")
    if alg not in algs or alg.lower() == "none" or alg.startswith("HS"):
        raise SignatureError("algorithm_not_allowed", f"algorithm {alg!r} is not allowed")
    if "crit" in header:
        raise SignatureError("crit_not_understood", "JWS crit header parameters are not supported")
    bad = _KEY_SELECTING_HEADERS.intersection(header)
    if allow_x5c:
        bad -= {"x5c"}
    if bad:
        raise SignatureError(
            "header_not_allowed", f"JWS header {sorted(bad)[0]!r} may not select the key"
        )
    if header.get("b64", True) is not True:
        raise MalformedError("malformed_jws", "unencoded payloads (b64=false) are not supported")
    if typ is not None:
        allowed = {typ} if isinstance(typ, str) else set(typ)
        # A non-string typ (e.g. a list) is unhashable: test the type before membership.
        if not isinstance(header.get("typ"), str) or header["typ"] not in allowed:
            raise MalformedError(
                "typ_mismatch",
                f"JWS typ {header.get('typ')!r}, expected {' or '.join(sorted(allowed))}",
            )
    payload = b64u_decode(ep, what="JWS payload")
    sig = b64u_decode(es, what="JWS signature")
    if memo_key is not None:
        if len(_HEADER_MEMO) >= _MEMO_SIZE:
            _HEADER_MEMO.clear()
        _HEADER_MEMO[memo_key] = dict(header)
    return ParsedJWS(header, payload, f"{eh}.{ep}".encode("ascii"), sig)
