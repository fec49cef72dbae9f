"""The verifier's offline status cache: status lists fetched earlier, checked at verification
time without any network access (specs/status-lists.md).

Layout of the cache directory::

    <sha256(uri) hex>     the raw status list as fetched (Status List Token or
                          BitstringStatusListCredential), written atomically
    index.json            uri, fetched_at, issued_at and content hash per file
    .lock                 serialises writers (put/sync)

Fetching is a separate step (:meth:`StatusCache.sync`) for whoever is online. A list that is
missing, stale or unreadable is ``status_unavailable``; a bad signature, another
organisation's key or list, a wrong ``sub`` or an index out of range is ``status_invalid``.

Example:
    >>> import tempfile
    >>> from blauweknop._keys import Key
    >>> from blauweknop._status._ietf import StatusList, sign_status_list_token
    >>> k, uri = Key.generate(), "https://ex.nl/status/1.jwt"
    >>> sl = StatusList(16, 2); sl.set(5, 1)
    >>> tok = sign_status_list_token(sl, uri=uri, issuer="urn:oin:1", signer=k, now=0, ttl=600)
    >>> cache = StatusCache(tempfile.mkdtemp())
    >>> _ = cache.put(uri, tok.encode(), fetched_at=0)
    >>> cache.check_token_status(uri, 4, issuer_key=k, expected_issuer="urn:oin:1", now=60).status
    0
    >>> try:
    ...     cache.check_token_status(uri, 5, issuer_key=k, expected_issuer="urn:oin:1", now=60)
    ... except StatusError as e:
    ...     e.code
    'revoked'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .._codec import parse_json_object
from .._errors import BlauweKnopError, MalformedError, StatusError, StorageError
from .._files import atomic_write
from .._jws import parse_compact
from .._keys import Key
from .._limits import DEFAULT_LIMITS, Limits
from ._freshness import DEFAULT_FRESHNESS, FreshnessPolicy
from ._ietf import STATUS_LIST_JWT_TYP, max_status_token_bytes, verify_status_list_token
from ._w3c import (
    MIN_BITSTRING_ENTRIES,
    BitstringStatusListEntry,
    VerifyDocument,
    check_bitstring_status,
    parse_xsd_datetime,
    verify_bitstring_status_list_credential,
)

try:  # POSIX; on other systems writers are not serialised (single-writer use only)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "CachedStatusList",
    "StatusCache",
    "StatusCheck",
    "StatusSource",
    "SyncFailure",
    "SyncReport",
    "cache_file_name",
]

_INDEX = "index.json"
_LOCK = ".lock"


def cache_file_name(uri: str) -> str:
    """File name of a URI's entry: the hex SHA-256 of the URI (no path tricks possible).

    >>> cache_file_name("https://ex.nl/status/1.jwt")[:12]
    'c02ea6f9bc16'
    """
    return hashlib.sha256(uri.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class CachedStatusList:
    """A raw cached status list.

    Attributes:
        uri: the list's URI.
        data: the bytes as fetched.
        fetched_at: when it was fetched (Unix seconds), or ``None`` if the index does not know
            this exact content (then ``ttl`` counts from the list's own issue time).
    """

    uri: str
    data: bytes
    fetched_at: float | None


@dataclass(frozen=True, kw_only=True, slots=True)
class StatusCheck:
    """Result of a successful status check: the credential is VALID in a fresh list.

    Attributes:
        uri: status list URI.
        idx: the credential's index.
        status: always ``0`` (VALID); anything else raised.
        issued_at: when the list was issued.
        fresh_until: when the cached list becomes stale.
    """

    uri: str
    idx: int
    status: int
    issued_at: float
    fresh_until: float


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncFailure:
    """One URI that :meth:`StatusCache.sync` could not refresh (the old copy is kept)."""

    uri: str
    code: str
    message: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncReport:
    """What :meth:`StatusCache.sync` did."""

    updated: tuple[str, ...]
    failed: tuple[SyncFailure, ...]

    @property
    def ok(self) -> bool:
        """Whether every URI was refreshed."""
        return not self.failed


class StatusSource(Protocol):
    """Where a verifier looks up status lists offline; :class:`StatusCache` is one."""

    def lookup(self, uri: str) -> CachedStatusList | None: ...


def _peek(uri: str, data: bytes, limits: Limits) -> tuple[str, float]:
    """Unverified sanity check of fetched bytes: kind (``jwt``/``vc``), issue time, and that
    the list names itself ``uri``. Keeps error pages and swapped lists out of the cache."""
    max_bytes = max_status_token_bytes(limits)
    if len(data) > max_bytes:
        raise MalformedError("too_large", f"status list is larger than {max_bytes} bytes")
    text = data.lstrip()
    if text.startswith(b"{"):
        doc = parse_json_object(
            data, limits=limits, what="status list credential", max_bytes=max_bytes
        )
        if doc.get("id") != uri:
            raise MalformedError(
                "malformed_status_list", f"document id {doc.get('id')!r} is not {uri!r}"
            )
        return "vc", parse_xsd_datetime(doc.get("validFrom"), "validFrom")
    try:
        token = data.decode("ascii").strip()
    except UnicodeDecodeError as e:
        raise MalformedError("malformed_status_list", "status list token is not ASCII") from e
    parsed = parse_compact(token, typ=STATUS_LIST_JWT_TYP, limits=limits, max_bytes=max_bytes)
    claims = parse_json_object(
        parsed.payload, limits=limits, what="status list token", max_bytes=max_bytes
    )
    if claims.get("sub") != uri:
        raise MalformedError(
            "malformed_status_list", f"token sub {claims.get('sub')!r} is not {uri!r}"
        )
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int):
        raise MalformedError("malformed_status_list", "status list token has no integer iat")
    return "jwt", float(iat)


class StatusCache:
    """A directory of cached status lists, keyed by URI.

    Args:
        directory: created (with parents) when missing.
        limits: bounds for stored and parsed lists.
    """

    def __init__(
        self, directory: str | os.PathLike[str], *, limits: Limits = DEFAULT_LIMITS
    ) -> None:
        self.directory = Path(directory)
        self.limits = limits
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(
                "storage_write_failed", f"cannot create status cache {directory}: {e}"
            ) from e

    # -- storage -------------------------------------------------------------------------
    def _path(self, uri: str) -> Path:
        return self.directory / cache_file_name(uri)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            fd = os.open(self.directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise StorageError("storage_write_failed", f"cannot lock status cache: {e}") from e
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _read_index(self) -> dict[str, dict[str, Any]]:
        try:
            raw = (self.directory / _INDEX).read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise StorageError("storage_read_failed", f"cannot read status cache index: {e}") from e
        try:
            obj = parse_json_object(raw, what="status cache index", max_bytes=64 * 1024 * 1024)
        except MalformedError:
            return {}  # a damaged index only loses fetch times; it is rebuilt on the next put
        entries = obj.get("entries")
        if not isinstance(entries, dict):
            return {}
        return {k: v for k, v in entries.items() if isinstance(v, dict)}

    def put(self, uri: str, data: bytes, *, fetched_at: float) -> CachedStatusList:
        """Store ``data`` as the current list for ``uri``.

        Refuses (``StatusError``, the old copy stays) anything that is not a status list token
        or status list credential naming ``uri`` (``status_unavailable``), and a list older
        than the cached one (``status_invalid``: a rollback would hide revocations).
        Signatures are checked at verification time, with the credential issuer's keys.
        """
        if not isinstance(uri, str) or not uri:
            raise StatusError("status_unavailable", "status list URI must be a non-empty string")
        try:
            kind, issued_at = _peek(uri, data, self.limits)
        except MalformedError as e:
            raise StatusError(
                "status_unavailable", f"fetched status list {uri} is unusable: {e}"
            ) from e
        name = cache_file_name(uri)
        with self._locked():
            old = self._read_file(uri)
            if old is not None:
                try:
                    _, old_iat = _peek(uri, old, self.limits)
                except MalformedError:
                    old_iat = float("-inf")
                if issued_at < old_iat:
                    raise StatusError(
                        "status_invalid",
                        f"fetched status list {uri} (issued {issued_at:g}) is older than the "
                        f"cached copy (issued {old_iat:g}); refusing the rollback",
                    )
            atomic_write(self.directory / name, data)
            index = self._read_index()
            index[name] = {
                "uri": uri,
                "kind": kind,
                "fetched_at": fetched_at,
                "issued_at": issued_at,
                "sha256": hashlib.sha256(data).hexdigest(),
            }
            body = json.dumps({"version": 1, "entries": index}, indent=1, sort_keys=True)
            atomic_write(self.directory / _INDEX, body.encode())
        return CachedStatusList(uri=uri, data=data, fetched_at=fetched_at)

    def _read_file(self, uri: str) -> bytes | None:
        try:
            return self._path(uri).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StorageError(
                "storage_read_failed", f"cannot read cached status list {uri}: {e}"
            ) from e

    def lookup(self, uri: str) -> CachedStatusList | None:
        """The cached raw list for ``uri``, or ``None``."""
        data = self._read_file(uri)
        if data is None:
            return None
        meta = self._read_index().get(cache_file_name(uri), {})
        fetched_at = meta.get("fetched_at")
        if (
            meta.get("uri") != uri
            or meta.get("sha256") != hashlib.sha256(data).hexdigest()
            or isinstance(fetched_at, bool)
            or not isinstance(fetched_at, int | float)
        ):
            fetched_at = None  # index and file disagree (crash between the two writes)
        return CachedStatusList(uri=uri, data=data, fetched_at=fetched_at)

    def uris(self) -> list[str]:
        """URIs with a cached list, sorted."""
        out = []
        for name, meta in self._read_index().items():
            uri = meta.get("uri")
            if isinstance(uri, str) and (self.directory / name).exists():
                out.append(uri)
        return sorted(out)

    # -- online step ---------------------------------------------------------------------
    def sync(self, uris: Iterable[str], *, fetch: Callable[[str], bytes], now: float) -> SyncReport:
        """Fetch each URI with ``fetch`` and :meth:`put` it; failures are reported, not raised,
        and leave the previous copy in place.

        ``fetch`` is e.g. :class:`HttpsFetcher` ``()`` or, in tests, a function reading files.
        """
        updated: list[str] = []
        failed: list[SyncFailure] = []
        for uri in dict.fromkeys(uris):
            try:
                data = fetch(uri)
                self.put(uri, data, fetched_at=now)
            except BlauweKnopError as e:
                failed.append(SyncFailure(uri=uri, code=e.code, message=e.message))
            except OSError as e:
                failed.append(SyncFailure(uri=uri, code="status_unavailable", message=str(e)))
            else:
                updated.append(uri)
        return SyncReport(updated=tuple(updated), failed=tuple(failed))

    # -- offline checks ------------------------------------------------------------------
    def _require(self, uri: str) -> CachedStatusList:
        cached = self.lookup(uri)
        if cached is None:
            raise StatusError(
                "status_unavailable", f"no cached status list for {uri}; run the status sync first"
            )
        return cached

    def check_token_status(
        self,
        uri: str,
        idx: int,
        *,
        issuer_key: Key | Sequence[Key],
        expected_issuer: str | None,
        now: float,
        max_age: float | None = None,
        policy: FreshnessPolicy = DEFAULT_FRESHNESS,
    ) -> StatusCheck:
        """Status of index ``idx`` in the cached Status List Token for ``uri`` (IETF).

        Args:
            uri, idx: ``status.status_list`` of the credential.
            issuer_key: public key(s) of the credential's issuer (from the trust list).
            expected_issuer: the credential's ``iss``; the token's ``iss`` must match.
            now: verification time, Unix seconds.
            max_age: caller's bound on the list's age, seconds.

        Raises:
            StatusError: ``revoked``, ``suspended``, ``status_unavailable`` (missing, stale,
                unreadable) or ``status_invalid`` (signature, issuer, ``sub``, index range).
        """
        cached = self._require(uri)
        token = verify_status_list_token(
            cached.data,
            key=issuer_key,
            expected_uri=uri,
            expected_issuer=expected_issuer,
            now=now,
            fetched_at=cached.fetched_at,
            max_age=max_age,
            policy=policy,
            limits=self.limits,
        )
        token.check(idx)
        return StatusCheck(
            uri=uri, idx=idx, status=0, issued_at=token.issued_at, fresh_until=token.fresh_until
        )

    def check_bitstring_status(
        self,
        entry: BitstringStatusListEntry,
        *,
        verify: VerifyDocument,
        expected_issuer: str | None,
        now: float,
        max_age: float | None = None,
        policy: FreshnessPolicy = DEFAULT_FRESHNESS,
        min_entries: int = MIN_BITSTRING_ENTRIES,
    ) -> StatusCheck:
        """Status of a W3C ``BitstringStatusListEntry`` against the cached status list
        credential; ``verify(document) -> issuer id`` checks its proof. Same error codes as
        :meth:`check_token_status`."""
        uri = entry.status_list_credential
        cached = self._require(uri)
        verified = verify_bitstring_status_list_credential(
            cached.data,
            verify=verify,
            expected_uri=uri,
            expected_issuer=expected_issuer,
            status_purpose=entry.status_purpose,
            now=now,
            fetched_at=cached.fetched_at,
            max_age=max_age,
            policy=policy,
            min_entries=min_entries,
            limits=self.limits,
        )
        check_bitstring_status(entry, verified)
        return StatusCheck(
            uri=uri,
            idx=entry.status_list_index,
            status=0,
            issued_at=verified.valid_from,
            fresh_until=verified.fresh_until,
        )
