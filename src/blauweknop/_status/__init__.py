"""Status lists: IETF Token Status List, W3C Bitstring Status List, and the verifier's cache.

Two standards, two bit orders (specs/status-lists.md): the IETF list packs entries from the least
significant bit of each byte, the W3C bitstring puts index 0 at the most significant bit.
Each format has its own helpers in :mod:`._bits`; never share them.

* :mod:`._ietf` — :class:`StatusList`, Status List Token (``statuslist+jwt``) sign/verify.
* :mod:`._bitstring` — :class:`BitstringStatusList`, the W3C bitstring and its encoding.
* :mod:`._w3c` — :class:`BitstringStatusListEntry`, the ``BitstringStatusListCredential``
  builder and validator (proofs injected as callables).
* :mod:`._cache` — :class:`StatusListStore`: offline checks, and ``sync`` for whoever is online.
* :mod:`._admission` — :func:`list_admission`, what a list must pass to enter the cache.
* :mod:`._fetch` — :class:`HttpsFetcher`, the ``urllib`` fetcher for ``sync``.

Example:
    >>> sl = StatusList(8, bits=2)
    >>> sl.set(1, StatusType.SUSPENDED)
    >>> StatusList.from_json(sl.to_json()).get(1)
    2
"""

from ._cache import (
    AdmitList,
    AdmittedList,
    CachedStatusList,
    StatusCheck,
    StatusListLookup,
    StatusListStore,
    SyncFailure,
    SyncReport,
    cache_file_name,
    list_admission,
)
from ._fetch import HttpsFetcher
from ._freshness import DEFAULT_FRESHNESS, DEFAULT_MAX_AGE, FreshnessPolicy, check_fresh
from ._ietf import (
    STATUS_LIST_JWT_TYP,
    STATUS_LIST_MEDIA_TYPE,
    StatusList,
    StatusListToken,
    StatusType,
    check_status_value,
    max_status_token_bytes,
    sign_status_list_token,
    verify_status_list_token,
)
from ._w3c import (
    BITSTRING_STATUS_LIST_CREDENTIAL,
    MIN_BITSTRING_ENTRIES,
    STATUS_PURPOSES,
    VC_V2_CONTEXT,
    BitstringStatusList,
    BitstringStatusListEntry,
    VerifiedBitstringStatusList,
    build_bitstring_status_list_credential,
    check_bitstring_status,
    verify_bitstring_status_list_credential,
)

__all__ = [
    "BITSTRING_STATUS_LIST_CREDENTIAL",
    "DEFAULT_FRESHNESS",
    "DEFAULT_MAX_AGE",
    "MIN_BITSTRING_ENTRIES",
    "STATUS_LIST_JWT_TYP",
    "STATUS_LIST_MEDIA_TYPE",
    "STATUS_PURPOSES",
    "VC_V2_CONTEXT",
    "AdmitList",
    "AdmittedList",
    "BitstringStatusList",
    "BitstringStatusListEntry",
    "CachedStatusList",
    "FreshnessPolicy",
    "HttpsFetcher",
    "StatusCheck",
    "StatusList",
    "StatusListLookup",
    "StatusListStore",
    "StatusListToken",
    "StatusType",
    "SyncFailure",
    "SyncReport",
    "VerifiedBitstringStatusList",
    "build_bitstring_status_list_credential",
    "cache_file_name",
    "check_bitstring_status",
    "check_fresh",
    "check_status_value",
    "list_admission",
    "max_status_token_bytes",
    "sign_status_list_token",
    "verify_bitstring_status_list_credential",
    "verify_status_list_token",
]
