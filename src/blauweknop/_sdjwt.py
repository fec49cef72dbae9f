"""SD-JWT (RFC 9901): issuance, holder presentation with key binding, and verification.

Issuance marks selectively disclosable values with :class:`SD`; object properties and array
elements may be marked, and marks may nest (recursive disclosures). The verifier enforces
RFC 9901 section 7 in full; each violation raises a typed error with its own code.

Example:
    >>> from blauweknop._keys import Key
    >>> issuer, holder = Key.generate(), Key.generate()
    >>> sd = issue_sd_jwt({"iss": "urn:x", "name": SD("Jan"), "age": SD(40)}, issuer,
    ...                   holder_jwk=holder.public_jwk())
    >>> vp = SDJWT.parse(sd).present([["name"]], holder_key=holder, nonce="n1", audience="urn:a")
    >>> res = verify_sd_jwt(vp, issuer_key=issuer,
    ...                     key_binding=KeyBindingPolicy(nonce="n1", audience="urn:a"))
    >>> res.claims["name"], "age" in res.claims
    ('Jan', False)
"""

from __future__ import annotations

import binascii
import hashlib
import json
import math
import os
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._codec import b64u_decode, b64u_encode, parse_json
from ._errors import (
    DisclosureError,
    HolderBindingError,
    MalformedError,
    SignatureError,
    ValidityError,
)
from ._jws import ParsedJWS, parse_compact, sign_compact
from ._keys import ALLOWED_JWS_ALGS, Key, Signer
from ._limits import DEFAULT_LIMITS, Limits

__all__ = [
    "SD",
    "SDJWT",
    "Disclosure",
    "KeyBindingPolicy",
    "VerifiedSDJWT",
    "issue_sd_jwt",
    "verify_sd_jwt",
]

ClaimPath = tuple[str | int | None, ...]
_SUPPORTED_SD_ALGS = {"sha-256": hashlib.sha256}
_RESERVED_NAMES = frozenset({"_sd", "...", "_sd_alg"})


