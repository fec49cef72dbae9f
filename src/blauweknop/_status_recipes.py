"""The verifier's status cache, wired to the trust list: the offline status source of
:class:`~blauweknop.Verifier` and :class:`~blauweknop.Wallet`.

Lists get into the cache by an explicit sync step (HTTPS for whoever is online, or files
copied from a published directory), and only after their signature, signer (an organisation
of the trust list, which the list names as its issuer) and issue time are checked; each list
is filed under its URI and its signer. Verification only reads the cache.

Example:
    >>> import tempfile
    >>> cache = StatusCache(tempfile.mkdtemp())
    >>> cache.uris()
    []
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ._codec import parse_json_object
from ._errors import BlauweKnopError, MalformedError, StatusError, StorageError
from ._jws import parse_compact
from ._keys import Key
from ._limits import DEFAULT_LIMITS, Limits
from ._status import (
    DEFAULT_FRESHNESS,
    AdmitList,
    CachedStatusList,
    FreshnessPolicy,
    SyncReport,
    list_admission,
)
from ._status import StatusListStore as _BaseCache
from ._status._cache import DEFAULT_MEMORY, BitstringProofMemo
from ._status._w3c import BitstringStatusListEntry, VerifyDocument
from ._trust import TrustedOrganisation, TrustList
from .formats.w3c_di import status_credential_verifier

__all__ = ["StatusCache", "status_list_uri", "sync_status"]


def status_list_uri(data: bytes) -> str:
    """The URI a published list names itself by: ``sub`` of a status list token, ``id`` of a
    bitstring status list credential. Unverified: the cache re-checks at verification."""
    text = data.strip()
    try:
        if text.startswith(b"{"):
            uri = parse_json_object(text, what="status list credential").get("id")
        else:
            uri = parse_compact(text.decode("ascii"), allow_x5c=True).payload_json().get("sub")
    except (BlauweKnopError, UnicodeDecodeError) as e:
        raise StatusError("status_unavailable", f"not a status list: {e}") from e
    if not isinstance(uri, str) or not uri:
        raise StatusError("status_unavailable", "status list does not name its URI")
    return uri


class StatusCache(_BaseCache):
    """A directory of cached status lists, checked against the trust list when they enter
    (:meth:`put`, :meth:`import_file`, :meth:`sync`) and against the credential issuer's
    trust-list keys at verification time (never fetched then).

    Args:
        directory: the cache directory (created when missing).
        trust_list: the verified trust list that admits lists; needed only to add lists
            (it may also be passed to each call). A verifier that only reads needs none.
        limits: size bounds.
        policy: the freshness policy (default: ttl clamped to 60 s .. 24 h, at most a day
            old, all counted from the list's own issue time).
        memory: how many verified lists are kept decoded in memory (default 128): a list is
            verified once when first used and again only when its file changes; its times
            are checked at every verification. ``0`` reads and verifies at every check.

    Implements the verifier's ``StatusSource``: a missing or stale list is
    ``status_unavailable``, a list signed by another organisation than the credential's
    issuer is never looked at, revoked/suspended entries are ``revoked``/``suspended``.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        trust_list: TrustList | None = None,
        limits: Limits = DEFAULT_LIMITS,
        policy: FreshnessPolicy = DEFAULT_FRESHNESS,
        memory: int = DEFAULT_MEMORY,
    ) -> None:
        super().__init__(directory, limits=limits, policy=policy, memory=memory)
        self.trust_list = trust_list

    def admission(self, trust_list: TrustList | None = None, *, now: float) -> AdmitList:
        """The check a list must pass to enter the cache: signed by a key of the
        organisation it names as issuer, that organisation listed (and active at ``now``)
        in ``trust_list`` (default: the cache's), its URI its own, not issued in the future.
        """
        tl = trust_list if trust_list is not None else self.trust_list
        if tl is None:
            raise StatusError(
                "status_unavailable",
                "a trust list is needed to verify status lists before they are cached",
            )

        def keys_for(org_id: str) -> list[Key]:
            return list(dict.fromkeys(tl.organisation(org_id, now=now).keys.values()))

        def verifier_for(org_id: str) -> VerifyDocument:
            return status_credential_verifier(tl.organisation(org_id, now=now), now)

        def x5c_key_for(org_id: str) -> Callable[[Any], Key]:
            org = tl.organisation(org_id, now=now)
            return lambda x5c: org.resolve_x5c(x5c, now=now)

        return list_admission(
            keys_for=keys_for,
            verifier_for=verifier_for,
            x5c_key_for=x5c_key_for,
            now=now,
            policy=self.policy,
            limits=self.limits,
        )

    def put(
        self,
        uri: str,
        data: bytes,
        *,
        fetched_at: float,
        admit: AdmitList | None = None,
        trust_list: TrustList | None = None,
        now: float | None = None,
    ) -> CachedStatusList:
        """Verify ``data`` against the trust list (``trust_list`` or the cache's; checked as
        of ``now``, default ``fetched_at``) and store it; see the base class for what is
        refused.

        >>> import tempfile
        >>> try:
        ...     StatusCache(tempfile.mkdtemp()).put("https://x/1.jwt", b"x", fetched_at=0)
        ... except StatusError as e:
        ...     e.code
        'status_unavailable'
        """
        if admit is None:
            admit = self.admission(trust_list, now=fetched_at if now is None else now)
        return super().put(uri, data, fetched_at=fetched_at, admit=admit)

    def sync(
        self,
        uris: Iterable[str],
        *,
        fetch: Callable[[str], bytes],
        now: float,
        admit: AdmitList | None = None,
        trust_list: TrustList | None = None,
    ) -> SyncReport:
        """Fetch and :meth:`put` each URI, checked against the trust list as of ``now``."""
        if admit is None:
            admit = self.admission(trust_list, now=now)
        return super().sync(uris, fetch=fetch, now=now, admit=admit)

    def token_status(self, uri: str, idx: int, *, issuer: TrustedOrganisation, now: float) -> str:
        """Check an SD-JWT VC ``status.status_list`` entry (IETF Token Status List)."""
        keys = list(dict.fromkeys(issuer.keys.values()))
        self.check_token_status(
            uri,
            idx,
            issuer_key=keys,
            expected_issuer=issuer.id,
            now=now,
            x5c_key=lambda x5c: issuer.resolve_x5c(x5c, now=now),
        )
        return "valid"

    def bitstring_status(
        self, entry: Mapping[str, Any], *, issuer: TrustedOrganisation, now: float
    ) -> str:
        """Check a W3C ``BitstringStatusListEntry`` against its cached status list credential."""
        try:
            parsed = BitstringStatusListEntry.from_claims(entry)
        except BlauweKnopError as e:
            raise StatusError("status_invalid", f"credentialStatus: {e.message}") from e
        self.check_bitstring_status(
            parsed,
            verify=status_credential_verifier(issuer, now),
            expected_issuer=issuer.id,
            now=now,
            verified_as=BitstringProofMemo(
                # the proof check depends on the organisation's keys by kid, and on the time
                key=(
                    "di",
                    issuer.id,
                    tuple(sorted((kid, k.kid) for kid, k in issuer.keys.items())),
                ),
                recheck=_proof_times,
            ),
        )
        return "valid"

    def import_file(
        self,
        path: str | os.PathLike[str],
        *,
        fetched_at: float | None = None,
        trust_list: TrustList | None = None,
        now: float | None = None,
    ) -> str:
        """Import one published list file under the URI it names, after the checks of
        :meth:`put`; returns the URI."""
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise StorageError("file_unreadable", f"cannot read {path}: {e.strerror}") from e
        uri = status_list_uri(data)
        at = time.time() if fetched_at is None else fetched_at
        self.put(uri, data, fetched_at=at, trust_list=trust_list, now=now)
        return uri


