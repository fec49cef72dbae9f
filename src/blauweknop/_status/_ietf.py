"""IETF Token Status List (draft-ietf-oauth-status-list): the list and its JWT token.

* :class:`StatusList` is the byte array of section "Status List" (1, 2, 4 or 8 bits per
  entry, packed from the least significant bit of each byte), compressed with ZLIB/DEFLATE
  at level 9 and base64url-encoded into the ``{"bits", "lst"}`` object of section
  "Status List in JSON Format".
* :func:`sign_status_list_token` / :func:`verify_status_list_token` implement section
  "Status List Token in JWT Format" (``typ: statuslist+jwt``; ``sub``, ``iat``, ``exp``,
  ``ttl``, ``status_list``) and the checks of section "Validation Rules".

Status values (section "Status Types"): ``0`` VALID, ``1`` INVALID (revoked), ``2``
SUSPENDED. Our lists use 2 bits so that suspension fits.

Example:
    >>> from blauweknop._keys import Key
    >>> k = Key.generate()
    >>> sl = StatusList(16, bits=2)
    >>> sl.set(3, StatusType.INVALID)
    >>> tok = sign_status_list_token(sl, uri="https://ex.nl/s/1", issuer="urn:oin:1",
    ...                              signer=k, now=1000, ttl=3600)
    >>> v = verify_status_list_token(tok, key=k, expected_uri="https://ex.nl/s/1", now=1100)
    >>> v.status(3), v.status(4)
    (1, 0)
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from .._codec import b64u_decode, b64u_encode, parse_json_object
from .._errors import BlauweKnopError, MalformedError, SignatureError, StatusError
from .._jws import ParsedJWS, parse_compact, sign_compact
from .._keys import ALLOWED_JWS_ALGS, Key, Signer
from .._limits import DEFAULT_LIMITS, Limits
from ._bits import PackedEntries, check_bits, ietf_get, ietf_set
from ._freshness import DEFAULT_FRESHNESS, FreshnessPolicy, check_list_issuer, check_list_times
from ._inflate import ZLIB_WBITS, inflate_bounded

__all__ = [
    "STATUS_LIST_JWT_TYP",
    "STATUS_LIST_MEDIA_TYPE",
    "StatusList",
    "StatusListToken",
    "StatusType",
    "check_status_value",
    "max_status_token_bytes",
    "sign_status_list_token",
    "verify_status_list_token",
]

#: JWT ``typ`` of a Status List Token (section "Status List Token in JWT Format").
STATUS_LIST_JWT_TYP = "statuslist+jwt"
#: HTTP media type of a Status List Token in JWT form (section "Status List Response").
STATUS_LIST_MEDIA_TYPE = "application/statuslist+jwt"


class StatusType(IntEnum):
    """Registered status values (section "Status Types Values")."""

    VALID = 0
    INVALID = 1
    SUSPENDED = 2


class StatusList(PackedEntries):
    """A mutable status list: ``size`` entries of ``bits`` bits, all VALID at first.

    Entries are packed from the least significant bit of each byte (section "Compressed Byte
    Array", step 3); :meth:`to_json` compresses with ZLIB at level 9, which reproduces the
    draft's test vectors byte for byte.

    >>> sl = StatusList(16, bits=1)
    >>> for i in (0, 3, 4, 5, 7, 8, 9, 13, 15):
    ...     sl.set(i, 1)
    >>> sl.to_bytes().hex()
    'b9a3'
    >>> sl.to_json()
    {'bits': 1, 'lst': 'eNrbuRgAAhcBXQ'}
    >>> StatusList.from_json({'bits': 1, 'lst': 'eNrbuRgAAhcBXQ'}).get(3)
    1
    """

    __slots__ = ()
    _INDEX_NAME = "status list index"
    _VALUE_NAME = "status value"

    def __init__(self, size: int, bits: int = 2) -> None:
        bits = check_bits(bits)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"status list size must be a positive integer, not {size!r}")
        self._allocate(size, bits)

    def _read(self, idx: int) -> int:
        return ietf_get(self._data, idx, self._bits)

    def _write(self, idx: int, value: int) -> None:
        ietf_set(self._data, idx, self._bits, value)

    @classmethod
    def from_bytes(cls, data: bytes, bits: int) -> StatusList:
        """Wrap an uncompressed byte array; its size is ``len(data) * 8 / bits`` entries."""
        if not data:
            raise MalformedError("malformed_status_list", "status list byte array is empty")
        sl = cls(len(data) * 8 // check_bits(bits), bits)
        sl._data[:] = data
        return sl

    @property
    def bits(self) -> int:
        """Bits per entry: 1, 2, 4 or 8."""
        return self._bits

    def compressed(self) -> bytes:
        """ZLIB (RFC 1950) / DEFLATE (RFC 1951) at the highest level, as the draft recommends."""
        return zlib.compress(bytes(self._data), 9)

    def to_json(self) -> dict[str, Any]:
        """The ``status_list`` claim: ``{"bits": ..., "lst": base64url(zlib(bytes))}``."""
        return {"bits": self._bits, "lst": b64u_encode(self.compressed())}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], *, limits: Limits = DEFAULT_LIMITS) -> StatusList:
        """Decode a ``status_list`` claim with bounded decompression.

        Refuses: ``bits`` other than 1/2/4/8, ``lst`` not canonical base64url, compressed data
        over ``limits.max_status_list_bytes``, and output over
        ``limits.max_status_list_entries * bits / 8`` bytes (``too_large``, without inflating
        the rest: zlib bombs are cheap to refuse).
        """
        if not isinstance(obj, Mapping):
            raise MalformedError("malformed_status_list", "status_list is not a JSON object")
        bits = obj.get("bits")
        lst = obj.get("lst")
        try:
            bits = check_bits(bits)
        except ValueError as e:
            raise MalformedError("malformed_status_list", str(e)) from e
        if not isinstance(lst, str):
            raise MalformedError("malformed_status_list", "status_list.lst is not a string")
        if len(lst) > math.ceil(limits.max_status_list_bytes * 4 / 3):
            raise MalformedError(
                "too_large", f"status list is larger than {limits.max_status_list_bytes} bytes"
            )
        compressed = b64u_decode(lst, what="status_list.lst")
        return cls.from_compressed(compressed, bits, limits=limits)

    @classmethod
    def from_compressed(
        cls, data: bytes, bits: int, *, limits: Limits = DEFAULT_LIMITS
    ) -> StatusList:
        """Decode a ZLIB-compressed byte array (the CBOR form's ``lst``) with the same bounds."""
        bits = check_bits(bits)
        if len(data) > limits.max_status_list_bytes:
            raise MalformedError(
                "too_large", f"status list is larger than {limits.max_status_list_bytes} bytes"
            )
        max_out = max(1, limits.max_status_list_entries * bits // 8)
        raw = inflate_bounded(data, wbits=ZLIB_WBITS, max_out=max_out, what="status list")
        return cls.from_bytes(raw, bits)

    def __repr__(self) -> str:
        return f"StatusList(size={self._size}, bits={self._bits})"


def check_status_value(value: int, *, uri: str = "", idx: int | None = None) -> None:
    """Raise for any status other than VALID (section "Status Types Values").

    ``1`` → ``StatusError("revoked")``, ``2`` → ``StatusError("suspended")``, any other
    non-zero value (application-specific or unregistered) → ``status_invalid``: no statement
    we understand can be made, so the credential is not accepted.

    >>> check_status_value(0)
    >>> check_status_value(2)
    Traceback (most recent call last):
    ...
    blauweknop._errors.StatusError: suspended: credential is suspended
    """
    where = f" (list {uri}, index {idx})" if uri else ""
    if value == StatusType.VALID:
        return
    if value == StatusType.INVALID:
        raise StatusError("revoked", f"credential is revoked{where}")
    if value == StatusType.SUSPENDED:
        raise StatusError("suspended", f"credential is suspended{where}")
    raise StatusError("status_invalid", f"unknown status value {value}{where}")


def max_status_token_bytes(limits: Limits = DEFAULT_LIMITS) -> int:
    """Upper bound on a Status List Token's size: the compressed list in base64url plus room
    for the header, the other claims and the signature."""
    return math.ceil(limits.max_status_list_bytes * 4 / 3) + 64 * 1024


def sign_status_list_token(
    status_list: StatusList,
    *,
    uri: str,
    issuer: str,
    signer: Signer,
    now: float,
    ttl: int,
    valid_for: int = 24 * 3600,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """Sign a Status List Token in JWT form (section "Status List Token in JWT Format").

    Claims: ``sub`` = ``uri`` (the list's own URI, equal to ``status.status_list.uri`` in the
    credentials), ``iss``, ``iat`` = ``now``, ``exp`` = ``now + valid_for``, ``ttl`` (seconds a
    verifier may cache it) and ``status_list``. Header: ``typ: statuslist+jwt``, ``kid``.

    >>> from blauweknop._keys import Key
    >>> tok = sign_status_list_token(StatusList(8, 1), uri="https://ex.nl/s/1",
    ...     issuer="urn:oin:1", signer=Key.generate(), now=0, ttl=60)
    >>> tok.count(".")
    2
    """
    if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
        raise ValueError("ttl must be a positive number of seconds")
    if not isinstance(valid_for, int) or valid_for <= 0:
        raise ValueError("valid_for must be a positive number of seconds")
    iat = int(now)
    claims: dict[str, Any] = dict(extra_claims or {})
    claims.update(
        {
            "sub": uri,
            "iss": issuer,
            "iat": iat,
            "exp": iat + valid_for,
            "ttl": ttl,
            "status_list": status_list.to_json(),
        }
    )
    payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    header = {"typ": STATUS_LIST_JWT_TYP, "kid": signer.kid}
    return sign_compact(header, payload, signer)


@dataclass(frozen=True, kw_only=True, slots=True)
class StatusListToken:
    """A Status List Token whose signature, subject and freshness were checked.

    Attributes:
        uri: the token's ``sub`` (equal to the expected list URI).
        issuer: ``iss`` claim, or ``None`` when absent.
        issued_at: ``iat``.
        expires_at: ``exp``, or ``None``.
        ttl: ``ttl`` as the token states it, or ``None``.
        fresh_until: when this copy becomes stale under the applied policy.
        kid: ``kid`` of the signing key.
        status_list: the decoded list.
    """

    uri: str
    issuer: str | None
    issued_at: int
    expires_at: int | None
    ttl: int | None
    fresh_until: float
    kid: str | None
    status_list: StatusList

    def status(self, idx: int) -> int:
        """Raw status value at ``idx``; out of range → ``StatusError("status_invalid")``
        (section "Validation Rules" step 6: no statement can be made, reject)."""
        if (
            isinstance(idx, bool)
            or not isinstance(idx, int)
            or not 0 <= idx < self.status_list.size
        ):
            raise StatusError(
                "status_invalid",
                f"index {idx!r} is outside status list {self.uri} (size {self.status_list.size})",
            )
        return self.status_list.get(idx)

    def check(self, idx: int) -> int:
        """Like :meth:`status` but raise ``revoked`` / ``suspended`` / ``status_invalid`` for
        anything but VALID; returns ``0``."""
        value = self.status(idx)
        check_status_value(value, uri=self.uri, idx=idx)
        return value


def _select_keys(parsed: ParsedJWS, keys: Sequence[Key]) -> list[Key]:
    kid = parsed.header.get("kid")
    if isinstance(kid, str):
        matching = [k for k in keys if k.kid == kid]
        if not matching:
            raise StatusError(
                "status_invalid",
                f"status list token is signed with key {kid!r}, "
                "not with a key of the credential's issuer",
            )
        return matching
    return list(keys)


def _opt_int_claim(claims: Mapping[str, Any], name: str) -> int | None:
    v = claims.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise MalformedError(
            "malformed_status_list", f"status list token {name!r} is not a NumericDate"
        )
    return int(v)


def _int_claim(claims: Mapping[str, Any], name: str) -> int:
    v = _opt_int_claim(claims, name)
    if v is None:
        raise MalformedError("malformed_status_list", f"status list token has no {name!r}")
    return v


def verify_status_list_token(
    token: str | bytes,
    *,
    key: Key | Sequence[Key],
    expected_uri: str,
    now: float,
    expected_issuer: str | None = None,
    max_age: float | None = None,
    policy: FreshnessPolicy = DEFAULT_FRESHNESS,
    algs: Collection[str] = ALLOWED_JWS_ALGS,
    limits: Limits = DEFAULT_LIMITS,
    fresh: bool = True,
    x5c_key: Callable[[Any], Key] | None = None,
) -> StatusListToken:
    """Verify a Status List Token (section "Validation Rules", step 3 and 4).

    Args:
        token: the compact JWT (``str`` or the raw bytes as fetched).
        key: the public key(s) of the credential's issuer (several during key rotation; the
            token's ``kid`` selects among them).
        expected_uri: ``status.status_list.uri`` of the credential; ``sub`` must equal it.
        now: verification time, Unix seconds.
        expected_issuer: when given, the token's ``iss`` must be present and equal.
        max_age: caller's bound on ``now - iat`` in seconds.
        policy: clamps for ``ttl``, the maximum age and the clock leeway; freshness counts
            from the token's own ``iat``, never from when it was fetched.
        fresh: ``False`` checks only that ``iat`` is not in the future (admitting a list
            into a cache; freshness is checked when it is used).
        x5c_key: for a token with an ``x5c`` header (HAIP), ``x5c_key(x5c)`` validates the
            chain against pinned roots and returns the leaf key (e.g.
            ``TrustedOrganisation.resolve_x5c``); without it such a token is refused.

    Raises:
        StatusError: ``status_unavailable`` when the token cannot be parsed or is stale;
            ``status_invalid`` for a bad signature, a key or ``iss`` of another organisation,
            a ``sub`` that is not ``expected_uri``, or an ``iat`` in the future.
    """
    keys: Sequence[Key] = [key] if isinstance(key, Key) else list(key)
    max_bytes = max_status_token_bytes(limits)
    try:
        if isinstance(token, bytes):
            if len(token) > max_bytes:
                raise MalformedError(
                    "too_large", f"status list token is larger than {max_bytes} bytes"
                )
            token = token.decode("ascii").strip()
        parsed = parse_compact(
            token,
            algs=algs,
            typ=STATUS_LIST_JWT_TYP,
            limits=limits,
            max_bytes=max_bytes,
            allow_x5c=True,
        )
    except (MalformedError, UnicodeDecodeError) as e:
        raise StatusError("status_unavailable", f"status list token is unreadable: {e}") from e
    except SignatureError as e:
        raise StatusError("status_invalid", f"status list token refused: {e}") from e
    if "x5c" in parsed.header:
        if x5c_key is None:
            raise StatusError(
                "status_invalid", "status list token carries x5c, but no X.509 roots are pinned"
            )
        try:
            keys = [x5c_key(parsed.header["x5c"])]
        except BlauweKnopError as e:
            raise StatusError("status_invalid", f"status list token x5c: {e}") from e
    else:
        keys = _select_keys(parsed, keys)

    last: SignatureError | None = None
    for k in keys:
        try:
            parsed.verify(k, algs=algs)
            break
        except SignatureError as e:
            last = e
    else:
        raise StatusError(
            "status_invalid", "status list token signature does not verify with the issuer's key"
        ) from last

    try:
        # bounded by the status-list token size, which may exceed max_token_bytes
        claims = parse_json_object(
            parsed.payload, limits=limits, what="status list token payload", max_bytes=max_bytes
        )
        sub = claims.get("sub")
        iat = _int_claim(claims, "iat")
        exp = _opt_int_claim(claims, "exp")
        ttl = _opt_int_claim(claims, "ttl")
        if ttl == 0:
            raise MalformedError("malformed_status_list", "status list token ttl must be positive")
        iss = claims.get("iss")
        if iss is not None and not isinstance(iss, str):
            raise MalformedError("malformed_status_list", "status list token iss is not a string")
        if "status_list" not in claims:
            raise MalformedError("malformed_status_list", "status list token has no status_list")
    except MalformedError as e:
        raise StatusError("status_unavailable", f"status list token is unreadable: {e}") from e
    if sub != expected_uri:
        raise StatusError(
            "status_invalid", f"status list token is for {sub!r}, expected {expected_uri!r}"
        )
    check_list_issuer(iss, expected_issuer, what="status list token")
    fresh_until = check_list_times(
        fresh=fresh,
        now=now,
        issued_at=iat,
        expires_at=exp,
        ttl=ttl,
        policy=policy,
        max_age=max_age,
        what=f"status list {expected_uri}",
    )
    try:
        status_list = StatusList.from_json(claims["status_list"], limits=limits)
    except MalformedError as e:
        raise StatusError(
            "status_unavailable", f"status list {expected_uri} is unreadable: {e}"
        ) from e
    kid = parsed.header.get("kid")
    return StatusListToken(
        uri=expected_uri,
        issuer=iss,
        issued_at=iat,
        expires_at=exp,
        ttl=ttl,
        fresh_until=fresh_until,
        kid=kid if isinstance(kid, str) else None,
        status_list=status_list,
    )
