"""``ecdsa-sd-2023`` base proof: the issuer's side (VC-DI-ECDSA 3.6.1 - 3.6.5).

The issuer signs every non-mandatory N-Quad with a proof-scoped P-256 key and binds that key,
the proof configuration (3.6.4) and the hash of the mandatory N-Quads (3.6.3) with one base
signature (3.6.5). The base proof goes to the holder only; a verifier receives derived
proofs (:mod:`._derive`).

Example:
    >>> from blauweknop import Key
    >>> vc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
    ...       "type": ["VerifiableCredential"], "issuer": "urn:example:issuer",
    ...       "credentialSubject": {"id": "urn:example:holder", "name": "Jan"}}
    >>> signed = add_base_proof_sd(vc, Key.generate("ES256"),
    ...     verification_method="urn:example:issuer#k", mandatory_pointers=["/issuer"])
    >>> signed["proof"]["cryptosuite"]
    'ecdsa-sd-2023'
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..._errors import SignatureError
from ..._keys import Key, Signer
from ..._limits import DEFAULT_LIMITS, Limits
from .._common import (
    ECDSA_SD,
    build_proof_options,
    check_new_document,
    curve_of,
    proof_config_hash,
    sign,
    unsecured,
)
from .._loader import OfflineLoader, default_loader
from .._pointers import parse_pointer
from ._group import _Grouped, canonicalize_and_group, hash_mandatory
from ._values import _P256_MULTIKEY, BaseProofValue, serialize_base_proof_value, serialize_sign_data

__all__ = ["BaseTransform", "add_base_proof_sd", "base_transform"]


@dataclass(frozen=True, slots=True)
class BaseTransform:
    """VC-DI-ECDSA 3.6.2 output (plus the grouping, for tests and diagnostics)."""

    mandatory_pointers: list[str]
    mandatory: dict[int, str]
    non_mandatory: dict[int, str]
    hmac_key: bytes
    grouped: _Grouped

    def non_mandatory_nquads(self) -> list[str]:
        """The non-mandatory N-Quads in canonical order: one statement signature each."""
        return [self.non_mandatory[i] for i in sorted(self.non_mandatory)]


def base_transform(
    document: Mapping[str, Any],
    mandatory_pointers: Sequence[str],
    hmac_key: bytes,
    loader: OfflineLoader,
    limits: Limits,
) -> BaseTransform:
    """VC-DI-ECDSA 3.6.2 Base Proof Transformation."""
    pointers = list(mandatory_pointers)
    grouped = canonicalize_and_group(document, hmac_key, {"mandatory": pointers}, loader, limits)
    group = grouped.groups["mandatory"]
    return BaseTransform(pointers, group.matching, group.non_matching, hmac_key, grouped)


def add_base_proof_sd(
    document: Mapping[str, Any],
    key: Key | Signer,
    *,
    verification_method: str,
    mandatory_pointers: Sequence[str],
    created: datetime | str | None = None,
    proof_purpose: str = "assertionMethod",
    hmac_key: bytes | None = None,
    proof_key: Key | None = None,
    loader: OfflineLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Issue an ``ecdsa-sd-2023`` base proof (VC-DI-ECDSA 3.6.1).

    Args:
        document: the unsecured credential (no ``proof``).
        key: the issuer's P-256 private key (or a P-256 :class:`~blauweknop.Signer`).
        verification_method: URL of the issuer's public key.
        mandatory_pointers: JSON Pointers (RFC 6901) of what every derived proof must reveal,
            e.g. ``["/issuer", "/validFrom", "/validUntil", "/credentialSubject/id"]``; each
            must match the document (``DisclosureError`` ``pointer_not_found``). Reveal the
            validity window: a verifier cannot check times it does not see.
        created: proof creation time (``None``: omitted).
        hmac_key: 32-byte HMAC key (default: random; inject only to reproduce vectors).
        proof_key: proof-scoped P-256 private key (default: fresh; inject only for vectors).

    Returns:
        a copy of ``document`` with the base proof, to be given to the holder only.

    >>> from blauweknop import Key
    >>> issuer = Key.generate("ES256")
    >>> vc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
    ...       "type": ["VerifiableCredential"], "issuer": "urn:example:issuer",
    ...       "credentialSubject": {"id": "urn:example:holder", "name": "Jan"}}
    >>> signed = add_base_proof_sd(vc, issuer, verification_method="urn:example:issuer#k",
    ...                            mandatory_pointers=["/issuer"])
    >>> signed["proof"]["proofValue"][:5]
    'u2V0A'
    """
    check_new_document(document)
    if curve_of(key) != "P-256":
        raise SignatureError("key_invalid", "ecdsa-sd-2023 needs a P-256 issuer key")
    pointers = list(mandatory_pointers)
    for p in pointers:
        parse_pointer(p)
    hkey = secrets.token_bytes(32) if hmac_key is None else hmac_key
    if not isinstance(hkey, bytes) or len(hkey) != 32:
        raise SignatureError("key_invalid", "hmac_key must be 32 bytes (VC-DI-ECDSA 3.6.2)")
    pkey = Key.generate("ES256") if proof_key is None else proof_key
    if not isinstance(pkey, Key) or pkey.crv != "P-256" or not pkey.has_private:
        raise SignatureError("key_invalid", "proof_key must be a private P-256 key")
    loader = loader or default_loader()
    proof = build_proof_options(
        cryptosuite=ECDSA_SD,
        verification_method=verification_method,
        proof_purpose=proof_purpose,
        created=created,
    )
    doc = unsecured(document, limits)
    # 3.6.4 proof configuration, 3.6.2 transformation, 3.6.3 hashing
    proof_hash = proof_config_hash(proof, doc["@context"], loader, limits)
    transform = base_transform(doc, pointers, hkey, loader, limits)
    mandatory_hash = hash_mandatory(transform.mandatory)
    # 3.6.5 serialization
    non_mandatory = transform.non_mandatory_nquads()
    signatures = [pkey.sign(nq.encode("utf-8"), deterministic=True) for nq in non_mandatory]
    public_key = _P256_MULTIKEY + pkey.public_bytes(compressed=True)
    base_signature = sign(key, serialize_sign_data(proof_hash, public_key, mandatory_hash))
    proof["proofValue"] = serialize_base_proof_value(
        BaseProofValue(base_signature, public_key, hkey, signatures, pointers)
    )
    doc["proof"] = proof
    return doc
