"""The register's changes that read the same on both backends: the lifecycle transitions and
the area signals. :class:`~._store.Register` (SQLite) and :class:`~._postgres.PostgresRegister`
inherit them; each backend brings its own transaction (``_tx``), read (``_read``) and
``_transition``, which these methods are written against."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from .._errors import PolicyError
from ._areas import area_rows, insert_area
from ._reads import RegisterReader
from ._records import CredentialRecord

__all__ = ["RegisterWriter"]


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
