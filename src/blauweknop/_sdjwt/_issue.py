"""Issuance of an SD-JWT (RFC 9901 sections 4.1 and 4.2; the compact form of section 4).

Values wrapped in :class:`SD` become disclosures; object properties (section 4.2.4.1) and
array elements (section 4.2.4.2) may be marked, and marks may nest (recursive disclosures,
section 4.2.6). Each ``_sd`` array gets decoy digests (section 4.2.5) and is sorted, so the
order of digests tells nothing about the claims (section 4.2.4.1). ``_sd_alg`` is always
``sha-256`` (section 4.1.1) and ``cnf`` carries the holder key for key binding (section 4.1.2).

Example:
    >>> from blauweknop._keys import Key
    >>> sd = issue_sd_jwt({"iss": "urn:x", "name": SD("Jan")}, Key.generate(), decoys=0)
    >>> sd.count("~")
    2
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._errors import DisclosureError, MalformedError, SignatureError
from .._jws import sign_compact
from .._keys import ALLOWED_JWS_ALGS, Key, Signer
from ._disclosures import (
    _PLAIN,
    _RESERVED_NAMES,
    SD,
    _decoy_digest,
    _default_salt,
    _encode_disclosure,
    _Entropy,
)

__all__ = ["issue_sd_jwt"]

_PAYLOAD_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _path_text(path: tuple[Any, ...]) -> str:
    """``(((), "a"), 0)`` -> ``".a[0]"``: claim paths are built as nested pairs (cheap) and
    spelled out only for an error message."""
    parts: list[str] = []
    while path:
        path, key = path
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return "".join(reversed(parts))


@dataclass(slots=True)
class _Builder:
    salt: Callable[[], str]
    decoys: Callable[[], int]
    decoy: Callable[[], str] = _decoy_digest
    disclosures: list[str] = field(default_factory=list)  # encoded, in issuance order

    def build(self, value: Any, path: tuple[Any, ...]) -> Any:
        if isinstance(value, SD):
            where = _path_text(path) or "top level"
            raise MalformedError("invalid_sd_mark", f"SD mark at {where} has no claim name")
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            digests: list[str] = []
            for k, v in value.items():
                if not isinstance(k, str):
                    raise MalformedError("invalid_claims", f"claim name {k!r} is not a string")
                if k in _RESERVED_NAMES:
                    raise DisclosureError("claim_name_reserved", f"claim name {k!r} is reserved")
                # build() returns plain scalars unchanged: skip the call for them.
                if isinstance(v, SD):
                    salt, val = self.salt(), v.value
                    if type(val) not in _PLAIN:
                        val = self.build(val, (path, k))
                    enc, digest = _encode_disclosure(salt, k, val)
                    self.disclosures.append(enc)
                    digests.append(digest)
                else:
                    out[k] = v if type(v) in _PLAIN else self.build(v, (path, k))
            if digests:
                digests.extend(self.decoy() for _ in range(self.decoys()))
                out["_sd"] = sorted(digests)
            return out
        if isinstance(value, list):
            items: list[Any] = []
            for i, v in enumerate(value):
                if isinstance(v, SD):
                    salt = self.salt()  # before the element's own disclosures, as always
                    enc, digest = _encode_disclosure(salt, None, self.build(v.value, (path, i)))
                    self.disclosures.append(enc)
                    items.append({"...": digest})
                else:
                    items.append(self.build(v, (path, i)))
            return items
        if isinstance(value, float) and not math.isfinite(value):  # JSON has no NaN/Infinity
            raise MalformedError("invalid_claims", f"{value} at {_path_text(path) or 'top level'}")
        return value


def issue_sd_jwt(
    claims: dict[str, Any],
    signer: Signer,
    *,
    typ: str = "dc+sd-jwt",
    holder_jwk: dict[str, Any] | None = None,
    decoys: int | tuple[int, int] = (1, 3),
    salt: Callable[[], str] = _default_salt,
    extra_header: dict[str, Any] | None = None,
) -> str:
    """Issue an SD-JWT in compact form (``<JWT>~<D1>~...~<Dn>~``).

    Args:
        claims: the payload; values wrapped in :class:`SD` become disclosures.
        signer: issuer key (ES256 or EdDSA).
        typ: JWS ``typ`` header (``dc+sd-jwt`` for SD-JWT VC; ``example+sd-jwt`` in RFC examples).
        holder_jwk: public JWK put into ``cnf.jwk`` for key binding.
        decoys: number of decoy digests per ``_sd`` array, or an inclusive random range.
        salt: salt factory (inject for reproducible tests).
        extra_header: additional JWS header members (e.g. ``kid``).
    """
    if signer.alg not in ALLOWED_JWS_ALGS:
        raise SignatureError("algorithm_not_allowed", f"cannot issue with {signer.alg}")
    entropy = _Entropy()
    if isinstance(decoys, tuple):
        lo, hi = decoys
        if 0 < hi - lo + 1 <= 256:
            decoy_fn: Callable[[], int] = lambda: lo + entropy.below(hi - lo + 1)  # noqa: E731
        else:
            decoy_fn = lambda: lo + secrets.randbelow(hi - lo + 1)  # noqa: E731
    else:
        n = decoys
        decoy_fn = lambda: n  # noqa: E731
    if "_sd_alg" in claims or ("cnf" in claims and holder_jwk is not None):
        raise MalformedError("invalid_claims", "_sd_alg and cnf are set by the issuer function")
    b = _Builder(entropy.salt if salt is _default_salt else salt, decoy_fn, entropy.decoy)
    payload = b.build(claims, ())
    if not isinstance(payload, dict):
        raise MalformedError("invalid_claims", "claims must be an object")
    payload["_sd_alg"] = "sha-256"
    if holder_jwk is not None:
        # Only EC/OKP keys pass, whose sole private member is "d": an RSA or oct JWK would
        # otherwise carry its private parts into the signed credential.
        if Key.from_jwk(holder_jwk).alg not in ALLOWED_JWS_ALGS:
            raise SignatureError("algorithm_not_allowed", "holder key cannot sign a KB-JWT")
        payload["cnf"] = {"jwk": {k: holder_jwk[k] for k in holder_jwk if k != "d"}}
    header: dict[str, Any] = {"typ": typ, "kid": signer.kid, **(extra_header or {})}
    body = _PAYLOAD_JSON.encode(payload).encode()
    jwt = sign_compact(header, body, signer)
    return jwt + "~" + "".join(enc + "~" for enc in b.disclosures)
