"""The verification rules both encodings share, written once.

* :func:`resolve_issuer`: the issuer is in the trust list (active at ``now``) and holds a
  role the credential type demands.
* :func:`check_validity_window`: one definition of the edges (``specs/validity.md``):
  a credential is valid while ``valid_from - leeway <= now < valid_until + leeway``, so it is
  expired from the moment ``now == valid_until + leeway`` (RFC 7519 4.1.4: "on or after"),
  and not yet valid while ``now + leeway < valid_from``.
* :func:`check_presentation_age`: the holder's proof (KB-JWT ``iat``, DI ``created``) is at
  most ``max_age`` seconds old (``presentation_too_old``) and at most ``leeway`` seconds in
  the future (``presentation_in_future``).
* :func:`unify_holder_binding`: one vocabulary for the nonce and the audience.
* :func:`status_state` / :func:`status_known`: the fail-closed status rule, for the verifier
  and for the wallet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from .._errors import HolderBindingError, StatusError, ValidityError
from .._profile import CredentialProfile
from .._trust import TrustedOrganisation, TrustList
from ._base import StatusSource

__all__ = [
    "check_presentation_age",
    "check_validity_window",
    "resolve_issuer",
    "status_known",
    "status_state",
    "unify_holder_binding",
]

#: Codes a format's core library uses for what the verifier calls nonce and audience.
_UNIFIED = {
    "challenge_mismatch": "nonce_mismatch",
    "domain_mismatch": "audience_mismatch",
    # The verifier asks the SD-JWT core for no age bound, so its only ``key_binding_iat`` is
    # a KB-JWT without a usable ``iat``: the same defect as a W3C proof without ``created``.
    "key_binding_iat": "presentation_time_missing",
    "proof_created_missing": "presentation_time_missing",
}


def resolve_issuer(
    trust_list: TrustList, issuer_id: str, profile: CredentialProfile, *, now: float
) -> TrustedOrganisation:
    """The trusted organisation ``issuer_id``, holding a role ``profile`` accepts
    (``TrustError("untrusted_issuer")``, ``PolicyError("issuer_role")``)."""
    org = trust_list.organisation(issuer_id, now=now)
    profile.check_issuer_roles(org.roles, issuer_id)
    return org


def check_validity_window(
    valid_from: float | None, valid_until: float | None, *, now: float, leeway: int
) -> None:
    """Raise ``ValidityError("expired")`` when ``now >= valid_until + leeway`` and
    ``ValidityError("not_yet_valid")`` when ``now + leeway < valid_from``."""
    if valid_until is not None and now >= valid_until + leeway:
        raise ValidityError("expired", "credential has expired")
    if valid_from is not None and now + leeway < valid_from:
        raise ValidityError("not_yet_valid", "credential is not valid yet")


def check_presentation_age(created: float, *, now: float, max_age: int, leeway: int) -> None:
    """The holder signed the presentation at ``created``: not more than ``max_age`` seconds
    ago (``HolderBindingError("presentation_too_old")``) and not more than ``leeway``
    seconds ahead (``HolderBindingError("presentation_in_future")``)."""
    if created > now + leeway:
        raise HolderBindingError("presentation_in_future", "the presentation is dated ahead")
    if created < now - max_age:
        raise HolderBindingError("presentation_too_old", "the presentation is too old")


def unify_holder_binding(e: HolderBindingError) -> NoReturn:
    """Re-raise a core library's holder-binding error in the verifier's vocabulary (e.g. a
    missing presentation time is ``presentation_time_missing`` in both encodings)."""
    if e.code in _UNIFIED:
        raise HolderBindingError(_UNIFIED[e.code], e.message) from e
    raise e


def status_state(
    has_reference: bool,
    lookup: Callable[[StatusSource], None],
    source: StatusSource | None,
    *,
    allow_missing: bool,
) -> str:
    """The verifier's fail-closed rule: ``"valid"`` when the lookup succeeds; no reference,
    no source or an unavailable list is ``StatusError("status_unavailable")`` unless
    ``allow_missing`` (then ``"not_checked"``); revoked, suspended, invalid always raise."""
    if not has_reference:
        if allow_missing:
            return "not_checked"
        raise StatusError("status_unavailable", "credential carries no status reference")
    if source is None:
        if allow_missing:
            return "not_checked"
        raise StatusError("status_unavailable", "no status source configured")
    try:
        lookup(source)
    except StatusError as e:
        if e.code == "status_unavailable" and allow_missing:
            return "not_checked"
        raise
    return "valid"


def status_known(lookup: Callable[[], None]) -> bool:
    """The wallet's rule: revoked or suspended raise; ``True`` when valid, ``False`` when the
    status cannot be known now (the verifier decides at presentation time)."""
    try:
        lookup()
    except StatusError as e:
        if e.code in ("revoked", "suspended"):
            raise
        return False
    return True
