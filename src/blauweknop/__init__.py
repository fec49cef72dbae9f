"""blauweknop: verifiable credentials for Dutch public-debt relief (work in progress facade)."""

from ._errors import (
    BlauweKnopError,
    ContextError,
    DisclosureError,
    HolderBindingError,
    InvalidDataError,
    MalformedError,
    PolicyError,
    SignatureError,
    StatusError,
    StorageError,
    TrustError,
    ValidityError,
)
from ._keys import Key, Signer, did_jwk, key_from_did_jwk
from ._limits import Limits
from ._sdjwt import SD, SDJWT, KeyBindingPolicy, VerifiedSDJWT, issue_sd_jwt, verify_sd_jwt

__all__ = [
    "SD",
    "SDJWT",
    "BlauweKnopError",
    "ContextError",
    "DisclosureError",
    "HolderBindingError",
    "InvalidDataError",
    "Key",
    "KeyBindingPolicy",
    "Limits",
    "MalformedError",
    "PolicyError",
    "SignatureError",
    "Signer",
    "StatusError",
    "StorageError",
    "TrustError",
    "ValidityError",
    "VerifiedSDJWT",
    "did_jwk",
    "issue_sd_jwt",
    "key_from_did_jwk",
    "verify_sd_jwt",
]
