"""The issuer's lifecycle operations (revoke, suspend, resume, reconcile, publish status),
mixed into :class:`blauweknop.Issuer`."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import InvalidDataError, StorageError
from ._files import DirectoryLock
from ._keys import Key, Signer
from .formats.w3c_di import bitstring_signer

if TYPE_CHECKING:
    from ._register import PostgresRegister, ReconcileReport, Register

__all__ = ["MAX_COPIES", "IssuerLifecycle"]

#: Most single-use copies of one credential (unlinkability batches).
MAX_COPIES = 100


class IssuerLifecycle:
    """Revocation, suspension, reconciliation and status publishing of an issuer home."""

    home: Path
    config: dict[str, Any]
    signer: Signer
    register: Register | PostgresRegister
    _lock: DirectoryLock

    @property
    def issuer_id(self) -> str:
        """The organisation id (``iss`` / ``issuer``)."""
        return str(self.config["id"])

    def public_keys(self) -> list[Key]:
        """All public keys of this home (active and rotated-out), active first."""
        keys: list[Key] = [
            self.signer if isinstance(self.signer, Key) else Key.from_jwk(self.signer.public_jwk())
        ]
        for f in sorted((self.home / "keys").glob("*.jwk")):
            k = Key.load(f).public()
            if k not in keys:
                keys.append(k)
        return [k.public() for k in keys]

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """The lock, and the rollback fence checked under it."""
        with self._lock:
            self.register.check_fence()
            yield

    # -- lifecycle --------------------------------------------------------------------
    def _family(self, credential_id: str) -> list[str]:
        """The credential and its single-use copies, as registered."""
        from ._errors import PolicyError

        ids = []
        for cand in [
            credential_id,
            *(f"{credential_id}~copy{i}" for i in range(1, MAX_COPIES + 1)),
        ]:
            try:
                self.register.get(cand)
            except PolicyError:
                if cand != credential_id:
                    break
                continue
            ids.append(cand)
        if not ids:
            self.register.get(credential_id)  # raises credential_unknown
        return ids

    def revoke(self, credential_id: str, *, reason: str, actor: str = "operator") -> None:
        """Revoke for good (e.g. the debt-relief trajectory ended), with every copy. Audited."""
        with self._writing():
            for cid in self._family(credential_id):
                self.register.revoke(cid, reason=reason, actor=actor)

    def suspend(self, credential_id: str, *, reason: str, actor: str = "operator") -> None:
        """Suspend while in doubt (every copy); :meth:`resume` lifts it. Audited."""
        with self._writing():
            for cid in self._family(credential_id):
                self.register.suspend(cid, reason=reason, actor=actor)

    def resume(self, credential_id: str, *, reason: str, actor: str = "operator") -> None:
        """Lift a suspension (every copy). Audited."""
        with self._writing():
            for cid in self._family(credential_id):
                self.register.resume(cid, reason=reason, actor=actor)

    def reconcile(
        self,
        published_dir: str | os.PathLike[str] | None,
        *,
        actor: str = "operator",
        reason: str = "reconciled after restoring the register",
        force: bool = False,
    ) -> ReconcileReport:
        """Bring the register back into service after it was restored from a backup (it then
        refuses to issue or publish: ``register_rolled_back``).

        ``published_dir`` is where the status lists were last published (``status publish
        --out-dir``; a copy of what the web server serves). Every Status List Token there
        signed by this organisation is read; whatever it shows revoked or suspended is set so
        in the register again; every existing status list is closed (new credentials get a
        new list, so no index is handed out twice); the fence moves past everything seen.
        ``None`` skips the lists: revocations made after the backup are then lost and must
        be made again. Publish afterwards. A register that is not behind is left as it is
        (``needed=False``) unless ``force``.
        """
        from ._register import read_published

        with self._lock:
            published = []
            if published_dir is not None:
                if not Path(published_dir).is_dir():
                    raise StorageError(
                        "file_unreadable", f"{published_dir} is not a directory of published lists"
                    )
                published = read_published(
                    published_dir, None, self.public_keys(), self.issuer_id, what="reconciling"
                )
            return self.register.reconcile(published, actor=actor, reason=reason, force=force)

    def publish_status(
        self,
        out_dir: str | os.PathLike[str],
        *,
        now: float | None = None,
        ttl: int = 3600,
        valid_seconds: int = 86400,
    ) -> list[Path]:
        """Write every status list (IETF token status list JWT and W3C bitstring status list
        credentials) to ``out_dir``, ready to be served as static files.

        ``ttl`` (seconds a verifier may cache a list) and ``valid_seconds`` (how long a list is
        valid) must be positive whole numbers; anything else is
        ``InvalidDataError("invalid_data")`` before anything is written. (A ``ttl`` beyond the
        validity is allowed: a verifier then stops at the list's ``exp``.)
        """
        from ._register import publish

        for name, value in (("ttl", ttl), ("valid_seconds", valid_seconds)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidDataError(
                    "invalid_data", f"{name} must be a whole number of seconds >= 1", field=name
                )
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(
                "storage_write_failed", f"cannot create {out}: {e.strerror or e}"
            ) from e
        sign_bitstring = bitstring_signer(self.signer, self.issuer_id)
        with self._writing():
            files = publish(
                self.register,
                self.signer,
                self.issuer_id,
                out,
                time.time() if now is None else now,
                ttl,
                valid_for=valid_seconds,
                sign_bitstring=sign_bitstring,
                known_keys=self.public_keys(),
            )
        return [f.path for f in files]