@dataclass(frozen=True, slots=True)
class SD:
    """Marks a value as selectively disclosable at issuance (object property or array element)."""

    value: Any


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One disclosure: ``[salt, name, value]`` (object property) or ``[salt, value]`` (array)."""

    salt: str
    name: str | None
    value: Any
    encoded: str
    digest: str

    @property
    def is_array_element(self) -> bool:
        """True for a two-element (array element) disclosure."""
        return self.name is None


def _digest(encoded: str) -> str:
    return b64u_encode(hashlib.sha256(encoded.encode("ascii")).digest())


# json.dumps(..., ensure_ascii=False, separators=(",", ":"), allow_nan=False), built once.
_DISCLOSURE_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_PAYLOAD_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_KB_JSON = json.JSONEncoder(separators=(",", ":"))
_json_str = json.encoder.encode_basestring  # what the encoder above writes for a str
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_JSON_SCALARS: dict[Any, str] = {True: "true", False: "false", None: "null"}


def _disclosure_json(salt: str, name: str | None, value: Any) -> str:
    """The disclosure array as compact JSON, byte for byte what ``_DISCLOSURE_JSON`` writes;
    strings, integers and the constants are written here without building the array."""
    if type(salt) is not str or (name is not None and type(name) is not str):
        arr = [salt, value] if name is None else [salt, name, value]
        return _DISCLOSURE_JSON.encode(arr)
    t = type(value)
    if t is str:
        v = _json_str(value)
    elif t is int:
        v = int.__repr__(value)
    elif t is bool or value is None:
        v = _JSON_SCALARS[value]
    else:
        v = _DISCLOSURE_JSON.encode(value)
    if name is None:
        return f"[{_json_str(salt)},{v}]"
    return f"[{_json_str(salt)},{_json_str(name)},{v}]"


def _b64u(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_URLSAFE)


def _encode_disclosure(salt: str, name: str | None, value: Any) -> tuple[str, str]:
    """``(encoded, digest)`` of a new disclosure: ``b64u_encode`` and :func:`_digest`
    written out on bytes, as this runs for every disclosure issued."""
    enc = _b64u(_disclosure_json(salt, name, value).encode("utf-8"))
    return enc.decode("ascii"), _b64u(hashlib.sha256(enc).digest()).decode("ascii")


def _make_disclosure(salt: str, name: str | None, value: Any) -> Disclosure:
    enc, digest = _encode_disclosure(salt, name, value)
    return Disclosure(salt, name, value, enc, digest)


def _default_salt() -> str:
    return b64u_encode(secrets.token_bytes(16))


def _decoy_digest() -> str:
    return b64u_encode(hashlib.sha256(secrets.token_bytes(32)).digest())


# A canonical 22-character encoding of 16 bytes ends in a character whose low 4 bits are 0.
_B64U = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SALT_LAST = {c: _B64U[i & 0x30] for i, c in enumerate(_B64U)}


class _Entropy:
    """The default salts, decoy digests and decoy counts of one issuance, drawn from
    ``os.urandom`` in blocks (what ``secrets`` reads too) instead of one system call per
    salt. Nothing outlives the issuance, so no state is shared across threads or forks."""

    __slots__ = ("_buf", "_pos", "_text", "_tpos")

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0
        self._text = ""
        self._tpos = 0

    def _take(self, n: int) -> bytes:
        if self._pos + n > len(self._buf):
            self._buf = os.urandom(max(n, 1024))
            self._pos = 0
        self._pos += n
        return self._buf[self._pos - n : self._pos]

    def salt(self) -> str:
        """Distributed exactly as :func:`_default_salt`: 21 characters of base64url text
        of random bytes (6 independent uniform bits each) and a last one keeping 2 bits, so
        128 random bits in the canonical encoding of 16 bytes, cut from one encoded block."""
        if self._tpos + 22 > len(self._text):
            self._text = b64u_encode(os.urandom(1536))  # 2048 characters, no padding
            self._tpos = 0
        chunk = self._text[self._tpos : self._tpos + 22]
        self._tpos += 22
        return chunk[:21] + _SALT_LAST[chunk[21]]

    def decoy(self) -> str:
        """Like :func:`_decoy_digest`: the digest of 256 random bits."""
        return _b64u(hashlib.sha256(self._take(32)).digest()).decode("ascii")

    def below(self, n: int) -> int:
        """Uniform in ``range(n)`` for ``1 <= n <= 256`` (rejection sampling on one byte)."""
        limit = 256 - 256 % n
        while True:
            b = self._take(1)[0]
            if b < limit:
                return b % n


_PLAIN = frozenset({str, int, bool, type(None)})  # scalars issuance and _process pass through


# ------------------------------------------------------------------------------------------
# Issuance
# ------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------
# Parsing
# ------------------------------------------------------------------------------------------
def _parse_disclosure(enc: str, limits: Limits) -> Disclosure:
    try:
        raw = b64u_decode(enc, what="disclosure")
    except MalformedError as e:
        raise DisclosureError("disclosure_malformed", "disclosure is not base64url") from e
    try:
        arr = parse_json(raw, limits=limits, what="disclosure")
    except MalformedError as e:
        raise DisclosureError("disclosure_malformed", f"disclosure is not JSON: {e.message}") from e
    if not isinstance(arr, list) or len(arr) not in (2, 3):
        raise DisclosureError("disclosure_malformed", "disclosure must be a JSON array of 2 or 3")
    if not isinstance(arr[0], str):
        raise DisclosureError("disclosure_malformed", "disclosure salt must be a string")
    if len(arr) == 3:
        name = arr[1]
        if not isinstance(name, str):
            raise DisclosureError("disclosure_malformed", "disclosure claim name must be a string")
        if name in ("_sd", "..."):
            raise DisclosureError("disclosure_name_reserved", f"disclosure claim name {name!r}")
        return Disclosure(arr[0], name, arr[2], enc, _digest(enc))
    return Disclosure(arr[0], None, arr[1], enc, _digest(enc))


@dataclass(frozen=True, slots=True)
class SDJWT:
    """A parsed SD-JWT or SD-JWT+KB, before verification.

    Attributes:
        jwt: the issuer-signed JWT (compact).
        disclosures: disclosures in the order received.
        kb_jwt: the key-binding JWT, or ``None``.
    """

    jwt: str
    disclosures: tuple[Disclosure, ...]
    kb_jwt: str | None

    @classmethod
    def parse(cls, token: str, *, limits: Limits = DEFAULT_LIMITS) -> SDJWT:
        """Split ``<JWT>~<D1>~...~<Dn>~[<KB-JWT>]`` (RFC 9901 section 4) and decode disclosures."""
        if not isinstance(token, str):
            raise MalformedError("malformed_sd_jwt", "SD-JWT must be a string")
        if len(token) > limits.max_token_bytes:
            raise MalformedError(
                "too_large", f"SD-JWT is larger than {limits.max_token_bytes} bytes"
            )
        if not token.isascii():
            raise MalformedError("malformed_sd_jwt", "SD-JWT contains non-ASCII characters")
        parts = token.split("~")
        if len(parts) < 2:
            raise MalformedError("malformed_sd_jwt", "SD-JWT must contain '~' separators")
        jwt, *middle, last = parts
        if not jwt:
            raise MalformedError("malformed_sd_jwt", "SD-JWT has no issuer-signed JWT")
        if len(middle) > limits.max_disclosures:
            raise MalformedError("too_large", f"more than {limits.max_disclosures} disclosures")
        disclosures = []
        for enc in middle:
            if not enc:
                raise DisclosureError("disclosure_malformed", "empty disclosure between '~'")
            disclosures.append(_parse_disclosure(enc, limits))
        return cls(jwt, tuple(disclosures), last or None)

    def serialize(self, *, without_kb: bool = False) -> str:
        """Compact form; with ``without_kb`` the part the ``sd_hash`` covers."""
        s = "~".join([self.jwt, *[d.encoded for d in self.disclosures], ""])
        return s if without_kb or self.kb_jwt is None else s + self.kb_jwt

    def unverified_payload(self, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
        """The JWT payload as signed (``_sd`` digests still in place). Not verified."""
        return parse_compact(self.jwt, limits=limits).payload_json(limits)

    def disclosure_paths(
        self, limits: Limits = DEFAULT_LIMITS
    ) -> list[tuple[ClaimPath, Disclosure]]:
        """Each disclosure with the claim path it discloses, as if every disclosure were shown.

        Array indices are those of the full (all-disclosed) array.
        """
        by_digest = {d.digest: d for d in self.disclosures}
        out: list[tuple[ClaimPath, Disclosure]] = []

        def walk(node: Any, path: ClaimPath) -> None:
            if isinstance(node, dict):
                for dg in node.get("_sd", []) if isinstance(node.get("_sd"), list) else []:
                    d = by_digest.get(dg) if isinstance(dg, str) else None
                    if d is not None and d.name is not None:
                        out.append(((*path, d.name), d))
                        walk(d.value, (*path, d.name))
                for k, v in node.items():
                    if k not in ("_sd", "_sd_alg"):
                        walk(v, (*path, k))
            elif isinstance(node, list):
                for i, item in enumerate(node):
                    if isinstance(item, dict) and len(item) == 1 and "..." in item:
                        d = by_digest.get(item["..."]) if isinstance(item["..."], str) else None
                        if d is not None and d.name is None:
                            out.append(((*path, i), d))
                            walk(d.value, (*path, i))
                    else:
                        walk(item, (*path, i))

        walk(self.unverified_payload(limits), ())
        return out

    def select(self, paths: Iterable[Sequence[str | int | None]]) -> SDJWT:
        """Keep only the disclosures needed to reveal ``paths`` (and everything under them).

        A path element is a claim name, an array index, or ``None`` for every array element
        (DCQL claims-path semantics). Ancestors of a revealed claim are revealed too.
        """
        pats = [tuple(p) for p in paths]
        wild = [None in pat for pat in pats]
        keep: set[str] = set()
        for dpath, d in self.disclosure_paths():
            for pat, has_wildcard in zip(pats, wild, strict=True):
                n = min(len(pat), len(dpath))
                # Without a None wildcard the element test is plain equality: compare tuples.
                if (
                    (pat[:n] == dpath[:n])
                    if not has_wildcard
                    else all(
                        (p is None and isinstance(q, int)) or p == q
                        for p, q in zip(pat[:n], dpath[:n], strict=True)
                    )
                ):
                    # dpath is an ancestor of pat (needed to reach it) or lies under it.
                    keep.add(d.digest)
                    break
        return SDJWT(self.jwt, tuple(d for d in self.disclosures if d.digest in keep), None)

    def present(
        self,
        paths: Iterable[Sequence[str | int | None]] | None,
        *,
        holder_key: Signer | None,
        nonce: str | None = None,
        audience: str | None = None,
        iat: int | None = None,
    ) -> str:
        """Make a presentation: the selected disclosures plus, with ``holder_key``, a KB-JWT
        (``typ kb+jwt``; ``iat``, ``aud``, ``nonce``, ``sd_hash``; RFC 9901 section 4.3).

        ``paths=None`` keeps every disclosure.
        """
        chosen = self if paths is None else self.select(paths)
        chosen = SDJWT(chosen.jwt, chosen.disclosures, None)
        if holder_key is None:
            return chosen.serialize()
        if nonce is None or audience is None:
            raise HolderBindingError(
                "key_binding_missing", "key binding needs a nonce and an audience"
            )
        shown = chosen.serialize()
        return shown + make_kb_jwt(shown, holder_key, nonce=nonce, audience=audience, iat=iat)


def make_kb_jwt(
    sd_jwt_without_kb: str, holder_key: Signer, *, nonce: str, audience: str, iat: int | None = None
) -> str:
    """Key-binding JWT over ``<JWT>~<D1>~...~<Dn>~`` (RFC 9901 section 4.3)."""
    payload = {
        "iat": int(time.time()) if iat is None else iat,
        "aud": audience,
        "nonce": nonce,
        "sd_hash": b64u_encode(hashlib.sha256(sd_jwt_without_kb.encode("ascii")).digest()),
    }
    return sign_compact({"typ": "kb+jwt"}, _KB_JSON.encode(payload).encode(), holder_key)


# ------------------------------------------------------------------------------------------
# Verification
# ------------------------------------------------------------------------------------------
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
    """

    header: dict[str, Any]
    claims: dict[str, Any]
    disclosed: frozenset[ClaimPath]
    holder_jwk: dict[str, Any] | None
    key_bound: bool


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
    """
    sd = token if isinstance(token, SDJWT) else SDJWT.parse(token, limits=limits)
    now = time.time() if now is None else now
    jws: ParsedJWS = parse_compact(sd.jwt, typ=typ, limits=limits)
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
    if sd.kb_jwt is not None:
        _verify_kb(sd, holder_jwk, key_binding, now)
        key_bound = True
    elif key_binding.required:
        raise HolderBindingError("key_binding_missing", "key binding is required but absent")
    return VerifiedSDJWT(
        header=jws.header,
        claims=claims,
        disclosed=frozenset(disclosed),
        holder_jwk=holder_jwk,
        key_bound=key_bound,
    )


def _verify_kb(
    sd: SDJWT, holder_jwk: dict[str, Any] | None, policy: KeyBindingPolicy, now: float
) -> None:
    """RFC 9901 section 7.3."""
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
    expected = b64u_encode(hashlib.sha256(sd.serialize(without_kb=True).encode("ascii")).digest())
    if p.get("sd_hash") != expected:
        raise HolderBindingError(
            "sd_hash_mismatch", "KB-JWT sd_hash does not match the presentation"
        )
