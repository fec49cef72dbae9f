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

import binascii
import hashlib
import json
import math
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .._errors import DisclosureError, MalformedError, SignatureError
from .._jws import sign_compact
from .._keys import ALLOWED_JWS_ALGS, Key, Signer
from ._disclosures import (
    _PLAIN,
    _RESERVED_NAMES,
    _URLSAFE,
    SD,
    _decoy_digest,
    _default_salt,
    _disclosure_json,
    _encode_disclosure,
    _Entropy,
)

__all__ = ["issue_sd_jwt", "issue_sd_jwt_ruled"]

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
    """The reference builder: each disclosure encoded and digested as it is made. Kept for
    the property tests, which hold :class:`_BatchBuilder` to its output."""

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
                if type(k) is not str or k in _RESERVED_NAMES:
                    _refuse_name(k)
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
            return _build_array(self, value, path)
        return _leaf(value, path)


_SHA256 = hashlib.sha256
_B2A = binascii.b2a_base64


def _build_array(b: _Builder | _FastBuilder, value: list[Any], path: tuple[Any, ...]) -> Any:
    """An array's elements built by ``b``; an element marked :class:`SD` becomes a
    ``{"...": digest}`` with its disclosure (the salt drawn before the element's own
    disclosures, as always)."""
    items: list[Any] = []
    for i, v in enumerate(value):
        if isinstance(v, SD):
            salt = b.salt()
            enc, digest = _encode_disclosure(salt, None, b.build(v.value, (path, i)))
            b.disclosures.append(enc)
            items.append({"...": digest})
        else:
            items.append(b.build(v, (path, i)))
    return items


