"""``ecdsa-sd-2023`` derived proof: the holder's side (VC-DI-ECDSA 3.5.4, 3.6.6).

The holder reveals the issuer's mandatory claims plus a subset chosen with JSON Pointers
(3.4.13), forwards only the signatures of the revealed non-mandatory statements, and gives
the verifier the HMAC labels its own canonicalization of the revealed document will need
(3.5.4 steps 13-14), compressed into the derived proof value (3.5.7).

Example:
    >>> from blauweknop import Key
    >>> from ._base import add_base_proof_sd
    >>> vc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
    ...       "type": ["VerifiableCredential"], "issuer": "urn:example:issuer",
    ...       "credentialSubject": {"id": "urn:example:holder", "name": "Jan"}}
    >>> signed = add_base_proof_sd(vc, Key.generate("ES256"),
    ...     verification_method="urn:example:issuer#k", mandatory_pointers=["/issuer"])
    >>> sorted(derive_proof_sd(signed, []))
    ['@context', 'issuer', 'proof', 'type']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..._errors import DisclosureError, MalformedError
from ..._limits import DEFAULT_LIMITS, Limits
from .._common import ECDSA_SD, unsecured
from .._loader import OfflineLoader, default_loader
from .._pointers import parse_pointer, select_json_ld
from .._rdfc import canonicalize
from ._group import _Grouped, canonicalize_and_group, mandatory_claims
from ._values import (
    DerivedProofValue,
    parse_base_proof_value,
    serialize_derived_proof_value,
)

__all__ = ["DisclosureData", "create_disclosure_data", "derive_proof_sd"]


@dataclass(frozen=True, slots=True)
class DisclosureData:
    """VC-DI-ECDSA 3.5.4 createDisclosureData output (plus indexes, for tests)."""

    base_signature: bytes
    public_key: bytes
    signatures: list[bytes]
    label_map: dict[str, str]
    mandatory_indexes: list[int]
    reveal_document: dict[str, Any]
    signature_indexes: list[int]
    grouped: _Grouped


def create_disclosure_data(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    selective_pointers: Sequence[str],
    loader: OfflineLoader,
    limits: Limits,
) -> DisclosureData:
    """VC-DI-ECDSA 3.5.4 createDisclosureData; ``document`` is without ``proof``."""
    base = parse_base_proof_value(proof.get("proofValue"), limits)
    selective = list(selective_pointers)
    for p in selective:
        parse_pointer(p)
    combined = base.mandatory_pointers + selective
    if not combined:
        raise DisclosureError("nothing_disclosed", "no mandatory or selective pointers to reveal")
    doc = dict(document)
    with mandatory_claims():
        select_json_ld(base.mandatory_pointers, doc)
    grouped = canonicalize_and_group(
        doc,
        base.hmac_key,
        {"mandatory": base.mandatory_pointers, "selective": selective, "combined": combined},
        loader,
        limits,
    )
    mandatory = grouped.groups["mandatory"].matching
    selected = grouped.groups["selective"].matching
    combined_group = grouped.groups["combined"]
    if len(base.signatures) != len(grouped.nquads) - len(mandatory):
        raise DisclosureError(
            "signature_count_mismatch",
            "the base proof's signature count does not match the document's statements",
        )
    # steps 7-9: mandatory indexes relative to the revealed statements
    mandatory_indexes = [
        rel for rel, absolute in enumerate(sorted(combined_group.matching)) if absolute in mandatory
    ]
    # steps 10-11: keep the signatures of the selectively disclosed statements
    filtered: list[bytes] = []
    kept: list[int] = []
    index = 0
    for position, signature in enumerate(base.signatures):
        while index in mandatory:
            index += 1
        if index in selected:
            filtered.append(signature)
            kept.append(position)
        index += 1
    reveal = select_json_ld(combined, doc)
    assert reveal is not None  # combined is not empty
    # steps 13-14: the labels the verifier's canonicalization will produce
    canonical = canonicalize(combined_group.deskolemized, limits=limits)
    verifier_labels = {c14n: grouped.label_map[old] for old, c14n in canonical.issued.items()}
    return DisclosureData(
        base.base_signature,
        base.public_key,
        filtered,
        verifier_labels,
        mandatory_indexes,
        reveal,
        kept,
        grouped,
    )


def derive_proof_sd(
    signed_document: Mapping[str, Any],
    selective_pointers: Sequence[str],
    *,
    loader: OfflineLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Holder side: reveal the mandatory claims plus ``selective_pointers`` (VC-DI-ECDSA 3.6.6).

    Args:
        signed_document: the credential with its ``ecdsa-sd-2023`` base proof.
        selective_pointers: JSON Pointers of the claims to reveal in addition to the
            issuer's mandatory ones (may be empty). Selecting a claim also reveals the ``id``
            and ``type`` of every object on its path (VC-DI-ECDSA 3.4.11).

    Raises:
        DisclosureError: ``pointer_not_found`` (a selective pointer matches nothing),
            ``mandatory_pointer_missing`` (the document lacks a mandatory claim),
            ``signature_count_mismatch`` (the base proof does not fit the document),
            ``nothing_disclosed``.

    >>> from blauweknop import Key
    >>> from blauweknop._di import add_base_proof_sd
    >>> vc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
    ...       "type": ["VerifiableCredential"], "issuer": "urn:example:issuer",
    ...       "credentialSubject": {"id": "urn:example:holder", "name": "Jan"}}
    >>> signed = add_base_proof_sd(vc, Key.generate(), verification_method="urn:example:k",
    ...                            mandatory_pointers=["/issuer"])
    >>> shown = derive_proof_sd(signed, ["/credentialSubject/id"])
    >>> shown["credentialSubject"], shown["proof"]["proofValue"][:5]
    ({'id': 'urn:example:holder'}, 'u2V0B')
    """
    if not isinstance(signed_document, Mapping):
        raise MalformedError("malformed_document", "the document must be a JSON object")
    proof = signed_document.get("proof")
    if not isinstance(proof, dict) or proof.get("cryptosuite") != ECDSA_SD:
        raise MalformedError("proof_missing", "the document has no ecdsa-sd-2023 base proof")
    loader = loader or default_loader()
    doc = unsecured(signed_document, limits)
    data = create_disclosure_data(doc, proof, selective_pointers, loader, limits)
    new_proof = dict(proof)
    new_proof["proofValue"] = serialize_derived_proof_value(
        DerivedProofValue(
            data.base_signature,
            data.public_key,
            data.signatures,
            data.label_map,
            data.mandatory_indexes,
        )
    )
    reveal = data.reveal_document
    reveal["proof"] = new_proof
    return reveal
