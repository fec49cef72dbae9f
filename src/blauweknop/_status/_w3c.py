"""W3C Bitstring Status List v1.0 (Recommendation, 15 May 2025).

* :class:`BitstringStatusList` (in :mod:`._bitstring`): the bitstring of section 2.2
  ``encodedList``, sections 3.3 (generation) and 3.4 (expansion).
* :class:`BitstringStatusListEntry`: the ``credentialStatus`` entry of section 2.1.
* :func:`build_bitstring_status_list_credential`: the unsigned
  ``BitstringStatusListCredential`` of section 2.2 (section 3.1, Generate). Securing it (a
  Data Integrity proof) is another module's job: pass its ``sign(document) -> document``.
* :func:`verify_bitstring_status_list_credential` and :func:`check_bitstring_status`: the
  Validate algorithm of section 3.2, with the proof check injected as
  ``verify(document) -> issuer id``.

Example:
    >>> e = BitstringStatusListEntry.from_claims({"type": "BitstringStatusListEntry",
    ...     "statusPurpose": "revocation", "statusListIndex": "94567",
    ...     "statusListCredential": "https://example.com/credentials/status/3"})
    >>> e.status_list_index
    94567
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .._codec import canonical_json, parse_json, parse_json_object
from .._errors import (
    BlauweKnopError,
    InvalidDataError,
    MalformedError,
    StatusError,
    ValidityError,
)
from .._limits import DEFAULT_LIMITS, Limits
from ._bitstring import MIN_BITSTRING_ENTRIES, BitstringStatusList
from ._freshness import DEFAULT_FRESHNESS, FreshnessPolicy, check_list_issuer, check_list_times
from ._ietf import max_status_token_bytes

__all__ = [
    "BITSTRING_STATUS_LIST_CREDENTIAL",
    "MIN_BITSTRING_ENTRIES",
    "STATUS_PURPOSES",
    "VC_V2_CONTEXT",
    "BitstringStatusList",
    "BitstringStatusListEntry",
    "VerifiedBitstringStatusList",
    "build_bitstring_status_list_credential",
    "canonical_copy",
    "check_bitstring_status",
    "parse_xsd_datetime",
    "verify_bitstring_status_list_credential",
]

#: The purposes whose meaning we implement (section 2.1 ``statusPurpose``).
STATUS_PURPOSES: frozenset[str] = frozenset({"revocation", "suspension"})
#: The VC Data Model 2.0 context; it defines every Bitstring Status List term.
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
BITSTRING_STATUS_LIST_CREDENTIAL = "BitstringStatusListCredential"

_INDEX_RE = re.compile(r"^(0|[1-9][0-9]{0,15})$")

SignDocument = Callable[[dict[str, Any]], dict[str, Any]]
VerifyDocument = Callable[[dict[str, Any]], str]


@dataclass(frozen=True, kw_only=True, slots=True)
class BitstringStatusListEntry:
    """A ``credentialStatus`` entry of type ``BitstringStatusListEntry`` (section 2.1).

    Attributes:
        status_purpose: ``"revocation"`` or ``"suspension"``.
        status_list_index: the entry's index (a non-negative integer; a base-10 string on
            the wire).
        status_list_credential: URL of the ``BitstringStatusListCredential``.
        id: optional entry id; must not be the list's URL.

    >>> e = BitstringStatusListEntry(status_purpose="revocation", status_list_index=94567,
    ...     status_list_credential="https://example.com/credentials/status/3")
    >>> e.to_claims()["statusListIndex"]
    '94567'
    >>> BitstringStatusListEntry.from_claims(e.to_claims()) == e
    True
    """

    status_purpose: str
    status_list_index: int
    status_list_credential: str
    id: str | None = None

    def __post_init__(self) -> None:
        if self.status_purpose not in STATUS_PURPOSES:
            raise InvalidDataError(
                "invalid_data",
                f"statusPurpose must be revocation or suspension, not {self.status_purpose!r}",
                field="statusPurpose",
            )
        idx = self.status_list_index
        if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
            raise InvalidDataError(
                "invalid_data",
                "statusListIndex must be a non-negative integer",
                field="statusListIndex",
            )
        if not isinstance(self.status_list_credential, str) or not self.status_list_credential:
            raise InvalidDataError(
                "invalid_data", "statusListCredential must be a URL", field="statusListCredential"
            )
        if self.id is not None and self.id == self.status_list_credential:
            raise InvalidDataError(
                "invalid_data",
                "the entry id must not be the status list URL (section 2.1)",
                field="id",
            )

    def to_claims(self) -> dict[str, Any]:
        """The JSON object to put in ``credentialStatus``."""
        out: dict[str, Any] = {}
        if self.id is not None:
            out["id"] = self.id
        out.update(
            {
                "type": "BitstringStatusListEntry",
                "statusPurpose": self.status_purpose,
                "statusListIndex": str(self.status_list_index),
                "statusListCredential": self.status_list_credential,
            }
        )
        return out

    @classmethod
    def from_claims(cls, obj: Mapping[str, Any]) -> BitstringStatusListEntry:
        """Parse a ``credentialStatus`` entry strictly; ``MalformedError`` when it does not
        follow section 2.1 or uses a purpose or ``statusSize`` we do not implement."""
        if not isinstance(obj, Mapping):
            raise MalformedError(
                "malformed_status_entry", "credentialStatus entry is not an object"
            )
        if obj.get("type") != "BitstringStatusListEntry":
            raise MalformedError(
                "malformed_status_entry",
                f"credentialStatus type {obj.get('type')!r} is not supported",
            )
        purpose = obj.get("statusPurpose")
        if purpose not in STATUS_PURPOSES:
            raise MalformedError(
                "malformed_status_entry", f"statusPurpose {purpose!r} is not supported"
            )
        if obj.get("statusSize", 1) != 1 or isinstance(obj.get("statusSize"), bool):
            raise MalformedError("malformed_status_entry", "only statusSize 1 is supported")
        idx = obj.get("statusListIndex")
        if not isinstance(idx, str) or not _INDEX_RE.match(idx):
            raise MalformedError(
                "malformed_status_entry",
                "statusListIndex must be a base-10 integer string without sign or leading zeros",
            )
        url = obj.get("statusListCredential")
        if not isinstance(url, str) or not url:
            raise MalformedError("malformed_status_entry", "statusListCredential must be a URL")
        entry_id = obj.get("id")
        if entry_id is not None and (not isinstance(entry_id, str) or entry_id == url):
            raise MalformedError("malformed_status_entry", "invalid credentialStatus id")
        return cls(
            status_purpose=purpose,
            status_list_index=int(idx),
            status_list_credential=url,
            id=entry_id,
        )


def _xsd_datetime(t: float | datetime) -> str:
    if isinstance(t, datetime):
        if t.tzinfo is None:
            raise ValueError("datetime must be timezone-aware")
        t = t.timestamp()
    return datetime.fromtimestamp(int(t), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_xsd_datetime(value: Any, name: str) -> float:
    """Parse an XML Schema ``dateTimeStamp`` (time zone required) to Unix seconds."""
    if not isinstance(value, str):
        raise MalformedError("malformed_status_list", f"{name} is not a dateTimeStamp string")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError as e:
        raise MalformedError(
            "malformed_status_list", f"{name} is not a dateTimeStamp: {value!r}"
        ) from e
    if dt.tzinfo is None:
        raise MalformedError("malformed_status_list", f"{name} has no time zone: {value!r}")
    return dt.timestamp()


def build_bitstring_status_list_credential(
    *,
    credential_id: str,
    issuer: str,
    status_purpose: str,
    status_list: BitstringStatusList,
    valid_from: float | datetime,
    valid_until: float | datetime | None = None,
    ttl_ms: int | None = None,
    sign: SignDocument | None = None,
) -> dict[str, Any]:
    """Build (and optionally secure) a ``BitstringStatusListCredential`` (sections 2.2, 3.1).

    Without ``sign`` the document is returned unsigned; with it, ``sign(document)`` must
    return the same document plus a ``proof`` (anything else changed is refused).

    >>> doc = build_bitstring_status_list_credential(
    ...     credential_id="https://ex.nl/status/1-revocation.json", issuer="urn:oin:1",
    ...     status_purpose="revocation", status_list=BitstringStatusList(), valid_from=0)
    >>> doc["type"]
    ['VerifiableCredential', 'BitstringStatusListCredential']
    >>> doc["credentialSubject"]["type"], doc["validFrom"]
    ('BitstringStatusList', '1970-01-01T00:00:00Z')
    """
    if status_purpose not in STATUS_PURPOSES:
        raise InvalidDataError("invalid_data", f"unsupported statusPurpose {status_purpose!r}")
    subject: dict[str, Any] = {
        "id": f"{credential_id}#list",
        "type": "BitstringStatusList",
        "statusPurpose": status_purpose,
        "encodedList": status_list.encode(),
    }
    if ttl_ms is not None:
        if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms <= 0:
            raise ValueError("ttl_ms must be a positive number of milliseconds")
        subject["ttl"] = ttl_ms
    doc: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", BITSTRING_STATUS_LIST_CREDENTIAL],
        "issuer": issuer,
        "validFrom": _xsd_datetime(valid_from),
    }
    if valid_until is not None:
        doc["validUntil"] = _xsd_datetime(valid_until)
    doc["credentialSubject"] = subject
    if sign is None:
        return doc
    signed = sign(canonical_copy(doc))
    if {k: v for k, v in signed.items() if k != "proof"} != doc or "proof" not in signed:
        raise InvalidDataError(
            "invalid_data", "the sign callable must only add a proof to the status list credential"
        )
    return signed


def canonical_copy(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON document (so a callable cannot alter ours)."""
    copied = parse_json(canonical_json(doc), max_bytes=10 * 1024 * 1024)
    if not isinstance(copied, dict):  # pragma: no cover - input is a mapping
        raise TypeError("document must be a JSON object")
    return copied


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifiedBitstringStatusList:
    """A ``BitstringStatusListCredential`` whose proof, issuer, purpose, id and freshness were
    checked (section 3.2).

    Attributes:
        uri: the credential's ``id`` (the ``statusListCredential`` URL).
        issuer: the issuer id the proof check returned.
        purposes: its ``statusPurpose`` value(s).
        valid_from: ``validFrom`` (Unix seconds).
        valid_until: ``validUntil`` or ``None``.
        fresh_until: when this copy becomes stale under the applied policy.
        bitstring: the expanded list.
        ttl: the subject's ``ttl`` in seconds, or ``None``.
    """

    uri: str
    issuer: str
    purposes: frozenset[str]
    valid_from: float
    valid_until: float | None
    fresh_until: float
    bitstring: BitstringStatusList
    ttl: float | None = None


