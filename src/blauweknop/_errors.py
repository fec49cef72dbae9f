"""The library's exception tree.

Every error raised through the public API is a :class:`BlauweKnopError`. Each carries a
stable, machine-readable ``code`` (a snake_case string that callers and the CLI print and
branch on) and a human message::

    BlauweKnopError                     code
    ├── MalformedError                  malformed, malformed_json, malformed_base64, too_large, ...
    │   └── ContextError                context_not_allowed, undefined_term, canonicalization_limit
    ├── InvalidDataError                invalid_data (domain input refused before signing)
    ├── SignatureError                  signature_invalid, algorithm_not_allowed, key_invalid
    ├── DisclosureError                 disclosure_unreferenced, digest_duplicate, ...
    ├── HolderBindingError              key_binding_missing, nonce_mismatch, audience_mismatch, ...
    ├── ValidityError                   expired, not_yet_valid, iat_in_future
    ├── StatusError                     revoked, suspended, status_unavailable, status_invalid
    ├── TrustError                      untrusted_issuer, trust_list_invalid, ...
    ├── PolicyError                     request_not_satisfied, query_unknown, claim_missing, ...
    └── StorageError                    wallet_locked, wrong_passphrase, storage_corrupt, ...

Third-party exceptions never leak: they are wrapped with ``raise ... from``.

Example:
    >>> try:
    ...     raise DisclosureError("disclosure_unreferenced", "no digest references disclosure 2")
    ... except BlauweKnopError as e:
    ...     e.code
    'disclosure_unreferenced'
"""

from __future__ import annotations

__all__ = [
    "BlauweKnopError",
    "ContextError",
    "DisclosureError",
    "HolderBindingError",
    "InvalidDataError",
    "MalformedError",
    "PolicyError",
    "SignatureError",
    "StatusError",
    "StorageError",
    "TrustError",
    "ValidityError",
]


class BlauweKnopError(Exception):
    """Root of every error the library raises.

    Attributes:
        code: stable machine-readable reason code, e.g. ``"signature_invalid"``.
        message: human-readable explanation.
    """

    default_code: str = "error"

    def __init__(self, code: str | None = None, message: str | None = None) -> None:
        self.code: str = code or self.default_code
        self.message: str = message or self.code.replace("_", " ")
        super().__init__(f"{self.code}: {self.message}")


class MalformedError(BlauweKnopError):
    """Input could not be parsed: bad JSON, base64url, structure, or over a size limit."""

    default_code = "malformed"


class ContextError(MalformedError):
    """JSON-LD processing refused: context not allowed, undefined term, work limit hit."""

    default_code = "context_not_allowed"


class InvalidDataError(BlauweKnopError):
    """Domain data refused before anything is signed; the message names the field.

    Attributes:
        field: dotted path of the offending field (``"cases[0].amount_imposed"``), if known.
    """

    default_code = "invalid_data"

    def __init__(
        self, code: str | None = None, message: str | None = None, *, field: str | None = None
    ) -> None:
        self.field = field
        super().__init__(code, message)


class SignatureError(BlauweKnopError):
    """A signature did not verify, or its algorithm or key is not acceptable."""

    default_code = "signature_invalid"


class DisclosureError(BlauweKnopError):
    """A selective-disclosure rule was broken (RFC 9901 section 7, ecdsa-sd-2023)."""

    default_code = "disclosure_invalid"


class HolderBindingError(BlauweKnopError):
    """Key binding / holder proof is missing or does not match (nonce, audience, key, hash)."""

    default_code = "key_binding_invalid"


class ValidityError(BlauweKnopError):
    """A validity-time rule failed (``exp``, ``nbf``, ``iat``, ``validFrom``, ``validUntil``)."""

    default_code = "expired"


class StatusError(BlauweKnopError):
    """The credential is revoked or suspended, or its status cannot be established."""

    default_code = "status_unavailable"


class TrustError(BlauweKnopError):
    """The issuer or trust list is not trusted for this credential."""

    default_code = "untrusted_issuer"


class PolicyError(BlauweKnopError):
    """A verifier or wallet policy refused the input (request not satisfied, wrong type...)."""

    default_code = "policy_violation"


class StorageError(BlauweKnopError):
    """Persistent state could not be read or written; nothing was changed."""

    default_code = "storage_error"
