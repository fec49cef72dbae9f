"""The seam between the issuer and its register: what issuing, lifecycle, publishing and
reconciling need from a register, whatever stores it.

:class:`~._store.Register` (SQLite, one file per issuer home) implements it; a second backend
(PostgreSQL, for an organisation running several issuing servers) implements the same
methods with the same guarantees and error codes:

* every method is one transaction: it completes or changes nothing;
* an index is handed out at most once per list, uniformly at random over the free ones, and
  stays burned even when issuance fails after the reservation was committed (with the SQLite
  :meth:`reserve_confirmed` a failure before its one commit leaves nothing: no credential
  carrying the index ever left);
* every state change appends an audit row; states move only along the legal transitions
  (:data:`~._records.LEGAL`);
* group commit (:meth:`reserve_many`, :meth:`confirm_many`) gives each row exactly the
  guarantees of its single-row call; only the number of durable commits changes;
* the sequence (:attr:`register_seq`) grows with every change, and a register behind its
  fence refuses every change (``register_rolled_back``) until :meth:`reconcile`.

Storage-specific operations (opening, migrations, backup, ``integrity_check``) are not part
of the seam. The bit packing of published lists is not either: a register reports states per
index (:meth:`status_entries`) and :func:`~._publish.publish` encodes them with the status
package.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar, runtime_checkable

from .._errors import PolicyError
from .._status import StatusList, StatusType
from ._records import (
    CredentialRecord,
    ReconcileReport,
    Reservation,
    ReserveRequest,
    StatusListInfo,
)

__all__ = ["IssuerRegister"]

_T = TypeVar("_T")


@runtime_checkable
class IssuerRegister(Protocol):
    """What the issuer needs from a register (see the module docstring for the guarantees)."""

    @property
    def register_seq(self) -> int:
        """The register's sequence: it grows with every change and never goes down."""
        ...

    def reserve(
        self,
        credential_id: str,
        credential_type: str,
        credential_format: str,
        *,
        holder_thumbprint: str | None = None,
        bsn: str | None = None,
        valid_from: int | float | datetime | None = None,
        valid_until: int | float | datetime | None = None,
        batch_row_key: str | None = None,
        actor: str = "issuer",
        resume_pending: bool = False,
    ) -> Reservation:
        """Phase 1 of issuance: allocate a random free index, record the credential
        ``pending`` (idempotent per ``batch_row_key``)."""
        ...

    def confirm(self, credential_id: str, *, actor: str = "issuer") -> CredentialRecord:
        """Phase 2 of issuance: ``pending`` → ``valid`` (idempotent)."""
        ...

    def reserve_confirmed(
        self,
        request: ReserveRequest,
        sign: Callable[[Reservation, int | None], _T],
        *,
        actor: str = "issuer",
    ) -> tuple[Reservation, _T]:
        """Both phases and the signing between them, for a credential that is not written
        anywhere while pending: one transaction and one durable commit (SQLite), or the
        two-step path (PostgreSQL, so signing stays outside the machines' shared lock)."""
        ...

    def reserve_many(
        self, requests: Sequence[ReserveRequest], *, actor: str = "issuer"
    ) -> builtins.list[Reservation | PolicyError]:
        """Group commit of phase 1: :meth:`reserve` for a chunk of rows in one transaction
        (one durable commit); per row its reservation or the ``PolicyError`` refusing it."""
        ...

    def confirm_many(
        self, credential_ids: Sequence[str], *, actor: str = "issuer"
    ) -> builtins.list[PolicyError | None]:
        """Group commit of phase 2: :meth:`confirm` for a chunk in one transaction; per
        credential ``None`` or the ``PolicyError`` refusing it."""
        ...

    def get_many(self, credential_ids: Sequence[str]) -> dict[str, CredentialRecord]:
        """The records of the ids that exist, in one consistent snapshot."""
        ...

    def revoke(self, credential_id: str, reason: str, actor: str) -> CredentialRecord:
        """→ ``revoked`` (final)."""
        ...

    def suspend(self, credential_id: str, reason: str, actor: str) -> CredentialRecord:
        """``valid`` → ``suspended``."""
        ...

    def resume(self, credential_id: str, reason: str, actor: str) -> CredentialRecord:
        """``suspended`` → ``valid``."""
        ...

    def get(self, credential_id: str) -> CredentialRecord:
        """One credential; ``PolicyError("credential_unknown")`` if none."""
        ...

    def list(
        self,
        state: str | None = None,
        type: str | None = None,  # noqa: A002 - column name
    ) -> builtins.list[CredentialRecord]:
        """Credentials, optionally filtered, in issuance order."""
        ...

    def lists(self) -> builtins.list[StatusListInfo]:
        """All status lists, oldest first."""
        ...

    def status_entries(self, list_id: int) -> Mapping[int, StatusType]:
        """The published status of every index of ``list_id`` that is not VALID, read in one
        consistent snapshot; ``PolicyError("status_list_unknown")`` for an unknown list."""
        ...

    def read_fence(self) -> int | None:
        """The sequence recorded in the fence (``None``: no fence, or none written yet)."""
        ...

    def check_fence(self, *, at_least: int = 0) -> None:
        """Refuse (``register_rolled_back``) when behind the fence or ``at_least``."""
        ...

    def reconcile(
        self,
        published: Sequence[tuple[str, StatusList, int]] = (),
        *,
        actor: str = "operator",
        reason: str = "reconciled after restoring the register",
        force: bool = False,
    ) -> ReconcileReport:
        """Bring a restored (older) register back into service, in one transaction."""
        ...

    def record_area(
        self,
        credential_id: str,
        *,
        pc4: str,
        amount_band: str | None = None,
        in_arrears: bool | None = None,
        sealed_bsn: str | None = None,
    ) -> None:
        """Record a credential's area signal once (specs/area-report.md); a repeat changes
        nothing; ``PolicyError("credential_unknown")`` for an unknown credential."""
        ...

    def area_snapshot(self, at: int) -> builtins.list[dict[str, object]]:
        """Every credential with an area signal as it stood at ``at``: issued and recorded
        by then, with its state at that moment (from the audit trail)."""
        ...

    def close(self) -> None:
        """Release the register (idempotent)."""
        ...


def reserve_sign_confirm(
    register: IssuerRegister,
    request: ReserveRequest,
    sign: Callable[[Reservation, int | None], _T],
    *,
    actor: str = "issuer",
    written: Callable[[_T], None] | None = None,
) -> tuple[Reservation, _T]:
    """The two-step issuance on any register: :meth:`~IssuerRegister.reserve` (its own
    durable commit), ``sign(reservation, valid_until)`` (``valid_until``: the expiry the
    register holds for a resumed row, else ``None``), ``written(signed)`` when given (the
    credential stored somewhere while pending), then :meth:`~IssuerRegister.confirm`. An
    index in a credential that may have left is burned before signing."""
    res = register.reserve(
        request.credential_id,
        request.credential_type,
        request.credential_format,
        holder_thumbprint=request.holder_thumbprint,
        bsn=request.bsn,
        valid_from=request.valid_from,
        valid_until=request.valid_until,
        batch_row_key=request.batch_row_key,
        actor=actor,
        resume_pending=True,
    )
    held = register.get(res.credential_id).valid_until if res.resumed else None
    out = sign(res, held)
    if written is not None:
        written(out)
    if res.state == "pending":
        register.confirm(res.credential_id, actor=actor)
    return res, out
