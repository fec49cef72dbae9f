"""The scheme's trust list: a JWT signed by the scheme authority (stelselbeheerder).

It lists the registered organisations with their roles and public keys. Verifiers pin the
authority's public key, check the list's signature and freshness, and then resolve an issuer's
key by issuer id and ``kid`` with no network access. Format: ``specs/trust-list.md``.

Example:
    >>> from blauweknop._keys import Key
    >>> anchor, org = Key.generate(), Key.generate()
    >>> entry = {"id": "urn:oin:00000001003214345000", "name": "CJIB", "roles": ["creditor"],
    ...          "jwks": {"keys": [org.public_jwk()]}}
    >>> token = build_trust_list([entry], anchor, valid_days=7)
    >>> tl = TrustList.verify(token, anchor.public())
    >>> tl.resolve_key("urn:oin:00000001003214345000", org.kid) == org
    True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from ._codec import parse_json_object
from ._errors import BlauweKnopError, MalformedError, SignatureError, TrustError
from ._jws import parse_compact, sign_compact
from ._keys import Key, Signer
from ._limits import DEFAULT_LIMITS, Limits
from ._x509 import resolve_x5c_key

__all__ = [
    "DEFAULT_TRUST_LIST_MAX_AGE",
    "KNOWN_ROLES",
    "TRUST_LIST_TYP",
    "RequestPermission",
    "TrustList",
    "TrustedOrganisation",
    "build_trust_list",
    "parse_entry",
]

TRUST_LIST_TYP = "trust-list+jwt"
KNOWN_ROLES = frozenset(
    {
        "creditor",
        "municipality",
        "debt_counsellor",
        "scheme_authority",
        "verifier",
        "arrangement_coordinator",
    }
)
_THUMBPRINT_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_ID_RE = re.compile(r"^(urn:oin:[0-9]{20}|https://[A-Za-z0-9.-]+(:[0-9]+)?(/[^\s#?]*)?)$")


def _timestamp(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            d = dt.datetime.fromisoformat(value)
        except ValueError as e:
            raise MalformedError("trust_entry_invalid", f"{what}: not an RFC 3339 time") from e
        if d.tzinfo is None:
            d = d.replace(tzinfo=dt.UTC)
        return d.timestamp()
    raise MalformedError("trust_entry_invalid", f"{what}: not a time")


def _numeric_date(value: Any, name: str) -> float:
    """A JSON number (RFC 7519 NumericDate). ``float()`` alone would also take the strings
    ``"NaN"`` and ``"inf"``, and a list whose ``exp`` is NaN or infinite never expires."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite")
    return out


ClaimPath = tuple[str | int | None, ...]
_MAX_PERMISSIONS = 64
_MAX_PERMITTED_PATHS = 256


@dataclass(frozen=True, kw_only=True)
class RequestPermission:
    """What a registered verifier may ask a wallet for (the entry's ``verifier.may_request``).

    Attributes:
        vct: the credential type (SD-JWT VC ``vct``; a W3C request maps to it by profile).
        claims: claims path pointers (OpenID4VP section 7, SD-JWT form); each covers its subtree,
            ``None`` stands for any array index.
    """

    vct: str
    claims: tuple[ClaimPath, ...]


def _parse_permissions(oid: str, member: Any) -> tuple[RequestPermission, ...]:
    """The ``verifier`` member (specs/trust-list.md): ``{"may_request": [{vct, claims}]}``."""
    items = member.get("may_request") if isinstance(member, Mapping) else None
    if not isinstance(items, list) or len(items) > _MAX_PERMISSIONS:
        raise MalformedError("trust_entry_invalid", f"{oid}: verifier.may_request must be a list")
    out = []
    for item in items:
        vct = item.get("vct") if isinstance(item, Mapping) else None
        paths = item.get("claims") if isinstance(item, Mapping) else None
        if not isinstance(vct, str) or not vct or not isinstance(paths, list):
            raise MalformedError(
                "trust_entry_invalid", f"{oid}: verifier.may_request needs vct and claims"
            )
        if len(paths) > _MAX_PERMITTED_PATHS or not all(
            isinstance(p, list)
            and 0 < len(p) <= 16
            and all(
                (isinstance(x, str) and x)
                or x is None
                or (isinstance(x, int) and not isinstance(x, bool) and x >= 0)
                for x in p
            )
            for p in paths
        ):
            raise MalformedError(
                "trust_entry_invalid", f"{oid}: verifier claims must be claims path pointers"
            )
        out.append(RequestPermission(vct=vct, claims=tuple(tuple(p) for p in paths)))
    return tuple(out)