def _doc_issuer(doc: Mapping[str, Any]) -> str | None:
    iss = doc.get("issuer")
    if isinstance(iss, Mapping):
        iss = iss.get("id")
    return iss if isinstance(iss, str) else None


def run_verify(
    verify: Callable[[dict[str, Any]], Any], doc: Mapping[str, Any], *, copy: bool = True
) -> Any:
    """Run a proof check on a copy of ``doc`` and map its errors to status codes: a time
    window that has passed is ``status_unavailable`` (stale), unreadable input too; anything
    else (a bad proof, a reshaped document, validFrom ahead) is ``status_invalid``.
    ``copy=False`` hands ``doc`` itself to a check of ours that only reads it."""
    try:
        return verify(canonical_copy(doc) if copy else doc)  # type: ignore[arg-type]
    except ValidityError as e:
        # past validUntil is stale, like an IETF list past exp; validFrom ahead is not
        code = "status_unavailable" if e.code in ("expired", "proof_expired") else "status_invalid"
        raise StatusError(code, f"status list credential is not usable now: {e}") from e
    except MalformedError as e:
        if e.code == "not_compact_form":  # signed, then reshaped: someone altered it
            raise StatusError("status_invalid", f"status list credential refused: {e}") from e
        raise StatusError("status_unavailable", f"status list credential is unreadable: {e}") from e
    except BlauweKnopError as e:
        raise StatusError("status_invalid", f"status list credential proof refused: {e}") from e


