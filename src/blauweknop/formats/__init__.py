"""The format layer: one :class:`CredentialFormat` protocol, two encodings.

* :data:`SD_JWT_VC` (``dc+sd-jwt``, :mod:`.sd_jwt_vc`): SD-JWT VC, the default;
* :data:`W3C_DI` (``ldp_vc``, :mod:`.w3c_di`): W3C VC 2.0 with an ``ecdsa-sd-2023`` proof.

The recipes (``Issuer``, ``Wallet``, ``Verifier``) look formats up in :data:`FORMATS` and never
branch on a format string. Adding a third format means one module implementing the protocol
and one entry in the table. Both encodings share the checks of :mod:`._checks`.

>>> sorted(FORMATS)
['dc+sd-jwt', 'ldp_vc']
>>> format_for_option("di").id
'ldp_vc'
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .._errors import InvalidDataError, MalformedError
from ._base import (
    CredentialFormat,
    StatusReservation,
    StatusSource,
    VerifiedCredential,
    VerifyPolicy,
)
from ._record import WalletRecord
from .sd_jwt_vc import SD_JWT_VC
from .w3c_di import W3C_DI

__all__ = [
    "FORMATS",
    "FORMAT_OPTIONS",
    "SD_JWT_VC",
    "W3C_DI",
    "CredentialFormat",
    "StatusReservation",
    "StatusSource",
    "VerifiedCredential",
    "VerifyPolicy",
    "WalletRecord",
    "format_for",
    "format_for_option",
    "format_of",
]


FORMATS: Mapping[str, CredentialFormat] = MappingProxyType({f.id: f for f in (SD_JWT_VC, W3C_DI)})
"""The format table: format id (``dc+sd-jwt``, ``ldp_vc``) to its implementation. Adding a
format means adding one module and one entry here."""

FORMAT_OPTIONS: tuple[str, ...] = tuple(f.option for f in FORMATS.values())
"""The issuer's ``format=`` keywords (``sd-jwt``, ``di``), in table order."""


def format_for(format_id: str) -> CredentialFormat:
    """The implementation of ``format_id`` (``MalformedError("unknown_format")``)."""
    try:
        return FORMATS[format_id]
    except KeyError:
        raise MalformedError("unknown_format", f"unknown credential format {format_id!r}") from None


def format_for_option(option: str) -> CredentialFormat:
    """The format behind an issuer ``format=`` keyword (``InvalidDataError``)."""
    for f in FORMATS.values():
        if f.option == option:
            return f
    raise InvalidDataError("invalid_data", f"format must be one of {FORMAT_OPTIONS}")


def format_of(credential: object) -> CredentialFormat:
    """The format a credential or presentation is in, by its shape."""
    for f in FORMATS.values():
        if f.handles(credential):
            return f
    raise MalformedError("vp_token_malformed", "presentation must be a string or an object")
