"""The issuer recipe: an organisation's home directory, its keys, register and issuance.

Home directory layout (never edit by hand)::

    HOME/config.json         organisation id, name, roles, status base URI, active key id
    HOME/keys/<kid>.jwk      signing keys (0600); rotation keeps old keys for the trust entry
    HOME/register.sqlite     the register of everything issued (SQLite, WAL, synchronous=FULL)
    HOME/register.secret     key of the keyed BSN hash (0600)
    HOME/register.fence      the register's sequence, kept outside the database: an older
                             register put back from a backup refuses to issue or publish
                             until :meth:`Issuer.reconcile` (0600)
    HOME/issuer.lock         locked while an operation writes (issue, batch, revoke,
                             suspend, resume, publish, rotate, reconcile)
    HOME/trust-entry.json    this organisation's trust-list entry, for the scheme authority
    HOME/certificate.pem     optional: the active key's certificate chain from the scheme CA
                             (leaf first); credentials and status lists then carry it in
                             ``x5c`` (:meth:`Issuer.install_certificate`, specs/x509.md)
    HOME/area-party.pub.jwk  optional: the pseudonymisation party's PUBLIC key; BSNs of
                             area signals are sealed to it (specs/area-report.md)

**One writer at a time.** Every operation that writes takes an exclusive lock on the home
(``flock`` on ``issuer.lock``; the kernel releases it if the process dies). A second writer,
in this or another process, waits up to ``lock_timeout`` seconds (default 5) and then gets
``StorageError("home_locked")``; nothing was changed. Reading (``register.list``, ``get``)
takes no lock. :meth:`Issuer.exclusive` holds the lock across several operations (a batch).

Example:
    >>> import tempfile, json, pathlib
    >>> from blauweknop import Issuer, Key
    >>> from blauweknop.debt import DebtStatement
    >>> home = pathlib.Path(tempfile.mkdtemp()) / "cjib"
    >>> iss = Issuer.init(home, issuer_id="urn:oin:00000001003214345000", name="CJIB",
    ...                   roles=["creditor"], status_base_uri="https://status.example/cjib")
    >>> data = json.loads(pathlib.Path("examples/data/debt-statement.json").read_text())
    >>> cred = iss.issue(DebtStatement.from_claims(data), holder_jwk=Key.generate().public_jwk())
    >>> cred.credential_id, cred.format
    ('CJIB-2026-000123', 'dc+sd-jwt')
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ._codec import parse_json_object
from ._errors import InvalidDataError, MalformedError, SignatureError, StorageError, TrustError
from ._files import DirectoryLock, atomic_write
from ._issuer_lifecycle import MAX_COPIES, IssuerLifecycle
from ._keys import Key, Signer
from ._model import CredentialModel
from ._profile import CredentialProfile
from ._spreadsheet import FORMULA_PREFIXES, check_spreadsheet_safe
from ._trust import KNOWN_ROLES, parse_entry
from ._x509 import CertifiedSigner, certificate_to_pem, leaf_matches_issuer, load_certificates
from .formats import format_for_option

if TYPE_CHECKING:
    from cryptography import x509

    from ._register import PostgresRegister, Register, Reservation

__all__ = [
    "FORMULA_PREFIXES",
    "IssuedCredential",
    "Issuer",
    "check_spreadsheet_safe",
]

_TZ = ZoneInfo("Europe/Amsterdam")
_PC4 = re.compile(r"[1-9][0-9]{3}")
_CONFIG_VERSION = 1
_CERTIFICATE_FILE = "certificate.pem"
#: Seconds a writer waits for another one to finish before ``home_locked``.
DEFAULT_LOCK_TIMEOUT = 5.0


def _day_start(date_text: str) -> int:
    """Start of a calendar day in the Netherlands, as Unix time."""
    d = dt.date.fromisoformat(date_text)
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=_TZ).timestamp())


def _credential_id(profile: CredentialProfile, claims: Mapping[str, Any]) -> str:
    """The register id: the claim the type's profile names (``statement_id``...)."""
    value = claims.get(profile.id_claim) if profile.id_claim else None
    if not isinstance(value, str) or not value:
        raise InvalidDataError(
            "invalid_data", f"{profile.id_claim or 'id'}: the credential needs its own id"
        )
    return value