def _leaf(value: Any, path: tuple[Any, ...]) -> Any:
    """A scalar claim as it is; JSON has no NaN or Infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        raise MalformedError("invalid_claims", f"{value} at {_path_text(path) or 'top level'}")
    return value


def _refuse_name(k: Any) -> None:
    """Raise for a claim name that is not a string or is reserved (``_sd``, ``...``)."""
    if not isinstance(k, str):
        raise MalformedError("invalid_claims", f"claim name {k!r} is not a string")
    if k in _RESERVED_NAMES:
        raise DisclosureError("claim_name_reserved", f"claim name {k!r} is reserved")


class _FastBuilder:
    """What :class:`_Builder` builds, byte for byte, with fewer calls per disclosure.

    The walk is the reference's: the same checks, salts drawn in the same order (a salt
    before the disclosures inside its value), decoy counts and decoy bytes drawn from the same
    entropy at the same moment (when an object is complete), the disclosures in the same
    order, each ``_sd`` array sorted. What changes is the encoding: a disclosure is encoded
    inline (base64 with ``=`` dropped by the same ``translate`` that makes it url-safe), and
    the digests of one object (its disclosures' and its decoys', SHA-256 of 32 random bytes)
    are base64url-encoded in one call: each 32-byte digest followed by one zero byte is a
    whole 33-byte group, whose 44 characters start with the 43 of the digest's own unpadded
    base64url.
    """

    __slots__ = ("decoy_bytes", "decoys", "disclosures", "salt")

    def __init__(
        self,
        salt: Callable[[], str],
        decoys: Callable[[], int],
        decoy_bytes: Callable[[int], bytes],
    ) -> None:
        self.salt = salt
        self.decoys = decoys
        self.decoy_bytes = decoy_bytes  # n random bytes: a decoy digest is SHA-256 of 32
        self.disclosures: list[str] = []  # encoded, in issuance order

    def _disclose(self, salt: str, name: str, value: Any) -> bytes:
        """Encode the object-property disclosure ``[salt, name, value]`` inline and keep it;
        returns its SHA-256 digest (raw bytes: :meth:`_sd_array` encodes them together)."""
        enc = _B2A(_disclosure_json(salt, name, value).encode(), newline=False).translate(
            _URLSAFE, b"="
        )
        self.disclosures.append(enc.decode("ascii"))
        return _SHA256(enc).digest()

    def _sd_array(self, raw: list[bytes]) -> list[str]:
        """An object's ``_sd``: its disclosures' digests and its decoys' (drawn now, as the
        reference draws them when the object is complete), base64url-encoded in one call,
        sorted."""
        n = self.decoys()
        if n:
            r = self.decoy_bytes(32 * n)
            raw.extend([_SHA256(r[i : i + 32]).digest() for i in range(0, 32 * n, 32)])
        text = _B2A(b"\0".join(raw) + b"\0", newline=False).translate(_URLSAFE)
        d64 = text.decode("ascii")
        return sorted([d64[i : i + 43] for i in range(0, len(d64), 44)])

    def build(self, value: Any, path: tuple[Any, ...]) -> Any:
        if isinstance(value, SD):
            where = _path_text(path) or "top level"
            raise MalformedError("invalid_sd_mark", f"SD mark at {where} has no claim name")
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            raw: list[bytes] = []  # the digests of this object's disclosures
            for k, v in value.items():
                if type(k) is not str or k in _RESERVED_NAMES:
                    _refuse_name(k)
                if isinstance(v, SD):
                    salt, val = self.salt(), v.value
                    if type(val) not in _PLAIN:
                        val = self.build(val, (path, k))
                    raw.append(self._disclose(salt, k, val))
                else:
                    out[k] = v if type(v) in _PLAIN else self.build(v, (path, k))
            if raw:
                out["_sd"] = self._sd_array(raw)
            return out
        if isinstance(value, list):
            return _build_array(self, value, path)
        return _leaf(value, path)

    def build_ruled(
        self,
        value: Any,
        node: RuleNode,
        path: tuple[Any, ...],
        rules: _Rules,
        plain_keys: Collection[str] = (),
    ) -> Any:
        """:meth:`build` of ``mark(value)`` without building the marked copy: a claim is
        disclosed where its rule node's ``rule`` is one of ``rules.marks`` (what a profile's
        ``mark`` wraps in :class:`SD`: an object property, or every element of an array whose
        element node is marked). The walk, the checks, the order of the random draws and the
        output are those of ``build(mark(value))``. ``plain_keys`` (top level only) are
        walked without rules. A value that already carries an :class:`SD` mark is
        :class:`_Marked` (the caller takes the reference path for it)."""
        marks, none = rules.marks, rules.none
        if type(value) is dict or isinstance(value, Mapping):
            out: dict[str, Any] = {}
            raw: list[bytes] = []
            kids = node.children
            for k, v in value.items():
                if type(k) is not str or k in _RESERVED_NAMES:
                    _refuse_name(k)
                sub = none if k in plain_keys else kids.get(k, none)
                if sub.rule in marks:
                    salt = self.salt()
                    if type(v) not in _PLAIN:
                        v = self.build_ruled(v, sub, (path, k), rules)
                    raw.append(self._disclose(salt, k, v))
                else:
                    out[k] = v if type(v) in _PLAIN else self.build_ruled(v, sub, (path, k), rules)
            if raw:
                out["_sd"] = self._sd_array(raw)
            return out
        if isinstance(value, list):
            sub = node.children.get(None, none)
            items: list[Any] = []
            for i, v in enumerate(value):
                if sub.rule in marks:
                    salt = self.salt()
                    if type(v) not in _PLAIN:
                        v = self.build_ruled(v, sub, (path, i), rules)
                    enc_s, digest = _encode_disclosure(salt, None, v)
                    self.disclosures.append(enc_s)
                    items.append({"...": digest})
                else:
                    items.append(
                        v if type(v) in _PLAIN else self.build_ruled(v, sub, (path, i), rules)
                    )
            return items
        if isinstance(value, SD):
            raise _Marked
        return self.build(value, path)  # a scalar: the reference's checks (non-finite floats)


class RuleNode(Protocol):
    """A node of a disclosure-rule trie (a profile's type metadata): the rule at this claim
    path and the nodes below it by claim name (``None``: array elements)."""

    @property
    def rule(self) -> str | None: ...

    @property
    def children(self) -> Mapping[Any, Any]: ...


@dataclass(frozen=True, slots=True)
class _Rules:
    marks: Collection[str | None]  # the rules that make a claim disclosable
    none: RuleNode  # the node of a path without rules


class _Marked(Exception):
    """The claims already carry an :class:`SD` mark: issue them on the reference path."""


def _prepare(
    signer: Signer,
    decoys: int | tuple[int, int],
    salt: Callable[[], str],
) -> tuple[Callable[[], int], _FastBuilder]:
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
    b = _FastBuilder(entropy.salt if salt is _default_salt else salt, decoy_fn, entropy.take)
    return decoy_fn, b


def _finish(
    payload: Any,
    disclosures: list[str],
    signer: Signer,
    typ: str,
    holder_jwk: dict[str, Any] | None,
    extra_header: dict[str, Any] | None,
) -> str:
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
    return "~".join([jwt, *disclosures, ""])


def issue_sd_jwt_ruled(
    plain: Mapping[str, Any],
    claims: Mapping[str, Any],
    rules: RuleNode,
    marks: Collection[str | None],
    none: RuleNode,
    signer: Signer,
    *,
    typ: str,
    holder_jwk: dict[str, Any] | None,
    decoys: int | tuple[int, int],
) -> str:
    """:func:`issue_sd_jwt` of ``{**plain, **mark(claims)}`` where ``mark`` wraps in
    :class:`SD` every claim whose node in the rule trie ``rules`` has a rule in ``marks``
    (``none``: the node of a path without rules), without building the marked copy. Same
    output, checks and random draws as the marked path (property tests hold it to it);
    claims that already carry an :class:`SD` mark are issued on that path."""
    _, b = _prepare(signer, decoys, _default_salt)
    merged = {**plain, **claims}
    if "_sd_alg" in merged or ("cnf" in merged and holder_jwk is not None):
        raise MalformedError("invalid_claims", "_sd_alg and cnf are set by the issuer function")
    try:
        payload = b.build_ruled(merged, rules, (), _Rules(marks, none), plain_keys=plain.keys())
    except _Marked:
        return _issue_marked(plain, claims, rules, marks, none, signer, typ, holder_jwk, decoys)
    return _finish(payload, b.disclosures, signer, typ, holder_jwk, None)


def _issue_marked(
    plain: Mapping[str, Any],
    claims: Mapping[str, Any],
    rules: RuleNode,
    marks: Collection[str | None],
    none: RuleNode,
    signer: Signer,
    typ: str,
    holder_jwk: dict[str, Any] | None,
    decoys: int | tuple[int, int],
) -> str:
    """The reference: mark a copy (as a profile's ``mark`` does), then :func:`issue_sd_jwt`."""

    def mark(value: Any, node: RuleNode) -> Any:
        if type(value) is dict or isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            for k, v in value.items():
                sub = node.children.get(None if isinstance(k, int) else k, none)
                m = mark(v, sub)
                out[k] = SD(m) if sub.rule in marks else m
            return out
        if isinstance(value, list):
            sub = node.children.get(None, none)
            items = [mark(v, sub) for v in value]
            return [SD(v) for v in items] if sub.rule in marks else items
        return value

    payload = {**plain, **mark(claims, rules)}
    return issue_sd_jwt(payload, signer, typ=typ, holder_jwk=holder_jwk, decoys=decoys)


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
    _, b = _prepare(signer, decoys, salt)
    if "_sd_alg" in claims or ("cnf" in claims and holder_jwk is not None):
        raise MalformedError("invalid_claims", "_sd_alg and cnf are set by the issuer function")
    return _finish(b.build(claims, ()), b.disclosures, signer, typ, holder_jwk, extra_header)
