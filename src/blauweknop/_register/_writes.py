"""The register's changes that read the same on both backends: issuing one credential in one
transaction, the lifecycle transitions and the area signals. :class:`~._store.Register`
(SQLite) and :class:`~._postgres.PostgresRegister` inherit them (with the two phases of
issuance, ``reserve`` and ``confirm``, and the settings a register is opened with); each backend
brings its own transaction (``_tx``), read (``_read``, ``_meta``) and ``_transition``, which
these methods are written against."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from .._errors import InvalidDataError, PolicyError
from ._areas import area_rows, insert_area
from ._reads import RegisterReader
from ._records import CredentialRecord, Reservation, ReserveRequest, check_text, epoch
from ._rows import confirm_row, reserve_row

__all__ = ["RegisterWriter"]

_T = TypeVar("_T")


class RegisterWriter(RegisterReader):
    """Lifecycle transitions and area signals over the backend's ``_tx``/``_read``."""

    _clock: Callable[[], float]

    def _tx(self, what: str, *, fenced: bool = True) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError  # each backend's write transaction

    def _transition(
        self,
        credential_id: str,
        to_state: str,
        allowed_from: tuple[str, ...],
        reason: str,
        actor: str,
        *,
        verb: str,
        idempotent: bool = False,
    ) -> CredentialRecord:
        raise NotImplementedError  # each backend's transition (audit row, state, fence)

    def _meta(self) -> dict[str, str]:
        raise NotImplementedError  # each backend's read of register_meta

    def _save_settings(
        self, *, status_base_uri: str | None, list_size: int | None, bits: int | None
    ) -> None:
        """Check the register's settings given at creation or opening and store those that
        differ from what it holds (one transaction, only when something changes)."""
        settings: dict[str, str] = {}
        if status_base_uri is not None:
            check_text(status_base_uri, "status_base_uri")
            settings["status_base_uri"] = status_base_uri.rstrip("/")
        if list_size is not None:
            if isinstance(list_size, bool) or not isinstance(list_size, int) or list_size < 1:
                raise InvalidDataError("invalid_data", "list_size must be a positive integer")
            settings["list_size"] = str(list_size)
        if bits is not None:
            if bits not in (1, 2, 4, 8) or isinstance(bits, bool):
                raise InvalidDataError("invalid_data", "bits must be 1, 2, 4 or 8")
            settings["bits"] = str(bits)
        current = self._meta()
        changes = {k: v for k, v in settings.items() if current.get(k) != v}
        if changes:
            with self._tx("saving register settings", fenced=False) as c:
                for k, v in sorted(changes.items()):
                    c.execute(
                        "INSERT INTO register_meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (k, v),
                    )

    def _checked_request(
        self, r: ReserveRequest
    ) -> tuple[
        str, tuple[str, str, str | None, str | None], tuple[int | None, int | None], str | None
    ]:
        cid = str(check_text(r.credential_id, "credential_id"))
        fields = (
            str(check_text(r.credential_type, "type")),
            str(check_text(r.credential_format, "format")),
            check_text(r.holder_thumbprint, "holder_thumbprint", optional=True),
            self.bsn_hash(r.bsn) if r.bsn is not None else None,
        )
        validity = (epoch(r.valid_from, "valid_from"), epoch(r.valid_until, "valid_until"))
        brk = check_text(r.batch_row_key, "batch_row_key", optional=True)
        return cid, fields, validity, brk

    # -- issuing: two phases ------------------------------------------------------------
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
        """Phase 1 of issuance: allocate a random free index and record the credential as
        ``pending``, in one transaction.

        With ``batch_row_key`` (e.g. ``"<batch file hash>:<row number>"``) the call is
        idempotent: if that row was reserved before, its reservation is returned (same
        credential id and index, ``resumed=True``) and nothing is allocated. Without it, an
        existing ``credential_id`` is ``PolicyError("credential_exists")`` -- unless
        ``resume_pending`` is set and that credential is still ``pending`` (never confirmed:
        its file was not written) for the same type, format and holder: then its reservation
        is returned (``resumed=True``), so a failed single issue can simply be retried.
        """
        cid, fields, validity, brk = self._checked_request(
            ReserveRequest(
                credential_id=credential_id,
                credential_type=credential_type,
                credential_format=credential_format,
                holder_thumbprint=holder_thumbprint,
                bsn=bsn,
                valid_from=valid_from,
                valid_until=valid_until,
                batch_row_key=batch_row_key,
            )
        )
        who = str(check_text(actor, "actor"))
        now = int(self._clock())
        with self._tx("reserving a status-list index") as c:
            return reserve_row(
                c, cid, fields, validity, brk, now, who=who, resume_pending=resume_pending
            )

    def confirm(self, credential_id: str, *, actor: str = "issuer") -> CredentialRecord:
        """Phase 2 of issuance: the credential was signed and written; ``pending`` → ``valid``.

        Idempotent: confirming a ``valid`` credential changes nothing (a resumed run may
        confirm twice). Confirming a revoked or suspended one is ``illegal_transition``.
        """
        return self._transition(
            credential_id, "valid", ("pending",), "issued", actor, idempotent=True, verb="confirm"
        )

    # -- issuing one credential ------------------------------------------------------------------
    def reserve_confirmed(
        self,
        request: ReserveRequest,
        sign: Callable[[Reservation, int | None], _T],
        *,
        actor: str = "issuer",
    ) -> tuple[Reservation, _T]:
        """Reserve, sign and confirm one credential in ONE transaction with one durable
        commit, for a credential that is only handed back to the caller (no file written
        while it is pending).

        Inside the transaction (which holds the register's write lock): the reservation as
        :meth:`reserve` with ``resume_pending=True`` makes it, then ``sign(reservation,
        valid_until)`` (``valid_until``: the expiry the register holds for a resumed row,
        else ``None``), then ``pending`` → ``valid`` with its audit row as :meth:`confirm`
        (both audit rows as in the two-step path). Returns the reservation and what ``sign``
        returned.

        Why one commit is enough: the signed credential exists only in this process until
        this method returns, and it returns only after the commit is durable (SQLite
        ``synchronous=FULL``). (PostgreSQL overrides this with the two-step path, so that
        signing does not hold the lock every issuing machine queues on.) A crash or an error
        before (``sign`` raising included) rolls the whole transaction back: the index goes
        back to the free ones, which is safe because no credential carrying it ever left.
        The two-step :meth:`reserve` / :meth:`confirm` stays for a caller that writes the
        credential somewhere (a file) while it is pending: there the pending row must be
        durable first, so that an index on disk is never handed out again.
        """
        cid, fields, validity, brk = self._checked_request(request)
        who = str(check_text(actor, "actor"))
        now = int(self._clock())
        with self._tx(f"issuing {cid}") as c:
            res = reserve_row(c, cid, fields, validity, brk, now, who=who, resume_pending=True)
            held: int | None = None
            if res.resumed:
                row = c.execute(
                    "SELECT valid_until FROM credentials WHERE credential_id = ?",
                    (res.credential_id,),
                ).fetchone()
                held = row[0] if row else None
            out = sign(res, held)
            if res.state == "pending":
                confirm_row(c, res.credential_id, who, now)
        return res, out

    def revoke(self, credential_id: str, reason: str, actor: str) -> CredentialRecord:
        """``pending``/``valid``/``suspended`` → ``revoked`` (final)."""
        return self._transition(
            credential_id,
            "revoked",
            ("pending", "valid", "suspended"),
            reason,
            actor,
            verb="revoke",
        )

    def suspend(self, credential_id: str, reason: str, actor: str) -> CredentialRecord:
        """``valid`` → ``suspended`` (needs a list of 2 or more bits)."""
        return self._transition(
            credential_id, "suspended", ("valid",), reason, actor, verb="suspend"
        )

    def resume(self, credential_id: str, reason: str, actor: str) -> CredentialRecord:
        """``suspended`` → ``valid``."""
        return self._transition(
            credential_id, "valid", ("suspended",), reason, actor, verb="resume"
        )

    # -- area signals (specs/area-report.md) ----------------------------------------------------
    def record_area(
        self,
        credential_id: str,
        *,
        pc4: str,
        amount_band: str | None = None,
        in_arrears: bool | None = None,
        sealed_bsn: str | None = None,
    ) -> None:
        """Record the subject's PC4 area (and a statement's amount band and arrears flag) for
        a credential of the register; never part of the credential. Once per credential: a
        repeat (a resumed issuance) changes nothing."""
        with self._tx("recording an area signal") as c:
            if (
                c.execute(
                    "SELECT 1 FROM credentials WHERE credential_id = ?", (credential_id,)
                ).fetchone()
                is None
            ):
                raise PolicyError("credential_unknown", f"no credential {credential_id!r}")
            insert_area(
                c, credential_id, pc4, amount_band, in_arrears, sealed_bsn, int(self._clock())
            )

    def area_snapshot(self, at: int) -> list[dict[str, object]]:
        """Every credential with an area signal as it stood at ``at`` (Unix time): issued
        and recorded by then, with its state at that moment from the audit trail."""
        with self._read("reading area signals") as c:
            return area_rows(c, at)
