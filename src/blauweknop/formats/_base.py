"""The seam between the recipes and the encodings: the :class:`CredentialFormat` protocol,
what a format is handed (a :class:`VerifyPolicy`, a :class:`StatusSource`) and what it
returns (a :class:`VerifiedCredential`, a wallet record).

A format never sees an ``Issuer``, ``Wallet`` or ``Verifier``: it gets a signer, a trust
list, a status source and a policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .._keys import Key, Signer
from .._limits import DEFAULT_LIMITS, Limits
from .._profile import CredentialProfile
from .._trust import TrustedOrganisation, TrustList
from ._record import WalletRecord

__all__ = [
    "CredentialFormat",
    "StatusReservation",
    "StatusSource",
    "VerifiedCredential",
    "VerifyPolicy",
]


class StatusSource(Protocol):
    """Where credential status is read from, offline (e.g. a synced :class:`StatusCache`).

    Each method returns ``"valid"`` or raises :class:`~blauweknop.StatusError` with code
    ``revoked``, ``suspended``, ``status_unavailable`` or ``status_invalid``.
    """

    def token_status(
        self, uri: str, idx: int, *, issuer: TrustedOrganisation, now: float
    ) -> str: ...

    def bitstring_status(
        self, entry: Mapping[str, Any], *, issuer: TrustedOrganisation, now: float
    ) -> str: ...


class StatusReservation(Protocol):
    """A status index the register reserved for a credential being issued; each format
    takes the reference in its own encoding."""

    def status_claim(self) -> dict[str, Any]: ...

    def bitstring_entries(self) -> Sequence[Any]: ...


@dataclass(frozen=True, kw_only=True)
class VerifyPolicy:
    """What a verifier demands, handed to a format's ``verify``.

    Attributes:
        trust_list: the verified trust list issuers and keys are resolved in.
        status: the status source, or ``None``.
        allow_missing_status: accept an unknown status as ``"not_checked"``.
        leeway: clock skew (seconds) for the validity window and presentation times.
        max_age: how old a holder's presentation proof may be (seconds).
        limits: input limits.
    """

    trust_list: TrustList
    status: StatusSource | None = None
    allow_missing_status: bool = False
    leeway: int = 60
    max_age: int = 300
    limits: Limits = DEFAULT_LIMITS


@dataclass(frozen=True, kw_only=True)
class VerifiedCredential:
    """One verified credential from a presentation.

    Attributes:
        query_id: the DCQL credential-query id it answered.
        format: ``dc+sd-jwt`` or ``ldp_vc``.
        vct: the credential type (``urn:rodeknop:payment-incapacity-declaration:1``...).
        issuer: the issuing organisation's id; ``issuer_name`` its trust-list name.
        claims: the disclosed domain claims (technical claims removed).
        disclosed: claim paths the holder disclosed selectively.
        issued_at / valid_from / valid_until: Unix times (``None`` when absent).
        status: ``"valid"``, or ``"not_checked"`` when the caller allowed missing status.
        holder: the holder's public JWK.
    """

    query_id: str | None
    format: str
    vct: str
    issuer: str
    issuer_name: str
    claims: Mapping[str, Any]
    disclosed: frozenset[tuple[Any, ...]] = field(default_factory=frozenset)
    issued_at: float | None = None
    valid_from: float | None = None
    valid_until: float | None = None
    status: str = "valid"
    holder: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON summary (for ``--json`` output and logs)."""
        return {
            "query_id": self.query_id,
            "format": self.format,
            "vct": self.vct,
            "issuer": self.issuer,
            "issuer_name": self.issuer_name,
            "status": self.status,
            "issued_at": self.issued_at,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "claims": self.claims,
        }


class CredentialFormat(Protocol):
    """One encoding of the scheme's credentials. The recipes hold a table of these by
    :attr:`id` (see :mod:`blauweknop.formats`) and never branch on a format string.

    Attributes:
        id: the wire format id (``dc+sd-jwt``, ``ldp_vc``): register rows, wallet records,
            DCQL ``format``.
        option: the issuer's ``format=`` keyword (``sd-jwt``, ``di``).
        file_suffix: the file name ending of one credential written to disk (``.sd-jwt``,
            ``.vc.json``).
    """

    id: str
    option: str
    file_suffix: str

    def handles(self, credential: object) -> bool:
        """Whether ``credential`` (as handed to a wallet or verifier) is in this format."""
        ...

    def issue(
        self,
        profile: CredentialProfile,
        claims: Mapping[str, Any],
        *,
        signer: Signer,
        issuer_id: str,
        holder: Key,
        iat: int,
        nbf: int | None,
        exp: int,
        status: StatusReservation,
    ) -> str:
        """Sign a credential; returns the text delivered to the wallet."""
        ...

    def inspect(
        self,
        credential: Any,
        *,
        trust_list: TrustList,
        now: float,
        limits: Limits,
        holder_known: Callable[[str], bool],
    ) -> tuple[WalletRecord, Mapping[str, Any]]:
        """Verify an issued credential for import; returns the wallet record and the
        domain claims (for the profile's checks)."""
        ...

    def query_status(
        self, ref: Any, *, source: StatusSource, issuer: TrustedOrganisation, now: float
    ) -> None:
        """Look the stored status reference up (raises ``StatusError``)."""
        ...

    def domain_claims(self, record: WalletRecord) -> Mapping[str, Any]:
        """The domain claims of a stored record (for views, overview and supersede)."""
        ...

    def candidate(self, record: WalletRecord) -> tuple[tuple[str, ...], Mapping[str, Any]]:
        """The types and claims a DCQL query sees of a stored record."""
        ...

    def present(
        self,
        record: WalletRecord,
        paths: Sequence[Sequence[str | int | None]],
        *,
        holder_key: Key,
        nonce: str,
        audience: str,
        now: float,
        limits: Limits,
    ) -> Any:
        """A presentation of a stored record disclosing ``paths``, bound to nonce/audience."""
        ...

    def verify(
        self,
        presentation: Any,
        *,
        policy: VerifyPolicy,
        nonce: str,
        audience: str,
        now: float,
        query_id: str | None,
    ) -> VerifiedCredential:
        """Verify one presentation completely and offline."""
        ...

    def presented(
        self, credential: VerifiedCredential
    ) -> tuple[tuple[str, ...], Mapping[str, Any], frozenset[tuple[Any, ...]] | None]:
        """Types, claims and disclosed paths of a verified credential, as DCQL sees them."""
        ...