def verify_bitstring_status_list_credential(
    document: Mapping[str, Any] | bytes | str,
    *,
    verify: VerifyDocument,
    expected_uri: str,
    expected_issuer: str | None,
    status_purpose: str | None,
    now: float,
    max_age: float | None = None,
    policy: FreshnessPolicy = DEFAULT_FRESHNESS,
    min_entries: int = MIN_BITSTRING_ENTRIES,
    limits: Limits = DEFAULT_LIMITS,
    fresh: bool = True,
) -> VerifiedBitstringStatusList:
    """Check a status list credential for one ``statusPurpose`` (section 3.2, Validate).

    Args:
        document: the credential as fetched (bytes/str are parsed strictly) or as an object.
        verify: checks every proof and returns the issuer id that signed; raises on failure
            (the Data Integrity module provides it). It must also refuse a document that is
            not exactly the compact form of what was signed (``not_compact_form``): the
            members read here (``validFrom``, ``validUntil``, ``ttl``, ``encodedList``, ...)
            are JSON members, and a full IRI in place of ``validUntil`` signs the same RDF.
        expected_uri: the entry's ``statusListCredential``; the document's ``id`` must equal it.
        expected_issuer: the credential's issuer; the status list must be issued (and signed)
            by the same organisation. ``None`` skips this (spec section 2.2 allows another
            status issuer; our scheme does not).
        status_purpose: the entry's ``statusPurpose``; it must be one of the list's
            (``None``: any, when admitting a list into a cache).
        fresh: ``False`` checks only that ``validFrom`` is not in the future (admitting a
            list into a cache); freshness counts from ``validFrom``, never from a fetch.

    Raises:
        StatusError: ``status_unavailable`` (unreadable, stale, expired ``validUntil``,
            undecodable list) or ``status_invalid`` (proof, issuer, id, purpose, type,
            a document not in its signed compact form, issued in the future, or
            STATUS_LIST_LENGTH_ERROR).
    """
    max_bytes = max_status_token_bytes(limits)
    try:
        if isinstance(document, bytes | str):
            doc = parse_json_object(
                document, limits=limits, what="status list credential", max_bytes=max_bytes
            )
        elif isinstance(document, Mapping):
            doc = canonical_copy(document)
        else:
            raise MalformedError("malformed_status_list", "status list credential is not JSON")
    except MalformedError as e:
        raise StatusError("status_unavailable", f"status list credential is unreadable: {e}") from e

    signer_id = run_verify(verify, doc)
    doc_issuer = _doc_issuer(doc)
    if not isinstance(signer_id, str) or signer_id != doc_issuer:
        raise StatusError(
            "status_invalid", f"status list credential is signed by {signer_id!r}, not its issuer"
        )
    check_list_issuer(doc_issuer, expected_issuer, what="status list")
    if doc.get("id") != expected_uri:
        raise StatusError(
            "status_invalid",
            f"status list credential is {doc.get('id')!r}, expected {expected_uri!r}",
        )
    types = doc.get("type")
    if not isinstance(types, list) or BITSTRING_STATUS_LIST_CREDENTIAL not in types:
        raise StatusError("status_invalid", "document is not a BitstringStatusListCredential")
    subject = doc.get("credentialSubject")
    if not isinstance(subject, Mapping) or subject.get("type") != "BitstringStatusList":
        raise StatusError("status_invalid", "credentialSubject is not a BitstringStatusList")
    purposes_raw = subject.get("statusPurpose")
    purposes = [purposes_raw] if isinstance(purposes_raw, str) else purposes_raw
    if not isinstance(purposes, list) or not all(isinstance(p, str) for p in purposes):
        raise StatusError("status_invalid", "statusPurpose must be a string or a list of strings")
    if status_purpose is not None and status_purpose not in purposes:
        raise StatusError(
            "status_invalid", f"status list purposes {purposes} do not include {status_purpose!r}"
        )
    try:
        valid_from = parse_xsd_datetime(doc.get("validFrom"), "validFrom")
        valid_until = (
            parse_xsd_datetime(doc["validUntil"], "validUntil") if "validUntil" in doc else None
        )
        ttl_ms = subject.get("ttl")
        if ttl_ms is not None and (
            isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms <= 0
        ):
            raise MalformedError("malformed_status_list", "ttl must be a positive integer (ms)")
    except MalformedError as e:
        raise StatusError("status_unavailable", f"status list credential is unreadable: {e}") from e
    fresh_until = check_list_times(
        fresh=fresh,
        now=now,
        issued_at=valid_from,
        expires_at=valid_until,
        ttl=None if ttl_ms is None else ttl_ms / 1000,
        policy=policy,
        max_age=max_age,
        what=f"status list {expected_uri}",
    )
    try:
        bitstring = BitstringStatusList.decode(
            subject.get("encodedList"),  # type: ignore[arg-type]  # checked inside
            min_entries=min_entries,
            limits=limits,
        )
    except MalformedError as e:
        code = "status_invalid" if e.code == "status_list_length" else "status_unavailable"
        raise StatusError(code, f"status list {expected_uri}: {e.message}") from e
    return VerifiedBitstringStatusList(
        uri=expected_uri,
        issuer=doc_issuer or "",
        purposes=frozenset(purposes),
        valid_from=valid_from,
        valid_until=valid_until,
        fresh_until=fresh_until,
        bitstring=bitstring,
        ttl=None if ttl_ms is None else ttl_ms / 1000,
    )


