"""What a register holds and hands out, whatever stores it: states, records, reports.

These types and checks are shared by every register backend (today SQLite, see
:mod:`._store`) and by publishing (:mod:`._publish`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

from .._errors import InvalidDataError
from .._status import MIN_BITSTRING_ENTRIES, BitstringStatusListEntry, StatusType

#: Default entries per list: the W3C Bitstring Status List minimum (131,072 = 16 KB of bits).
DEFAULT_LIST_SIZE = MIN_BITSTRING_ENTRIES
#: Default bits per entry: 2, so that SUSPENDED (0x02) fits.
DEFAULT_BITS = 2
STATES: tuple[str, ...] = ("pending", "valid", "revoked", "suspended")

#: Legal (from_state, to_state) pairs; ``None`` is "no row yet".
LEGAL: frozenset[tuple[str | None, str]] = frozenset(
    {
        (None, "pending"),
        ("pending", "valid"),
        ("pending", "revoked"),
        ("valid", "revoked"),
        ("suspended", "revoked"),
        ("valid", "suspended"),
        ("suspended", "valid"),
    }
)

#: The published status value of each state that is not shown as VALID (IETF section
#: "Status Types Values"): ``pending`` and ``valid`` publish 0.
PUBLISHED_STATUS: dict[str, StatusType] = {
    "revoked": StatusType.INVALID,
    "suspended": StatusType.SUSPENDED,
}

#: Claim of a published Status List Token carrying the register sequence (rollback fence).
REGISTER_SEQ_CLAIM = "register_seq"

_MAX_TEXT = 1024

_Row = TypeVar("_Row", bound="DataclassInstance")


def bitstring_list_uri(list_uri: str, purpose: str) -> str:
    """URL of the W3C ``BitstringStatusListCredential`` for one purpose of a register list:
    ``https://x/status/7.jwt`` → ``https://x/status/7-revocation.json``.

    >>> bitstring_list_uri("https://x/status/7.jwt", "suspension")
    'https://x/status/7-suspension.json'
    """
    stem = list_uri[:-4] if list_uri.endswith(".jwt") else list_uri
    return f"{stem}-{purpose}.json"


@dataclass(frozen=True, kw_only=True, slots=True)
class StatusListInfo:
    """One status list of the register.

    Attributes:
        id: list id (also the published file name stem).
        uri: the Status List Token's URI (``sub``; ``status.status_list.uri`` in credentials).
        bits: bits per entry.
        size: number of entries.
        purpose: ``revocation`` (1 bit) or ``revocation+suspension``.
        allocated: indices handed out (including burned ones).
        created_at: Unix seconds.
    """

    id: int
    uri: str
    bits: int
    size: int
    purpose: str
    allocated: int
    created_at: int

    @property
    def purposes(self) -> tuple[str, ...]:
        """The W3C ``statusPurpose`` values this list publishes."""
        return tuple(self.purpose.split("+"))

    def bitstring_uri(self, purpose: str) -> str:
        """URL of the W3C status list credential for ``purpose``."""
        return bitstring_list_uri(self.uri, purpose)


@dataclass(frozen=True, kw_only=True, slots=True)
class Reservation:
    """An allocated status-list index for a credential about to be issued.

    Attributes:
        credential_id: the id to put in the credential (for a resumed batch row: the id of
            the first attempt, not the one just proposed).
        list_id, list_uri, idx: where its status lives.
        bits: bits per entry of that list.
        state: ``pending`` for a fresh reservation; for a resumed batch row whatever state
            it reached (``valid`` means: already issued, skip it).
        resumed: ``True`` when the batch row existed before this call.
    """

    credential_id: str
    list_id: int
    list_uri: str
    idx: int
    bits: int
    state: str
    resumed: bool

    def status_claim(self) -> dict[str, Any]:
        """The SD-JWT VC ``status`` claim (IETF Token Status List, "Referenced Token").

        >>> Reservation(credential_id="c", list_id=1, list_uri="https://x/1.jwt", idx=9,
        ...     bits=2, state="pending", resumed=False).status_claim()
        {'status_list': {'idx': 9, 'uri': 'https://x/1.jwt'}}
        """
        return {"status_list": {"idx": self.idx, "uri": self.list_uri}}

    def bitstring_entries(self) -> list[BitstringStatusListEntry]:
        """``credentialStatus`` entries for the W3C form: revocation, and suspension when the
        list can express it. Same index, one bitstring per purpose."""
        purposes = ("revocation",) if self.bits == 1 else ("revocation", "suspension")
        return [
            BitstringStatusListEntry(
                status_purpose=p,
                status_list_index=self.idx,
                status_list_credential=bitstring_list_uri(self.list_uri, p),
            )
            for p in purposes
        ]


@dataclass(frozen=True, kw_only=True, slots=True)
class ReserveRequest:
    """One credential to reserve in :meth:`IssuerRegister.reserve_many` (the arguments of
    :meth:`IssuerRegister.reserve`, one row of a chunk)."""

    credential_id: str
    credential_type: str
    credential_format: str
    holder_thumbprint: str | None = None
    bsn: str | None = None
    valid_from: int | float | datetime | None = None
    valid_until: int | float | datetime | None = None
    batch_row_key: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CredentialRecord:
    """One row of the register (no BSN: only its keyed hash)."""

    credential_id: str
    type: str
    format: str
    holder_thumbprint: str | None
    bsn_hash: str | None
    list_id: int
    list_uri: str
    idx: int
    valid_from: int | None
    valid_until: int | None
    state: str
    issued_at: int
    updated_at: int
    batch_row_key: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditEntry:
    """One audit row: who changed which credential from what to what, when and why."""

    seq: int
    credential_id: str
    at: int
    actor: str
    reason: str
    from_state: str | None
    to_state: str


@dataclass(frozen=True, kw_only=True, slots=True)
class IntegrityReport:
    """Outcome of :meth:`Register.integrity_check`.

    Attributes:
        ok: no problems found.
        problems: one line per problem (empty when ``ok``).
        lists, allocations, credentials, audit_rows, pending: counts.
    """

    ok: bool
    problems: tuple[str, ...]
    lists: int
    allocations: int
    credentials: int
    audit_rows: int
    pending: int


@dataclass(frozen=True, kw_only=True, slots=True)
class ReconcileReport:
    """Outcome of :meth:`Register.reconcile`.

    Attributes:
        revoked / suspended: credential ids set to that state from the published lists.
        placeholders: indices the register did not know (issued after the backup) recorded
            as ``lost:<list>:<index>`` credentials in the published state, so they stay
            revoked or suspended.
        closed_lists: list ids closed for new issuance (new credentials go to a new list).
        register_seq: the register's sequence after reconciling (≥ the fence).
        needed: ``False`` when the register was not behind its fence or the published lists
            (then nothing was changed).
    """

    needed: bool
    revoked: tuple[str, ...]
    suspended: tuple[str, ...]
    placeholders: tuple[str, ...]
    closed_lists: tuple[int, ...]
    register_seq: int


@dataclass(frozen=True, kw_only=True, slots=True)
class PublishedFile:
    """A file written by :func:`publish`: where, for which URI, served as which media type."""

    path: Path
    uri: str
    media_type: str
    list_id: int


def check_text(value: object, name: str, *, optional: bool = False) -> str | None:
    """``value`` when it is a non-empty string of at most 1,024 characters without NUL
    (``None`` passes when ``optional``); otherwise ``InvalidDataError`` for field ``name``."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > _MAX_TEXT or "\x00" in value:
        raise InvalidDataError(
            "invalid_data",
            f"{name} must be a non-empty string of at most {_MAX_TEXT} characters",
            field=name,
        )
    return value


def epoch(value: int | float | datetime | None, name: str) -> int | None:
    """A time (Unix seconds or an aware ``datetime``) as whole Unix seconds."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidDataError("invalid_data", f"{name} must be timezone-aware", field=name)
        return int(value.timestamp())
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidDataError("invalid_data", f"{name} must be a time", field=name)
    return int(value)


def from_row(cls: type[_Row], row: Sequence[Any], **given: Any) -> _Row:
    """A record from a database row whose columns are the record's fields in order (the
    fields in ``given`` left out)."""
    names = [f.name for f in fields(cls) if f.name not in given]
    return cls(**dict(zip(names, row, strict=True)), **given)
