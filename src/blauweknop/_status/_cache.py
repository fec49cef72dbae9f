"""The verifier's offline status cache: status lists fetched earlier, checked at verification
time without any network access (specs/status-lists.md).

Layout of the cache directory::

    <sha256(issuer NUL uri) hex>  the raw status list as fetched (Status List Token or
                                  BitstringStatusListCredential), written atomically
    index.json                    uri, issuer, fetched_at, issued_at and content hash per file
    .lock                         serialises writers (put/sync)

Nothing enters the cache unverified: :meth:`StatusListStore.put` takes an ``admit`` check
(:func:`list_admission`, in :mod:`._admission`) that verifies the list's signature, its
signer (an organisation of the trust list, which the list names as its issuer) and that it
is not issued in the future. Each list is filed under its
URI **and** its signer, and a verifier looks up only the slot of the credential's issuer: a
list another organisation signed for someone else's URI can never shadow the genuine one
nor make it look like a rollback.

Verified once, kept decoded: a store remembers (bounded, least recently used first out) the
files it read, by ``(inode, size, mtime_ns, ctime_ns)``, and the lists it verified, by the
SHA-256 of their bytes and the issuer keys they were checked with. A check therefore costs two
``stat`` calls and a bit lookup while nothing changed on disk: a list is verified (signature,
issuer, ``sub``/``id``, encoding) the first time it is used after it entered the cache or its
file changed, and its *times* (``exp``/``validUntil``, ``ttl``, maximum age, issue time) are
evaluated again at every check, exactly as without the memory. Every writer replaces files
atomically (new inode), so no legitimate change goes unseen; a same-size in-place rewrite within
one clock tick of the previous one could be, and then the copy in memory (the one that was
verified) is used. ``memory=0`` turns this off: each check reads and verifies from disk.

Fetching is a separate step (:meth:`StatusListStore.sync`) for whoever is online. A list that is
missing, stale or unreadable is ``status_unavailable``; a bad signature, another
organisation's key or list, a wrong ``sub`` or an index out of range is ``status_invalid``.

Example:
    >>> import tempfile
    >>> from blauweknop._keys import Key
    >>> from blauweknop._status._ietf import StatusList, sign_status_list_token
    >>> k, uri = Key.generate(), "https://ex.nl/status/1.jwt"
    >>> sl = StatusList(16, 2); sl.set(5, 1)
    >>> tok = sign_status_list_token(sl, uri=uri, issuer="urn:oin:1", signer=k, now=0, ttl=600)
    >>> cache = StatusListStore(tempfile.mkdtemp())
    >>> _ = cache.put(uri, tok.encode(), fetched_at=0,
    ...               admit=list_admission(keys_for={"urn:oin:1": [k]}.__getitem__, now=0))
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
import dataclasses
import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .._codec import parse_json_object
from .._errors import BlauweKnopError, MalformedError, StatusError, StorageError
from .._files import atomic_write
from .._keys import Key
from .._limits import DEFAULT_LIMITS, Limits
from ._admission import AdmitList, AdmittedList, _peek, list_admission
from ._freshness import DEFAULT_FRESHNESS, FreshnessPolicy, check_fresh, check_list_times
from ._ietf import StatusListToken, check_status_value, verify_status_list_token
from ._w3c import (
    MIN_BITSTRING_ENTRIES,
    BitstringStatusListEntry,
    VerifiedBitstringStatusList,
    VerifyDocument,
    check_bitstring_status,
    run_verify,
    verify_bitstring_status_list_credential,
)

try:  # POSIX; on other systems writers are not serialised (single-writer use only)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MAX_TIED",
    "AdmitList",
    "AdmittedList",
    "BitstringProofMemo",
    "CachedStatusList",
    "StatusCheck",
    "StatusListLookup",
    "StatusListStore",
    "SyncFailure",
    "SyncReport",
    "cache_file_name",
    "list_admission",
]

_INDEX = "index.json"
_LOCK = ".lock"
_INDEX_VERSION = 2
#: Different lists with one URI, issuer and issue time kept side by side (see ``put``).
MAX_TIED = 4
#: Verified lists a store keeps decoded in memory by default (see ``StatusListStore``).
DEFAULT_MEMORY = 128

_FileSig = tuple[int, int, int, int]


def _file_sig(path: str) -> _FileSig | None:
    """What tells a changed file cheaply: inode, size and both change times (``None``: gone)."""
    try:
        st = os.stat(path)  # noqa: PTH116 - on the hot path: no Path object per check
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StorageError("storage_read_failed", f"cannot read status cache {path}: {e}") from e
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class _Memory:
    """The store's bounded memory: files read (by signature) and lists verified (by content
    hash and keys). Thread-safe; entries are immutable once stored."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._files: OrderedDict[str, tuple[_FileSig, bytes, str]] = OrderedDict()
        self._index: tuple[_FileSig, dict[str, dict[str, Any]]] | None = None
        self._verified: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        # (uri, issuer, keys) -> (file signatures, verified tokens): one check's whole answer
        self._hot: dict[tuple[Any, ...], Any] = {}

    def file(self, name: str, sig: _FileSig) -> tuple[bytes, str] | None:
        with self._lock:
            hit = self._files.get(name)
            if hit is None or hit[0] != sig:
                return None
            self._files.move_to_end(name)
            return hit[1], hit[2]

    def remember_file(self, name: str, sig: _FileSig, data: bytes, digest: str) -> None:
        with self._lock:
            self._files[name] = (sig, data, digest)
            self._files.move_to_end(name)
            while len(self._files) > self.size * (1 + MAX_TIED):
                self._files.popitem(last=False)

    def index(self, sig: _FileSig) -> dict[str, dict[str, Any]] | None:
        with self._lock:
            if self._index is None or self._index[0] != sig:
                return None
            return self._index[1]

    def remember_index(self, sig: _FileSig, index: dict[str, dict[str, Any]]) -> None:
        with self._lock:
            self._index = (sig, index)

    def verified(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            hit = self._verified.get(key)
            if hit is not None:
                self._verified.move_to_end(key)
            return hit

    def remember_verified(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._verified[key] = value
            self._verified.move_to_end(key)
            while len(self._verified) > self.size * (1 + MAX_TIED):
                self._verified.popitem(last=False)

    def hot(self, key: tuple[Any, ...]) -> Any:
        # a plain dict read: entries are immutable tuples, replaced whole under the lock
        return self._hot.get(key)

    def remember_hot(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._hot.pop(key, None)
            self._hot[key] = value
            while len(self._hot) > self.size:
                del self._hot[next(iter(self._hot))]

    def forget(self) -> None:
        with self._lock:
            self._files.clear()
            self._verified.clear()
            self._hot.clear()
            self._index = None


def cache_file_name(uri: str, issuer: str) -> str:
    """File name of the list ``issuer`` signed for ``uri``: the hex SHA-256 of both (no path
    tricks possible; another organisation's list for the same URI gets another file).

    >>> cache_file_name("https://ex.nl/status/1.jwt", "urn:oin:1")[:12]
    'e2400e95e612'
    """
    return hashlib.sha256(issuer.encode("utf-8") + b"\0" + uri.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class CachedStatusList:
    """A raw cached status list, admitted (verified) when it was stored.

    Attributes:
        uri: the list's URI.
        issuer: the organisation that signed it (checked on admission).
        data: the bytes as fetched.
        fetched_at: when it was fetched (Unix seconds), or ``None`` if the index does not know
            this exact content. Informational: freshness runs from the list's issue time.
        tied: other lists of the same issuer, URI and issue time but different content
            (published within one second): which is newer cannot be told, so a check reads
            the index in every one of them and the most severe status wins.
    """

    uri: str
    issuer: str
    data: bytes
    fetched_at: float | None
    tied: tuple[bytes, ...] = ()
    # SHA-256 (hex) of data, then of each tied list, when known: what the memory is keyed by
    _digests: tuple[str, ...] = field(default=(), repr=False, compare=False)
    # With memory: the (path, signature) of the index and of every file read, as stat'ed
    # before reading them; the same signatures later mean the same lookup result.
    _sigs: tuple[tuple[str, _FileSig | None], ...] = field(default=(), repr=False, compare=False)


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
    """One URI that :meth:`StatusListStore.sync` could not refresh (the old copy is kept)."""

    uri: str
    code: str
    message: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncReport:
    """What :meth:`StatusListStore.sync` did."""

    updated: tuple[str, ...]
    failed: tuple[SyncFailure, ...]

    @property
    def ok(self) -> bool:
        """Whether every URI was refreshed."""
        return not self.failed


class StatusListLookup(Protocol):
    """Where a verifier looks up status lists offline; :class:`StatusListStore` is one."""

    def lookup(self, uri: str, *, issuer: str) -> CachedStatusList | None: ...


class StatusListStore:
    """A directory of cached status lists, keyed by URI and signing organisation.

    Args:
        directory: created (with parents) when missing.
        limits: bounds for stored and parsed lists.
        policy: the freshness policy of the checks (default :data:`DEFAULT_FRESHNESS`: ttl
            clamped to 60 s .. 24 h and at most a day old, counted from the list's own issue
            time).
        memory: how many verified lists to keep decoded in memory (default
            :data:`DEFAULT_MEMORY`; ``0``: read and verify from disk at every check). Same
            verdicts either way; see the module docstring.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        limits: Limits = DEFAULT_LIMITS,
        policy: FreshnessPolicy = DEFAULT_FRESHNESS,
        memory: int = DEFAULT_MEMORY,
    ) -> None:
        self.directory = Path(directory)
        self.limits = limits
        self.policy = policy
        if isinstance(memory, bool) or not isinstance(memory, int) or memory < 0:
            raise ValueError("memory must be a non-negative number of lists")
        self._memory = _Memory(memory) if memory else None
        self._dir = str(self.directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(
                "storage_write_failed", f"cannot create status cache {directory}: {e}"
            ) from e

    # -- storage -------------------------------------------------------------------------
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

    def _read_index(
        self, sigs: list[tuple[str, _FileSig | None]] | None = None
    ) -> dict[str, dict[str, Any]]:
        """The index; with memory, parsed again only when its file changed (the caller must
        not alter the dict it gets: :meth:`put` works on a copy). ``sigs`` receives the
        signature the index was read under."""
        mem = self._memory
        if mem is None:
            return self._load_index()
        path = os.path.join(self._dir, _INDEX)  # noqa: PTH118 - hot path
        sig = _file_sig(path)
        if sigs is not None:
            sigs.append((path, sig))
        if sig is None:
            return {}
        index = mem.index(sig)
        if index is None:
            index = self._load_index()  # read after the stat: a later change shows next time
            mem.remember_index(sig, index)
        return index

    def _load_index(self) -> dict[str, dict[str, Any]]:
        try:
            raw = (self.directory / _INDEX).read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise StorageError("storage_read_failed", f"cannot read status cache index: {e}") from e
        try:
            obj = parse_json_object(raw, what="status cache index", max_bytes=64 * 1024 * 1024)
        except MalformedError:
            return {}  # a damaged index: lists must be synced again
        entries = obj.get("entries")
        if obj.get("version") != _INDEX_VERSION or not isinstance(entries, dict):
            return {}
        return {k: v for k, v in entries.items() if isinstance(v, dict)}

    def _write_index(self, index: Mapping[str, Any]) -> None:
        body = json.dumps({"version": _INDEX_VERSION, "entries": index}, indent=1, sort_keys=True)
        atomic_write(self.directory / _INDEX, body.encode())

    def _read_file(self, name: str, uri: str) -> bytes | None:
        got = self._read_file_hashed(name, uri)
        return None if got is None else got[0]

    def _read_file_hashed(
        self, name: str, uri: str, sigs: list[tuple[str, _FileSig | None]] | None = None
    ) -> tuple[bytes, str] | None:
        """A cached file and its SHA-256; with memory, read and hashed again only when its
        ``(inode, size, mtime, ctime)`` changed. ``sigs`` receives that signature."""
        mem = self._memory
        sig: _FileSig | None = None
        if mem is not None:
            path = os.path.join(self._dir, name)  # noqa: PTH118 - hot path
            try:
                sig = _file_sig(path)
            except StorageError as e:
                raise StorageError(
                    "storage_read_failed", f"cannot read cached status list {uri}: {e}"
                ) from e
            if sigs is not None:
                sigs.append((path, sig))
            if sig is None:
                return None
            hit = mem.file(name, sig)
            if hit is not None:
                return hit
        try:
            data = (self.directory / name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StorageError(
                "storage_read_failed", f"cannot read cached status list {uri}: {e}"
            ) from e
        digest = _sha(data)
        if mem is not None and sig is not None:
            mem.remember_file(name, sig, data, digest)
        return data, digest

    def put(
        self, uri: str, data: bytes, *, fetched_at: float, admit: AdmitList
    ) -> CachedStatusList:
        """Verify ``data`` with ``admit`` and store it as the current list ``uri`` of the
        organisation that signed it.

        Refused (``StatusError``; what was cached stays):

        * bytes that are not a status list naming ``uri`` (``status_unavailable``);
        * whatever ``admit`` refuses: a bad signature, an untrusted signer, an issue time
          in the future (``status_invalid``);
        * a list issued before the cached one of the same organisation (``status_invalid``:
          a rollback would hide revocations);
        * one more different list with the issue time of the cached one when
          :data:`MAX_TIED` are kept already (``status_invalid``).

        A *different* list with the same issue time as the cached one (an issuer publishing
        twice in one second, or a replay of the earlier of the two) is kept beside it: which
        is newer cannot be told, so checks read both and the most severe status wins (a
        revocation in either counts) until a strictly newer list replaces them. The same
        list again changes nothing.
        """
        if not isinstance(uri, str) or not uri:
            raise StatusError("status_unavailable", "status list URI must be a non-empty string")
        try:
            kind, _ = _peek(uri, data, self.limits)
        except MalformedError as e:
            raise StatusError(
                "status_unavailable", f"fetched status list {uri} is unusable: {e}"
            ) from e
        try:
            admitted = admit(uri, data)
        except StatusError:
            raise
        except MalformedError as e:
            raise StatusError(
                "status_unavailable", f"fetched status list {uri} is unusable: {e}"
            ) from e
        except BlauweKnopError as e:
            raise StatusError("status_invalid", f"fetched status list {uri} refused: {e}") from e
        name = cache_file_name(uri, admitted.issuer)
        digest = hashlib.sha256(data).hexdigest()
        with self._locked():
            index = dict(self._read_index())  # a copy: the remembered one is shared
            meta = index.get(name)
            old = self._read_file_hashed(name, uri)
            if old is not None and meta is not None and meta.get("sha256") == old[1]:
                old_iat = meta.get("issued_at")
                if not isinstance(old_iat, int | float) or isinstance(old_iat, bool):
                    old_iat = float("-inf")
                if admitted.issued_at < old_iat:
                    raise StatusError(
                        "status_invalid",
                        f"fetched status list {uri} (issued {admitted.issued_at:g}) is older "
                        f"than the cached copy (issued {old_iat:g}); refusing the rollback",
                    )
                if admitted.issued_at == old_iat:
                    return self._tie(index, name, meta, uri, data, digest)
            atomic_write(self.directory / name, data)
            old_tied = meta.get("tied", []) if meta is not None else []
            index[name] = {
                "uri": uri,
                "issuer": admitted.issuer,
                "kind": kind,
                "fetched_at": fetched_at,
                "issued_at": admitted.issued_at,
                "sha256": digest,
            }
            self._write_index(index)
            for t in old_tied if isinstance(old_tied, list) else []:
                if isinstance(t, str) and len(t) == 64:
                    with contextlib.suppress(OSError):
                        (self.directory / f"{name}.{t}").unlink()
        return CachedStatusList(uri=uri, issuer=admitted.issuer, data=data, fetched_at=fetched_at)

    def _tie(
        self,
        index: dict[str, dict[str, Any]],
        name: str,
        meta: dict[str, Any],
        uri: str,
        data: bytes,
        digest: str,
    ) -> CachedStatusList:
        tied = [t for t in meta.get("tied", []) if isinstance(t, str)]
        if digest != meta.get("sha256") and digest not in tied:
            if len(tied) >= MAX_TIED:
                raise StatusError(
                    "status_invalid",
                    f"more than {MAX_TIED} different status lists {uri} with one issue time",
                )
            atomic_write(self.directory / f"{name}.{digest}", data)
            tied.append(digest)
            index[name] = {**meta, "tied": tied}
            self._write_index(index)
        cached = self.lookup(uri, issuer=meta["issuer"])
        assert cached is not None  # written above, under the lock
        return cached

    def lookup(self, uri: str, *, issuer: str) -> CachedStatusList | None:
        """The cached raw list ``uri`` signed by ``issuer``, or ``None``."""
        name = cache_file_name(uri, issuer)
        sigs: list[tuple[str, _FileSig | None]] | None = [] if self._memory is not None else None
        got = self._read_file_hashed(name, uri, sigs)
        if got is None:
            return None
        data, data_sha = got
        meta = self._read_index(sigs).get(name, {})
        fetched_at = meta.get("fetched_at")
        consistent = (
            meta.get("uri") == uri
            and meta.get("issuer") == issuer
            and meta.get("sha256") == data_sha
        )
        if (
            not consistent
            or isinstance(fetched_at, bool)
            or not isinstance(fetched_at, int | float)
        ):
            fetched_at = None  # index and file disagree (crash between the two writes)
        tied: list[bytes] = []
        digests = [data_sha]
        for digest in meta.get("tied", []) if consistent else []:
            other = (
                self._read_file_hashed(f"{name}.{digest}", uri, sigs)
                if isinstance(digest, str)
                else None
            )
            if other is None or other[1] != digest:
                # a tied list is missing or altered: no way to know which state is current
                raise StatusError(
                    "status_unavailable", f"a cached copy of status list {uri} is damaged"
                )
            tied.append(other[0])
            digests.append(other[1])
        return CachedStatusList(
            uri=uri,
            issuer=issuer,
            data=data,
            fetched_at=fetched_at,
            tied=tuple(tied),
            _digests=tuple(digests),
            _sigs=tuple(sigs or ()),
        )

    def uris(self) -> list[str]:
        """URIs with a cached list, sorted."""
        out = set()
        for name, meta in self._read_index().items():
            uri = meta.get("uri")
            if isinstance(uri, str) and (self.directory / name).exists():
                out.add(uri)
        return sorted(out)

    # -- online step ---------------------------------------------------------------------
    def sync(
        self, uris: Iterable[str], *, fetch: Callable[[str], bytes], now: float, admit: AdmitList
    ) -> SyncReport:
        """Fetch each URI with ``fetch`` and :meth:`put` it (checked by ``admit``); failures
        are reported, not raised, and leave the previous copy in place.

        ``fetch`` is e.g. :class:`HttpsFetcher` ``()`` or, in tests, a function reading files.
        """
        updated: list[str] = []
        failed: list[SyncFailure] = []
        for uri in dict.fromkeys(uris):
            try:
                data = fetch(uri)
                self.put(uri, data, fetched_at=now, admit=admit)
            except BlauweKnopError as e:
                failed.append(SyncFailure(uri=uri, code=e.code, message=e.message))
            except OSError as e:
                failed.append(SyncFailure(uri=uri, code="status_unavailable", message=str(e)))
            else:
                updated.append(uri)
        return SyncReport(updated=tuple(updated), failed=tuple(failed))

    # -- offline checks ------------------------------------------------------------------
    def _require(self, uri: str, issuer: str) -> CachedStatusList:
        cached = self.lookup(uri, issuer=issuer)
        if cached is None:
            raise StatusError(
                "status_unavailable",
                f"no cached status list {uri} of {issuer}; run the status sync first",
            )
        return cached

    def check_token_status(
        self,
        uri: str,
        idx: int,
        *,
        issuer_key: Key | Sequence[Key],
        expected_issuer: str,
        now: float,
        max_age: float | None = None,
        policy: FreshnessPolicy | None = None,
        x5c_key: Callable[[Any], Key] | None = None,
    ) -> StatusCheck:
        """Status of index ``idx`` in the cached Status List Token for ``uri`` (IETF).

        Args:
            uri, idx: ``status.status_list`` of the credential.
            issuer_key: public key(s) of the credential's issuer (from the trust list).
            expected_issuer: the credential's ``iss``; only that organisation's list for
                ``uri`` is looked at, and the token's ``iss`` must match.
            now: verification time, Unix seconds.
            max_age: caller's bound on the list's age, seconds.
            policy: freshness policy (default: the cache's).
            x5c_key: checks the ``x5c`` chain of a token that carries one (see
                :func:`verify_status_list_token`).

        Raises:
            StatusError: ``revoked``, ``suspended``, ``status_unavailable`` (missing, stale,
                unreadable) or ``status_invalid`` (signature, issuer, ``sub``, index range).
        """
        policy = self.policy if policy is None else policy
        keys: Sequence[Key] = [issuer_key] if isinstance(issuer_key, Key) else list(issuer_key)
        mem = self._memory
        hot_key: tuple[Any, ...] = ()
        if mem is not None:
            hot_key = ("ietf", uri, expected_issuer, tuple((k.kid, k.alg) for k in keys))
            # The hot path: the same files (index, list, tied lists: same signatures) give
            # the same lookup, and the tokens verified from them are remembered whole, so
            # only their times are checked at ``now``; any change on disk misses.
            hit = mem.hot(hot_key)
            if hit is not None:
                sigs, hot_tokens = hit
                if all(_file_sig(path) == sig for path, sig in sigs):
                    return self._token_result(hot_tokens, uri, idx, now, max_age, policy)
        cached = self._require(uri, expected_issuer)
        datas = (cached.data, *cached.tied)
        digests = cached._digests if len(cached._digests) == len(datas) else (None,) * len(datas)
        chain_used: list[bool] = []
        checked = [
            self._token(
                data, digest, keys, uri, expected_issuer, now, max_age, policy, x5c_key, chain_used
            )
            for data, digest in zip(datas, digests, strict=True)
        ]
        tokens = tuple(t for t, _ in checked)
        if mem is not None and cached._sigs and not chain_used:
            # a token whose x5c chain was used is checked in full every time (see _token)
            mem.remember_hot(hot_key, (cached._sigs, tokens))
        return self._token_result(tokens, uri, idx, now, max_age, policy, checked)

    @staticmethod
    def _token_result(
        tokens: Sequence[StatusListToken],
        uri: str,
        idx: int,
        now: float,
        max_age: float | None,
        policy: FreshnessPolicy,
        checked: Sequence[tuple[StatusListToken, float]] | None = None,
    ) -> StatusCheck:
        """The check's answer from verified tokens: fresh at ``now`` (times checked here
        unless ``checked`` has them), and the most severe status of ``idx`` among them."""
        if checked is None:
            fresh = [_fresh_until(t, uri, now, max_age, policy) for t in tokens]
        else:
            fresh = [f for _, f in checked]
        # lists tied on issue time: the most severe status wins (invalid, then suspended)
        if len(tokens) == 1:
            worst = tokens[0].status(idx)
        else:
            worst = max((t.status(idx) for t in tokens), key=_severity)
        check_status_value(worst, uri=uri, idx=idx)
        return StatusCheck(
            uri=uri,
            idx=idx,
            status=0,
            issued_at=tokens[0].issued_at,
            fresh_until=min(fresh),
        )

    def _token(
        self,
        data: bytes,
        digest: str | None,
        keys: Sequence[Key],
        uri: str,
        expected_issuer: str,
        now: float,
        max_age: float | None,
        policy: FreshnessPolicy,
        x5c_key: Callable[[Any], Key] | None = None,
        chain_used: list[bool] | None = None,
    ) -> tuple[StatusListToken, float]:
        """:func:`verify_status_list_token` at ``now`` and when the token goes stale; with
        memory, a token verified before (same bytes, same keys) is not verified again, only
        its times are checked at ``now``. A token whose ``x5c`` chain was used (X.509 roots
        pinned) is never remembered, so every check of it is a full one: the chain's validity
        and revocation depend on ``now`` and the trust list, which the memory does not key
        on. A token without ``x5c`` never reaches ``x5c_key``, so its verification does not
        depend on it and is remembered whether or not ``x5c_key`` is given. ``chain_used``
        receives ``True`` when the chain was used."""
        used_here: list[bool] = []

        def chain_key(x5c: Any) -> Key:
            used_here.append(True)
            if chain_used is not None:
                chain_used.append(True)
            assert x5c_key is not None  # only handed out when given
            return x5c_key(x5c)

        def full() -> StatusListToken:
            return verify_status_list_token(
                data,
                key=keys,
                expected_uri=uri,
                expected_issuer=expected_issuer,
                now=now,
                max_age=max_age,
                policy=policy,
                limits=self.limits,
                x5c_key=None if x5c_key is None else chain_key,
            )

        mem = self._memory
        if mem is None:
            tok = full()
            return tok, tok.fresh_until
        memo_key = (
            "ietf",
            _sha(data) if digest is None else digest,
            tuple((k.kid, k.alg) for k in keys),
            uri,
            expected_issuer,
        )
        known: StatusListToken | None = mem.verified(memo_key)
        if known is None:
            tok = full()  # the slow path, errors and all; only a success is remembered
            if not used_here:
                mem.remember_verified(memo_key, tok)
            return tok, tok.fresh_until
        # everything but the times was checked on these bytes with these keys
        return known, _fresh_until(known, uri, now, max_age, policy)

    def _bitstring(
        self,
        data: bytes,
        digest: str | None,
        memo: BitstringProofMemo | None,
        verify: VerifyDocument,
        entry: BitstringStatusListEntry,
        expected_issuer: str,
        now: float,
        max_age: float | None,
        policy: FreshnessPolicy,
        min_entries: int,
        remembered: list[tuple[VerifiedBitstringStatusList, dict[str, Any]]] | None = None,
    ) -> VerifiedBitstringStatusList:
        """:func:`verify_bitstring_status_list_credential` of ``data``, or with memory and a
        ``memo`` the one remembered for these bytes, checked at ``now`` (``remembered``
        receives what was verified or remembered, for the hot path)."""
        uri = entry.status_list_credential

        def full() -> VerifiedBitstringStatusList:
            return verify_bitstring_status_list_credential(
                data,
                verify=verify,
                expected_uri=uri,
                expected_issuer=expected_issuer,
                status_purpose=entry.status_purpose,
                now=now,
                max_age=max_age,
                policy=policy,
                min_entries=min_entries,
                limits=self.limits,
            )

        mem = self._memory
        if mem is None or memo is None:
            return full()
        memo_key = (
            "w3c",
            _sha(data) if digest is None else digest,
            memo.key,
            uri,
            expected_issuer,
            entry.status_purpose,
            min_entries,
        )
        hit: tuple[VerifiedBitstringStatusList, dict[str, Any]] | None = mem.verified(memo_key)
        if hit is None:
            verified = full()
            doc = parse_json_object(data, what="status list credential", max_bytes=len(data))
            mem.remember_verified(memo_key, (verified, doc))
            if remembered is not None:
                remembered.append((verified, doc))
            return verified
        if remembered is not None:
            remembered.append(hit)
        return self._bitstring_at(hit, memo, uri, now, max_age, policy)

    @staticmethod
    def _bitstring_at(
        hit: tuple[VerifiedBitstringStatusList, dict[str, Any]],
        memo: BitstringProofMemo,
        uri: str,
        now: float,
        max_age: float | None,
        policy: FreshnessPolicy,
    ) -> VerifiedBitstringStatusList:
        """A remembered verified list checked at ``now``: its proof's own time checks and the
        list's freshness (everything else was checked on these bytes with these keys)."""
        verified, doc = hit
        # on the remembered document itself (no deep copy per check: ``recheck`` only reads it)
        run_verify(lambda d: memo.recheck(d, now), doc, copy=False)
        fresh_until = check_list_times(
            fresh=True,
            now=now,
            issued_at=verified.valid_from,
            expires_at=verified.valid_until,
            ttl=verified.ttl,
            policy=policy,
            max_age=max_age,
            what=f"status list {uri}",
        )
        return dataclasses.replace(verified, fresh_until=fresh_until)

    def check_bitstring_status(
        self,
        entry: BitstringStatusListEntry,
        *,
        verify: VerifyDocument,
        expected_issuer: str,
        now: float,
        max_age: float | None = None,
        policy: FreshnessPolicy | None = None,
        min_entries: int = MIN_BITSTRING_ENTRIES,
        verified_as: BitstringProofMemo | None = None,
    ) -> StatusCheck:
        """Status of a W3C ``BitstringStatusListEntry`` against the cached status list
        credential of ``expected_issuer``; ``verify(document) -> issuer id`` checks its
        proof. Same error codes as :meth:`check_token_status`.

        ``verified_as`` lets the store remember a verified list (see
        :class:`BitstringProofMemo`); without it every check runs ``verify``."""
        uri = entry.status_list_credential
        pol = self.policy if policy is None else policy
        mem = self._memory
        hot_key: tuple[Any, ...] | None = None
        if mem is not None and verified_as is not None:
            # the hot path of check_token_status, for remembered verified credentials
            hot_key = ("w3c", uri, expected_issuer, verified_as.key, entry.status_purpose)
            hot_key += (min_entries,)
            hit = mem.hot(hot_key)
            if hit is not None:
                sigs, kept = hit
                if all(_file_sig(path) == sig for path, sig in sigs):
                    return self._bitstring_result(
                        entry,
                        [self._bitstring_at(h, verified_as, uri, now, max_age, pol) for h in kept],
                    )
        cached = self._require(uri, expected_issuer)
        datas = (cached.data, *cached.tied)
        digests = cached._digests if len(cached._digests) == len(datas) else (None,) * len(datas)
        remembered: list[tuple[VerifiedBitstringStatusList, dict[str, Any]]] = []
        lists = [
            self._bitstring(
                data,
                digest,
                verified_as,
                verify,
                entry,
                expected_issuer,
                now,
                max_age,
                pol,
                min_entries,
                remembered,
            )
            for data, digest in zip(datas, digests, strict=True)
        ]
        if (
            mem is not None
            and hot_key is not None
            and cached._sigs
            and len(remembered) == len(lists)
        ):
            mem.remember_hot(hot_key, (cached._sigs, tuple(remembered)))
        return self._bitstring_result(entry, lists)

    @staticmethod
    def _bitstring_result(
        entry: BitstringStatusListEntry, lists: Sequence[VerifiedBitstringStatusList]
    ) -> StatusCheck:
        """The check's answer from verified, fresh lists (tied lists: a set bit in any of
        them counts)."""
        for verified in lists:
            check_bitstring_status(entry, verified)
        return StatusCheck(
            uri=entry.status_list_credential,
            idx=entry.status_list_index,
            status=0,
            issued_at=lists[0].valid_from,
            fresh_until=min(v.fresh_until for v in lists),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class BitstringProofMemo:
    """How a store may remember bitstring status list credentials that a ``verify`` callable
    accepted: ``key`` names everything the proof check depends on except the time (e.g. the
    organisation and its keys), and ``recheck(document, now)`` re-runs the time checks that
    ``verify`` makes (proof ``created``/``expires``, ``validFrom``/``validUntil``), raising
    what ``verify`` would raise. ``recheck`` gets the remembered document itself and must
    only read it."""

    key: tuple[Any, ...]
    recheck: Callable[[Mapping[str, Any], float], None]


def _fresh_until(
    tok: StatusListToken, uri: str, now: float, max_age: float | None, policy: FreshnessPolicy
) -> float:
    """:func:`check_fresh` of a verified token at ``now``: when it goes stale, or raise."""
    return check_fresh(
        now=now,
        issued_at=tok.issued_at,
        expires_at=tok.expires_at,
        ttl=tok.ttl,
        policy=policy,
        max_age=max_age,
        what=f"status list {uri}",
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _severity(value: int) -> int:
    """Order of IETF status values when tied lists disagree: VALID < SUSPENDED < the rest
    (INVALID and values we do not know, which :func:`check_status_value` refuses)."""
    return {0: 0, 2: 1}.get(value, 2)