@dataclass(frozen=True, kw_only=True)
class TrustedOrganisation:
    """One registered organisation.

    Attributes:
        id: ``urn:oin:<20 digits>`` or an https URL.
        name: display name.
        roles: e.g. ``{"creditor"}``, ``{"municipality", "creditor"}``.
        keys: public keys by ``kid`` (the JWK's own ``kid`` and its RFC 7638 thumbprint).
        valid_from / valid_until: Unix times of the registration window, if limited.
        may_request: for the ``verifier`` role, what it may ask wallets for (OpenID4VP).
        x509_roots / x509_revoked: the trust list's pinned X.509 roots and revoked
            certificate thumbprints, for keys carried in ``x5c`` (:meth:`resolve_x5c`).
    """

    id: str
    name: str
    roles: frozenset[str]
    keys: Mapping[str, Key] = field(repr=False)
    valid_from: float | None = None
    valid_until: float | None = None
    entry: Mapping[str, Any] = field(repr=False, default_factory=dict)
    may_request: tuple[RequestPermission, ...] = ()
    x509_roots: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    x509_revoked: frozenset[str] = field(default=frozenset(), repr=False)

    def resolve_x5c(self, x5c: Any, *, now: float) -> Key:
        """The leaf key of an ``x5c`` chain of this organisation: the chain leads to a pinned
        root, nothing in it is revoked, and the leaf names this organisation's id
        (``x5c_*`` codes, specs/x509.md). Without pinned roots ``header_not_allowed``."""
        if not self.x509_roots:
            raise SignatureError(
                "header_not_allowed", "an x5c chain needs pinned X.509 roots to be checked"
            )
        return resolve_x5c_key(x5c, self.id, self.x509_roots, now=now, revoked=self.x509_revoked)

    @property
    def oin(self) -> str | None:
        """The OIN: from a ``urn:oin:`` id, or the entry's ``oin`` member for an https id."""
        if self.id.startswith("urn:oin:"):
            return self.id[8:]
        oin = self.entry.get("oin")
        return oin if isinstance(oin, str) else None

    def is_active(self, now: float) -> bool:
        """Whether ``now`` lies in the registration window."""
        return (self.valid_from is None or now >= self.valid_from) and (
            self.valid_until is None or now <= self.valid_until
        )


