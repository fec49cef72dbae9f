"""Verification of an SD-JWT and its key binding (RFC 9901 sections 7.1 and 7.3).

:func:`verify_sd_jwt` checks the issuer signature, then processes the disclosures strictly
(section 7.1 step 3, :func:`_process`): every digest at most once, every disclosure
referenced exactly once, no reserved or clashing names, the kind of disclosure matching
where its digest sits, bounded counts and depth. Each violation raises a typed error with its
own code. Key binding is the verifier's policy (:class:`KeyBindingPolicy`, section 7.3),
never inferred from the token: :func:`_verify_kb` checks ``typ``, the ``cnf`` key's
signature, ``iat`` age, ``nonce``, ``aud`` and ``sd_hash`` (section 4.3.2).

Example:
    >>> from blauweknop._keys import Key
    >>> from ._disclosures import SD
    >>> from ._issue import issue_sd_jwt
    >>> k = Key.generate()
    >>> verify_sd_jwt(issue_sd_jwt({"n": SD(1)}, k), issuer_key=k).claims
    {'n': 1}
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .._errors import (
    DisclosureError,
    HolderBindingError,
    MalformedError,
    SignatureError,
    ValidityError,
)
from .._jws import ParsedJWS, parse_compact
from .._keys import Key
from .._limits import DEFAULT_LIMITS, Limits
from ._disclosures import _PLAIN, ClaimPath, Disclosure
from ._present import SDJWT, sd_hash

__all__ = [
    "NO_KEY_BINDING",
    "KeyBindingPolicy",
    "VerifiedSDJWT",
    "check_time_claims",
    "verify_sd_jwt",
]

_SUPPORTED_SD_ALGS = {"sha-256": hashlib.sha256}


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyBindingPolicy:
    """What the verifier demands of the key-binding JWT. Key binding is the verifier's policy,
    never inferred from the token.

    Attributes:
        required: a KB-JWT must be present and valid.
        nonce: expected ``nonce``; mandatory when ``required``.
        audience: expected ``aud``; mandatory when ``required``.
        max_age: how old (seconds) ``iat`` may be.
        max_future: how far ``iat`` may lie in the future (clock skew).
    """

    required: bool = True
    nonce: str | None = None
    audience: str | None = None
    max_age: int = 300
    max_future: int = 60

    def __post_init__(self) -> None:
        if self.required and (not self.nonce or not self.audience):
            raise HolderBindingError(
                "key_binding_policy", "required key binding needs an expected nonce and audience"
            )


NO_KEY_BINDING = KeyBindingPolicy(required=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifiedSDJWT:
    """The result of a successful verification.

    Attributes:
        header: issuer JWT header.
        claims: processed payload: disclosed claims in place, ``_sd``/``_sd_alg`` removed.
        disclosed: the paths that came from disclosures (for policy checks).
        holder_jwk: ``cnf.jwk`` if present.
        key_bound: whether a valid KB-JWT was checked.
        kb_iat: the checked KB-JWT's ``iat`` (``None`` without one), so a caller applying
            its own age rule need not parse the KB-JWT again.
    """

    header: dict[str, Any]
    claims: dict[str, Any]
    disclosed: frozenset[ClaimPath]
    holder_jwk: dict[str, Any] | None
    key_bound: bool
    kb_iat: float | None = None


def _process(
    payload: dict[str, Any], disclosures: Sequence[Disclosure], limits: Limits
) -> tuple[dict[str, Any], set[ClaimPath]]:
    """RFC 9901 section 7.1 step 3: replace digests with disclosed values, strictly."""
    by_digest: dict[str, Disclosure] = {}
    for d in disclosures:
        if d.digest in by_digest:
            raise DisclosureError("disclosure_duplicate", "the same disclosure was sent twice")
        by_digest[d.digest] = d
    seen_digests: set[str] = set()
    used: set[str] = set()
    disclosed: set[ClaimPath] = set()
    count = [0]

    def note_digest(dg: Any) -> None:
        if not isinstance(dg, str):
            raise DisclosureError("digest_malformed", "digest is not a string")
        count[0] += 1
        if count[0] > limits.max_digests:
            raise MalformedError("too_large", f"more than {limits.max_digests} digests")
        if dg in seen_digests:
            raise DisclosureError("digest_duplicate", "a digest appears more than once")
        seen_digests.add(dg)

    def walk(node: Any, path: ClaimPath, depth: int) -> Any:
        if depth > limits.max_json_depth:
            raise MalformedError("too_deep", "claims nest too deeply")
        # A JSON scalar child needs only the depth check walk() would make: no call for it.
        leaf_ok = depth < limits.max_json_depth
        if isinstance(node, dict):
            if "_sd_alg" in node and path:
                raise DisclosureError(
                    "sd_alg_not_top_level", "_sd_alg may only appear at top level"
                )
            if "..." in node:
                raise DisclosureError("array_digest_malformed", "'...' outside an array element")
            out: dict[str, Any] = {}
            for k, v in node.items():
                if k in ("_sd", "_sd_alg"):
                    continue
                out[k] = v if leaf_ok and type(v) in _PLAIN else walk(v, (*path, k), depth + 1)
            sd = node.get("_sd")
            if sd is not None:
                if not isinstance(sd, list):
                    raise DisclosureError("digest_malformed", "_sd must be an array")
                max_digests = limits.max_digests
                for dg in sd:
                    # note_digest(dg), written out: this loop sees every digest and decoy
                    if not isinstance(dg, str):
                        raise DisclosureError("digest_malformed", "digest is not a string")
                    count[0] += 1
                    if count[0] > max_digests:
                        raise MalformedError("too_large", f"more than {max_digests} digests")
                    if dg in seen_digests:
                        raise DisclosureError("digest_duplicate", "a digest appears more than once")
                    seen_digests.add(dg)
                    d = by_digest.get(dg)
                    if d is None:
                        continue  # decoy, or a claim the holder did not disclose
                    if d.name is None:
                        raise DisclosureError(
                            "disclosure_kind_mismatch", "array-element disclosure referenced in _sd"
                        )
                    if d.name in node or d.name in out:
                        raise DisclosureError(
                            "disclosure_name_clash", f"disclosed claim {d.name!r} already exists"
                        )
                    used.add(dg)
                    dpath = (*path, d.name)
                    disclosed.add(dpath)
                    v = d.value
                    out[d.name] = v if leaf_ok and type(v) in _PLAIN else walk(v, dpath, depth + 1)
            return out
        if isinstance(node, list):
            items: list[Any] = []
            for item in node:
                if isinstance(item, dict) and "..." in item:
                    if len(item) != 1:
                        raise DisclosureError(
                            "array_digest_malformed",
                            "array digest object has other keys than '...'",
                        )
                    dg = item["..."]
                    note_digest(dg)
                    d = by_digest.get(dg)
                    if d is None:
                        continue
                    if d.name is not None:
                        raise DisclosureError(
                            "disclosure_kind_mismatch",
                            "object-property disclosure used in an array",
                        )
                    used.add(dg)
                    disclosed.add((*path, len(items)))
                    items.append(walk(d.value, (*path, len(items)), depth + 1))
                else:
                    items.append(walk(item, (*path, len(items)), depth + 1))
            return items
        return node

    result = walk(payload, (), 0)
    unused = set(by_digest) - used
    if unused:
        raise DisclosureError(
            "disclosure_unreferenced", f"{len(unused)} disclosure(s) not referenced by any digest"
        )
    return result, disclosed


def check_time_claims(
    claims: dict[str, Any], now: float, leeway: int, *, require_exp: bool = False
) -> None:
    """``exp``/``nbf``/``iat`` checks with ``leeway`` seconds (RFC 7519 4.1.4-4.1.6)."""
    for name in ("exp", "nbf", "iat"):
        v = claims.get(name)
        if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool)):
            raise MalformedError("malformed_claim", f"{name} must be a number")
    exp = claims.get("exp")
    if exp is None and require_exp:
        raise ValidityError("exp_missing", "credential has no exp")
    # RFC 7519 4.1.4: valid only while now < exp, so now == exp (+ leeway) is expired.
    if exp is not None and now >= exp + leeway:
        raise ValidityError("expired", "credential has expired")
    nbf = claims.get("nbf")
    if nbf is not None and now + leeway < nbf:
        raise ValidityError("not_yet_valid", "credential is not valid yet")
    iat = claims.get("iat")
    if iat is not None and now + leeway < iat:
        raise ValidityError("iat_in_future", "credential was issued in the future")


def verify_sd_jwt(
    token: str | SDJWT,
    *,
    issuer_key: Key | Callable[[dict[str, Any], dict[str, Any]], Key],
    key_binding: KeyBindingPolicy = NO_KEY_BINDING,
    typ: str | Sequence[str] | None = None,
    now: float | None = None,
    leeway: int = 60,
    limits: Limits = DEFAULT_LIMITS,
    allow_x5c: bool = False,
) -> VerifiedSDJWT:
    """Verify an SD-JWT or SD-JWT+KB (RFC 9901 section 7.1 and 7.3).

    Args:
        token: compact SD-JWT (or a parsed :class:`SDJWT`).
        issuer_key: the issuer's public key, or ``resolver(header, payload) -> Key`` that
            raises :class:`~blauweknop.TrustError` for unknown issuers.
        key_binding: policy for the KB-JWT (default: not required; if present it is still checked).
        typ: accepted JWS ``typ`` values, or ``None`` to not check.
        now: verification time (Unix seconds); default the current time.
        leeway: clock skew allowance in seconds for ``exp``/``nbf``/``iat``.
        allow_x5c: let an ``x5c`` header reach ``issuer_key`` (which must validate it).
    """
    sd = token if isinstance(token, SDJWT) else SDJWT.parse(token, limits=limits)
    now = time.time() if now is None else now
    jws: ParsedJWS = parse_compact(sd.jwt, typ=typ, limits=limits, allow_x5c=allow_x5c)
    payload = jws.payload_json(limits)
    key = issuer_key(jws.header, payload) if callable(issuer_key) else issuer_key
    jws.verify(key)
    sd_alg = payload.get("_sd_alg", "sha-256")
    if not isinstance(sd_alg, str) or sd_alg not in _SUPPORTED_SD_ALGS:
        raise DisclosureError("sd_alg_unsupported", f"_sd_alg {sd_alg!r} is not supported")
    claims, disclosed = _process(payload, sd.disclosures, limits)
    check_time_claims(claims, now, leeway)
    cnf = claims.get("cnf")
    holder_jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if holder_jwk is not None and not isinstance(holder_jwk, dict):
        raise MalformedError("malformed_claim", "cnf.jwk must be an object")
    key_bound = False
    kb_iat: float | None = None
    if sd.kb_jwt is not None:
        kb_iat = _verify_kb(sd, holder_jwk, key_binding, now)
        key_bound = True
    elif key_binding.required:
        raise HolderBindingError("key_binding_missing", "key binding is required but absent")
    return VerifiedSDJWT(
        header=jws.header,
        claims=claims,
        disclosed=frozenset(disclosed),
        holder_jwk=holder_jwk,
        key_bound=key_bound,
        kb_iat=kb_iat,
    )


def _verify_kb(
    sd: SDJWT, holder_jwk: dict[str, Any] | None, policy: KeyBindingPolicy, now: float
) -> float:
    """RFC 9901 section 7.3; returns the KB-JWT's ``iat``."""
    if holder_jwk is None:
        raise HolderBindingError(
            "holder_key_missing", "KB-JWT present but the SD-JWT has no cnf.jwk"
        )
    assert sd.kb_jwt is not None
    try:
        kb = parse_compact(sd.kb_jwt)
    except MalformedError as e:
        raise HolderBindingError("key_binding_malformed", f"KB-JWT: {e.message}") from e
    if kb.header.get("typ") != "kb+jwt":
        raise HolderBindingError("key_binding_typ", "KB-JWT typ must be kb+jwt")
    if "d" in holder_jwk:  # a private key in a public slot (docs/security.md)
        raise HolderBindingError("holder_key_invalid", "cnf.jwk contains private key material")
    try:
        hkey = Key.from_jwk(holder_jwk)
    except SignatureError as e:
        raise HolderBindingError("holder_key_invalid", f"cnf.jwk: {e.message}") from e
    try:
        kb.verify(hkey)
    except SignatureError as e:
        raise HolderBindingError("key_binding_signature", "KB-JWT not signed by the cnf key") from e
    try:
        p = kb.payload_json()
    except MalformedError as e:
        raise HolderBindingError("key_binding_malformed", f"KB-JWT payload: {e.message}") from e
    iat = p.get("iat")
    # NumericDate may be fractional (RFC 7519 section 2): holders using Date.now() / 1000 send one.
    if not isinstance(iat, (int, float)) or isinstance(iat, bool):
        raise HolderBindingError("key_binding_iat", "KB-JWT iat missing or not a number")
    if iat > now + policy.max_future:
        raise HolderBindingError("key_binding_iat", "KB-JWT iat lies in the future")
    if iat < now - policy.max_age:
        raise HolderBindingError("key_binding_iat", "KB-JWT is too old")
    if policy.nonce is not None and p.get("nonce") != policy.nonce:
        raise HolderBindingError("nonce_mismatch", "KB-JWT nonce does not match")
    if policy.audience is not None and p.get("aud") != policy.audience:
        raise HolderBindingError("audience_mismatch", "KB-JWT aud does not match")
    if not isinstance(p.get("nonce"), str) or not isinstance(p.get("aud"), str):
        raise HolderBindingError("key_binding_malformed", "KB-JWT nonce and aud must be strings")
    if p.get("sd_hash") != sd_hash(sd.serialize(without_kb=True)):
        raise HolderBindingError(
            "sd_hash_mismatch", "KB-JWT sd_hash does not match the presentation"
        )
    return float(iat)
