"""The W3C encoding's functions with the issuer given as one object, as many tests call them.

The library's :mod:`blauweknop.formats.w3c_di` takes a signer and an issuer id (never a recipe
object); these wrappers pass an ``Issuer``'s (or anything with ``signer`` and ``issuer_id``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from blauweknop import CredentialProfile, Key, Signer
from blauweknop.formats import w3c_di
from blauweknop.formats.w3c_di import mandatory_pointers, present_di, status_credential_verifier

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
    """``w3c_di.issue_di_credential`` with ``issuer``'s key and id."""
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
    """``w3c_di.bitstring_signer`` with ``issuer``'s key and id."""
    return w3c_di.bitstring_signer(issuer.signer, issuer.issuer_id)