def parse_entry(entry: Mapping[str, Any]) -> TrustedOrganisation:
    """Validate one trust-list entry (specs/trust-list.md): id, name, roles, jwks of public keys.

    Keys made by other tools are accepted with extra members; private members are refused.
    """
    if not isinstance(entry, Mapping):
        raise MalformedError("trust_entry_invalid", "entry must be a JSON object")
    oid = entry.get("id")
    if not isinstance(oid, str) or not _ID_RE.match(oid):
        raise MalformedError(
            "trust_entry_invalid", f"id {oid!r} is not urn:oin:<20 digits> or https URL"
        )
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise MalformedError("trust_entry_invalid", f"{oid}: name missing")
    oin = entry.get("oin")
    if oin is not None and (
        not isinstance(oin, str)
        or not re.fullmatch(r"[0-9]{20}", oin)
        or (oid.startswith("urn:oin:") and oid != "urn:oin:" + oin)
    ):
        raise MalformedError("trust_entry_invalid", f"{oid}: oin must be the 20-digit OIN")
    roles = entry.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise MalformedError("trust_entry_invalid", f"{oid}: roles must be a non-empty list")
    unknown = set(roles) - KNOWN_ROLES
    if unknown:
        raise MalformedError("trust_entry_invalid", f"{oid}: unknown role(s) {sorted(unknown)}")
    jwks = entry.get("jwks")
    keys_list = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys_list, list) or not keys_list:
        raise MalformedError("trust_entry_invalid", f"{oid}: jwks.keys must be a non-empty list")
    keys: dict[str, Key] = {}
    for jwk in keys_list:
        if not isinstance(jwk, Mapping):
            raise MalformedError("trust_entry_invalid", f"{oid}: a key is not an object")
        if any(m in jwk for m in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise MalformedError("trust_entry_invalid", f"{oid}: private key material in the entry")
        try:
            key = Key.from_jwk(jwk)
        except SignatureError as e:
            raise MalformedError("trust_entry_invalid", f"{oid}: {e.message}") from e
        if key.alg not in ("ES256", "EdDSA"):
            raise MalformedError("trust_entry_invalid", f"{oid}: only P-256 and Ed25519 keys")
        keys[key.kid] = key
        if isinstance(jwk.get("kid"), str) and jwk["kid"]:
            keys[jwk["kid"]] = key
    may_request: tuple[RequestPermission, ...] = ()
    if "verifier" in entry:
        if "verifier" not in roles:
            raise MalformedError("trust_entry_invalid", f"{oid}: verifier member without the role")
        may_request = _parse_permissions(oid, entry["verifier"])
    return TrustedOrganisation(
        id=oid,
        name=name,
        roles=frozenset(roles),
        keys=keys,
        valid_from=_timestamp(entry.get("valid_from"), f"{oid}.valid_from"),
        valid_until=_timestamp(entry.get("valid_until"), f"{oid}.valid_until"),
        entry=dict(entry),
        may_request=may_request,
    )


def _revoked_thumbprints(value: Any) -> frozenset[str]:
    """The optional ``x509_revoked`` member: a list of certificate ``x509_hash`` values."""
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(
        isinstance(v, str) and _THUMBPRINT_RE.match(v) for v in value
    ):
        raise MalformedError(
            "trust_list_invalid", "x509_revoked must be a list of certificate SHA-256 thumbprints"
        )
    return frozenset(value)


def build_trust_list(
    entries: Iterable[Mapping[str, Any]],
    anchor_key: Signer,
    *,
    valid_days: int = 30,
    issuer: str = "urn:blauweknop:scheme-authority",
    now: float | None = None,
    x509_revoked: Iterable[str] = (),
) -> str:
    """Sign a trust list (``typ trust-list+jwt``) valid for ``valid_days`` from ``now``.

    Entries are validated first; duplicate organisation ids are refused. ``x509_revoked``:
    ``x509_hash`` thumbprints of certificates the scheme revokes (specs/trust-list.md).
    """
    now_i = int(time.time() if now is None else now)
    if valid_days < 1 or valid_days > 400:
        raise MalformedError("trust_list_invalid", "valid_days must be between 1 and 400")
    orgs = []
    seen: set[str] = set()
    for e in entries:
        org = parse_entry(e)
        if org.id in seen:
            raise MalformedError("trust_list_invalid", f"organisation {org.id} listed twice")
        seen.add(org.id)
        orgs.append(dict(e))
    payload = {
        "iss": issuer,
        "iat": now_i,
        "nbf": now_i,
        "exp": now_i + valid_days * 86400,
        "organisations": orgs,
    }
    revoked = sorted(set(x509_revoked))
    if revoked:
        payload["x509_revoked"] = sorted(_revoked_thumbprints(revoked))
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return sign_compact({"typ": TRUST_LIST_TYP, "kid": anchor_key.kid}, body, anchor_key)


#: How old (seconds since its ``iat``) a trust list may be by default: 35 days, the scheme
#: authority's monthly re-issue plus five days' grace. A list signed for up to 400 days is
#: still refused after this; pass ``max_age`` to change it (``None``: only the list's ``exp``).
DEFAULT_TRUST_LIST_MAX_AGE = 35 * 86400


@dataclass(frozen=True, kw_only=True)
class TrustList:
    """A verified trust list. Obtain it with :meth:`verify`; never construct from unverified data.

    Attributes:
        issuer: the scheme authority's identifier.
        issued_at / not_before / expires_at: Unix times.
        organisations: registered organisations by id.
        x509_roots: pinned X.509 root certificates (the scheme CA), given by the caller like
            the anchor key; ``x5c`` chains resolve only to these (specs/x509.md).
        x509_revoked: ``x509_hash`` thumbprints of certificates the list revokes.
    """

    issuer: str
    issued_at: float
    not_before: float
    expires_at: float
    organisations: Mapping[str, TrustedOrganisation]
    x509_roots: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    x509_revoked: frozenset[str] = frozenset()

    @classmethod
    def verify(
        cls,
        token: str | bytes,
        anchor: Key | Sequence[Key],
        *,
        now: float | None = None,
        max_age: float | None = DEFAULT_TRUST_LIST_MAX_AGE,
        leeway: int = 60,
        limits: Limits = DEFAULT_LIMITS,
        x509_roots: Sequence[x509.Certificate] = (),
    ) -> TrustList:
        """Verify the list's signature against the pinned anchor key(s) and its freshness.

        ``x509_roots``: pinned root certificates of the scheme CA; with them an issuer may
        carry its key in an ``x5c`` chain instead of by ``kid`` (:meth:`resolve_issuer_key`).

        Freshness: ``now`` must lie between ``nbf`` and ``exp``, and the list may be at most
        ``max_age`` seconds old counted from its ``iat`` (default
        :data:`DEFAULT_TRUST_LIST_MAX_AGE`, 35 days; ``None`` leaves only ``exp``).

        Raises :class:`TrustError`: ``trust_list_invalid`` (bad signature, wrong anchor,
        malformed), ``trust_list_expired`` (past ``exp``, or older than ``max_age`` seconds),
        ``trust_list_not_yet_valid``.
        """
        now = time.time() if now is None else now
        text = token.decode("ascii", "replace") if isinstance(token, bytes) else token
        anchors = [anchor] if isinstance(anchor, Key) else list(anchor)
        try:
            jws = parse_compact(
                text.strip(),
                typ=TRUST_LIST_TYP,
                limits=limits,
                max_bytes=limits.max_trust_list_bytes,
            )
            last: BlauweKnopError | None = None
            for a in anchors:
                try:
                    jws.verify(a)
                    break
                except SignatureError as e:
                    last = e
            else:
                raise TrustError(
                    "trust_list_invalid", "trust list is not signed by the pinned anchor key"
                ) from last
            payload = parse_json_object(
                jws.payload, limits=limits, what="trust list", max_bytes=limits.max_trust_list_bytes
            )
        except TrustError:
            raise
        except BlauweKnopError as e:
            raise TrustError("trust_list_invalid", f"trust list: {e.message}") from e
        try:
            iat = _numeric_date(payload["iat"], "iat")
            nbf = _numeric_date(payload.get("nbf", iat), "nbf")
            exp = _numeric_date(payload["exp"], "exp")
            iss = str(payload.get("iss", ""))
            raw_orgs = payload["organisations"]
            if not isinstance(raw_orgs, list):
                raise TypeError("organisations must be a list")
            revoked = _revoked_thumbprints(payload.get("x509_revoked"))
        except MalformedError as e:
            raise TrustError("trust_list_invalid", e.message) from e
        except (KeyError, TypeError, ValueError) as e:
            raise TrustError("trust_list_invalid", f"trust list payload: {e}") from e
        if now > exp + leeway:
            raise TrustError("trust_list_expired", "trust list has expired; fetch a fresh one")
        if max_age is not None and now - iat > max_age + leeway:
            raise TrustError(
                "trust_list_expired",
                f"trust list was issued {(now - iat) / 86400:.1f} days ago; at most "
                f"{max_age / 86400:g} days are accepted: fetch a fresh one",
            )
        if now + leeway < nbf:
            raise TrustError("trust_list_not_yet_valid", "trust list is not valid yet")
        orgs: dict[str, TrustedOrganisation] = {}
        for raw in raw_orgs:
            try:
                org = parse_entry(raw)
            except MalformedError as err:
                raise TrustError("trust_list_invalid", err.message) from err
            if org.id in orgs:
                raise TrustError("trust_list_invalid", f"organisation {org.id} listed twice")
            orgs[org.id] = org
        return cls(
            issuer=iss,
            issued_at=iat,
            not_before=nbf,
            expires_at=exp,
            organisations=orgs,
            x509_revoked=revoked,
        ).with_x509_roots(x509_roots)

    def with_x509_roots(self, roots: Sequence[x509.Certificate]) -> TrustList:
        """The same verified list with ``roots`` pinned as its X.509 roots."""
        pinned = tuple(roots)
        orgs = {
            oid: dataclasses.replace(o, x509_roots=pinned, x509_revoked=self.x509_revoked)
            for oid, o in self.organisations.items()
        }
        return dataclasses.replace(self, x509_roots=pinned, organisations=orgs)

    def resolve_issuer_key(
        self, issuer_id: str, header: Mapping[str, Any], *, now: float | None = None
    ) -> Key:
        """The key that must have signed a JWS of ``issuer_id`` with this ``header``.

        The organisation must be active in the list (its roles are the caller's check). With
        an ``x5c`` header the key is the leaf's: the chain must lead to a pinned
        :attr:`x509_roots` certificate, none of it revoked by :attr:`x509_revoked`, and the
        leaf must name ``issuer_id`` (``x5c_*`` codes, specs/x509.md); without pinned roots
        an ``x5c`` header is refused (``header_not_allowed``). Otherwise by ``kid``
        (:meth:`resolve_key`).
        """
        now = time.time() if now is None else now
        if "x5c" not in header:
            kid = header.get("kid")
            return self.resolve_key(issuer_id, kid if isinstance(kid, str) else None, now=now)
        return self.organisation(issuer_id, now=now).resolve_x5c(header["x5c"], now=now)

    def organisation(self, issuer_id: str, *, now: float | None = None) -> TrustedOrganisation:
        """The active organisation ``issuer_id``, or ``TrustError("untrusted_issuer")``."""
        org = self.organisations.get(issuer_id)
        if org is None:
            raise TrustError("untrusted_issuer", f"{issuer_id!r} is not in the trust list")
        if not org.is_active(time.time() if now is None else now):
            raise TrustError(
                "untrusted_issuer", f"{issuer_id!r} is outside its registration window"
            )
        return org

    def resolve_key(self, issuer_id: str, kid: str | None, *, now: float | None = None) -> Key:
        """The key ``kid`` of organisation ``issuer_id``. Without ``kid`` only a single-key
        organisation resolves. Raises ``untrusted_issuer`` / ``untrusted_key``."""
        org = self.organisation(issuer_id, now=now)
        if kid is None:
            distinct = set(org.keys.values())
            if len(distinct) == 1:
                return next(iter(distinct))
            raise TrustError("untrusted_key", f"{issuer_id} has several keys; the token names none")
        key = org.keys.get(kid)
        if key is None:
            raise TrustError("untrusted_key", f"key {kid!r} is not registered for {issuer_id}")
        return key

    def to_json(self) -> dict[str, Any]:
        """A summary for display: issuer, validity and organisations with roles and kids."""
        return {
            "issuer": self.issuer,
            "issued_at": int(self.issued_at),
            "expires_at": int(self.expires_at),
            "organisations": [
                {
                    "id": o.id,
                    "name": o.name,
                    "roles": sorted(o.roles),
                    "kids": sorted({k.kid for k in o.keys.values()}),
                }
                for o in self.organisations.values()
            ],
        }
