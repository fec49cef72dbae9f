"""Admission of a fetched status list into the verifier's cache (specs/status-lists.md).

Nothing enters the cache unverified. :func:`list_admission` builds the ``admit`` check that
:meth:`StatusListStore.put <._cache.StatusListStore.put>` runs on fetched bytes: the list names its
issuer, is signed by that issuer's key from the trust list (IETF Token Status List, section
"Validation Rules"; W3C Bitstring Status List section 3.2 with the proof check injected),
names itself by the URI it is stored under, and is not issued in the future. Freshness is
left to verification time, so an admitted list can still be refused later as stale.

Example:
    >>> from blauweknop._keys import Key
    >>> from blauweknop._status._ietf import StatusList, sign_status_list_token
    >>> k, uri = Key.generate(), "https://ex.nl/status/1.jwt"
    >>> tok = sign_status_list_token(StatusList(16, 2), uri=uri, issuer="urn:oin:1",
    ...                              signer=k, now=0, ttl=600)
    >>> admit = list_admission(keys_for={"urn:oin:1": [k]}.__getitem__, now=0)
    >>> admit(uri, tok.encode()).issuer
    'urn:oin:1'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._codec import parse_json_object
from .._errors import MalformedError, StatusError
from .._jws import parse_compact
from .._keys import Key
from .._limits import DEFAULT_LIMITS, Limits
from ._freshness import DEFAULT_FRESHNESS, FreshnessPolicy
from ._ietf import STATUS_LIST_JWT_TYP, max_status_token_bytes, verify_status_list_token
from ._w3c import VerifyDocument, verify_bitstring_status_list_credential

__all__ = ["AdmitList", "AdmittedList", "list_admission"]


@dataclass(frozen=True, kw_only=True, slots=True)
class AdmittedList:
    """What an admission check established about a list before it enters the cache.

    Attributes:
        kind: ``"jwt"`` (Status List Token) or ``"vc"`` (bitstring status list credential).
        issuer: the organisation whose key signed it (and which the list names as issuer).
        issued_at: its own ``iat`` / ``validFrom``, not in the future.
    """

    kind: str
    issuer: str
    issued_at: float


#: ``admit(uri, data) -> AdmittedList``: verifies a fetched list before it is cached; raises
#: ``StatusError`` (or another ``BlauweKnopError``) to keep it out.
AdmitList = Callable[[str, bytes], AdmittedList]


def _peek(uri: str, data: bytes, limits: Limits) -> tuple[str, dict[str, Any]]:
    """Unverified sanity check of fetched bytes: kind (``jwt``/``vc``), the (unverified)
    claims or document, and that the list names itself ``uri`` (the credential's ``id``, the
    token's ``sub``). Keeps error pages and swapped lists away from the (costlier) signature
    check."""
    max_bytes = max_status_token_bytes(limits)
    if len(data) > max_bytes:
        raise MalformedError("too_large", f"status list is larger than {max_bytes} bytes")
    body: bytes | str
    if data.lstrip().startswith(b"{"):
        kind, body, what, member, label = "vc", data, "credential", "id", "document id"
    else:
        try:
            token = data.decode("ascii").strip()
        except UnicodeDecodeError as e:
            raise MalformedError("malformed_status_list", "status list token is not ASCII") from e
        parsed = parse_compact(
            token, typ=STATUS_LIST_JWT_TYP, limits=limits, max_bytes=max_bytes, allow_x5c=True
        )
        kind, body, what, member, label = "jwt", parsed.payload, "token", "sub", "token sub"
    claims = parse_json_object(body, limits=limits, what=f"status list {what}", max_bytes=max_bytes)
    if claims.get(member) != uri:
        raise MalformedError(
            "malformed_status_list", f"{label} {claims.get(member)!r} is not {uri!r}"
        )
    return kind, claims


def _named_issuer(kind: str, claims: Mapping[str, Any]) -> str:
    iss = claims.get("iss") if kind == "jwt" else claims.get("issuer")
    if kind == "vc" and isinstance(iss, Mapping):
        iss = iss.get("id")
    if not isinstance(iss, str) or not iss:
        raise StatusError("status_invalid", "the status list does not name its issuer")
    return iss


def list_admission(
    *,
    keys_for: Callable[[str], Sequence[Key]],
    verifier_for: Callable[[str], VerifyDocument] | None = None,
    x5c_key_for: Callable[[str], Callable[[Any], Key]] | None = None,
    now: float,
    policy: FreshnessPolicy = DEFAULT_FRESHNESS,
    limits: Limits = DEFAULT_LIMITS,
) -> AdmitList:
    """An ``admit`` check for :meth:`StatusListStore.put`: the list names an issuer, is signed by
    that issuer's key, names itself by the URI it is stored under, and is not issued in the
    future (``status_invalid`` otherwise). Freshness is left to verification time.

    Args:
        keys_for: the public keys of an organisation id (e.g. from the trust list); raises
            (``TrustError``, ``LookupError``) for an organisation that is not trusted.
        verifier_for: ``verifier_for(issuer)`` gives the Data Integrity check of that
            organisation's bitstring status list credentials (``None``: W3C lists refused).
        x5c_key_for: ``x5c_key_for(issuer)`` checks a token's ``x5c`` chain for that
            organisation (``TrustedOrganisation.resolve_x5c``); ``None``: x5c refused.
        now: the admission time (Unix seconds).
    """

    def admit(uri: str, data: bytes) -> AdmittedList:
        kind, claims = _peek(uri, data, limits)
        issuer = _named_issuer(kind, claims)
        try:
            if kind == "jwt":
                keys = list(keys_for(issuer))
            elif verifier_for is None:
                raise StatusError("status_invalid", "no verifier for W3C status lists")
            else:
                verify = verifier_for(issuer)
        except LookupError as e:
            raise StatusError("status_invalid", f"{issuer!r} is not a trusted issuer") from e
        if kind == "jwt":
            token = verify_status_list_token(
                data,
                key=keys,
                expected_uri=uri,
                expected_issuer=issuer,
                now=now,
                policy=policy,
                limits=limits,
                fresh=False,
                x5c_key=None if x5c_key_for is None else x5c_key_for(issuer),
            )
            return AdmittedList(kind=kind, issuer=issuer, issued_at=float(token.issued_at))
        verified = verify_bitstring_status_list_credential(
            data,
            verify=verify,
            expected_uri=uri,
            expected_issuer=issuer,
            status_purpose=None,
            now=now,
            policy=policy,
            min_entries=0,
            limits=limits,
            fresh=False,
        )
        return AdmittedList(kind=kind, issuer=issuer, issued_at=verified.valid_from)

    return admit
