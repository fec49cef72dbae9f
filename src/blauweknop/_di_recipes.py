"""Deprecated: the W3C encoding moved to :mod:`blauweknop.formats.w3c_di`.

Kept only so older callers (and tests written against it) keep working; nothing in
``blauweknop`` imports this module. The two functions that took a whole ``Issuer`` take
anything with ``signer`` and ``issuer_id`` and pass those on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from ._keys import Key, Signer
from ._profile import CredentialProfile
from .formats import w3c_di
from .formats.w3c_di import mandatory_pointers, present_di, status_credential_verifier

__all__ = [
    "bitstring_signer",
    "issue_di_credential",
    "mandatory_pointers",
    "present_di",
    "status_credential_verifier",
]


class _HasSigner(Protocol):
    signer: Signer
    issuer_id: str


def issue_di_credential(
    issuer: _HasSigner,
    profile: CredentialProfile,
    claims: Mapping[str, Any],
    *,
    holder: Key,
    iat: int,
    nbf: int | None,
    exp: int,
    status: Sequence[Mapping[str, Any]],
) -> str:
    """:func:`blauweknop.formats.w3c_di.issue_di_credential` with ``issuer``'s key and id."""
    return w3c_di.issue_di_credential(
        profile,
        claims,
        signer=issuer.signer,
        issuer_id=issuer.issuer_id,
        holder=holder,
        iat=iat,
        nbf=nbf,
        exp=exp,
        status=status,
    )


def bitstring_signer(issuer: _HasSigner) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """:func:`blauweknop.formats.w3c_di.bitstring_signer` with ``issuer``'s key and id."""
    return w3c_di.bitstring_signer(issuer.signer, issuer.issuer_id)