@dataclass(frozen=True, kw_only=True)
class IssuedCredential:
    """A freshly issued credential.

    Attributes:
        credential_id: the register id (the statement or declaration id).
        format: ``dc+sd-jwt`` or ``ldp_vc``.
        vct: credential type.
        text: the credential as delivered to the wallet (SD-JWT string or JSON text).
        status_uri / status_index: where its status lives.
        valid_until: Unix time of expiry.
    """

    credential_id: str
    format: str
    vct: str
    text: str
    status_uri: str
    status_index: int
    valid_until: int


def _register_url(url: str) -> str:
    """A register URL as given to ``Issuer.init``/``open``: PostgreSQL, without a password
    (it comes from ``PGPASSWORD`` or ``~/.pgpass``: never from a file or a command line)."""
    import urllib.parse

    from ._register import is_postgres_url

    if not isinstance(url, str) or not is_postgres_url(url):
        raise InvalidDataError("invalid_data", "--register takes a postgresql:// URL")
    parts = urllib.parse.urlsplit(url)
    if parts.password is not None or "password=" in parts.query.lower():
        raise InvalidDataError(
            "invalid_data",
            "the register URL must not hold a password: use PGPASSWORD or ~/.pgpass",
        )
    return url


def _open_register(
    h: Path, config: Mapping[str, Any], *, clock: Callable[[], float] = time.time
) -> Register | PostgresRegister:
    """The home's register: ``config["register"]`` (PostgreSQL) or ``register.sqlite``."""
    from ._register import open_register

    where = config.get("register") or h / "register.sqlite"
    return open_register(
        _register_url(where) if isinstance(where, str) else where,
        bsn_key=Issuer._secret(h),
        status_base_uri=config["status_base_uri"],
        fence=h / "register.fence",
        clock=clock,
    )


