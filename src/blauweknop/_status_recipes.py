"""The verifier's status cache, wired to the trust list: the offline status source of
:class:`~blauweknop.Verifier` and :class:`~blauweknop.Wallet`.

Lists get into the cache by an explicit sync step (HTTPS for whoever is online, or files
copied from a published directory); verification only reads the cache.

Example:
    >>> import tempfile
    >>> cache = StatusCache(tempfile.mkdtemp())
    >>> cache.uris()
    []
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ._codec import parse_json_object
from ._errors import BlauweKnopError, MalformedError, StatusError, StorageError
from ._jws import parse_compact
from ._status import StatusCache as _BaseCache
from ._status._w3c import BitstringStatusListEntry
from ._trust import TrustedOrganisation

__all__ = ["StatusCache", "status_list_uri", "sync_status"]


def status_list_uri(data: bytes) -> str:
    """The URI a published list names itself by: ``sub`` of a status list token, ``id`` of a
    bitstring status list credential. Unverified: the cache re-checks at verification."""
    text = data.strip()
    try:
        if text.startswith(b"{"):
            uri = parse_json_object(text, what="status list credential").get("id")
        else:
            uri = parse_compact(text.decode("ascii")).payload_json().get("sub")
    except (BlauweKnopError, UnicodeDecodeError) as e:
        raise StatusError("status_unavailable", f"not a status list: {e}") from e
    if not isinstance(uri, str) or not uri:
        raise StatusError("status_unavailable", "status list does not name its URI")
    return uri


class StatusCache(_BaseCache):
    """A directory of cached status lists, checked against the credential issuer's trust-list
    keys at verification time (never fetched then).

    Implements the verifier's ``StatusSource``: a missing or stale list is
    ``status_unavailable``, a list signed by another organisation than the credential's
    issuer is ``status_invalid``, revoked/suspended entries are ``revoked``/``suspended``.
    """

    def token_status(self, uri: str, idx: int, *, issuer: TrustedOrganisation, now: float) -> str:
        """Check an SD-JWT VC ``status.status_list`` entry (IETF Token Status List)."""
        keys = list(dict.fromkeys(issuer.keys.values()))
        self.check_token_status(uri, idx, issuer_key=keys, expected_issuer=issuer.id, now=now)
        return "valid"

    def bitstring_status(
        self, entry: Mapping[str, Any], *, issuer: TrustedOrganisation, now: float
    ) -> str:
        """Check a W3C ``BitstringStatusListEntry`` against its cached status list credential."""
        from ._di_recipes import status_credential_verifier

        try:
            parsed = BitstringStatusListEntry.from_claims(entry)
        except BlauweKnopError as e:
            raise StatusError("status_invalid", f"credentialStatus: {e.message}") from e
        self.check_bitstring_status(
            parsed,
            verify=status_credential_verifier(issuer, now),
            expected_issuer=issuer.id,
            now=now,
        )
        return "valid"

    def import_file(self, path: str | os.PathLike[str], *, fetched_at: float | None = None) -> str:
        """Import one published list file under the URI it names; returns the URI."""
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise StorageError("file_unreadable", f"cannot read {path}: {e.strerror}") from e
        uri = status_list_uri(data)
        self.put(uri, data, fetched_at=time.time() if fetched_at is None else fetched_at)
        return uri


def sync_status(
    directory: str | os.PathLike[str],
    *,
    uris: Iterable[str] = (),
    from_dir: str | os.PathLike[str] | None = None,
    now: float | None = None,
) -> list[str]:
    """The explicit online step: fetch ``uris`` over HTTPS and/or import every list file of
    ``from_dir`` into the cache at ``directory``. Returns the URIs cached; a failure leaves
    the previous copy in place and raises ``StatusError`` naming every failed URI."""
    cache = StatusCache(directory)
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
