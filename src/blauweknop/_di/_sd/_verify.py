"""``ecdsa-sd-2023`` verification: the verifier's side (VC-DI-ECDSA 3.5.9, 3.6.7).

The verifier canonicalizes the revealed document itself, relabels its blank nodes with the
label map the holder sent (3.5.9), splits the statements into mandatory (by the derived
proof's indexes) and non-mandatory ones, and checks the base signature over 3.5.1
serializeSignData and every statement signature (3.6.7). A base proof (issuer to holder) is
verified too, as an extension: every statement of the document as issued.

Example:
    >>> from blauweknop import Key
    >>> from blauweknop._di import verify_proof
    >>> from ._base import add_base_proof_sd
    >>> from ._derive import derive_proof_sd
    >>> k = Key.generate("ES256")
    >>> vc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
    ...       "type": ["VerifiableCredential"], "issuer": "urn:example:issuer",
    ...       "credentialSubject": {"id": "urn:example:holder", "name": "Jan"}}
    >>> signed = add_base_proof_sd(vc, k, verification_method="urn:example:issuer#k",
    ...                            mandatory_pointers=["/issuer"])
    >>> verify_proof(derive_proof_sd(signed, []), resolve_key=lambda vm: k.public()).cryptosuite
    'ecdsa-sd-2023'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..._errors import DisclosureError
from ..._keys import Key
from ..._limits import Limits
from .._common import proof_config_hash
from .._jsonld import document_quads
from .._loader import OfflineLoader
from .._rdfc import canonicalize
from ._base import base_transform
from ._group import hash_mandatory, mandatory_claims
from ._values import (
    BASE_HEADER,
    parse_base_proof_value,
    parse_derived_proof_value,
    proof_value_header,
    serialize_sign_data,
)

__all__ = ["VerifyData", "create_verify_data", "verify_sd"]


@dataclass(frozen=True, slots=True)
class VerifyData:
    """VC-DI-ECDSA 3.5.9 createVerifyData output (plus the relabelled N-Quads)."""

    base_signature: bytes
    proof_hash: bytes
    public_key: bytes
    signatures: list[bytes]
    non_mandatory: list[str]
    mandatory_hash: bytes
    nquads: list[str]


def create_verify_data(
    document: Mapping[str, Any], proof: Mapping[str, Any], loader: OfflineLoader, limits: Limits
) -> VerifyData:
    """VC-DI-ECDSA 3.5.9 createVerifyData; ``document`` is without ``proof``."""
    derived = parse_derived_proof_value(proof["proofValue"], limits)
    proof_hash = proof_config_hash(proof, document["@context"], loader, limits)
    canonical = canonicalize(document_quads(document, loader, limits), limits=limits)
    if set(derived.label_map) != set(canonical.issued.values()):
        raise DisclosureError(
            "label_map_mismatch", "the label map does not fit the disclosed document's blank nodes"
        )
    nquads = canonical.nquads(derived.label_map)
    if derived.mandatory_indexes and derived.mandatory_indexes[-1] >= len(nquads):
        raise DisclosureError(
            "mandatory_statement_missing", "a mandatory statement is missing from the document"
        )
    wanted = set(derived.mandatory_indexes)
    mandatory = [nq for i, nq in enumerate(nquads) if i in wanted]
    non_mandatory = [nq for i, nq in enumerate(nquads) if i not in wanted]
    return VerifyData(
        derived.base_signature,
        proof_hash,
        derived.public_key,
        derived.signatures,
        non_mandatory,
        hash_mandatory(mandatory),
        nquads,
    )


def _base_verify_data(
    document: Mapping[str, Any], proof: Mapping[str, Any], loader: OfflineLoader, limits: Limits
) -> VerifyData:
    """What :func:`create_verify_data` gives for a derived proof, for a base proof as issued:
    the document is transformed as at issuance (3.6.2) and every statement is checked."""
    base = parse_base_proof_value(proof["proofValue"], limits)
    proof_hash = proof_config_hash(proof, document["@context"], loader, limits)
    with mandatory_claims():
        transform = base_transform(document, base.mandatory_pointers, base.hmac_key, loader, limits)
    return VerifyData(
        base.base_signature,
        proof_hash,
        base.public_key,
        base.signatures,
        transform.non_mandatory_nquads(),
        hash_mandatory(transform.mandatory),
        transform.grouped.nquads,
    )


def _check_signatures(key: Key, data: VerifyData) -> None:
    """VC-DI-ECDSA 3.6.7 steps 3-8: the base signature over 3.5.1 serializeSignData, then
    one proof-scoped signature per non-mandatory statement."""
    if len(data.signatures) != len(data.non_mandatory):
        raise DisclosureError(
            "signature_count_mismatch",
            f"{len(data.signatures)} signatures for {len(data.non_mandatory)} disclosed statements",
        )
    sign_data = serialize_sign_data(data.proof_hash, data.public_key, data.mandatory_hash)
    key.verify(sign_data, data.base_signature)
    proof_key = Key.from_public_bytes("P-256", data.public_key[2:])
    for nq, signature in zip(data.non_mandatory, data.signatures, strict=True):
        proof_key.verify(nq.encode("utf-8"), signature)


def verify_sd(
    document: dict[str, Any],
    proof: Mapping[str, Any],
    key: Key,
    loader: OfflineLoader,
    limits: Limits,
) -> tuple[dict[str, Any], bool]:
    """Verify an ``ecdsa-sd-2023`` derived proof (VC-DI-ECDSA 3.6.7) or base proof.

    ``document`` is the secured document without ``proof``. Returns it and whether the proof
    was a base proof. Raises on any failure.
    """
    is_base = proof_value_header(proof["proofValue"]) == BASE_HEADER
    make_data = _base_verify_data if is_base else create_verify_data
    _check_signatures(key, make_data(document, proof, loader, limits))
    return document, is_base