def check_bitstring_status(
    entry: BitstringStatusListEntry, status_list: VerifiedBitstringStatusList
) -> int:
    """Apply one ``credentialStatus`` entry to a verified list (section 3.2, last steps).

    Returns ``0`` when the bit is unset; raises ``StatusError("revoked")`` or
    ``StatusError("suspended")`` (by the entry's purpose) when it is set, and
    ``status_invalid`` for another list's entry, a purpose the list lacks, or an index outside
    the list (RANGE_ERROR).

    >>> bl = BitstringStatusList(); bl.set(7, 1)
    >>> vl = VerifiedBitstringStatusList(uri="https://x/1", issuer="urn:i",
    ...     purposes=frozenset({"revocation"}), valid_from=0, valid_until=None,
    ...     fresh_until=1, bitstring=bl)
    >>> e = BitstringStatusListEntry(status_purpose="revocation", status_list_index=7,
    ...     status_list_credential="https://x/1")
    >>> check_bitstring_status(e, vl)
    Traceback (most recent call last):
    ...
    blauweknop._errors.StatusError: revoked: credential is revoked (list https://x/1, index 7)
    """
    if entry.status_list_credential != status_list.uri:
        raise StatusError(
            "status_invalid",
            f"entry points to {entry.status_list_credential!r}, not to {status_list.uri!r}",
        )
    if entry.status_purpose not in status_list.purposes:
        raise StatusError("status_invalid", f"status list has no {entry.status_purpose!r} purpose")
    idx = entry.status_list_index
    if not 0 <= idx < status_list.bitstring.size:
        raise StatusError(
            "status_invalid",
            f"statusListIndex {idx} is outside the list "
            f"(size {status_list.bitstring.size}; RANGE_ERROR)",
        )
    value = status_list.bitstring.get(idx)
    where = f" (list {status_list.uri}, index {idx})"
    if value:
        if entry.status_purpose == "revocation":
            raise StatusError("revoked", f"credential is revoked{where}")
        raise StatusError("suspended", f"credential is suspended{where}")
    return 0