class Issuer(IssuerLifecycle):
    """An issuing organisation working from its home directory. Use :meth:`init` once, then
    :meth:`open`."""

    def __init__(
        self,
        home: Path,
        config: Mapping[str, Any],
        signer: Signer,
        register: Register | PostgresRegister,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ):
        self.home = home
        self.config = dict(config)
        self.signer = signer
        self.register = register
        self._lock = DirectoryLock(
            home / "issuer.lock",
            what=f"the issuer home {home}",
            timeout=lock_timeout,
        )

    # -- setup ------------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        home: str | os.PathLike[str],
        *,
        issuer_id: str,
        name: str,
        roles: Iterable[str] = ("creditor",),
        status_base_uri: str | None = None,
        alg: str = "ES256",
        extra: Mapping[str, Any] | None = None,
        key: Key | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        clock: Callable[[], float] = time.time,
        register: str | None = None,
    ) -> Issuer:
        """Create a new issuer home: a signing key, the register and ``trust-entry.json``.
        ``register``: a ``postgresql://`` URL (kept in ``config.json``) instead of the
        home's SQLite file.

        Refuses a directory that already holds an issuer (no key is ever overwritten).
        ``status_base_uri`` is where the published status lists will be served
        (default ``https://status.invalid/<id>``: set it before production).
        """
        h = Path(home)
        if (h / "config.json").exists():
            raise StorageError("home_exists", f"{h} already holds an issuer; refusing to overwrite")
        roles = list(dict.fromkeys(roles))
        entry_probe = {
            "id": issuer_id,
            "name": name,
            "roles": roles,
            "jwks": {"keys": [Key.generate().public_jwk()]},
            **({"oin": extra["oin"]} if extra and "oin" in extra else {}),
        }
        try:
            parse_entry(entry_probe)
        except MalformedError as e:
            raise InvalidDataError("invalid_data", e.message) from e
        if not set(roles) <= KNOWN_ROLES:
            raise InvalidDataError("invalid_data", f"roles must be among {sorted(KNOWN_ROLES)}")
        if status_base_uri is None:
            status_base_uri = "https://status.invalid/" + issuer_id.replace(":", "-")
        if not status_base_uri.startswith(("https://", "http://localhost", "http://127.0.0.1")):
            raise InvalidDataError("invalid_data", "status base URI must be https")
        if key is None:
            key = Key.generate(alg)
        elif not key.has_private:
            raise SignatureError("key_invalid", "the issuer needs a private key")
        try:
            (h / "keys").mkdir(parents=True, exist_ok=True, mode=0o700)
            h.chmod(0o700)
        except OSError as e:
            raise StorageError("storage_write_failed", f"cannot create {h}: {e.strerror}") from e
        key.save(h / "keys" / f"{key.kid}.jwk")
        atomic_write(h / "register.secret", secrets.token_hex(32).encode() + b"\n", mode=0o600)
        config = {
            "version": _CONFIG_VERSION,
            "id": issuer_id,
            "name": name,
            "roles": roles,
            "status_base_uri": status_base_uri.rstrip("/"),
            "active_kid": key.kid,
            **(extra or {}),
        }
        if register is not None:
            config["register"] = _register_url(register)
        reg = _open_register(h, config, clock=clock)
        issuer = cls(h, config, key, reg, lock_timeout=lock_timeout)
        issuer._write_trust_entry()
        # config last: its presence marks a complete home.
        atomic_write(h / "config.json", (json.dumps(config, indent=2) + "\n").encode(), mode=0o600)
        return issuer

    @classmethod
    def open(
        cls,
        home: str | os.PathLike[str],
        *,
        signer: Signer | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        clock: Callable[[], float] = time.time,
        register: str | None = None,
    ) -> Issuer:
        """Open an existing issuer home. ``signer`` replaces the key file (e.g. an HSM).
        ``lock_timeout``: seconds a write waits for another writer before ``home_locked``.
        ``clock``: the register's time source (its ``issued_at`` and audit times; the area
        report's snapshots read them), e.g. a fixed day for a demo.
        ``register``: a ``postgresql://`` URL overriding ``config.json``'s ``register``
        (default: the home's SQLite file)."""
        h = Path(home)
        try:
            raw = (h / "config.json").read_bytes()
        except FileNotFoundError as e:
            raise StorageError(
                "home_not_found", f"{h} is not an issuer home (run init first)"
            ) from e
        except OSError as e:
            raise StorageError("home_unreadable", f"cannot read {h}: {e.strerror}") from e
        config = parse_json_object(raw, what="config.json")
        if config.get("version") != _CONFIG_VERSION:
            raise StorageError(
                "home_version", f"unsupported issuer home version {config.get('version')}"
            )
        if signer is None:
            signer = Key.load(h / "keys" / f"{config['active_kid']}.jwk")
        if (h / _CERTIFICATE_FILE).exists():
            signer = CertifiedSigner(signer, load_certificates(h / _CERTIFICATE_FILE))
        if register is not None:
            config["register"] = _register_url(register)
        reg = _open_register(h, config, clock=clock)
        return cls(h, config, signer, reg, lock_timeout=lock_timeout)

    # -- one writer at a time ------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive(self) -> Iterator[Issuer]:
        """Hold the home's write lock across several operations (e.g. a whole batch), so no
        other process writes in between. Re-entrant; every writing method takes it too.

        Raises ``StorageError("home_locked")`` when another writer keeps it longer than
        ``lock_timeout``.

        Example:
            ```python
            with issuer.exclusive():
                for row in rows:
                    issuer.issue(row.data, holder_jwk=row.holder_jwk)
            ```
        """
        with self._lock:
            yield self

    @staticmethod
    def _secret(h: Path) -> bytes:
        return Issuer._secret_file(h / "register.secret")

    @staticmethod
    def _secret_file(p: Path) -> bytes:
        try:
            if p.stat().st_mode & 0o077:
                raise StorageError(
                    "key_file_permissions", f"{p} is readable by others; chmod 600 it"
                )
            return bytes.fromhex(p.read_text().strip())
        except (OSError, ValueError) as e:
            raise StorageError("home_unreadable", f"cannot read {p}") from e

    @property
    def name(self) -> str:
        """The organisation's name."""
        return str(self.config["name"])

    def trust_entry(self) -> dict[str, Any]:
        """This organisation's trust-list entry (specs/trust-list.md)."""
        return {
            "id": self.issuer_id,
            "name": self.name,
            "roles": list(self.config["roles"]),
            "jwks": {"keys": [k.public_jwk() for k in self.public_keys()]},
            **({"oin": self.config["oin"]} if "oin" in self.config else {}),
        }

    def _write_trust_entry(self) -> None:
        data = (json.dumps(self.trust_entry(), indent=2) + "\n").encode()
        atomic_write(self.home / "trust-entry.json", data)

    def rotate_key(self, alg: str | None = None) -> Key:
        """Make a new signing key active; old keys stay in the trust entry so credentials
        they signed keep verifying until the scheme authority drops them."""
        with self._lock:
            key = Key.generate(alg or self.signer.alg)
            key.save(self.home / "keys" / f"{key.kid}.jwk")
            self.config["active_kid"] = key.kid
            atomic_write(
                self.home / "config.json",
                (json.dumps(self.config, indent=2) + "\n").encode(),
                mode=0o600,
            )
            self.signer = key
            self._write_trust_entry()
            # The chain certified the old key: issue without x5c until a new one is installed.
            (self.home / _CERTIFICATE_FILE).unlink(missing_ok=True)
        return key

    def install_certificate(self, chain: Sequence[x509.Certificate]) -> None:
        """Install the active key's certificate chain (leaf first, root left out) from the
        scheme CA: from now on every credential and status list token carries it in its
        ``x5c`` header. The leaf must be for the active key (``ca_key_invalid``) and name
        this organisation's id (``x5c_name_mismatch``)."""
        base = self.signer.inner if isinstance(self.signer, CertifiedSigner) else self.signer
        certified = CertifiedSigner(base, chain)
        if not leaf_matches_issuer(certified.leaf, self.issuer_id):
            raise TrustError(
                "x5c_name_mismatch", f"the certificate does not name {self.issuer_id!r}"
            )
        pem = "".join(certificate_to_pem(c) for c in certified.certificates)
        with self._lock:
            atomic_write(self.home / _CERTIFICATE_FILE, pem.encode("ascii"))
            self.signer = certified

    # -- issuance -------------------------------------------------------------------------
    def _validity(
        self,
        data: CredentialModel,
        now: int,
        valid_days: int | None,
        claims: Mapping[str, Any] | None = None,
    ) -> tuple[int | None, int]:
        if claims is None:
            claims = data.to_claims()
        if "valid_until" in claims and "valid_from" in claims:
            nbf = _day_start(claims["valid_from"])
            exp = _day_start(claims["valid_until"]) + 86400  # valid_until is inclusive
            if exp <= now:
                raise InvalidDataError(
                    "invalid_data", "valid_until: lies in the past", field="valid_until"
                )
            return nbf, exp
        days = valid_days or data.profile().default_validity_days or 30
        return None, now + days * 86400

    def issue(
        self,
        data: CredentialModel,
        *,
        holder_jwk: Mapping[str, Any],
        format: str = "sd-jwt",  # noqa: A002 (public keyword, as in the CLI's --format)
        now: float | None = None,
        valid_days: int | None = None,
        batch_row_key: str | None = None,
        write: Callable[[str], None] | None = None,
        credential_id: str | None = None,
        area: str | None = None,
    ) -> IssuedCredential:
        """Issue ``data`` (a validated :class:`DebtStatement` or
        :class:`~rodeknop_vc.PaymentIncapacityDeclaration`) to the holder key.

        The register first reserves a fresh random status index (one transaction), then the
        credential is signed, then the reservation is confirmed. With ``batch_row_key`` a
        repeated call for the same row returns a credential with the same id and index
        (resumable batches). ``write`` is called with the credential text after signing and
        before the reservation is confirmed, so a confirmed row always has its file.

        Retry-safe: if ``write`` fails (disk full, folder not writable) the credential stays
        ``pending``; calling ``issue`` again for the same id, type, format and holder key signs
        it again with the same id and status index and confirms it once ``write`` succeeds
        (use :func:`blauweknop._files.credential_writer` for a 0600 file). A confirmed
        credential is ``credential_exists``. Takes the home's write lock (``home_locked``).

        ``area``: the subject's four-digit postcode area (PC4), recorded in the register for
        the area report (specs/area-report.md), never in the credential. With the scheme's
        pseudonymisation party's public key in the home (``area-party.pub.jwk``) the subject's
        BSN is recorded sealed to that party (a JWE the issuer cannot open).
        """
        now_i = int(time.time() if now is None else now)
        if area is not None and not _PC4.fullmatch(area):
            raise InvalidDataError("invalid_data", "area: four digits, e.g. 5611", field="area")
        claims = data.to_claims()  # once: the model's JSON, read by every step below
        holder, nbf, exp = self._prepare(data, holder_jwk, format, now_i, valid_days, claims)
        party = self._area_party() if area is not None else None  # refused before issuing
        # The home's lock; not _writing()'s separate fence check: every register write below
        # (reserve_confirmed, reserve, confirm, record_area) checks the fence itself, inside
        # its transaction and under the register's write lock.
        with self._lock:
            issued = self._issue_locked(
                data, claims, holder, format, now_i, nbf, exp, batch_row_key, write, credential_id
            )
            if area is not None:
                self._record_area(issued.credential_id, claims, area, party)
            return issued

    def _area_party(self) -> dict[str, str] | None:
        from ._register._areas import party_public_key

        path = self.home / "area-party.pub.jwk"
        if not path.exists():
            return None
        try:
            jwk = json.loads(path.read_bytes())
        except (OSError, ValueError) as e:
            raise InvalidDataError("invalid_data", f"{path.name}: not a JSON JWK") from e
        return party_public_key(jwk)

    def _record_area(
        self, cid: str, claims: Mapping[str, Any], pc4: str, party: dict[str, str] | None
    ) -> None:
        from ._register._areas import seal_bsn, signal_from_claims

        band, arrears = signal_from_claims(dict(claims))
        bsn = (claims.get("subject") or {}).get("bsn")
        sealed = seal_bsn(str(bsn), party) if bsn and party is not None else None
        self.register.record_area(
            cid, pc4=pc4, amount_band=band, in_arrears=arrears, sealed_bsn=sealed
        )

    def check_issuable(
        self,
        data: CredentialModel,
        *,
        holder_jwk: Mapping[str, Any],
        format: str = "sd-jwt",  # noqa: A002 (public keyword, as in the CLI's --format)
        now: float | None = None,
        valid_days: int | None = None,
    ) -> None:
        """Run every check :meth:`issue` runs before it touches the register (format, issuer
        role, holder key, validity window not in the past, text that a spreadsheet would run
        as a formula), without issuing. A batch pre-check uses it, so a row that passes the
        pre-check does not fail while issuing for any of these reasons."""
        self._prepare(
            data, holder_jwk, format, int(time.time() if now is None else now), valid_days
        )

    def _prepare(
        self,
        data: CredentialModel,
        holder_jwk: Mapping[str, Any],
        format: str,  # noqa: A002 (as in issue)
        now_i: int,
        valid_days: int | None,
        claims: Mapping[str, Any] | None = None,
    ) -> tuple[Key, int | None, int]:
        format_for_option(format)
        if claims is None:
            claims = data.to_claims()
        profile = data.profile()
        profile.check_issuer_roles(self.config["roles"], self.issuer_id)
        profile.check_issuer(
            claims,
            issuer_id=self.issuer_id,
            issuer_name=self.name,
            issuer_oin=self.config.get("oin"),
        )
        try:
            holder = Key.from_jwk(holder_jwk)
        except SignatureError as e:
            raise InvalidDataError(
                "invalid_data", f"holder key: {e.message}", field="holder_key"
            ) from e
        if holder.has_private:
            raise InvalidDataError("invalid_data", "holder key must be public", field="holder_key")
        check_spreadsheet_safe(claims)
        nbf, exp = self._validity(data, now_i, valid_days, claims)
        return holder, nbf, exp

    def _issue_locked(
        self,
        data: CredentialModel,
        claims: Mapping[str, Any],
        holder: Key,
        format: str,  # noqa: A002 (as in issue)
        now_i: int,
        nbf: int | None,
        exp: int,
        batch_row_key: str | None,
        write: Callable[[str], None] | None,
        credential_id: str | None,
    ) -> IssuedCredential:
        from ._register import ReserveRequest, reserve_sign_confirm

        profile = data.profile()
        cid = credential_id or _credential_id(profile, claims)
        bsn = (claims.get("subject") or {}).get("bsn")
        encoding = format_for_option(format)
        fmt = encoding.id
        request = ReserveRequest(
            credential_id=cid,
            credential_type=profile.vct,
            credential_format=fmt,
            holder_thumbprint=holder.kid,
            bsn=bsn,
            valid_from=nbf if nbf is not None else now_i,
            valid_until=exp,
            batch_row_key=batch_row_key,
        )

        def sign(res: Reservation, held_until: int | None) -> tuple[str, int]:
            if res.credential_id != cid:
                raise InvalidDataError(
                    "invalid_data",
                    f"batch row {batch_row_key!r} was issued before as {res.credential_id!r},"
                    f" not {cid!r}",
                )
            # Signed again with the same id and index: keep the expiry the register holds.
            until = (held_until or exp) if res.resumed else exp
            text = encoding.issue(
                profile,
                claims,
                signer=self.signer,
                issuer_id=self.issuer_id,
                holder=holder,
                iat=now_i,
                nbf=nbf,
                exp=until,
                status=res,
            )
            return text, until

        # The fsyncs of this path, and what each protects (issue 18):
        # * without ``write``: ONE, the commit of reserve_confirmed (SQLite: fdatasync of the
        #   WAL): the credential's row, its status index and audit rows are on disk before
        #   the text is returned. (PostgreSQL: two WAL flushes, reserve and confirm, so that
        #   signing runs outside the lock all machines share; see reserve_confirmed there.) Nothing
        #   else syncs per credential: the fence is rewritten in place unsynced (_fence.py);
        #   SQLite's checkpoint (every ~1000 WAL pages, some 60 credentials) syncs the WAL
        #   and the database file before it reuses the WAL, amortised.
        # * with ``write``: the reservation's commit (the index is burned before any file
        #   can hold it), the writer's own syncs (credential_writer: the file and its
        #   folder, so a confirmed row always has its file), then the confirm's commit.
        if write is None:
            # Nothing leaves before the register's one durable commit: reserve, sign and
            # confirm in one transaction (IssuerRegister.reserve_confirmed).
            res, (text, exp) = self.register.reserve_confirmed(request, sign)
        else:
            # The text goes to a file while pending: the reservation is made durable first
            # (its own commit), so an index in a file is never handed out again; the
            # confirm's commit comes after ``write`` returned.
            res, (text, exp) = reserve_sign_confirm(
                self.register, request, sign, written=lambda signed: write(signed[0])
            )
        return IssuedCredential(
            credential_id=cid,
            format=fmt,
            vct=profile.vct,
            text=text,
            status_uri=res.list_uri,
            status_index=res.idx,
            valid_until=exp,
        )

    def issue_copies(
        self,
        data: CredentialModel,
        *,
        holder_jwks: Iterable[Mapping[str, Any]],
        format: str = "sd-jwt",  # noqa: A002 (public keyword, as in the CLI's --format)
        now: float | None = None,
        valid_days: int | None = None,
    ) -> list[IssuedCredential]:
        """Unlinkability: one credential as a batch of single-use copies, each bound to its
        own holder key (see :meth:`Wallet.new_holder_keys`), with its own salts, decoys,
        signature and status index, so presentations of different copies cannot be linked
        by the credential itself. The wallet presents a fresh copy each time while any
        remain. Revoking, suspending or resuming the credential id covers every copy.

        Copies are registered as ``<id>~copy<n>`` (n from 1).
        """
        keys = list(holder_jwks)
        if not 1 <= len(keys) <= MAX_COPIES:
            raise InvalidDataError("invalid_data", f"between 1 and {MAX_COPIES} holder keys")
        claims = data.to_claims()
        cid = _credential_id(data.profile(), claims)
        with self.exclusive():
            return self._copies(data, keys, cid, format, now, valid_days)

    def _copies(
        self,
        data: CredentialModel,
        keys: list[Mapping[str, Any]],
        cid: str,
        format: str,  # noqa: A002 (as in issue)
        now: float | None,
        valid_days: int | None,
    ) -> list[IssuedCredential]:
        return [
            self.issue(
                data,
                holder_jwk=k,
                format=format,
                now=now,
                valid_days=valid_days,
                credential_id=f"{cid}~copy{i}",
            )
            for i, k in enumerate(keys, start=1)
        ]