def _proof_times(document: Mapping[str, Any], now: float) -> None:
    """The time checks ``status_credential_verifier`` makes inside the proof check (proof
    ``created``/``expires``, ``validFrom``/``validUntil``, default leeway), for a status list
    credential whose proof verified earlier."""
    from ._di._proof import _check_times

    proof = document.get("proof")
    if not isinstance(proof, Mapping):  # pragma: no cover - it verified
        raise StatusError("status_invalid", "status list credential has no proof")
    _check_times(document, proof, now, 60)


def sync_status(
    directory: str | os.PathLike[str],
    *,
    trust_list: TrustList,
    uris: Iterable[str] = (),
    from_dir: str | os.PathLike[str] | None = None,
    now: float | None = None,
) -> list[str]:
    """The explicit online step: fetch ``uris`` over HTTPS and/or import every list file of
    ``from_dir`` into the cache at ``directory``, each checked against ``trust_list`` first.
    Returns the URIs cached; a failure leaves the previous copy in place and raises
    ``StatusError`` naming every failed URI."""
    cache = StatusCache(directory, trust_list=trust_list)
    now = time.time() if now is None else now
    done: list[str] = []
    failures: list[str] = []
    if from_dir is not None:
        for f in sorted(Path(from_dir).iterdir()):
            if not f.is_file() or f.name.startswith(".") or f.suffix not in (".jwt", ".json"):
                continue
            if f.name == "batch-report.json":
                continue
            try:
                done.append(cache.import_file(f, fetched_at=now))
            except (StatusError, MalformedError) as e:
                failures.append(f"{f.name}: {e.message}")
    uri_list = list(uris)
    if uri_list:
        from ._status import HttpsFetcher

        report = cache.sync(uri_list, fetch=HttpsFetcher(), now=now)
        done.extend(report.updated)
        failures.extend(f"{f.uri}: {f.message}" for f in report.failed)
    if failures:
        raise StatusError("status_unavailable", "sync failed for " + "; ".join(failures))
    return done
